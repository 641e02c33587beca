/* Sliding-window replay protection of transport counters (RFC 6479 style,
 * as in Linux drivers/net/wireguard/receive.c counter_validate). No I/O. */
#ifndef KW_WG_REPLAY_H
#define KW_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_BITS_TOTAL 8192
#define REPLAY_REDUNDANT_BITS 64
#define REPLAY_WINDOW_SIZE (REPLAY_BITS_TOTAL - REPLAY_REDUNDANT_BITS)

struct replay_counter {
	uint64_t counter; /* highest accepted counter + 1 */
	uint64_t backtrack[REPLAY_BITS_TOTAL / 64];
};

void replay_init(struct replay_counter *r);
/* True (and remembered) when `their` was never seen and is within the
 * window; false for replays, too-old counters and counters at or past
 * REJECT_AFTER_MESSAGES. Call only after the packet authenticated. */
bool replay_check(struct replay_counter *r, uint64_t their);

#endif
