#include "config.h"

#include "timers.h"

#include "messages.h"

void timers_data_sent(struct wg_timers *t, uint64_t now, uint64_t jitter_ns)
{
	if (!t->new_handshake)
		t->new_handshake = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter_ns;
}

void timers_data_received(struct wg_timers *t, uint64_t now)
{
	if (!t->send_keepalive)
		t->send_keepalive = now + KEEPALIVE_TIMEOUT;
	else
		t->need_another_keepalive = true;
}

void timers_any_authenticated_packet_sent(struct wg_timers *t)
{
	t->send_keepalive = 0;
}

void timers_any_authenticated_packet_received(struct wg_timers *t)
{
	t->new_handshake = 0;
}

void timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now)
{
	if (t->persistent_keepalive_interval)
		t->persistent_keepalive = now + t->persistent_keepalive_interval * NS_PER_SEC;
}

void timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint64_t jitter_ns)
{
	t->retransmit_handshake = now + REKEY_TIMEOUT + jitter_ns;
}

void timers_handshake_complete(struct wg_timers *t)
{
	t->retransmit_handshake = 0;
	t->handshake_attempts = 0;
	t->sent_lastminute_handshake = false;
}

void timers_session_derived(struct wg_timers *t, uint64_t now)
{
	t->zero_key_material = now + 3 * REJECT_AFTER_TIME;
}

void timers_stop(struct wg_timers *t)
{
	t->retransmit_handshake = 0;
	t->send_keepalive = 0;
	t->new_handshake = 0;
	t->zero_key_material = 0;
	t->persistent_keepalive = 0;
	t->handshake_attempts = 0;
	t->need_another_keepalive = false;
}

unsigned timers_expire(struct wg_timers *t, uint64_t now)
{
	unsigned act = 0;

	if (t->retransmit_handshake && now >= t->retransmit_handshake) {
		t->retransmit_handshake = 0;
		if (t->handshake_attempts > MAX_TIMER_HANDSHAKES) {
			/* Give up; keys go after the zero timer unless already set. */
			act |= TIMER_GIVE_UP;
			t->send_keepalive = 0;
			t->handshake_attempts = 0;
			if (!t->zero_key_material)
				t->zero_key_material = now + 3 * REJECT_AFTER_TIME;
		} else {
			t->handshake_attempts++;
			act |= TIMER_SEND_INITIATION;
		}
	}
	if (t->send_keepalive && now >= t->send_keepalive) {
		t->send_keepalive = 0;
		act |= TIMER_SEND_KEEPALIVE;
		if (t->need_another_keepalive) {
			t->need_another_keepalive = false;
			t->send_keepalive = now + KEEPALIVE_TIMEOUT;
		}
	}
	if (t->new_handshake && now >= t->new_handshake) {
		t->new_handshake = 0;
		if (!(act & TIMER_SEND_INITIATION))
			t->handshake_attempts = 0; /* a fresh attempt, not a retry */
		act |= TIMER_SEND_INITIATION;
	}
	if (t->zero_key_material && now >= t->zero_key_material) {
		t->zero_key_material = 0;
		act |= TIMER_ZERO_KEYS;
	}
	if (t->persistent_keepalive && now >= t->persistent_keepalive) {
		t->persistent_keepalive = 0;
		if (t->persistent_keepalive_interval)
			act |= TIMER_SEND_KEEPALIVE;
	}
	return act;
}
