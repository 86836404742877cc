#!/usr/bin/env bash
#
# bench/list.sh: GET /jobengine/sources with 100 000 sources in one tenant,
# first page against a page 1 000 pages deep, and against the FastCGI floor
# (bench/floor.c) behind the same lighttpd, all in one run.  See
# bench/README.md for what the figures mean and the targets.
#
# Usage: bench/list.sh [--database postgresql]
#
# With --database postgresql it also starts a throwaway PostgreSQL 15
# cluster (tests/pg.sh) and measures everything again with the same data
# and the same lighttpd configuration on it, then prints both tables and
# the PostgreSQL/SQLite ratio of each figure; the cluster is stopped at
# the end.
#
# Needs a build in build/ (./dev build).  Environment: BUILD (build dir),
# PORT (18480), ROWS (100000), DEPTH (1000), CONNS (32), DURATION (10s),
# WARMUP (3s), PROCS (4).  The shared set-up is in bench/lib.sh.

set -euo pipefail

PORT=${PORT:-18480}
BENCH_PG=yes
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ROWS=${ROWS:-100000}
DEPTH=${DEPTH:-1000}
LIMIT=50

bench_init jobengine-bench "$@"
bench_need lighttpd wrk curl python3 openssl cc awk \
    jobengine-sources jobengine-admin
(( ROWS >= LIMIT * DEPTH )) || die "ROWS must be at least $((LIMIT * DEPTH))"

bench_cleanup_hook()
{
	if [ -n "${TOKENS_PID:-}" ]; then
		kill "$TOKENS_PID" 2>/dev/null || true
	fi
}

# ---------------------------------------------------------------- setup

step "setup in $T"
bench_keys
[ "$STORES" = sqlite ] || bench_pg_start

# Names are a permutation of the ids (7919 is prime to 10^5 and to any ROWS
# not divisible by 7919), so the (name, sourceId) order is not insertion
# order, as with real data.
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

cc -O2 -Wall -Wextra -o "$T/floor" "$ROOT/bench/floor.c" -lfcgi

# ---------------------------------------------------------------- server

# The floor beside the gateway's programs, its body floor_bytes long.
floor_conf()
{
	cat > "$T/lighttpd-extra.conf" <<EOF

\$HTTP["url"] =~ "^/floor(/|\$)" {
	fastcgi.server = (
		"/floor" => ((
			"bin-path" => "$T/floor",
			"socket" => "$T/run/floor.sock",
			"check-local" => "disable",
			"max-procs" => $PROCS,
			"bin-environment" => ( "FLOOR_BYTES" => "$1" ),
		)),
	)
}
EOF
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

# ---------------------------------------------------------------- load

# load NAME URL: wrk after a warm-up; leaves "reqs p50 p99" (ms) in
# $R/NAME.res.
load()
{
	bench_wrk "$1" "$2"
	cat "$R/$1.wrk"
	if grep -q 'Non-2xx or 3xx' "$R/$1.wrk"; then
		die "$1: wrk saw non-2xx responses"
	fi
	bench_res "$1"
}

# measure STORE: import, walk and load on that store; results in $R.
measure()
{
	local db

	db=$(bench_database "$1")
	bench_config "$db"
	step "generating and importing $ROWS sources"
	time admin -c "$T/gateway.conf" import "$T/sources.ndjson"
	tok=$(bench_token --scope "orch:read" --ttl 3600)

	# The floor's body must be as large as the first page, which we
	# learn by fetching it: start once for that (the floor gets a
	# placeholder size) and again with the real size.
	floor_conf 1024
	bench_lighttpd_start
	first_url="$base/jobengine/sources?limit=$LIMIT"
	bench_get "$first_url" "$T/page-1.json"
	bytes=$(stat -c %s "$T/page-1.json")
	echo "$bytes" > "$R/bytes"
	bench_lighttpd_stop
	floor_conf "$bytes"
	bench_lighttpd_start

	step "walking $DEPTH pages of $LIMIT"
	t0=$SECONDS
	url=$first_url
	for ((i = 1; i < DEPTH; i++)); do
		bench_get "$url" "$T/page.json"
		ct=$(next_token "$T/page.json")
		[ -n "$ct" ] || die "no continuationToken after page $i"
		url="$base/jobengine/sources?limit=$LIMIT&continuationToken=$ct"
	done
	deep_url=$url
	bench_get "$deep_url" "$T/page-deep.json"
	printf 'walk took %ss; page %d is %s bytes, page 1 is %s bytes\n' \
	    $((SECONDS - t0)) "$DEPTH" "$(stat -c %s "$T/page-deep.json")" \
	    "$bytes"
	python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))["items"]
b = json.load(open(sys.argv[2]))["items"]
assert len(a) == len(b) == int(sys.argv[3]), "short page"
print("page 1 starts at", a[0]["name"], "; deep page starts at", b[0]["name"])' \
	    "$T/page-1.json" "$T/page-deep.json" "$LIMIT"
	bench_get "$base/floor" "$T/floor.json"
	[ "$(stat -c %s "$T/floor.json")" = "$bytes" ] ||
	    die "floor body size mismatch"

	load first "$first_url"
	load deep "$deep_url"
	load floor "$base/floor"

	# Peak RSS of the largest jobengine-sources process, read before
	# lighttpd stops it.
	rss=0
	for p in $(pgrep -P "$lpid" || true); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = \
		    "$(readlink -f "$BUILD/cgi-bin/jobengine-sources")" ] ||
		    continue
		kb=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$p/status")
		if (( kb > rss )); then
			rss=$kb
		fi
	done
	echo "$rss" > "$R/rss"
	bench_lighttpd_stop
}

# ---------------------------------------------------------------- report

# report: the table and the targets of the store measured into $R.
report()
{
	local n label r p50 p99 rf rd rl bytes rss

	read -r bytes < "$R/bytes"
	read -r rss < "$R/rss"
	printf '\n%-34s %10s %9s %9s\n' "GET (c$CONNS, $DURATION)" "req/s" \
	    "p50 ms" "p99 ms"
	for n in first deep floor; do
		read -r r p50 p99 < "$R/$n.res"
		case $n in
		first) label="sources, page 1" ;;
		deep) label="sources, page $DEPTH" ;;
		floor) label="floor ($bytes-byte fixed body)" ;;
		esac
		printf '%-34s %10s %9s %9s\n' "$label" "$r" "$p50" "$p99"
	done
	read -r rf _ < "$R/first.res"
	read -r rd _ < "$R/deep.res"
	read -r rl _ < "$R/floor.res"
	awk -v f="$rf" -v d="$rd" -v l="$rl" -v rss="$rss" 'BEGIN {
		dr = d / f
		fr = f / l
		printf("\ndeep/first req/s:    %.2f  (target >= 0.83: deep within 1.2x) %s\n",
		    dr, (dr >= 1 / 1.2) ? "met" : "NOT met")
		printf("sources/floor req/s: %.2f  (target >= 0.60) %s\n",
		    fr, (fr >= 0.6) ? "met" : "NOT met")
		printf("peak RSS of one jobengine-sources process (VmHWM): %d KiB\n", rss)
	}'
}

if [ "$STORES" = sqlite ]; then
	measure sqlite
	report
	exit 0
fi

bench_each_store
for s in $STORES; do
	R=$T/$s
	printf '\n---- %s\n' "$(bench_store_name "$s")"
	report
done
bench_compare first="sources, page 1" deep="sources, page $DEPTH" \
    floor="floor (fixed body)"
ratio()
{
	awk '{ r[NR] = $1 } END { printf "%.4f\n", r[1] / r[2] }' \
	    "$T/$1/$2.res" "$T/$1/$3.res"
}
echo
bench_compare_one "deep/first req/s" "$(ratio sqlite deep first)" \
    "$(ratio postgresql deep first)"
bench_compare_one "sources/floor req/s" "$(ratio sqlite first floor)" \
    "$(ratio postgresql first floor)"
bench_compare_one "peak RSS (KiB)" "$(cat "$T/sqlite/rss")" \
    "$(cat "$T/postgresql/rss")" %d
