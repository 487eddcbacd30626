#!/usr/bin/env bash
# Builds the offline Flink and ZooKeeper images flinkform's examples use, with no image registry:
# a Debian root filesystem (mmdebstrap) with Java and Debian's ZooKeeper, plus Flink's distribution
# from the PyPI packages (apache-flink: bin/ and conf/; apache-flink-libraries: lib/, opt/,
# plugins/ — a wheel for 2.x, a source archive for 1.x). Idempotent: when the tags exist and were
# built from this recipe, it returns in about a second. Downloads are cached in
# $FLINKFORM_IMAGE_CACHE (default ~/.cache/flinkform-images).
#
# Usage: build.sh [--force] [--flink 2.3|1.20|X.Y.Z]   (default 2.3; 1.20 is the last 1.x line)
#
# Tags (deliberately not the official names, so nobody mistakes them for apache/flink or zookeeper):
#   flinkform-offline/flink:2.3.0-java17, flinkform-offline/flink:1.20.5-java17
#   flinkform-offline/zookeeper:3.8
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
force=""
flink_version="2.3.0"
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force="--force"; shift ;;
    --flink)
      case "${2:-}" in
        2.3) flink_version="2.3.0" ;;
        1.20) flink_version="1.20.5" ;;
        [0-9]*.[0-9]*.[0-9]*) flink_version="$2" ;;
        *) echo "build.sh: --flink takes 2.3, 1.20 or a full release such as 1.20.5" >&2; exit 2 ;;
      esac
      shift 2 ;;
    *) echo "usage: build.sh [--force] [--flink 2.3|1.20|X.Y.Z]" >&2; exit 2 ;;
  esac
done
base_tag="flinkform-offline/base:java17"
flink_tag="flinkform-offline/flink:${flink_version}-java17"
zk_tag="flinkform-offline/zookeeper:3.8"
cache="${FLINKFORM_IMAGE_CACHE:-$HOME/.cache/flinkform-images}"

log() { printf '[images] %s\n' "$*" >&2; }

# A hash of this recipe: images built from an older recipe are rebuilt.
recipe_hash="$(cat "$here/build.sh" "$here"/flink/* "$here"/zookeeper/* | sha256sum | cut -c1-16)"

image_current() {
  local got
  got="$(docker image inspect --format '{{ index .Config.Labels "io.flinkform.recipe" }}' "$1" 2>/dev/null || true)"
  [ "$got" = "$recipe_hash" ]
}

if [ "$force" != "--force" ] && image_current "$flink_tag" && image_current "$zk_tag"; then
  log "images present and current: $flink_tag, $zk_tag"
  exit 0
fi

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (needed for $1)"
  if [ "$(id -u)" != 0 ]; then log "run as root or install $2 yourself"; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need mmdebstrap mmdebstrap
need unzip unzip
need pip3 python3-pip

mkdir -p "$cache"
suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"

# 1. Base: Debian minbase + Java 17 + Debian's ZooKeeper (one rootfs serves both images).
if [ "$force" = "--force" ] || ! image_current "$base_tag"; then
  rootfs="$cache/rootfs-$suite.tar"
  if [ ! -s "$rootfs" ]; then
    log "building the $suite root filesystem (about a minute)"
    mmdebstrap --variant=minbase \
      --include=openjdk-17-jre-headless,procps,curl,netcat-openbsd,zookeeper \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
      "$suite" "$rootfs.tmp.tar"
    mv "$rootfs.tmp.tar" "$rootfs"
  fi
  log "importing $base_tag"
  docker import \
    -c 'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c "LABEL io.flinkform.recipe=$recipe_hash" \
    "$rootfs" "$base_tag" >/dev/null
fi

# 2. Flink's distribution from the PyPI packages.
dist="$cache/flink-$flink_version"
if [ ! -x "$dist/bin/jobmanager.sh" ]; then
  wheels="$cache/wheels-$flink_version"
  mkdir -p "$wheels"
  log "downloading the Flink $flink_version packages (about 330 MB, once)"
  pip3 download -q --no-deps -d "$wheels" "apache-flink-libraries==$flink_version"
  pip3 download -q --no-deps --only-binary=:all: -d "$wheels" "apache-flink==$flink_version"
  rm -rf "$dist.tmp" "$cache/unzip"
  mkdir -p "$cache/unzip" "$dist.tmp"
  for w in "$wheels"/apache_flink*.whl; do unzip -q -o "$w" 'pyflink/*' -d "$cache/unzip"; done
  # 1.x publishes the libraries as a source archive: its deps/ is the wheel's pyflink/.
  for a in "$wheels"/apache_flink_libraries-*.tar.gz; do
    [ -e "$a" ] || continue
    tar xzf "$a" -C "$cache/unzip"
    cp -a "$cache/unzip"/apache_flink_libraries-*/deps/. "$cache/unzip/pyflink/"
  done
  for d in bin conf lib opt plugins; do cp -a "$cache/unzip/pyflink/$d" "$dist.tmp/"; done
  chmod +x "$dist.tmp"/bin/*.sh "$dist.tmp/bin/flink"
  mkdir -p "$dist.tmp/log"
  rm -rf "$dist" "$cache/unzip"
  mv "$dist.tmp" "$dist"
fi

# 3. The images, built with the classic builder from a context holding only what they need.
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp -a "$here/flink/." "$ctx/"
cp -a "$dist" "$ctx/flink-dist"
log "building $flink_tag"
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base_tag" --label "io.flinkform.recipe=$recipe_hash" \
  -t "$flink_tag" "$ctx" >/dev/null

if [ "$force" = "--force" ] || ! image_current "$zk_tag"; then
  rm -rf "$ctx"/*
  cp -a "$here/zookeeper/." "$ctx/"
  log "building $zk_tag"
  DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base_tag" --label "io.flinkform.recipe=$recipe_hash" \
    -t "$zk_tag" "$ctx" >/dev/null
fi

log "done: $flink_tag, $zk_tag"
