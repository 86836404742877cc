"""Quotas (SPEC §9 If-Match, §10 Quota, Quota summary) through a real
front end.

Each front end creates its own quotas (jobType e2e-<front>-...) and deletes
them by the end, so the data set is as it was for the next one.  The
summary is checked against a small tenant of its own (e2eq-<front>) whose
quotas and jobs are written here, as the Orchestrator would write jobs,
with start times relative to now, and removed at the end.

- list (order, pages, filters, project narrowing), get, 304 on the
  version ETag;
- create (201, Location, stamped project), duplicate 409, Idempotency-Key
  replay and reuse;
- PUT and DELETE with current, stale and weak If-Match; eight operators
  racing on one version: exactly one 200;
- pause, resume and their no-ops (no new version);
- every refusal: scope, reason, body classes, another tenant's quota,
  another project's quota;
- the summary's figures at each backpressure level;
- the audit records of pause, resume and delete, and a clean
  `jobengine-admin audit verify` at the end."""

import json
import os
import threading
import time

_tokens = {}


def _tok(env, tenant, scope):
    k = (tenant, scope)
    if k not in _tokens:
        _tokens[k] = env.mint(os.path.join(env.srcdir, "tests/keys/rsa.pem"),
                              "rsa-1", tenant, scope)
    return _tokens[k]


QUOTA_KEYS = ["quotaId", "tenantId", "projectId", "jobType", "maxActive",
              "maxPerHour", "burst", "paused", "pauseReason", "pauseTicket",
              "pausedAt", "pausedBy", "version", "createdAt", "updatedAt",
              "updatedBy"]


def run(front, env, e2e):
    port = front.port
    tag = front.name.replace("_", "-")
    jt = "e2e-%s" % tag                 # jobType prefix of this front end
    made = []                           # quota ids to delete at the end
    expect, expect_eq = e2e.expect, e2e.expect_eq

    def h(tenant="acme", scope="orch:quota", **extra):
        hd = {"Authorization": "Bearer " + _tok(env, tenant, scope),
              "X-Stella-Tenant": tenant}
        hd.update(extra)
        return hd

    def mut(tenant="acme", scope="orch:quota", **extra):
        hd = h(tenant, scope, **{"X-Stella-Operator-Reason": "e2e quotas",
                                 "Content-Type": "application/json"})
        hd.update(extra)
        return hd

    def req(method, path, headers, body=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        elif body is None and method == "POST":
            body = b""      # lighttpd answers 411 to a POST without length
        return e2e.request(port, method, path, headers, body)

    def create(job_type, headers=None, **limits):
        body = {"jobType": job_type, "maxActive": 4, "maxPerHour": 40}
        body.update(limits)
        r = req("POST", "/jobengine/quotas", headers or mut(), body)
        if r.status == 201:
            made.append(r.json()["quotaId"])
        return r

    def acme_quotas(project=None):
        sql = ("SELECT job_type, quota_id FROM quotas WHERE tenant_id = "
               "'acme'")
        args = ()
        if project is not None:
            sql += " AND project_id = ?"
            args = (project,)
        return [list(x) for x in env.sql(sql + " ORDER BY job_type, quota_id",
                                         args)]

    def version(qid):
        rows = env.sql("SELECT version FROM quotas WHERE quota_id = ?", (qid,))
        return rows[0][0] if rows else None

    def case(name, fn):
        try:
            fn()
            e2e.report(front.name, "quotas: " + name, True)
        except e2e.Failed as e:
            e2e.report(front.name, "quotas: " + name, False, str(e))
        except Exception as e:      # a broken case must not stop the rest
            e2e.report(front.name, "quotas: " + name, False,
                       "%s: %s" % (type(e).__name__, e))

    # ------------------------------------------------------------ reads

    def c_list():
        r = req("GET", "/jobengine/quotas?limit=200", h())
        expect_eq("status", r.status, 200)
        e2e.expect_cacheable(r)
        doc = r.json()
        expect_eq("items", [[i["jobType"], i["quotaId"]] for i in doc["items"]],
                  acme_quotas())
        expect_eq("members", list(doc["items"][0].keys()), QUOTA_KEYS)
        expect_eq("continuationToken", doc["continuationToken"], None)

    def c_pages():
        seen, url, pages = [], "/jobengine/quotas?limit=3", 0
        while url:
            r = req("GET", url, h())
            expect_eq("status", r.status, 200)
            doc = r.json()
            expect(len(doc["items"]) <= 3, "page too long")
            seen += [[i["jobType"], i["quotaId"]] for i in doc["items"]]
            ct = doc["continuationToken"]
            url = "/jobengine/quotas?limit=3&continuationToken=" + ct if ct \
                else None
            pages += 1
            expect(pages < 50, "endless pages")
        expect_eq("full scan", seen, acme_quotas())

    def c_filters():
        want = env.sql("SELECT quota_id FROM quotas WHERE tenant_id = 'acme' "
                       "AND job_type = 'scan.image' ORDER BY quota_id")
        r = req("GET", "/jobengine/quotas?jobType=scan.image&paused=false",
                h())
        expect_eq("status", r.status, 200)
        expect_eq("items", [i["quotaId"] for i in r.json()["items"]],
                  [x[0] for x in want])
        r = req("GET", "/jobengine/quotas?paused=maybe", h())
        e2e.expect_error(r, 400, "ERR_INVALID_QUERY")
        r = req("GET", "/jobengine/quotas?jobType=Scan", h())
        e2e.expect_error(r, 400, "ERR_INVALID_QUERY")
        r = req("GET", "/jobengine/quotas?limit=0", h())
        e2e.expect_error(r, 400, "ERR_INVALID_LIMIT")

    def c_project_narrows():
        r = req("GET", "/jobengine/quotas?limit=200",
                h(**{"X-Stella-Project": "alpha"}))
        expect_eq("status", r.status, 200)
        expect_eq("items", [[i["jobType"], i["quotaId"]]
                            for i in r.json()["items"]],
                  acme_quotas("alpha"))
        beta = acme_quotas("beta")[0][1]
        r = req("GET", "/jobengine/quotas/" + beta,
                h(**{"X-Stella-Project": "alpha"}))
        e2e.expect_error(r, 404, "ERR_QUOTA_NOT_FOUND")
        r = req("POST", "/jobengine/quotas/%s/pause" % beta,
                mut(**{"X-Stella-Project": "alpha"}))
        e2e.expect_error(r, 404, "ERR_QUOTA_NOT_FOUND")

    def c_get_and_304():
        qid = acme_quotas()[0][1]
        r = req("GET", "/jobengine/quotas/" + qid, h())
        expect_eq("status", r.status, 200)
        etag = e2e.expect_cacheable(r)
        expect(etag.startswith('"q%d-' % version(qid)),
               "ETag %s not from version %d" % (etag, version(qid)))
        expect_eq("quotaId", r.json()["quotaId"], qid)
        r2 = req("GET", "/jobengine/quotas/" + qid,
                 h(**{"If-None-Match": "W/" + etag}))
        expect_eq("status", r2.status, 304)
        expect_eq("ETag", r2.header("ETag"), etag)
        expect_eq("body", r2.body, b"")
        r3 = req("HEAD", "/jobengine/quotas/" + qid, h())
        expect_eq("HEAD status", r3.status, 200)
        expect_eq("HEAD ETag", r3.header("ETag"), etag)
        expect_eq("HEAD body", r3.body, b"")

    def c_foreign():
        gid = env.sql("SELECT quota_id FROM quotas WHERE tenant_id = "
                      "'globex' ORDER BY quota_id LIMIT 1")[0][0]
        for m, path, body in (("GET", gid, None), ("PUT", gid,
                              {"maxActive": 1, "maxPerHour": 1}),
                              ("DELETE", gid, None),
                              ("POST", gid + "/pause", None),
                              ("POST", gid + "/resume", None)):
            r = req(m, "/jobengine/quotas/" + path,
                    h() if m == "GET" else mut(), body)
            e2e.expect_error(r, 404, "ERR_QUOTA_NOT_FOUND")
        expect_eq("globex quota untouched", version(gid),
                  env.sql("SELECT version FROM quotas WHERE quota_id = ?",
                          (gid,))[0][0])

    def c_scope():
        qid = acme_quotas()[0][1]
        www = 'Bearer error="insufficient_scope", scope="orch:quota"'
        for m, path in (("GET", "/jobengine/quotas"),
                        ("GET", "/jobengine/quotas/summary"),
                        ("GET", "/jobengine/quotas/" + qid),
                        ("POST", "/jobengine/quotas/%s/pause" % qid),
                        ("DELETE", "/jobengine/quotas/" + qid)):
            hd = h(scope="orch:read orch:operate orch:backfill")
            hd["X-Stella-Operator-Reason"] = "e2e"
            r = req(m, path, hd)
            e2e.expect_error(r, 403, "ERR_SCOPE_MISMATCH", www)

    # ------------------------------------------------------------ writes

    def c_create():
        r = create(jt + "-a", burst=3)
        expect_eq("status", r.status, 201)
        doc = r.json()
        expect_eq("Location", r.header("Location"),
                  "/jobengine/quotas/" + doc["quotaId"])
        expect_eq("Cache-Control", r.header("Cache-Control"), "no-store")
        expect(r.header("ETag") == '"q1-%s' % r.header("ETag")[4:],
               "ETag %r" % r.header("ETag"))
        expect_eq("version", doc["version"], 1)
        expect_eq("limits", (doc["maxActive"], doc["maxPerHour"], doc["burst"]),
                  (4, 40, 3))
        expect_eq("projectId", doc["projectId"], None)
        expect_eq("updatedBy", doc["updatedBy"], "e2e-operator")
        g = req("GET", r.header("Location"), h())
        expect_eq("GET status", g.status, 200)
        expect_eq("GET body", g.json(), doc)
        expect_eq("GET ETag", g.header("ETag"), r.header("ETag"))
        # burst defaults to maxActive capped at maxPerHour
        r = create(jt + "-b", maxActive=50, maxPerHour=20)
        expect_eq("status", r.status, 201)
        expect_eq("default burst", r.json()["burst"], 20)
        # the project header stamps the row; same jobType, other project: ok
        r = create(jt + "-a", headers=mut(**{"X-Stella-Project": "alpha"}))
        expect_eq("status", r.status, 201)
        expect_eq("projectId", r.json()["projectId"], "alpha")
        expect_eq("stored project", env.sql(
            "SELECT project_id FROM quotas WHERE quota_id = ?",
            (r.json()["quotaId"],))[0][0], "alpha")

    def c_duplicate():
        before = len(acme_quotas())
        r = create(jt + "-a")
        e2e.expect_error(r, 409, "ERR_QUOTA_EXISTS")
        r = create("scan.image", headers=mut(**{"X-Stella-Project": "alpha"}))
        e2e.expect_error(r, 409, "ERR_QUOTA_EXISTS")
        expect_eq("no row added", len(acme_quotas()), before)

    def c_bad_bodies():
        cases = [
            ({"jobType": jt + "-x", "maxActive": "5", "maxPerHour": 5},
             400, ["/maxActive"]),
            ({"jobType": jt + "-x", "maxActive": 5.0, "maxPerHour": 5},
             400, ["/maxActive"]),
            ({"jobType": jt + "-x", "maxActive": 5, "maxPerHour": 5,
              "paused": True}, 400, ["/paused"]),
            ({"jobType": "Not Valid", "maxActive": 0, "maxPerHour": 10000001},
             400, ["/jobType", "/maxActive", "/maxPerHour"]),
            ({"maxActive": 5}, 400, ["/jobType", "/maxPerHour"]),
            ({"jobType": jt + "-x", "maxActive": 5, "maxPerHour": 5,
              "burst": 6}, 422, ["/burst"]),
        ]
        for body, status, pointers in cases:
            r = req("POST", "/jobengine/quotas", mut(), body)
            err = e2e.expect_error(
                r, status, "ERR_VALIDATION" if status == 422
                else "ERR_INVALID_BODY")
            expect_eq("pointers for %s" % json.dumps(body),
                      [d["pointer"] for d in err.get("details", [])], pointers)
        r = req("POST", "/jobengine/quotas", mut(), '{"jobType":"a",}')
        e2e.expect_error(r, 400, "ERR_INVALID_BODY")
        r = req("POST", "/jobengine/quotas", mut(**{"Content-Type":
                                                    "text/plain"}),
                {"jobType": jt + "-x", "maxActive": 5, "maxPerHour": 5})
        e2e.expect_error(r, 415, "ERR_UNSUPPORTED_MEDIA_TYPE")
        hd = mut()
        del hd["X-Stella-Operator-Reason"]
        r = req("POST", "/jobengine/quotas", hd,
                {"jobType": jt + "-x", "maxActive": 5, "maxPerHour": 5})
        e2e.expect_error(r, 400, "ERR_OPERATOR_REASON_REQUIRED")
        expect_eq("nothing created", env.sql(
            "SELECT count(*) FROM quotas WHERE job_type = ?",
            (jt + "-x",))[0][0], 0)

    def c_idempotent_create():
        key = "e2e-quota-%s-%d" % (tag, time.time_ns())
        hd = mut(**{"Idempotency-Key": key})
        body = {"jobType": jt + "-idem", "maxActive": 2, "maxPerHour": 9}
        r1 = create(jt + "-idem", headers=hd, maxActive=2, maxPerHour=9)
        expect_eq("first", r1.status, 201)
        r2 = req("POST", "/jobengine/quotas", hd, body)
        expect_eq("replay status", r2.status, 201)
        expect_eq("Idempotent-Replayed", r2.header("Idempotent-Replayed"),
                  "true")
        expect_eq("replayed body", r2.body, r1.body)
        expect_eq("one row", env.sql(
            "SELECT count(*) FROM quotas WHERE job_type = ?",
            (jt + "-idem",))[0][0], 1)
        body["maxActive"] = 3
        r3 = req("POST", "/jobengine/quotas", hd, body)
        e2e.expect_error(r3, 422, "ERR_IDEMPOTENCY_KEY_REUSED")

    def c_put_if_match():
        qid = create(jt + "-put").json()["quotaId"]
        path = "/jobengine/quotas/" + qid
        etag = req("GET", path, h()).header("ETag")
        body = {"maxActive": 7, "maxPerHour": 70}
        for bad in ('"q9-AAAAAAAAAAAAAAAA"', "W/" + etag, "nonsense"):
            r = req("PUT", path, mut(**{"If-Match": bad}), body)
            e2e.expect_error(r, 412, "ERR_PRECONDITION_FAILED")
        expect_eq("stale tags changed nothing", version(qid), 1)
        r = req("PUT", path, mut(**{"If-Match": '"x", ' + etag}), body)
        expect_eq("status", r.status, 200)
        expect_eq("Cache-Control", r.header("Cache-Control"), "no-store")
        new = r.header("ETag")
        expect(new.startswith('"q2-') and new != etag, "new ETag %r" % new)
        doc = r.json()
        expect_eq("version", doc["version"], 2)
        expect_eq("limits", (doc["maxActive"], doc["maxPerHour"],
                             doc["burst"]), (7, 70, 7))
        r = req("PUT", path, mut(**{"If-Match": etag}), body)
        e2e.expect_error(r, 412, "ERR_PRECONDITION_FAILED")
        r = req("PUT", path, mut(), {"maxActive": 7, "maxPerHour": 70,
                                     "burst": 71})
        e2e.expect_error(r, 422, "ERR_VALIDATION")
        r = req("PUT", path, mut(), {"jobType": "x", "maxActive": 7,
                                     "maxPerHour": 70})
        e2e.expect_error(r, 400, "ERR_INVALID_BODY")
        r = req("PUT", path, mut(), body)      # unconditional
        expect_eq("unconditional status", r.status, 200)
        expect_eq("version", r.json()["version"], 3)

    def c_race():
        qid = create(jt + "-race").json()["quotaId"]
        path = "/jobengine/quotas/" + qid
        etag = req("GET", path, h()).header("ETag")
        out, lock = [], threading.Lock()

        def one(i):
            r = req("PUT", path, mut(**{"If-Match": etag}),
                    {"maxActive": 10 + i, "maxPerHour": 100})
            with lock:
                out.append(r.status)

        ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        expect_eq("statuses", sorted(out), [200] + [412] * 7)
        expect_eq("version", version(qid), 2)

    def c_pause_resume():
        qid = create(jt + "-pause").json()["quotaId"]
        base = "/jobengine/quotas/" + qid
        r = req("POST", base + "/pause",
                mut(**{"X-Stella-Operator-Reason": "registry outage",
                       "X-Stella-Operator-Ticket": "OPS-1234"}))
        expect_eq("pause status", r.status, 200)
        expect_eq("Cache-Control", r.header("Cache-Control"), "no-store")
        doc = r.json()
        expect_eq("paused", (doc["paused"], doc["pauseReason"],
                             doc["pauseTicket"], doc["pausedBy"],
                             doc["version"]),
                  (True, "registry outage", "OPS-1234", "e2e-operator", 2))
        expect(doc["pausedAt"] is not None, "pausedAt missing")
        etag = r.header("ETag")
        expect(etag.startswith('"q2-'), "ETag %r" % etag)
        r = req("POST", base + "/pause", mut())
        expect_eq("no-op pause", r.status, 200)
        expect_eq("no-op body", r.json(), doc)
        expect_eq("no-op ETag", r.header("ETag"), etag)
        r = req("POST", base + "/resume", mut())
        expect_eq("resume status", r.status, 200)
        doc = r.json()
        expect_eq("resumed", (doc["paused"], doc["pauseReason"],
                              doc["pauseTicket"], doc["pausedAt"],
                              doc["pausedBy"], doc["version"]),
                  (False, None, None, None, None, 3))
        r = req("POST", base + "/resume", mut())
        expect_eq("no-op resume", r.status, 200)
        expect_eq("no-op version", r.json()["version"], 3)
        expect_eq("stored version", version(qid), 3)
        acts = env.sql("SELECT action, outcome, reason, ticket FROM audit "
                       "WHERE tenant_id = 'acme' AND target_id = ? "
                       "ORDER BY seq", (qid,))
        expect_eq("audit", [tuple(a) for a in acts],
                  [("quota.create", 201, "e2e quotas", None),
                   ("quota.pause", 200, "registry outage", "OPS-1234"),
                   ("quota.pause", 200, "e2e quotas", None),
                   ("quota.resume", 200, "e2e quotas", None),
                   ("quota.resume", 200, "e2e quotas", None)])

    def c_delete():
        qid = create(jt + "-del").json()["quotaId"]
        path = "/jobengine/quotas/" + qid
        etag = req("GET", path, h()).header("ETag")
        r = req("DELETE", path, mut(**{"If-Match": '"q7-AAAAAAAAAAAAAAAA"'}))
        e2e.expect_error(r, 412, "ERR_PRECONDITION_FAILED")
        expect_eq("still there", version(qid), 1)
        hd = mut()
        del hd["X-Stella-Operator-Reason"]
        r = req("DELETE", path, hd)
        e2e.expect_error(r, 400, "ERR_OPERATOR_REASON_REQUIRED")
        r = req("DELETE", path, mut(**{"If-Match": etag}))
        expect_eq("status", r.status, 204)
        expect_eq("body", r.body, b"")
        expect_eq("Cache-Control", r.header("Cache-Control"), "no-store")
        r = req("GET", path, h())
        e2e.expect_error(r, 404, "ERR_QUOTA_NOT_FOUND")
        r = req("DELETE", path, mut())
        e2e.expect_error(r, 404, "ERR_QUOTA_NOT_FOUND")
        acts = env.sql("SELECT action, outcome FROM audit WHERE target_id = ? "
                       "ORDER BY seq", (qid,))
        # The missing reason was refused before the handler: no record.
        expect_eq("audit", [tuple(a) for a in acts],
                  [("quota.create", 201), ("quota.delete", 412),
                   ("quota.delete", 204), ("quota.delete", 404)])

    # ------------------------------------------------------------ summary

    def c_summary():
        tenant = "e2eq-" + tag
        now = int(time.time())
        quotas = [
            # id, project, jobType, maxActive, maxPerHour, burst, paused
            ("n", "", "n.normal", 10, 100, 10, 0),
            ("e", "p1", "e.elevated", 5, 100, 5, 0),
            ("q", "", "q.queued", 2, 100, 2, 0),
            ("s", "", "s.saturated", 3, 2, 2, 0),
            ("a", "p2", "a.active", 2, 100, 2, 0),
            ("p", "", "p.paused", 1, 10, 1, 1),
        ]
        jobs = [
            # project, jobType, status, count, started (seconds ago or None)
            ("", "n.normal", "running", 2, 600),
            ("p1", "n.normal", "pending", 1, None),
            ("", "n.normal", "succeeded", 1, 7200),
            ("p1", "e.elevated", "leased", 4, 300),
            ("p2", "e.elevated", "running", 2, 300),
            ("", "q.queued", "scheduled", 3, None),
            ("", "s.saturated", "running", 1, 100),
            ("", "s.saturated", "succeeded", 1, 200),
            ("p2", "a.active", "running", 2, 5000),
            ("", "p.paused", "running", 3, 7200),
        ]
        want = {
            # active, queued, admitted, tokens, utilization, backpressure
            "n": (2, 1, 2, 10, 0.2, "normal"),
            "e": (4, 0, 4, 5, 0.8, "elevated"),
            "q": (0, 3, 0, 2, 0, "elevated"),
            "s": (1, 0, 2, 0, 0.3333, "saturated"),
            "a": (2, 0, 0, 2, 1, "saturated"),
            "p": (3, 0, 0, 1, 3, "paused"),
        }
        try:
            for qid, proj, jtype, ma, mph, burst, paused in quotas:
                env.sql("INSERT INTO quotas (quota_id, tenant_id, project_id, "
                        "job_type, max_active, max_per_hour, burst, paused, "
                        "pause_reason, paused_at, paused_by, created_at, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?)", ("%s-%s" % (tenant, qid), tenant, proj, jtype,
                                  ma, mph, burst, paused,
                                  "e2e" if paused else None,
                                  now if paused else None,
                                  "e2e" if paused else None, now, now))
            k = 0
            for proj, jtype, status, n, ago in jobs:
                for _ in range(n):
                    k += 1
                    env.sql("INSERT INTO jobs (job_id, tenant_id, project_id, "
                            "job_type, status, created_at, started_at) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?)",
                            ("%s-job-%d" % (tenant, k), tenant, proj, jtype,
                             status, now - 9000,
                             None if ago is None else now - ago))
            r = req("GET", "/jobengine/quotas/summary", h(tenant=tenant))
            expect_eq("status", r.status, 200)
            e2e.expect_cacheable(r)
            doc = r.json()
            expect_eq("totals", doc["totals"],
                      {"quotas": 6, "paused": 1, "maxActive": 23,
                       "active": 12, "queued": 4, "admittedLastHour": 8})
            order = sorted(quotas, key=lambda q: (q[2], "%s-%s" % (tenant,
                                                                   q[0])))
            expect_eq("order", [i["quotaId"] for i in doc["items"]],
                      ["%s-%s" % (tenant, q[0]) for q in order])
            for it in doc["items"]:
                qid = it["quotaId"].rsplit("-", 1)[1]
                got = (it["active"], it["queued"], it["admittedLastHour"],
                       it["tokensAvailable"], it["utilization"],
                       it["backpressure"])
                expect_eq("item " + qid, got, want[qid])
                expect_eq("members " + qid, list(it.keys()),
                          ["quotaId", "jobType", "projectId", "paused",
                           "maxActive", "maxPerHour", "burst", "active",
                           "queued", "admittedLastHour", "tokensAvailable",
                           "utilization", "backpressure"])
            # The project header narrows to that project's quotas.
            r = req("GET", "/jobengine/quotas/summary",
                    h(tenant=tenant, **{"X-Stella-Project": "p1"}))
            doc = r.json()
            expect_eq("project items", [i["quotaId"] for i in doc["items"]],
                      ["%s-e" % tenant])
            expect_eq("project totals", doc["totals"],
                      {"quotas": 1, "paused": 0, "maxActive": 5, "active": 4,
                       "queued": 0, "admittedLastHour": 4})
        finally:
            env.sql("DELETE FROM jobs WHERE tenant_id = ?", (tenant,))
            env.sql("DELETE FROM quotas WHERE tenant_id = ?", (tenant,))

    def c_summary_acme():
        r = req("GET", "/jobengine/quotas/summary", h())
        expect_eq("status", r.status, 200)
        doc = r.json()
        expect_eq("order", [[i["jobType"], i["quotaId"]] for i in doc["items"]],
                  acme_quotas())
        for it in doc["items"]:
            want = env.sql(
                "SELECT coalesce(sum(CASE WHEN status IN ('leased', "
                "'running') THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN "
                "status IN ('pending', 'scheduled') THEN 1 ELSE 0 END), 0) "
                "FROM jobs WHERE tenant_id = 'acme' AND job_type = ? AND "
                "(? IS NULL OR project_id = ?)",
                (it["jobType"], it["projectId"], it["projectId"]))[0]
            expect_eq("active/queued of " + it["quotaId"],
                      (it["active"], it["queued"]), tuple(want))

    def c_cleanup_and_verify():
        for qid in made:
            if version(qid) is not None:
                r = req("DELETE", "/jobengine/quotas/" + qid, mut())
                expect_eq("delete %s" % qid, r.status, 204)
        expect_eq("no e2e quotas left", env.sql(
            "SELECT count(*) FROM quotas WHERE job_type LIKE ?",
            (jt + "-%",))[0][0], 0)
        out = env.run_admin("audit", "verify")
        expect("bad" not in out.lower(), "audit verify: %s" % out)

    case("list in (jobType, quotaId) order", c_list)
    case("pages of 3 return every quota once", c_pages)
    case("filters jobType and paused, bad values", c_filters)
    case("X-Stella-Project narrows reads and writes", c_project_narrows)
    case("get, HEAD, 304 on the version ETag", c_get_and_304)
    case("another tenant's quota is 404 on every route", c_foreign)
    case("every route needs orch:quota", c_scope)
    case("create: 201, Location, ETag, default burst, project", c_create)
    case("create duplicate: 409 ERR_QUOTA_EXISTS", c_duplicate)
    case("bad bodies: 400 with pointers, 422, 415, reason", c_bad_bodies)
    case("create with Idempotency-Key: replay, reuse 422",
         c_idempotent_create)
    case("PUT: If-Match current, stale, weak; unconditional", c_put_if_match)
    case("eight operators on one version: one 200, seven 412", c_race)
    case("pause, resume and their no-ops, audited", c_pause_resume)
    case("DELETE: stale 412, reason, 204, then 404, audited", c_delete)
    case("summary figures at each backpressure level", c_summary)
    case("summary of acme matches its jobs", c_summary_acme)
    case("cleanup; audit verify clean", c_cleanup_and_verify)
