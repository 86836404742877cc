"""DPoP (RFC 9449, SPEC §3) through a real front end.

Proofs come from tests/mint_dpop (OpenSSL, ES256) with a client key made
for the run; the access token is bound to that key (cnf.jkt).  The replay
record lives in the store, so a proof is refused the second time whether
it reaches the same server, another of its FastCGI processes, or a second
web server on the same database (started here, with the same
server.public_base_url, as behind a load balancer).  With SQLite the
records are in the replay table, a file in /dev/shm named after the
database's real path (lib/gw_replay.c), which the serving processes make
as their own user."""

import os
import subprocess

PATH = "/jobengine/sources?limit=5"
INVALID_PROOF = 'DPoP error="invalid_dpop_proof", algs="ES256 RS256 PS256"'

_state = {}


def _client(env):
    """The client's DPoP key, its thumbprint and a token bound to it, made
    once for every front end."""
    if "token" not in _state:
        _state.update(env.dpop_client("dpop-client", "e2e-dpop"))
    return _state


def _proof(c, method, url):
    return subprocess.run([c["mint"], c["key"], method, url, c["token"]],
                          check=True, text=True,
                          stdout=subprocess.PIPE).stdout.strip()


def _headers(c, proof, scheme="DPoP"):
    h = {"Authorization": "%s %s" % (scheme, c["token"]),
         "X-Stella-Tenant": "acme"}
    if proof is not None:
        h["DPoP"] = proof
    return h


def _second_server(front, env, e2e):
    """Another lighttpd on the same store whose public_base_url is the
    first front end's, as a second gateway machine behind one name."""
    if not e2e.which("lighttpd"):
        return None

    class Second(e2e.Lighttpd):
        name = "dpop-second-for-" + front.name

    s = Second(env)
    with open(s.conf) as f:
        text = f.read()
    text = text.replace("http://127.0.0.1:%d" % s.port,
                        "http://127.0.0.1:%d" % front.port)
    with open(s.conf, "w") as f:
        f.write(text)
    why = s.start()
    if why:
        if s.proc and s.proc.poll() is None:
            s.stop()
        raise e2e.Failed("second server: %s" % why)
    return s


def run(front, env, e2e):
    port = front.port
    url = "http://127.0.0.1:%d/jobengine/sources" % port
    try:
        c = _client(env)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as ex:
        e2e.report(front.name, "DPoP: client key and bound token", False,
                   str(ex))
        return
    first = {}

    def c_accepted():
        p = _proof(c, "GET", url)
        r = e2e.request(port, "GET", PATH, _headers(c, p))
        e2e.expect_eq("status", r.status, 200)
        e2e.expect_eq("items", len(r.json()["items"]) > 0, True)
        first["proof"] = p

    def c_replayed():
        e2e.expect("proof" in first, "no proof from the accepted case")
        r = e2e.request(port, "GET", PATH, _headers(c, first["proof"]))
        e2e.expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)

    def c_replayed_many():
        # The same proof 8 times at once: the FastCGI processes share
        # nothing but the store, and only the first use may pass.
        import concurrent.futures
        p = _proof(c, "GET", url)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(lambda _: e2e.request(
                port, "GET", PATH, _headers(c, p)).status, range(8)))
        e2e.expect_eq("statuses", sorted(rs), [200] + [401] * 7)

    def c_other_server():
        s = _second_server(front, env, e2e)
        if s is None:
            print("SKIP %s: DPoP replay to a second server: no lighttpd"
                  % front.name, flush=True)
            return
        try:
            p = _proof(c, "GET", url)
            r = e2e.request(port, "GET", PATH, _headers(c, p))
            e2e.expect_eq("first server, fresh proof", r.status, 200)
            r = e2e.request(s.port, "GET", PATH, _headers(c, p))
            e2e.expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)
            q = _proof(c, "GET", url)
            r = e2e.request(s.port, "GET", PATH, _headers(c, q))
            e2e.expect_eq("second server, fresh proof", r.status, 200)
            r = e2e.request(port, "GET", PATH, _headers(c, q))
            e2e.expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)
        finally:
            s.stop()

    def c_bearer():
        r = e2e.request(port, "GET", PATH, _headers(c, None, "Bearer"))
        e2e.expect_error(r, 401, "ERR_INVALID_TOKEN",
                         'Bearer error="invalid_token"')

    def c_no_proof():
        r = e2e.request(port, "GET", PATH, _headers(c, None))
        e2e.expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)

    def c_wrong_htu():
        # htu from the Host header's view, not server.public_base_url.
        p = _proof(c, "GET", "http://localhost:%d/jobengine/sources" % port)
        r = e2e.request(port, "GET", PATH, _headers(c, p))
        e2e.expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)

    def c_wrong_htm():
        p = _proof(c, "POST", url)
        r = e2e.request(port, "GET", PATH, _headers(c, p))
        e2e.expect_error(r, 401, "ERR_INVALID_DPOP_PROOF", INVALID_PROOF)

    def c_replay_table():
        # Where docs/dpop.md says, the server user's, and what
        # jobengine-admin dpop status reports.
        path = env.replay_file()
        st = os.stat(path)
        e2e.expect_eq("owner", (st.st_uid, st.st_gid), (env.uid, env.gid))
        status = dict(line.split(" ", 1) for line in
                      env.run_admin("dpop", "status").splitlines())
        e2e.expect_eq("records", status.get("records"), "replay-table")
        e2e.expect_eq("file", status.get("file"), path)
        e2e.expect(int(status.get("live", "0")) >= 1,
                   "live records: %s" % status.get("live"))
        e2e.expect_eq("refused_full", status.get("refused_full"), "0")

    cases = [
        ("DPoP: bound token with a fresh ES256 proof -> 200", c_accepted),
        ("DPoP: the same proof again -> 401 invalid_dpop_proof", c_replayed),
        ("DPoP: one proof 8 times at once -> one 200, seven 401",
         c_replayed_many),
        ("DPoP: a proof replayed to a second server on the same store -> 401",
         c_other_server),
        ("DPoP: bound token under Bearer -> 401 invalid_token", c_bearer),
        ("DPoP: DPoP scheme without a proof -> 401 invalid_dpop_proof",
         c_no_proof),
        ("DPoP: htu of another origin -> 401", c_wrong_htu),
        ("DPoP: htm of another method -> 401", c_wrong_htm),
    ]
    if not env.pg_uri:
        cases.append(("DPoP: SQLite's replay table in /dev/shm, the server "
                      "user's, in dpop status", c_replay_table))
    for name, fn in cases:
        try:
            fn()
            e2e.report(front.name, name, True)
        except e2e.Failed as ex:
            e2e.report(front.name, name, False, str(ex))
        except Exception as ex:     # one broken case must not stop the rest
            e2e.report(front.name, name, False, "%s: %s"
                       % (type(ex).__name__, ex))
