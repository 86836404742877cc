"""Stage 8 of a mutation (SPEC §10 Idempotency, §11 Audit) through a real
front end: twenty operators send the same POST /jobengine/quotas/{id}/pause
with one Idempotency-Key at the same moment.  Exactly one of them pauses
the quota (one new version, one audit record); each of the other nineteen
gets either the stored response again, byte for byte with
`Idempotent-Replayed: true`, or 409 ERR_IDEMPOTENCY_IN_PROGRESS.  Then a
later repeat is a replay, and `jobengine-admin audit verify` is clean.

The quota is one of samples/dev-data.ndjson; its row is put back as it was
at the end, so the next front end (and every other case) sees the data
set unchanged."""

import os
import threading
import uuid

N = 20
REASON = "e2e concurrent pause"
TICKET = "E2E-20"


def run(front, env, e2e):
    expect, expect_eq = e2e.expect, e2e.expect_eq
    port = front.port
    tok = env.mint(os.path.join(env.srcdir, "tests/keys/rsa.pem"), "rsa-1",
                   "acme", "orch:quota orch:read")
    rows = env.sql("SELECT quota_id FROM quotas WHERE tenant_id = 'acme' "
                   "AND project_id = '' AND paused = 0 ORDER BY quota_id "
                   "LIMIT 1")
    if not rows:
        e2e.report(front.name, "mutate: a running acme quota in the data set",
                   False, "none in samples/dev-data.ndjson")
        return
    qid = rows[0][0]
    path = "/jobengine/quotas/%s/pause" % qid
    key = "e2e-mutate-%s-%s" % (front.name, uuid.uuid4())
    headers = {"Authorization": "Bearer " + tok, "X-Stella-Tenant": "acme",
               "X-Stella-Operator-Reason": REASON,
               "X-Stella-Operator-Ticket": TICKET, "Idempotency-Key": key}
    cols = env.columns("quotas")
    saved = env.sql("SELECT * FROM quotas WHERE quota_id = ?", (qid,))[0]
    state = {}

    def replayed(r):
        return r.header("Idempotent-Replayed") == "true"

    def c_concurrent():
        version = env.sql("SELECT version FROM quotas WHERE quota_id = ?",
                          (qid,))[0][0]
        barrier = threading.Barrier(N)
        out = [None] * N

        def one(i):
            try:
                barrier.wait(timeout=20)
                out[i] = e2e.request(port, "POST", path, headers, b"")
            except Exception as e:          # reported below, not raised
                out[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        broken = [r for r in out if not isinstance(r, e2e.Resp)]
        expect(not broken, "requests failed: %r" % broken[:3])
        codes = sorted(set(r.status for r in out))
        if codes == [404]:
            body = out[0].body.decode("utf-8", "replace")
            raise e2e.Failed("POST %s answers 404 (%s): the pause route is "
                             "not there yet" % (path, body[:120]))
        firsts = [r for r in out if r.status == 200 and not replayed(r)]
        replays = [r for r in out if r.status == 200 and replayed(r)]
        busy = [r for r in out if r.status == 409]
        others = [r for r in out if r.status not in (200, 409)]
        expect(not others, "unexpected answers: %r" % others[:3])
        expect_eq("first executions", len(firsts), 1)
        first = firsts[0]
        state["first"] = first
        for r in replays:
            expect_eq("replayed body", r.body, first.body)
            expect_eq("replayed ETag", r.header("ETag"), first.header("ETag"))
            expect_eq("replayed Cache-Control", r.header("Cache-Control"),
                      "no-store")
        for r in busy:
            e2e.expect_error(r, 409, "ERR_IDEMPOTENCY_IN_PROGRESS")
        doc = first.json()
        expect_eq("paused", doc.get("paused"), True)
        expect_eq("pauseReason", doc.get("pauseReason"), REASON)
        expect_eq("pauseTicket", doc.get("pauseTicket"), TICKET)
        got = env.sql("SELECT paused, version, pause_reason FROM quotas "
                      "WHERE quota_id = ?", (qid,))[0]
        expect_eq("stored quota", got, (1, version + 1, REASON))
        audit = env.sql("SELECT action, target_type, target_id, outcome, "
                        "reason, ticket FROM audit WHERE idempotency_key = ?",
                        (key,))
        expect_eq("audit records", audit,
                  [("quota.pause", "quota", qid, 200, REASON, TICKET)])
        expect_eq("idempotency record", env.sql(
            "SELECT state, status FROM idempotency WHERE idem_key = ?",
            (key,)), [("done", 200)])
        state["summary"] = "%d first, %d replays, %d in progress" % (
            len(firsts), len(replays), len(busy))

    def c_repeat():
        expect("first" in state, "no first response from the concurrent case")
        r = e2e.request(port, "POST", path, headers, b"")
        expect_eq("status", r.status, 200)
        expect_eq("Idempotent-Replayed", r.header("Idempotent-Replayed"),
                  "true")
        expect_eq("body", r.body, state["first"].body)
        expect_eq("audit records", env.sql(
            "SELECT count(*) FROM audit WHERE idempotency_key = ?",
            (key,))[0][0], 1)

    def c_verify():
        out = env.run_admin("audit", "verify", "--tenant", "acme")
        expect(out.startswith("tenant acme: ok, "), "audit verify: %r" % out)

    cases = [
        ("%d concurrent identical POST %s with one Idempotency-Key: one "
         "pause, one audit record, the rest replays or 409" % (N, path),
         c_concurrent),
        ("a later repeat is the stored response, byte for byte", c_repeat),
        ("jobengine-admin audit verify --tenant acme is clean", c_verify),
    ]
    try:
        for name, fn in cases:
            try:
                fn()
                if fn is c_concurrent:
                    name += " (%s)" % state["summary"]
                e2e.report(front.name, name, True)
            except e2e.Failed as e:
                e2e.report(front.name, name, False, str(e))
            except Exception as e:          # a bug here, not a crash of the run
                e2e.report(front.name, name, False,
                           "%s: %s" % (type(e).__name__, e))
    finally:
        env.sql("DELETE FROM quotas WHERE quota_id = ?", (qid,))
        env.sql("INSERT INTO quotas (%s) VALUES (%s)"
                % (", ".join(cols), ", ".join("?" * len(cols))), saved)
