/*
 * Enforce a gateway's access policy (agent/policy.h) in nftables, through libnftables.
 *
 * The gateway owns exactly one table, "inet keyway_<ifname>", and never touches another.
 * Each config version replaces that table in one transaction (one buffer given to
 * nft_run_cmd_from_buffer: "table inet T {}", "delete table inet T", then the whole
 * definition), so the kernel holds either the old policy or the new one, never a mix,
 * and a refused transaction leaves the old one in place. ("flush table" is not enough:
 * it empties the chains but keeps every set element of the old version.)
 *
 * The table (rule count fixed: it does not grow with devices or policies):
 *
 *   set unrestricted4/6  sources of peers without "access"              (addr)
 *   set open4/6          sources of peers with "default":"allow"       (addr)
 *   set grant4/6         saddr . daddr . l4proto . dport, tcp and udp   (interval)
 *   set icmp4/6          saddr . daddr . l4proto (icmp, ipv6-icmp)      (interval)
 *   set any4/6           saddr . daddr, protocol "any"                  (interval)
 *   chain forward_policy: hook forward, priority filter, policy accept
 *     iifname != "<ifname>" return           only traffic from the tunnel is judged
 *     ct direction reply accept              a device answering a flow someone else began
 *     ct state related accept                ICMP errors about a tracked flow
 *     meta nfproto vmap { ipv4 : jump policy4, ipv6 : jump policy6 }
 *     counter drop                           whatever policy4/6 did not accept
 *   chain policy4 (policy6 alike, with the *6 sets):
 *     saddr . daddr . l4proto . sport . dport @flows4 accept   a flow judged already
 *     lookup in grant4: add the flow to @flows4, accept
 *     lookup in grant4 accept                   (only when flows4 is full)
 *     lookup in icmp4 accept
 *     lookup in any4: add the flow to @flows4, accept; then any4 accept (flows4 full)
 *     ip saddr @unrestricted4 accept
 *     oifname != "<ifname>" ip saddr @open4 accept   allow-by-default, not to devices
 *   set flows4/6: a flow cache (dynamic, timeout NFT_FLOW_CACHE_TIMEOUT, at most
 *     NFT_FLOW_CACHE_SIZE): an interval lookup costs in proportion to the elements of
 *     the set (its bitmaps are scanned), a hash lookup does not; so only a flow's
 *     first packet (and one a minute after) meets the interval sets. Each version
 *     starts with new, empty caches, in the same transaction.
 *
 * Why "ct direction reply" and not "ct state established": a device's own packets in
 * a flow it began are judged on every packet (through the flow cache, which every
 * version starts empty), not only the first. So a grant taken away (a user moved out
 * of a group) cuts the connections already open the moment the new version is loaded;
 * with "established accept" an open SSH session would outlive its access.
 *
 * Only the forward hook is filtered: traffic a device sends to the gateway's own
 * addresses (input) is not. Other tables (the admin's own firewall) still see every
 * packet; an "accept" here never overrides a "drop" there.
 *
 * Destinations that overlap (nested prefixes, overlapping port lists) are merged into
 * disjoint elements, as the kernel refuses overlapping intervals in one set.
 *
 * How agent/run.c calls it (the lead wires this; this file only provides the calls).
 * run.c keeps, per tunnel: struct nft_state *nft = NULL; bool nft_loaded = false;
 *   0. At start, before the first config is applied: nft_remove(ifname, err, len) once,
 *      ignoring its error (a laptop may have no nf_tables at all). A table left by a
 *      crashed run would otherwise keep filtering with an old policy.
 *   1. On every config verify_envelope() accepted, BEFORE apply_config():
 *        json_t *payload;  -- the verified payload object (envelope_verify() gives it;
 *                             or let verify_envelope() hand it out as well)
 *        struct policy_set *ps;
 *        struct nft_stats st;
 *        char err[512];
 *        if (policy_set_from_json(payload, &ps) < 0)
 *                -> refuse the whole config like VERIFY_MALFORMED: apply nothing of it.
 *        if (ps->filters || nft_loaded) {
 *                int r = nft_apply(ps, ifname, false, &nft, err, sizeof(err), &st);
 *                if (r == -EINVAL || r == -E2BIG)  -> refused config, as above
 *                else if (r < 0)  -> log err; do not mark this version applied; the old
 *                                    table is still in place; retry at the next fetch
 *                else nft_loaded = ps->filters;   (a config without "access" removed it)
 *        }
 *        policy_set_free(ps);
 *      Policy before peers: a new device never has a moment without its restrictions.
 *      Log st.elements, st.changed and st.incremental with the version.
 *   2. Optionally after each long-poll round without a new version, while nft_loaded:
 *      nft_apply() again with the same policy set (keep ps until the next version). It
 *      costs a few milliseconds and reloads the table if a firewall reload ("nft flush
 *      ruleset") removed it.
 *   3. On stop (SIGTERM/SIGINT, normal exit) and on revocation (the controller says the
 *      device is revoked), when nft_loaded: nft_remove(ifname, err, sizeof(err)), then
 *      nft_state_free(nft), nft = NULL, nft_loaded = false. It deletes only
 *      keyway_<ifname> and succeeds when the table is already gone.
 * The process needs CAP_NET_ADMIN in the gateway's network namespace and nothing else
 * (checked: nft-apply as uid 65534 with only CAP_NET_ADMIN loads and replaces tables).
 */
#ifndef KW_AGENT_NFT_H
#define KW_AGENT_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define NFT_TABLE_NAME_MAX 32 /* "keyway_" + IFNAMSIZ */
#define NFT_RULES 21          /* rules in the table's three chains, whatever the config */
#define NFT_FLOW_CACHE_SIZE 65536   /* flows remembered per family */
#define NFT_FLOW_CACHE_TIMEOUT 60   /* seconds a remembered flow is not judged again */

struct nft_stats {
	size_t elements;  /* set elements of the policy, all sets */
	size_t rules;     /* rules in the table (NFT_RULES) */
	size_t changed;   /* elements the transaction added or deleted */
	size_t text_len;  /* bytes of the transaction text */
	bool incremental; /* only the changes (else the whole table) */
};

/* What the last nft_apply() loaded, so the next one can send only the difference. */
struct nft_state;
void nft_state_free(struct nft_state *st);

/*
 * "keyway_<ifname>". The interface name must be 1-15 characters of [A-Za-z0-9_-]
 * (it is quoted into the ruleset): 0 or -EINVAL.
 */
int nft_table_name(char out[NFT_TABLE_NAME_MAX], const char *ifname);

/*
 * The transaction text that replaces the table for ifname with set's policy. Pure.
 * *text is malloc'd. -EINVAL (bad ifname), -E2BIG (more than POLICY_MAX_ELEMENTS
 * elements after merging) or -ENOMEM; *text NULL then.
 * With set->filters false the text deletes the table instead (when it exists).
 */
int nft_compile(const struct policy_set *set, const char *ifname, char **text,
		struct nft_stats *stats);

/*
 * Load set's policy for ifname through libnftables, in one transaction.
 *
 * state (may be NULL: always the whole table) remembers what was loaded. With a state
 * from the previous call and a small change (few deletions: the kernel deletes from a
 * big interval set slowly, see diff_worth() in nft.c), the transaction only deletes and
 * adds the changed elements (and writes the chain's rules again); a user moved between
 * groups costs far less than a reload of every element. If
 * that transaction fails (the table was changed or removed behind our back), the whole
 * table is replaced instead. Calling again with an unchanged set is cheap and restores
 * a table someone deleted. After a failure *state is freed and NULL (the next call
 * replaces the whole table); on success it describes the new table.
 *
 * dry_run: the kernel checks the transaction and nothing changes (*state neither).
 * On failure nftables' message goes to err (may be NULL) and the table stays as it
 * was. 0, -EINVAL, -E2BIG, -ENOMEM or -EIO (refused by nftables). stats may be NULL.
 */
int nft_apply(const struct policy_set *set, const char *ifname, bool dry_run,
	      struct nft_state **state, char *err, size_t errlen, struct nft_stats *stats);

/*
 * Delete the table for ifname, and only it. 0 also when it did not exist; -EINVAL, -EIO.
 * The caller frees its nft_state (nft_state_free) along with it.
 */
int nft_remove(const char *ifname, char *err, size_t errlen);

#endif
