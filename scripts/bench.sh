#!/usr/bin/env bash
# `make bench`: measures the release hub with lunasentri-loadgen at several scales and
# rewrites the results section of docs/benchmarks.md (between the bench markers).
# Needs bash, python3 (for the table) and, for the PostgreSQL run, psql.
#
# For each scale N (agents at 1 Hz; N/10 dashboards, each watching 10 machines, spread
# over users) it starts a fresh hub on a temporary SQLite database, runs loadgen for
# BENCH_DURATION after the ramp, keeps the JSON report, and stops the hub. When
# PostgreSQL answers on 127.0.0.1:5432 it repeats one scale on a fresh PostgreSQL
# database; when it does not, it says so loudly and the table says "skipped".
#
# Environment (all optional):
#   BENCH_SCALES     agent counts              (default "100 1000 5000 10000")
#   BENCH_DURATION   measured time per run     (default 60s)
#   BENCH_PG_SCALE   agents for the PostgreSQL run (default 1000; empty: none)
#   BENCH_SCENARIO   loadgen scenario          (default steady)
#   BENCH_RULES      alert rules per machine   (default 0)
#   BENCH_OUT        document to rewrite       (default docs/benchmarks.md)
#   BENCH_KEEP       directory to keep reports and logs in (default: a temp dir)
#   BENCH_NO_BUILD   set to skip `cargo build --release`
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SCALES=${BENCH_SCALES:-"100 1000 5000 10000"}
DURATION=${BENCH_DURATION:-60s}
PG_SCALE=${BENCH_PG_SCALE-1000}
SCENARIO=${BENCH_SCENARIO:-steady}
RULES=${BENCH_RULES:-0}
OUT=${BENCH_OUT:-$ROOT/docs/benchmarks.md}
WORK=${BENCH_KEEP:-$(mktemp -d -t lunasentri-bench.XXXXXX)}
mkdir -p "$WORK"
HUB_BIN="$ROOT/target/release/lunasentri-hub"
LOADGEN_BIN="$ROOT/target/release/lunasentri-loadgen"
ADMIN_EMAIL=bench-admin@example.com
ADMIN_PASSWORD=bench-admin-password
PG_HOST=127.0.0.1
PG_PORT=5432

say() { printf '\n== %s\n' "$*" >&2; }

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    say "building release hub and loadgen"
    cargo build --release -p lunasentri-hub -p lunasentri-loadgen
fi

# 10k agents + 1k dashboards + the hub's side of each: both processes need ~11k files.
hard=$(ulimit -Hn)
ulimit -n "$hard"
say "open-file limit: $(ulimit -n) (hard $hard)"

# A hub configuration for load runs: every dashboard logs in from 127.0.0.1, so the
# login limits are raised; everything else keeps its production default.
cat >"$WORK/hub.yaml" <<'EOF'
limits:
  login_per_minute_ip: 100000
  login_per_minute_account: 100000
EOF

HUB_PID=""
stop_hub() {
    if [[ -n "$HUB_PID" ]] && kill -0 "$HUB_PID" 2>/dev/null; then
        kill -TERM "$HUB_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$HUB_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$HUB_PID" 2>/dev/null || true
        wait "$HUB_PID" 2>/dev/null || true
    fi
    HUB_PID=""
}
trap stop_hub EXIT

# run_one LABEL DATABASE_URL AGENTS: one measured run; writes $WORK/LABEL.json.
run_one() {
    local label=$1 db_url=$2 agents=$3
    local dashboards=$(( agents / 10 > 0 ? agents / 10 : 1 ))
    local log="$WORK/$label.hub.log"
    say "$label: $agents agents, $dashboards dashboards, $DURATION"
    LUNASENTRI_ADMIN_EMAIL=$ADMIN_EMAIL LUNASENTRI_ADMIN_PASSWORD=$ADMIN_PASSWORD \
        "$HUB_BIN" --bind 127.0.0.1:0 --database-url "$db_url" --config "$WORK/hub.yaml" \
        >"$log" 2>&1 &
    HUB_PID=$!
    local url=""
    for _ in $(seq 1 300); do
        url=$(grep -o 'listening on http://[0-9.:]*' "$log" 2>/dev/null | head -1 | cut -d' ' -f3 || true)
        [[ -n "$url" ]] && break
        kill -0 "$HUB_PID" 2>/dev/null || { cat "$log" >&2; echo "hub did not start" >&2; return 1; }
        sleep 0.1
    done
    [[ -n "$url" ]] || { echo "hub did not report its address" >&2; return 1; }
    local cmd=("$LOADGEN_BIN" --hub "$url" --agents "$agents" --dashboards "$dashboards"
        --watch 10 --interval 1s --duration "$DURATION" --scenario "$SCENARIO"
        --ramp-per-sec 1000 --hub-pid "$HUB_PID" --max-p99-ms 10 --max-loss 0 --json --quiet
        --rules-per-machine "$RULES")
    echo "${cmd[*]} --admin-email $ADMIN_EMAIL --admin-password ***" \
        | sed -e "s#$ROOT/##" -e "s#$url#http://127.0.0.1:PORT#" -e "s#--hub-pid $HUB_PID#--hub-pid HUB_PID#" \
        >"$WORK/$label.cmd"
    local rc=0
    "${cmd[@]}" --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
        >"$WORK/$label.json" 2>"$WORK/$label.loadgen.log" || rc=$?
    cat "$WORK/$label.loadgen.log" >&2
    stop_hub
    if [[ $rc -ge 2 ]]; then
        echo "loadgen failed ($rc) at $label" >&2
        rm -f "$WORK/$label.json"
    fi
    return 0
}

labels=()
for n in $SCALES; do
    dir=$(mktemp -d -p "$WORK" "sqlite-$n.XXXX")
    run_one "sqlite-$n" "sqlite://$dir/hub.db" "$n"
    labels+=("sqlite-$n")
done

PG_NOTE=""
if [[ -n "$PG_SCALE" ]]; then
    if (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; then
        db="lunasentri_bench_$$"
        if psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qAtc "CREATE DATABASE $db" >/dev/null; then
            run_one "postgres-$PG_SCALE" "postgres://postgres@$PG_HOST:$PG_PORT/$db" "$PG_SCALE"
            labels+=("postgres-$PG_SCALE")
            psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qAtc \
                "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
        else
            PG_NOTE="PostgreSQL run SKIPPED: could not create a database as user postgres on $PG_HOST:$PG_PORT."
        fi
    else
        PG_NOTE="PostgreSQL run SKIPPED: nothing answers on $PG_HOST:$PG_PORT."
    fi
    if [[ -n "$PG_NOTE" ]]; then
        printf '\n!!!!! %s !!!!!\n\n' "$PG_NOTE" >&2
    fi
fi

say "writing $OUT"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain -- hub schema loadgen 2>/dev/null)" ]]; then
    commit="$commit (with uncommitted changes)"
fi
BENCH_WORK="$WORK" BENCH_LABELS="${labels[*]}" BENCH_COMMIT="$commit" BENCH_PG_NOTE="$PG_NOTE" \
BENCH_DURATION="$DURATION" BENCH_SCENARIO="$SCENARIO" \
BENCH_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
BENCH_NPROC="$(nproc)" \
BENCH_MEM="$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
BENCH_KERNEL="$(uname -sr)" BENCH_DATE="$(date -u +%Y-%m-%dT%H:%MZ)" \
BENCH_NOFILE="$(ulimit -n)" \
python3 - "$OUT" <<'PY'
import json, os, sys

out = sys.argv[1]
env = os.environ
work = env["BENCH_WORK"]
BEGIN = "<!-- bench:begin: generated by scripts/bench.sh, edits inside are overwritten -->"
END = "<!-- bench:end -->"
# The bare relay (parse and forward only) measured on this machine class at 10k/1k.
REF = {"p99": 0.9, "cpu": 23.0, "rss": 78.0, "msgs": 20000.0}
REF_US = 1e6 * REF["cpu"] / 100.0 / REF["msgs"]

def f(v, fmt="{:.2f}"):
    return "n/a" if v is None else fmt.format(v)

rows, cmds, reports = [], [], {}
for label in env.get("BENCH_LABELS", "").split():
    backend, n = label.split("-", 1)
    try:
        with open(os.path.join(work, label + ".cmd")) as fh:
            cmds.append(fh.read().strip())
    except OSError:
        pass
    try:
        with open(os.path.join(work, label + ".json")) as fh:
            r = json.load(fh)
    except (OSError, ValueError):
        rows.append(f"| {backend} | {n} | – | run failed: see the loadgen log | | | | | | | | | | | | | |")
        continue
    reports[label] = r
    lat, loss, hub = r["latency"], r["loss"], r.get("hub_process") or {}
    lg = r.get("loadgen_process") or {}
    hm = r.get("hub_metrics") or {}
    storage = loss.get("storage_fraction")
    rows.append("| " + " | ".join([
        backend, str(r["run"]["agents"]), str(r["run"]["dashboards"]),
        f(r["throughput"]["in_per_s"], "{:.0f}"), f(r["throughput"]["out_per_s"], "{:.0f}"),
        f(lat["p50_ms"]), f(lat["p90_ms"]), f(lat["p99_ms"]), f(lat["p999_ms"]), f(lat["max_ms"]),
        f"{loss['live_missing']} / {loss['live_expected']}",
        "n/a" if storage is None else f"{loss.get('storage_missing')} / {r['samples']['generated']}",
        f(hub.get("cpu_pct"), "{:.1f}"), f(hub.get("cpu_us_per_msg"), "{:.1f}"),
        f(hub.get("peak_rss_mb"), "{:.0f}"), f(lg.get("cpu_pct"), "{:.1f}"),
        f(hm.get("fanout_p99_ms"), "{:.2f}"), f(r.get("other_cpu_pct"), "{:.0f}"),
        "PASS" if not r["breaches"] else "FAIL: " + "; ".join(r["breaches"]),
    ]) + " |")

lines = [BEGIN, "", "### Machine", "", "| | |", "|---|---|",
    f"| CPU | {env['BENCH_NPROC']} × {env['BENCH_CPU']} |",
    f"| Memory | {env['BENCH_MEM']} |",
    f"| Kernel | {env['BENCH_KERNEL']} |",
    f"| Date (UTC) | {env['BENCH_DATE']} |",
    f"| Commit | {env['BENCH_COMMIT']} |",
    f"| Open-file limit | {env['BENCH_NOFILE']} |",
    f"| Scenario, measured time | {env['BENCH_SCENARIO']}, {env['BENCH_DURATION']} after the ramp |",
    "", "### Results", "",
    "Latency is agent send → dashboard receive in ms; loss is missing / expected; hub CPU is",
    "percent of one core during the measured time; µs/msg is hub CPU time per message in or out;",
    "other CPU % is what other processes on the machine used meanwhile (percent of one core).",
    "",
    "| DB | agents | dashboards | in msg/s | out msg/s | p50 | p90 | p99 | p99.9 | max | live loss | storage loss | hub CPU % | hub µs/msg | hub RSS peak MB | loadgen CPU % | hub fan-out p99 ≤ | other CPU % | result |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    f"| *bare relay (reference)* | 10000 | 1000 | 10000 | 10000 | | | {REF['p99']} | | | | | {REF['cpu']:.0f} | {REF_US:.1f} | {REF['rss']:.0f} | | | | |",
    ""]
if env.get("BENCH_PG_NOTE"):
    lines += [f"**{env['BENCH_PG_NOTE']}**", ""]
big = reports.get("sqlite-10000")
if big:
    lat, loss, hub = big["latency"], big["loss"], big.get("hub_process") or {}
    us = hub.get("cpu_us_per_msg")
    def verdict(ok):
        return "met" if ok else "**missed**"
    lost = loss["live_missing"] + (loss.get("storage_missing") or 0)
    lines += ["### Targets at 10,000 agents and 1,000 dashboards", "",
        "| target | measured | |", "|---|---|---|",
        f"| zero loss | {loss['live_missing']} live, {loss.get('storage_missing')} in storage | {verdict(lost == 0)} |",
        f"| p99 ≤ 10 ms | {lat['p99_ms']:.2f} ms | {verdict(lat['p99_ms'] <= 10)} |",
        f"| p50 ≤ 2 ms | {lat['p50_ms']:.2f} ms | {verdict(lat['p50_ms'] <= 2)} |",
        f"| every acked sample persisted | {loss['latest_behind']} machines behind their ack; {big['samples']['acked']} acked, {big['samples'].get('persisted')} persisted | {verdict(loss['latest_behind'] == 0 and (big['samples'].get('persisted') or 0) >= big['samples']['acked'])} |",
        f"| hub RSS ≤ 300 MB | {f(hub.get('peak_rss_mb'), '{:.0f}')} MB | {verdict((hub.get('peak_rss_mb') or 1e9) <= 300)} |",
        f"| CPU per message ≤ 3 × relay ({3 * REF_US:.1f} µs) | {f(us, '{:.1f}')} µs ({f(None if us is None else us / REF_US, '{:.1f}')} × relay) | {verdict(us is not None and us <= 3 * REF_US)} |",
        ""]
lines += ["### Commands", "", "```sh", "make bench    # = scripts/bench.sh", *cmds, "```", "", END]
block = "\n".join(lines)

try:
    with open(out) as fh:
        doc = fh.read()
except OSError:
    doc = "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
if BEGIN in doc and END in doc:
    doc = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
else:
    doc = doc.rstrip("\n") + "\n\n" + block + "\n"
with open(out, "w") as fh:
    fh.write(doc)
PY
say "done: reports and logs in $WORK"
