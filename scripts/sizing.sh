#!/usr/bin/env bash
# Measures history storage per machine per day and tier on SQLite and PostgreSQL, and
# what default retention costs for 10, 100 and 1,000 machines (the tables in
# docs/operations.md). Usage: scripts/sizing.sh [MACHINES] [HOURS]
# PostgreSQL is measured when PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# is reachable with psql; a scratch database is created and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
MACHINES=${1:-4}
HOURS=${2:-24}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}

cargo build -q --release -p lunasentri-hub --example sizing
BIN=target/release/examples/sizing

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "## SQLite ($MACHINES machines x ${HOURS} h at 1 Hz)"
"$BIN" "sqlite://$dir/sizing.db" "$MACHINES" "$HOURS"

if command -v psql >/dev/null && psql "$PG_ADMIN_URL" -qc 'SELECT 1' >/dev/null 2>&1; then
    db="lunasentri_sizing_$$"
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $db"
    trap 'psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null; rm -rf "$dir"' EXIT
    echo
    echo "## PostgreSQL ($MACHINES machines x ${HOURS} h at 1 Hz)"
    "$BIN" "${PG_ADMIN_URL%/*}/$db" "$MACHINES" "$HOURS"
else
    echo "PostgreSQL not reachable at $PG_ADMIN_URL: skipped" >&2
fi
