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
# Usage: bench/quotas.sh [--database postgresql]
#
# With --database postgresql it also starts a throwaway PostgreSQL 15
# cluster (tests/pg.sh) and runs everything again on it, with the same
# quotas and jobs (inserted by the same statement) and the same lighttpd
# configuration, then prints both tables and the PostgreSQL/SQLite ratio
# of each figure; the cluster is stopped at the end.  The exit status is
# 1 when a target is missed on either store.
#
# Needs a build in build/ (./dev build).  Environment: BUILD (build dir),
# PORT (18484), JOBS_SMALL (10000), JOBS_LARGE (1000000), CONNS (32),
# DURATION (10s), WARMUP (3s), PROCS (4).  The shared set-up is in
# bench/lib.sh.

set -euo pipefail

PORT=${PORT:-18484}
BENCH_PG=yes
. "$(dirname "$(readlink -f "$0")")/lib.sh"
JOBS_SMALL=${JOBS_SMALL:-10000}
JOBS_LARGE=${JOBS_LARGE:-1000000}
NQUOTA=50

bench_init jobengine-bench-quotas "$@"
bench_need lighttpd wrk curl python3 openssl awk \
    jobengine-quotas jobengine-admin
(( JOBS_LARGE > JOBS_SMALL )) || die "JOBS_LARGE must exceed JOBS_SMALL"

# ---------------------------------------------------------------- setup

step "setup in $T"
bench_keys
[ "$STORES" = sqlite ] || bench_pg_start

# 50 quotas, one per jobType; every fifth belongs to project alpha.
awk -v n="$NQUOTA" -v t="$TENANT" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"kind\": \"quota\", \"quotaId\": \"quota-%02d\", " \
		    "\"tenantId\": \"%s\", \"projectId\": %s, " \
		    "\"jobType\": \"type.%02d\", \"maxActive\": %d, " \
		    "\"maxPerHour\": %d, \"createdAt\": \"2026-01-01T00:00:00Z\"}\n",
		    i, t, i % 5 ? "null" : "\"alpha\"", i, 50 + i * 10,
		    2000 + i * 100
}' > "$T/quotas.ndjson"

# Jobs as the Orchestrator writes them (docs/storage.md: direct writers
# insert jobs; the triggers keep job_counts).  Job i: jobType i mod 50,
# one of 4 sources, a third in project alpha, a status spread like a
# working system (60% succeeded ... 5% running), started evenly over the
# last 30 days unless pending or scheduled.  One statement that SQLite and
# PostgreSQL read the same way (no printf, no generate_series; i a BIGINT,
# since i * 7919 outgrows PostgreSQL's 32-bit integer).
jobs_sql()
{
	local lo=$1 hi=$2 now

	now=$(date +%s)
	cat <<EOF
WITH RECURSIVE s(i) AS (SELECT CAST($lo AS BIGINT)
    UNION ALL SELECT i + 1 FROM s WHERE i < $((hi - 1))),
r(i, p, st) AS (SELECT i, (i * 7919) % 100, (i * 2654435761) % 2592000 FROM s)
INSERT INTO jobs (job_id, tenant_id, project_id, job_type, source_id, status,
    priority, created_at, started_at, finished_at)
SELECT 'job-' || substr('0000000' || i, length('0000000' || i) - 7), '$TENANT',
    CASE WHEN i % 3 = 0 THEN 'alpha' ELSE '' END,
    'type.' || substr('0' || (i % 50), length('0' || (i % 50)) - 1),
    'src-' || (i % 4),
    CASE WHEN p < 60 THEN 'succeeded' WHEN p < 70 THEN 'failed'
         WHEN p < 75 THEN 'canceled' WHEN p < 80 THEN 'timed_out'
         WHEN p < 85 THEN 'pending' WHEN p < 90 THEN 'scheduled'
         WHEN p < 95 THEN 'leased' ELSE 'running' END,
    'normal', $now - st - 60,
    CASE WHEN p >= 80 AND p < 90 THEN NULL ELSE $now - st END,
    CASE WHEN p < 80 THEN $now - st + 30 ELSE NULL END
FROM r
EOF
}

# add_jobs STORE FROM TO: jobs FROM..TO-1, in one transaction.  Both
# stores are then read settled: SQLite from a checkpointed file, not a
# long WAL; PostgreSQL vacuumed and analyzed, not waiting for autovacuum.
add_jobs()
{
	jobs_sql "$2" "$3" > "$T/jobs.sql"
	case $1 in
	sqlite)
		python3 - "$T/gateway.db" "$T/jobs.sql" "$TENANT" <<'PY'
import sqlite3, sys
db, sql, tenant = sys.argv[1:4]
c = sqlite3.connect(db, timeout=60)
c.execute("PRAGMA journal_mode=WAL")
c.execute("BEGIN IMMEDIATE")
c.execute(open(sql).read())
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print("jobs of %s: %d" % (tenant, c.execute(
    "SELECT count(*) FROM jobs WHERE tenant_id = ?", (tenant,)).fetchone()[0]))
PY
		;;
	postgresql)
		bench_psql -1 -f "$T/jobs.sql"
		bench_psql -c "VACUUM (ANALYZE) jobs, job_counts"
		printf 'jobs of %s: %s\n' "$TENANT" "$(bench_psql -At -c \
		    "SELECT count(*) FROM jobs WHERE tenant_id = '$TENANT'")"
		;;
	esac
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

base=http://127.0.0.1:$PORT
summary_url="$base/jobengine/quotas/summary"

# load NAME URL [LUA]: wrk after a warm-up; leaves "reqs p50 p99 other"
# (ms; other = responses neither 2xx nor 412) in $R/NAME.res.
load()
{
	bench_wrk "$1" "$2" -s "${3:-$T/status.lua}"
	cat "$R/$1.wrk"
	bench_res "$1" other
}

# measure STORE: the three runs on that store; results in $R.
measure()
{
	local db t0

	db=$(bench_database "$1")
	bench_config "$db"
	step "importing $NQUOTA quotas"
	admin -c "$T/gateway.conf" import "$T/quotas.ndjson"
	step "inserting $JOBS_SMALL jobs"
	add_jobs "$1" 0 "$JOBS_SMALL"
	tok=$(bench_token --scope "orch:quota" --ttl 3600)

	bench_lighttpd_start
	bench_get "$summary_url" "$T/summary-small.json"
	load summary_small "$summary_url"

	step "inserting $((JOBS_LARGE - JOBS_SMALL)) more jobs"
	t0=$SECONDS
	add_jobs "$1" "$JOBS_SMALL" "$JOBS_LARGE"
	printf 'insert took %ss\n' $((SECONDS - t0))
	bench_get "$summary_url" "$T/summary-large.json"
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

	load mixed "$base/jobengine/quotas" "$T/mixed.lua"

	admin -c "$T/gateway.conf" audit verify
	bench_lighttpd_stop
}

# ---------------------------------------------------------------- report

# report: the table and the targets of the store measured into $R; fails
# when a target is missed.
report()
{
	local n label r p50 p99 other rs rl os ol om

	printf '\n%-40s %10s %9s %9s %7s\n' "c$CONNS, $DURATION" "req/s" \
	    "p50 ms" "p99 ms" "other"
	for n in summary_small summary_large mixed; do
		read -r r p50 p99 other < "$R/$n.res"
		case $n in
		summary_small) label="summary, $JOBS_SMALL jobs" ;;
		summary_large) label="summary, $JOBS_LARGE jobs" ;;
		mixed) label="mixed 90% list/summary, 10% writes" ;;
		esac
		printf '%-40s %10s %9s %9s %7s\n' "$label" "$r" "$p50" "$p99" \
		    "$other"
	done
	read -r rs _ _ os < "$R/summary_small.res"
	read -r rl _ _ ol < "$R/summary_large.res"
	read -r _ _ _ om < "$R/mixed.res"
	awk -v s="$rs" -v l="$rl" -v o="$((os + ol + om))" 'BEGIN {
		r = l / s
		printf("\nsummary req/s at %s / at %s jobs: %.2f  (target >= 0.67: " \
		    "within 1.5x) %s\n", "'"$JOBS_LARGE"'", "'"$JOBS_SMALL"'", r,
		    (r >= 1 / 1.5) ? "met" : "NOT met")
		printf("responses neither 2xx nor 412: %d  (target 0) %s\n", o,
		    o == 0 ? "met" : "NOT met")
		exit !(r >= 1 / 1.5 && o == 0)
	}'
}

if [ "$STORES" = sqlite ]; then
	measure sqlite
	report
	exit
fi

bench_each_store
met=yes
for s in $STORES; do
	R=$T/$s
	printf '\n---- %s\n' "$(bench_store_name "$s")"
	report || met=no
done
bench_compare summary_small="summary, $JOBS_SMALL jobs" \
    summary_large="summary, $JOBS_LARGE jobs" \
    mixed="mixed 90% list/summary, 10% writes"
ratio()
{
	awk '{ r[NR] = $1 } END { printf "%.4f\n", r[1] / r[2] }' \
	    "$T/$1/$2.res" "$T/$1/$3.res"
}
echo
bench_compare_one "summary req/s large/small" \
    "$(ratio sqlite summary_large summary_small)" \
    "$(ratio postgresql summary_large summary_small)"
[ $met = yes ]
