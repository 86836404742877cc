#!/usr/bin/env bash
#
# bench/deadletter.sh: the jobs summary and the deadletter program behind
# lighttpd, in one run:
#
#   1. GET /jobengine/jobs/summary with 10 000 jobs in the tenant;
#   2. GET /jobengine/deadletter/stats and /summary with 100 000 entries;
#   3. the tenant grows to 1 000 000 jobs (written straight into the
#      store, as the Orchestrator's workers would: the job_counts triggers
#      run for every row); the three GETs again;
#   4. the time to replay 1 000 pending entries through
#      POST /jobengine/deadletter/replay/pending, in batches of the
#      route's limit (1 000: one request), each entry its own transaction.
#
# Target (issue 5): the jobs summary at 1 000 000 jobs within 1.5x of its
# requests/s at 10 000 jobs, because it reads the maintained job_counts
# and never the jobs.
#
# Needs a build in build/ (./dev build).  Environment: BUILD (build dir),
# PORT (18491), ENTRIES (100000), JOBS_SMALL (10000), JOBS (1000000),
# REPLAY (1000), CONNS (32), DURATION (10s), WARMUP (3s), PROCS (4).
# SQLite only (it writes its rows with Python's sqlite3): no --database
# flag.  The shared set-up is in bench/lib.sh.

set -euo pipefail

PORT=${PORT:-18491}
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ENTRIES=${ENTRIES:-100000}
JOBS_SMALL=${JOBS_SMALL:-10000}
JOBS=${JOBS:-1000000}
REPLAY=${REPLAY:-1000}
ROUTE_LIMIT=1000

bench_init jobengine-bench "$@"
bench_need lighttpd wrk curl python3 openssl awk \
    jobengine-deadletter jobengine-jobs jobengine-admin
(( JOBS > JOBS_SMALL )) || die "JOBS must be larger than JOBS_SMALL"

# ---------------------------------------------------------------- setup

step "setup in $T"
bench_keys
bench_config "sqlite:$T/gateway.db"

# write_rows KIND FROM TO: rows FROM..TO-1 of the tenant, straight into the
# store in one transaction (as a direct writer: '' for no project, 0/1,
# epoch seconds, canonical JSON).  7 job types x 20 sources x 2 projects x
# 8 statuses bound the job_counts rows at 2 240 whatever the job count.
write_rows()
{
	python3 - "$T/gateway.db" "$TENANT" "$@" <<'PY'
import sqlite3, sys
db, tenant, kind, lo, hi = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
types = ["scan.image", "sbom.generate", "advisory.sync", "vex.ingest",
         "policy.evaluate", "export.bundle", "notify.dispatch"]
jst = ["pending", "scheduled", "leased", "running", "succeeded", "failed",
       "canceled", "timed_out"]
cats = [("transient", ["network_unreachable", "registry_5xx", "connection_reset"]),
        ("timeout", ["deadline_exceeded", "lease_expired"]),
        ("dependency", ["upstream_unavailable", "feed_rate_limited"]),
        ("validation", ["schema_invalid", "manifest_unsupported"]),
        ("auth", ["credentials_expired", "permission_denied"])]
codes = [(c, e) for c, es in cats for e in es]
dst = ["pending", "pending", "pending", "replayed", "resolved", "discarded"]
base = 1790000000
c = sqlite3.connect(db, timeout=60)
c.execute("PRAGMA journal_mode=WAL")
with c:
    if kind == "jobs":
        c.executemany(
            "INSERT INTO jobs (job_id, tenant_id, project_id, job_type, "
            "source_id, status, priority, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'normal', '{}', ?)",
            (("job-%08d" % i, tenant, "" if i % 2 else "p1", types[i % 7],
              "src-%02d" % (i % 20), jst[(i // 7) % 8], base + i)
             for i in range(lo, hi)))
    else:
        c.executemany(
            "INSERT INTO deadletter (entry_id, tenant_id, project_id, job_id, "
            "job_type, source_id, category, error_code, message, retryable, "
            "attempts, payload, status, failed_at) "
            "VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, 3, '{}', ?, ?)",
            (("dl-%08d" % i, tenant, "job-%08d" % i, types[i % 7],
              "src-%02d" % (i % 20), codes[(i * 7) % len(codes)][0],
              codes[(i * 7) % len(codes)][1], "failure number %d" % i,
              0 if i % 10 == 0 else 1, dst[(i // 11) % 6], base + i)
             for i in range(lo, hi)))
PY
}

step "writing $ENTRIES deadletter entries and $JOBS_SMALL jobs"
time write_rows deadletter 0 "$ENTRIES"
time write_rows jobs 0 "$JOBS_SMALL"

tok=$(bench_token --scope "orch:read orch:operate orch:backfill" --ttl 7200)

# ---------------------------------------------------------------- server

bench_lighttpd_start
base=http://127.0.0.1:$PORT

# load NAME URL: wrk at $CONNS connections after a warm-up; leaves
# "reqs p50 p99" (ms) in $T/NAME.res.
load()
{
	bench_get "$2" "$T/$1.json"
	bench_wrk "$1" "$2" --timeout 30s
	grep -q 'Non-2xx or 3xx' "$T/$1.wrk" &&
	    { cat "$T/$1.wrk"; die "$1: non-2xx"; }
	bench_res "$1"
}

load jobs-small "$base/jobengine/jobs/summary"
load stats-small "$base/jobengine/deadletter/stats"
load summary-small "$base/jobengine/deadletter/summary?limit=50"

step "growing the tenant to $JOBS jobs"
time write_rows jobs "$JOBS_SMALL" "$JOBS"
bench_get "$base/jobengine/jobs/summary" "$T/jobs-check.json"
python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))["total"]
assert t == int(sys.argv[2]), "summary total %d, want %s" % (t, sys.argv[2])
print("jobs summary total:", t)' "$T/jobs-check.json" "$JOBS"

load jobs-large "$base/jobengine/jobs/summary"
load stats-large "$base/jobengine/deadletter/stats"
load summary-large "$base/jobengine/deadletter/summary?limit=50"

step "replaying $REPLAY pending entries through replay/pending"
done_n=0
t0=$(date +%s.%N)
while (( done_n < REPLAY )); do
	n=$(( REPLAY - done_n < ROUTE_LIMIT ? REPLAY - done_n : ROUTE_LIMIT ))
	curl -s -o "$T/replay.json" -X POST \
	    -H "Authorization: Bearer $tok" -H "X-Stella-Tenant: $TENANT" \
	    -H "Content-Type: application/json" \
	    -H "X-Stella-Operator-Reason: bench replay" \
	    --data "{\"limit\": $n}" "$base/jobengine/deadletter/replay/pending"
	r=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["replayed"])' \
	    "$T/replay.json") || { head -c 500 "$T/replay.json" >&2; die "replay failed"; }
	(( r > 0 )) || die "replay/pending replayed nothing"
	done_n=$(( done_n + r ))
done
t1=$(date +%s.%N)

# ---------------------------------------------------------------- report

printf '\n%-44s %10s %9s %9s\n' "GET (c$CONNS, $DURATION)" "req/s" "p50 ms" "p99 ms"
for n in jobs-small jobs-large stats-small stats-large summary-small summary-large; do
	read -r r p50 p99 < "$T/$n.res"
	case $n in
	jobs-small) label="jobs summary, $JOBS_SMALL jobs" ;;
	jobs-large) label="jobs summary, $JOBS jobs" ;;
	stats-small) label="deadletter stats, $ENTRIES entries" ;;
	stats-large) label="deadletter stats, + $JOBS jobs" ;;
	summary-small) label="deadletter summary p1, $ENTRIES entries" ;;
	summary-large) label="deadletter summary p1, + $JOBS jobs" ;;
	esac
	printf '%-44s %10s %9s %9s\n' "$label" "$r" "$p50" "$p99"
done
read -r rs _ < "$T/jobs-small.res"
read -r rl _ < "$T/jobs-large.res"
awk -v s="$rs" -v l="$rl" -v n="$done_n" -v t0="$t0" -v t1="$t1" 'BEGIN {
	r = l / s
	printf("\nreplay/pending: %d entries in %.2f s (%.0f entries/s)\n",
	    n, t1 - t0, n / (t1 - t0))
	printf("jobs summary %s/%s req/s: %.2f  (target >= 0.67: within 1.5x) %s\n",
	    "1M", "10k", r, (r >= 1 / 1.5) ? "met" : "NOT met")
}'
