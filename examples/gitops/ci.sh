#!/usr/bin/env bash
# The two CI jobs of a GitOps repository, each on its own runner from a fresh clone: the state
# is shared in PostgreSQL (main.hcl's backend), the reviewed plan travels as a CI artifact.
#
#   ./ci.sh pr      validate → fmt --check → plan --out $PLAN_DIR/plan.bin → $PLAN_DIR/plan.md
#                   (the pull request's comment); changes nothing
#   ./ci.sh merge   apply exactly $PLAN_DIR/plan.bin, the artifact of the reviewed pull request;
#                   refused when anything moved since it was made (another merge applied first)
#
# From the CI's secret store, the same on every runner:
#   FLINKFORM_KEY              the key plan files are authenticated with
#   FLINKFORM_PG_CONN_STR      the state's database (or libpq's PGHOST, PGUSER, PGPASSWORD, …)
#   FLINKFORM_VAR_alert_token  the configuration's sensitive variable, given at both steps
# And: FLINKFORM (the binary; default flinkform on PATH), PLAN_DIR (default ./.flinkform-ci).
set -euo pipefail
cd "$(dirname "$0")"
ff="${FLINKFORM:-flinkform}"
out="${PLAN_DIR:-.flinkform-ci}"
mkdir -p "$out"

case "${1:-}" in
  pr)
    echo "== validate"
    "$ff" validate
    echo "== fmt --check"
    "$ff" fmt --check --diff || { echo "run 'flinkform fmt' and commit the result" >&2; exit 3; }
    echo "== plan"
    set +e
    "$ff" plan -out="$out/plan.bin" -detailed-exitcode
    code=$?
    set -e
    [ "$code" -eq 1 ] && exit 1
    "$ff" show -markdown "$out/plan.bin" >"$out/plan.md"
    echo "== plan saved for the merge job ($out/plan.bin) and as the review comment ($out/plan.md)"
    ;;
  merge)
    echo "== apply the reviewed plan"
    "$ff" apply "$out/plan.bin"
    ;;
  *)
    echo "usage: $0 pr|merge" >&2
    exit 2
    ;;
esac
