#!/usr/bin/env bash
#
# bench/list.sh: GET /jobengine/sources with 100 000 sources in one tenant,
# first page against a page 1 000 pages deep, and against the FastCGI floor
# (bench/floor.c) behind the same lighttpd, all in one run.  See
# bench/README.md for what the figures mean and the targets.
#
# Needs a build in build/ (./dev build).  Environment: BUILD (build dir),
# PORT (18480), ROWS (100000), DEPTH (1000), CONNS (32), DURATION (10s),
# WARMUP (3s), PROCS (4).

set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
PORT=${PORT:-18480}
ROWS=${ROWS:-100000}
DEPTH=${DEPTH:-1000}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
PROCS=${PROCS:-4}
LIMIT=50
TENANT=bench
KID=bench-1

die()
{
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

for t in lighttpd wrk curl python3 openssl cc awk; do
	command -v "$t" >/dev/null || die "needs $t (./dev test installs it)"
done
[ -x "$BUILD/cgi-bin/jobengine-sources" ] && [ -x "$BUILD/admin/jobengine-admin" ] ||
    die "no programs in $BUILD: run ./dev build first"
(( ROWS >= LIMIT * DEPTH )) || die "ROWS must be at least $((LIMIT * DEPTH))"

T=$(mktemp -d /tmp/jobengine-bench.XXXXXX)
lpid=

cleanup()
{
	if [ -n "$lpid" ] && kill -0 "$lpid" 2>/dev/null; then
		kill "$lpid"
		wait "$lpid" || true
	fi
	if [ -n "${TOKENS_PID:-}" ]; then
		kill "$TOKENS_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

admin()
{
	"$BUILD/admin/jobengine-admin" "$@"
}

step()
{
	printf '== %s\n' "$*"
}

# ---------------------------------------------------------------- setup

step "setup in $T"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/authority.pem" 2>/dev/null
admin jwks --key "$T/authority.pem" --kid "$KID" > "$T/jwks.json"
head -c 32 /dev/urandom > "$T/server.key"
cat > "$T/gateway.conf" <<EOF
database = sqlite:$T/gateway.db
server.public_base_url = http://127.0.0.1:$PORT
server.key_file = $T/server.key
auth.issuer = https://authority.local
auth.audiences = stellaops-gateway
auth.jwks_file = $T/jwks.json
# No line per request, like the access logs the floors were measured without.
log.level = warn
EOF
admin -c "$T/gateway.conf" migrate

# Names are a permutation of the ids (7919 is prime to 10^5 and to any ROWS
# not divisible by 7919), so the (name, sourceId) order is not insertion
# order, as with real data.
step "generating and importing $ROWS sources"
awk -v n="$ROWS" -v t="$TENANT" 'BEGIN {
	split("schedule feed vex", types, " ")
	for (i = 0; i < n; i++) {
		printf "{\"kind\": \"source\", \"sourceId\": \"src-%07d\", " \
		    "\"tenantId\": \"%s\", \"projectId\": null, " \
		    "\"name\": \"source-%07d\", \"sourceType\": \"%s\", " \
		    "\"enabled\": %s, \"paused\": false, \"pauseReason\": null, " \
		    "\"createdAt\": \"2026-01-01T00:00:00Z\", " \
		    "\"updatedAt\": \"2026-01-02T00:00:00Z\"}\n",
		    i, t, (i * 7919) % n, types[i % 3 + 1],
		    i % 10 ? "true" : "false"
	}
}' > "$T/sources.ndjson"
time admin -c "$T/gateway.conf" import "$T/sources.ndjson"

tok=$(admin -c "$T/gateway.conf" token --key "$T/authority.pem" --kid "$KID" \
    --tenant "$TENANT" --scope "orch:read" --sub bench --ttl 3600)

cc -O2 -Wall -Wextra -o "$T/floor" "$ROOT/bench/floor.c" -lfcgi

# ---------------------------------------------------------------- server

start_lighttpd()
{
	local floor_bytes=$1

	mkdir -p "$T/www" "$T/run"
	cat > "$T/lighttpd.conf" <<EOF
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$T/www"
server.errorlog = "$T/error.log"
server.max-keep-alive-requests = 100000
server.modules = ( "mod_fastcgi" )

var.jobengine_libexec = "$BUILD/cgi-bin"
var.jobengine_config = "$T/gateway.conf"
var.jobengine_sockdir = "$T/run"
var.jobengine_procs = $PROCS
include "$ROOT/apache-conf/lighttpd-jobengine.conf"

\$HTTP["url"] =~ "^/floor(/|\$)" {
	fastcgi.server = (
		"/floor" => ((
			"bin-path" => "$T/floor",
			"socket" => "$T/run/floor.sock",
			"check-local" => "disable",
			"max-procs" => $PROCS,
			"bin-environment" => ( "FLOOR_BYTES" => "$floor_bytes" ),
		)),
	)
}
EOF
	lighttpd -tt -f "$T/lighttpd.conf"
	lighttpd -D -f "$T/lighttpd.conf" >> "$T/error.log" 2>&1 &
	lpid=$!
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/jobengine/healthz" &&
		    return 0
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/error.log" >&2 || true
	die "lighttpd did not start"
}

stop_lighttpd()
{
	kill "$lpid"
	wait "$lpid" || true
	lpid=
}

# get URL FILE: fetch with the token, fail unless 200.
get()
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

# One python3 for the whole walk (a start per page would cost more than the
# walk itself): it reads a page's file name, answers its continuationToken.
coproc TOKENS {
	python3 -c 'import json, sys
for path in sys.stdin:
    t = json.load(open(path.rstrip("\n")))["continuationToken"]
    print(t if t else "", flush=True)'
}

next_token()
{
	local ct

	printf '%s\n' "$1" >&"${TOKENS[1]}"
	IFS= read -r ct <&"${TOKENS[0]}" || die "reading $1 failed"
	printf '%s' "$ct"
}

base=http://127.0.0.1:$PORT

# The floor's body must be as large as the first page, which we learn by
# fetching it: start once for that (the floor gets a placeholder size) and
# again with the real size.
start_lighttpd 1024
first_url="$base/jobengine/sources?limit=$LIMIT"
get "$first_url" "$T/page-1.json"
bytes=$(stat -c %s "$T/page-1.json")
stop_lighttpd
start_lighttpd "$bytes"

step "walking $DEPTH pages of $LIMIT"
t0=$SECONDS
url=$first_url
for ((i = 1; i < DEPTH; i++)); do
	get "$url" "$T/page.json"
	ct=$(next_token "$T/page.json")
	[ -n "$ct" ] || die "no continuationToken after page $i"
	url="$base/jobengine/sources?limit=$LIMIT&continuationToken=$ct"
done
deep_url=$url
get "$deep_url" "$T/page-deep.json"
printf 'walk took %ss; page %d is %s bytes, page 1 is %s bytes\n' \
    $((SECONDS - t0)) "$DEPTH" "$(stat -c %s "$T/page-deep.json")" "$bytes"
python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))["items"]
b = json.load(open(sys.argv[2]))["items"]
assert len(a) == len(b) == int(sys.argv[3]), "short page"
print("page 1 starts at", a[0]["name"], "; deep page starts at", b[0]["name"])' \
    "$T/page-1.json" "$T/page-deep.json" "$LIMIT"
get "$base/floor" "$T/floor.json"
[ "$(stat -c %s "$T/floor.json")" = "$bytes" ] || die "floor body size mismatch"

# ---------------------------------------------------------------- load

# load NAME URL: wrk at $CONNS connections after a warm-up; leaves
# "reqs p50 p99" (ms) in $T/NAME.res.
load()
{
	local name=$1 url=$2 out=$T/$1.wrk

	step "wrk $name"
	wrk -t2 -c"$CONNS" -d"$WARMUP" -H "Authorization: Bearer $tok" \
	    -H "X-Stella-Tenant: $TENANT" "$url" > /dev/null
	wrk -t2 -c"$CONNS" -d"$DURATION" --latency \
	    -H "Authorization: Bearer $tok" -H "X-Stella-Tenant: $TENANT" \
	    "$url" > "$out"
	cat "$out"
	if grep -q 'Non-2xx or 3xx' "$out"; then
		die "$name: wrk saw non-2xx responses"
	fi
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return v * 1000
		return v
	}
	$1 == "Requests/sec:" { r = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	END { printf "%s %s %s\n", r, p50, p99 }' "$out" > "$T/$name.res"
}

load first "$first_url"
load deep "$deep_url"
load floor "$base/floor"

# Peak RSS of the largest jobengine-sources process, read before lighttpd
# stops it.
rss=0
for p in $(pgrep -P "$lpid" || true); do
	[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = \
	    "$(readlink -f "$BUILD/cgi-bin/jobengine-sources")" ] || continue
	kb=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$p/status")
	if (( kb > rss )); then
		rss=$kb
	fi
done
stop_lighttpd

# ---------------------------------------------------------------- report

printf '\n%-34s %10s %9s %9s\n' "GET (c$CONNS, $DURATION)" "req/s" "p50 ms" "p99 ms"
for n in first deep floor; do
	read -r r p50 p99 < "$T/$n.res"
	case $n in
	first) label="sources, page 1" ;;
	deep) label="sources, page $DEPTH" ;;
	floor) label="floor ($bytes-byte fixed body)" ;;
	esac
	printf '%-34s %10s %9s %9s\n' "$label" "$r" "$p50" "$p99"
done
read -r rf _ < "$T/first.res"
read -r rd _ < "$T/deep.res"
read -r rl _ < "$T/floor.res"
awk -v f="$rf" -v d="$rd" -v l="$rl" -v rss="$rss" 'BEGIN {
	dr = d / f
	fr = f / l
	printf("\ndeep/first req/s:    %.2f  (target >= 0.83: deep within 1.2x) %s\n",
	    dr, (dr >= 1 / 1.2) ? "met" : "NOT met")
	printf("sources/floor req/s: %.2f  (target >= 0.60) %s\n",
	    fr, (fr >= 0.6) ? "met" : "NOT met")
	printf("peak RSS of one jobengine-sources process (VmHWM): %d KiB\n", rss)
}'
