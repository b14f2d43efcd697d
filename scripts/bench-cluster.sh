#!/usr/bin/env bash
# Cluster benchmark: two release hubs on one fresh PostgreSQL database joined through
# NATS, so each sample a dashboard receives crossed NATS; then the same load on one hub.
# Layouts (BENCH_LAYOUTS, default "across one"):
#   across  every agent on hub A, every dashboard on hub B
#   split   half the agents on each hub, each dashboard on the other hub than the
#           machines it watches (two loadgen processes per side)
#   one     agents and dashboards on one hub, no NATS
# Prints one summary line per run; JSON reports and logs stay in the directory it names.
#
#   BENCH_AGENTS=2000 BENCH_DURATION=30s scripts/bench-cluster.sh
#   BENCH_AGENTS=10000 BENCH_LAYOUTS="split one" scripts/bench-cluster.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and NATS ($BENCH_NATS_URL,
# default nats://127.0.0.1:4222).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

AGENTS=${BENCH_AGENTS:-2000}
DASHBOARDS=$(( AGENTS / 10 > 0 ? AGENTS / 10 : 1 ))
DURATION=${BENCH_DURATION:-30s}
LAYOUTS=${BENCH_LAYOUTS:-"across one"}
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

# loadgen_side HUB ROLE COUNT OFFSET OUT: one loadgen process of a run, in the background;
# its pid goes to SIDES.
loadgen_side() {
    local hub=$1 role=$2 count=$3 offset=$4 out=$5 secs=${DURATION%s}
    local args=(--role "$role")
    if [[ $role == dashboards ]]; then
        args+=(--dashboards "$count" --dashboard-offset "$offset" --duration "$((secs + 15))s")
    else
        args+=(--agents "$count" --agent-offset "$offset" --duration "$DURATION")
    fi
    "$LOADGEN_BIN" --hub "$hub" --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
        --plan "$PLAN" --interval 1s --json --quiet "${args[@]}" >"$out.json" 2>"$out.log" &
    SIDES+=("$!")
}

# run LAYOUT: one measured run; writes $WORK/LAYOUT.*.json.
run() {
    local label=$1 db="lunasentri_bench_cluster_$$"
    pg_create_db "$db"
    local url a b
    url=$(pg_url "$db")
    if [[ $label == one ]]; then
        start_hub "$WORK/$label.hub-a.log" "$url"
        a=$HUB_URL
        b=$a
    else
        start_hub "$WORK/$label.hub-a.log" "$url" "$NATS_URL"
        a=$HUB_URL
        start_hub "$WORK/$label.hub-b.log" "$url" "$NATS_URL"
        b=$HUB_URL
    fi
    PLAN="$WORK/$label.plan.json"
    "$LOADGEN_BIN" --hub "$a" --agents "$AGENTS" --dashboards "$DASHBOARDS" --watch 10 \
        --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
        --write-plan "$PLAN" --provision-only --quiet >/dev/null
    SIDES=()
    local half=$((AGENTS / 2)) dhalf=$((DASHBOARDS / 2))
    if [[ $label == split ]]; then
        # Users own machines round-robin and each dashboard watches 10 consecutive
        # machines of its user, so dashboards [0, M/2) watch agents [0, N/2) when N/2 is
        # a multiple of 10 × users (N = 10,000: 100 users): those go to hub B, the
        # others to hub A.
        say "$label: agents $half on $a and $((AGENTS - half)) on $b, each dashboard on the other hub than its machines, $DURATION"
        loadgen_side "$b" dashboards "$dhalf" 0 "$WORK/$label.dashboards-b"
        loadgen_side "$a" dashboards "$((DASHBOARDS - dhalf))" "$dhalf" "$WORK/$label.dashboards-a"
        sleep 5
        loadgen_side "$a" agents "$half" 0 "$WORK/$label.agents-a"
        loadgen_side "$b" agents "$((AGENTS - half))" "$half" "$WORK/$label.agents-b"
    else
        say "$label: $AGENTS agents on $a, $DASHBOARDS dashboards on $b, $DURATION"
        loadgen_side "$b" dashboards "$DASHBOARDS" 0 "$WORK/$label.dashboards"
        sleep 5
        loadgen_side "$a" agents "$AGENTS" 0 "$WORK/$label.agents"
    fi
    for pid in "${SIDES[@]}"; do wait "$pid" || true; done
    # What the hubs shed on purpose: live frames for slow browsers, and cluster messages
    # their NATS publish queue had no room for.
    local name shed=""
    for name in A B; do
        local hub=$a
        [[ $name == A ]] || hub=$b
        shed+="; hub $name dropped $(curl -fsS "$hub/metrics" | awk '
            /^lunasentri_frames_dropped_total / { f = $2 }
            /^lunasentri_cluster_publish_dropped_total / { c = $2 }
            END { printf "%d browser frames, %d cluster messages", f, c }')"
        [[ "$a" != "$b" ]] || break
    done
    stop_hubs
    pg_drop_db "$db"
    SHED="$shed" python3 - "$label" "$WORK/$label".dashboards*.json <<'PY'
import json, os, sys
label, paths = sys.argv[1], sys.argv[2:]
rs = [json.load(open(p)) for p in paths]
count = sum(r["latency"]["count"] for r in rs)
missing = sum(r["loss"]["live_missing"] for r in rs)
expected = sum(r["loss"]["live_expected"] for r in rs)
def worst(k):
    return max(r["latency"][k] for r in rs)
# Percentiles of two processes cannot be merged exactly: the worse one is shown.
print(f"{label}: received {count} samples, p50 {worst('p50_ms')} ms, p99 {worst('p99_ms')} ms, "
      f"max {worst('max_ms')} ms, live loss {missing} of {expected}, "
      f"other CPU {max(r.get('other_cpu_pct') or 0 for r in rs)} %"
      + (" (worst of the dashboard processes)" if len(rs) > 1 else "")
      + os.environ["SHED"])
PY
}

for layout in $LAYOUTS; do
    run "$layout"
done
say "reports in $WORK"
