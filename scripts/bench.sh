#!/usr/bin/env bash
# `make bench`: measures the release hub with lunasentri-loadgen at several scales and
# rewrites the results section of docs/benchmarks.md (between the bench markers).
# Needs bash, python3 (for the table) and, for the PostgreSQL run, psql.
#
# For each scale N (agents at 1 Hz; N/10 dashboards, each watching 10 machines, spread
# over users) it starts a fresh hub on a temporary SQLite database, runs loadgen for
# BENCH_DURATION after the ramp, keeps the JSON report, and stops the hub. When
# PostgreSQL answers on 127.0.0.1:5432 it repeats one scale on a fresh PostgreSQL
# database; when it does not, it says so loudly and the table says "skipped". At every
# scale it also measures lunasentri-relay, the bare parse-and-forward relay, under the
# same loadgen: the hub's CPU per message is judged against that relay on this machine.
#
# Environment (all optional):
#   BENCH_SCALES     agent counts              (default "100 1000 5000 10000")
#   BENCH_DURATION   measured time per run     (default 60s)
#   BENCH_PG_SCALE   agents for the PostgreSQL run (default 1000; empty: none)
#   BENCH_SCENARIO   loadgen scenario          (default steady)
#   BENCH_RULES      alert rules per machine   (default 0)
#   BENCH_RELAY      set to 0 to skip the relay runs
#   BENCH_OUT        document to rewrite       (default docs/benchmarks.md)
#   BENCH_KEEP       directory to keep reports and logs in (default: a temp dir)
#   BENCH_KEEP_DB    set to keep each SQLite run's database too (gigabytes at 10,000
#                    agents; deleted after its run by default)
#   BENCH_NO_BUILD   set to skip `cargo build --release`
#   BENCH_LOADGEN_ARGS  extra loadgen flags for every run, e.g. "--threads 2"
#   BENCH_HUB_BIN    hub binary to measure (default target/release/lunasentri-hub), e.g.
#                    a copy of an older build, to compare two builds on one machine
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$ROOT"
SCALES=${BENCH_SCALES:-"100 1000 5000 10000"}
DURATION=${BENCH_DURATION:-60s}
PG_SCALE=${BENCH_PG_SCALE-1000}
SCENARIO=${BENCH_SCENARIO:-steady}
RULES=${BENCH_RULES:-0}
OUT=${BENCH_OUT:-$ROOT/docs/benchmarks.md}
WORK=$(work_dir lunasentri-bench.XXXXXX)

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    say "building release hub and loadgen"
    cargo build --release -p lunasentri-hub -p lunasentri-loadgen
fi
RELAY=${BENCH_RELAY:-1}
RELAY_BIN="$ROOT/target/release/lunasentri-relay"

# 10k agents + 1k dashboards + the hub's side of each: both processes need ~11k files.
raise_nofile
say "open-file limit: $(ulimit -n) (hard $(ulimit -Hn))"
load_config "$WORK/hub.yaml"

HUB_PID=""
stop_hub() {
    if [[ -n "$HUB_PID" ]]; then stop_pids 100 "$HUB_PID"; fi
    HUB_PID=""
}
trap stop_hub EXIT

# run_one LABEL DATABASE_URL AGENTS: one measured run; writes $WORK/LABEL.json.
# DATABASE_URL "relay" measures lunasentri-relay instead of a hub.
run_one() {
    local label=$1 db_url=$2 agents=$3
    local dashboards=$(( agents / 10 > 0 ? agents / 10 : 1 ))
    local log="$WORK/$label.hub.log"
    say "$label: $agents agents, $dashboards dashboards, $DURATION"
    local target=()
    if [[ "$db_url" == relay ]]; then
        # mimalloc hands freed pages back at once, as in the hub (which sets this itself).
        MIMALLOC_PURGE_DELAY=0 "$RELAY_BIN" --bind 127.0.0.1:0 >"$log" 2>&1 &
        HUB_PID=$!
        target=(--relay)
    else
        hub_start "$log" "$db_url" "$WORK/hub.yaml"
        target=(--rules-per-machine "$RULES")
    fi
    hub_wait "$log" || return 1
    local url=$HUB_URL
    local cmd=("$LOADGEN_BIN" --hub "$url" --agents "$agents" --dashboards "$dashboards"
        --watch 10 --interval 1s --duration "$DURATION" --scenario "$SCENARIO"
        --ramp-per-sec 1000 --hub-pid "$HUB_PID" --max-p99-ms 10 --max-loss 0 --json --quiet
        "${target[@]}")
    # shellcheck disable=SC2206 # flags are split on purpose
    cmd+=(${BENCH_LOADGEN_ARGS:-})
    local creds=()
    [[ "$db_url" == relay ]] || creds=(--admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD")
    echo "${cmd[*]}${creds:+ --admin-email $ADMIN_EMAIL --admin-password ***}" \
        | sed -e "s#$ROOT/##" -e "s#$url#http://127.0.0.1:PORT#" -e "s#--hub-pid $HUB_PID#--hub-pid HUB_PID#" \
        >"$WORK/$label.cmd"
    local rc=0
    "${cmd[@]}" "${creds[@]}" \
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
    if [[ -z "${BENCH_KEEP_DB:-}" ]]; then rm -rf "$dir"; fi
    labels+=("sqlite-$n")
    if [[ "$RELAY" != 0 ]]; then
        run_one "relay-$n" relay "$n"
        labels+=("relay-$n")
    fi
done

PG_NOTE=""
if [[ -n "$PG_SCALE" ]]; then
    if pg_up; then
        db="lunasentri_bench_$$"
        if pg_create_db "$db"; then
            run_one "postgres-$PG_SCALE" "$(pg_url "$db")" "$PG_SCALE"
            labels+=("postgres-$PG_SCALE")
            pg_drop_db "$db" || true
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
export_machine
BENCH_WORK="$WORK" BENCH_LABELS="${labels[*]}" BENCH_COMMIT="$(bench_commit)" BENCH_PG_NOTE="$PG_NOTE" \
BENCH_DURATION="$DURATION" BENCH_SCENARIO="$SCENARIO" \
BENCH_KERNEL="$(uname -sr)" BENCH_NOFILE="$(ulimit -n)" \
python3 - <<'PY' >"$WORK/section.md"
import json, os

env = os.environ
work = env["BENCH_WORK"]
BEGIN = "<!-- bench:begin: generated by scripts/bench.sh, edits inside are overwritten -->"
END = "<!-- bench:end -->"
# Used only when the relay was not run (BENCH_RELAY=0): a bare relay measured on
# another machine at 10k agents / 1k dashboards.
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
        rows.append(f"| {backend} | {n} | – | run failed: see the loadgen log | | | | | | | | | | | | | | |")
        continue
    reports[label] = r
    lat, loss, hub = r["latency"], r["loss"], r.get("hub_process") or {}
    lg = r.get("loadgen_process") or {}
    hm = r.get("hub_metrics") or {}
    storage = loss.get("storage_fraction")
    rows.append("| " + " | ".join([
        "*bare relay*" if backend == "relay" else backend, str(r["run"]["agents"]), str(r["run"]["dashboards"]),
        f(r["throughput"]["in_per_s"], "{:.0f}"), f(r["throughput"]["out_per_s"], "{:.0f}"),
        f(lat["p50_ms"]), f(lat["p90_ms"]), f(lat["p99_ms"]), f(lat["p999_ms"]), f(lat["max_ms"]),
        f"{loss['live_missing']} / {loss['live_expected']}",
        "n/a" if storage is None else f"{loss.get('storage_missing')} / {r['samples']['generated']}",
        f(hub.get("cpu_pct"), "{:.1f}"), f(hub.get("cpu_us_per_msg"), "{:.1f}"),
        f(hub.get("peak_rss_mb"), "{:.0f}"), f(lg.get("cpu_pct"), "{:.1f}"),
        f(hm.get("fanout_p99_ms"), "{:.2f}"),
        "n/a" if hm.get("sample_age_p50_ms") is None
        else f(hm["sample_age_p50_ms"], "{:.1f}") + " / " + f(hm.get("sample_age_p99_ms"), "{:.1f}"),
        f(r.get("other_cpu_pct"), "{:.0f}"),
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
    "other CPU % is what other processes on the machine used meanwhile (percent of one core);",
    "age at hub write is a live sample's age when the hub's socket write returned (hub clock",
    "minus `ts`, histogram bucket bounds): the part of the latency before loadgen reads it.",
    "",
    "| DB | agents | dashboards | in msg/s | out msg/s | p50 | p90 | p99 | p99.9 | max | live loss | storage loss | hub CPU % | hub µs/msg | hub RSS peak MB | loadgen CPU % | hub fan-out p99 ≤ | age at hub write p50 / p99 ≤ | other CPU % | result |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    ""]
def us_of(r):
    return ((r or {}).get("hub_process") or {}).get("cpu_us_per_msg")
pairs = [(l.split("-", 1)[1], reports[l], reports.get("relay-" + l.split("-", 1)[1]))
         for l in reports if l.startswith("sqlite-")]
if any(rel for _, _, rel in pairs):
    lines += ["### The hub against the bare relay", "",
        "`lunasentri-relay` parses each agent frame, re-encodes its sample once as a live frame,",
        "hands it to the watching dashboards and acknowledges it: no authentication, no storage,",
        "no status. Same loadgen, same machine, same socket buffers; *relay* rows above.", "",
        "| agents | hub µs/msg | relay µs/msg | hub ÷ relay | hub p99 ms | relay p99 ms | hub RSS MB | relay RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, hub, rel in pairs:
        if not rel:
            continue
        h, r_ = us_of(hub), us_of(rel)
        ratio = None if h is None or not r_ else h / r_
        lines.append("| " + " | ".join([n, f(h, "{:.1f}"), f(r_, "{:.1f}"), f(ratio, "{:.1f} ×"),
            f(hub["latency"]["p99_ms"]), f(rel["latency"]["p99_ms"]),
            f((hub.get("hub_process") or {}).get("peak_rss_mb"), "{:.0f}"),
            f((rel.get("hub_process") or {}).get("peak_rss_mb"), "{:.0f}")]) + " |")
    lines.append("")
if env.get("BENCH_PG_NOTE"):
    lines += [f"**{env['BENCH_PG_NOTE']}**", ""]
big = reports.get("sqlite-10000")
if big:
    lat, loss, hub = big["latency"], big["loss"], big.get("hub_process") or {}
    us = hub.get("cpu_us_per_msg")
    def verdict(ok):
        return "met" if ok else "**missed**"
    lost = loss["live_missing"] + (loss.get("storage_missing") or 0)
    relay = reports.get("relay-10000")
    ref_us, ref_where = (us_of(relay), "relay on this machine") if us_of(relay) else (REF_US, "relay measured on another machine")
    lines += ["### Targets at 10,000 agents and 1,000 dashboards", "",
        "| target | measured | |", "|---|---|---|",
        f"| zero loss | {loss['live_missing']} live, {loss.get('storage_missing')} in storage | {verdict(lost == 0)} |",
        f"| p99 ≤ 10 ms | {lat['p99_ms']:.2f} ms | {verdict(lat['p99_ms'] <= 10)} |",
        f"| p50 ≤ 2 ms | {lat['p50_ms']:.2f} ms | {verdict(lat['p50_ms'] <= 2)} |",
        f"| every acked sample persisted | {loss['latest_behind']} machines behind their ack; {big['samples']['acked']} acked, {big['samples'].get('persisted')} persisted | {verdict(loss['latest_behind'] == 0 and (big['samples'].get('persisted') or 0) >= big['samples']['acked'])} |",
        f"| hub RSS ≤ 300 MB | {f(hub.get('peak_rss_mb'), '{:.0f}')} MB | {verdict((hub.get('peak_rss_mb') or 1e9) <= 300)} |",
        f"| CPU per message ≤ 3 × relay ({3 * ref_us:.1f} µs, {ref_where}) | {f(us, '{:.1f}')} µs ({f(None if us is None else us / ref_us, '{:.1f}')} × relay) | {verdict(us is not None and us <= 3 * ref_us)} |",
        ""]
lines += ["### Commands", "", "```sh", "make bench    # = scripts/bench.sh", *cmds, "```", "", END]
print("\n".join(lines))
PY
write_section "$OUT" "$WORK/section.md"
say "done: reports and logs in $WORK"
