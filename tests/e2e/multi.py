#!/usr/bin/env python3
"""Several gateway machines on one PostgreSQL (issue 7, docs/storage.md).

Two lighttpd instances on two ports, each with its own program processes
(its own socket folder), both on the same PostgreSQL schema, as two
gateway machines behind one load balancer: both configurations carry the
same server.public_base_url, so a DPoP proof made for the service is
valid on either.  The store is the only thing they share.  Checked:

- DPoP (SPEC §3): a proof used on one machine is refused on the other
  with 401 ERR_INVALID_DPOP_PROOF and its challenge, while a fresh proof
  of the same key passes there; one proof sent 8 times at once to both
  machines passes exactly once;
- quotas (SPEC §9, §10): a quota paused through one machine reads paused
  through the other (body, version ETag, 304 on it), resumed through the
  second reads resumed through the first; an Idempotency-Key sent to one
  machine is replayed by the other; eight If-Match PUTs of one version
  spread over both machines: exactly one 200, seven 412;
- deadletter replay (SPEC §10, docs/storage.md invariant 5): 8 clients
  replaying the same 200 entries (single replays and batches), every
  request going to the machine the client did not use last: exactly 200
  new jobs and 200 replay audit records, counted in SQL, each entry
  replayed once, every other attempt refused with
  ERR_DEADLETTER_NOT_PENDING, job_counts exact;
- the audit chain (SPEC §11): concurrent mutations of one tenant from
  both machines leave one unforked chain (no two records with the same
  predecessor, the head on the last record) and `jobengine-admin audit
  verify` exits 0.

It reuses run.py's environment and helpers.  Python 3 standard library
and psycopg2 (Debian's python3-psycopg2).  Exit status: 0 all passed, 1 a
case failed, 77 skipped (no lighttpd and E2E_REQUIRED unset).

    multi.py --builddir DIR --srcdir DIR --database postgresql://...
             [--seed N] [--keep]
"""

import argparse
import base64
import concurrent.futures
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys


def _load_run():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
    spec = importlib.util.spec_from_file_location("e2e_run", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


e2e = _load_run()
expect, expect_eq, expect_error = e2e.expect, e2e.expect_eq, e2e.expect_error

# The name both machines answer to, as behind one load balancer.
PUBLIC = "https://gateway.multi.test"
INVALID_PROOF = 'DPoP error="invalid_dpop_proof", algs="ES256 RS256 PS256"'
ENTRIES = 200
CLIENTS = 8
BATCH = 50
FRONT = "multi"


class Machine(e2e.Lighttpd):
    """One gateway machine: a lighttpd with its own socket folder and
    program processes, answering for PUBLIC."""

    def __init__(self, env, name):
        self.name = name
        e2e.Lighttpd.__init__(self, env)
        with open(self.conf) as f:
            text = f.read()
        text = text.replace("http://127.0.0.1:%d" % self.port, PUBLIC)
        with open(self.conf, "w") as f:
            f.write(text)


class Gateway:
    """The test's view of the two machines and the store."""

    def __init__(self, env, machines):
        self.env = env
        self.m = machines
        self.key = os.path.join(env.srcdir, "tests/keys/rsa.pem")
        self.tokens = {}

    def tok(self, tenant, scope):
        k = (tenant, scope)
        if k not in self.tokens:
            self.tokens[k] = self.env.mint(self.key, "rsa-1", tenant, scope)
        return self.tokens[k]

    def hdr(self, tenant, scope, mutation=False, **extra):
        h = {"Authorization": "Bearer " + self.tok(tenant, scope),
             "X-Stella-Tenant": tenant}
        if mutation:
            h["Content-Type"] = "application/json"
            h["X-Stella-Operator-Reason"] = "e2e multi-machine"
        h.update(extra)
        return h

    def req(self, i, method, path, headers, doc=None):
        """A request to machine i (0 or 1)."""
        body = None if doc is None else json.dumps(doc).encode()
        if body is None and method in ("POST", "PUT"):
            body = b"{}"
        return e2e.request(self.m[i].port, method, path, headers, body=body)

    def audit_verify(self, tenant=None):
        argv = [self.env.admin, "-c", self.env.conf, "audit", "verify"]
        if tenant:
            argv += ["--tenant", tenant]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        return p.returncode, p.stdout.strip(), p.stderr.strip()


# ---------------------------------------------------------------- DPoP

def dpop_cases(g):
    env = g.env
    c = env.dpop_client("multi-dpop", "e2e-multi-dpop")
    key, mint, jkt, token = c["key"], c["mint"], c["jkt"], c["token"]
    path = "/jobengine/sources?limit=5"
    htu = PUBLIC + "/jobengine/sources"

    def proof():
        return subprocess.run([mint, key, "GET", htu, token], check=True,
                              text=True, stdout=subprocess.PIPE).stdout.strip()

    def hdr(p):
        return {"Authorization": "DPoP " + token, "X-Stella-Tenant": "acme",
                "DPoP": p}

    def jti(p):
        seg = p.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))["jti"]

    def records(p):
        return env.sql("SELECT count(*) FROM dpop_replay WHERE jkt = ? AND "
                       "jti = ?", (jkt, jti(p)))[0][0]

    def c_cross():
        for first in (0, 1):
            other = 1 - first
            p = proof()
            r = g.req(first, "GET", path, hdr(p))
            expect_eq("machine %d, fresh proof" % first, r.status, 200)
            expect_eq("replay records of it", records(p), 1)
            r = g.req(other, "GET", path, hdr(p))
            expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)
            # The same key and token with a fresh proof pass there: the
            # refusal was the replay, nothing else.
            q = proof()
            r = g.req(other, "GET", path, hdr(q))
            expect_eq("machine %d, another fresh proof" % other, r.status, 200)
            r = g.req(first, "GET", path, hdr(p))
            expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)
            expect_eq("replay records after the refusals", records(p), 1)

    def c_at_once():
        for _ in range(3):
            p = proof()
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                rs = list(ex.map(lambda i: g.req(i % 2, "GET", path, hdr(p)),
                                 range(8)))
            ok = [r for r in rs if r.status == 200]
            expect_eq("200s", len(ok), 1)
            for r in rs:
                if r.status != 200:
                    expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)
            expect_eq("replay records", records(p), 1)

    return [
        ("DPoP: a proof used on one machine -> 401 ERR_INVALID_DPOP_PROOF "
         "on the other (both ways), a fresh proof passes there", c_cross),
        ("DPoP: one proof 8 times at once over both machines -> one 200, "
         "seven 401 ERR_INVALID_DPOP_PROOF", c_at_once),
    ]


# ---------------------------------------------------------------- quotas

def quota_cases(g):
    tenant = "multi-q"
    h = lambda **x: g.hdr(tenant, "orch:quota", **x)          # noqa: E731
    m = lambda **x: g.hdr(tenant, "orch:quota", True, **x)    # noqa: E731
    state = {}

    def c_pause():
        r = g.req(0, "POST", "/jobengine/quotas", m(),
                  {"jobType": "multi.pause", "maxActive": 5, "maxPerHour": 100})
        expect_eq("create on A", r.status, 201)
        qid = r.json()["quotaId"]
        state["qid"] = qid
        path = "/jobengine/quotas/" + qid
        ra, rb = g.req(0, "GET", path, h()), g.req(1, "GET", path, h())
        expect_eq("GET on A, B", (ra.status, rb.status), (200, 200))
        expect_eq("same bytes", rb.body, ra.body)
        e1 = rb.header("ETag")
        expect_eq("same ETag", e1, ra.header("ETag"))

        r = g.req(0, "POST", path + "/pause",
                  m(**{"X-Stella-Operator-Reason": "paused on A",
                       "X-Stella-Operator-Ticket": "OPS-77"}))
        expect_eq("pause on A", r.status, 200)
        paused = r.json()
        e2 = r.header("ETag")
        expect_eq("pause", (paused["paused"], paused["version"]), (True, 2))

        r = g.req(1, "GET", path, h())
        expect_eq("GET on B", r.status, 200)
        doc = r.json()
        expect_eq("paused through B", (doc["paused"], doc["pauseReason"],
                                       doc["pauseTicket"], doc["pausedBy"],
                                       doc["pausedAt"], doc["version"]),
                  (True, "paused on A", "OPS-77", "e2e-operator",
                   paused["pausedAt"], 2))
        expect_eq("B's ETag", r.header("ETag"), e2)
        r = g.req(1, "GET", path, h(**{"If-None-Match": e1}))
        expect_eq("B, If-None-Match of before the pause", r.status, 200)
        r = g.req(1, "GET", path, h(**{"If-None-Match": e2}))
        expect_eq("B, If-None-Match of the pause", r.status, 304)
        r = g.req(1, "GET", "/jobengine/quotas?paused=true", h())
        expect_eq("B's paused list", [i["quotaId"] for i in r.json()["items"]],
                  [qid])
        r = g.req(1, "GET", "/jobengine/quotas/summary", h())
        expect_eq("B's summary", [(i["quotaId"], i["paused"], i["backpressure"])
                                  for i in r.json()["items"]],
                  [(qid, True, "paused")])
        # A no-op pause through B: the same quota, no new version.
        r = g.req(1, "POST", path + "/pause", m())
        expect_eq("no-op pause on B", (r.status, r.json()["version"],
                                       r.json()["pauseReason"]),
                  (200, 2, "paused on A"))

        r = g.req(1, "POST", path + "/resume", m())
        expect_eq("resume on B", (r.status, r.json()["version"]), (200, 3))
        r = g.req(0, "GET", path, h())
        doc = r.json()
        expect_eq("resumed through A", (doc["paused"], doc["pauseReason"],
                                        doc["pausedAt"], doc["version"]),
                  (False, None, None, 3))
        expect_eq("stored", g.env.sql(
            "SELECT paused, version FROM quotas WHERE quota_id = ?", (qid,)),
            [(0, 3)])

    def c_if_match_race():
        qid = state.get("qid")
        expect(qid, "no quota from the pause case")
        path = "/jobengine/quotas/" + qid
        etag = g.req(0, "GET", path, h()).header("ETag")
        v = g.env.sql("SELECT version FROM quotas WHERE quota_id = ?", (qid,))[0][0]

        def put(i):
            return g.req(i % 2, "PUT", path, m(**{"If-Match": etag}),
                         {"maxActive": 10 + i, "maxPerHour": 1000})

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(put, range(8)))
        won = [i for i, r in enumerate(rs) if r.status == 200]
        expect_eq("200s", len(won), 1)
        for r in rs:
            if r.status != 200:
                expect_error(r, 412, "ERR_PRECONDITION_FAILED")
        expect_eq("stored", g.env.sql(
            "SELECT version, max_active FROM quotas WHERE quota_id = ?", (qid,)),
            [(v + 1, 10 + won[0])])

    def c_idempotency():
        k = {"Idempotency-Key": "multi-%d" % os.getpid()}
        doc = {"jobType": "multi.idem", "maxActive": 2, "maxPerHour": 20}
        a = g.req(0, "POST", "/jobengine/quotas", m(**k), doc)
        b = g.req(1, "POST", "/jobengine/quotas", m(**k), doc)
        expect_eq("statuses", (a.status, b.status), (201, 201))
        expect_eq("B's body", b.body, a.body)
        expect_eq("B's Location", b.header("Location"), a.header("Location"))
        expect_eq("Idempotent-Replayed", (a.header("Idempotent-Replayed"),
                                          b.header("Idempotent-Replayed")),
                  (None, "true"))
        expect_eq("quotas made", g.env.sql(
            "SELECT count(*) FROM quotas WHERE tenant_id = ? AND job_type = ?",
            (tenant, "multi.idem")), [(1,)])
        doc["maxActive"] = 3
        r = g.req(1, "POST", "/jobengine/quotas", m(**k), doc)
        expect_error(r, 422, "ERR_IDEMPOTENCY_KEY_REUSED")

    return [
        ("quotas: paused through A reads paused through B (body, ETag, 304, "
         "list, summary); resumed through B reads resumed through A", c_pause),
        ("quotas: 8 If-Match PUTs of one version over both machines -> one 200, "
         "seven 412 ERR_PRECONDITION_FAILED", c_if_match_race),
        ("quotas: an Idempotency-Key used on A is replayed by B byte for byte",
         c_idempotency),
    ]


# ---------------------------------------------------------------- deadletter

def deadletter_cases(g, seed):
    env = g.env
    tenant = "multi-dl"
    t0 = 1794000000

    def counts_exact():
        diff = env.sql(
            "SELECT count(*) FROM ((SELECT tenant_id, project_id, job_type, "
            "coalesce(source_id, ''), status, count(*) FROM jobs "
            "GROUP BY 1, 2, 3, 4, 5 EXCEPT SELECT tenant_id, project_id, "
            "job_type, source_id, status, n FROM job_counts) UNION ALL "
            "(SELECT tenant_id, project_id, job_type, source_id, status, n "
            "FROM job_counts EXCEPT SELECT tenant_id, project_id, job_type, "
            "coalesce(source_id, ''), status, count(*) FROM jobs "
            "GROUP BY 1, 2, 3, 4, 5)) AS d")[0][0]
        expect_eq("job_counts rows differing from count(*)", diff, 0)

    def c_race():
        ids = ["multi-%03d" % i for i in range(ENTRIES)]
        for i, eid in enumerate(ids):
            env.sql("INSERT INTO deadletter (entry_id, tenant_id, project_id, "
                    "job_id, job_type, source_id, category, error_code, "
                    "message, retryable, attempts, payload, status, failed_at) "
                    "VALUES (?, ?, '', ?, 'multi.replay', 'src-multi', 'race', "
                    "'multi_code', ?, 1, 1, ?, 'pending', ?)",
                    (eid, tenant, "job-" + eid, "failure %d" % i,
                     '{"n":%d}' % i, t0 + i))
        hd = g.hdr(tenant, "orch:backfill", True)

        def client(c):
            """Odd clients replay one entry a request, even ones in
            batches; every request goes to the other machine than the
            one before.  Returns (entryId, jobId) replayed, the refusals
            seen, and the number of single and batch requests."""
            rng = random.Random(seed * 31 + c)
            order = ids[:]
            rng.shuffle(order)
            won, refused, singles, batches = [], [], 0, 0
            k = c
            if c % 2:
                for eid in order:
                    r = g.req(k % 2, "POST", "/jobengine/deadletter/%s/replay"
                              % eid, hd, {})
                    k += 1
                    singles += 1
                    if r.status == 202:
                        doc = r.json()
                        expect_eq("entryId", doc["entryId"], eid)
                        won.append((eid, doc["replayJobId"]))
                    else:
                        expect_error(r, 409, "ERR_DEADLETTER_NOT_PENDING")
                        refused.append(eid)
            else:
                for i in range(0, ENTRIES, BATCH):
                    part = order[i:i + BATCH]
                    r = g.req(k % 2, "POST", "/jobengine/deadletter/replay/batch",
                              hd, {"entryIds": part})
                    k += 1
                    batches += 1
                    expect_eq("batch status", r.status, 200)
                    doc = r.json()
                    expect_eq("batch ids", [x["entryId"] for x in doc["results"]],
                              sorted(part, key=lambda s: s.encode()))
                    n = 0
                    for x in doc["results"]:
                        if x["outcome"] == "replayed":
                            won.append((x["entryId"], x["replayJobId"]))
                            n += 1
                        else:
                            expect_eq("batch outcome of %s" % x["entryId"],
                                      (x["outcome"], x["error"]["code"]),
                                      ("failed", "ERR_DEADLETTER_NOT_PENDING"))
                            refused.append(x["entryId"])
                    expect_eq("batch counts", (doc["requested"], doc["replayed"],
                                               doc["failed"]),
                              (len(part), n, len(part) - n))
            return won, refused, singles, batches

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as ex:
            outs = list(ex.map(client, range(CLIENTS)))
        won = [w for o in outs for w in o[0]]
        refused = [x for o in outs for x in o[1]]
        singles = sum(o[2] for o in outs)
        batches = sum(o[3] for o in outs)
        single_refusals = sum(len(o[1]) for c, o in enumerate(outs) if c % 2)
        expect_eq("attempts", len(won) + len(refused), CLIENTS * ENTRIES)
        expect_eq("replays answered", len(won), ENTRIES)
        expect_eq("entries replayed", sorted(e for e, _ in won), ids)
        jobs = env.sql("SELECT job_id, replay_of FROM jobs WHERE tenant_id = ?",
                       (tenant,))
        expect_eq("new jobs", len(jobs), ENTRIES)
        expect_eq("jobs answered", sorted((j, "job-" + e) for e, j in won),
                  sorted(tuple(x) for x in jobs))
        audits = env.sql("SELECT target_id, outcome, count(*) FROM audit "
                         "WHERE tenant_id = ? AND action = 'deadletter.replay' "
                         "GROUP BY 1, 2", (tenant,))
        ok = {a[0]: a[2] for a in audits if a[1] == 202}
        expect_eq("replay audit records (202)", sum(ok.values()), ENTRIES)
        expect_eq("one 202 record per entry", sorted(ok), ids)
        expect(set(ok.values()) == {1}, "an entry with two 202 records")
        expect_eq("refusal audit records (409)",
                  sum(a[2] for a in audits if a[1] == 409), single_refusals)
        expect_eq("other replay records", [a for a in audits
                                           if a[1] not in (202, 409)], [])
        # docs/audit.md: a batch is recorded per entry it replays; a
        # record of its own only for a refusal of the whole request.
        expect_eq("other audit records", env.sql(
            "SELECT action, outcome, count(*) FROM audit WHERE tenant_id = ? "
            "AND action <> 'deadletter.replay' GROUP BY 1, 2", (tenant,)), [])
        expect_eq("entries", env.sql(
            "SELECT status, replay_count, count(*) FROM deadletter WHERE "
            "tenant_id = ? GROUP BY 1, 2", (tenant,)), [("replayed", 1, ENTRIES)])
        counts_exact()
        print("multi: %d single and %d batch requests, %d refused"
              % (singles, batches, len(refused)), flush=True)

    def c_verify():
        rc, out, err = g.audit_verify(tenant)
        n = env.sql("SELECT count(*) FROM audit WHERE tenant_id = ?",
                    (tenant,))[0][0]
        expect_eq("audit verify --tenant %s" % tenant, (rc, out, err),
                  (0, "tenant %s: ok, %d records, head seq %d" % (
                      tenant, n, env.sql("SELECT max(seq) FROM audit WHERE "
                                         "tenant_id = ?", (tenant,))[0][0]), ""))

    return [
        ("deadletter: %d clients replay the same %d entries over both machines "
         "-> %d jobs, %d replay audit records, every other attempt 409 "
         "ERR_DEADLETTER_NOT_PENDING" % (CLIENTS, ENTRIES, ENTRIES, ENTRIES),
         c_race),
        ("deadletter: audit verify of the replaying tenant exits 0", c_verify),
    ]


# ---------------------------------------------------------------- audit chain

def chain_cases(g):
    env = g.env
    tenant = "multi-chain"
    rounds = 6

    def c_chain():
        def client(c):
            """One quota per client, then pause, PUT and resume, each
            request on the other machine than the one before."""
            k, statuses = c, []
            r = g.req(k % 2, "POST", "/jobengine/quotas",
                      g.hdr(tenant, "orch:quota", True),
                      {"jobType": "chain.c%d" % c, "maxActive": 1,
                       "maxPerHour": 10})
            statuses.append(r.status)
            expect_eq("create", r.status, 201)
            path = "/jobengine/quotas/" + r.json()["quotaId"]
            for i in range(rounds):
                for method, p, doc in (
                        ("POST", path + "/pause", None),
                        ("PUT", path, {"maxActive": 2 + i, "maxPerHour": 10}),
                        ("POST", path + "/resume", None)):
                    k += 1
                    r = g.req(k % 2, method, p,
                              g.hdr(tenant, "orch:quota", True), doc)
                    expect_eq("%s %s" % (method, p), r.status, 200)
                    statuses.append(r.status)
            return len(statuses)

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as ex:
            n = sum(ex.map(client, range(CLIENTS)))
        expect_eq("mutations", n, CLIENTS * (1 + 3 * rounds))
        rows = env.sql("SELECT seq, prev_hash, hash FROM audit WHERE "
                       "tenant_id = ? ORDER BY seq", (tenant,))
        expect_eq("audit records", len(rows), n)
        # A fork is two records chained to one predecessor.
        expect_eq("records chained to the same predecessor", len(rows) -
                  len({r[1] for r in rows}), 0)
        for prev, cur in zip(rows, rows[1:]):
            expect_eq("prev_hash of seq %d" % cur[0], cur[1], prev[2])
        expect_eq("chain head", env.sql(
            "SELECT seq, hash FROM audit_chain WHERE tenant_id = ?", (tenant,)),
            [(rows[-1][0], rows[-1][2])])
        rc, out, err = g.audit_verify(tenant)
        expect_eq("audit verify --tenant %s" % tenant, (rc, out, err),
                  (0, "tenant %s: ok, %d records, head seq %d"
                   % (tenant, n, rows[-1][0]), ""))

    def c_verify_all():
        rc, out, err = g.audit_verify()
        expect_eq("audit verify exit status", rc, 0)
        expect_eq("stderr", err, "")
        lines = out.splitlines()
        tenants = [t for (t,) in env.sql("SELECT DISTINCT tenant_id FROM audit")]
        expect_eq("tenants verified", len(lines), len(tenants))
        expect(all(": ok, " in x for x in lines), out)

    return [
        ("audit: %d clients mutating one tenant over both machines -> one "
         "unforked chain, audit verify exits 0" % CLIENTS, c_chain),
        ("audit: jobengine-admin audit verify (every tenant) exits 0",
         c_verify_all),
    ]


# ---------------------------------------------------------------- main

def run_cases(cases):
    for name, fn in cases:
        try:
            fn()
            e2e.report(FRONT, name, True)
        except e2e.Failed as e:
            e2e.report(FRONT, name, False, str(e))
        except Exception as e:      # one broken case must not stop the rest
            e2e.report(FRONT, name, False, "%s: %s" % (type(e).__name__, e))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--database", required=True,
                    help="a libpq URI postgresql://...")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    args.fixture = None
    if not e2e.which("lighttpd"):
        if os.environ.get("E2E_REQUIRED"):
            e2e.report(FRONT, "lighttpd present", False,
                       "missing (E2E_REQUIRED is set)")
            return 1
        print("SKIP multi: no lighttpd", flush=True)
        return 77
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)

    env = e2e.Env(args)
    machines = []
    try:
        try:
            env.setup()
        except (RuntimeError, OSError) as e:
            e2e.report(FRONT, "temp dir, config, migrate, import, tokens",
                       False, str(e))
            return 1
        print("temp dir %s, schema %s, seed %d (rerun with --seed %d)"
              % (env.tmp, env.pg_schema, seed, seed), flush=True)
        for name in ("machine-a", "machine-b"):
            m = Machine(env, name)
            why = m.start()
            if why:
                e2e.report(FRONT, "%s starts" % name, False, "%s\n%s"
                           % (why, e2e.tail(m.log) if m.log else ""))
                if m.proc and m.proc.poll() is None:
                    m.stop()
                return 1
            machines.append(m)
        a, b = (mm.prog_pids() for mm in machines)
        e2e.report(FRONT, "two lighttpd on ports %d and %d, %d and %d program "
                   "processes of their own" % (machines[0].port,
                                               machines[1].port, len(a), len(b)),
                   bool(a) and bool(b) and not a & b,
                   "programs %s and %s" % (sorted(a), sorted(b)))
        g = Gateway(env, machines)
        run_cases(dpop_cases(g))
        run_cases(quota_cases(g))
        run_cases(deadletter_cases(g, seed))
        run_cases(chain_cases(g))
        for mm in machines:
            pids, left = mm.stop()
            e2e.report(FRONT, "SIGTERM stops %s (exit status %s) and its %d "
                       "program processes" % (mm.name, mm.proc.returncode,
                                              len(pids)),
                       bool(pids) and not left and mm.proc.returncode == 0,
                       "left running: %s" % sorted(left))
        if e2e.results["fail"]:
            for mm in machines:
                print("--- %s (tail)\n%s---" % (mm.stderr_log,
                                                 e2e.tail(mm.stderr_log)),
                      flush=True)
    finally:
        for mm in machines:
            if mm.proc and mm.proc.poll() is None:
                mm.stop()
        if args.keep:
            print("kept %s (schema %s)" % (env.tmp, env.pg_schema))
        else:
            shutil.rmtree(env.tmp, ignore_errors=True)
            env.drop_schema()
        print("%d passed, %d failed" % (e2e.results["pass"],
                                        e2e.results["fail"]), flush=True)
    return 1 if e2e.results["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
