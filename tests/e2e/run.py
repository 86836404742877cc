#!/usr/bin/env python3
"""End-to-end tests: the programs behind real web servers.

For each front end (lighttpd + mod_fastcgi, Apache + mod_fcgid, Apache +
mod_proxy_fcgi with spawn-fcgi pools) this starts the server in the
foreground on 127.0.0.1, using the shipped configuration in apache-conf/
as it is (included after the variables it reads), runs one table of HTTP
cases through it and stops it with SIGTERM, checking that the program
processes exit.  Through lighttpd it also runs a pagination property test
(a full scan with random page sizes while rows come and go) and checks the
graceful shutdown.

Python 3 standard library only, on SQLite (a database file in the temp
dir).  With --database postgresql://... the programs use that PostgreSQL
database instead, in a schema of their own (e2e_<pid>, dropped before and
after), and the cases reach it through psycopg2 (Debian's
python3-psycopg2).  Exit status: 0 all passed, 1 a case failed, 77 skipped
(a server binary is missing and E2E_REQUIRED is unset).

    run.py --builddir DIR --srcdir DIR [--only lighttpd,fcgid,proxy]
           [--seed N] [--fixture NDJSON] [--database URI] [--keep]
"""

import argparse
import glob
import hashlib
import importlib.util
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

PROGRAMS = ("jobengine-sources", "jobengine-status", "jobengine-quotas",
            "jobengine-jobs", "jobengine-deadletter", "jobengine-packruns",
            "jobengine-audit")
CACHE_CONTROL = "private, max-age=60, stale-if-error=300"
VARY = "Authorization, X-Stella-Tenant, X-Stella-Project"
CHALLENGE = 'Bearer realm="jobengine", DPoP algs="ES256 RS256 PS256"'
MAX_BODY = 65536
READY_PATH = "/jobengine-e2e-ready"     # outside every mount
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
APACHE_MODULES = "/usr/lib/apache2/modules"

results = {"pass": 0, "fail": 0}


def report(front, name, ok, why=""):
    """One line per case."""
    if ok:
        results["pass"] += 1
        print("PASS %s: %s" % (front, name), flush=True)
    else:
        results["fail"] += 1
        print("FAIL %s: %s: %s" % (front, name, why), flush=True)


def which(name):
    path = shutil.which(name)
    if path:
        return path
    for d in SBIN:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- HTTP

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers      # list of (name, value)
        self.body = body

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        if len(vals) > 1:
            return "\n".join(vals)  # a duplicate shows up as a mismatch
        return vals[0] if vals else None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "%d %s %r" % (self.status, self.headers, self.body[:300])


def request(port, method, path, headers=None, body=None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None and chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            if body is not None and chunked:
                for i in range(0, len(body), 8192):
                    part = body[i:i + 8192]
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            elif body is not None:
                conn.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the server answered before reading it all
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.getheaders(), data)
    finally:
        conn.close()


# ---------------------------------------------------------------- checks

class Failed(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Failed(why)


def expect_eq(what, got, want):
    if got != want:
        raise Failed("%s: got %r, want %r" % (what, got, want))


def expect_error(r, status, code=None, www=None):
    """An error response: status, envelope, no-store, trace id."""
    expect_eq("status", r.status, status)
    expect_eq("Content-Type", r.header("Content-Type"), "application/json")
    expect_eq("Cache-Control", r.header("Cache-Control"), "no-store")
    try:
        doc = r.json()
    except ValueError:
        raise Failed("body is not JSON: %r" % r.body[:200])
    err = doc.get("error") if isinstance(doc, dict) else None
    expect(isinstance(err, dict) and set(doc) == {"error"},
           "not an error envelope: %r" % r.body[:200])
    expect(set(err) - {"details"} == {"code", "message", "trace_id"},
           "error members: %r" % sorted(err))
    expect(isinstance(err["code"], str) and err["code"].startswith("ERR_"),
           "error code %r" % err["code"])
    if code is not None:
        expect_eq("error code", err["code"], code)
    expect_eq("trace_id", err["trace_id"], r.header("X-Stella-Trace-Id"))
    if www is not None:
        expect_eq("WWW-Authenticate", r.header("WWW-Authenticate"), www)
    return err


def expect_cacheable(r):
    etag = r.header("ETag")
    expect(etag is not None and etag.startswith('"') and etag.endswith('"'),
           "strong ETag: %r" % etag)
    expect_eq("Cache-Control", r.header("Cache-Control"), CACHE_CONTROL)
    expect_vary(r)
    return etag


def expect_vary(r):
    """Apache rewrites Vary (http_filters.c fixup_vary: tokens joined by
    "," without the space); the same list by RFC 9110 §5.6.1, so compare
    the members, in order, and the exact bytes everywhere else."""
    got = r.header("Vary")
    if got is None or [t.strip() for t in got.split(",")] != \
            [t.strip() for t in VARY.split(",")]:
        raise Failed("Vary: got %r, want %r" % (got, VARY))


# ---------------------------------------------------------------- setup

class Env:
    """The temporary installation shared by every front end."""

    def __init__(self, args):
        self.args = args
        self.builddir = os.path.abspath(args.builddir)
        self.srcdir = os.path.abspath(args.srcdir)
        self.tmp = tempfile.mkdtemp(prefix="gw-e2e.")
        os.chmod(self.tmp, 0o755)
        self.root = os.geteuid() == 0
        self.user = "daemon" if self.root else pwd.getpwuid(os.geteuid()).pw_name
        pw = pwd.getpwnam(self.user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.group = self.user if self.root else None
        self.admin = os.path.join(self.builddir, "admin", "jobengine-admin")
        self.db = os.path.join(self.tmp, "gw.db")
        self.pg_uri = args.database
        self.pg_schema = "e2e_%d" % os.getpid()
        self.tag = "gw-e2e-%d" % os.getpid()
        self.libexec = self.find_libexec()

    def find_libexec(self):
        """The build tree's programs, or copies when the server's user
        cannot reach the build tree (root in CI: Apache runs them as
        daemon, and /root is not searchable by it)."""
        src = os.path.join(self.builddir, "cgi-bin")
        if not self.root or self.reachable(src):
            return src
        dst = os.path.join(self.tmp, "libexec")
        os.mkdir(dst)
        for p in PROGRAMS:
            if os.path.exists(os.path.join(src, p)):
                shutil.copy2(os.path.join(src, p), os.path.join(dst, p))
        return dst

    @staticmethod
    def reachable(path):
        """Whether an unrelated user can search every folder of path."""
        p = os.path.abspath(path)
        while True:
            st = os.stat(p)
            if not st.st_mode & 0o001:
                return False
            if p == "/":
                return True
            p = os.path.dirname(p)

    def config(self, name, port):
        """One configuration per front end (public_base_url has its port);
        all of them share the one database."""
        path = os.path.join(self.tmp, "gateway-%s.conf" % name)
        with open(path, "w") as f:
            if self.pg_uri:
                f.write("database = %s\n" % self.pg_uri)
                f.write("store.pg_schema = %s\n" % self.pg_schema)
            else:
                f.write("database = sqlite:%s\n" % self.db)
            f.write("server.public_base_url = http://127.0.0.1:%d\n" % port)
            f.write("server.key_file = %s\n" % os.path.join(self.tmp, "server.key"))
            f.write("auth.issuer = https://authority.test\n")
            f.write("auth.jwks_file = %s\n" % os.path.join(self.tmp, "jwks.json"))
            f.write("limits.max_body_bytes = %d\n" % MAX_BODY)
        return path

    def setup(self):
        if self.pg_uri:
            self.drop_schema()
        with open(os.path.join(self.tmp, "server.key"), "wb") as f:
            f.write(os.urandom(32))
        os.chmod(os.path.join(self.tmp, "server.key"), 0o600)
        shutil.copy(os.path.join(self.srcdir, "tests/keys/jwks.json"),
                    os.path.join(self.tmp, "jwks.json"))
        self.conf = self.config("admin", 8080)
        self.run_admin("migrate")
        self.run_admin("import", self.args.fixture or
                       os.path.join(self.srcdir, "samples/dev-data.ndjson"))
        key = os.path.join(self.srcdir, "tests/keys/rsa.pem")
        self.tokens = {
            "read": self.mint(key, "rsa-1", "acme", "orch:read"),
            "noscope": self.mint(key, "rsa-1", "acme", "orch:quota"),
            "ec": self.mint(os.path.join(self.srcdir, "tests/keys/ec.pem"),
                            "ec-1", "acme", "orch:read"),
            # Signed by a key the JWKS does not hold, under a kid it does.
            "badsig": self.mint(os.path.join(self.srcdir, "tests/keys/rsa2.pem"),
                                "rsa-1", "acme", "orch:read"),
        }
        self.tokens["libjwt"] = self.mint_libjwt(key)
        if self.root:
            for d, _, files in os.walk(self.tmp):
                os.chown(d, self.uid, self.gid)
                for f in files:
                    os.chown(os.path.join(d, f), self.uid, self.gid)

    def replay_file(self):
        """The SQLite store's DPoP replay table: /dev/shm, named after the
        database's real path (lib/gw_replay.c, docs/dpop.md)."""
        real = os.path.realpath(self.db).encode()
        return "/dev/shm/jobengine-gateway-replay-" + \
            hashlib.sha256(real).hexdigest()[:16]

    def dpop_client(self, name, sub):
        """A DPoP client for the run: an EC P-256 key in the temp dir, the
        mint_dpop program that signs its proofs, the key's RFC 7638
        thumbprint and an access token bound to it (cnf.jkt)."""
        key = os.path.join(self.tmp, name + ".pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        mint = os.path.join(self.builddir, "tests", "mint_dpop")
        jkt = subprocess.run([mint, "-j", key], check=True, text=True,
                             stdout=subprocess.PIPE).stdout.strip()
        token = self.run_admin("token", "--key",
                               os.path.join(self.srcdir, "tests/keys/ec.pem"),
                               "--kid", "ec-1", "--tenant", "acme", "--scope",
                               "orch:read", "--sub", sub, "--ttl", "900",
                               "--cnf-jkt", jkt)
        return {"key": key, "mint": mint, "jkt": jkt, "token": token}

    def run_admin(self, *argv):
        p = subprocess.run([self.admin, "-c", self.conf] + list(argv),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError("jobengine-admin %s: exit %d: %s" % (
                " ".join(argv), p.returncode, p.stderr.strip()))
        return p.stdout.strip()

    def mint(self, key, kid, tenant, scope):
        return self.run_admin("token", "--key", key, "--kid", kid,
                              "--tenant", tenant, "--scope", scope,
                              "--sub", "e2e-operator", "--ttl", "900")

    def mint_libjwt(self, key):
        prog = os.path.join(self.builddir, "tests", "mint_libjwt")
        now = int(time.time())
        claims = {"iss": "https://authority.test", "sub": "e2e-libjwt",
                  "aud": "stellaops-gateway", "iat": now, "nbf": now,
                  "exp": now + 900, "stellaops:tenant": "acme",
                  "scope": "orch:read"}
        try:
            p = subprocess.run([prog, key, json.dumps(claims), "rsa-1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        except OSError as e:
            return "missing: %s" % e
        if p.returncode != 0:
            return "missing: %s" % p.stderr.strip()
        return p.stdout.strip()

    def sql(self, query, params=()):
        """One statement (? placeholders) in its own transaction; its
        rows."""
        if not self.pg_uri:
            with sqlite3.connect(self.db, timeout=30) as c:
                return c.execute(query, params).fetchall()
        # psycopg2 takes %s placeholders, and so %% for a literal %.
        query = query.replace("%", "%%").replace("?", "%s")
        c = self.pg_connect()
        try:
            with c, c.cursor() as cur:
                cur.execute(query, tuple(params))
                return cur.fetchall() if cur.description else []
        finally:
            c.close()

    def columns(self, table):
        """The column names of table, in order."""
        if not self.pg_uri:
            return [r[1] for r in self.sql("PRAGMA table_info(%s)" % table)]
        return [r[0] for r in self.sql(
            "SELECT column_name FROM information_schema.columns WHERE "
            "table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            (self.pg_schema, table))]

    def pg_connect(self):
        import psycopg2     # only on PostgreSQL: python3-psycopg2
        return psycopg2.connect(self.pg_uri,
                                options="-c search_path=%s" % self.pg_schema)

    def drop_schema(self):
        c = self.pg_connect()
        try:
            with c, c.cursor() as cur:
                cur.execute("DROP SCHEMA IF EXISTS %s CASCADE" % self.pg_schema)
        finally:
            c.close()


# ---------------------------------------------------------------- processes

def proc_table():
    """pid -> (ppid, state, exe) for every process we may look at."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            rest = stat[stat.rindex(")") + 2:].split()
            try:
                exe = os.readlink("/proc/%s/exe" % d)
            except OSError:
                exe = ""
            table[int(d)] = (int(rest[1]), rest[0], exe)
        except (OSError, ValueError):
            continue
    return table


def descendants(pid):
    table = proc_table()
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c, (pp, _, _) in table.items():
            if pp == p and c not in out:
                out.add(c)
                todo.append(c)
    return out


def program_pids(env, candidates):
    """Those of candidates that are one of our programs, still running."""
    table = proc_table()
    progs = {os.path.realpath(os.path.join(env.libexec, p)) for p in PROGRAMS}
    return {p for p in candidates
            if p in table and table[p][1] != "Z"
            and table[p][2].replace(" (deleted)", "") in progs}


def tagged_pids(env):
    """Processes carrying our E2E tag in their environment (spawn-fcgi's)."""
    out = set()
    needle = ("E2E_TAG=%s" % env.tag).encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if needle in f.read().split(b"\0"):
                    out.add(int(d))
        except OSError:
            continue
    return program_pids(env, out)


def wait_gone(pids, timeout):
    end = time.time() + timeout
    while time.time() < end:
        table = proc_table()
        alive = {p for p in pids if p in table and table[p][1] != "Z"}
        if not alive:
            return set()
        time.sleep(0.1)
    return alive


def wait_ready(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return "exited with status %d" % proc.returncode
        try:
            request(port, "GET", READY_PATH)
            return None
        except OSError:
            time.sleep(0.1)
    return "no answer within %d s" % timeout


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return str(e)


# ---------------------------------------------------------------- front ends

class Front:
    name = None

    def __init__(self, env):
        self.env = env
        self.port = free_port()
        self.dir = os.path.join(env.tmp, self.name)
        os.mkdir(self.dir)
        if env.root:
            os.chown(self.dir, env.uid, env.gid)
        self.conf = env.config(self.name, self.port)
        self.proc = None
        self.log = None

    def prog_pids(self):
        return program_pids(self.env, descendants(self.proc.pid))

    def stderr(self):
        """The server's own stdout/stderr, where the programs' log lines
        go under lighttpd (the error log has them under Apache)."""
        self.stderr_log = os.path.join(self.dir, "stderr.log")
        return open(self.stderr_log, "w")

    def stop(self):
        """SIGTERM the server; return the program processes left over."""
        pids = self.prog_pids()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return pids, wait_gone(pids, 10)


class Lighttpd(Front):
    name = "lighttpd"

    def start(self):
        sock = os.path.join(self.dir, "sock")
        os.mkdir(sock)
        docroot = os.path.join(self.dir, "docroot")
        os.mkdir(docroot)
        self.log = os.path.join(self.dir, "error.log")
        path = os.path.join(self.dir, "lighttpd.conf")
        shipped = os.path.join(self.env.srcdir, "apache-conf/lighttpd-jobengine.conf")
        with open(path, "w") as f:
            f.write('server.bind = "127.0.0.1"\n')
            f.write("server.port = %d\n" % self.port)
            f.write('server.document-root = "%s"\n' % docroot)
            f.write('server.errorlog = "%s"\n' % self.log)
            f.write('var.jobengine_libexec = "%s"\n' % self.env.libexec)
            f.write('var.jobengine_config = "%s"\n' % self.conf)
            f.write('var.jobengine_sockdir = "%s"\n' % sock)
            f.write("var.jobengine_procs = 4\n")
            f.write('include "%s"\n' % shipped)
        binary = which("lighttpd")
        chk = subprocess.run([binary, "-tt", "-f", path], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if chk.returncode != 0:
            return "lighttpd -tt: %s" % chk.stdout.strip()
        self.proc = subprocess.Popen([binary, "-D", "-f", path],
                                     env=dict(os.environ, E2E_TAG=self.env.tag),
                                     stdout=self.stderr(), stderr=subprocess.STDOUT)
        return wait_ready(self.port, self.proc)


APACHE_BASE = """\
ServerRoot "{dir}"
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule alias_module {mods}/mod_alias.so
{modules}
{user}
PidFile "{dir}/httpd.pid"
DefaultRuntimeDir "{dir}"
# File locks by default, as an operator may choose: the shipped mod_fcgid
# configuration must not depend on the default (fcgid_file_locks).
Mutex file:{dir} default
ErrorLog "{dir}/error.log"
LogLevel info
# As on Debian: nothing outside the mounts is served.
DocumentRoot "{dir}/docroot"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
{extra}
Include "{shipped}"
"""


class Apache(Front):
    modules = ""
    shipped = None

    def extra(self):
        return ""

    def start(self):
        os.mkdir(os.path.join(self.dir, "docroot"))
        self.log = os.path.join(self.dir, "error.log")
        path = os.path.join(self.dir, "httpd.conf")
        user = "User %s\nGroup %s" % (self.env.user, self.env.group) \
            if self.env.root else ""
        with open(path, "w") as f:
            f.write(APACHE_BASE.format(
                dir=self.dir, port=self.port, mods=APACHE_MODULES,
                modules=self.modules.format(mods=APACHE_MODULES), user=user,
                extra=self.extra(),
                shipped=os.path.join(self.env.srcdir, "apache-conf", self.shipped)))
        binary = which("apache2")
        chk = subprocess.run([binary, "-t", "-f", path], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if chk.returncode != 0:
            return "apache2 -t: %s" % chk.stdout.strip()
        self.proc = subprocess.Popen([binary, "-DFOREGROUND", "-f", path],
                                     env=dict(os.environ, E2E_TAG=self.env.tag),
                                     stdout=self.stderr(), stderr=subprocess.STDOUT)
        return wait_ready(self.port, self.proc)


class Fcgid(Apache):
    name = "apache-fcgid"
    shipped = "jobengine-fcgid.conf"
    modules = "LoadModule fcgid_module {mods}/mod_fcgid.so"

    def extra(self):
        return ("FcgidIPCDir \"{d}/fcgid\"\nFcgidProcessTableFile \"{d}/fcgid_shm\"\n"
                "Define JOBENGINE_LIBEXEC \"{lx}\"\nDefine JOBENGINE_CONFIG \"{c}\"\n"
                "Define JOBENGINE_MAX_BODY {mb}\n").format(
                    d=self.dir, lx=self.env.libexec, c=self.conf, mb=MAX_BODY)


class ProxyFcgi(Apache):
    name = "apache-proxy-fcgi"
    shipped = "jobengine-proxy-fcgi.conf"
    modules = ("LoadModule proxy_module {mods}/mod_proxy.so\n"
               "LoadModule proxy_fcgi_module {mods}/mod_proxy_fcgi.so")

    def extra(self):
        return "Define JOBENGINE_SOCKDIR \"{s}\"\nDefine JOBENGINE_MAX_BODY {mb}\n".format(
            s=os.path.join(self.dir, "sock"), mb=MAX_BODY)

    def start(self):
        """Two-process pools per program, as spawn-fcgi -F 2 makes them."""
        sock = os.path.join(self.dir, "sock")
        os.mkdir(sock)
        if self.env.root:
            os.chown(sock, self.env.uid, self.env.gid)
        penv = dict(os.environ, E2E_TAG=self.env.tag,
                    JOBENGINE_GATEWAY_CONFIG=self.conf)
        for p in PROGRAMS:
            argv = [which("spawn-fcgi"), "-s", os.path.join(sock, p + ".sock"),
                    "-F", "2"]
            if self.env.root:
                argv += ["-u", self.env.user, "-g", self.env.group,
                         "-U", self.env.user, "-G", self.env.group, "-M", "0660"]
            else:
                argv += ["-M", "0600"]
            argv += ["--", os.path.join(self.env.libexec, p)]
            with open(os.path.join(self.dir, "spawn-fcgi.log"), "a") as log:
                sp = subprocess.run(argv, env=penv, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
            if sp.returncode != 0:
                return "spawn-fcgi %s: exit %d: %s" % (
                    p, sp.returncode, tail(os.path.join(self.dir, "spawn-fcgi.log")))
        return Apache.start(self)

    def prog_pids(self):
        return tagged_pids(self.env)

    def stop(self):
        """Apache first, then the pools (they are not Apache's)."""
        pids = self.prog_pids()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        return pids, wait_gone(pids, 10)


def fcgid_file_locks(front):
    """The fcntl lock files of mod_fcgid's mutexes that the server's
    processes hold open.  APACHE_BASE makes file locks the default
    (Mutex file:), as an operator may; fcntl(2) locks belong to a process,
    not a thread, so under the threaded MPM the kernel reports false
    deadlocks (EDEADLK) between Apache children, and mod_fcgid answers a
    failed lock of its process table or spawn pipe by exiting the child
    (fcgid_proctbl_unix.c, fcgid_pm_unix.c), dropping every connection
    the child holds.  The shipped configuration must name other
    mechanisms for "fcgid-proctbl" and "fcgid-pipe"."""
    found = set()
    for pid in descendants(front.proc.pid) | {front.proc.pid}:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            name = os.path.basename(target)
            if name.startswith(("fcgid-proctbl.", "fcgid-pipe.")):
                found.add(target)
    return found


# ---------------------------------------------------------------- the table

def acme_rows(env):
    return env.sql("SELECT name, source_id FROM sources WHERE tenant_id = ? "
                   "ORDER BY name, source_id", ("acme",))


def run_table(front, env):
    port = front.port
    tok = env.tokens
    acme = {"X-Stella-Tenant": "acme"}

    def auth(t, **extra):
        h = {"Authorization": "Bearer " + tok[t]}
        h.update(acme)
        h.update(extra)
        return h

    acme_id = env.sql("SELECT source_id FROM sources WHERE tenant_id = 'acme' "
                      "ORDER BY source_id LIMIT 1")[0][0]
    globex_id = env.sql("SELECT source_id FROM sources WHERE tenant_id = 'globex' "
                        "ORDER BY source_id LIMIT 1")[0][0]
    state = {}

    def c_list():
        r = request(port, "GET", "/jobengine/sources?limit=200",
                    auth("read", **{"X-Stella-Trace-Id": "e2e-trace.1:a"}))
        state["etag"] = r.header("ETag")
        state["get_headers"] = r
        expect_eq("status", r.status, 200)
        expect_eq("Content-Type", r.header("Content-Type"), "application/json")
        expect_cacheable(r)
        expect_eq("X-Stella-Trace-Id", r.header("X-Stella-Trace-Id"), "e2e-trace.1:a")
        doc = r.json()
        got = [(i["name"], i["sourceId"]) for i in doc["items"]]
        expect_eq("items", got, [tuple(x) for x in acme_rows(env)])
        expect(all(i["tenantId"] == "acme" for i in doc["items"]), "foreign rows")
        expect_eq("continuationToken", doc["continuationToken"], None)

    def c_trace_generated():
        r = request(port, "GET", "/jobengine/sources?limit=1", auth("read"))
        expect_eq("status", r.status, 200)
        t = r.header("X-Stella-Trace-Id") or ""
        expect(len(t) == 26 and t.isalnum(), "generated trace id %r" % t)

    def c_304():
        expect(state.get("etag"), "no ETag from the list case")
        r = request(port, "GET", "/jobengine/sources?limit=200",
                    auth("read", **{"If-None-Match": state["etag"]}))
        expect_eq("status", r.status, 304)
        expect_eq("ETag", r.header("ETag"), state["etag"])
        expect_eq("Cache-Control", r.header("Cache-Control"), CACHE_CONTROL)
        expect_vary(r)
        expect_eq("body", r.body, b"")

    def c_head():
        expect("get_headers" in state, "no GET to compare with")
        g = state["get_headers"]
        r = request(port, "HEAD", "/jobengine/sources?limit=200", auth("read"))
        expect_eq("status", r.status, 200)
        for h in ("ETag", "Cache-Control", "Vary", "Content-Type"):
            expect_eq(h, r.header(h), g.header(h))
        expect_eq("body", r.body, b"")

    def c_detail():
        r = request(port, "GET", "/jobengine/sources/" + acme_id, auth("read"))
        expect_eq("status", r.status, 200)
        expect_cacheable(r)
        doc = r.json()
        expect_eq("sourceId", doc.get("sourceId"), acme_id)
        expect_eq("tenantId", doc.get("tenantId"), "acme")

    def c_foreign():
        r = request(port, "GET", "/jobengine/sources/" + globex_id, auth("read"))
        expect_error(r, 404, "ERR_SOURCE_NOT_FOUND")

    def c_prefix():
        r = request(port, "GET", "/jobengine/sourcesX", auth("read"))
        expect_eq("status", r.status, 404)
        if r.header("Content-Type") == "application/json":
            expect_error(r, 404, "ERR_ROUTE_NOT_FOUND")

    def c_405():
        r = request(port, "POST", "/jobengine/sources", auth("read"), body=b"")
        expect_error(r, 405, "ERR_METHOD_NOT_ALLOWED")
        expect_eq("Allow", r.header("Allow"), "GET, HEAD")

    def c_noauth():
        r = request(port, "GET", "/jobengine/sources", acme)
        expect_error(r, 401, www=CHALLENGE)

    def c_badsig():
        r = request(port, "GET", "/jobengine/sources", auth("badsig"))
        expect_error(r, 401, "ERR_INVALID_TOKEN", 'Bearer error="invalid_token"')

    def c_tenant():
        r = request(port, "GET", "/jobengine/sources", auth("read", **{
            "X-Stella-Tenant": "globex"}))
        expect_error(r, 400, "ERR_TENANT_MISMATCH")

    def c_scope():
        r = request(port, "GET", "/jobengine/sources", auth("noscope"))
        expect_error(r, 403, "ERR_SCOPE_MISMATCH",
                     'Bearer error="insufficient_scope", scope="orch:read"')

    def c_limit():
        r = request(port, "GET", "/jobengine/sources?limit=201", auth("read"))
        expect_error(r, 400, "ERR_INVALID_LIMIT")

    def c_413():
        h = auth("read", **{"Content-Type": "application/json"})
        r = request(port, "POST", "/jobengine/sources", h,
                    body=b" " * (MAX_BODY + 1))
        expect_eq("status", r.status, 413)

    def c_413_chunked():
        # No Content-Length: the front end or the program must stop it;
        # a 405 (the route takes no POST, checked first) is fine, a 2xx
        # or a 5xx is not.
        h = auth("read", **{"Content-Type": "application/json"})
        r = request(port, "POST", "/jobengine/sources", h,
                    body=b" " * (MAX_BODY + 1), chunked=True)
        expect(r.status in (405, 413), "status %d: %r" % (r.status, r.body[:200]))

    def c_healthz():
        r = request(port, "GET", "/jobengine/healthz")
        expect_eq("status", r.status, 200)

    def c_openapi():
        r = request(port, "GET", "/jobengine/openapi.json")
        expect_eq("status", r.status, 200)
        expect_eq("Content-Type", r.header("Content-Type"), "application/json")
        expect("openapi" in r.json(), "no openapi member")

    def c_ec():
        r = request(port, "GET", "/jobengine/sources?limit=1", auth("ec"))
        expect_eq("status", r.status, 200)

    def c_libjwt():
        expect(not tok["libjwt"].startswith("missing:"), tok["libjwt"])
        r = request(port, "GET", "/jobengine/sources?limit=1", auth("libjwt"))
        expect_eq("status", r.status, 200)

    cases = [
        ("list sources (200, order, ETag, cache headers, trace id echo)", c_list),
        ("Authorization reaches the program (a valid token is accepted)", c_ec),
        ("trace id generated when none is sent", c_trace_generated),
        ("If-None-Match with the ETag -> 304", c_304),
        ("HEAD -> same headers, no body", c_head),
        ("source detail", c_detail),
        ("another tenant's source -> 404 ERR_SOURCE_NOT_FOUND", c_foreign),
        ("/jobengine/sourcesX -> 404", c_prefix),
        ("POST /jobengine/sources -> 405 with Allow", c_405),
        ("no Authorization -> 401 with the challenge", c_noauth),
        ("bad signature -> 401 ERR_INVALID_TOKEN", c_badsig),
        ("header/claim tenant mismatch -> 400 ERR_TENANT_MISMATCH", c_tenant),
        ("token without orch:read -> 403 ERR_SCOPE_MISMATCH", c_scope),
        ("limit=201 -> 400 ERR_INVALID_LIMIT", c_limit),
        ("body of max_body_bytes + 1 -> 413", c_413),
        ("chunked body of max_body_bytes + 1 -> 413/405, never 2xx/5xx", c_413_chunked),
        ("healthz -> 200", c_healthz),
        ("openapi.json -> 200 application/json", c_openapi),
        ("token minted by libjwt (typ JWT) accepted", c_libjwt),
    ]
    for name, fn in cases:
        try:
            fn()
            report(front.name, name, True)
        except Failed as e:
            report(front.name, name, False, str(e))
        except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException) as e:
            report(front.name, name, False, "%s: %s" % (type(e).__name__, e))


# ---------------------------------------------------------------- pagination

def pagination(front, env, seed):
    """A full scan with random page sizes while rows are inserted and
    deleted between pages returns every row present throughout exactly
    once, in (name, sourceId) order."""
    rng = random.Random(seed)
    cols = ("source_id, tenant_id, project_id, name, source_type, enabled, "
            "paused, pause_reason, created_at, updated_at")
    start = env.sql("SELECT %s FROM sources WHERE tenant_id = 'acme'" % cols)
    present = {r[0] for r in start}
    known = {r[0]: (r[3], r[0]) for r in start}
    deleted, inserted, removed_rows = set(), [], []
    names = sorted({r[3] for r in start})
    headers = {"Authorization": "Bearer " + env.tokens["read"],
               "X-Stella-Tenant": "acme"}
    seen, order = [], []
    token, pages = None, 0
    try:
        while True:
            q = "/jobengine/sources?limit=%d" % rng.randint(1, 5)
            if token:
                q += "&continuationToken=" + token
            r = request(front.port, "GET", q, headers)
            expect_eq("status of page %d" % pages, r.status, 200)
            doc = r.json()
            for i in doc["items"]:
                seen.append(i["sourceId"])
                order.append((i["name"], i["sourceId"]))
            token = doc["continuationToken"]
            pages += 1
            expect(pages < 500, "more than 500 pages")
            if not token:
                break
            # Change the data between pages: inserts around existing names
            # (before and after the cursor), deletes of random rows and,
            # now and then, of the row the cursor points at.
            for _ in range(rng.randint(0, 2)):
                base = rng.choice(names)
                name = base + rng.choice(["", "-", "0", "~"]) if rng.random() < 0.7 \
                    else base
                sid = str(uuid.uuid4())
                now = int(time.time())
                env.sql("INSERT INTO sources (source_id, tenant_id, project_id, name, "
                        "source_type, enabled, paused, created_at, updated_at) "
                        "VALUES (?, 'acme', '', ?, 'registry', 1, 0, ?, ?)",
                        (sid, name, now, now))
                inserted.append(sid)
                known[sid] = (name, sid)
            live = [x[0] for x in env.sql(
                "SELECT source_id FROM sources WHERE tenant_id = 'acme'")]
            victims = []
            if rng.random() < 0.5 and live:
                victims.append(rng.choice(live))
            if rng.random() < 0.3 and seen and seen[-1] in live:
                victims.append(seen[-1])
            for v in victims:
                if v in present and v not in deleted:
                    removed_rows += env.sql(
                        "SELECT %s FROM sources WHERE source_id = ?" % cols, (v,))
                env.sql("DELETE FROM sources WHERE source_id = ?", (v,))
                deleted.add(v)
        dup = {s for s in seen if seen.count(s) > 1}
        expect(not dup, "returned twice: %s" % sorted(dup))
        expect(order == sorted(order), "not in (name, sourceId) order")
        missing = (present - deleted) - set(seen)
        expect(not missing, "rows present throughout but not returned: %s"
               % sorted(known[m] for m in missing))
        ghosts = set(seen) - set(known)
        expect(not ghosts, "rows that never existed: %s" % sorted(ghosts))
        return None, pages, len(inserted), len(deleted)
    except Failed as e:
        return str(e), pages, len(inserted), len(deleted)
    finally:
        # Put the tenant back as it was, for the front ends after this one.
        for sid in inserted:
            env.sql("DELETE FROM sources WHERE source_id = ?", (sid,))
        for row in removed_rows:
            env.sql("DELETE FROM sources WHERE source_id = ?", (row[0],))
            env.sql("INSERT INTO sources (%s) VALUES (%s)"
                    % (cols, ", ".join("?" * len(row))), row)


# ---------------------------------------------------------------- more cases

def case_modules():
    """Every tests/e2e/cases_*.py, in name order.  Each defines
    run(front, env, e2e), where e2e is this module (request, expect,
    expect_eq, expect_error, report ...), and reports its own cases."""
    here = os.path.dirname(os.path.abspath(__file__))
    mods = []
    for path in sorted(glob.glob(os.path.join(here, "cases_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mods.append(mod)
    return mods


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--only", default="lighttpd,fcgid,proxy")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--fixture", help="NDJSON to import "
                    "(default: samples/dev-data.ndjson)")
    ap.add_argument("--database", help="a libpq URI postgresql://...: run "
                    "on PostgreSQL (default: SQLite in the temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    required = bool(os.environ.get("E2E_REQUIRED"))

    needs = {
        "lighttpd": ([which("lighttpd")], Lighttpd),
        "fcgid": ([which("apache2"),
                   os.path.exists(APACHE_MODULES + "/mod_fcgid.so") or None], Fcgid),
        "proxy": ([which("apache2"), which("spawn-fcgi"),
                   os.path.exists(APACHE_MODULES + "/mod_proxy_fcgi.so") or None],
                  ProxyFcgi),
    }
    wanted = [w for w in args.only.split(",") if w]
    runnable = []
    for w in wanted:
        if w not in needs:
            print("unknown front end %r" % w, file=sys.stderr)
            return 2
        if all(needs[w][0]):
            runnable.append(w)
        elif required:
            report(w, "server binaries and modules present", False,
                   "missing (E2E_REQUIRED is set)")
        else:
            print("SKIP %s: server binary or module missing" % w, flush=True)
    if not runnable and not required:
        return 77

    env = Env(args)
    try:
        env.setup()
    except (RuntimeError, OSError) as e:
        report("setup", "temp dir, config, migrate, import, tokens", False, str(e))
        print("%d passed, %d failed" % (results["pass"], results["fail"]))
        if not args.keep:
            shutil.rmtree(env.tmp, ignore_errors=True)
        return 1
    print("temp dir %s, server user %s, programs in %s"
          % (env.tmp, env.user, env.libexec), flush=True)
    seed = args.seed if args.seed is not None else \
        int(os.environ.get("E2E_SEED") or random.randrange(1 << 31))

    try:
        for w in runnable:
            front = needs[w][1](env)
            failed_before = results["fail"]
            why = front.start()
            if why:
                report(front.name, "server starts", False,
                       "%s\n%s" % (why, tail(front.log) if front.log else ""))
                if front.proc and front.proc.poll() is None:
                    front.stop()
                continue
            report(front.name, "server starts", True)
            run_table(front, env)
            for mod in case_modules():
                mod.run(front, env, sys.modules[__name__])
            if w == "lighttpd":
                print("pagination seed %d (rerun with --seed %d)" % (seed, seed),
                      flush=True)
                for k in range(3):
                    err, pages, ins, dels = pagination(front, env, seed + k)
                    report(front.name, "full scan under inserts/deletes, seed %d "
                           "(%d pages, %d inserted, %d deleted)"
                           % (seed + k, pages, ins, dels), err is None, err or "")
            if isinstance(front, Fcgid):
                noise = [l for l in open(front.log, errors="replace")
                         if "AH01630" in l and READY_PATH not in l]
                report(front.name, "no AH01630 (PATH_TRANSLATED) noise in the error log",
                       not noise, "".join(noise[:3]))
                locks = fcgid_file_locks(front)
                report(front.name, "mod_fcgid's mutexes are not file locks, although "
                       "this server's default Mutex is (false EDEADLK exits a child)",
                       not locks, "open lock files: %s" % sorted(locks)[:4])
            pids, left = front.stop()
            report(front.name, "SIGTERM stops the server (exit status %s) and its "
                   "%d program processes" % (front.proc.returncode, len(pids)),
                   bool(pids) and not left and front.proc.returncode == 0,
                   "left running: %s, exit status %s, programs seen: %d"
                   % (sorted(left), front.proc.returncode, len(pids)))
            # A program started by the server writes sanitizer reports to the
            # server's error log, where no response would show them.
            bad = []
            logs = {front.log, getattr(front, "stderr_log", None)}
            logs |= set(glob.glob(os.path.join(front.dir, "*.log")))
            for log in logs:
                if log and os.path.exists(log):
                    bad += [l for l in open(log, errors="replace")
                            if "AddressSanitizer" in l or "LeakSanitizer" in l
                            or "runtime error:" in l]
            report(front.name, "no sanitizer reports in the server logs",
                   not bad, "".join(bad[:5]))
            if results["fail"] != failed_before:
                for log in (front.log, getattr(front, "stderr_log", None)):
                    if log:
                        print("--- %s (tail)\n%s---" % (log, tail(log)), flush=True)
    finally:
        if args.keep:
            print("kept %s" % env.tmp)
        else:
            if not env.pg_uri:
                # The SQLite store's DPoP replay table lives in /dev/shm.
                try:
                    os.unlink(env.replay_file())
                except OSError:
                    pass
            shutil.rmtree(env.tmp, ignore_errors=True)
            if env.pg_uri:
                env.drop_schema()

    print("%d passed, %d failed" % (results["pass"], results["fail"]))
    return 1 if results["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
