# tests/store.sh: the store of a script that runs the programs as plain
# CGI, one fresh copy per request (sourced by tests/cgi.sh and
# tests/samples.sh, after they set tmp, update and pgdb).
#
# On SQLite the copy is a file copied from $tmp/template.db.  With
# GW_TEST_DATABASE=postgresql://... it is a database copied from a
# template database, ${pgdb}_t; request N's copy is ${pgdb}_N, dropped
# after.  The URI names the database the script connects to for that, so
# it needs CREATEDB.  Sets template (the store to migrate and load) and
# store (the current request's); fresh_store moves store to a new copy.
# The EXIT trap removes every copy and $tmp.
pg=${GW_TEST_DATABASE:-}
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
