#!/usr/bin/env bash
# Runs every test suite of `make test` (deployment files, Rust workspace, dashboard unit
# tests, browser end-to-end tests) and closes with one line counting the tests of all of them.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
suite() {
  echo "== make $1"
  make --no-print-directory "$1" 2>&1 | tee -a "$log"
  local s=${PIPESTATUS[0]}
  [ "$s" -eq 0 ] || status=$s
}
suite compose-check
suite rust-test
suite frontend-test
suite e2e

plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
# cargo: "test result: ok. 80 passed; 0 failed; ..."
cargo_passed=$(grep -E '^test result:' <<<"$plain" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
cargo_failed=$(grep -E '^test result:' <<<"$plain" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
# vitest: "Tests  46 passed (46)" or "Tests  1 failed | 45 passed (46)"
vitest=$(grep -E '^ +Tests +' <<<"$plain" | tail -n1)
vitest_passed=$(grep -oE '[0-9]+ passed' <<<"$vitest" | grep -oE '[0-9]+' || echo 0)
vitest_failed=$(grep -oE '[0-9]+ failed' <<<"$vitest" | grep -oE '[0-9]+' || echo 0)
# Playwright: "  6 passed (1.2m)" and "  1 failed"
pw_passed=$(grep -E '^ +[0-9]+ passed \(' <<<"$plain" | tail -n1 | grep -oE '[0-9]+' | head -n1 || echo 0)
pw_failed=$(grep -E '^ +[0-9]+ failed$' <<<"$plain" | tail -n1 | grep -oE '[0-9]+' || echo 0)

passed=$(( ${cargo_passed:-0} + ${vitest_passed:-0} + ${pw_passed:-0} ))
failed=$(( ${cargo_failed:-0} + ${vitest_failed:-0} + ${pw_failed:-0} ))
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo
echo "rust ${cargo_passed:-0}, dashboard ${vitest_passed:-0}, browser ${pw_passed:-0}"
echo "tests: $passed passed, $failed failed"
exit "$status"
