#!/usr/bin/env bash
# Runs every test: unit and snapshot tests, CLI tests, and the end-to-end tests against the
# real Docker engine with real Flink and ZooKeeper (which need the offline images: built here
# when missing, in seconds when present; the fault tests use the light busybox image), and
# real PostgreSQL for the remote state.
set -euo pipefail
cd "$(dirname "$0")/.."

./images/build.sh
# The version matrix: Flink 1.20, the last 1.x line, beside 2.3 (tests/e2e_versions.rs).
./images/build.sh --flink 1.20
./images/busybox.sh
# The PostgreSQL state tests start their own throwaway server (scripts/postgres.sh) from
# Debian's package.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# The registry tests pull from a throwaway private registry (scripts/registry.sh).
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
# The swarm tests start a second engine in a network namespace (scripts/swarm.sh).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The policy tests compare the embedded Rego engine's decisions with an independent one
# (rego-cpp, through its Python bindings).
python3 -c 'import regopy' 2>/dev/null || python3 -m pip install -q regopy
# The swarm test makes this engine a swarm manager with a second engine beside it, and leaves
# again: engine-wide changes (its networking among them) that no other test should run through.
# So it runs alone, after the rest.
status=0
cargo nextest run --no-fail-fast -E 'not binary(e2e_swarm)' "$@" || status=$?
cargo nextest run --no-fail-fast --test e2e_swarm "$@" || status=$?
exit $status
