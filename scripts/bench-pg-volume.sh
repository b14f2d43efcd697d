#!/usr/bin/env bash
# `make bench-pg-volume`: on PostgreSQL, the raw table at volume. Seeds PGV_MACHINES
# machines with PGV_HOURS hours of 1 Hz history (rows in arrival order, as the writer
# stores them) and measures the table and its primary-key B-tree, a BRIN index on `ts`
# (size and build time), and three ways to expire the oldest PGV_EXPIRE_MIN minutes:
# the hub's retention statements (per machine through the primary key, batches of
# 5,000 rows), one DELETE by time through the BRIN index, and the same DELETE with a
# sequential scan. Each DELETE runs in a transaction that is rolled back, so all three
# see the same table. Prints a Markdown table; needs psql and PostgreSQL on
# 127.0.0.1:5432 (user postgres), and says so loudly when it is missing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$ROOT"
MACHINES=${PGV_MACHINES:-1000}
HOURS=${PGV_HOURS:-2}
EXPIRE_MIN=${PGV_EXPIRE_MIN:-10}
PG=(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)

if ! pg_up; then
    printf '\n!!!!! PostgreSQL volume benchmark SKIPPED: nothing answers on %s:%s !!!!!\n\n' "$PG_HOST" "$PG_PORT" >&2
    exit 0
fi
db="lunasentri_volume_$$"
pg_create_db "$db"
trap 'pg_drop_db "$db"' EXIT
url=$(pg_url "$db")

echo "seeding $MACHINES machines x $HOURS h at 1 Hz" >&2
cargo run --release -q -p lunasentri-hub --example seed_history -- "$url" "$MACHINES" "$HOURS" 0 >&2
q() { "${PG[@]}" -d "$db" -c "$1"; }
# Milliseconds of one statement, from psql's \timing (the last "Time:" line).
timed() {
    "${PG[@]}" -d "$db" -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

q "VACUUM ANALYZE metrics_history"
rows=$(q "SELECT count(*) FROM metrics_history")
table=$(q "SELECT pg_size_pretty(pg_table_size('metrics_history'))")
pk=$(q "SELECT pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_index
        WHERE indrelid = 'metrics_history'::regclass AND indisprimary")
cut=$(q "SELECT min(ts) + $EXPIRE_MIN * 60000 FROM metrics_history")
expired=$(q "SELECT count(*) FROM metrics_history WHERE ts < $cut")

# The hub's retention pass: per machine, statements of at most 5,000 rows.
hub_ms=$(timed "BEGIN;
DO \$\$
DECLARE m bigint; n bigint;
BEGIN
  FOR m IN SELECT id FROM machines LOOP
    LOOP
      DELETE FROM metrics_history WHERE machine_id = m AND ts < $cut AND ts <=
        COALESCE((SELECT ts FROM metrics_history WHERE machine_id = m AND ts < $cut
                  ORDER BY ts LIMIT 1 OFFSET 4999), $cut);
      GET DIAGNOSTICS n = ROW_COUNT;
      EXIT WHEN n < 5000;
    END LOOP;
  END LOOP;
END \$\$;
ROLLBACK;")

brin_build=$(timed "CREATE INDEX metrics_history_ts_brin ON metrics_history USING brin (ts)")
brin=$(q "SELECT pg_size_pretty(pg_relation_size('metrics_history_ts_brin'))")
q "ANALYZE metrics_history"
brin_plan=$(q "EXPLAIN DELETE FROM metrics_history WHERE ts < $cut" | grep -o 'Bitmap Index Scan on [a-z_]*' | head -1 || true)
brin_ms=$(timed "BEGIN; DELETE FROM metrics_history WHERE ts < $cut; ROLLBACK;")
seq_ms=$(timed "BEGIN; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = off;
                DELETE FROM metrics_history WHERE ts < $cut; ROLLBACK;")
one_ms=$(timed "SELECT count(*), avg(cpu_pct) FROM metrics_history
                WHERE machine_id = (SELECT min(id) FROM machines) AND ts >= $cut AND ts < $cut + 3600000")

cat <<EOF
PostgreSQL $(q "SHOW server_version"), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)
$MACHINES machines x $HOURS h at 1 Hz = $rows raw rows; expiring the oldest $EXPIRE_MIN min = $expired rows

| | |
|---|---|
| raw table (heap) | $table |
| primary key B-tree (machine_id, ts) | $pk |
| BRIN index on ts | $brin (built in ${brin_build} ms) |
| expire: hub retention statements (per machine, PK, 5,000-row batches) | ${hub_ms} ms |
| expire: one DELETE by ts through BRIN (${brin_plan:-planner did not use BRIN}) | ${brin_ms} ms |
| expire: one DELETE by ts, sequential scan | ${seq_ms} ms |
| one machine, one hour (PK range scan) | ${one_ms} ms |
EOF
