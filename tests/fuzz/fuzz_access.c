/*
 * libFuzzer target (fuzz_access) for the access-policy parsers keywayd runs on what admins send and on
 * what its database holds (server/core/access.c): the ports list, a destination object and
 * a whole policy's JSON texts. Properties checked beyond "no crash, no leak":
 * - the canonical ports text parses again to itself;
 * - every destination accepted renders (access_dest_json) to an object that parses again
 *   to the same destination.
 */
#include "config.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/access.h"

static void check_ports(const char *s)
{
	char out[KW_PORTS_STRLEN], again[KW_PORTS_STRLEN];

	if (access_ports_parse(s, out) < 0)
		return;
	if (access_ports_parse(out, again) < 0 || strcmp(out, again) != 0)
		abort();
}

static void check_policy(const char *groups, const char *users, const char *dests)
{
	struct kw_policy p;
	char err[256];

	if (access_policy_from_text(1, 1, groups, users, dests, &p, err, sizeof(err)) < 0)
		return;
	for (size_t i = 0; i < p.ndests; i++) {
		json_t *o = access_dest_json(&p.dests[i]);
		struct kw_access_dest d;

		if (!o || access_dest_parse(o, &d, err, sizeof(err)) < 0 || d.proto != p.dests[i].proto ||
		    strcmp(d.ports, p.dests[i].ports) != 0 || d.cidr.prefix != p.dests[i].cidr.prefix ||
		    memcmp(d.cidr.addr, p.dests[i].cidr.addr, sizeof(d.cidr.addr)) != 0)
			abort();
		json_decref(o);
	}
	access_policy_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_ports(s);
	check_policy("[]", "[]", s);
	check_policy(s, s, "[]");
	free(s);
	return 0;
}
