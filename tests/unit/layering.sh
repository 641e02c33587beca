#!/bin/bash
# server/'s architecture, checked: a file includes another part's public header only, and
# no part includes a part it may not call (README, Architecture). Fails naming each
# offending #include.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/server
# The one public face of each part (core/ is the foundation: all its headers are public).
public="core/*.h http/request.h http/router.h http/http.h http/longpoll.h api/api.h store/store.h
directory/directory.h"
# Which parts each part may include (besides itself).
declare -A may=(
	[store]="core"
	[core]="store http directory"
	[http]="core store"
	[directory]="core http store"
	[api]="core http store directory"
)
bad=0 n=0
is_public() {
	local p
	for p in $public; do
		# shellcheck disable=SC2053
		[[ $1 == $p ]] && return 0
	done
	return 1
}
for f in "$src"/*/*.[ch]; do
	part=$(basename "$(dirname "$f")")
	while IFS= read -r inc; do
		n=$((n + 1))
		other=${inc%%/*}
		[ "$other" = "$part" ] && continue
		if ! is_public "$inc"; then
			echo "not ok - ${f#"$src"/} includes $inc, an internal header of $other/"
			bad=$((bad + 1))
		elif [[ " ${may[$part]:-} " != *" $other "* ]]; then
			echo "not ok - ${f#"$src"/} includes $inc: $part/ may not call $other/"
			bad=$((bad + 1))
		fi
	done < <(sed -n 's/^#include "\([a-z_]*\/[a-z_]*\.h\)".*/\1/p' "$f")
done
[ "$n" -gt 30 ] || { echo "not ok - only $n cross-folder includes found under $src: wrong tree?"; exit 1; }
echo "# $n includes across server/'s parts checked"
[ "$bad" -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, $bad failed"
[ "$bad" -eq 0 ]
