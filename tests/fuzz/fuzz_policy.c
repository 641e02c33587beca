/* libFuzzer target: the gateway's access policy. A config payload (JSON) goes through
 * policy_set_from_json() and, when accepted, nft_compile(); a first byte of '#' sends
 * the rest to policy_ports_parse() alone. Nothing reaches nftables. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nft.h"
#include "policy.h"

static void ports(const uint8_t *data, size_t size)
{
	struct policy_port_range r[POLICY_MAX_PORT_RANGES];
	char *text = malloc(size + 1);
	size_t n;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (policy_ports_parse(text, r, POLICY_MAX_PORT_RANGES, &n) == 0) {
		/* accepted: sorted, disjoint, not touching */
		for (size_t i = 0; i < n; i++) {
			if (r[i].lo > r[i].hi || (i && (uint32_t)r[i - 1].hi + 1 >= r[i].lo))
				abort();
		}
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_set *ps = NULL;
	struct nft_stats st;
	char *a = NULL, *b = NULL;
	json_t *j;

	if (size > 65536)
		return 0;
	if (size && data[0] == '#') {
		ports(data + 1, size - 1);
		return 0;
	}
	j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	if (policy_set_from_json(j, &ps) == 0) {
		/* the compiler is deterministic and stays within its bounds */
		if (nft_compile(ps, "kw0", &a, &st) == 0) {
			if (nft_compile(ps, "kw0", &b, NULL) != 0 || strcmp(a, b) != 0 ||
			    st.elements > POLICY_MAX_ELEMENTS || st.text_len != strlen(a))
				abort();
		}
		free(a);
		free(b);
		policy_set_free(ps);
	}
	json_decref(j);
	return 0;
}
