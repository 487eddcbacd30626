#!/usr/bin/env bash
# Compiles the example job offline against the Flink jars of the image it runs on (javac from
# Debian's JDK; no Maven, no registry). Output: examples/jobs/stateful-counter.jar, or $JAR
# (a jar for another Flink release: FLINK_IMAGE=flinkform-offline/flink:1.20.5-java17 JAR=… build.sh).
# Idempotent: nothing is rebuilt when the jar is newer than its sources.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
image="${FLINK_IMAGE:-flinkform-offline/flink:2.3.0-java17}"
jar="${JAR:-$here/stateful-counter.jar}"

if [ -f "$jar" ] && [ -z "$(find "$here/src" -newer "$jar" -type f)" ]; then
  exit 0
fi
if ! command -v javac >/dev/null 2>&1 || ! command -v jar >/dev/null 2>&1; then
  echo "[jobs] installing a JDK (javac)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"; docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT
cid="$(docker create "$image")"
docker cp -q "$cid:/opt/flink/lib" "$work/lib"
mkdir -p "$work/classes"
javac --release 17 -nowarn -cp "$work/lib/*" -d "$work/classes" $(find "$here/src" -name '*.java')
# Written beside the jar under this process's own name, then renamed: two builds at once (tests
# run in parallel) each put a whole jar in place.
jar --create --file "$jar.tmp.$$" --main-class org.flinkform.examples.StatefulCounter -C "$work/classes" .
mv "$jar.tmp.$$" "$jar"
echo "[jobs] built $jar" >&2
