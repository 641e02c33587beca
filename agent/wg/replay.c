#include "config.h"

#include "replay.h"

#include <string.h>

#include "messages.h"

#define REPLAY_BLOCKS (REPLAY_BITS_TOTAL / 64)

void replay_init(struct replay_counter *r)
{
	memset(r, 0, sizeof(*r));
}

bool replay_check(struct replay_counter *r, uint64_t their)
{
	uint64_t index, index_current, top, i, bit;

	if (r->counter >= REJECT_AFTER_MESSAGES + 1 || their >= REJECT_AFTER_MESSAGES)
		return false;
	++their;
	if (their + REPLAY_WINDOW_SIZE < r->counter)
		return false;
	index = their >> 6;
	if (their > r->counter) {
		/* Slide: clear the blocks we move over (at most all of them). */
		index_current = r->counter >> 6;
		top = index - index_current;
		if (top > REPLAY_BLOCKS)
			top = REPLAY_BLOCKS;
		for (i = 1; i <= top; i++)
			r->backtrack[(i + index_current) & (REPLAY_BLOCKS - 1)] = 0;
		r->counter = their;
	}
	index &= REPLAY_BLOCKS - 1;
	bit = 1ULL << (their & 63);
	if (r->backtrack[index] & bit)
		return false;
	r->backtrack[index] |= bit;
	return true;
}
