/*
 * Failed-login limiter: per key (a username, a client address), at most max_failures
 * failures in a window of `window` seconds; past that the key is refused until the window
 * that started with its first failure ends. A fixed-size table (entries evicted oldest
 * first), so a flood of new keys costs memory once, never more. Thread-safe; the clock is
 * the caller's.
 */
#ifndef KW_API_LOGIN_RATELIMIT_H
#define KW_API_LOGIN_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct kw_ratelimit;

int ratelimit_new(unsigned capacity, unsigned max_failures, unsigned window, struct kw_ratelimit **out);
void ratelimit_free(struct kw_ratelimit *rl);
/* New limits (SIGHUP); the failures counted so far stay. -EINVAL for a zero. */
int ratelimit_set_limits(struct kw_ratelimit *rl, unsigned max_failures, unsigned window);
/* Is key refused now? If so *retry_after is the seconds left (>= 1). */
bool ratelimit_blocked(struct kw_ratelimit *rl, const char *key, int64_t now, int64_t *retry_after);
void ratelimit_failure(struct kw_ratelimit *rl, const char *key, int64_t now);
/* A success forgets the key's failures. */
void ratelimit_success(struct kw_ratelimit *rl, const char *key);
/*
 * Check and count in one step, under one lock: refused (false, *retry_after set) when the key
 * is at its limit, else one failure is counted before the attempt is made (true). So
 * concurrent attempts can never exceed the limit; an attempt that turns out not to be a
 * failure gives its count back with ratelimit_refund.
 */
bool ratelimit_take(struct kw_ratelimit *rl, const char *key, int64_t now, int64_t *retry_after);
void ratelimit_refund(struct kw_ratelimit *rl, const char *key, int64_t now);
/*
 * A refused attempt for key: true when it should be written down now (the first refusal
 * of the key, then at most one per interval seconds), with *count the refusals since the
 * last one written, this one included; false when it is only counted.
 */
bool ratelimit_note_refused(struct kw_ratelimit *rl, const char *key, int64_t now, int64_t interval,
			    uint64_t *count);

#endif
