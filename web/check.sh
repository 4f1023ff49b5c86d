#!/usr/bin/env bash
# Fails when web/out (the built pages `medshare serve` embeds) is not what `vite build` makes from
# the sources now, as contracts/check.sh does for the contract artifacts. Needs web/node_modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx vite build --logLevel error --outDir "$tmp/out" >/dev/null
if ! diff -r "$tmp/out" out >/dev/null; then
  diff -r "$tmp/out" out | head -20 >&2 || true
  echo "check.sh: web/out is stale: run \`npm run build\` in web/ and commit web/out" >&2
  exit 1
fi
echo "check.sh: web/out matches a fresh build"
