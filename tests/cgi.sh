#!/bin/sh
# Run the programs as plain CGI (no web server) against golden outputs.
#
# Each tests/golden/NAME.req holds the program's name on its first line
# (PROGRAM=jobengine-sources) and then the CGI variables of one request,
# one per line; NAME.out is the exact response (status line, headers,
# body).  Tokens are minted per run from the test keys and written into
# the request through placeholders: @READ@ (tenant acme, orch:read),
# @NOSCOPE@ (acme, orch:quota only), @GLOBEX@ (tenant globex, orch:read),
# @BADSIG@ (a valid token with its signature replaced), @ALL@ (acme, all
# four scopes), @QUOTA@, @OPERATE@, @BACKFILL@ (acme, that one scope).
# Every fixture in tests/fixtures/*.ndjson is imported first.  `tests/cgi.sh --update`
# rewrites the .out files; read the diff before committing it.
#
# VALGRIND, when set, prefixes every program run (./dev test sets it).
#
# GW_TEST_DATABASE=postgresql://... (the variable of the Check store tests)
# runs the same requests, against the same .out files, on that PostgreSQL
# server instead of SQLite files: the store is migrated and loaded once
# into a template database, and every request gets its own copy of it
# (CREATE DATABASE ... TEMPLATE), dropped after (tests/store.sh).  Needs
# psql, and CREATEDB on the database the URI names.
set -eu

srcdir=${top_srcdir:-$(dirname "$0")/..}
builddir=${top_builddir:-.}
update=no
[ "${1:-}" = --update ] && update=yes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-cgi.XXXXXX")
pgdb=gw_cgi_$$		# the template; request N's copy is ${pgdb}_N
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
# Every request runs against a fresh copy of the migrated, loaded store, so
# a mutation's golden output does not depend on the order of the files.
JOBENGINE_DATABASE="$template" "$admin" migrate > /dev/null
for f in "$srcdir"/tests/fixtures/*.ndjson; do
	JOBENGINE_DATABASE="$template" "$admin" import "$f" > /dev/null
done

mint() {
	"$admin" token --key "$srcdir/tests/keys/rsa.pem" --kid rsa-1 \
	    --sub operator-1 --ttl 600 "$@"
}
READ=$(mint --tenant acme --scope "orch:read")
NOSCOPE=$(mint --tenant acme --scope "orch:quota")
GLOBEX=$(mint --tenant globex --scope "orch:read")
BADSIG=$(printf '%s' "$READ" | sed 's/\.[^.]*$/.AAAA/')
ALL=$(mint --tenant acme --scope "orch:read orch:quota orch:operate orch:backfill")
QUOTA=$NOSCOPE
OPERATE=$(mint --tenant acme --scope "orch:operate")
BACKFILL=$(mint --tenant acme --scope "orch:backfill")

pass=0
fail=0
t0=$(date +%s)
for req in "$srcdir"/tests/golden/*.req; do
	name=$(basename "$req" .req)
	fresh_store
	prog=$(sed -n '1s/^PROGRAM=//p' "$req")
	sed -e '1d' -e "s|@READ@|$READ|" -e "s|@NOSCOPE@|$NOSCOPE|" \
	    -e "s|@GLOBEX@|$GLOBEX|" -e "s|@BADSIG@|$BADSIG|" \
	    -e "s|@ALL@|$ALL|" -e "s|@QUOTA@|$QUOTA|" -e "s|@OPERATE@|$OPERATE|" \
	    -e "s|@BACKFILL@|$BACKFILL|" "$req" \
	    > "$tmp/env"
	body=/dev/null
	[ -f "${req%.req}.body" ] && body="${req%.req}.body"
	# shellcheck disable=SC2046
	(IFS='
'; exec env -i JOBENGINE_GATEWAY_CONFIG="$JOBENGINE_GATEWAY_CONFIG" \
	    JOBENGINE_DATABASE="$store" $(cat "$tmp/env") ${VALGRIND:-} \
	    "$builddir/cgi-bin/$prog" \
	    < "$body") > "$tmp/out" 2> "$tmp/err" || {
		echo "FAIL: $name: exit status $?"; cat "$tmp/err"
		fail=$((fail + 1)); continue; }
	if [ -s "$tmp/err" ] && [ -n "${VALGRIND:-}" ]; then
		echo "FAIL: $name: valgrind"; cat "$tmp/err"
		fail=$((fail + 1)); continue
	fi
	# A continuation token carries its expiry hour, and the page's ETag
	# covers the token: both are replaced by placeholders.
	if grep -q '"continuationToken":"' "$tmp/out"; then
		sed -e 's/"continuationToken":"[A-Za-z0-9_-]*"/"continuationToken":"@TOKEN@"/' \
		    -e 's/^ETag: .*\r$/ETag: "@ETAG@"\r/' "$tmp/out" > "$tmp/out2"
		mv "$tmp/out2" "$tmp/out"
	fi
	if [ $update = yes ]; then
		cp "$tmp/out" "$srcdir/tests/golden/$name.out"
	fi
	if cmp -s "$tmp/out" "$srcdir/tests/golden/$name.out"; then
		echo "ok: $name"
		pass=$((pass + 1))
	else
		echo "FAIL: $name"
		diff "$srcdir/tests/golden/$name.out" "$tmp/out" || true
		fail=$((fail + 1))
	fi
done
engine=SQLite
[ -z "$pg" ] || engine=PostgreSQL
echo "$pass passed, $fail failed on $engine in $(($(date +%s) - t0)) s"
[ $fail -eq 0 ]
