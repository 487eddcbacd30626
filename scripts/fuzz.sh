#!/usr/bin/env bash
# Fuzzes config loading/evaluation and state parsing for SECONDS each (default 300), from SEED
# (default: a fixed one). A panic or a hang fails and keeps the input under target/tmp/fuzz-failures.
#   ./scripts/fuzz.sh 600 12345
set -euo pipefail
cd "$(dirname "$0")/.."
FLINKFORM_FUZZ_SECONDS="${1:-300}" FLINKFORM_FUZZ_SEED="${2:-1592652062}" \
  cargo nextest run --release --no-capture -E 'binary(fuzz)'
