# Sourced by deb.sh with the packages installed: the installed keywayd runs the way
# keywayd.service runs it, as far as that goes without systemd as PID 1: as the user
# keyway with no capability, no new privileges and no core dumps, in a mount namespace
# where everything is read-only but /var/lib/keyway, with its own /tmp and no /home or
# /root. It must start, serve, write its state directory, and keywayctl must manage it.
# With strace, every system call keywayd makes must be allowed by the unit's filter.
port=$(kw_free_port)
state=/etc/keyway/deb-test-$$.conf
cat >"$state" <<CONF
[server]
listen = 127.0.0.1:$port
state_dir = /var/lib/keyway
[log]
level = info
CONF
chmod 0644 "$state"
TOKEN=$(runuser -u keyway -- /usr/sbin/keywayd -c "$state" admin-token create --name deb-test 2>"$tmp/token.err")
kw_check "an admin token made as the service user (runuser -u keyway -- keywayd admin-token create)" \
	eval '[[ $TOKEN == kwa_* ]] || { cat "$tmp/token.err"; false; }'

# sandbox.sh CMD...: the unit's restrictions that need no systemd (see the top of this
# file); every step execs the next, so CMD keeps the pid.
cat >"$tmp/sandbox.sh" <<'SH'
exec unshare -m --propagation private -- /bin/sh -c '
	for m in $(awk "{ print \$5 }" /proc/self/mountinfo | sort -u); do
		mount -o remount,bind,ro "$m" 2>/dev/null
	done
	mount --bind /var/lib/keyway /var/lib/keyway && mount -o remount,bind,rw /var/lib/keyway || exit 111
	mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o mode=0755 tmpfs /home &&
		mount -t tmpfs -o mode=0700 tmpfs /root || exit 111
	ulimit -c 0
	exec setpriv --reuid keyway --regid keyway --clear-groups --no-new-privs \
		--inh-caps=-all --bounding-set=-all -- "$@"' sh "$@"
SH
tracer=""
if command -v strace >/dev/null; then
	strace -f -qq -o "$tmp/trace" bash "$tmp/sandbox.sh" /usr/sbin/keywayd -c "$state" --foreground \
		2>"$tmp/keywayd.log" &
	tracer=$!
else
	bash "$tmp/sandbox.sh" /usr/sbin/keywayd -c "$state" --foreground 2>"$tmp/keywayd.log" &
fi
kd=$!
KW_PIDS="$KW_PIDS $kd"
kw_check "keywayd starts under the unit's restrictions and listens" \
	eval 'kw_wait_port 127.0.0.1 "$port" 20 || { cat "$tmp/keywayd.log"; false; }'
kw_check "it answers /api/v1/health" eval 'curl -sf "http://127.0.0.1:$port/api/v1/health" | grep -q "\"ok\""'
export KEYWAY_URL=http://127.0.0.1:$port
kw_check "the installed keywayctl creates an enrollment token (keywayd writes its database)" \
	eval 'KEYWAY_TOKEN=$TOKEN /usr/bin/keywayctl --json tokens create --user deb-test | grep -q "\"token\": \"kwe_"'
kw_check "and lists it" eval 'KEYWAY_TOKEN=$TOKEN /usr/bin/keywayctl tokens list | grep -q "deb-test"'
kw_check "the database and the signing key belong to keyway, 0600" \
	eval 'mode_is /var/lib/keyway/keyway.db "600 keyway:keyway" && mode_is /var/lib/keyway/signing.key "600 keyway:keyway"'
# Stop keywayd itself (the tracer's child, or the process that became keywayd by exec).
kpid=$kd
[ -n "$tracer" ] && kpid=$(pgrep -P "$tracer" | head -1)
status_is() { grep -q "^$1:[[:space:]]*$2\b" "/proc/$kpid/status" || { grep "^$1:" "/proc/$kpid/status" | sed 's/^/# /'; false; }; }
kw_check "keywayd runs as keyway, with no capability and no new privileges" \
	eval 'status_is Uid "$(id -u keyway)" && status_is CapEff 0000000000000000 && status_is CapBnd 0000000000000000 && status_is NoNewPrivs 1'
kw_check "in the sandbox, the state directory is writable" \
	bash "$tmp/sandbox.sh" /bin/sh -c 'touch /var/lib/keyway/probe && rm /var/lib/keyway/probe'
kw_check "in the sandbox, /etc/keyway, /usr and /var are not" \
	bash "$tmp/sandbox.sh" /bin/sh -c '! touch /etc/keyway/probe 2>/dev/null && ! touch /usr/probe 2>/dev/null && ! touch /var/probe 2>/dev/null'
[ -n "$kpid" ] && kill "$kpid"
wait "$kd"
kw_check "keywayd stopped cleanly on SIGTERM" eval 'grep -q "keywayd stopping" "$tmp/keywayd.log"'

# The unit's SystemCallFilter lines, applied in order (an allow list, then ~ removals).
filter_expand() { # filter_expand NAME: a syscall or @group, expanded to syscalls
	case $1 in
	@*) systemd-analyze syscall-filter "$1" | sed -n 's/^    \([@a-z_0-9-]*\)$/\1/p' |
		while read -r s; do filter_expand "$s"; done ;;
	*) echo "$1" ;;
	esac
}
if [ -n "$tracer" ]; then
	: >"$tmp/allowed"
	while read -r line; do
		v=${line#SystemCallFilter=}
		if [ "${v#\~}" != "$v" ]; then
			for n in ${v#\~}; do filter_expand "$n"; done | sort -u >"$tmp/deny"
			sort -u "$tmp/allowed" | comm -23 - "$tmp/deny" >"$tmp/allowed.new"
		else
			{ cat "$tmp/allowed"; for n in $v; do filter_expand "$n"; done; } | sort -u >"$tmp/allowed.new"
		fi
		mv "$tmp/allowed.new" "$tmp/allowed"
	done < <(grep '^SystemCallFilter=' /lib/systemd/system/keywayd.service)
	# keywayd's own calls: from its execve on (setpriv's setuid and the mounts before are not its).
	sed -n '/execve("\/usr\/sbin\/keywayd"/,$p' "$tmp/trace" | sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' |
		sort -u >"$tmp/used"
	echo "# keywayd made $(wc -l <"$tmp/used") distinct system calls; the unit allows $(wc -l <"$tmp/allowed")"
	kw_check "every system call keywayd made is allowed by keywayd.service's SystemCallFilter" \
		eval 'bad=$(comm -23 "$tmp/used" "$tmp/allowed"); [ -s "$tmp/used" ] && [ -z "$bad" ] ||
			{ echo "$bad" | sed "s/^/# not allowed: /"; false; }'
else
	echo "# strace missing: the system calls were not compared with the unit's filter"
fi
rm -f "$state"
state=""
