#!/usr/bin/env bash
#
# bench/dpop.sh: GET /jobengine/sources?limit=50 authenticated with Bearer
# and with DPoP (RFC 9449: a bound token and a fresh ES256 proof on every
# request, each proof written to the replay record), through lighttpd with
# the shipped configuration, in one run.  Prints both req/s and the ratio.
#
# Needs a build in build/ with tests/mint_dpop (./dev build, then
# make tests/mint_dpop in the build dir).  Environment: BUILD (build dir),
# PORT (18481), ROWS (1000), CONNS (32), DURATION (10s), WARMUP (3s),
# PROCS (4).  SQLite only (the store of one machine, whose replay records
# are a table in shared memory, lib/gw_replay.c): no --database flag.  The
# shared set-up is in bench/lib.sh.

set -euo pipefail

PORT=${PORT:-18481}
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ROWS=${ROWS:-1000}
LIMIT=50
THREADS=2

bench_init jobengine-bench-dpop "$@"
bench_need lighttpd wrk curl openssl awk \
    jobengine-sources jobengine-admin tests/mint_dpop

secs()
{
	case $1 in
	*m) echo $(( ${1%m} * 60 )) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

# ---------------------------------------------------------------- setup

step "setup in $T"
bench_keys
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/client.pem" 2>/dev/null
base=http://127.0.0.1:$PORT
bench_config "sqlite:$T/gateway.db"

awk -v n="$ROWS" -v t="$TENANT" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"kind\": \"source\", \"sourceId\": \"src-%07d\", " \
		    "\"tenantId\": \"%s\", \"projectId\": null, " \
		    "\"name\": \"source-%07d\", \"sourceType\": \"feed\", " \
		    "\"enabled\": true, \"paused\": false, \"pauseReason\": null, " \
		    "\"createdAt\": \"2026-01-01T00:00:00Z\", " \
		    "\"updatedAt\": \"2026-01-02T00:00:00Z\"}\n", i, t, i
}' > "$T/sources.ndjson"
admin -c "$T/gateway.conf" import "$T/sources.ndjson" >/dev/null

jkt=$("$BUILD/tests/mint_dpop" -j "$T/client.pem")
bearer=$(bench_token --scope orch:read --ttl 3600)
bound=$(bench_token --scope orch:read --ttl 3600 --cnf-jkt "$jkt")
url="$base/jobengine/sources?limit=$LIMIT"
htu="$base/jobengine/sources"

# One proof per request, each thread taking every THREADS-th line, so no
# proof is sent twice; a thread that runs out sends a junk proof, which
# shows up as non-2xx and stops the script.  The Bearer runs go through
# the same script without proofs, so both pay the same client cost.
cat > "$T/dpop.lua" <<'EOF'
local n = 0
function setup(thread)
	thread:set("tid", n)
	n = n + 1
end
function init(args)
	proofs = nil
	local path = os.getenv("DPOP_PROOFS")
	if path == nil or path == "" then
		return
	end
	proofs = {}
	local i = 0
	for line in io.lines(path) do
		if i % tonumber(os.getenv("DPOP_THREADS")) == tid then
			proofs[#proofs + 1] = line
		end
		i = i + 1
	end
	next_proof = 0
end
function request()
	if proofs == nil then
		return wrk.format()
	end
	next_proof = next_proof + 1
	wrk.headers["DPoP"] = proofs[next_proof] or "exhausted"
	return wrk.format()
end
EOF

# ---------------------------------------------------------------- server

bench_lighttpd_start

# Both schemes must answer 200 before any load.
code=$(curl -s -o "$T/bearer.json" -w '%{http_code}' \
    -H "Authorization: Bearer $bearer" -H "X-Stella-Tenant: $TENANT" "$url")
[ "$code" = 200 ] || die "Bearer GET: $code $(head -c 500 "$T/bearer.json")"
proof=$("$BUILD/tests/mint_dpop" "$T/client.pem" GET "$htu" "$bound")
code=$(curl -s -o "$T/dpop.json" -w '%{http_code}' \
    -H "Authorization: DPoP $bound" -H "DPoP: $proof" \
    -H "X-Stella-Tenant: $TENANT" "$url")
[ "$code" = 200 ] || die "DPoP GET: $code $(head -c 500 "$T/dpop.json")"
code=$(curl -s -o "$T/dpop.json" -w '%{http_code}' \
    -H "Authorization: DPoP $bound" -H "DPoP: $proof" \
    -H "X-Stella-Tenant: $TENANT" "$url")
[ "$code" = 401 ] || die "DPoP replay: $code, not 401"
cmp -s "$T/bearer.json" "$T/dpop.json" && die "replay answered the page"

# ---------------------------------------------------------------- load

# res NAME: "reqs p50 p99" (ms) of $T/NAME.wrk, after checking all were 2xx.
res()
{
	cat "$T/$1.wrk"
	if grep -q 'Non-2xx or 3xx' "$T/$1.wrk"; then
		die "$1: wrk saw non-2xx responses"
	fi
	bench_res "$1"
}

step "wrk Bearer"
DPOP_PROOFS= wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$T/dpop.lua" \
    -H "Authorization: Bearer $bearer" -H "X-Stella-Tenant: $TENANT" \
    "$url" > /dev/null
DPOP_PROOFS= wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
    -s "$T/dpop.lua" -H "Authorization: Bearer $bearer" \
    -H "X-Stella-Tenant: $TENANT" "$url" > "$T/bearer.wrk"
res bearer

# As many proofs as Bearer would serve in the run, plus half, made just
# before they are used (a proof is good for 60 s after its iat).  The
# processes are warm from the Bearer runs.
read -r rb _ < "$T/bearer.res"
n=$(awk -v r="$rb" -v d="$(secs "$DURATION")" \
    'BEGIN { printf "%d", r * d * 1.5 + 1000 }')
step "minting $n ES256 proofs"
t0=$(date +%s.%N)
"$BUILD/tests/mint_dpop" "$T/client.pem" GET "$htu" "$bound" "$n" \
    > "$T/proofs"
t1=$(date +%s.%N)
awk -v n="$n" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "%d proofs in %.1f s\n", n, b - a }'
# Records written so far (the checks above and nothing else: the Bearer
# runs write none), from jobengine-admin dpop status.
written()
{
	admin -c "$T/gateway.conf" dpop status | awk '$1 == "written" { print $2 }'
}
before=$(written)

step "wrk DPoP"
DPOP_PROOFS=$T/proofs DPOP_THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" \
    --latency -s "$T/dpop.lua" -H "Authorization: DPoP $bound" \
    -H "X-Stella-Tenant: $TENANT" "$url" > "$T/dpop.wrk"
res dpop
records=$(( $(written) - before ))
done_reqs=$(awk '/requests in/ { print $1 }' "$T/dpop.wrk")
bench_lighttpd_stop

# ---------------------------------------------------------------- report

printf '\n%-40s %10s %9s %9s\n' "GET sources?limit=$LIMIT (c$CONNS)" "req/s" \
    "p50 ms" "p99 ms"
read -r rb b50 b99 < "$T/bearer.res"
read -r rd d50 d99 < "$T/dpop.res"
printf '%-40s %10s %9s %9s\n' "Bearer" "$rb" "$b50" "$b99"
printf '%-40s %10s %9s %9s\n' "DPoP (fresh ES256 proof per request)" "$rd" \
    "$d50" "$d99"
printf 'replay records written: %s for %s DPoP requests\n' "$records" \
    "$done_reqs"
awk -v b="$rb" -v d="$rd" 'BEGIN {
	r = d / b
	printf("\nDPoP/Bearer req/s: %.2f  (target >= 0.70) %s\n", r,
	    r >= 0.7 ? "met" : "NOT met")
}'
