#!/usr/bin/env bash
# Starts and stops throwaway PostgreSQL 15 clusters under the working tree,
# with vigil and pg_cron preloaded, for the tests, the demo and benchmarks.
#
#   test/cluster.sh start DIR PORT     initdb (if needed) and start
#   test/cluster.sh stop DIR           stop (immediate), keep the files
#   test/cluster.sh restart DIR PORT   stop (fast) and start, to apply settings
#                                      read at server start (ALTER SYSTEM)
#   test/cluster.sh destroy DIR        stop and remove
#   test/cluster.sh port PREFERRED     print PREFERRED, or the next port above
#                                      it, that nothing on 127.0.0.1 holds
#
# PostgreSQL refuses to run as root, so as root the server runs as the
# postgres user that Debian's packages create, and DIR is handed to it.
set -euo pipefail

BINDIR=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)

# Run a command as the user that owns clusters.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Make DIR a directory the cluster owner can use.  As root, a parent
# directory closed to others (a checkout under a private home or mktemp
# directory) is opened for search (o+x, not read), with a note saying so.
prepare_dir() {
	local dir=$1 parent
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] || return 0
	chown postgres: "$dir"
	parent=$(dirname "$dir")
	while [ "$parent" != / ]; do
		if ! runuser -u postgres -- test -x "$parent"; then
			echo "cluster.sh: letting the postgres user search $parent (chmod o+x)"
			chmod o+x "$parent"
		fi
		parent=$(dirname "$parent")
	done
	if ! runuser -u postgres -- test -w "$dir"; then
		echo "cluster.sh: the postgres user cannot write $dir" >&2
		exit 1
	fi
}

start() {
	local dir port
	dir=$(realpath -m "$1")
	port=$2
	prepare_dir "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$BINDIR/initdb" -D "$dir/data" -U postgres --auth=trust \
			--encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
		cat >>"$dir/data/postgresql.conf" <<CONF
# pg_vigil throwaway cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = 'vigil,pg_cron'
cron.database_name = 'postgres'
max_worker_processes = 16
max_parallel_workers_per_gather = 2
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
CONF
	fi
	if as_owner "$BINDIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		return 0
	fi
	# a kept cluster starts on the port asked for now, which may have moved
	as_owner sed -i "s/^port = .*/port = $port/" "$dir/data/postgresql.conf"
	as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; exit 1; }
}

stop() {
	local dir
	dir=$(realpath -m "$1")
	[ -f "$dir/data/PG_VERSION" ] || return 0
	if as_owner "$BINDIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
	fi
}

# Stop cleanly (fast: no crash recovery at the next start) and start again.
restart() {
	local dir
	dir=$(realpath -m "$1")
	if as_owner "$BINDIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
	start "$1" "$2"
}

# Print the first port from $1 up that can be bound on 127.0.0.1: fixed
# ports collide with whatever else runs on the machine (another checkout's
# tests, a cluster left behind), and a suite must not fail for that.
free_port() {
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys
first = int(sys.argv[1])
for port in range(first, first + 200):
    s = socket.socket()
    # as PostgreSQL binds: a port in TIME_WAIT is free to it
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit(f"cluster.sh: no free port in {first}..{first + 199}")
PY
}

case "${1:-}" in
start) start "$2" "$3" ;;
stop) stop "$2" ;;
restart) restart "$2" "$3" ;;
destroy) stop "$2"; rm -rf "$2" ;;
port) free_port "$2" ;;
*) echo "usage: $0 start DIR PORT | stop DIR | restart DIR PORT | destroy DIR | port PREFERRED" >&2; exit 2 ;;
esac
