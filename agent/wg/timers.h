/* Per-peer WireGuard timers (whitepaper section 6, Linux timers.c) as pure
 * state: events set deadlines, timers_expire() says what is due. The device
 * calls both under the peer's lock and performs the actions. No I/O. */
#ifndef KW_WG_TIMERS_H
#define KW_WG_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

struct wg_timers {
	uint64_t retransmit_handshake; /* deadlines, monotonic ns; 0 = not armed */
	uint64_t send_keepalive;
	uint64_t new_handshake;
	uint64_t zero_key_material;
	uint64_t persistent_keepalive;
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	uint16_t persistent_keepalive_interval; /* seconds */
};

enum wg_timer_action {
	TIMER_SEND_INITIATION = 1 << 0,   /* retransmit or new handshake */
	TIMER_SEND_KEEPALIVE = 1 << 1,
	TIMER_ZERO_KEYS = 1 << 2,
	TIMER_GIVE_UP = 1 << 3,           /* drop staged packets */
};

/* jitter_ns: uniformly random in [0, REKEY_TIMEOUT_JITTER_MAX_MS ms). */
void timers_data_sent(struct wg_timers *t, uint64_t now, uint64_t jitter_ns);
void timers_data_received(struct wg_timers *t, uint64_t now);
void timers_any_authenticated_packet_sent(struct wg_timers *t);
void timers_any_authenticated_packet_received(struct wg_timers *t);
void timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now);
void timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint64_t jitter_ns);
void timers_handshake_complete(struct wg_timers *t);
void timers_session_derived(struct wg_timers *t, uint64_t now);
void timers_stop(struct wg_timers *t);
/* What is due at `now` (bitmask of enum wg_timer_action); due timers are
 * disarmed or re-armed. has_keypair: whether a current keypair exists
 * (a retransmit gives up if none after MAX_TIMER_HANDSHAKES). */
unsigned timers_expire(struct wg_timers *t, uint64_t now);

#endif
