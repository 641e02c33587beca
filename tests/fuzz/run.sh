#!/bin/bash
# Build the libFuzzer targets with clang and run each for a bounded time.
# Usage: tests/fuzz/run.sh [SECONDS_EACH]   (make fuzz-smoke: 30 s each)
# Exit status non-zero if a target crashes, leaks or trips a sanitizer; the
# reproducer is left in tests/fuzz/out/.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SECS=${1:-30}
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "SKIP: $CC not installed"; exit 77; }
out=${FUZZ_OUT:-$top_srcdir/tests/fuzz/out}
mkdir -p "$out/cfg"
# The sources include config.h; the fuzz build needs only _GNU_SOURCE.
echo '#define _GNU_SOURCE 1' >"$out/cfg/config.h"
WG="$top_srcdir/agent/wg"
# Every library source of the data plane (all of agent/wg but keyway-wg's main).
SRCS="$(ls "$WG"/*.c | grep -v '/main\.c$' | tr '\n' ' ') $top_srcdir/common/key.c $top_srcdir/common/log.c"
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-I$out/cfg -I$WG -I$top_srcdir/common -I$top_srcdir $(pkg-config --cflags libsodium)"
LIBS="$(pkg-config --libs libsodium) -lpthread"
rc=0
for t in fuzz_receive fuzz_uapi fuzz_offload fuzz_policy fuzz_access; do
	T_SRCS=$SRCS T_CFLAGS="" T_LIBS=$LIBS
	if [ "$t" = fuzz_policy ]; then # the gateway's access policy: parser and compiler
		T_SRCS="$top_srcdir/agent/policy.c $top_srcdir/agent/nft.c $top_srcdir/common/cidr.c"
		T_CFLAGS="-I$top_srcdir/agent $(pkg-config --cflags jansson libnftables)"
		T_LIBS="$(pkg-config --libs jansson libnftables)"
	fi
	if [ "$t" = fuzz_access ]; then # keywayd's parsers of policies (what admins send, what its database holds)
		T_SRCS="$top_srcdir/server/core/access.c $top_srcdir/common/cidr.c"
		T_CFLAGS="-I$top_srcdir/server $(pkg-config --cflags jansson)"
		T_LIBS="$(pkg-config --libs jansson)"
	fi
	# shellcheck disable=SC2086
	$CC $CFLAGS $T_CFLAGS -o "$out/$t" "$top_srcdir/tests/fuzz/$t.c" $T_SRCS $T_LIBS
	mkdir -p "$out/corpus-$t"
	echo "== $t for ${SECS}s"
	if ! (cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./$t" -max_total_time="$SECS" \
		-max_len=4096 -rss_limit_mb=1024 -print_final_stats=1 "corpus-$t" \
		"$top_srcdir/tests/fuzz/seeds-$t" 2>"$out/$t.log"); then
		echo "FAIL: $t (see $out/$t.log and the crash-* file in $out)"
		tail -40 "$out/$t.log"
		rc=1
	else
		grep -E "stat::number_of_executed_units|cov:" "$out/$t.log" | tail -2
	fi
done
exit $rc
