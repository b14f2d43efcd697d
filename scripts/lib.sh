# shellcheck shell=bash
# Helpers of the benchmark scripts (bench.sh, bench-cluster.sh, bench-pg-volume.sh,
# bench-retention.sh), sourced by them, never run: the release binaries, the admin the
# hubs start with, starting and stopping hubs, PostgreSQL on 127.0.0.1:5432, the machine
# and commit a report names, and rewriting a generated section of a document.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HUB_BIN="${BENCH_HUB_BIN:-$ROOT/target/release/lunasentri-hub}"
LOADGEN_BIN="$ROOT/target/release/lunasentri-loadgen"
ADMIN_EMAIL=bench-admin@example.com
ADMIN_PASSWORD=bench-admin-password
PG_HOST=127.0.0.1
PG_PORT=5432

# say MESSAGE...: a progress line on stderr, after a blank line.
say() { printf '\n== %s\n' "$*" >&2; }

# work_dir TEMPLATE: prints $BENCH_KEEP (created when missing), or a new temp dir named by TEMPLATE.
work_dir() {
    local dir=${BENCH_KEEP:-}
    [[ -n "$dir" ]] || dir=$(mktemp -d -t "$1")
    mkdir -p "$dir"
    echo "$dir"
}

# raise_nofile: lifts the open-file limit to the hard limit (a run holds thousands of sockets).
raise_nofile() { ulimit -n "$(ulimit -Hn)"; }

# load_config FILE: writes a hub configuration for load runs; every dashboard logs in from
# 127.0.0.1, so the login limits are raised; everything else keeps its production default.
load_config() {
    cat >"$1" <<'EOF'
limits:
  login_per_minute_ip: 100000
  login_per_minute_account: 100000
EOF
}

# hub_start LOG DATABASE_URL CONFIG [FLAG...]: starts the release hub on a free loopback
# port with the bench admin, its output in LOG; sets HUB_PID.
hub_start() {
    local log=$1 db=$2 config=$3
    shift 3
    LUNASENTRI_ADMIN_EMAIL=$ADMIN_EMAIL LUNASENTRI_ADMIN_PASSWORD=$ADMIN_PASSWORD \
        "$HUB_BIN" --bind 127.0.0.1:0 --database-url "$db" --config "$config" "$@" \
        >"$log" 2>&1 &
    HUB_PID=$!
}

# hub_wait LOG [TENTHS]: waits up to TENTHS × 0.1 s (default 300) for hub HUB_PID to log its
# address and sets HUB_URL; fails, showing the log, when the hub exits or stays silent.
hub_wait() {
    local log=$1 tenths=${2:-300}
    HUB_URL=""
    for _ in $(seq 1 "$tenths"); do
        HUB_URL=$(grep -o 'listening on http://[0-9.:]*' "$log" 2>/dev/null | head -1 | cut -d' ' -f3 || true)
        [[ -n "$HUB_URL" ]] && return 0
        kill -0 "$HUB_PID" 2>/dev/null || { cat "$log" >&2; echo "hub did not start" >&2; return 1; }
        sleep 0.1
    done
    cat "$log" >&2
    echo "hub did not report its address" >&2
    return 1
}

# stop_pids TENTHS [PID...]: sends TERM, waits up to TENTHS × 0.1 s for the processes to
# exit, then kills what is left and reaps them all.
stop_pids() {
    local tenths=$1 pid
    shift
    (( $# > 0 )) || return 0
    kill -TERM "$@" 2>/dev/null || true
    for _ in $(seq 1 "$tenths"); do
        kill -0 "$@" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null || true
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# pg_up: whether anything answers on $PG_HOST:$PG_PORT.
pg_up() { (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; }

# pg_admin SQL: runs one statement as user postgres in the postgres database, quietly.
pg_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qAtc "$1" >/dev/null; }

# pg_create_db NAME: creates a throw-away database.
pg_create_db() { pg_admin "CREATE DATABASE $1"; }

# pg_drop_db NAME: drops that database, closing what is still connected to it.
pg_drop_db() { pg_admin "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }

# pg_url NAME: the database URL of database NAME, as the hub takes it.
pg_url() { echo "postgres://postgres@$PG_HOST:$PG_PORT/$1"; }

# bench_commit: the short commit measured, marked when hub, schema or loadgen have uncommitted changes.
bench_commit() {
    local commit
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n "$(git -C "$ROOT" status --porcelain -- hub schema loadgen 2>/dev/null)" ]]; then
        commit="$commit (with uncommitted changes)"
    fi
    echo "$commit"
}

# export_machine: exports BENCH_CPU, BENCH_NPROC, BENCH_MEM and BENCH_DATE for a report.
export_machine() {
    BENCH_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    BENCH_NPROC="$(nproc)"
    BENCH_MEM="$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    BENCH_DATE="$(date -u +%Y-%m-%dT%H:%MZ)"
    export BENCH_CPU BENCH_NPROC BENCH_MEM BENCH_DATE
}

# write_section DOC BLOCK: puts file BLOCK, whose first and last lines are a begin and an
# end marker, in place of DOC's text between those markers (appended when DOC has none).
write_section() {
    python3 - "$1" "$2" <<'PY'
import sys

out, path = sys.argv[1], sys.argv[2]
with open(path) as fh:
    block = fh.read().rstrip("\n")
lines = block.split("\n")
begin, end = lines[0], lines[-1]
try:
    with open(out) as fh:
        doc = fh.read()
except OSError:
    doc = "# Benchmarks\n"
if begin in doc and end in doc:
    doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + block + "\n"
with open(out, "w") as fh:
    fh.write(doc)
PY
}
