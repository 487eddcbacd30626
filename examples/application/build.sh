#!/usr/bin/env bash
# Builds the example application image offline: the example job's jar (examples/jobs/build.sh)
# on top of the Flink image. Usage: build.sh [VERSION] → flinkform-example/counter-app:VERSION
# (default 1). Two versions differ only by their label, which is enough for a new image id: an
# upgrade that flinkform carries out through a savepoint.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:-1}"
image="${FLINK_IMAGE:-flinkform-offline/flink:2.3.0-java17}"
"$here/../jobs/build.sh"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$here/../jobs/stateful-counter.jar" "$ctx/"
DOCKER_BUILDKIT=0 docker build -q --build-arg FLINK_IMAGE="$image" --build-arg VERSION="$version" \
  -t "flinkform-example/counter-app:$version" "$ctx" >/dev/null
echo "[application] built flinkform-example/counter-app:$version" >&2
