"""Pack runs (SPEC §10) and the audit listing (SPEC §11) through a real
front end.

Each front end gets its own pack runs (ids e2e-pr-<front>-...), inserted
here as the Orchestrator would write them and deleted at the end, so the
other cases and front ends see the data set as it was.  The audit records
of the mutations stay: they are the point of the last cases.

- cancel and retry from each of the seven statuses;
- eight clients retrying one run at once start exactly one new run;
- a retry repeated with its Idempotency-Key is replayed, not repeated;
- the list's order (createdAt desc, packRunId) and its pages;
- the audit listing of acme holds every record of acme, newest first,
  each mutation made here with its action, target and outcome, and
  nothing of globex (whose own mutation shows in globex's listing)."""

import os
import threading

STATUSES = ("pending", "scheduled", "running", "succeeded", "failed",
            "canceled", "timed_out")
CANCEL = {"pending": 200, "scheduled": 200, "running": 200,
          "succeeded": 409, "failed": 409, "canceled": 200,
          "timed_out": 409}
RETRY = {"pending": 409, "scheduled": 409, "running": 409, "succeeded": 409,
         "failed": 201, "canceled": 201, "timed_out": 201}
COLS = ("pack_run_id, tenant_id, project_id, pack_id, pack_version, status, "
        "attempt, retry_of, reason, created_at, started_at, finished_at, "
        "updated_at, canceled_by")

_tokens = {}


def _tok(env, tenant, scope):
    k = (tenant, scope)
    if k not in _tokens:
        _tokens[k] = env.mint(os.path.join(env.srcdir, "tests/keys/rsa.pem"),
                              "rsa-1", tenant, scope)
    return _tokens[k]


def _row(env, rid):
    rows = env.sql("SELECT %s FROM pack_runs WHERE pack_run_id = ?" % COLS,
                   (rid,))
    return rows[0] if rows else None


def _add(env, rid, status, created, tenant="acme", retry_of=None, attempt=1):
    done = status not in ("pending", "scheduled", "running")
    env.sql("INSERT INTO pack_runs (%s) VALUES (?, ?, '', 'e2e.pack', "
            "'1.0.0', ?, ?, ?, ?, ?, ?, ?, ?, ?)" % COLS,
            (rid, tenant, status, attempt, retry_of,
             "earlier" if done else None, created, created + 10,
             created + 20 if done else None, created + 20,
             "someone" if status == "canceled" else None))


def run(front, env, e2e):
    port = front.port
    prefix = "e2e-pr-%s-" % front.name
    made = []               # pack runs to delete at the end
    mine = []               # (traceId, action, targetId, outcome) sent
    seq = [0]
    lock = threading.Lock()

    def headers(tenant, scope, **extra):
        h = {"Authorization": "Bearer " + _tok(env, tenant, scope),
             "X-Stella-Tenant": tenant}
        h.update(extra)
        return h

    def post(rid, action, tenant="acme", **extra):
        with lock:
            seq[0] += 1
            trace = "%s%d" % (prefix, seq[0])
        scope = "orch:operate" if action == "cancel" else "orch:backfill"
        h = headers(tenant, scope, **{
            "X-Stella-Operator-Reason": "e2e " + action,
            "X-Stella-Trace-Id": trace})
        h.update(extra)
        r = e2e.request(port, "POST", "/jobengine/pack-runs/%s/%s"
                        % (rid, action), h, body=b"")
        if r.header("Idempotent-Replayed") is None:
            mine.append((tenant, trace, "packRun." + action, rid, r.status))
        return r

    def add(name, status, created, **kw):
        rid = prefix + name
        _add(env, rid, status, created, **kw)
        made.append(rid)
        return rid

    def c_cancel_table():
        for i, st in enumerate(STATUSES):
            rid = add("cancel-" + st, st, 1000 + i)
            before = _row(env, rid)
            r = post(rid, "cancel")
            if CANCEL[st] == 409:
                e2e.expect_error(r, 409, "ERR_PACKRUN_TERMINAL")
                e2e.expect_eq("row after refused cancel from " + st,
                              _row(env, rid), before)
                continue
            e2e.expect_eq("cancel from %s: status" % st, r.status, 200)
            e2e.expect_eq("Cache-Control", r.header("Cache-Control"),
                          "no-store")
            doc = r.json()
            e2e.expect_eq("packRunId", doc["packRunId"], rid)
            e2e.expect_eq("status", doc["status"], "canceled")
            if st == "canceled":
                e2e.expect_eq("row after cancel of a canceled run",
                              _row(env, rid), before)
                e2e.expect_eq("canceledBy", doc["canceledBy"], "someone")
            else:
                e2e.expect_eq("reason", doc["reason"], "user_cancelled")
                e2e.expect_eq("canceledBy", doc["canceledBy"],
                              "e2e-operator")
                e2e.expect(doc["finishedAt"] is not None, "no finishedAt")
                e2e.expect_eq("stored status", _row(env, rid)[5], "canceled")

    def c_retry_table():
        for i, st in enumerate(STATUSES):
            rid = add("retry-" + st, st, 2000 + i, attempt=2)
            before = _row(env, rid)
            r = post(rid, "retry")
            e2e.expect_eq("original after retry from " + st,
                          _row(env, rid), before)
            if RETRY[st] == 409:
                e2e.expect_error(r, 409, "ERR_PACKRUN_NOT_RETRYABLE")
                continue
            e2e.expect_eq("retry from %s: status" % st, r.status, 201)
            doc = r.json()
            made.append(doc["packRunId"])
            e2e.expect_eq("Location", r.header("Location"),
                          "/jobengine/pack-runs/" + doc["packRunId"])
            for k, want in (("status", "pending"), ("attempt", 3),
                            ("retryOf", rid), ("packId", "e2e.pack"),
                            ("packVersion", "1.0.0"), ("reason", None),
                            ("startedAt", None), ("finishedAt", None),
                            ("canceledBy", None)):
                e2e.expect_eq(k, doc[k], want)
            g = e2e.request(port, "GET", r.header("Location"),
                            headers("acme", "orch:read"))
            e2e.expect_eq("GET Location", g.status, 200)
            e2e.expect_eq("GET Location body", g.json(), doc)
            again = post(rid, "retry")
            e2e.expect_error(again, 409, "ERR_PACKRUN_RETRY_IN_PROGRESS")

    def c_concurrent_retries():
        rid = add("race", "failed", 3000)
        out = [None] * 8
        go = threading.Barrier(8)

        def one(k):
            go.wait()
            try:
                out[k] = post(rid, "retry")
            except Exception as e:      # reported below
                out[k] = e
        ts = [threading.Thread(target=one, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        bad = [o for o in out if not hasattr(o, "status")]
        e2e.expect(not bad, "requests failed: %r" % bad)
        codes = sorted(o.status for o in out)
        e2e.expect_eq("statuses", codes, [201] + [409] * 7)
        for o in out:
            if o.status == 409:
                e2e.expect_error(o, 409, "ERR_PACKRUN_RETRY_IN_PROGRESS")
            else:
                made.append(o.json()["packRunId"])
        e2e.expect_eq("runs with retryOf = the run", env.sql(
            "SELECT count(*) FROM pack_runs WHERE retry_of = ?", (rid,)),
            [(1,)])

    def c_idempotent_retry():
        rid = add("idem", "timed_out", 3100)
        key = {"Idempotency-Key": prefix + "idem"}
        first = post(rid, "retry", **key)
        e2e.expect_eq("first", first.status, 201)
        made.append(first.json()["packRunId"])
        second = post(rid, "retry", **key)
        e2e.expect_eq("replay status", second.status, 201)
        e2e.expect_eq("Idempotent-Replayed",
                      second.header("Idempotent-Replayed"), "true")
        e2e.expect_eq("replayed body", second.body, first.body)
        e2e.expect_eq("Location", second.header("Location"),
                      first.header("Location"))
        e2e.expect_eq("runs with retryOf = the run", env.sql(
            "SELECT count(*) FROM pack_runs WHERE retry_of = ?", (rid,)),
            [(1,)])

    def scan(path, tenant, scope, limit):
        items, token, pages = [], None, 0
        while True:
            q = path + ("&" if "?" in path else "?") + "limit=%d" % limit
            if token:
                q += "&continuationToken=" + token
            r = e2e.request(port, "GET", q, headers(tenant, scope))
            e2e.expect_eq("status of %s" % q, r.status, 200)
            doc = r.json()
            e2e.expect(len(doc["items"]) <= limit, "page over limit")
            items += doc["items"]
            token = doc["continuationToken"]
            pages += 1
            e2e.expect(pages < 1000, "too many pages")
            if not token:
                return items

    def c_list_order_and_pages():
        want = [x[0] for x in env.sql(
            "SELECT pack_run_id FROM pack_runs WHERE tenant_id = 'acme' "
            "ORDER BY created_at DESC, pack_run_id")]
        for limit in (7, 50, 200):
            got = [i["packRunId"] for i in scan("/jobengine/pack-runs",
                                                "acme", "orch:read", limit)]
            e2e.expect_eq("order with limit %d" % limit, got, want)
        want = [x[0] for x in env.sql(
            "SELECT pack_run_id FROM pack_runs WHERE tenant_id = 'acme' "
            "AND status = 'failed' AND pack_id = 'e2e.pack' "
            "ORDER BY created_at DESC, pack_run_id")]
        got = [i["packRunId"] for i in scan(
            "/jobengine/pack-runs?status=failed&packId=e2e.pack", "acme",
            "orch:read", 1)]
        e2e.expect_eq("filtered order", got, want)
        r = e2e.request(port, "GET", "/jobengine/pack-runs?status=done",
                        headers("acme", "orch:read"))
        e2e.expect_error(r, 400, "ERR_INVALID_QUERY")

    def c_globex_mutation():
        rid = add("globex", "running", 3200, tenant="globex")
        r = post(rid, "cancel", tenant="globex")
        e2e.expect_eq("globex cancel", r.status, 200)
        r = post(rid, "cancel")         # acme cannot see it
        e2e.expect_error(r, 404, "ERR_PACKRUN_NOT_FOUND")

    def c_audit_listing():
        items = scan("/jobengine/audit", "acme", "orch:operate", 37)
        e2e.expect_eq("seq, newest first, every acme record",
                      [i["seq"] for i in items],
                      [x[0] for x in env.sql(
                          "SELECT seq FROM audit WHERE tenant_id = 'acme' "
                          "ORDER BY seq DESC")])
        e2e.expect(all(i["tenantId"] == "acme" for i in items),
                   "a record of another tenant")
        fields = {"seq", "occurredAt", "tenantId", "projectId", "actor",
                  "clientId", "scopes", "action", "targetType", "targetId",
                  "reason", "ticket", "traceId", "idempotencyKey",
                  "outcome", "hash"}
        by_trace = {}
        for i in items:
            e2e.expect_eq("members", set(i), fields)
            e2e.expect(isinstance(i["hash"], str) and len(i["hash"]) >= 43,
                       "hash %r" % i["hash"])
            by_trace.setdefault(i["traceId"], []).append(i)
        acme = [m for m in mine if m[0] == "acme"]
        e2e.expect_eq("mutations sent", len(acme), 27)
        for _, trace, action, rid, status in acme:
            recs = by_trace.get(trace, [])
            e2e.expect_eq("records of %s" % trace, len(recs), 1)
            rec = recs[0]
            e2e.expect_eq("action of " + trace, rec["action"], action)
            e2e.expect_eq("targetType of " + trace, rec["targetType"],
                          "packRun")
            e2e.expect_eq("targetId of " + trace, rec["targetId"], rid)
            e2e.expect_eq("outcome of " + trace, rec["outcome"], status)
            e2e.expect_eq("actor of " + trace, rec["actor"], "e2e-operator")
            e2e.expect_eq("reason of " + trace, rec["reason"],
                          "e2e " + action.split(".")[1])
        gx = [m for m in mine if m[0] == "globex"]
        e2e.expect(not any(t in by_trace for _, t, _, _, _ in gx),
                   "globex's mutation in acme's listing")
        g = scan("/jobengine/audit?action=packRun.cancel&targetType=packRun"
                 "&targetId=" + gx[0][3], "globex", "orch:operate", 5)
        e2e.expect_eq("globex's own listing", [i["traceId"] for i in g],
                      [gx[0][1]])
        # Filters: one run's records, oldest-first reversal of the whole.
        rid = prefix + "race"
        f = scan("/jobengine/audit?targetId=" + rid, "acme",
                 "orch:operate", 3)
        e2e.expect_eq("records of the raced run",
                      sorted(i["outcome"] for i in f), [201] + [409] * 7)
        e2e.expect_eq("filtered order", [i["seq"] for i in f],
                      sorted((i["seq"] for i in f), reverse=True))
        r = e2e.request(port, "GET", "/jobengine/audit",
                        headers("acme", "orch:read"))
        e2e.expect_error(r, 403, "ERR_SCOPE_MISMATCH")
        # The chain held while eight processes appended at once.
        try:
            env.run_admin("audit", "verify", "--tenant", "acme")
        except RuntimeError as e:
            raise e2e.Failed(str(e))

    cases = [
        ("pack-run cancel from each of the seven statuses", c_cancel_table),
        ("pack-run retry from each of the seven statuses, then again -> "
         "409 ERR_PACKRUN_RETRY_IN_PROGRESS", c_retry_table),
        ("8 concurrent retries of one run start exactly one", c_concurrent_retries),
        ("retry with the same Idempotency-Key is replayed", c_idempotent_retry),
        ("pack-runs list: (createdAt desc, packRunId), full scans by pages",
         c_list_order_and_pages),
        ("another tenant's run: globex cancels it, acme gets 404", c_globex_mutation),
        ("audit listing: every acme record newest first, each mutation "
         "here once, nothing of globex", c_audit_listing),
    ]
    try:
        for name, fn in cases:
            try:
                fn()
                e2e.report(front.name, name, True)
            except e2e.Failed as e:
                e2e.report(front.name, name, False, str(e))
            except Exception as e:      # one failure must not stop the rest
                e2e.report(front.name, name, False,
                           "%s: %s" % (type(e).__name__, e))
    finally:
        for rid in made:
            env.sql("DELETE FROM pack_runs WHERE pack_run_id = ?", (rid,))
