#!/bin/sh
# The sample responses in samples/ (the files the upstream contract names)
# are what the real programs answer for the development data set.  This
# test asks the programs again, as plain CGI, and fails on any drift.
# `tests/samples.sh --update` rewrites them.
#
# Each line of the table: sample file, program, tenant, scope, request URI.
set -eu

srcdir=${top_srcdir:-$(dirname "$0")/..}
builddir=${top_builddir:-.}
update=no
[ "${1:-}" = --update ] && update=yes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-samples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

admin="$builddir/admin/jobengine-admin"
head -c 32 /dev/urandom > "$tmp/server.key"
cat > "$tmp/gateway.conf" <<CONF
database = sqlite:$tmp/gw.db
server.public_base_url = https://gateway.test
server.key_file = $tmp/server.key
auth.issuer = https://authority.test
auth.jwks_file = $(cd "$srcdir" && pwd)/tests/keys/jwks.json
log.level = error
CONF
export JOBENGINE_GATEWAY_CONFIG="$tmp/gateway.conf"
"$admin" migrate > /dev/null
"$admin" import "$srcdir/samples/dev-data.ndjson" > /dev/null

pass=0
fail=0
while read -r file prog tenant scope uri; do
	case "$file" in ''|'#'*) continue ;; esac
	token=$("$admin" token --key "$srcdir/tests/keys/rsa.pem" --kid rsa-1 \
	    --sub console --tenant "$tenant" --scope "$scope" --ttl 600)
	env -i JOBENGINE_GATEWAY_CONFIG="$JOBENGINE_GATEWAY_CONFIG" \
	    REQUEST_METHOD=GET REQUEST_URI="$uri" \
	    HTTP_AUTHORIZATION="Bearer $token" HTTP_X_STELLA_TENANT="$tenant" \
	    "$builddir/cgi-bin/$prog" > "$tmp/resp"
	# The body, pretty-printed the way the samples are kept.
	python3 -c '
import json, sys
raw = open(sys.argv[1], "rb").read()
head, _, body = raw.partition(b"\r\n\r\n")
if not head.startswith(b"Status: 200 "):
    sys.exit("unexpected response: " + head.decode())
print(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
' "$tmp/resp" > "$tmp/body"
	[ $update = yes ] && cp "$tmp/body" "$srcdir/samples/$file"
	if cmp -s "$tmp/body" "$srcdir/samples/$file"; then
		echo "ok: $file"
		pass=$((pass + 1))
	else
		echo "FAIL: $file drifted from what $prog answers for $uri"
		diff "$srcdir/samples/$file" "$tmp/body" | head -20 || true
		fail=$((fail + 1))
	fi
done <<'TABLE'
orchestrator-sources.json	jobengine-sources	acme	orch:read	/jobengine/sources
TABLE
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
