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
pgdb=gw_samples_$$		# the template; request N's copy is ${pgdb}_N
. "$srcdir/tests/store.sh"

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
