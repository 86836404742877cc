#!/bin/sh
#
# pg.sh: a throwaway PostgreSQL 15 cluster for the tests.
#
#   eval "$(tests/pg.sh start)"   initdb into a new temporary folder, start
#                                 the server, and print shell assignments:
#                                 GW_PG_DIR, GW_PG_PORT, GW_PG_URI (libpq URI
#                                 over TCP on 127.0.0.1), GW_PG_SOCKET_URI
#                                 (over the unix socket in the folder) and
#                                 GW_PG_STOP (the command that stops it)
#   tests/pg.sh stop DIR          stop that cluster and remove its folder
#
# The server listens only on a unix socket inside the folder and on
# 127.0.0.1 at a free port, trusts local connections (nobody else can
# reach the folder or, the tests being throwaway, cares) and runs without
# fsync.  It never touches Debian's clusters (no pg_ctlcluster): it runs
# /usr/lib/postgresql/15/bin directly.  PostgreSQL refuses to run as
# root, so as root the cluster belongs to the "postgres" user (created by
# Debian's postgresql package) and the commands run through runuser.
# PGBIN overrides the binaries' folder.

set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGUSER_RUN=${GW_PG_OSUSER:-postgres}

die()
{
	printf 'pg.sh: %s\n' "$*" >&2
	exit 1
}

# Run a PostgreSQL binary as the cluster's owner.
as_owner()
{
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PGUSER_RUN" -- "$@"
	else
		"$@"
	fi
}

free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start()
{
	[ -x "$PGBIN/initdb" ] || die "no $PGBIN/initdb (apt-get install postgresql-15)"
	if [ "$(id -u)" -eq 0 ]; then
		id "$PGUSER_RUN" >/dev/null 2>&1 ||
		    die "running as root needs the user $PGUSER_RUN"
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/gw-pg.XXXXXX")
	chmod 755 "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$PGUSER_RUN" "$dir"
	port=$(free_port)

	# C collation and UTF-8: ORDER BY compares bytes, as on SQLite.
	as_owner "$PGBIN/initdb" -D "$dir/data" -U gw -A trust \
	    -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
	    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
	cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	    -t 60 start >/dev/null ||
	    { cat "$dir/server.log" >&2; die "the server did not start"; }
	as_owner "$PGBIN/psql" -h "$dir" -p "$port" -U gw -d postgres \
	    -q -c 'CREATE DATABASE gw' >/dev/null ||
	    die "CREATE DATABASE failed"

	printf "GW_PG_DIR='%s'\n" "$dir"
	printf "GW_PG_PORT='%s'\n" "$port"
	printf "GW_PG_URI='postgresql://gw@127.0.0.1:%s/gw'\n" "$port"
	printf "GW_PG_SOCKET_URI='postgresql://gw@/gw?host=%s&port=%s'\n" \
	    "$dir" "$port"
	printf "GW_PG_STOP='%s stop %s'\n" "$(readlink -f "$0")" "$dir"
}

stop()
{
	dir=$1
	[ -d "$dir/data" ] || die "$dir: not a cluster folder"
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
	    >/dev/null 2>&1 || true
	rm -rf "$dir"
}

case ${1:-} in
start)
	start
	;;
stop)
	[ $# -eq 2 ] || die "usage: pg.sh stop DIR"
	stop "$2"
	;;
*)
	die "usage: pg.sh start | pg.sh stop DIR"
	;;
esac
