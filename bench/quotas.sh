#!/usr/bin/env bash
#
# bench/quotas.sh: GET /jobengine/quotas/summary for one tenant with 50
# quotas when that tenant has 10 000 jobs and again when it has 1 000 000
# (same server, same run), then a mixed load at 32 connections: 90% reads
# (list and summary, half each) and 10% writes (pause, resume, PUT, a
# third each) on those 50 quotas.  See bench/README.md for the targets.
#
# The summary reads job_counts (maintained by triggers) and one index range
# count per quota for admittedLastHour, so its cost follows the number of
# (project, jobType, source, status) combinations in use and the jobs
# started in the last hour, not the number of jobs.  The jobs here start
# evenly over 30 days (as a steady Orchestrator would start them), so the
# last hour holds 1/720 of them: about 14 at 10 000 jobs, 1 400 at
# 1 000 000.
#
# Needs a build in build/ (./dev build).  Environment: BUILD (build dir),
# PORT (18484), JOBS_SMALL (10000), JOBS_LARGE (1000000), CONNS (32),
# DURATION (10s), WARMUP (3s), PROCS (4).

set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
PORT=${PORT:-18484}
JOBS_SMALL=${JOBS_SMALL:-10000}
JOBS_LARGE=${JOBS_LARGE:-1000000}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
PROCS=${PROCS:-4}
NQUOTA=50
TENANT=bench
KID=bench-1

die()
{
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

for t in lighttpd wrk curl python3 openssl awk; do
	command -v "$t" >/dev/null || die "needs $t (./dev test installs it)"
done
[ -x "$BUILD/cgi-bin/jobengine-quotas" ] && [ -x "$BUILD/admin/jobengine-admin" ] ||
    die "no programs in $BUILD: run ./dev build first"
(( JOBS_LARGE > JOBS_SMALL )) || die "JOBS_LARGE must exceed JOBS_SMALL"

T=$(mktemp -d /tmp/jobengine-bench-quotas.XXXXXX)
lpid=

cleanup()
{
	if [ -n "$lpid" ] && kill -0 "$lpid" 2>/dev/null; then
		kill "$lpid"
		wait "$lpid" || true
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
log.level = warn
EOF
admin -c "$T/gateway.conf" migrate

# 50 quotas, one per jobType; every fifth belongs to project alpha.
step "importing $NQUOTA quotas"
awk -v n="$NQUOTA" -v t="$TENANT" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"kind\": \"quota\", \"quotaId\": \"quota-%02d\", " \
		    "\"tenantId\": \"%s\", \"projectId\": %s, " \
		    "\"jobType\": \"type.%02d\", \"maxActive\": %d, " \
		    "\"maxPerHour\": %d, \"createdAt\": \"2026-01-01T00:00:00Z\"}\n",
		    i, t, i % 5 ? "null" : "\"alpha\"", i, 50 + i * 10,
		    2000 + i * 100
}' > "$T/quotas.ndjson"
admin -c "$T/gateway.conf" import "$T/quotas.ndjson"

# Jobs as the Orchestrator writes them (docs/storage.md: direct writers
# insert jobs; the triggers keep job_counts).  Job i: jobType i mod 50,
# one of 4 sources, a third in project alpha, a status spread like a
# working system (60% succeeded ... 5% running), started evenly over the
# last 30 days unless pending or scheduled.
add_jobs()
{
	python3 - "$T/gateway.db" "$1" "$2" "$TENANT" <<'PY'
import sqlite3, sys, time
db, lo, hi, tenant = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
now = int(time.time())
c = sqlite3.connect(db, timeout=60)
c.execute("PRAGMA journal_mode=WAL")
c.execute("BEGIN IMMEDIATE")
c.execute("""
WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?),
r(i, p, st) AS (SELECT i, (i * 7919) % 100, (i * 2654435761) % 2592000 FROM s)
INSERT INTO jobs (job_id, tenant_id, project_id, job_type, source_id, status,
    priority, created_at, started_at, finished_at)
SELECT printf('job-%08d', i), ?, CASE WHEN i % 3 = 0 THEN 'alpha' ELSE '' END,
    printf('type.%02d', i % 50), 'src-' || (i % 4),
    CASE WHEN p < 60 THEN 'succeeded' WHEN p < 70 THEN 'failed'
         WHEN p < 75 THEN 'canceled' WHEN p < 80 THEN 'timed_out'
         WHEN p < 85 THEN 'pending' WHEN p < 90 THEN 'scheduled'
         WHEN p < 95 THEN 'leased' ELSE 'running' END,
    'normal', ? - st - 60,
    CASE WHEN p >= 80 AND p < 90 THEN NULL ELSE ? - st END,
    CASE WHEN p < 80 THEN ? - st + 30 ELSE NULL END
FROM r""", (lo, hi - 1, tenant, now, now, now))
c.commit()
# Both runs read a checkpointed file, not one of them a long WAL.
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print("jobs of %s: %d" % (tenant, c.execute(
    "SELECT count(*) FROM jobs WHERE tenant_id = ?", (tenant,)).fetchone()[0]))
PY
}

step "inserting $JOBS_SMALL jobs"
add_jobs 0 "$JOBS_SMALL"

tok=$(admin -c "$T/gateway.conf" token --key "$T/authority.pem" --kid "$KID" \
    --tenant "$TENANT" --scope "orch:quota" --sub bench --ttl 3600)

# ---------------------------------------------------------------- server

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
lighttpd -tt -f "$T/lighttpd.conf"
lighttpd -D -f "$T/lighttpd.conf" >> "$T/error.log" 2>&1 &
lpid=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/jobengine/healthz" && break
	kill -0 "$lpid" 2>/dev/null || { cat "$T/error.log" >&2; die "lighttpd died"; }
	sleep 0.1
done
# Another server on the port would have answered for us: make sure ours
# is the one that runs.
sleep 0.2
kill -0 "$lpid" 2>/dev/null || { cat "$T/error.log" >&2; die "lighttpd died"; }

base=http://127.0.0.1:$PORT
summary_url="$base/jobengine/quotas/summary"

# get URL FILE: fetch with the token, fail unless 200.
get()
{
	local code

	code=$(curl -s -o "$2" -w '%{http_code}' \
	    -H "Authorization: Bearer $tok" -H "X-Stella-Tenant: $TENANT" "$1")
	if [ "$code" != 200 ]; then
		head -c 2000 "$2" >&2 || true
		die "GET $1: status $code, not 200"
	fi
}

# Counts every status in a table shared by the threads, so the report
# can tell 2xx, 412 and anything else apart (wrk only says "non-2xx").
cat > "$T/status.lua" <<'EOF'
local threads = {}
function setup(thread)
	table.insert(threads, thread)
end
function init(args)
	statuses = {}
end
function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
	local all = {}
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("statuses")) do
			all[k] = (all[k] or 0) + v
		end
	end
	local keys = {}
	for k in pairs(all) do table.insert(keys, k) end
	table.sort(keys)
	for _, k in ipairs(keys) do
		io.write(string.format("status %d: %d\n", k, all[k]))
	end
end
EOF

# load NAME URL [LUA]: wrk at $CONNS connections after a warm-up; leaves
# "reqs p50 p99 other" (ms; other = responses neither 2xx nor 412) in
# $T/NAME.res.
load()
{
	local name=$1 url=$2 lua=${3:-$T/status.lua} out=$T/$1.wrk

	step "wrk $name"
	wrk -t2 -c"$CONNS" -d"$WARMUP" -s "$lua" \
	    -H "Authorization: Bearer $tok" -H "X-Stella-Tenant: $TENANT" \
	    "$url" > /dev/null
	wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$lua" \
	    -H "Authorization: Bearer $tok" -H "X-Stella-Tenant: $TENANT" \
	    "$url" > "$out"
	cat "$out"
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
	$1 == "status" && ($2 + 0 < 200 || $2 + 0 > 299) && $2 + 0 != 412 {
		other += $3
	}
	END { printf "%s %s %s %d\n", r, p50, p99, other }' "$out" > "$T/$name.res"
}

get "$summary_url" "$T/summary-small.json"
load summary_small "$summary_url"

step "inserting $((JOBS_LARGE - JOBS_SMALL)) more jobs"
t0=$SECONDS
add_jobs "$JOBS_SMALL" "$JOBS_LARGE"
printf 'insert took %ss\n' $((SECONDS - t0))
get "$summary_url" "$T/summary-large.json"
load summary_large "$summary_url"

python3 - "$T/summary-small.json" "$T/summary-large.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    d = json.load(open(path))
    levels = {}
    for i in d["items"]:
        levels[i["backpressure"]] = levels.get(i["backpressure"], 0) + 1
    print(path.rsplit("/", 1)[1], d["totals"], levels)
PY

# The mixed run: a request is picked per call, 45% list, 45% summary, and
# 10% writes on a random quota of the 50, unconditional so that none is a
# 412 by design (a racing pause on a paused quota is a no-op 200).
awk -v n="$NQUOTA" 'BEGIN {
	printf "local ids = {"
	for (i = 0; i < n; i++)
		printf "%s\"quota-%02d\"", i ? ", " : "", i
	printf "}\n"
}' > "$T/mixed.lua"
cat "$T/status.lua" >> "$T/mixed.lua"
cat >> "$T/mixed.lua" <<'EOF'
-- wrk.format replaces wrk.headers (the -H ones) when given a table:
-- copy them in.
local write_headers
local function writes()
	if write_headers == nil then
		write_headers = {}
		for k, v in pairs(wrk.headers) do write_headers[k] = v end
		write_headers["Content-Type"] = "application/json"
		write_headers["X-Stella-Operator-Reason"] = "bench: mixed load"
	end
	return write_headers
end
function request()
	local x = math.random(100)
	if x <= 45 then
		return wrk.format("GET", "/jobengine/quotas?limit=50")
	elseif x <= 90 then
		return wrk.format("GET", "/jobengine/quotas/summary")
	end
	local id = ids[math.random(#ids)]
	local w = math.random(3)
	if w == 1 then
		return wrk.format("POST", "/jobengine/quotas/" .. id .. "/pause",
		    writes(), "")
	elseif w == 2 then
		return wrk.format("POST", "/jobengine/quotas/" .. id .. "/resume",
		    writes(), "")
	end
	local ma = 40 + math.random(60)
	return wrk.format("PUT", "/jobengine/quotas/" .. id, writes(),
	    string.format('{"maxActive":%d,"maxPerHour":5000}', ma))
end
EOF
load mixed "$base/jobengine/quotas" "$T/mixed.lua"

admin -c "$T/gateway.conf" audit verify
kill "$lpid"
wait "$lpid" || true
lpid=

# ---------------------------------------------------------------- report

printf '\n%-40s %10s %9s %9s %7s\n' "c$CONNS, $DURATION" "req/s" "p50 ms" \
    "p99 ms" "other"
for n in summary_small summary_large mixed; do
	read -r r p50 p99 other < "$T/$n.res"
	case $n in
	summary_small) label="summary, $JOBS_SMALL jobs" ;;
	summary_large) label="summary, $JOBS_LARGE jobs" ;;
	mixed) label="mixed 90% list/summary, 10% writes" ;;
	esac
	printf '%-40s %10s %9s %9s %7s\n' "$label" "$r" "$p50" "$p99" "$other"
done
read -r rs _ _ os < "$T/summary_small.res"
read -r rl _ _ ol < "$T/summary_large.res"
read -r _ _ _ om < "$T/mixed.res"
awk -v s="$rs" -v l="$rl" -v o="$((os + ol + om))" 'BEGIN {
	r = l / s
	printf("\nsummary req/s at %s / at %s jobs: %.2f  (target >= 0.67: " \
	    "within 1.5x) %s\n", "'"$JOBS_LARGE"'", "'"$JOBS_SMALL"'", r,
	    (r >= 1 / 1.5) ? "met" : "NOT met")
	printf("responses neither 2xx nor 412: %d  (target 0) %s\n", o,
	    o == 0 ? "met" : "NOT met")
	exit !(r >= 1 / 1.5 && o == 0)
}'
