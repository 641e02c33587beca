#include "config.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio_ext.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* A peer counts as up while a session from its last handshake may still be in use
 * (WireGuard's REJECT_AFTER_TIME). */
#define METRICS_PEER_UP_S 180

void metrics_label_escape(FILE *f, const char *s)
{
	if (!strpbrk(s, "\\\"\n")) {
		fputs(s, f); /* the usual case: nothing to escape */
		return;
	}
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(((const struct metrics_identity *)a)->public_key,
		      ((const struct metrics_identity *)b)->public_key, KW_KEY_LEN);
}

static const struct metrics_identity *find_id(const struct metrics_view *v, const uint8_t *key)
{
	struct metrics_identity probe;

	if (v->n_ids == 0)
		return NULL;
	memcpy(probe.public_key, key, KW_KEY_LEN);
	return bsearch(&probe, v->ids, v->n_ids, sizeof(*v->ids), id_cmp);
}

/* {public_key="…",device_id="…",username="…"} */
static void peer_labels(FILE *f, const struct metrics_view *v, const struct metrics_peer *p)
{
	const struct metrics_identity *id = find_id(v, p->public_key);
	char b64[KW_KEY_B64_LEN + 1];

	key_to_base64(b64, p->public_key);
	fputs("{public_key=\"", f);
	fwrite(b64, 1, KW_KEY_B64_LEN, f);
	fputc('"', f);
	if (id && id->device_id[0]) {
		fputs(",device_id=\"", f);
		metrics_label_escape(f, id->device_id);
		fputc('"', f);
	}
	if (id && id->username) {
		fputs(",username=\"", f);
		metrics_label_escape(f, id->username);
		fputc('"', f);
	}
	fputc('}', f);
}

/*
 * Every peer's label set, written once and used by the four families: *text holds them
 * one after the other, (*offs)[i] where peer i's starts ((*offs)[n] the end).
 */
static int peer_label_table(const struct metrics_view *v, const struct metrics_peer *peers,
			    size_t n, char **text, size_t **offs)
{
	size_t len = 0, i;
	FILE *f;

	*text = NULL;
	*offs = calloc(n + 1, sizeof(**offs));
	f = *offs ? open_memstream(text, &len) : NULL;
	if (!f) {
		free(*offs);
		*offs = NULL;
		return -ENOMEM;
	}
	__fsetlocking(f, FSETLOCKING_BYCALLER);
	for (i = 0; i < n; i++) {
		(*offs)[i] = (size_t)ftello(f);
		peer_labels(f, v, &peers[i]);
	}
	(*offs)[n] = (size_t)ftello(f);
	if (fclose(f) != 0 || !*text) {
		free(*text);
		free(*offs);
		*text = NULL;
		*offs = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* One family of per-peer samples; which selects the value. */
static void peer_family(FILE *f, const struct metrics_view *v, const struct metrics_peer *peers,
			size_t n, const char *labels, const size_t *offs, const char *name,
			const char *type, const char *help, int which)
{
	char num[24];
	size_t i, name_len = strlen(name);

	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (i = 0; i < n; i++) {
		const struct metrics_peer *p = &peers[i];
		uint64_t val;
		int k;

		switch (which) {
		case 0: val = p->rx_bytes; break;
		case 1: val = p->tx_bytes; break;
		case 2: val = p->last_handshake > 0 ? (uint64_t)p->last_handshake : 0; break;
		default:
			val = p->last_handshake > 0 && v->now - p->last_handshake < METRICS_PEER_UP_S;
			break;
		}
		fwrite(name, 1, name_len, f);
		fwrite(labels + offs[i], 1, offs[i + 1] - offs[i], f);
		k = snprintf(num, sizeof(num), " %" PRIu64 "\n", val);
		fwrite(num, 1, (size_t)k, f);
	}
}

int metrics_render(const struct metrics_view *v, const struct metrics_peer *peers, size_t n,
		   char **out, size_t *len)
{
	static const struct {
		const char *name, *type, *help;
	} fams[] = {
		{ "wireguard_peer_received_bytes_total", "counter", "Bytes received from the peer." },
		{ "wireguard_peer_sent_bytes_total", "counter", "Bytes sent to the peer." },
		{ "wireguard_peer_last_handshake_seconds", "gauge",
		  "Unix time of the last handshake with the peer, 0 if none." },
		{ "wireguard_peer_up", "gauge", "1 when the last handshake is less than 180 s old." },
	};
	int64_t left = v->expires_at > v->now ? v->expires_at - v->now : 0;
	char *labels = NULL;
	size_t *offs = NULL, i;
	FILE *f;

	*out = NULL;
	*len = 0;
	if (peer_label_table(v, peers, n, &labels, &offs) < 0)
		return -ENOMEM;
	f = open_memstream(out, len);
	if (!f) {
		free(labels);
		free(offs);
		return -ENOMEM;
	}
	__fsetlocking(f, FSETLOCKING_BYCALLER);
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		peer_family(f, v, peers, n, labels, offs, fams[i].name, fams[i].type, fams[i].help,
			    (int)i);
	free(labels);
	free(offs);
	fprintf(f, "# HELP keyway_agent_config_version Version of the running signed config.\n"
		   "# TYPE keyway_agent_config_version gauge\nkeyway_agent_config_version %" PRIu64 "\n",
		v->version);
	fprintf(f, "# HELP keyway_agent_config_expires_seconds Seconds until the running config "
		   "expires, 0 if expired or none.\n"
		   "# TYPE keyway_agent_config_expires_seconds gauge\n"
		   "keyway_agent_config_expires_seconds %" PRId64 "\n", left);
	fputs("# HELP keyway_agent_state The agent's state: 1 for the current one.\n"
	      "# TYPE keyway_agent_state gauge\n", f);
	for (i = 0; i < v->n_states; i++)
		fprintf(f, "keyway_agent_state{state=\"%s\"} %d\n", v->state_names[i],
			strcmp(v->state_names[i], v->state) == 0);
	if (fclose(f) != 0 || !*out) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The peer identities of one config, shared by the run loop's latest publication and the
 * scrapes rendering from it; refs counted under struct metrics' lock. */
struct metrics_ids {
	unsigned refs;
	size_t n;
	struct metrics_identity *ids;
};

struct metrics {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	const char *const *state_names;
	size_t n_states;
	metrics_peers_fn peers;
	void *peers_ctx;
	/* Published by the run loop, under lock. */
	const char *state;
	uint64_t version;
	int64_t expires_at;
	const struct agent_config *cfg_seen; /* ids are from it */
	struct metrics_ids *ids;
};

static void ids_free(struct metrics_ids *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		free(t->ids[i].username);
	free(t->ids);
	free(t);
}

/* Drop one reference (lock held); returns the table when it is to be freed. */
static struct metrics_ids *ids_unref_locked(struct metrics_ids *t)
{
	return t && --t->refs == 0 ? t : NULL;
}

/* The identities of cfg's peers, sorted (cfg's peers are sorted by key already). NULL
 * when there are none or memory ran out (the pages then lack those labels). */
static struct metrics_ids *ids_from(const struct agent_config *cfg)
{
	struct metrics_ids *t;
	size_t i;

	if (!cfg || cfg->n_peers == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ids = calloc(cfg->n_peers, sizeof(*t->ids));
	if (!t->ids) {
		free(t);
		return NULL;
	}
	for (i = 0; i < cfg->n_peers; i++) {
		memcpy(t->ids[i].public_key, cfg->peers[i].public_key, KW_KEY_LEN);
		memcpy(t->ids[i].device_id, cfg->peers[i].device_id, sizeof(t->ids[i].device_id));
		if (cfg->peers[i].username)
			t->ids[i].username = strdup(cfg->peers[i].username); /* NULL: no label */
	}
	t->n = cfg->n_peers;
	t->refs = 1;
	return t;
}

void metrics_publish(struct metrics *m, const char *state, uint64_t version,
		     const struct agent_config *cfg)
{
	struct metrics_ids *ids = NULL, *old = NULL;
	bool changed;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	/* A config freed and another allocated at its address still differs in version or
	 * expiry (a re-signed copy of the same version has the same peers). */
	changed = cfg != m->cfg_seen || version != m->version ||
		  (cfg ? cfg->expires_at : 0) != m->expires_at;
	pthread_mutex_unlock(&m->lock);
	if (changed)
		ids = ids_from(cfg); /* outside the lock: a gateway may have many peers */
	pthread_mutex_lock(&m->lock);
	m->state = state;
	m->version = version;
	m->expires_at = cfg ? cfg->expires_at : 0;
	if (changed) {
		old = ids_unref_locked(m->ids);
		m->ids = ids;
		m->cfg_seen = cfg;
	}
	pthread_mutex_unlock(&m->lock);
	ids_free(old);
}

static enum MHD_Result metrics_reply(struct MHD_Connection *c, unsigned status, char *body,
				     size_t len, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct metrics *m = cls;
	struct metrics_ids *ids;
	struct metrics_peer *peers = NULL;
	struct metrics_view v;
	size_t n = 0, len = 0;
	char *body = NULL;
	int ret;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return metrics_reply(c, 405, strdup("GET only\n"), 9, "text/plain");
	if (strcmp(url, "/metrics") != 0)
		return metrics_reply(c, 404, strdup("see /metrics\n"), 13, "text/plain");
	ret = m->peers ? m->peers(m->peers_ctx, &peers, &n) : 0;
	if (ret < 0) {
		log_warn("event=metrics_peers_failed error=\"%s\"", strerror(-ret));
		n = 0;
	}
	/* Take what the run loop published, then render without the lock: a gateway's page
	 * may take a while and the run loop publishes at every state change. */
	pthread_mutex_lock(&m->lock);
	ids = m->ids;
	if (ids)
		ids->refs++;
	v = (struct metrics_view){ .state = m->state, .state_names = m->state_names,
				   .n_states = m->n_states, .version = m->version,
				   .expires_at = m->expires_at, .now = time(NULL),
				   .ids = ids ? ids->ids : NULL, .n_ids = ids ? ids->n : 0 };
	pthread_mutex_unlock(&m->lock);
	ret = metrics_render(&v, peers, n, &body, &len);
	pthread_mutex_lock(&m->lock);
	ids = ids_unref_locked(ids);
	pthread_mutex_unlock(&m->lock);
	ids_free(ids);
	free(peers);
	if (ret < 0)
		return MHD_NO;
	return metrics_reply(c, 200, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

int metrics_listen_parse(const char *text, struct sockaddr_storage *ss, bool *v6)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':');
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	size_t hl;

	if (!colon || colon == text || !colon[1])
		return -EINVAL;
	hl = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hl < 3 || text[hl - 1] != ']')
			return -EINVAL;
		text++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	return 0;
}

int metrics_start(struct metrics **out, const char *listen, const char *const *state_names,
		  size_t n_states, metrics_peers_fn peers, void *peers_ctx)
{
	struct sockaddr_storage ss = { 0 };
	struct metrics *m;
	bool v6 = false;
	int ret;

	*out = NULL;
	ret = metrics_listen_parse(listen, &ss, &v6);
	if (ret < 0)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->state_names = state_names;
	m->n_states = n_states;
	m->state = state_names[0];
	m->peers = peers;
	m->peers_ctx = peers_ctx;
	/* One thread, a few connections: a scraper or two, not a public server. */
	errno = 0;
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (v6 ? MHD_USE_IPv6 : 0), 0,
				     NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, &ss,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)8,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
	if (!m->daemon) {
		ret = errno ? -errno : -EADDRINUSE;
		pthread_mutex_destroy(&m->lock);
		free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	ids_free(m->ids); /* the listener's thread is gone: the last reference */
	pthread_mutex_destroy(&m->lock);
	free(m);
}
