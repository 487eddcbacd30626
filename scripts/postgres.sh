#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's packages: `start DIR` makes a
# cluster in DIR (or starts the one there again) (initdb, trust authentication, superuser `flinkform`), listening only on a
# Unix socket in DIR and on a free port of 127.0.0.1, and prints its connection string;
# `stop DIR` stops that server (and nothing else). As root, the server runs as the
# unprivileged user `postgres`, as PostgreSQL requires.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed: apt-get install postgresql" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    # A second start of the same DIR starts the same server again, on the same port.
    if [ ! -d "$dir/data" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres "$dir"
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U flinkform --no-sync >"$dir/initdb.log" 2>&1
      python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$dir/port"
    fi
    port=$(cat "$dir/port")
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    echo "host=$dir port=$port user=flinkform dbname=postgres"
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
