#!/usr/bin/env bash
# A test swarm on this machine's engine: `up` makes the engine a one-node swarm manager when
# it is in no swarm (and remembers that it did); `down` makes it leave again, only when `up`
# made it, and only once no service is left on it. A swarm the engine was already in is used
# and left alone. Both are idempotent; concurrent callers are serialised by a lock.
set -euo pipefail
cmd=${1:?up|down}
state_dir=${FLINKFORM_SWARM_DIR:-/tmp/flinkform-test-swarm}
mkdir -p "$state_dir"
exec 9>"$state_dir/lock"
flock 9
swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }
case "$cmd" in
  up)
    case "$(swarm_state)" in
      active) ;;
      inactive)
        # Loopback as the advertised address: a one-node swarm needs no other, and the host's
        # interfaces may change.
        docker swarm init --advertise-addr 127.0.0.1 >/dev/null
        touch "$state_dir/made-by-us"
        ;;
      *) echo "the engine's swarm state is $(swarm_state); wait for it to settle" >&2; exit 1 ;;
    esac
    # The manager's overlay networks need a moment after init before services can use them.
    for _ in $(seq 1 50); do
      [ "$(docker node ls --format '{{.Status}}' 2>/dev/null | head -1)" = Ready ] && break
      sleep 0.2
    done
    ;;
  down)
    if [ -f "$state_dir/made-by-us" ] && [ "$(swarm_state)" = active ]; then
      if [ -z "$(docker service ls -q)" ]; then
        docker swarm leave --force >/dev/null
        rm -f "$state_dir/made-by-us"
      else
        echo "services are still running on the test swarm; it is left up" >&2
      fi
    fi
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
