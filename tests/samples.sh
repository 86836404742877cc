#!/bin/sh
# The sample responses in samples/ (the files the upstream contract names)
# are what the real programs answer for the development data set.  This
# test asks the programs again, as plain CGI, each request against a fresh
# copy of the data set, and fails on any drift.  `tests/samples.sh
# --update` rewrites them.
#
# The requests are listed in tests/samples.d/*.tsv, one per line, tab
# separated: sample file, program, method, tenant, scope, URI, JSON body
# (or -), and the members whose values change on every run (generated ids,
# the current time; comma separated, or -).  Those members are compared as
# present but not by value.  Mutations carry X-Stella-Operator-Reason.
#
# GW_TEST_DATABASE=postgresql://... runs the same requests against the
# same samples on that PostgreSQL server, each on its own copy of a
# template database (as tests/cgi.sh does; needs psql and CREATEDB).
set -eu

srcdir=${top_srcdir:-$(dirname "$0")/..}
builddir=${top_builddir:-.}
update=no
[ "${1:-}" = --update ] && update=yes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-samples.XXXXXX")
pg=${GW_TEST_DATABASE:-}
pgdb=gw_samples_$$		# the template; request N's copy is ${pgdb}_N
maker=
n=0

# Debian's /usr/bin/psql is a Perl wrapper: the binary starts faster.
PSQL=${PGBIN:-/usr/lib/postgresql/15/bin}/psql
[ -x "$PSQL" ] || PSQL=psql

# psql_do SQL...: each statement on its own (CREATE DATABASE refuses to
# run in a transaction block), on the database GW_TEST_DATABASE names.
psql_do() {
	for _sql; do
		set -- "$@" -c "$_sql"
		shift
	done
	"$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$pg" \
	    -c "SET client_min_messages = warning" "$@"
}

# The URI of GW_TEST_DATABASE with its database replaced by $1.
pg_uri() {
	printf '%s' "$pg" | sed -E "s|^([a-z]+://[^/?]*)(/[^?]*)?|\\1/$1|"
}

cleanup() {
	if [ -n "$maker" ]; then
		exec 3>&-
		wait "$maker" || true
	fi
	if [ -n "$pg" ]; then
		for _db in $(psql_do "SELECT datname FROM pg_database WHERE
		    datname ~ '^${pgdb}(_[0-9t]+)?\$'" 2> /dev/null); do
			psql_do "DROP DATABASE $_db WITH (FORCE)" || true
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ -n "$pg" ]; then
	# The .out files are SQLite's answers; PostgreSQL must match them.
	[ $update = no ] || { echo "FAIL: --update runs on SQLite only"; exit 1; }
	command -v "$PSQL" > /dev/null || { echo "FAIL: no psql"; exit 1; }
	psql_do "CREATE DATABASE ${pgdb}_t"
	template=$(pg_uri "${pgdb}_t")
	store=$(pg_uri "${pgdb}_1")
else
	template=sqlite:$tmp/template.db
	store=sqlite:$tmp/gw.db
fi

# On PostgreSQL the copies are made by one psql session beside the
# requests, one ahead: request N's database is created while request N-1
# runs, and N-1's dropped while N runs.  FILE_COPY: the cluster of the
# tests runs without fsync, and copying the files beats writing every
# block to the WAL.  The session answers "\echo N" once copy N is made.
copy_ahead() {
	printf 'CREATE DATABASE %s_%d TEMPLATE %s_t STRATEGY FILE_COPY;\n\\echo %d\n' \
	    "$pgdb" "$1" "$pgdb" "$1" >&3
}

# A fresh copy of the template as the store of the next request ($store).
fresh_store() {
	n=$((n + 1))
	if [ -z "$pg" ]; then
		rm -f "$tmp"/gw.db*
		cp "$tmp/template.db" "$tmp/gw.db"
		return
	fi
	if [ -z "$maker" ]; then
		mkfifo "$tmp/sql" "$tmp/ack"
		"$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$pg" < "$tmp/sql" \
		    > "$tmp/ack" 2> "$tmp/psql.err" &
		maker=$!
		exec 3> "$tmp/sql" 4< "$tmp/ack"
		echo 'SET client_min_messages = warning;' >&3
		copy_ahead 1
	fi
	if ! read -r _made <&4 || [ "$_made" != $n ]; then
		cat "$tmp/psql.err"
		echo "FAIL: no copy $n of the template"
		exit 1
	fi
	[ $n -eq 1 ] ||
	    printf 'DROP DATABASE %s_%d WITH (FORCE);\n' "$pgdb" $((n - 1)) >&3
	copy_ahead $((n + 1))
	store=$(pg_uri "${pgdb}_$n")
}

admin="$builddir/admin/jobengine-admin"
head -c 32 /dev/urandom > "$tmp/server.key"
cat > "$tmp/gateway.conf" <<CONF
database = $store
server.public_base_url = https://gateway.test
server.key_file = $tmp/server.key
auth.issuer = https://authority.test
auth.jwks_file = $(cd "$srcdir" && pwd)/tests/keys/jwks.json
log.level = error
CONF
export JOBENGINE_GATEWAY_CONFIG="$tmp/gateway.conf"
JOBENGINE_DATABASE="$template" "$admin" migrate > /dev/null
JOBENGINE_DATABASE="$template" \
    "$admin" import "$srcdir/samples/dev-data.ndjson" > /dev/null

pass=0
fail=0
t0=$(date +%s)
tab=$(printf '\t')
for table in "$srcdir"/tests/samples.d/*.tsv; do
while IFS="$tab" read -r file prog method tenant scope uri body volatile; do
	case "$file" in ''|'#'*) continue ;; esac
	fresh_store
	token=$("$admin" token --key "$srcdir/tests/keys/rsa.pem" --kid rsa-1 \
	    --sub console --tenant "$tenant" --scope "$scope" --ttl 600)
	if [ "$body" = - ]; then body=; fi
	printf '%s' "$body" > "$tmp/body"
	env -i JOBENGINE_GATEWAY_CONFIG="$JOBENGINE_GATEWAY_CONFIG" \
	    JOBENGINE_DATABASE="$store" REQUEST_METHOD="$method" REQUEST_URI="$uri" \
	    CONTENT_LENGTH="$(wc -c < "$tmp/body" | tr -d ' ')" \
	    CONTENT_TYPE=application/json \
	    HTTP_AUTHORIZATION="Bearer $token" HTTP_X_STELLA_TENANT="$tenant" \
	    HTTP_X_STELLA_OPERATOR_REASON="sample request" \
	    "$builddir/cgi-bin/$prog" < "$tmp/body" > "$tmp/resp"
	rc=0
	python3 - "$tmp/resp" "$srcdir/samples/$file" "$volatile" "$update" \
	    <<'PY' || rc=$?
import json, sys
resp, sample, volatile, update = sys.argv[1:5]
raw = open(resp, "rb").read()
head, _, body = raw.partition(b"\r\n\r\n")
if not head.startswith(b"Status: 2"):
    sys.exit("unexpected response: " + head.decode())
got = json.loads(body)
text = json.dumps(got, indent=2, ensure_ascii=False) + "\n"
if update == "yes":
    open(sample, "w").write(text)
names = set() if volatile == "-" else set(volatile.split(","))

def mask(v):
    if isinstance(v, dict):
        return {k: ("<volatile>" if k in names and v[k] is not None else mask(x))
                for k, x in v.items()}
    if isinstance(v, list):
        return [mask(x) for x in v]
    return v

# Member order too: the programs' JSON is deterministic (SPEC §9), and
# both stores must give the same bytes.
want = json.load(open(sample))
if json.dumps(mask(got)) != json.dumps(mask(want)):
    print(text)
    sys.exit("drifted")
PY
	if [ $rc -eq 0 ]; then
		echo "ok: $file"
		pass=$((pass + 1))
	else
		echo "FAIL: $file drifted from what $prog answers to $method $uri"
		fail=$((fail + 1))
	fi
done < "$table"
done
engine=SQLite
[ -z "$pg" ] || engine=PostgreSQL
echo "$pass passed, $fail failed on $engine in $(($(date +%s) - t0)) s"
[ $fail -eq 0 ]
