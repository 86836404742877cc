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
# (CREATE DATABASE ... TEMPLATE), dropped after.  The URI names the
# database the script connects to for that, so it needs CREATEDB; the two
# databases it creates are named after its pid.  Needs psql.
set -eu

srcdir=${top_srcdir:-$(dirname "$0")/..}
builddir=${top_builddir:-.}
update=no
[ "${1:-}" = --update ] && update=yes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-cgi.XXXXXX")
pg=${GW_TEST_DATABASE:-}
pgdb=gw_cgi_$$		# the template; request N's copy is ${pgdb}_N
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
