/*
 * The server context: one per keywayd process, shared by every part and every request.
 * Parts see each other only through this struct's opaque pointers and their public headers.
 */
#ifndef KW_CORE_SERVER_H
#define KW_CORE_SERVER_H

struct kw_conf;
struct kw_store;
struct kw_signer;
struct kw_longpoll;
struct kw_wgconf_cache;
struct kw_directory_ops;
struct kw_req;
struct json_t;
struct kw_gwhealth;
struct kw_access_cache;

/* The server context: one per keywayd process, shared by every request. */
struct kw_server {
	const struct kw_conf *conf; /* [server]/[network]/[log]: read with server_conf() */
	const char *config_path;    /* the -c file, for modules parsing their own sections */
	struct kw_store *store;
	struct kw_signer *signer;
	struct kw_longpoll *longpoll;
	struct kw_wgconf_cache *wgcache;
	struct kw_gwhealth *gwhealth; /* gateway liveness (gwhealth.h); NULL: not tracked */
	struct kw_access_cache *access_cache; /* sites and policies parsed once per change (access_snap.h) */
	/* The directory (LDAP); both NULL when none is configured. directory_init() sets them. */
	const struct kw_directory_ops *dir_ops;
	void *dir;
	/* Set with the directory: an admin request by a login session asks it again whether the
	 * user is still enabled and admin; 0, or an HTTP status with *out (NULL: no directory). */
	int (*admin_recheck)(struct kw_req *req, struct json_t **out);
	void *web;  /* the web console's state (web_init) */
	const char *version; /* PACKAGE_VERSION */
};

/* The running configuration. SIGHUP publishes a new one with a release store
 * (reload.c) while requests run: read it through here, once per use. */
static inline const struct kw_conf *server_conf(const struct kw_server *srv)
{
	return __atomic_load_n(&srv->conf, __ATOMIC_ACQUIRE);
}

#endif
