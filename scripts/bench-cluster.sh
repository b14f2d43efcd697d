#!/usr/bin/env bash
# Cluster benchmark: two release hubs on one fresh PostgreSQL database joined through
# NATS, every agent on hub A and every dashboard on hub B, so each sample a dashboard
# receives crossed NATS; then the same load with agents and dashboards on one hub.
# Prints one summary line per run; JSON reports and logs stay in the directory it names.
#
#   BENCH_AGENTS=2000 BENCH_DURATION=30s scripts/bench-cluster.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and NATS ($BENCH_NATS_URL,
# default nats://127.0.0.1:4222).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

AGENTS=${BENCH_AGENTS:-2000}
DASHBOARDS=$(( AGENTS / 10 > 0 ? AGENTS / 10 : 1 ))
DURATION=${BENCH_DURATION:-30s}
NATS_URL=${BENCH_NATS_URL:-nats://127.0.0.1:4222}
WORK=$(work_dir lunasentri-cluster-bench.XXXX)
# This script's progress lines are tagged rather than set off (lib.sh's say).
say() { printf '[bench-cluster] %s\n' "$*" >&2; }

(cd "$ROOT" && cargo build --release -q -p lunasentri-hub -p lunasentri-loadgen)
raise_nofile
load_config "$WORK/hub.yaml"

PIDS=()
stop_hubs() {
    stop_pids 300 "${PIDS[@]}"
    PIDS=()
}
trap stop_hubs EXIT

# start_hub LOG DATABASE_URL [NATS_URL]: starts a hub on a free port, sets HUB_URL. Not
# called in a command substitution: the hub's pid must reach PIDS in this shell.
start_hub() {
    local log=$1 db=$2 nats=${3:-}
    local args=()
    [[ -n "$nats" ]] && args+=(--nats-url "$nats")
    hub_start "$log" "$db" "$WORK/hub.yaml" "${args[@]}"
    PIDS+=("$HUB_PID")
    hub_wait "$log"
}

# run LABEL CLUSTER(yes|no): one measured run; writes $WORK/LABEL.{agents,dashboards}.json.
run() {
    local label=$1 cluster=$2 db="lunasentri_bench_cluster_$$"
    pg_create_db "$db"
    local url a b
    url=$(pg_url "$db")
    if [[ $cluster == yes ]]; then
        start_hub "$WORK/$label.hub-a.log" "$url" "$NATS_URL"
        a=$HUB_URL
        start_hub "$WORK/$label.hub-b.log" "$url" "$NATS_URL"
        b=$HUB_URL
    else
        start_hub "$WORK/$label.hub-a.log" "$url"
        a=$HUB_URL
        b=$a
    fi
    say "$label: $AGENTS agents on $a, $DASHBOARDS dashboards on $b, $DURATION"
    local common=(--admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD"
        --plan "$WORK/$label.plan.json" --interval 1s --json --quiet)
    "$LOADGEN_BIN" --hub "$a" --agents "$AGENTS" --dashboards "$DASHBOARDS" --watch 10 \
        --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
        --write-plan "$WORK/$label.plan.json" --provision-only --quiet >/dev/null
    local secs=${DURATION%s}
    "$LOADGEN_BIN" --hub "$b" "${common[@]}" --role dashboards --dashboards "$DASHBOARDS" \
        --duration "$((secs + 15))s" >"$WORK/$label.dashboards.json" 2>"$WORK/$label.dashboards.log" &
    local dash=$!
    sleep 5
    "$LOADGEN_BIN" --hub "$a" "${common[@]}" --role agents --agents "$AGENTS" \
        --duration "$DURATION" >"$WORK/$label.agents.json" 2>"$WORK/$label.agents.log" || true
    wait "$dash" || true
    stop_hubs
    pg_drop_db "$db"
    python3 - "$label" "$WORK/$label.dashboards.json" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
lat, loss = r["latency"], r["loss"]
print(f"{label}: received {lat['count']} samples, p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
      f"max {lat['max_ms']} ms, live loss {loss['live_fraction']:.4%}, other CPU {r.get('other_cpu_pct')} %")
PY
}

run two-hubs yes
run one-hub no
say "reports in $WORK"
