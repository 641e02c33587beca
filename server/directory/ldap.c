/*
 * The only part of keywayd that opens LDAP connections (ldap*.c are the only files that
 * speak LDAP, through OpenLDAP's libldap).
 *
 * A small pool of slots, each with two connections: `svc`, bound as the service account
 * and used for every search and compare, and `auth`, used only for users' simple binds
 * (so a user bind never changes the identity the searches run under). Connections are
 * opened lazily, reused, and re-opened once when the server went away in between (a
 * restarted slapd). Every operation has a timeout; connecting has a network timeout.
 * ldap_entry.c reads entries, ldap_login.c logs in, ldap_search.c checks users for the
 * sync, ldap_publish.c writes keys, ldap_nested.c follows nested groups (the walk itself is
 * the pure group_nest.c).
 */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <lber.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ldap_int.h"
#include "log.h"

bool kwl_rc_is_down(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

int kwl_rc_to_errno(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
		return -EACCES;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
		return -EHOSTUNREACH;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return -ETIMEDOUT;
	case LDAP_NO_SUCH_OBJECT:
		return -ENOENT;
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		return -E2BIG;
	default:
		return -EIO;
	}
}

int ldap_dir_new(const struct kw_ldap_config *cfg, struct kw_ldap **out)
{
	struct kw_ldap *d;
	size_t n = cfg->pool_size ? cfg->pool_size : 1;

	*out = NULL;
	if (!cfg->enabled)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->slots = calloc(n, sizeof(*d->slots));
	if (!d->slots) {
		free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		pthread_mutex_init(&d->slots[i].lock, NULL);
	d->n_slots = n;
	d->cfg = cfg;
	*out = d;
	return 0;
}

void kwl_conn_drop(LDAP **ld)
{
	if (*ld) {
		ldap_unbind_ext_s(*ld, NULL, NULL);
		*ld = NULL;
	}
}

void ldap_dir_disconnect(struct kw_ldap *d)
{
	for (size_t i = 0; i < d->n_slots; i++) {
		pthread_mutex_lock(&d->slots[i].lock);
		kwl_conn_drop(&d->slots[i].svc);
		kwl_conn_drop(&d->slots[i].auth);
		pthread_mutex_unlock(&d->slots[i].lock);
	}
}

void ldap_dir_free(struct kw_ldap *d)
{
	if (!d)
		return;
	ldap_dir_disconnect(d);
	for (size_t i = 0; i < d->n_slots; i++)
		pthread_mutex_destroy(&d->slots[i].lock);
	free(d->slots);
	free(d);
}

struct ldap_slot *kwl_slot_acquire(struct kw_ldap *d)
{
	struct ldap_slot *s;
	unsigned start = atomic_fetch_add(&d->next, 1);

	/* Take a free slot if there is one, else queue on ours. */
	for (size_t i = 0; i < d->n_slots; i++) {
		s = &d->slots[(start + i) % d->n_slots];
		if (pthread_mutex_trylock(&s->lock) == 0)
			return s;
	}
	s = &d->slots[start % d->n_slots];
	pthread_mutex_lock(&s->lock);
	return s;
}

void kwl_slot_release(struct ldap_slot *s)
{
	pthread_mutex_unlock(&s->lock);
}

struct timeval kwl_op_timeout(const struct kw_ldap *d)
{
	struct timeval tv = { .tv_sec = d->cfg->timeout, .tv_usec = 0 };

	return tv;
}

/* Open one connection to one URI: options, TLS, and for bind_svc the service bind. */
static int conn_open_uri(struct kw_ldap *d, const char *uri, bool bind_svc, LDAP **out)
{
	const struct kw_ldap_config *cfg = d->cfg;
	struct timeval nt = { .tv_sec = cfg->network_timeout, .tv_usec = 0 };
	struct timeval ot = kwl_op_timeout(d);
	int version = LDAP_VERSION3, req = cfg->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	int zero = 0, rc;
	LDAP *ld = NULL;

	*out = NULL;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		log_error("ldap: bad uri uri=%s error=\"%s\"", uri, ldap_err2string(rc));
		return -EINVAL;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &nt) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ot) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
	    (cfg->ca_file && ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file) != LDAP_OPT_SUCCESS) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
		log_error("ldap: cannot set connection options uri=%s", uri);
		rc = LDAP_LOCAL_ERROR;
		goto fail;
	}
	if (cfg->starttls && strncasecmp(uri, "ldaps://", 8)) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			log_warn("ldap: StartTLS failed uri=%s error=\"%s\"", uri, ldap_err2string(rc));
			goto fail;
		}
	}
	if (bind_svc) {
		struct berval cred = { .bv_val = (char *)cfg->bind_password, .bv_len = strlen(cfg->bind_password) };

		rc = ldap_sasl_bind_s(ld, cfg->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			log_warn("ldap: service bind failed uri=%s bind_dn=\"%s\" error=\"%s\"", uri, cfg->bind_dn,
				 ldap_err2string(rc));
			goto fail;
		}
	} else {
		/* Connect now (an anonymous no-op would bind; ask for nothing instead). */
		rc = ldap_connect(ld);
		if (rc != LDAP_SUCCESS) {
			log_warn("ldap: connect failed uri=%s error=\"%s\"", uri, ldap_err2string(rc));
			goto fail;
		}
	}
	*out = ld;
	return 0;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	/* A refused service bind is a configuration error, not an outage, but either way
	 * keywayd cannot ask the directory: callers answer 503. */
	return rc == LDAP_INVALID_CREDENTIALS ? -EHOSTUNREACH : (kwl_rc_to_errno(rc) ? kwl_rc_to_errno(rc) : -EIO);
}

/* Try every URI in order. */
static int conn_open(struct kw_ldap *d, bool bind_svc, LDAP **out)
{
	int r = -EHOSTUNREACH;

	for (size_t i = 0; i < d->cfg->n_uris; i++) {
		r = conn_open_uri(d, d->cfg->uris[i], bind_svc, out);
		if (r == 0)
			return 0;
	}
	if (r == -EIO || r == -EACCES || r == -EINVAL)
		r = -EHOSTUNREACH;
	return r;
}

/* Make sure *ld is open; *fresh tells whether it was opened just now. */
int kwl_conn_ensure(struct kw_ldap *d, LDAP **ld, bool bind_svc, bool *fresh)
{
	int r;

	*fresh = false;
	if (*ld)
		return 0;
	r = conn_open(d, bind_svc, ld);
	if (r == 0)
		*fresh = true;
	return r;
}
