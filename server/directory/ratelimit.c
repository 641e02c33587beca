/* Failed-login limiter (see api_login_ratelimit.h). */
#include "config.h"

#include "ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PROBE 16

struct rl_entry {
	uint8_t id[16];      /* keyed hash of the key: no username or address kept in memory */
	bool used;
	unsigned failures;
	int64_t window_start;
	uint64_t refused;       /* refusals not yet written down */
	int64_t refused_noted;  /* when the last one was written (0: never) */
};

struct kw_ratelimit {
	pthread_mutex_t lock;
	struct rl_entry *e;
	unsigned cap, max_failures, window;
	uint8_t hkey[crypto_generichash_KEYBYTES];
};

int ratelimit_new(unsigned capacity, unsigned max_failures, unsigned window, struct kw_ratelimit **out)
{
	struct kw_ratelimit *rl;

	*out = NULL;
	if (capacity < PROBE || !max_failures || !window)
		return -EINVAL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->e = calloc(capacity, sizeof(*rl->e));
	if (!rl->e) {
		free(rl);
		return -ENOMEM;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->cap = capacity;
	rl->max_failures = max_failures;
	rl->window = window;
	randombytes_buf(rl->hkey, sizeof(rl->hkey));
	*out = rl;
	return 0;
}

int ratelimit_set_limits(struct kw_ratelimit *rl, unsigned max_failures, unsigned window)
{
	if (!max_failures || !window)
		return -EINVAL;
	pthread_mutex_lock(&rl->lock);
	rl->max_failures = max_failures;
	rl->window = window;
	pthread_mutex_unlock(&rl->lock);
	return 0;
}

void ratelimit_free(struct kw_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->e);
	free(rl);
}

/* The entry for key (found, or a slot to use when create); NULL if none. Lock held. */
static struct rl_entry *lookup(struct kw_ratelimit *rl, const char *key, int64_t now, bool create)
{
	uint8_t id[16];
	uint64_t h;
	struct rl_entry *victim = NULL;

	crypto_generichash(id, sizeof(id), (const uint8_t *)key, strlen(key), rl->hkey, sizeof(rl->hkey));
	memcpy(&h, id, sizeof(h));
	for (unsigned i = 0; i < PROBE; i++) {
		struct rl_entry *e = &rl->e[(h + i) % rl->cap];

		if (e->used && !memcmp(e->id, id, sizeof(id))) {
			if (now - e->window_start >= rl->window) {
				e->failures = 0; /* window over: start afresh */
				e->window_start = now;
			}
			return e;
		}
		if (!create)
			continue;
		if (!e->used || now - e->window_start >= rl->window) {
			if (!victim || victim->used)
				victim = e;
		} else if (!victim || (victim->used && e->window_start < victim->window_start)) {
			victim = e;
		}
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	memcpy(victim->id, id, sizeof(id));
	victim->window_start = now;
	return victim;
}

/* Whether e (may be NULL) has used up its window; *retry_after then says in how many seconds (at least 1). */
static bool entry_spent(const struct kw_ratelimit *rl, const struct rl_entry *e, int64_t now, int64_t *retry_after)
{
	if (!e || e->failures < rl->max_failures)
		return false;
	*retry_after = e->window_start + rl->window - now;
	if (*retry_after < 1)
		*retry_after = 1;
	return true;
}

bool ratelimit_blocked(struct kw_ratelimit *rl, const char *key, int64_t now, int64_t *retry_after)
{
	bool blocked;

	pthread_mutex_lock(&rl->lock);
	blocked = entry_spent(rl, lookup(rl, key, now, false), now, retry_after);
	pthread_mutex_unlock(&rl->lock);
	return blocked;
}

void ratelimit_failure(struct kw_ratelimit *rl, const char *key, int64_t now)
{
	struct rl_entry *e;

	pthread_mutex_lock(&rl->lock);
	e = lookup(rl, key, now, true);
	if (e && e->failures < UINT32_MAX)
		e->failures++;
	pthread_mutex_unlock(&rl->lock);
}

void ratelimit_success(struct kw_ratelimit *rl, const char *key)
{
	struct rl_entry *e;

	pthread_mutex_lock(&rl->lock);
	e = lookup(rl, key, INT64_MIN / 2, false);
	if (e)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&rl->lock);
}

bool ratelimit_take(struct kw_ratelimit *rl, const char *key, int64_t now, int64_t *retry_after)
{
	struct rl_entry *e;
	bool ok;

	pthread_mutex_lock(&rl->lock);
	e = lookup(rl, key, now, true);
	ok = !entry_spent(rl, e, now, retry_after);
	if (ok && e)
		e->failures++;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

void ratelimit_refund(struct kw_ratelimit *rl, const char *key, int64_t now)
{
	struct rl_entry *e;

	pthread_mutex_lock(&rl->lock);
	e = lookup(rl, key, now, false);
	if (e && e->failures > 0)
		e->failures--;
	pthread_mutex_unlock(&rl->lock);
}

bool ratelimit_note_refused(struct kw_ratelimit *rl, const char *key, int64_t now, int64_t interval,
			    uint64_t *count)
{
	struct rl_entry *e;
	bool note = false;

	*count = 0;
	pthread_mutex_lock(&rl->lock);
	e = lookup(rl, key, now, false);
	if (!e) {
		note = true; /* evicted meanwhile: write this one down */
		*count = 1;
	} else {
		e->refused++;
		if (e->refused_noted == 0 || now - e->refused_noted >= interval) {
			note = true;
			*count = e->refused;
			e->refused = 0;
			e->refused_noted = now;
		}
	}
	pthread_mutex_unlock(&rl->lock);
	return note;
}
