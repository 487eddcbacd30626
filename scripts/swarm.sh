#!/usr/bin/env bash
# A test swarm on this machine: `up [WORKERS]` makes this machine's engine a swarm manager and
# starts WORKERS (default 1) more engines that join it as workers, each a second dockerd in a
# network namespace of its own (a veth pair to the host; its own data and exec roots, socket
# and hostname, `flinkform-worker-N`), labelled `flinkform.test=worker`, with the offline images
# loaded (FLINKFORM_SWARM_IMAGES, space-separated). `down` removes everything `up` made — the
# workers, their namespaces, links, data, the two firewall rules that let them resolve names,
# and the swarm itself when `up` made it — and nothing else. A swarm this engine was already in
# is used as it is (with no workers) and left alone. `stop-worker N` stops worker N's engine
# (a node going down). Idempotent; callers are serialised.
set -euo pipefail
cmd=${1:?up [WORKERS]|stop-worker N|down}
workers=${2:-1}
state_dir=${FLINKFORM_SWARM_DIR:-/tmp/flinkform-test-swarm}
data_dir=/var/lib/flinkform-test-swarm
images=${FLINKFORM_SWARM_IMAGES:-flinkform-offline/flink:2.3.0-java17 flinkform-offline/zookeeper:3.8 flinkform-offline/busybox:static}
mkdir -p "$state_dir"
exec 9>"$state_dir/lock"
flock 9

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }
worker_sock() { echo "unix://$state_dir/worker-$1/docker.sock"; }
wdocker() { local i=$1; shift; docker -H "$(worker_sock "$i")" "$@"; }
# Forwarding for the workers' own traffic (their engines' name lookups and pulls fail fast
# instead of timing out): added once, removed by `down` by the same specification.
RULES=(
  "FORWARD -i ffswarm+ -j ACCEPT"
  "FORWARD -o ffswarm+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
)
NAT_RULE="POSTROUTING -s 10.231.0.0/16 ! -o ffswarm+ -j MASQUERADE"

# Worker i's network namespace and its link to the host: 10.231.i.1 here, 10.231.i.2 there.
make_link() {
  local i=$1
  local ns="ffswarm-w$i"
  ip netns list | grep -qw "$ns" && return 0
  ip netns add "$ns"
  ip link add "ffswarm-h$i" type veth peer name "ffswarm-w$i"
  ip link set "ffswarm-w$i" netns "$ns"
  ip addr add "10.231.$i.1/24" dev "ffswarm-h$i"
  ip link set "ffswarm-h$i" up
  nsenter --net="/var/run/netns/$ns" sh -c "ip addr add 10.231.$i.2/24 dev ffswarm-w$i && ip link set ffswarm-w$i up && ip link set lo up && ip route add default via 10.231.$i.1"
}

start_worker() {
  local i=$1
  local ns="ffswarm-w$i" dir="$state_dir/worker-$i"
  mkdir -p "$dir" "$data_dir/worker-$i"
  make_link "$i"
  if ! wdocker "$i" info >/dev/null 2>&1; then
    echo '{}' >"$dir/daemon.json"
    # The storage driver this machine's engine uses works here too (fuse-overlayfs where the
    # kernel's overlay is not available to it).
    local driver
    driver=$(docker info --format '{{.Driver}}')
    # nsenter, not `ip netns exec` (which remounts /sys and hides the cgroups dockerd needs);
    # a UTS namespace of its own, so `docker node ls` and `docker service ps` tell the nodes apart.
    nsenter --net="/var/run/netns/$ns" unshare --uts sh -c "hostname flinkform-worker-$i && exec setsid dockerd \
      --data-root $data_dir/worker-$i --exec-root $dir/exec -H $(worker_sock "$i") --pidfile $dir/docker.pid \
      --config-file $dir/daemon.json --storage-driver $driver" >"$dir/dockerd.log" 2>&1 </dev/null 9>&- &
    for _ in $(seq 1 100); do wdocker "$i" info >/dev/null 2>&1 && break; sleep 0.2; done
    wdocker "$i" info >/dev/null 2>&1 || { echo "worker $i's engine did not start; see $dir/dockerd.log" >&2; exit 1; }
  fi
  for image in $images; do
    if ! wdocker "$i" image inspect "$image" >/dev/null 2>&1; then
      docker save "$image" | wdocker "$i" load >/dev/null
    fi
  done
  if [ "$(wdocker "$i" info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    wdocker "$i" swarm join --token "$(docker swarm join-token -q worker)" --advertise-addr "10.231.$i.2" "10.231.1.1:2377" >/dev/null
  fi
  local id
  id=$(wdocker "$i" info --format '{{.Swarm.NodeID}}')
  docker node update --label-add flinkform.test=worker "$id" >/dev/null
}

stop_worker() {
  local i=$1
  local ns="ffswarm-w$i" dir="$state_dir/worker-$i"
  if wdocker "$i" info >/dev/null 2>&1; then
    wdocker "$i" swarm leave --force >/dev/null 2>&1 || true
    # Its tasks' containers, then the engine itself (by its own pid file).
    wdocker "$i" ps -aq | xargs -r docker -H "$(worker_sock "$i")" rm -f >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/docker.pid" ]; then
    kill "$(cat "$dir/docker.pid")" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$(cat "$dir/docker.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
  fi
  ip netns list | grep -qw "$ns" && ip netns del "$ns"
  ip link del "ffswarm-h$i" 2>/dev/null || true
  grep -q " $data_dir/worker-$i" /proc/mounts && umount -R "$data_dir/worker-$i" 2>/dev/null || true
  rm -rf "$data_dir/worker-$i" "$dir"
}

case "$cmd" in
  up)
    # A one-node swarm this script made earlier cannot take workers (its manager answers on
    # loopback): made again, when nothing runs on it.
    if [ "$(swarm_state)" = active ] && [ -f "$state_dir/made-by-us" ] && [ "$workers" -gt 0 ] \
      && [ "$(docker info --format '{{.Swarm.NodeAddr}}')" != 10.231.1.1 ] && [ -z "$(docker service ls -q)" ]; then
      docker swarm leave --force >/dev/null
      rm -f "$state_dir/made-by-us"
    fi
    case "$(swarm_state)" in
      active)
        if [ ! -f "$state_dir/made-by-us" ] && [ "$workers" -gt 0 ]; then
          echo "this engine is already in a swarm that scripts/swarm.sh did not make: it is used without test workers" >&2
          workers=0
        fi
        ;;
      inactive)
        if [ "$workers" -gt 0 ]; then
          # The manager answers its workers on the first worker's link.
          make_link 1
          docker swarm init --advertise-addr 10.231.1.1 >/dev/null
        else
          # Loopback: a one-node swarm needs no other address.
          docker swarm init --advertise-addr 127.0.0.1 >/dev/null
        fi
        touch "$state_dir/made-by-us"
        ;;
      *) echo "the engine's swarm state is $(swarm_state); wait for it to settle" >&2; exit 1 ;;
    esac
    if [ "$workers" -gt 0 ]; then
      for rule in "${RULES[@]}"; do
        # shellcheck disable=SC2086
        iptables -C $rule 2>/dev/null || iptables -I $rule
      done
      # shellcheck disable=SC2086
      iptables -t nat -C $NAT_RULE 2>/dev/null || iptables -t nat -A $NAT_RULE
      for i in $(seq 1 "$workers"); do start_worker "$i"; done
    fi
    for _ in $(seq 1 100); do
      [ "$(docker node ls --format '{{.Status}}' | grep -c Ready)" -ge $((workers + 1)) ] && break
      sleep 0.2
    done
    ;;
  down)
    for dir in "$state_dir"/worker-*; do
      [ -d "$dir" ] && stop_worker "${dir##*-}"
    done
    if ip link show ffswarm-h1 >/dev/null 2>&1; then ip link del ffswarm-h1; fi
    if ip netns list | grep -qw ffswarm-w1; then ip netns del ffswarm-w1; fi
    for rule in "${RULES[@]}"; do
      # shellcheck disable=SC2086
      iptables -D $rule 2>/dev/null || true
    done
    # shellcheck disable=SC2086
    iptables -t nat -D $NAT_RULE 2>/dev/null || true
    if [ -f "$state_dir/made-by-us" ] && [ "$(swarm_state)" = active ]; then
      if [ -z "$(docker service ls -q)" ]; then
        # The nodes of workers that are gone, then the swarm itself.
        docker node ls --filter role=worker -q | xargs -r docker node rm --force >/dev/null 2>&1 || true
        docker swarm leave --force >/dev/null
        rm -f "$state_dir/made-by-us"
      else
        echo "services are still running on the test swarm; it is left up" >&2
      fi
    fi
    ;;
  stop-worker)
    # Worker N's engine stops (its containers with it), as a machine that goes down: the swarm
    # marks the node down and reschedules its tasks. `down` cleans it up later.
    pid_file="$state_dir/worker-$workers/docker.pid"
    [ -f "$pid_file" ] || { echo "no worker $workers is running" >&2; exit 1; }
    kill "$(cat "$pid_file")"
    for _ in $(seq 1 300); do kill -0 "$(cat "$pid_file" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
    ;;
  *) echo "usage: $0 up [WORKERS] | stop-worker N | down" >&2; exit 2 ;;
esac
