#!/usr/bin/env bash
# The pipeline a GitOps repository runs: validate → fmt --check → plan --out → save the plan
# as Markdown for the pull request → apply exactly the saved plan.
#
#   FLINKFORM   the flinkform binary (default: flinkform on PATH)
#   STAGE       "plan" (pull request: stop after saving the plan), or "all" (default: apply too)
#   PLAN_DIR    where plan.bin and plan.md go (default: ./.flinkform-ci)
set -euo pipefail
cd "$(dirname "$0")"
ff="${FLINKFORM:-flinkform}"
stage="${STAGE:-all}"
out="${PLAN_DIR:-.flinkform-ci}"
mkdir -p "$out"

echo "== validate"
"$ff" validate
echo "== fmt --check"
"$ff" fmt --check --diff || { echo "run 'flinkform fmt' and commit the result" >&2; exit 3; }
echo "== plan"
set +e
"$ff" plan --out "$out/plan.bin" --detailed-exitcode
code=$?
set -e
[ "$code" -eq 1 ] && exit 1
"$ff" show --markdown "$out/plan.bin" > "$out/plan.md"
echo "== plan saved as Markdown in $out/plan.md (post it as the pull-request comment)"
if [ "$code" -eq 0 ]; then
  echo "== no changes"
  exit 0
fi
[ "$stage" = "plan" ] && exit 0
echo "== apply the reviewed plan"
"$ff" apply "$out/plan.bin"
