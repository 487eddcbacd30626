#!/usr/bin/env bash
# Builds flinkform-offline/busybox:static, the light image of the benchmarks and fault tests: a
# static busybox (Debian's busybox-static) alone in an image, `sleep` and `sh` included. No
# registry needed. Idempotent: returns at once when the tag exists and was built by this script.
set -euo pipefail

tag="flinkform-offline/busybox:static"
cache="${FLINKFORM_IMAGE_CACHE:-$HOME/.cache/flinkform-images}"
hash="$(sha256sum "$0" | cut -c1-16)"
log() { printf '[images] %s\n' "$*" >&2; }

got="$(docker image inspect --format '{{ index .Config.Labels "io.flinkform.recipe" }}' "$tag" 2>/dev/null || true)"
if [ "$got" = "$hash" ] && [ "${1:-}" != "--force" ]; then
  log "image present and current: $tag"
  exit 0
fi

mkdir -p "$cache"
deb="$(ls "$cache"/busybox-static_*.deb 2>/dev/null | head -n1 || true)"
if [ -z "$deb" ]; then
  log "downloading Debian's busybox-static package"
  (cd "$cache" && { apt-get download -qq busybox-static 2>/dev/null || { apt-get update -qq && apt-get download -qq busybox-static; }; })
  deb="$(ls "$cache"/busybox-static_*.deb | head -n1)"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/pkg"
mkdir -p "$work/root/bin" "$work/root/tmp"
cp "$work/pkg/bin/busybox" "$work/root/bin/busybox"
for applet in sh sleep true false echo cat ls ps kill nc wget; do ln -s busybox "$work/root/bin/$applet"; done
log "importing $tag"
tar -C "$work/root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sleep", "infinity"]' \
  -c "LABEL io.flinkform.recipe=$hash" - "$tag" >/dev/null
log "done: $tag"
