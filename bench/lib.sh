# bench/lib.sh: what the benchmarks share, sourced by bench/*.sh (bash).
#
# A script sets PORT's default and calls, in order:
#
#   bench_init PREFIX "$@"    knobs, the --database flag, the temporary
#                             folder $T (/tmp/PREFIX.XXXXXX) and its cleanup
#   bench_need TOOL...        refuse to start without a tool or a program
#   bench_keys                the authority's RSA key and JWKS, a server key
#   bench_config DATABASE     $T/gateway.conf on that store, migrated
#   bench_token ARGS...       an access token of the authority for $TENANT
#   bench_lighttpd_start      lighttpd with apache-conf/lighttpd-jobengine.conf
#                             (and $T/lighttpd-extra.conf, if there is one)
#   bench_wrk NAME URL ARGS   warm-up, then the measured wrk run: $R/NAME.wrk
#   bench_res NAME [other]    "req/s p50 p99 [other]" of it in $R/NAME.res
#
# Environment, for every script: BUILD (build dir, default build/), PORT,
# CONNS (32), DURATION (10s), WARMUP (3s), PROCS (4: lighttpd's max-procs
# per program).
#
# --database postgresql (list.sh and quotas.sh): STORES is "sqlite
# postgresql", and bench_pg_start starts a throwaway PostgreSQL 15 cluster
# (tests/pg.sh), stopped on exit; the script measures each store in turn
# (bench_each_store calls the script's measure STORE) with the same data
# and the same lighttpd configuration.  Without it
# STORES is "sqlite" and nothing of PostgreSQL is touched.

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
PROCS=${PROCS:-4}
TENANT=bench
KID=bench-1

T=
R=
lpid=
tok=
STORES=sqlite
GW_PG_DIR=
GW_PG_URI=

die()
{
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

step()
{
	printf '== %s\n' "$*"
}

admin()
{
	"$BUILD/admin/jobengine-admin" "$@"
}

# bench_init PREFIX ARGS...: ARGS are the script's: --database sqlite (the
# default) or --database postgresql, the latter only where the script
# sets BENCH_PG=yes before sourcing.
bench_init()
{
	local prefix=$1

	shift
	while (( $# > 0 )); do
		case $1 in
		--database)
			(( $# >= 2 )) || die "--database needs sqlite or postgresql"
			case $2 in
			sqlite) STORES=sqlite ;;
			postgresql)
				[ "${BENCH_PG:-no}" = yes ] ||
				    die "--database postgresql: only list.sh and quotas.sh"
				STORES="sqlite postgresql"
				;;
			*) die "--database $2: sqlite or postgresql" ;;
			esac
			shift 2
			;;
		*)
			die "usage: $(basename "$0") [--database postgresql]"
			;;
		esac
	done
	T=$(mktemp -d "/tmp/$prefix.XXXXXX")
	R=$T
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup()
{
	if [ -n "$lpid" ] && kill -0 "$lpid" 2>/dev/null; then
		kill "$lpid"
		wait "$lpid" || true
	fi
	if declare -F bench_cleanup_hook >/dev/null; then
		bench_cleanup_hook
	fi
	if [ -n "$GW_PG_DIR" ]; then
		"$ROOT/tests/pg.sh" stop "$GW_PG_DIR" || true
	fi
	# A SQLite store's DPoP replay table: /dev/shm, named after the
	# database's real path (lib/gw_replay.c).
	if [ -n "$T" ] && [ -f "$T/gateway.db" ]; then
		rm -f "/dev/shm/jobengine-gateway-replay-$(printf %s \
		    "$(realpath "$T/gateway.db")" | sha256sum | cut -c1-16)"
	fi
	rm -rf "$T"
}

# bench_need NAME...: a command on PATH, or a program of the build
# (jobengine-*: $BUILD/cgi-bin, jobengine-admin and tests/*: their place).
bench_need()
{
	local t missing=no

	for t; do
		case $t in
		jobengine-admin) [ -x "$BUILD/admin/$t" ] || missing=yes ;;
		jobengine-*) [ -x "$BUILD/cgi-bin/$t" ] || missing=yes ;;
		tests/*)
			[ -x "$BUILD/$t" ] ||
			    die "no $BUILD/$t: run make $t in $BUILD"
			;;
		*)
			command -v "$t" >/dev/null ||
			    die "needs $t (./dev test installs it)"
			;;
		esac
	done
	[ $missing = no ] || die "no programs in $BUILD: run ./dev build first"
	if [[ " $STORES " == *" postgresql "* ]]; then
		[ -x /usr/lib/postgresql/15/bin/psql ] ||
		    die "--database postgresql needs postgresql-15 (./dev test installs it)"
	fi
}

# ---------------------------------------------------------------- setup

bench_keys()
{
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$T/authority.pem" 2>/dev/null
	admin jwks --key "$T/authority.pem" --kid "$KID" > "$T/jwks.json"
	head -c 32 /dev/urandom > "$T/server.key"
}

# bench_config DATABASE: the gateway's configuration on that store (a
# "database" value), and the store migrated.  The same file name for
# every store, so that lighttpd's configuration does not change.
bench_config()
{
	cat > "$T/gateway.conf" <<EOF
database = $1
server.public_base_url = http://127.0.0.1:$PORT
server.key_file = $T/server.key
auth.issuer = https://authority.local
auth.audiences = stellaops-gateway
auth.jwks_file = $T/jwks.json
# No line per request, like the access logs the floors were measured without.
log.level = warn
EOF
	admin -c "$T/gateway.conf" migrate
}

# bench_each_store: the script's measure STORE for every store of the
# run in turn, each with its results in $T/STORE (R).
bench_each_store()
{
	local s

	for s in $STORES; do
		R=$T/$s
		mkdir -p "$R"
		step "$(bench_store_name "$s")"
		measure "$s"
	done
}

# bench_database STORE: the "database" value of a fresh store of that
# kind: a new SQLite file, or the cluster's database, emptied.
bench_database()
{
	case $1 in
	sqlite)
		rm -f "$T"/gateway.db*
		printf 'sqlite:%s/gateway.db\n' "$T"
		;;
	postgresql)
		bench_psql -c "DROP SCHEMA IF EXISTS jobengine CASCADE"
		printf '%s\n' "$GW_PG_URI"
		;;
	esac
}

# bench_token ARGS...: a token of the authority for $TENANT, sub bench;
# ARGS give at least --scope and --ttl.
bench_token()
{
	admin -c "$T/gateway.conf" token --key "$T/authority.pem" \
	    --kid "$KID" --tenant "$TENANT" --sub bench "$@"
}

# ---------------------------------------------------------------- PostgreSQL

bench_pg_start()
{
	local env

	step "starting a PostgreSQL 15 cluster (tests/pg.sh)"
	env=$("$ROOT/tests/pg.sh" start) || die "tests/pg.sh start failed"
	eval "$env"
}

# bench_psql ARGS...: psql on the cluster's database, in the gateway's
# schema (store.pg_schema, default jobengine).
bench_psql()
{
	PGOPTIONS="-c search_path=jobengine -c client_min_messages=warning" \
	    /usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 \
	    -d "$GW_PG_URI" "$@"
}

# The store's name in a table.
bench_store_name()
{
	case $1 in
	sqlite) printf 'SQLite' ;;
	postgresql) printf 'PostgreSQL' ;;
	esac
}

# ---------------------------------------------------------------- server

# Starts lighttpd in the foreground with the shipped configuration, plus
# $T/lighttpd-extra.conf when the script wrote one, and waits until it
# answers /jobengine/healthz.
bench_lighttpd_start()
{
	mkdir -p "$T/www" "$T/run"
	cat > "$T/lighttpd.conf" <<EOF
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$T/www"
server.errorlog = "$T/error.log"
server.max-keep-alive-requests = 100000

var.jobengine_libexec = "$BUILD/cgi-bin"
var.jobengine_config = "$T/gateway.conf"
var.jobengine_sockdir = "$T/run"
var.jobengine_procs = $PROCS
include "$ROOT/apache-conf/lighttpd-jobengine.conf"
EOF
	if [ -f "$T/lighttpd-extra.conf" ]; then
		cat "$T/lighttpd-extra.conf" >> "$T/lighttpd.conf"
	fi
	lighttpd -tt -f "$T/lighttpd.conf"
	lighttpd -D -f "$T/lighttpd.conf" >> "$T/error.log" 2>&1 &
	lpid=$!
	for _ in $(seq 50); do
		if curl -s -o /dev/null "http://127.0.0.1:$PORT/jobengine/healthz"; then
			# Another server on the port would have answered for
			# us: make sure ours is the one that runs.
			sleep 0.2
			kill -0 "$lpid" 2>/dev/null && return 0
			break
		fi
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/error.log" >&2 || true
	die "lighttpd did not start"
}

bench_lighttpd_stop()
{
	kill "$lpid"
	wait "$lpid" || true
	lpid=
}

# bench_get URL FILE: fetch with the token, fail unless 200.
bench_get()
{
	local code

	code=$(curl -s -o "$2" -w '%{http_code}' \
	    -H "Authorization: Bearer $tok" -H "X-Stella-Tenant: $TENANT" "$1")
	if [ "$code" != 200 ]; then
		head -c 2000 "$2" >&2 || true
		printf '\n' >&2
		die "GET $1: status $code, not 200"
	fi
}

# ---------------------------------------------------------------- load

# bench_wrk NAME URL [WRK-ARGS...]: wrk -t2 at $CONNS connections with the
# token, $WARMUP unmeasured, then $DURATION with --latency into $R/NAME.wrk.
bench_wrk()
{
	local name=$1 url=$2

	shift 2
	step "wrk $name"
	wrk -t2 -c"$CONNS" -d"$WARMUP" "$@" -H "Authorization: Bearer $tok" \
	    -H "X-Stella-Tenant: $TENANT" "$url" > /dev/null
	wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$@" \
	    -H "Authorization: Bearer $tok" -H "X-Stella-Tenant: $TENANT" \
	    "$url" > "$R/$name.wrk"
}

# bench_res NAME [other]: "req/s p50 p99" (ms) of $R/NAME.wrk into
# $R/NAME.res; with "other", a fourth field: the responses neither 2xx nor
# 412 that a status-counting script (quotas.sh) wrote as "status N: COUNT".
bench_res()
{
	awk -v other="${2:-}" '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return v * 1000
		return v
	}
	$1 == "Requests/sec:" { r = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	$1 == "status" && ($2 + 0 < 200 || $2 + 0 > 299) && $2 + 0 != 412 {
		o += $3
	}
	END {
		if (other != "")
			printf "%s %s %s %d\n", r, p50, p99, o
		else
			printf "%s %s %s\n", r, p50, p99
	}' "$R/$1.wrk" > "$R/$1.res"
}

# bench_compare NAME=LABEL...: with two stores, the PostgreSQL/SQLite ratio
# of req/s, p50 and p99 of each run NAME ($T/sqlite/NAME.res against
# $T/postgresql/NAME.res).
bench_compare()
{
	local pair name label

	printf '\n%-40s %10s %9s %9s\n' "PostgreSQL / SQLite" "req/s" \
	    "p50" "p99"
	for pair; do
		name=${pair%%=*}
		label=${pair#*=}
		paste -d ' ' "$T/sqlite/$name.res" "$T/postgresql/$name.res" |
		    awk -v l="$label" '{
			n = NF / 2
			printf "%-40s %10.2f %9.2f %9.2f\n", l,
			    $(n + 1) / $1, $(n + 2) / $2, $(n + 3) / $3
		}'
	done
}

# bench_compare_one LABEL SQLITE PG [FORMAT]: one derived figure of each
# store and their ratio.
bench_compare_one()
{
	awk -v l="$1" -v s="$2" -v p="$3" -v f="${4:-%.2f}" 'BEGIN {
		printf "%-40s SQLite " f ", PostgreSQL " f ": %.2f\n", l, s, p,
		    s != 0 ? p / s : 0
	}'
}
