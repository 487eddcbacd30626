#!/usr/bin/env bash
# Brings up the example Flink cluster (examples/quickstart) on the local Docker engine:
# builds the offline images when they are missing, builds flinkform, applies, and prints
# where the Flink web UI is. Safe to run again: it converges.
set -euo pipefail
cd "$(dirname "$0")/.."

./images/build.sh
cargo build --release --quiet
./target/release/flinkform --chdir examples/quickstart apply --auto-approve
url="$(./target/release/flinkform --chdir examples/quickstart output --raw rest_url)"
echo
echo "Flink web UI: $url"
echo "Tear down with: ./target/release/flinkform --chdir examples/quickstart destroy"
