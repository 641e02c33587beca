#!/bin/bash
# Reusable OpenLDAP test directory: a real Debian slapd, run as a child of the test in the
# foreground on a free loopback port, with a throwaway slapd.conf, the fixture directory of
# tests/fixtures/ldap/ (people, groups, ppolicy), and optionally a throwaway CA for TLS.
# Never touches the system slapd service or /etc/ldap/slapd.d.
#
# From bash (source it; tests/integration/lib.sh is sourced too):
#   . "$top_srcdir/tests/integration/ldap/slapd.sh"
#   kwl_slapd_prepare DIR [--tls] [--users N]   # config + database (+ CA, certs) in DIR
#   kwl_slapd_start                            # starts slapd (kw_spawn), waits for the port
#   ...                                        # use the variables below
#   kwl_slapd_stop / kwl_slapd_start           # stop / start again on the same port and data
#   kwl_ldapmodify < file.ldif                 # change the directory as the rootdn
#   kw_cleanup                                 # kills slapd with every other child
#
# From any other language (Python, node): prepare, then run slapd as YOUR child:
#   tests/integration/ldap/slapd.sh prepare DIR [--tls] [--users N]
#   tests/integration/ldap/slapd.sh exec DIR    # execs slapd in the foreground; kill it to stop
#   DIR/env then holds the variables below as KEY=VALUE lines (shell and python friendly).
#
# Variables (also in DIR/env):
#   KWL_LDAP_URI        ldap://127.0.0.1:PORT         KWL_LDAP_PORT
#   KWL_LDAPS_URI       ldaps://127.0.0.1:PORT2 (--tls only; StartTLS also works on KWL_LDAP_URI)
#   KWL_LDAP_CA         PEM file of the throwaway CA (--tls only)
#   KWL_LDAP_BASE       dc=example,dc=com             KWL_LDAP_USER_BASE ou=people,dc=example,dc=com
#   KWL_LDAP_ROOTDN / KWL_LDAP_ROOTPW                 the directory manager (cn=admin / secret)
#   KWL_LDAP_BINDDN / KWL_LDAP_BINDPW                 keywayd's service account
#   KWL_LDAP_BINDPW_FILE                              0600 file holding that password
#   KWL_LDAP_LIMITED_BINDDN  a service account (same password) whose searches stop at 60 entries
#   KWL_LDAP_VPN_GROUP / KWL_LDAP_ADMIN_GROUP         cn=vpn-users / cn=vpn-admins DNs
# Every fixture person's password is Passw0rd! (see tests/fixtures/ldap/base.ldif).
# slapd allows at most 50 entries per plain search (so large searches need paged results).

KWL_SLAPD_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KWL_FIXTURES=${KWL_FIXTURES:-$KWL_SLAPD_SH_DIR/../../fixtures/ldap}
KWL_SLAPD_BIN=${KWL_SLAPD_BIN:-/usr/sbin/slapd}
KWL_SLAPADD_BIN=${KWL_SLAPADD_BIN:-/usr/sbin/slapadd}
KWL_SLAPD_DIR=""
KWL_SLAPD_PID=""

_kwl_free_port() {
	python3 "$KWL_SLAPD_SH_DIR/../kwtest.py" free-port
}

# Throwaway CA and a server certificate for 127.0.0.1/localhost, both valid for a day.
_kwl_make_ca() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=Keyway test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 1 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null || return 1
	# A second CA that signed nothing: clients given it must refuse the server.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=Keyway wrong CA" -keyout "$d/wrong-ca.key" -out "$d/wrong-ca.pem" 2>/dev/null || return 1
	chmod 0600 "$d"/*.key
}

kwl_slapd_prepare() { # kwl_slapd_prepare DIR [--tls] [--users N]
	local d=$1 tls=0 users=0 port port2="" tlsconf=""
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--tls) tls=1 ;;
		--users) users=$2; shift ;;
		*) echo "kwl_slapd_prepare: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	mkdir -p "$d/db" || return 1
	d=$(cd "$d" && pwd)
	port=$(_kwl_free_port)
	if [ $tls = 1 ]; then
		_kwl_make_ca "$d" || { echo "kwl_slapd_prepare: cannot make the test CA" >&2; return 1; }
		port2=$(_kwl_free_port)
		tlsconf="TLSCACertificateFile $d/ca.pem
TLSCertificateFile $d/server.pem
TLSCertificateKeyFile $d/server.key"
	fi
	cat >"$d/slapd.conf" <<EOF
# Throwaway slapd.conf written by tests/integration/ldap/slapd.sh
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
include $KWL_FIXTURES/keyway-test.schema
pidfile $d/slapd.pid
argsfile $d/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload memberof
$tlsconf
# Small limits on purpose: searches over 50 entries must use paged results (RFC 2696).
sizelimit size.soft=50 size.hard=50 size.prtotal=unlimited
timelimit 30

database mdb
maxsize 1073741824
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory $d/db
index objectClass eq
index uid eq
index member,uniqueMember,memberUid eq
limits dn.exact="cn=keyway-limited,ou=services,dc=example,dc=com" size.soft=50 size.hard=50 size.prtotal=60
overlay memberof
memberof-refint TRUE
overlay ppolicy
ppolicy_default "cn=default,ou=policies,dc=example,dc=com"
ppolicy_use_lockout
access to attrs=userPassword
	by anonymous auth
	by * none
access to attrs=keywayWireguardKey
	by dn.exact="cn=keyway,ou=services,dc=example,dc=com" write
	by * read
access to *
	by dn.exact="cn=keyway,ou=services,dc=example,dc=com" read
	by dn.exact="cn=keyway-limited,ou=services,dc=example,dc=com" read
	by self read
	by * none
EOF
	python3 "$KWL_FIXTURES/gen_ldif.py" --users "$users" "$KWL_FIXTURES/base.ldif" >"$d/directory.ldif" || return 1
	"$KWL_SLAPADD_BIN" -q -f "$d/slapd.conf" -l "$d/directory.ldif" >"$d/slapadd.log" 2>&1 ||
		{ cat "$d/slapadd.log" >&2; return 1; }
	printf '%s' 'keyway-service-secret' >"$d/bind.secret"
	chmod 0600 "$d/bind.secret"
	{
		echo "KWL_LDAP_PORT=$port"
		echo "KWL_LDAP_URI=ldap://127.0.0.1:$port"
		if [ $tls = 1 ]; then
			echo "KWL_LDAPS_URI=ldaps://127.0.0.1:$port2"
			echo "KWL_LDAPS_PORT=$port2"
			echo "KWL_LDAP_CA=$d/ca.pem"
			echo "KWL_LDAP_WRONG_CA=$d/wrong-ca.pem"
		fi
		echo "KWL_LDAP_BASE=dc=example,dc=com"
		echo "KWL_LDAP_USER_BASE=ou=people,dc=example,dc=com"
		echo "KWL_LDAP_ROOTDN=cn=admin,dc=example,dc=com"
		echo "KWL_LDAP_ROOTPW=secret"
		echo "KWL_LDAP_BINDDN=cn=keyway,ou=services,dc=example,dc=com"
		echo "KWL_LDAP_BINDPW=keyway-service-secret"
		echo "KWL_LDAP_BINDPW_FILE=$d/bind.secret"
		echo "KWL_LDAP_LIMITED_BINDDN=cn=keyway-limited,ou=services,dc=example,dc=com"
		echo "KWL_LDAP_VPN_GROUP=cn=vpn-users,ou=groups,dc=example,dc=com"
		echo "KWL_LDAP_ADMIN_GROUP=cn=vpn-admins,ou=groups,dc=example,dc=com"
	} >"$d/env"
	local urls="ldap://127.0.0.1:$port/"
	[ $tls = 1 ] && urls="$urls ldaps://127.0.0.1:$port2/"
	echo "$urls" >"$d/urls"
	KWL_SLAPD_DIR=$d
	set -a
	# shellcheck disable=SC1091
	. "$d/env"
	set +a
}

# exec slapd in the foreground (for callers in other languages).
_kwl_slapd_exec() {
	local d=$1
	exec "$KWL_SLAPD_BIN" -d 0 -f "$d/slapd.conf" -h "$(cat "$d/urls")"
}

kwl_slapd_start() { # start slapd of the prepared directory; waits until it answers
	local i
	[ -n "$KWL_SLAPD_DIR" ] || { echo "kwl_slapd_start: call kwl_slapd_prepare first" >&2; return 1; }
	"$KWL_SLAPD_BIN" -d 0 -f "$KWL_SLAPD_DIR/slapd.conf" -h "$(cat "$KWL_SLAPD_DIR/urls")" \
		>>"$KWL_SLAPD_DIR/slapd.log" 2>&1 &
	KWL_SLAPD_PID=$!
	KW_PIDS="${KW_PIDS:-} $KWL_SLAPD_PID"
	for i in $(seq 200); do
		if ldapsearch -x -LLL -H "$KWL_LDAP_URI" -D "$KWL_LDAP_BINDDN" -w "$KWL_LDAP_BINDPW" \
			-b "$KWL_LDAP_BASE" -s base dn >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$KWL_SLAPD_PID" 2>/dev/null; then
			echo "kwl_slapd_start: slapd exited:" >&2; tail -5 "$KWL_SLAPD_DIR/slapd.log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "kwl_slapd_start: slapd did not answer in 10 s" >&2
	return 1
}

kwl_slapd_stop() { # stop slapd (the data stays for a later kwl_slapd_start)
	[ -n "$KWL_SLAPD_PID" ] || return 0
	kill "$KWL_SLAPD_PID" 2>/dev/null
	wait "$KWL_SLAPD_PID" 2>/dev/null
	KW_PIDS=$(echo "${KW_PIDS:-}" | tr ' ' '\n' | grep -vx "$KWL_SLAPD_PID" | tr '\n' ' ')
	KWL_SLAPD_PID=""
}

kwl_ldapmodify() { # LDIF on stdin, applied as the rootdn
	ldapmodify -x -H "$KWL_LDAP_URI" -D "$KWL_LDAP_ROOTDN" -w "$KWL_LDAP_ROOTPW" >/dev/null
}

kwl_ldapsearch() { # kwl_ldapsearch ARGS... ; as the rootdn, -LLL
	ldapsearch -x -LLL -o ldif-wrap=no -H "$KWL_LDAP_URI" -D "$KWL_LDAP_ROOTDN" -w "$KWL_LDAP_ROOTPW" "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	prepare) shift; d=$1; kwl_slapd_prepare "$@" && cat "$d/env" ;;
	exec) _kwl_slapd_exec "$(cd "$2" && pwd)" ;;
	*) echo "usage: $0 prepare DIR [--tls] [--users N] | exec DIR" >&2; exit 2 ;;
	esac
fi
