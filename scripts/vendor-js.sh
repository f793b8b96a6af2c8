#!/usr/bin/env bash
# Vendors the console's JavaScript libraries into console/ui/assets/vendor/
# from the npm registry, checking each package's pinned integrity first.
# The vendored files are committed: the build stays offline. Run it again
# only to change a version (then update the pins here and the SHA-256 in
# console/ui/ui_test.go).
#
#   uPlot 1.6.32 (MIT): dist/uPlot.iife.min.js, dist/uPlot.min.css, LICENSE
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=uplot@1.6.32
integrity='sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=='
dest=console/ui/assets/vendor/uplot

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tgz=$(ls "$tmp"/*.tgz)
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
  echo "vendor-js: $pkg integrity mismatch: got $got, want $integrity" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp"
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/"
echo "vendor-js: $pkg -> $dest"
sha256sum "$dest"/*
