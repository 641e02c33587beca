#!/bin/bash
# Every manual page in man/ (and any generated into the build tree's man/, such as
# keywayd.conf.5) passes `mandoc -T lint -W warning` with no output at all.
set -u
top_srcdir=${top_srcdir:-$(dirname "$0")/../../..}
top_builddir=${top_builddir:-.}
command -v mandoc >/dev/null || { echo "mandoc missing (packaging/install-deps installs it)"; exit 1; }
pages=()
for p in "$top_srcdir"/man/*.[1-8] "$top_builddir"/man/*.[1-8]; do
	[ -f "$p" ] || continue
	case " ${pages[*]-} " in *" $(realpath "$p") "*) continue ;; esac
	pages+=("$(realpath "$p")")
done
[ "${#pages[@]}" -ge 4 ] || { echo "not ok - expected at least 4 pages in man/, found ${#pages[@]}"; exit 1; }
fail=0
for p in "${pages[@]}"; do
	out=$(mandoc -T lint -W warning "$p" 2>&1)
	if [ -z "$out" ]; then
		echo "ok - $(basename "$p")"
	else
		echo "not ok - $(basename "$p")"
		echo "$out" | sed 's/^/# /'
		fail=1
	fi
done
exit $fail
