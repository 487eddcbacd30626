#!/usr/bin/env bash
# Runs every test: unit and snapshot tests, CLI tests, and the end-to-end tests against the
# real Docker engine with real Flink and ZooKeeper (which need the offline images: built here
# when missing, in seconds when present; the fault tests use the light busybox image).
set -euo pipefail
cd "$(dirname "$0")/.."

./images/build.sh
./images/busybox.sh
cargo nextest run --no-fail-fast "$@"
