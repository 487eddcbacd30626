#!/usr/bin/env bash
# A throwaway image registry for the tests, from Debian's docker-registry package (the CNCF
# distribution registry): `start DIR USER PASSWORD` serves DIR/data on a free port of 127.0.0.1
# with basic authentication (htpasswd, bcrypt) and prints its address (`127.0.0.1:PORT`; the
# engine pulls from a loopback registry over plain HTTP); `stop DIR` stops that registry (and
# nothing else).
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
case "$cmd" in
  start)
    user=${3:?user}
    password=${4:?password}
    command -v docker-registry >/dev/null || { echo "the registry is not installed: apt-get install docker-registry" >&2; exit 1; }
    command -v htpasswd >/dev/null || { echo "htpasswd is not installed: apt-get install apache2-utils" >&2; exit 1; }
    mkdir -p "$dir/data"
    htpasswd -Bbn "$user" "$password" >"$dir/htpasswd"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: flinkform-test-registry
auth:
  htpasswd:
    realm: flinkform-test
    path: $dir/htpasswd
YAML
    setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
      [ "$code" = 401 ] && { echo "127.0.0.1:$port"; exit 0; }
      sleep 0.1
    done
    echo "the registry did not start:" >&2
    cat "$dir/registry.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start DIR USER PASSWORD | stop DIR" >&2
    exit 2
    ;;
esac
