/* Access policies: destination parsing and the per-user decision (pure; see access.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"

static const char *const proto_names[] = { "any", "tcp", "udp", "icmp" };

const char *access_proto_name(enum kw_proto p)
{
	return (unsigned)p < 4 ? proto_names[p] : "?";
}

static int proto_parse(const char *s, enum kw_proto *p)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(s, proto_names[i]) == 0) {
			*p = (enum kw_proto)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Digits at *pp into a port 1..65535; advances *pp. */
static int port_parse(const char **pp, unsigned *port)
{
	const char *p = *pp;
	unsigned v = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		if (++digits > 5)
			return -EINVAL;
		p++;
	}
	if (digits == 0 || v < 1 || v > 65535)
		return -EINVAL;
	*port = v;
	*pp = p;
	return 0;
}

int access_ports_parse(const char *text, char out[KW_PORTS_STRLEN])
{
	const char *p = text;
	size_t len = 0;
	int items = 0;

	out[0] = '\0';
	if (!text || !*text)
		return -EINVAL;
	for (;;) {
		unsigned lo, hi;
		int w;

		if (port_parse(&p, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (*p == '-') {
			p++;
			if (port_parse(&p, &hi) < 0 || hi < lo)
				return -EINVAL;
		}
		if (++items > KW_PORTS_MAX)
			return -EINVAL;
		if (hi == lo)
			w = snprintf(out + len, KW_PORTS_STRLEN - len, "%s%u", len ? "," : "", lo);
		else
			w = snprintf(out + len, KW_PORTS_STRLEN - len, "%s%u-%u", len ? "," : "", lo, hi);
		if (w < 0 || (size_t)w >= KW_PORTS_STRLEN - len)
			return -EINVAL;
		len += (size_t)w;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
}

static const char *const dest_keys[] = { "cidr", "protocol", "ports" };

static bool dest_key_known(const char *k)
{
	for (unsigned i = 0; i < 3; i++)
		if (strcmp(k, dest_keys[i]) == 0)
			return true;
	return false;
}

int access_dest_parse(const json_t *o, struct kw_access_dest *out, char *err, size_t errlen)
{
	const json_t *cidr, *proto, *ports;
	const char *k;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "a destination must be an object {\"cidr\",\"protocol\",\"ports\"}");
		return -EINVAL;
	}
	json_object_foreach((json_t *)o, k, v) {
		if (!dest_key_known(k)) {
			snprintf(err, errlen, "unknown field '%.32s' in a destination", k);
			return -EINVAL;
		}
	}
	cidr = json_object_get(o, "cidr");
	if (!json_is_string(cidr) || cidr_parse_network(&out->cidr, json_string_value(cidr)) < 0) {
		snprintf(err, errlen, "destination 'cidr' must be a network such as \"10.1.0.0/24\" (no host bits)");
		return -EINVAL;
	}
	proto = json_object_get(o, "protocol");
	if (proto && (!json_is_string(proto) || proto_parse(json_string_value(proto), &out->proto) < 0)) {
		snprintf(err, errlen, "destination 'protocol' must be \"tcp\", \"udp\", \"icmp\" or \"any\"");
		return -EINVAL;
	}
	ports = json_object_get(o, "ports");
	if (ports && !json_is_string(ports)) {
		snprintf(err, errlen, "destination 'ports' must be a string such as \"22,443,8000-8100\"");
		return -EINVAL;
	}
	if (ports && json_string_value(ports)[0]) {
		if (out->proto != KW_PROTO_TCP && out->proto != KW_PROTO_UDP) {
			snprintf(err, errlen, "destination 'ports' needs protocol \"tcp\" or \"udp\"");
			return -EINVAL;
		}
		if (access_ports_parse(json_string_value(ports), out->ports) < 0) {
			snprintf(err, errlen, "destination 'ports' must be ports 1-65535 or ranges lo-hi, comma-separated "
					      "(at most %d)", KW_PORTS_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

json_t *access_dest_json(const struct kw_access_dest *d)
{
	char c[KW_CIDR_STRLEN];

	cidr_format(c, &d->cidr);
	return json_pack("{s:s, s:s, s:s}", "cidr", c, "protocol", access_proto_name(d->proto), "ports", d->ports);
}

/* A JSON array of non-empty label strings into a new NULL-terminated vector. */
static int names_from_text(const char *text, const char *what, char ***out, size_t *n, char *err, size_t errlen)
{
	json_t *a = json_loads(text ? text : "[]", JSON_REJECT_DUPLICATES, NULL), *v;
	char **vec;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) > KW_POLICY_NAMES_MAX) {
		snprintf(err, errlen, "'%s' must be an array of at most %d strings", what, KW_POLICY_NAMES_MAX);
		json_decref(a);
		return -EINVAL;
	}
	vec = calloc(json_array_size(a) + 1, sizeof(*vec));
	if (!vec) {
		json_decref(a);
		return -ENOMEM;
	}
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!s || !*s || strlen(s) > 1024) {
			snprintf(err, errlen, "'%s' must hold non-empty strings", what);
			goto bad;
		}
		for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(err, errlen, "'%s' entries may not hold control characters", what);
				goto bad;
			}
		}
		vec[i] = strdup(s);
		if (!vec[i])
			goto oom;
		*n = i + 1;
	}
	json_decref(a);
	*out = vec;
	return 0;
bad:
	for (size_t k = 0; vec[k]; k++)
		free(vec[k]);
	free(vec);
	json_decref(a);
	*n = 0;
	return -EINVAL;
oom:
	for (size_t k = 0; vec[k]; k++)
		free(vec[k]);
	free(vec);
	json_decref(a);
	*n = 0;
	return -ENOMEM;
}

static int dests_from_text(const char *text, struct kw_policy *p, char *err, size_t errlen)
{
	json_t *a = json_loads(text ? text : "[]", JSON_REJECT_DUPLICATES, NULL), *v;
	size_t i;
	int ret = 0;

	if (!json_is_array(a) || json_array_size(a) > KW_POLICY_DESTS_MAX) {
		snprintf(err, errlen, "'destinations' must be an array of at most %d objects", KW_POLICY_DESTS_MAX);
		json_decref(a);
		return -EINVAL;
	}
	p->dests = calloc(json_array_size(a) + 1, sizeof(*p->dests));
	if (!p->dests) {
		json_decref(a);
		return -ENOMEM;
	}
	json_array_foreach(a, i, v) {
		ret = access_dest_parse(v, &p->dests[i], err, errlen);
		if (ret < 0)
			break;
		p->ndests = i + 1;
	}
	json_decref(a);
	return ret;
}

int access_policy_from_text(int64_t id, int64_t site_id, const char *groups, const char *users,
			    const char *dests, struct kw_policy *p, char *err, size_t errlen)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->id = id;
	p->site_id = site_id;
	ret = names_from_text(groups, "groups", &p->groups, &p->ngroups, err, errlen);
	if (ret == 0)
		ret = names_from_text(users, "users", &p->users, &p->nusers, err, errlen);
	if (ret == 0)
		ret = dests_from_text(dests, p, err, errlen);
	if (ret < 0)
		access_policy_clear(p);
	return ret;
}

void access_policy_clear(struct kw_policy *p)
{
	for (size_t i = 0; p->groups && p->groups[i]; i++)
		free(p->groups[i]);
	for (size_t i = 0; p->users && p->users[i]; i++)
		free(p->users[i]);
	free(p->groups);
	free(p->users);
	free(p->dests);
	memset(p, 0, sizeof(*p));
}

bool access_policy_applies(const struct kw_policy *p, const char *username, const char *const *groups, size_t n)
{
	for (size_t i = 0; i < p->nusers; i++)
		if (strcmp(p->users[i], username) == 0)
			return true;
	for (size_t i = 0; i < p->ngroups; i++)
		for (size_t j = 0; j < n; j++)
			if (strcmp(p->groups[i], groups[j]) == 0)
				return true;
	return false;
}

static bool dest_eq(const struct kw_access_dest *a, const struct kw_access_dest *b)
{
	return a->cidr.family == b->cidr.family && a->cidr.prefix == b->cidr.prefix &&
	       memcmp(a->cidr.addr, b->cidr.addr, sizeof(a->cidr.addr)) == 0 && a->proto == b->proto &&
	       strcmp(a->ports, b->ports) == 0;
}

int access_dest_list_add(struct kw_dest_list *l, const struct kw_access_dest *d)
{
	for (size_t i = 0; i < l->n; i++)
		if (dest_eq(&l->v[i], d))
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct kw_access_dest *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *d;
	return 0;
}

void access_dest_list_clear(struct kw_dest_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool access_dest_usable(const struct kw_access_dest *d, const struct kw_cidr *routes, int nroutes,
			const struct kw_cidr *vpn, const struct kw_cidr *vpn6)
{
	for (int i = 0; i < nroutes; i++)
		if (cidr_contains(&routes[i], &d->cidr))
			return true;
	return (vpn && cidr_contains(vpn, &d->cidr)) || (vpn6 && cidr_contains(vpn6, &d->cidr));
}
