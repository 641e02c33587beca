/* The gateway's access policy from the config payload; the contract is in policy.h. */
#include "config.h"
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *policy_proto_name(enum policy_proto p)
{
	switch (p) {
	case POLICY_PROTO_ANY: return "any";
	case POLICY_PROTO_TCP: return "tcp";
	case POLICY_PROTO_UDP: return "udp";
	case POLICY_PROTO_ICMP: return "icmp";
	}
	return "?";
}

/* One port: 1..65535, decimal digits only, no leading zero. Advances *p. */
static int port_parse(const char **p, uint16_t *out)
{
	const char *s = *p;
	unsigned long v = 0;
	size_t n = 0;

	if (*s < '1' || *s > '9')
		return -EINVAL;
	while (s[n] >= '0' && s[n] <= '9') {
		if (++n > 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[n - 1] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	*p = s + n;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct policy_port_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi < y->hi ? -1 : x->hi > y->hi);
}

/* Sort ranges and merge the ones that overlap or touch (22-23 and 24 are 22-24). */
size_t policy_ports_merge(struct policy_port_range *r, size_t n)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), range_cmp);
	for (i = 1; i < n; i++) {
		if ((uint32_t)r[i].lo <= (uint32_t)r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

int policy_ports_parse(const char *text, struct policy_port_range *out, size_t max, size_t *n)
{
	const char *p = text;
	size_t k = 0;

	*n = 0;
	if (!text || strlen(text) > POLICY_MAX_PORTS_LEN)
		return -EINVAL;
	for (;;) {
		if (k == max || port_parse(&p, &out[k].lo) < 0)
			return -EINVAL;
		out[k].hi = out[k].lo;
		if (*p == '-') {
			p++;
			if (port_parse(&p, &out[k].hi) < 0 || out[k].hi < out[k].lo)
				return -EINVAL;
		}
		k++;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return -EINVAL;
	}
	*n = policy_ports_merge(out, k);
	return 0;
}

/* True when every member of obj is one of the NULL-terminated names. */
static bool only_members(const json_t *obj, const char *const *names)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; names[i] && strcmp(names[i], key) != 0; i++)
			;
		if (!names[i])
			return false;
	}
	return true;
}

static int proto_parse(const char *s, enum policy_proto *out)
{
	static const enum policy_proto all[] = { POLICY_PROTO_ANY, POLICY_PROTO_TCP,
						 POLICY_PROTO_UDP, POLICY_PROTO_ICMP };

	for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, policy_proto_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

static int dest_parse(const json_t *jd, struct policy_dest *d)
{
	static const char *const members[] = { "cidr", "protocol", "ports", NULL };
	const json_t *ports;

	if (!json_is_object(jd) || !only_members(jd, members))
		return -EINVAL;
	if (cidr_parse_network(&d->cidr, json_string_value(json_object_get(jd, "cidr"))) < 0)
		return -EINVAL;
	if (proto_parse(json_string_value(json_object_get(jd, "protocol")), &d->proto) < 0)
		return -EINVAL;
	ports = json_object_get(jd, "ports");
	if (d->proto != POLICY_PROTO_TCP && d->proto != POLICY_PROTO_UDP)
		return ports ? -EINVAL : 0; /* a port on icmp/any would be ignored: refuse it */
	if (!ports) {
		d->ports[0] = (struct policy_port_range){ 0, 65535 };
		d->n_ports = 1;
		return 0;
	}
	if (!json_is_string(ports))
		return -EINVAL;
	return policy_ports_parse(json_string_value(ports), d->ports, POLICY_MAX_PORT_RANGES,
				  &d->n_ports);
}

static int access_parse(const json_t *acc, struct policy_peer *pp)
{
	static const char *const members[] = { "default", "destinations", NULL };
	const char *def;
	const json_t *dests, *jd;
	size_t i;
	int ret;

	if (!json_is_object(acc) || !only_members(acc, members))
		return -EINVAL;
	def = json_string_value(json_object_get(acc, "default"));
	if (def && strcmp(def, "allow") == 0)
		pp->def = POLICY_DEFAULT_ALLOW;
	else if (def && strcmp(def, "deny") == 0)
		pp->def = POLICY_DEFAULT_DENY;
	else
		return -EINVAL;
	dests = json_object_get(acc, "destinations");
	if (!dests)
		return 0;
	if (!json_is_array(dests) || json_array_size(dests) > POLICY_MAX_DESTINATIONS)
		return -EINVAL;
	pp->dests = calloc(json_array_size(dests) + 1, sizeof(*pp->dests));
	if (!pp->dests)
		return -ENOMEM;
	json_array_foreach(dests, i, jd) {
		ret = dest_parse(jd, &pp->dests[i]);
		if (ret < 0)
			return ret;
		pp->n_dests = i + 1;
	}
	return 0;
}

static int peer_parse(const json_t *jp, struct policy_peer *pp)
{
	const json_t *allowed, *v, *acc;
	size_t i;

	if (!json_is_object(jp))
		return -EINVAL;
	allowed = json_object_get(jp, "allowed_ips");
	if (!json_is_array(allowed) || json_array_size(allowed) > POLICY_MAX_SOURCES)
		return -EINVAL;
	pp->sources = calloc(json_array_size(allowed) + 1, sizeof(*pp->sources));
	if (!pp->sources)
		return -ENOMEM;
	json_array_foreach(allowed, i, v) {
		/* verify.c accepts host bits and masks them; so do we, to agree with it */
		if (cidr_parse(&pp->sources[i], json_string_value(v)) < 0)
			return -EINVAL;
		cidr_mask(&pp->sources[i]);
		pp->n_sources = i + 1;
	}
	acc = json_object_get(jp, "access");
	return acc ? access_parse(acc, pp) : 0;
}

/* The worst-case number of set elements a peer can produce (before merging). */
static size_t peer_elements(const struct policy_peer *pp)
{
	size_t n = 0;

	if (pp->def == POLICY_UNRESTRICTED)
		return pp->n_sources;
	for (size_t d = 0; d < pp->n_dests; d++) {
		size_t same = 0;

		for (size_t s = 0; s < pp->n_sources; s++)
			same += pp->sources[s].family == pp->dests[d].cidr.family;
		n += same * (pp->dests[d].n_ports ? pp->dests[d].n_ports : 1);
	}
	return n + pp->n_sources;
}

static int cidr_order(const void *a, const void *b)
{
	const struct kw_cidr *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : (x->prefix < y->prefix ? -1 : x->prefix > y->prefix);
}

/* Sources of different peers (or twice in one) must not overlap: -EINVAL if they do. */
static int sources_disjoint(const struct policy_set *set, size_t total)
{
	struct kw_cidr *all = calloc(total + 1, sizeof(*all));
	size_t n = 0, i;
	int ret = 0;

	if (!all)
		return -ENOMEM;
	for (i = 0; i < set->n_peers; i++) {
		memcpy(all + n, set->peers[i].sources, set->peers[i].n_sources * sizeof(*all));
		n += set->peers[i].n_sources;
	}
	qsort(all, n, sizeof(*all), cidr_order);
	/* sorted by address then prefix: an overlap always shows between neighbours */
	for (i = 1; i < n && ret == 0; i++) {
		if (cidr_contains(&all[i - 1], &all[i]))
			ret = -EINVAL;
	}
	free(all);
	return ret;
}

static int set_check(struct policy_set *set)
{
	size_t elements = 0, sources = 0;

	for (size_t i = 0; i < set->n_peers; i++) {
		set->filters |= set->peers[i].def != POLICY_UNRESTRICTED;
		elements += peer_elements(&set->peers[i]);
		sources += set->peers[i].n_sources;
		if (elements > POLICY_MAX_ELEMENTS)
			return -EINVAL;
	}
	return set->filters ? sources_disjoint(set, sources) : 0;
}

int policy_set_from_json(const json_t *payload, struct policy_set **out)
{
	struct policy_set *set;
	const json_t *peers, *jp;
	size_t i;
	int ret = -EINVAL;

	*out = NULL;
	peers = json_object_get(payload, "peers");
	if (!json_is_array(peers) || json_array_size(peers) > POLICY_MAX_PEERS)
		return -EINVAL;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->peers = calloc(json_array_size(peers) + 1, sizeof(*set->peers));
	if (!set->peers) {
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach(peers, i, jp) {
		set->n_peers = i + 1;
		ret = peer_parse(jp, &set->peers[i]);
		if (ret < 0)
			goto out;
	}
	ret = set_check(set);
	if (ret < 0)
		goto out;
	*out = set;
	set = NULL;
out:
	policy_set_free(set);
	return ret;
}

void policy_set_free(struct policy_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_peers; i++) {
		free(set->peers[i].sources);
		free(set->peers[i].dests);
	}
	free(set->peers);
	free(set);
}
