#!/usr/bin/env bash
# Runs every go test -fuzz target in the repository for the given time each
# (default 30s). New crashers land in the package's testdata/fuzz/ and
# become regression cases of the ordinary test run.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-30s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg"
  done
done
