#!/usr/bin/env bash
# Runs the contracts' forge suite (test/: the invariant campaign — 1,000 runs × 100 calls, every
# property checked after every call, foundry.toml — and its unit tests) with the forge binary in $MEDSHARE_FORGE (default:
# `forge` on PATH), and prints forge's results. Then checks, from forge's own call metrics, that
# every handler entry point succeeded at least once in every invariant's campaign, so the suite
# cannot pass by doing nothing, and prints the campaign's calls per entry point.
# Needs contracts/node_modules (npm ci; check.sh installs it): forge compiles with the pinned
# solc-js through forge-solc.js. Exit non-zero on any failing test or unexercised entry point.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
forge=${MEDSHARE_FORGE:-forge}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$forge" test --color never >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$log"
  echo "invariants.sh: forge test failed (exit $status)" >&2
  exit "$status"
fi
grep -E '^(Compiling|Solc|\[PASS\]|\[FAIL|Suite result|Ran [0-9]+ test suite)' "$log"

# forge prints, after each invariant's [PASS] line, a table: | Handler | entry point | Calls |
# Reverts | Discards |. An entry point whose calls all reverted never did anything.
# Every entry point of Handler.selectors() must show up in each campaign's table.
expected=$(grep -cE '^ *s\[[0-9]+\] = this\.' test/invariant/Handler.sol)
awk -F'|' -v expected="$expected" '
  /^\[(PASS|FAIL)/ { test = $0; sub(/\(.*/, "", test); sub(/^\[[A-Z]+\] /, "", test) }
  $2 ~ /^ *Handler *$/ {
    name = $3; gsub(/ /, "", name); calls = $4 + 0; reverts = $5 + 0
    rows[test]++; total[name] += calls; ok[name] += calls - reverts
    if (calls - reverts <= 0) { printf "invariants.sh: %s: entry point %s never succeeded\n", test, name; bad = 1 }
  }
  END {
    n = 0; for (t in rows) { n++; if (rows[t] != expected) { printf "invariants.sh: %s: %d entry points in the metrics, expected %d\n", t, rows[t], expected; bad = 1 } }
    if (n == 0) { print "invariants.sh: forge printed no invariant metrics"; bad = 1 }
    printf "calls (successful) per entry point, over the %d invariant campaigns:\n", n
    m = 0; for (e in total) names[++m] = e
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (names[j] < names[i]) { x = names[i]; names[i] = names[j]; names[j] = x }
    for (i = 1; i <= m; i++) printf "  %-27s %8d (%d)\n", names[i], total[names[i]], ok[names[i]]
    exit bad
  }' "$log"
