#include "config.h"
#include "tunnel.h"
#include "metrics.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netlink.h"
#include "wg/wg.h"

int tunnel_parse_endpoint(const char *text, struct sockaddr_storage *out)
{
	char host[256];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	size_t hlen;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = (size_t)(end - text - 1);
		port = end + 2;
		text++;
	} else {
		port = strrchr(text, ':');
		if (!port)
			return -EINVAL;
		hlen = (size_t)(port - text);
		port++;
	}
	if (hlen == 0 || hlen >= sizeof(host) || !*port)
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return -EHOSTUNREACH;
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int op_peer_set(void *ctx, const struct agent_peer *p)
{
	struct tunnel *t = ctx;
	struct wg_allowed_ip *ips;
	struct wg_peer_config pc;
	size_t i;
	int ret;

	memset(&pc, 0, sizeof(pc));
	memcpy(pc.public_key, p->public_key, WG_KEY_LEN);
	if (p->endpoint[0]) {
		ret = tunnel_parse_endpoint(p->endpoint, &pc.endpoint);
		if (ret < 0)
			log_warn("event=endpoint_unresolved endpoint=%s", p->endpoint);
		else
			pc.has_endpoint = true;
	}
	pc.has_persistent_keepalive = true;
	pc.persistent_keepalive = p->persistent_keepalive;
	pc.replace_allowed_ips = true;
	ips = calloc(p->n_allowed + 1, sizeof(*ips));
	if (!ips)
		return -ENOMEM;
	for (i = 0; i < p->n_allowed; i++) {
		ips[i].family = p->allowed[i].family;
		ips[i].cidr = p->allowed[i].prefix;
		if (ips[i].family == AF_INET)
			memcpy(&ips[i].addr.v4, p->allowed[i].addr, 4);
		else
			memcpy(&ips[i].addr.v6, p->allowed[i].addr, 16);
	}
	pc.n_allowed_ips = p->n_allowed;
	pc.allowed_ips = ips;
	ret = wg_device_peer_set(t->dev, &pc);
	free(ips);
	return ret;
}

static int op_peer_remove(void *ctx, const uint8_t key[KW_KEY_LEN])
{
	struct tunnel *t = ctx;
	int ret = wg_device_peer_remove(t->dev, key);

	return ret == -ENOENT ? 0 : ret;
}

static int op_listen_port(void *ctx, uint16_t port)
{
	return wg_device_set_listen_port(((struct tunnel *)ctx)->dev, port);
}

static int op_mtu(void *ctx, int mtu)
{
	struct tunnel *t = ctx;

	return netlink_link_set(t->ifindex, t->up, mtu);
}

static int op_address(void *ctx, const struct kw_cidr *addr, bool add)
{
	return netlink_address(((struct tunnel *)ctx)->ifindex, addr, add);
}

static int op_route(void *ctx, const struct kw_cidr *net, bool add)
{
	return netlink_route(((struct tunnel *)ctx)->ifindex, net, add);
}

static const struct apply_ops tunnel_ops = {
	.peer_set = op_peer_set,
	.peer_remove = op_peer_remove,
	.listen_port = op_listen_port,
	.mtu = op_mtu,
	.address = op_address,
	.route = op_route,
};

int tunnel_create(struct tunnel *t, const char *ifname, const uint8_t priv[KW_KEY_LEN])
{
	int ret;

	memset(t, 0, sizeof(*t));
	if (strlen(ifname) >= sizeof(t->ifname))
		return -ENAMETOOLONG;
	strcpy(t->ifname, ifname);
	ret = wg_device_new(&t->dev, ifname);
	if (ret < 0)
		return ret;
	ret = wg_device_set_private_key(t->dev, priv);
	if (ret < 0)
		tunnel_close(t);
	return ret;
}

int tunnel_start(struct tunnel *t, const char *uapi_dir)
{
	int ret;

	ret = wg_device_start(t->dev);
	if (ret == 0)
		ret = wg_device_uapi_listen(t->dev, uapi_dir);
	if (ret == 0) {
		ret = netlink_ifindex(t->ifname);
		if (ret > 0) {
			t->ifindex = ret;
			ret = 0;
		}
	}
	if (ret < 0)
		tunnel_close(t);
	return ret;
}

int tunnel_apply(struct tunnel *t, const struct agent_config *old_cfg,
		 const struct agent_config *new_cfg, struct apply_stats *stats)
{
	int ret;

	if (new_cfg && !t->up) {
		ret = netlink_link_set(t->ifindex, true, new_cfg->mtu);
		if (ret < 0)
			return ret;
		t->up = true;
	}
	return apply_config(old_cfg, new_cfg, &tunnel_ops, t, stats);
}

int tunnel_down(struct tunnel *t, const struct agent_config *cfg)
{
	int ret = 0, r;

	if (!t->dev)
		return 0;
	if (cfg)
		ret = apply_config(cfg, NULL, &tunnel_ops, t, NULL);
	wg_device_peers_clear(t->dev);
	r = netlink_link_set(t->ifindex, false, 0);
	t->up = false;
	return ret < 0 ? ret : r;
}

int tunnel_set_private_key(struct tunnel *t, const uint8_t priv[KW_KEY_LEN])
{
	return wg_device_set_private_key(t->dev, priv);
}

int tunnel_nudge(struct tunnel *t, const struct agent_config *cfg)
{
	struct wg_peer_stats *st = NULL;
	size_t n = 0, i;
	int waiting = 0;

	if (!cfg || !t->dev || wg_device_peer_stats(t->dev, &st, &n) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		const struct agent_peer *p = agent_config_find_peer(cfg, st[i].public_key);

		if (!p || !p->endpoint[0] || st[i].last_handshake_sec != 0)
			continue;
		waiting++;
		if (st[i].tx_bytes == 0 || st[i].rx_bytes != 0)
			continue;
		/* A fresh initiation rather than a remove and re-add: the packets
		 * waiting for this session stay queued. */
		log_info("event=handshake_retry reason=unanswered");
		(void)wg_device_peer_initiate(t->dev, p->public_key);
	}
	free(st);
	return waiting;
}

void tunnel_close(struct tunnel *t)
{
	wg_device_free(t->dev);
	t->dev = NULL;
	t->up = false;
}

int tunnel_metrics_peers(void *ctx, struct metrics_peer **out, size_t *n)
{
	struct tunnel *t = ctx;
	struct wg_peer_stats *st = NULL;
	struct metrics_peer *mp;
	size_t i, cnt = 0;
	int ret;

	*out = NULL;
	*n = 0;
	if (!t->dev)
		return 0;
	ret = wg_device_peer_stats(t->dev, &st, &cnt);
	if (ret < 0)
		return ret;
	mp = calloc(cnt + 1, sizeof(*mp));
	if (!mp) {
		free(st);
		return -ENOMEM;
	}
	for (i = 0; i < cnt; i++) {
		memcpy(mp[i].public_key, st[i].public_key, KW_KEY_LEN);
		mp[i].last_handshake = st[i].last_handshake_sec;
		mp[i].rx_bytes = st[i].rx_bytes;
		mp[i].tx_bytes = st[i].tx_bytes;
	}
	free(st);
	*out = mp;
	*n = cnt;
	return 0;
}
