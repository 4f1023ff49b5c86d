#!/usr/bin/env bash
# Checks that contracts/out/ is exactly what the pinned compiler produces from contracts/src/.
# Installs the pinned npm packages (npm ci, from package-lock.json) if they are missing.
# Exit 0: artifacts are up to date. Exit 1: they differ (rebuild with `node contracts/build.js`
# and commit contracts/out/). Any other failure (npm, compiler) also exits non-zero.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! node -e "require.resolve('solc'); require.resolve('@openzeppelin/contracts/package.json')" >/dev/null 2>&1; then
  echo "check.sh: installing pinned npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

node build.js --out "$tmp/out" >&2

if ! diff -r out "$tmp/out" >"$tmp/diff"; then
  echo "check.sh: contracts/out/ is stale: it differs from a fresh build of contracts/src/." >&2
  echo "check.sh: run 'node contracts/build.js' and commit contracts/out/. Differences:" >&2
  head -c 4000 "$tmp/diff" | cut -c1-200 >&2
  exit 1
fi
echo "check.sh: contracts/out/ matches a fresh build (solc 0.8.28)."
