#!/usr/bin/env bash
# `make bench-pg-volume`: on PostgreSQL, the raw table at volume. Seeds PGV_MACHINES
# machines with PGV_HOURS hours of 1 Hz history (rows in arrival order, as the writer
# stores them) and measures the table, its primary-key B-tree and the BRIN index on
# `ts` the hub creates, and the hub's retention pass (hub/examples/retention_pass.rs)
# with both kinds of statement: per machine through the primary key expires the oldest
# PGV_EXPIRE_MIN minutes, then by time slices through the BRIN index the next
# PGV_EXPIRE_MIN minutes (the same number of rows). Prints a Markdown table; needs psql
# and PostgreSQL on 127.0.0.1:5432 (user postgres), and says so loudly when it is
# missing.
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
brin=$(q "SELECT pg_size_pretty(pg_relation_size('metrics_history_ts_brin'))")
oldest=$(q "SELECT min(ts) FROM metrics_history")
cut1=$((oldest + EXPIRE_MIN * 60000))
cut2=$((cut1 + EXPIRE_MIN * 60000))
expired=$(q "SELECT count(*) FROM metrics_history WHERE ts < $cut1")
brin_plan=$(q "EXPLAIN DELETE FROM metrics_history WHERE ts >= $cut1 AND ts < $cut2" | grep -o 'Bitmap Index Scan on [a-z_]*' | head -1 || true)
# One retention pass up to $1 with statements of kind $2; prints its seconds.
pass() {
    cargo run --release -q -p lunasentri-hub --example retention_pass -- "$url" "$1" "$2" \
        | tee /dev/stderr | sed -n 's/.* in \([0-9.]*\) s$/\1/p'
}
per_machine_s=$(pass "$cut1" per-machine)
by_time_s=$(pass "$cut2" by-time)
one_ms=$(timed "SELECT count(*), avg(cpu_pct) FROM metrics_history
                WHERE machine_id = (SELECT min(id) FROM machines) AND ts >= $cut2 AND ts < $cut2 + 3600000")

cat <<EOF
PostgreSQL $(q "SHOW server_version"), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)
$MACHINES machines x $HOURS h at 1 Hz = $rows raw rows; each pass expires $EXPIRE_MIN min = $expired rows

| | |
|---|---|
| raw table (heap) | $table |
| primary key B-tree (machine_id, ts) | $pk |
| BRIN index on ts | $brin |
| retention pass, per machine through the primary key (oldest $EXPIRE_MIN min) | ${per_machine_s} s |
| retention pass, by time slices (${brin_plan:-planner did not use BRIN}; next $EXPIRE_MIN min) | ${by_time_s} s |
| one machine, one hour (PK range scan) | ${one_ms} ms |

Each pass pauses after every statement for as long as it took: its statements used half
the time shown.
EOF
