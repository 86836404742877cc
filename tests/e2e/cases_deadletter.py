"""End-to-end cases of jobengine-jobs and jobengine-deadletter.

Reads run against the development data set of tenant acme and are
compared with the store itself (env.sql).  Mutations run in a tenant of
their own, "dl-e2e", whose entries each case inserts as the Orchestrator
would (directly in SQL), with ids carrying the front end's name, so no
other case sees them and the front ends after this one start clean.
After every case job_counts must equal a fresh count(*) of jobs.
"""

import concurrent.futures
import json
import os
import random

TENANT = "dl-e2e"
STATUSES = ("pending", "scheduled", "leased", "running", "succeeded",
            "failed", "canceled", "timed_out")
DL_STATUSES = ("pending", "replayed", "resolved", "discarded")
T0 = 1794000000         # 2026-11-07T...: before every dev-data row


def run(front, env, e2e):
    port = front.port
    key = os.path.join(env.srcdir, "tests/keys/rsa.pem")
    tok = {
        "read": env.mint(key, "rsa-1", "acme", "orch:read"),
        "operate": env.mint(key, "rsa-1", "acme", "orch:operate"),
        "backfill": env.mint(key, "rsa-1", TENANT, "orch:backfill"),
        "acme-backfill": env.mint(key, "rsa-1", "acme", "orch:backfill"),
    }
    tag = front.name.replace("-", "")

    def hdr(t, tenant="acme", body=False, **extra):
        h = {"Authorization": "Bearer " + tok[t], "X-Stella-Tenant": tenant}
        if body:
            h["Content-Type"] = "application/json"
            h["X-Stella-Operator-Reason"] = "e2e deadletter"
        h.update(extra)
        return h

    def post(path, doc, t="backfill", tenant=TENANT, **extra):
        return e2e.request(port, "POST", path, hdr(t, tenant, True, **extra),
                           body=json.dumps(doc).encode())

    def add_entries(prefix, n, retryable=1, status="pending", category="race",
                    code="e2e_code", t0=T0):
        """n entries of TENANT, failedAt one second apart; their ids."""
        rows = []
        for i in range(n):
            eid = "%s-%s-%03d" % (tag, prefix, i)
            rows.append((eid, TENANT, "", "job-" + eid, "e2e.replay",
                         "src-e2e", category, code, "failure %d" % i,
                         retryable, 1, '{"n":%d}' % i, status, t0 + i))
        for r in rows:
            env.sql("INSERT INTO deadletter (entry_id, tenant_id, project_id, "
                    "job_id, job_type, source_id, category, error_code, message, "
                    "retryable, attempts, payload, status, failed_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", r)
        return [r[0] for r in rows]

    def counts_exact():
        bad = env.sql(
            "SELECT count(*) FROM (SELECT tenant_id, project_id, job_type, "
            "coalesce(source_id, ''), status, count(*) FROM jobs "
            "GROUP BY 1, 2, 3, 4, 5 EXCEPT SELECT tenant_id, project_id, "
            "job_type, source_id, status, n FROM job_counts) AS d")[0][0]
        extra = env.sql(
            "SELECT count(*) FROM (SELECT tenant_id, project_id, job_type, "
            "source_id, status, n FROM job_counts EXCEPT SELECT tenant_id, "
            "project_id, job_type, coalesce(source_id, ''), status, count(*) "
            "FROM jobs GROUP BY 1, 2, 3, 4, 5) AS d")[0][0]
        e2e.expect(bad == 0 and extra == 0,
                   "job_counts differs from count(*): %d, %d" % (bad, extra))

    def replays_of(ids):
        marks = ",".join("?" * len(ids))
        jobs = env.sql("SELECT count(*) FROM jobs WHERE tenant_id = ? AND "
                       "replay_of IN (%s)" % marks,
                       [TENANT] + ["job-" + i for i in ids])[0][0]
        audits = env.sql("SELECT count(*) FROM audit WHERE tenant_id = ? AND "
                         "action = 'deadletter.replay' AND outcome = 202 AND "
                         "target_id IN (%s)" % marks, [TENANT] + list(ids))[0][0]
        return jobs, audits

    # ------------------------------------------------------------ reads

    def c_jobs_summary():
        r = e2e.request(port, "GET", "/jobengine/jobs/summary", hdr("read"))
        e2e.expect_eq("status", r.status, 200)
        e2e.expect_cacheable(r)
        doc = r.json()
        want = {}
        for jt, st, n in env.sql("SELECT job_type, status, count(*) FROM jobs "
                                 "WHERE tenant_id = 'acme' GROUP BY 1, 2"):
            want.setdefault(jt, dict.fromkeys(STATUSES, 0))[st] = n
        got = {i["jobType"]: i["byStatus"] for i in doc["byJobType"]}
        e2e.expect_eq("byJobType", got, want)
        e2e.expect_eq("order", [i["jobType"] for i in doc["byJobType"]],
                      sorted(want, key=lambda s: s.encode()))
        e2e.expect_eq("total", doc["total"], sum(sum(v.values()) for v in want.values()))
        e2e.expect_eq("byStatus keys", list(doc["byStatus"]), list(STATUSES))

    def c_jobs_summary_filter():
        jt, src = env.sql("SELECT job_type, source_id FROM jobs WHERE tenant_id "
                          "= 'acme' AND source_id IS NOT NULL ORDER BY job_id "
                          "LIMIT 1")[0]
        r = e2e.request(port, "GET", "/jobengine/jobs/summary?jobType=%s&sourceId=%s"
                        % (jt, src), hdr("read"))
        e2e.expect_eq("status", r.status, 200)
        n = env.sql("SELECT count(*) FROM jobs WHERE tenant_id = 'acme' AND "
                    "job_type = ? AND source_id = ?", (jt, src))[0][0]
        e2e.expect_eq("total", r.json()["total"], n)

    def c_jobs_scope():
        r = e2e.request(port, "GET", "/jobengine/jobs/summary", hdr("operate"))
        e2e.expect_error(r, 403, "ERR_SCOPE_MISMATCH")

    def c_stats():
        r = e2e.request(port, "GET", "/jobengine/deadletter/stats", hdr("operate"))
        e2e.expect_eq("status", r.status, 200)
        e2e.expect_cacheable(r)
        doc = r.json()
        by = dict.fromkeys(DL_STATUSES, 0)
        for st, n in env.sql("SELECT status, count(*) FROM deadletter WHERE "
                             "tenant_id = 'acme' GROUP BY 1"):
            by[st] = n
        e2e.expect_eq("byStatus", doc["byStatus"], by)
        e2e.expect_eq("total", doc["total"], sum(by.values()))
        e2e.expect_eq("retryable", doc["retryable"], env.sql(
            "SELECT count(*) FROM deadletter WHERE tenant_id = 'acme' AND "
            "status = 'pending' AND retryable = 1")[0][0])
        clusters = env.sql(
            "SELECT category, error_code, count(*) FROM deadletter WHERE "
            "tenant_id = 'acme' AND status = 'pending' GROUP BY 1, 2")
        clusters.sort(key=lambda c: (-c[2], c[0].encode(), c[1].encode()))
        e2e.expect_eq("topErrors", [(t["category"], t["errorCode"], t["count"])
                                    for t in doc["topErrors"]],
                      [tuple(c) for c in clusters[:10]])

    def c_summary_walk():
        want = env.sql("SELECT category, error_code, count(*) FROM deadletter "
                       "WHERE tenant_id = 'acme' GROUP BY 1, 2 ORDER BY 1, 2")
        got, token, pages = [], None, 0
        while True:
            q = "/jobengine/deadletter/summary?limit=2"
            if token:
                q += "&continuationToken=" + token
            r = e2e.request(port, "GET", q, hdr("operate"))
            e2e.expect_eq("status", r.status, 200)
            doc = r.json()
            got += [(i["category"], i["errorCode"], i["count"]) for i in doc["items"]]
            token = doc["continuationToken"]
            pages += 1
            e2e.expect(pages < 100, "too many pages")
            if not token:
                break
        e2e.expect_eq("groups", got, [tuple(w) for w in want])

    def c_summary_scope():
        r = e2e.request(port, "GET", "/jobengine/deadletter/summary", hdr("read"))
        e2e.expect_error(r, 403, "ERR_SCOPE_MISMATCH")

    # -------------------------------------------------------- mutations

    def c_replay_rules():
        ok, = add_entries("one", 1)
        nr, = add_entries("nr", 1, retryable=0)
        r = post("/jobengine/deadletter/%s/replay" % ok, {})
        e2e.expect_eq("status", r.status, 202)
        e2e.expect_eq("Cache-Control", r.header("Cache-Control"), "no-store")
        doc = r.json()
        e2e.expect_eq("members", list(doc), ["entryId", "status", "replayJobId",
                                             "replayedAt", "replayCount"])
        e2e.expect_eq("entryId", doc["entryId"], ok)
        e2e.expect_eq("replayCount", doc["replayCount"], 1)
        job = env.sql("SELECT status, priority, replay_of, payload FROM jobs "
                      "WHERE job_id = ?", (doc["replayJobId"],))
        e2e.expect_eq("job", job, [("pending", "high", "job-" + ok, '{"n":0}')])
        r = post("/jobengine/deadletter/%s/replay" % ok, {"force": True})
        e2e.expect_error(r, 409, "ERR_DEADLETTER_NOT_PENDING")
        r = post("/jobengine/deadletter/%s/replay" % nr, {})
        e2e.expect_error(r, 409, "ERR_DEADLETTER_NOT_RETRYABLE")
        r = post("/jobengine/deadletter/%s/replay" % nr, {"force": True})
        e2e.expect_eq("forced status", r.status, 202)
        r = post("/jobengine/deadletter/%s/replay" % ok, {}, t="acme-backfill",
                 tenant="acme")
        e2e.expect_error(r, 404, "ERR_DEADLETTER_NOT_FOUND")
        r = post("/jobengine/deadletter/%s/replay" % ok, {}, t="read",
                 tenant="acme")
        e2e.expect_error(r, 403, "ERR_SCOPE_MISMATCH")
        r = e2e.request(port, "POST", "/jobengine/deadletter/%s/replay" % ok,
                        hdr("backfill", TENANT, False,
                            **{"Content-Type": "application/json"}), body=b"{}")
        e2e.expect_error(r, 400, "ERR_OPERATOR_REASON_REQUIRED")

    def c_idempotency():
        eid, = add_entries("idem", 1)
        k = {"Idempotency-Key": "e2e-%s-%s" % (tag, eid)}
        a = post("/jobengine/deadletter/%s/replay" % eid, {}, **k)
        b = post("/jobengine/deadletter/%s/replay" % eid, {}, **k)
        e2e.expect_eq("first", a.status, 202)
        e2e.expect_eq("repeat status", b.status, 202)
        e2e.expect_eq("repeat body", b.body, a.body)
        e2e.expect_eq("Idempotent-Replayed", b.header("Idempotent-Replayed"), "true")
        e2e.expect_eq("jobs, audits", replays_of([eid]), (1, 1))
        ids = add_entries("idemb", 3)
        body = {"entryIds": ids}
        k = {"Idempotency-Key": "e2e-%s-batch" % tag}
        a = post("/jobengine/deadletter/replay/batch", body, **k)
        b = post("/jobengine/deadletter/replay/batch", body, **k)
        e2e.expect_eq("batch", (a.status, b.status, b.body == a.body), (200, 200, True))
        e2e.expect_eq("batch jobs, audits", replays_of(ids), (3, 3))
        c = post("/jobengine/deadletter/replay/batch", {"entryIds": ids[:1]}, **k)
        e2e.expect_error(c, 422, "ERR_IDEMPOTENCY_KEY_REUSED")

    def c_batch_mix():
        ok = add_entries("bok", 2)
        nr = add_entries("bnr", 1, retryable=0)
        done = add_entries("bdone", 1, status="replayed")
        foreign = env.sql("SELECT entry_id FROM deadletter WHERE tenant_id = "
                          "'acme' AND status = 'pending' AND retryable = 1 "
                          "LIMIT 1")[0][0]
        missing = "%s-missing" % tag
        ids = ok + nr + done + [foreign, missing]
        random.shuffle(ids)
        r = post("/jobengine/deadletter/replay/batch", {"entryIds": ids})
        e2e.expect_eq("status", r.status, 200)
        doc = r.json()
        e2e.expect_eq("counts", (doc["requested"], doc["replayed"], doc["failed"]),
                      (6, 2, 4))
        e2e.expect_eq("order", [x["entryId"] for x in doc["results"]],
                      sorted(ids, key=lambda s: s.encode()))
        want = {ok[0]: "replayed", ok[1]: "replayed",
                nr[0]: "ERR_DEADLETTER_NOT_RETRYABLE",
                done[0]: "ERR_DEADLETTER_NOT_PENDING",
                foreign: "ERR_DEADLETTER_NOT_FOUND",
                missing: "ERR_DEADLETTER_NOT_FOUND"}
        got = {x["entryId"]: x["outcome"] if x["outcome"] == "replayed"
               else x["error"]["code"] for x in doc["results"]}
        e2e.expect_eq("outcomes", got, want)
        e2e.expect_eq("foreign untouched", env.sql(
            "SELECT status FROM deadletter WHERE entry_id = ?", (foreign,)),
            [("pending",)])
        r = post("/jobengine/deadletter/replay/batch", {"entryIds": ok + ok[:1]})
        e2e.expect_error(r, 400, "ERR_INVALID_BODY")

    def c_pending():
        a = add_entries("pa", 5, category="pcat-a" + tag, t0=T0 + 1000)
        b = add_entries("pb", 3, category="pcat-b" + tag, t0=T0 + 500)
        add_entries("pnr", 2, category="pcat-a" + tag, retryable=0, t0=T0 + 100)
        f = {"category": "pcat-a" + tag}
        r = post("/jobengine/deadletter/replay/pending",
                 {"filter": f, "limit": 3, "dryRun": True})
        e2e.expect_eq("status", r.status, 200)
        doc = r.json()
        e2e.expect_eq("dry run", (doc["matched"], doc["replayed"], doc["remaining"],
                                  doc["dryRun"]), (3, 0, 2, True))
        e2e.expect_eq("dry ids", [x["entryId"] for x in doc["results"]], a[:3])
        e2e.expect_eq("dry run changed nothing", replays_of(a), (0, 0))
        r = post("/jobengine/deadletter/replay/pending", {"filter": f, "limit": 3})
        doc = r.json()
        e2e.expect_eq("run", (doc["matched"], doc["replayed"], doc["remaining"]),
                      (3, 3, 2))
        e2e.expect_eq("oldest first", [x["entryId"] for x in doc["results"]], a[:3])
        r = post("/jobengine/deadletter/replay/pending",
                 {"filter": {"category": "pcat-b" + tag, "failedAfter":
                             "2026-11-01T00:00:00Z", "failedBefore":
                             "2030-01-01T00:00:00Z", "jobType": "e2e.replay",
                             "sourceId": "src-e2e", "errorCode": "e2e_code"}})
        doc = r.json()
        e2e.expect_eq("b", (doc["matched"], doc["replayed"], doc["remaining"]),
                      (3, 3, 0))
        e2e.expect_eq("jobs, audits", replays_of(a + b), (6, 6))

    def c_race():
        ids = add_entries("race", 100)
        statuses = []

        def client(seed):
            rng = random.Random(seed)
            order = ids[:]
            rng.shuffle(order)
            out = []
            if seed % 2:
                for eid in order:
                    out.append(post("/jobengine/deadletter/%s/replay" % eid, {}).status)
            else:
                for i in range(0, 100, 25):
                    r = post("/jobengine/deadletter/replay/batch",
                             {"entryIds": order[i:i + 25]})
                    out.append(r.status)
            return out

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            for out in ex.map(client, range(8)):
                statuses += out
        e2e.expect(set(statuses) <= {200, 202, 409},
                   "statuses %s" % sorted(set(statuses)))
        e2e.expect_eq("jobs, audits", replays_of(ids), (100, 100))
        e2e.expect_eq("replay counts", env.sql(
            "SELECT DISTINCT replay_count FROM deadletter WHERE tenant_id = ? "
            "AND entry_id LIKE ?", (TENANT, "%s-race-%%" % tag)), [(1,)])

    def c_pending_race():
        ids = add_entries("prace", 100, category="prace" + tag)

        def client(_):
            r = post("/jobengine/deadletter/replay/pending",
                     {"filter": {"category": "prace" + tag}, "limit": 1000})
            return r.status, r.json().get("replayed")

        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            res = list(ex.map(client, range(2)))
        e2e.expect_eq("statuses", [s for s, _ in res], [200, 200])
        e2e.expect_eq("replayed in all", sum(n for _, n in res), 100)
        e2e.expect_eq("jobs, audits", replays_of(ids), (100, 100))

    cases = [
        ("jobs summary equals count(*) per jobType and status", c_jobs_summary),
        ("jobs summary with jobType and sourceId", c_jobs_summary_filter),
        ("jobs summary without orch:read -> 403", c_jobs_scope),
        ("deadletter stats equal the store (totals, topErrors order)", c_stats),
        ("deadletter summary: a full walk of limit=2 pages", c_summary_walk),
        ("deadletter summary without orch:operate -> 403", c_summary_scope),
        ("replay: 202 body, job, 409 not pending/retryable, force, 404, 403, 400",
         c_replay_rules),
        ("replay with Idempotency-Key: same bytes, one job, 422 on reuse",
         c_idempotency),
        ("batch: replayable, non-retryable, replayed, foreign, missing", c_batch_mix),
        ("pending: dry run, filter, limit, oldest first, remaining", c_pending),
        ("8 clients replay the same 100 entries: 100 jobs, 100 audit records",
         c_race),
        ("2 operators run replay/pending at once: each entry once", c_pending_race),
    ]
    for name, fn in cases:
        try:
            fn()
            counts_exact()
            e2e.report(front.name, "deadletter: " + name, True)
        except e2e.Failed as e:
            e2e.report(front.name, "deadletter: " + name, False, str(e))
        except Exception as e:      # one case must not stop the others
            e2e.report(front.name, "deadletter: " + name, False,
                       "%s: %s" % (type(e).__name__, e))
