#!/usr/bin/env python3
"""
gen-dev-data.py: write the development data set of jobengine-gateway.

The output, samples/dev-data.ndjson, is what `jobengine-admin import` reads
(SPEC section 13): one JSON object a line, {"kind": ..., <API fields>}, with
every field of SPEC section 10 present, in the order the section names them,
null where absent.  The set is deterministic: a fixed seed and a fixed base
time (2026-11-20T00:00:00Z, the "now" of the data), so running this again
gives the same bytes and the sample responses built from it do not drift.

Nothing in the data lies after the base time.  Invariants the data keeps,
because the import and the handlers may rely on them:

- ids are lowercase, UUIDv7-shaped (RFC 9562 section 5.7), their time field
  taken from the row's createdAt (failedAt for a deadletter entry);
- a job's sourceId, a deadletter entry's jobId, a job's replayOf, an entry's
  lastReplayJobId and a pack run's retryOf name rows of the same tenant that
  appear earlier in the file;
- (tenantId, projectId, jobType) is unique among quotas; burst <= maxPerHour;
  the pause fields are all null unless paused;
- startedAt is set for leased, running and terminal jobs, finishedAt for
  terminal ones; a replayed entry's replay job has replayOf = its jobId;
- a pack run has at most one retry, so no run has two retries in flight.

Usage: gen-dev-data.py [OUTPUT]   (default: dev-data.ndjson beside this file)
Python 3 standard library only.
"""

import calendar
import json
import os
import random
import re
import sys
import time

SEED = 20261120
BASE = calendar.timegm((2026, 11, 20, 0, 0, 0))
HOUR = 3600
DAY = 86400

TENANTS = [
    # tenant, sources, jobs, pack runs
    ("acme", 24, 200, 32),
    ("globex", 20, 160, 28),
    ("initech", 16, 120, 20),
]
PROJECTS = [None, "alpha", "beta"]

# Source names and the sourceType each implies.  Upper case in a name is
# deliberate: the list order is by bytes (SPEC section 9), not by locale.
SOURCE_NAMES = [
    ("harbor-prod", "registry"),
    ("harbor-staging", "registry"),
    ("ecr-us-east-1", "registry"),
    ("ghcr-mirror", "registry"),
    ("quay-mirror", "registry"),
    ("QA-registry", "registry"),
    ("gitlab-monorepo", "git"),
    ("github-org", "git"),
    ("platform-repos", "git"),
    ("bitbucket-legacy", "git"),
    ("nvd-feed", "advisory"),
    ("osv-feed", "advisory"),
    ("ghsa-feed", "advisory"),
    ("debian-security", "advisory"),
    ("redhat-oval", "advisory"),
    ("suse-oval", "advisory"),
    ("ci-sbom-uploads", "sbom"),
    ("release-sboms", "sbom"),
    ("nightly-rescan", "schedule"),
    ("weekly-export", "schedule"),
    ("hourly-policy-run", "schedule"),
    ("vex-statements", "vex"),
    ("vendor-vex", "vex"),
    ("policy-bundles", "policy"),
]
SOURCE_PAUSE_REASONS = [
    "registry maintenance window",
    "credentials rotation in progress",
    "upstream rate limit; backing off",
    "feed format change under review",
]

# jobType -> the sourceTypes its jobs come from (empty: no source).
JOB_TYPES = {
    "scan.image": ["registry"],
    "sbom.generate": ["registry", "git", "sbom"],
    "advisory.sync": ["advisory"],
    "vex.ingest": ["vex"],
    "policy.evaluate": ["policy", "schedule"],
    "export.bundle": ["schedule"],
    "notify.dispatch": [],
}
JOB_TYPE_WEIGHTS = {
    "scan.image": 30, "sbom.generate": 20, "advisory.sync": 15,
    "vex.ingest": 8, "policy.evaluate": 12, "export.bundle": 7,
    "notify.dispatch": 8,
}
JOB_STATUSES = ["pending", "scheduled", "leased", "running", "succeeded",
                "failed", "canceled", "timed_out"]
JOB_STATUS_WEIGHTS = [12, 8, 5, 10, 35, 18, 5, 7]
PRIORITIES = ["low", "normal", "high"]
PRIORITY_WEIGHTS = [20, 60, 20]

OPERATORS = {
    "acme": ["alice@acme", "bob@acme", "svc-ops@acme"],
    "globex": ["hank@globex", "svc-ops@globex"],
    "initech": ["peter@initech", "milton@initech"],
}

# Deadletter categories -> (errorCode, message, retryable) templates.
DL_CATEGORIES = {
    "transient": [
        ("network_unreachable", "connect to {host}:443: network is unreachable", True),
        ("registry_5xx", "registry {host} answered 503 Service Unavailable", True),
        ("connection_reset", "read from {host}: connection reset by peer", True),
    ],
    "timeout": [
        ("deadline_exceeded", "job exceeded its deadline of {n}s", True),
        ("lease_expired", "worker lease expired after {n}s without heartbeat", True),
    ],
    "dependency": [
        ("upstream_unavailable", "advisory upstream {host} unavailable", True),
        ("feed_rate_limited", "feed {host} rate limited the request (429)", True),
    ],
    "validation": [
        ("schema_invalid", "payload failed schema validation at /{field}", False),
        ("manifest_unsupported", "manifest media type not supported", False),
    ],
    "auth": [
        ("credentials_expired", "registry credentials for {host} expired", False),
        ("permission_denied", "403 from {host}: permission denied", False),
    ],
}
DL_FAILED_CATEGORIES = ["transient", "dependency", "validation", "auth"]
DL_FAILED_WEIGHTS = [40, 25, 20, 15]
DL_STATUSES = ["pending", "replayed", "resolved", "discarded"]
DL_STATUS_WEIGHTS = [55, 20, 15, 10]

PACKS = [
    ("stellaops.baseline-scan", ["1.4.0", "1.4.2", "1.5.0"]),
    ("stellaops.sbom-refresh", ["2.0.1", "2.1.0"]),
    ("stellaops.advisory-backfill", ["0.9.3", "1.0.0"]),
    ("stellaops.release-gate", ["3.2.0"]),
    ("stellaops.evidence-export", ["1.1.0", "1.2.0"]),
]
PACK_STATUSES = ["pending", "scheduled", "running", "succeeded", "failed",
                 "canceled", "timed_out"]
PACK_STATUS_WEIGHTS = [10, 8, 12, 35, 15, 10, 10]
PACK_TERMINAL = {"succeeded", "failed", "canceled", "timed_out"}

FIELDS = {
    "source": ["sourceId", "tenantId", "projectId", "name", "sourceType",
               "enabled", "paused", "pauseReason", "createdAt", "updatedAt"],
    "quota": ["quotaId", "tenantId", "projectId", "jobType", "maxActive",
              "maxPerHour", "burst", "paused", "pauseReason", "pauseTicket",
              "pausedAt", "pausedBy", "version", "createdAt", "updatedAt",
              "updatedBy"],
    "job": ["jobId", "tenantId", "projectId", "jobType", "sourceId",
            "status", "priority", "replayOf", "payload", "createdAt",
            "startedAt", "finishedAt"],
    "deadletter": ["entryId", "tenantId", "projectId", "jobId", "jobType",
                   "sourceId", "category", "errorCode", "message",
                   "retryable", "attempts", "payload", "status",
                   "replayCount", "lastReplayJobId", "failedAt",
                   "replayedAt", "replayedBy"],
    "packRun": ["packRunId", "tenantId", "projectId", "packId",
                "packVersion", "status", "attempt", "retryOf", "reason",
                "createdAt", "startedAt", "finishedAt", "updatedAt",
                "canceledBy"],
}
UUID7_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
TIME_FIELDS = {"createdAt", "updatedAt", "pausedAt", "startedAt",
               "finishedAt", "failedAt", "replayedAt"}

rng = random.Random(SEED)


def uuid7(t):
    """A UUIDv7 whose unix_ts_ms lies within second t; the rest from rng."""
    ms = t * 1000 + rng.randrange(1000)
    v = ((ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | \
        (rng.getrandbits(12) << 64) | (0x2 << 62) | rng.getrandbits(62)
    h = "%032x" % v
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def rfc3339(t):
    if t is None:
        return None
    y, mo, d, h, mi, s = time.gmtime(t)[:6]
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, mo, d, h, mi, s)


def wchoice(items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def hexstr(n):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def make_sources(tenant, n):
    # n - 3 distinct names, then three of them again, so that the
    # (name, sourceId) order needs its tie-break within one tenant.
    names = rng.sample(SOURCE_NAMES, n - 3)
    names += rng.sample(names, 3)
    out = []
    for i, (name, stype) in enumerate(names):
        created = BASE - rng.randrange(2 * DAY, 180 * DAY)
        updated = created + rng.randrange(0, BASE - created)
        # Every tenant has each project, a paused and a disabled source,
        # and one duplicate name within one project.
        enabled = i != 2 and rng.random() >= 0.15
        paused = i == 1 or rng.random() < 0.15
        if i < len(PROJECTS):
            project = PROJECTS[i]
        elif i == n - 3:
            project = [r for r in out if r["name"] == name][0]["projectId"]
        else:
            project = wchoice(PROJECTS, [40, 35, 25])
        out.append({
            "sourceId": uuid7(created),
            "tenantId": tenant,
            "projectId": project,
            "name": name,
            "sourceType": stype,
            "enabled": enabled,
            "paused": paused,
            "pauseReason": rng.choice(SOURCE_PAUSE_REASONS) if paused else None,
            "createdAt": created,
            "updatedAt": updated,
        })
    return out


def make_quotas(tenant):
    # A tenant-wide quota for most job types, a few per project.
    plan = [(None, jt) for jt in JOB_TYPES if rng.random() < 0.8]
    for project, k in (("alpha", 3), ("beta", 2)):
        plan += [(project, jt) for jt in rng.sample(sorted(JOB_TYPES), k)]
    out = []
    for project, jt in plan:
        created = BASE - rng.randrange(10 * DAY, 120 * DAY)
        max_active = rng.choice([2, 3, 4, 5, 8, 10, 16, 32])
        max_per_hour = rng.choice([6, 12, 30, 60, 120, 240, 1000])
        if rng.random() < 0.6:
            burst = min(max_active, max_per_hour)
        else:
            burst = rng.randint(1, max_per_hour)
        changes = rng.choice([0, 0, 1, 2, 3])
        updated = created + (rng.randrange(HOUR, BASE - created)
                             if changes else 0)
        paused = rng.random() < 0.2
        q = {
            "quotaId": uuid7(created),
            "tenantId": tenant,
            "projectId": project,
            "jobType": jt,
            "maxActive": max_active,
            "maxPerHour": max_per_hour,
            "burst": burst,
            "paused": paused,
            "pauseReason": None,
            "pauseTicket": None,
            "pausedAt": None,
            "pausedBy": None,
            "version": 1 + changes,
            "createdAt": created,
            "updatedAt": updated,
            "updatedBy": rng.choice(OPERATORS[tenant]),
        }
        if paused:
            # The pause is the latest change.
            q["pausedAt"] = BASE - rng.randrange(10 * 60, 3 * DAY)
            q["pausedAt"] = max(q["pausedAt"], created + 60)
            q["updatedAt"] = q["pausedAt"]
            q["version"] += 1
            q["pauseReason"] = rng.choice([
                "incident INC-%d: registry overload" % rng.randint(100, 999),
                "planned maintenance of the scanner fleet",
                "cost review; resume after approval",
            ])
            q["pauseTicket"] = rng.choice(["CHG-", "INC-", "OPS#"]) + \
                str(rng.randint(1000, 9999))
            q["pausedBy"] = q["updatedBy"]
        out.append(q)
    return out


def tune_quota(quotas, jobs):
    """
    Give the tenant one quota under "elevated" backpressure at the base
    time (queued > maxActive while active < maxActive and tokens remain),
    which random limits rarely produce: the summary samples then show all
    four states.
    """
    for q in quotas:
        if q["paused"] or q["projectId"] is not None:
            continue
        js = [j for j in jobs if j["jobType"] == q["jobType"]]
        active = sum(j["status"] in ("leased", "running") for j in js)
        queued = sum(j["status"] in ("pending", "scheduled") for j in js)
        admitted = sum(j["startedAt"] is not None and
                       j["startedAt"] > BASE - HOUR for j in js)
        if queued <= active + 1:
            continue
        q["maxActive"] = active + 1
        q["maxPerHour"] = max(q["maxPerHour"], admitted + 4 * q["maxActive"])
        q["burst"] = q["maxActive"]
        return


def job_payload(tenant, jt):
    if jt == "scan.image":
        return {"image": "registry.%s.example/app-%d:1.%d.%d" % (
            tenant, rng.randint(1, 9), rng.randint(0, 9), rng.randint(0, 20)),
            "digest": "sha256:" + hexstr(64)}
    if jt == "sbom.generate":
        return {"artifact": "pkg:oci/app-%d@sha256:%s" % (
            rng.randint(1, 9), hexstr(16)), "format": rng.choice(
            ["cyclonedx-1.6", "spdx-3.0"])}
    if jt == "advisory.sync":
        return {"feed": rng.choice(["nvd", "osv", "ghsa", "debian"]),
                "since": rfc3339(BASE - rng.randrange(DAY, 7 * DAY))}
    if jt == "vex.ingest":
        return {"document": "vex-%s.json" % hexstr(8)}
    if jt == "policy.evaluate":
        return {"policy": "baseline", "revision": rng.randint(1, 40)}
    if jt == "export.bundle":
        return {"bundle": "evidence-%s" % hexstr(6), "compress": True}
    return {"channel": rng.choice(["email", "slack", "webhook"]),
            "template": "digest"}


def job_times(status):
    """createdAt, startedAt, finishedAt for a job in this status."""
    if status in ("pending", "scheduled"):
        return BASE - rng.randrange(60, 6 * HOUR), None, None
    if status in ("leased", "running"):
        started = BASE - rng.randrange(30, 90 * 60)
        return started - rng.randrange(5, 30 * 60), started, None
    if rng.random() < 0.25:
        # Finished within the last hour: counts in admittedLastHour.
        started = BASE - rng.randrange(5 * 60, HOUR)
    else:
        started = BASE - rng.randrange(HOUR, 14 * DAY)
    created = started - rng.randrange(1, 15 * 60)
    finished = min(BASE, started + rng.randrange(10, 45 * 60))
    return created, started, finished


def make_jobs(tenant, n, sources):
    out = []
    # Force one job of every status first, so each appears in every tenant.
    statuses = JOB_STATUSES + [wchoice(JOB_STATUSES, JOB_STATUS_WEIGHTS)
                               for _ in range(n - len(JOB_STATUSES))]
    types = sorted(JOB_TYPE_WEIGHTS)
    for status in statuses:
        jt = wchoice(types, [JOB_TYPE_WEIGHTS[t] for t in types])
        created, started, finished = job_times(status)
        cands = [s for s in sources if s["sourceType"] in JOB_TYPES[jt]
                 and s["createdAt"] <= created]
        src = rng.choice(cands) if cands and rng.random() < 0.9 else None
        if src is not None and src["projectId"] is not None:
            project = src["projectId"]
        else:
            project = wchoice(PROJECTS, [40, 35, 25])
        out.append({
            "jobId": uuid7(created),
            "tenantId": tenant,
            "projectId": project,
            "jobType": jt,
            "sourceId": src["sourceId"] if src else None,
            "status": status,
            "priority": wchoice(PRIORITIES, PRIORITY_WEIGHTS),
            "replayOf": None,
            "payload": job_payload(tenant, jt),
            "createdAt": created,
            "startedAt": started,
            "finishedAt": finished,
        })
    return out


def dl_message(template):
    return template.format(
        host=rng.choice(["harbor.internal", "ghcr.io", "nvd.nist.gov",
                         "osv.dev", "mirror.example.net"]),
        n=rng.choice([300, 900, 1800]),
        field=rng.choice(["image", "digest", "artifact", "feed"]))


def replay_job(tenant, job, replayed_at, status):
    """The job a replay created (SPEC section 10, deadletter replay)."""
    started = finished = None
    if status in ("running", "succeeded", "failed"):
        started = min(BASE, replayed_at + rng.randrange(1, 120))
    if status in ("succeeded", "failed"):
        finished = min(BASE, started + rng.randrange(10, 600))
    return {
        "jobId": uuid7(replayed_at),
        "tenantId": tenant,
        "projectId": job["projectId"],
        "jobType": job["jobType"],
        "sourceId": job["sourceId"],
        "status": status,
        "priority": "high",
        "replayOf": job["jobId"],
        "payload": job["payload"],
        "createdAt": replayed_at,
        "startedAt": started,
        "finishedAt": finished,
    }


def make_deadletter(tenant, jobs):
    entries, replays = [], []
    failed = [j for j in jobs if j["status"] in ("failed", "timed_out")]
    for job in failed:
        if rng.random() >= 0.8:
            continue
        if job["status"] == "timed_out":
            category = "timeout"
        else:
            category = wchoice(DL_FAILED_CATEGORIES, DL_FAILED_WEIGHTS)
        code, template, retryable = rng.choice(DL_CATEGORIES[category])
        if rng.random() < 0.1:
            retryable = not retryable
        status = wchoice(DL_STATUSES, DL_STATUS_WEIGHTS)
        failed_at = job["finishedAt"]
        e = {
            "entryId": uuid7(failed_at),
            "tenantId": tenant,
            "projectId": job["projectId"],
            "jobId": job["jobId"],
            "jobType": job["jobType"],
            "sourceId": job["sourceId"],
            "category": category,
            "errorCode": code,
            "message": dl_message(template),
            "retryable": retryable,
            "attempts": rng.randint(1, 5),
            "payload": job["payload"],
            "status": status,
            "replayCount": 0,
            "lastReplayJobId": None,
            "failedAt": failed_at,
            "replayedAt": None,
            "replayedBy": None,
        }
        # A replayed entry, and some resolved ones, carry their replay.
        if status == "replayed" or (status == "resolved" and
                                    rng.random() < 0.5):
            replayed_at = failed_at + rng.randrange(5 * 60, 2 * DAY)
            if replayed_at > BASE:
                replayed_at = failed_at + (BASE - failed_at) // 2
            rstatus = "succeeded" if status == "resolved" else rng.choice(
                ["pending", "scheduled", "running", "succeeded", "failed"])
            rj = replay_job(tenant, job, replayed_at, rstatus)
            replays.append(rj)
            e["replayCount"] = rng.choice([1, 1, 1, 2])
            e["lastReplayJobId"] = rj["jobId"]
            e["replayedAt"] = replayed_at
            e["replayedBy"] = rng.choice(OPERATORS[tenant])
        entries.append(e)
    return entries, replays


def pack_times(status):
    if status in ("pending", "scheduled"):
        created = BASE - rng.randrange(60, 4 * HOUR)
        return created, None, None
    if status == "running":
        started = BASE - rng.randrange(60, 2 * HOUR)
        return started - rng.randrange(5, 600), started, None
    started = BASE - rng.randrange(HOUR, 21 * DAY)
    created = started - rng.randrange(5, 600)
    if status == "canceled" and rng.random() < 0.4:
        started = None				# canceled before it began
        return created, None, created + rng.randrange(60, HOUR)
    return created, started, min(BASE, started + rng.randrange(60, 2 * HOUR))


def pack_run(tenant, project, pack, version, status, attempt, retry_of,
             created, started, finished):
    reason = canceled_by = None
    if status == "failed":
        reason = rng.choice(["step_failed", "policy_gate_failed"])
    elif status == "timed_out":
        reason = "deadline_exceeded"
    elif status == "canceled":
        reason = "user_cancelled"
        canceled_by = rng.choice(OPERATORS[tenant])
    updated = max(t for t in (created, started, finished) if t is not None)
    return {
        "packRunId": uuid7(created),
        "tenantId": tenant,
        "projectId": project,
        "packId": pack,
        "packVersion": version,
        "status": status,
        "attempt": attempt,
        "retryOf": retry_of,
        "reason": reason,
        "createdAt": created,
        "startedAt": started,
        "finishedAt": finished,
        "updatedAt": updated,
        "canceledBy": canceled_by,
    }


def make_packruns(tenant, n):
    out = []
    statuses = PACK_STATUSES + [wchoice(PACK_STATUSES, PACK_STATUS_WEIGHTS)
                                for _ in range(n - len(PACK_STATUSES))]
    for i, status in enumerate(statuses):
        pack, versions = rng.choice(PACKS)
        created, started, finished = pack_times(status)
        if i % 9 == 8 and out:
            # Same createdAt as the previous run: the list needs its
            # packRunId tie-break.  Shift the run's other times with it.
            prev = out[-1]["createdAt"]
            d = prev - created
            created = prev
            started = None if started is None else min(BASE, started + d)
            finished = None if finished is None else min(BASE, finished + d)
            if started is not None and finished is not None:
                finished = max(finished, started)
            if started is None and finished is not None:
                finished = max(finished, created)
        out.append(pack_run(tenant, wchoice(PROJECTS, [40, 35, 25]), pack,
                            rng.choice(versions), status, 1, None,
                            created, started, finished))
    # Retries: a third of the retryable runs, one retry each.
    retries = []
    for run in out:
        if run["status"] not in ("failed", "canceled", "timed_out"):
            continue
        if rng.random() >= 0.35:
            continue
        created = run["finishedAt"] + rng.randrange(60, HOUR)
        if created > BASE:
            created = run["finishedAt"] + (BASE - run["finishedAt"]) // 2
        status = rng.choice(["pending", "running", "succeeded", "failed"])
        started = finished = None
        if status in ("running", "succeeded", "failed"):
            started = min(BASE, created + rng.randrange(5, 300))
        if status in ("succeeded", "failed"):
            finished = min(BASE, started + rng.randrange(60, HOUR))
        retries.append(pack_run(tenant, run["projectId"], run["packId"],
                                run["packVersion"], status,
                                run["attempt"] + 1, run["packRunId"],
                                created, started, finished))
    return out + retries


def check(kinds):
    """Fail loudly if the data breaks an invariant of the docstring."""
    seen = {}
    for kind in ("source", "quota", "job", "deadletter", "packRun"):
        for r in kinds[kind]:
            rid = r[FIELDS[kind][0]]
            assert re.fullmatch(UUID7_RE, rid) and rid not in seen, rid
            seen[rid] = r
            for f in TIME_FIELDS & set(r):
                assert r[f] is None or r[f] <= BASE, (rid, f)
            if kind in ("job", "packRun"):
                t0 = r["createdAt"]
                for f in ("startedAt", "finishedAt"):
                    if r[f] is not None:
                        assert r[f] >= t0, (rid, f)
                        t0 = r[f]
    for r in kinds["job"]:
        term = r["status"] in ("succeeded", "failed", "canceled",
                               "timed_out")
        assert (r["startedAt"] is not None) == (
            term or r["status"] in ("leased", "running")), r["jobId"]
        assert (r["finishedAt"] is not None) == term, r["jobId"]
        for f in ("sourceId", "replayOf"):
            if r[f] is not None:
                assert seen[r[f]]["tenantId"] == r["tenantId"]
                assert seen[r[f]]["createdAt"] <= r["createdAt"]
    triples = set()
    for q in kinds["quota"]:
        t = (q["tenantId"], q["projectId"], q["jobType"])
        assert t not in triples and 1 <= q["burst"] <= q["maxPerHour"]
        triples.add(t)
        pf = [q[f] for f in ("pauseReason", "pauseTicket", "pausedAt",
                             "pausedBy")]
        assert all(v is not None for v in pf) if q["paused"] else \
            all(v is None for v in pf), q["quotaId"]
    for e in kinds["deadletter"]:
        assert seen[e["jobId"]]["tenantId"] == e["tenantId"]
        if e["lastReplayJobId"] is not None:
            rj = seen[e["lastReplayJobId"]]
            assert rj["replayOf"] == e["jobId"]
            assert rj["createdAt"] == e["replayedAt"] >= e["failedAt"]
        assert (e["status"] == "replayed") <= (e["replayCount"] > 0)
    retried = set()
    for p in kinds["packRun"]:
        if p["retryOf"] is not None:
            o = seen[p["retryOf"]]
            assert o["status"] in ("failed", "canceled", "timed_out")
            assert o["packRunId"] not in retried
            assert p["createdAt"] >= o["finishedAt"]
            assert p["attempt"] == o["attempt"] + 1
            retried.add(o["packRunId"])
        assert (p["canceledBy"] is not None) == (p["status"] == "canceled")
    for kind, field, values in (("job", "status", JOB_STATUSES),
                                ("packRun", "status", PACK_STATUSES),
                                ("deadletter", "status", DL_STATUSES)):
        assert set(r[field] for r in kinds[kind]) == set(values), kind


def record(kind, row):
    rec = {"kind": kind}
    for f in FIELDS[kind]:
        v = row[f]
        rec[f] = rfc3339(v) if f in TIME_FIELDS else v
    return json.dumps(rec, ensure_ascii=False)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, "dev-data.ndjson")
    kinds = {k: [] for k in FIELDS}
    for tenant, nsrc, njobs, nruns in TENANTS:
        sources = make_sources(tenant, nsrc)
        quotas = make_quotas(tenant)
        jobs = make_jobs(tenant, njobs, sources)
        tune_quota(quotas, jobs)
        entries, replays = make_deadletter(tenant, jobs)
        runs = make_packruns(tenant, nruns)
        kinds["source"] += sources
        kinds["quota"] += quotas
        kinds["job"] += jobs + replays
        kinds["deadletter"] += entries
        kinds["packRun"] += runs
    check(kinds)
    idf = {k: FIELDS[k][0] for k in FIELDS}
    lines = []
    # Referenced rows first: sources, then jobs before the entries naming
    # them, each kind in (tenant, createdAt, id) order, which also puts an
    # original before its replay or retry.
    for kind in ("source", "quota", "job", "deadletter", "packRun"):
        tkey = "failedAt" if kind == "deadletter" else "createdAt"
        rows = sorted(kinds[kind],
                      key=lambda r: (r["tenantId"], r[tkey], r[idf[kind]]))
        lines += [record(kind, r) for r in rows]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    print("%s: %d records" % (path, len(lines)), file=sys.stderr)


if __name__ == "__main__":
    main()
