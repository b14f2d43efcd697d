#!/usr/bin/env bash
# `make bench-retention`: does deleting a day of expired raw history raise live latency?
#  1. Seeds a new SQLite database with RETENTION_HOURS of 1 Hz raw history for
#     RETENTION_MACHINES machines, the newest sample 2 h old
#     (hub/examples/seed_history.rs; rows in arrival order, shaped like an 8-core server's).
#  2. Baseline: starts the release hub on it with the default retention (raw 48 h, so
#     nothing has expired), creates loadgen's users and machines once (a plan file), and
#     measures RETENTION_BASELINE_WINDOWS loadgen windows with the same flags as
#     `make bench` at RETENTION_AGENTS agents (dashboards: a tenth of that).
#  3. Retention: restarts the hub on the same file with `retention.raw: 1h`. Its first
#     retention pass (60 s after start) deletes the whole seeded history, then returns the
#     space to the file system. Loadgen windows run back to back from 65 s after start
#     until the pass has finished, so every window but the last lies inside the pass;
#     /metrics (lunasentri_retention_*) is sampled every 2 s to show what each window
#     overlapped.
# Rewrites the section between the retention markers of docs/benchmarks.md. Needs
# bash, curl and python3. The database is deleted at the end; reports and logs stay.
#
# Environment (all optional):
#   RETENTION_MACHINES          machines whose history expires      (default 1000)
#   RETENTION_HOURS             hours of history per machine, ≤ 40  (default 24)
#   RETENTION_AGENTS            live agents during the runs         (default 1000)
#   RETENTION_WINDOW            measured time of one loadgen run    (default 60s)
#   RETENTION_BASELINE_WINDOWS  loadgen runs before retention       (default 3)
#   RETENTION_MAX_WINDOWS       give up on the pass after this many (default 200)
#   BENCH_OUT    document to rewrite (default docs/benchmarks.md)
#   BENCH_KEEP   directory for the database, reports and logs (default: a temp dir)
#   BENCH_NO_BUILD  set to skip `cargo build --release`
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$ROOT"
MACHINES=${RETENTION_MACHINES:-1000}
HOURS=${RETENTION_HOURS:-24}
AGENTS=${RETENTION_AGENTS:-1000}
WINDOW=${RETENTION_WINDOW:-60s}
BASELINE_WINDOWS=${RETENTION_BASELINE_WINDOWS:-3}
MAX_WINDOWS=${RETENTION_MAX_WINDOWS:-200}
OUT=${BENCH_OUT:-$ROOT/docs/benchmarks.md}
WORK=$(work_dir lunasentri-bench-retention.XXXXXX)
DB="$WORK/hub.db"
SEED_BIN="$ROOT/target/release/examples/seed_history"
DASHBOARDS=$(( AGENTS / 10 > 0 ? AGENTS / 10 : 1 ))
# The newest seeded sample is this old; the retention run keeps raw rows 1 h.
AGE_MINUTES=120
# The hub's first retention pass starts this long after the hub (RETENTION_FIRST).
FIRST_PASS_S=60
# Bytes a stored raw row takes with its index (docs/operations.md, sizing), plus margin.
ROW_BYTES=1500

if (( HOURS > 40 )); then
    echo "RETENTION_HOURS=$HOURS: at most 40, so that the baseline's 48 h raw retention keeps all of it" >&2
    exit 2
fi
need=$(( MACHINES * HOURS * 3600 * ROW_BYTES ))
avail=$(df --output=avail -B1 "$WORK" | tail -1)
if (( need > avail )); then
    printf '%s machines x %s h of raw history need about %d GB; %s has %d GB free.\n' \
        "$MACHINES" "$HOURS" $(( need / 1000000000 )) "$WORK" $(( avail / 1000000000 )) >&2
    echo "Free space, point BENCH_KEEP at a larger disk, or lower RETENTION_HOURS (and say so with the numbers)." >&2
    exit 2
fi

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    say "building release hub, loadgen and the seeder"
    cargo build --release -p lunasentri-hub -p lunasentri-loadgen
    cargo build --release -p lunasentri-hub --example seed_history
fi

raise_nofile

HUB_PID=""
SAMPLER_PID=""
stop_hub() {
    if [[ -n "$SAMPLER_PID" ]]; then
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
    fi
    if [[ -n "$HUB_PID" ]]; then stop_pids 300 "$HUB_PID"; fi
    HUB_PID=""
}
MAIN_PID=$BASHPID
cleanup() {
    # Background subshells inherit this trap: only the script itself cleans up.
    [[ $BASHPID == "$MAIN_PID" ]] || return 0
    stop_hub
    rm -f "$DB" "$DB-wal" "$DB-shm"
}
trap cleanup EXIT

# The load-run configuration of `make bench`, and the same with raw history kept 1 h.
load_config "$WORK/baseline.yaml"
cp "$WORK/baseline.yaml" "$WORK/retention.yaml"
cat >>"$WORK/retention.yaml" <<'EOF'
retention:
  raw: 1h
EOF

# Sizes of the database file and its WAL, in bytes.
db_bytes() {
    local f
    for f in "$DB" "$DB-wal"; do
        if [[ -f "$f" ]]; then stat -c %s "$f"; else echo 0; fi
    done | paste -sd' '
}

# One line per 2 s: epoch seconds, raw rows deleted, pages vacuumed, pass running, pages
# left free in the file after the last pass.
sample_metrics() {
    local url=$1 file=$2 m
    while kill -0 "$HUB_PID" 2>/dev/null; do
        m=$(curl -s --max-time 2 "$url/metrics" || true)
        awk -v now="$(date +%s.%N)" '
            /^lunasentri_retention_deleted_rows_total\{tier="raw"\} / { raw = $2 }
            /^lunasentri_retention_vacuumed_pages_total / { pages = $2 }
            /^lunasentri_retention_running / { running = $2 }
            /^lunasentri_retention_free_pages / { free = $2 }
            END { printf "%s %d %d %d %d\n", now, raw, pages, running, free }' <<<"$m" >>"$file"
        sleep 2
    done
}

# start_hub LABEL CONFIG: starts the hub with $WORK/CONFIG.yaml, logging to
# $WORK/LABEL.hub.log; sets HUB_PID, HUB_URL, HUB_T0.
start_hub() {
    local label=$1 config=$2 log="$WORK/$1.hub.log"
    hub_start "$log" "sqlite://$DB" "$WORK/$config.yaml"
    HUB_T0=$(date +%s)
    hub_wait "$log" 3000 || exit 1
    sample_metrics "$HUB_URL" "$WORK/$label.progress" &
    SAMPLER_PID=$!
}

# Waits until the hub's first retention pass has begun (it runs 60 s after start).
wait_first_pass() {
    local wait_s=$(( HUB_T0 + FIRST_PASS_S + 5 - $(date +%s) ))
    if (( wait_s > 0 )); then
        say "waiting ${wait_s} s for the first retention pass"
        sleep "$wait_s"
    fi
}

# window LABEL I: one loadgen run; writes $WORK/LABEL-I.json and a line to LABEL.windows.
window() {
    local label=$1 i=$2 t0 t1
    local cmd=("$LOADGEN_BIN" --hub "$HUB_URL" --plan "$WORK/plan.json" --agents "$AGENTS"
        --dashboards "$DASHBOARDS" --watch 10 --interval 1s --duration "$WINDOW"
        --scenario steady --ramp-per-sec 1000 --hub-pid "$HUB_PID" --max-p99-ms 10
        --max-loss 0 --json --quiet)
    echo "${cmd[*]}" | sed -e "s#$ROOT/##" -e "s#$HUB_URL#http://127.0.0.1:PORT#" \
        -e "s#--hub-pid $HUB_PID#--hub-pid HUB_PID#" -e "s#$WORK/#WORK/#" >"$WORK/loadgen.cmd"
    t0=$(date +%s.%N)
    "${cmd[@]}" >"$WORK/$label-$i.json" 2>"$WORK/$label-$i.loadgen.log" || true
    t1=$(date +%s.%N)
    echo "$i $t0 $t1" >>"$WORK/$label.windows"
}

pass_running() {
    tail -1 "$WORK/retention.progress" 2>/dev/null | awk '{exit !($4 == 1)}'
}

# The hub creates its first admin only on an empty database: before seeding.
say "creating the admin (hub start on the empty database)"
start_hub setup baseline
stop_hub
say "seeding $MACHINES machines x $HOURS h of raw history into $DB"
"$SEED_BIN" "sqlite://$DB" "$MACHINES" "$HOURS" "$AGE_MINUTES" | tee "$WORK/seed.txt"
db_bytes >"$WORK/db-seeded.bytes"

say "baseline: hub with the default retention (nothing expired)"
start_hub baseline baseline
"$LOADGEN_BIN" --hub "$HUB_URL" --agents "$AGENTS" --dashboards "$DASHBOARDS" --watch 10 \
    --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
    --write-plan "$WORK/plan.json" --provision-only --quiet >/dev/null
wait_first_pass
for i in $(seq 1 "$BASELINE_WINDOWS"); do
    say "baseline window $i / $BASELINE_WINDOWS"
    window baseline "$i"
done
stop_hub

say "retention: hub with retention.raw = 1h (everything seeded has expired)"
start_hub retention retention
wait_first_pass
i=0
while :; do
    i=$(( i + 1 ))
    say "retention window $i"
    window retention "$i"
    pass_running || break
    if (( i >= MAX_WINDOWS )); then
        echo "the retention pass is still running after $i windows: stopping" >&2
        break
    fi
done
# Let the pass finish (if the last window ended first) for its total time and rate.
for _ in $(seq 1 7200); do
    grep -q 'retention: expired history deleted' "$WORK/retention.hub.log" && break
    kill -0 "$HUB_PID" 2>/dev/null || break
    sleep 1
done
db_bytes >"$WORK/db-after.bytes"
stop_hub

say "writing $OUT"
export_machine
BENCH_WORK="$WORK" BENCH_COMMIT="$(bench_commit)" BENCH_WINDOW="$WINDOW" \
BENCH_MACHINES="$MACHINES" BENCH_HOURS="$HOURS" BENCH_AGENTS="$AGENTS" \
BENCH_DASHBOARDS="$DASHBOARDS" BENCH_FIRST_PASS="$FIRST_PASS_S" \
python3 - <<'PY' >"$WORK/section.md"
import json, os, re

env = os.environ
work = env["BENCH_WORK"]
BEGIN = "<!-- retention:begin: generated by scripts/bench-retention.sh, edits inside are overwritten -->"
END = "<!-- retention:end -->"

def read(name, default=""):
    try:
        with open(os.path.join(work, name)) as fh:
            return fh.read()
    except OSError:
        return default

def windows(label):
    rows = []
    for line in read(label + ".windows").split("\n"):
        if not line.strip():
            continue
        i, t0, t1 = line.split()
        try:
            r = json.loads(read(f"{label}-{i}.json"))
        except ValueError:
            r = None
        rows.append((int(i), float(t0), float(t1), r))
    return rows

def progress(label):
    pts = []
    for line in read(label + ".progress").split("\n"):
        p = line.split()
        if len(p) >= 4:
            pts.append((float(p[0]), int(p[1]), int(p[2]), int(p[3]), int(p[4]) if len(p) > 4 else 0))
    return pts

def at(pts, t):
    """Counters at time t: the last sample taken at or before t."""
    last = (t, 0, 0, 0, 0)
    for p in pts:
        if p[0] > t:
            break
        last = p
    return last

def gb(b):
    return f"{b / 1e9:.1f} GB"

def f(v, fmt="{:.2f}"):
    return "n/a" if v is None else fmt.format(v)

seed = read("seed.txt").strip()
m = re.search(r"(\d+) raw rows.* in (\d+) s \((\d+) rows/s\)", seed)
seed_rows, seed_s, seed_rate = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)
def sizes(name):
    v = [int(x) for x in read(name, "0 0").split()] + [0, 0]
    return v[0], v[1]
seeded_bytes, _ = sizes("db-seeded.bytes")
after_bytes, after_wal = sizes("db-after.bytes")

log = read("retention.hub.log")
m = re.search(r"retention: expired history deleted.*?raw=(\d+).*?seconds=([0-9.]+)", log)
pass_raw, pass_s = (int(m.group(1)), float(m.group(2))) if m else (None, None)

pts = progress("retention")
running = [p for p in pts if p[3] == 1]
# Phases from the 2 s samples: deleting while the raw counter rises, then vacuuming.
delete_end = next((p[0] for p in pts if pass_raw is not None and p[1] >= pass_raw), None)
pass_start = running[0][0] if running else None
pass_end = next((p[0] for p in pts if running and p[0] > running[0][0] and p[3] == 0), None)

table, verdict_rows = [], {"baseline": [], "retention": []}
for label in ("baseline", "retention"):
    for i, t0, t1, r in windows(label):
        if label == "retention":
            a, b = at(pts, t0), at(pts, t1)
            deleted, pages = b[1] - a[1], b[2] - a[2]
            inside = a[3] == 1 and b[3] == 1
            overlap = ("inside the pass" if inside else "pass ended during it" if a[3] == 1 else "after the pass")
        else:
            deleted, pages, inside, overlap = 0, 0, False, "retention idle"
        if r is None:
            table.append(f"| {label} {i} | {overlap} | run failed: see the loadgen log | | | | | | | | |")
            continue
        lat, loss = r["latency"], r["loss"]
        hub, hm = r.get("hub_process") or {}, r.get("hub_metrics") or {}
        ok = not r["breaches"]
        verdict_rows[label].append((inside or label == "baseline", lat["p99_ms"], loss, ok, r.get("other_cpu_pct") or 0))
        table.append("| " + " | ".join([
            f"{label} {i}", overlap,
            f"{deleted:,}", f"{pages:,}",
            f(lat["p50_ms"]), f(lat["p99_ms"]), f(lat["max_ms"]),
            f"{loss['live_missing']} / {loss['live_expected']}",
            f"{loss.get('storage_missing')}",
            f(hm.get("writer_flush_mean_ms"), "{:.0f}"),
            f(hub.get("cpu_pct"), "{:.0f}"), f(r.get("other_cpu_pct"), "{:.0f}"),
            "PASS" if ok else "FAIL: " + "; ".join(r["breaches"]),
        ]) + " |")

def summary(rows):
    if not rows:
        return "no window"
    p99 = sorted(x[1] for x in rows)
    lost = sum(x[2]["live_missing"] + (x[2].get("storage_missing") or 0) for x in rows)
    return f"p99 median {p99[len(p99) // 2]:.2f} ms, worst {p99[-1]:.2f} ms over {len(rows)} windows; {lost} samples lost"

if pass_raw is None:
    pass_text = "did not finish (see retention.hub.log)."
else:
    pass_text = f"{pass_raw:,} raw rows expired"
    if delete_end and pass_start and pass_end and delete_end > pass_start:
        d = delete_end - pass_start
        vacuumed = at(pts, pass_end)[2] - at(pts, delete_end)[2]
        free = at(pts, pass_end)[4]
        pass_text += (f"; deleting them took {d:.0f} s ({pass_raw / d:,.0f} rows/s), returning "
                      f"{vacuumed:,} free pages ({gb(vacuumed * 4096)}) to the file system {pass_end - delete_end:.0f} s more; "
                      f"{free:,} pages ({gb(free * 4096)}) stayed free inside the file for new rows and later passes")
    pass_text += (f"; the whole pass took {pass_s:.0f} s by the hub's log ({pass_raw / pass_s:,.0f} rows/s)."
                  f" The database file went from {gb(seeded_bytes)} to {gb(after_bytes)}"
                  f" (WAL {gb(after_wal)}). Phases are read from /metrics every 2 s.")
    machines, hours = int(env["BENCH_MACHINES"]), int(env["BENCH_HOURS"])
    if machines * hours < 1000 * 24:
        day = 1000 * 86400
        pass_text += (f" A day of 1,000 machines is {day:,} rows, {day / pass_raw:.1f} × this run:"
                      f" at the same rate its pass would take about {day / pass_raw * pass_s / 60:.0f} min"
                      " (an extrapolation, not a measurement).")

base = verdict_rows["baseline"]
during = [x for x in verdict_rows["retention"] if x[0]]
# The machine may be shared: split windows by what other processes used meanwhile.
QUIET = 50
quiet = lambda rows: [x for x in rows if x[4] < QUIET]
busy = lambda rows: [x for x in rows if x[4] >= QUIET]
met = bool(during) and all(x[1] <= 10 and x[2]["live_missing"] == 0 and not (x[2].get("storage_missing") or 0) for x in during)

lines = [BEGIN, "",
    f"Machine: {env['BENCH_NPROC']} × {env['BENCH_CPU']}, {env['BENCH_MEM']}; commit {env['BENCH_COMMIT']}; {env['BENCH_DATE']}.",
    "",
    f"**Seeded**: {env['BENCH_MACHINES']} machines × {env['BENCH_HOURS']} h of 1 Hz raw history = {seed_rows:,} rows "
    f"({gb(seeded_bytes)} of SQLite file), written in {seed_s} s ({seed_rate:,} rows/s).",
    "",
    f"**The pass**: {pass_text}",
    "",
    f"**Live load**: {env['BENCH_AGENTS']} agents at 1 Hz and {env['BENCH_DASHBOARDS']} dashboards, {env['BENCH_WINDOW']} windows "
    "(loadgen with the flags of `make bench`, one plan reused by every window).",
    "",
    "| window | retention | raw rows deleted | pages vacuumed | p50 ms | p99 ms | max ms | live loss | storage loss | writer flush mean ms | hub CPU % | other CPU % | result |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    *table, "",
    f"- retention idle: {summary(base)}",
    f"- inside the pass: {summary(during)}",
    f"- other processes under {QUIET} % of one core: idle {summary(quiet(base))}; inside the pass {summary(quiet(during))}",
    f"- other processes at {QUIET} % of one core or more: idle {summary(busy(base))}; inside the pass {summary(busy(during))}",
    f"- target (p99 ≤ 10 ms, zero loss, in every window inside the pass): {'met' if met else '**missed**'}",
    "",
    "```sh",
    f"RETENTION_MACHINES={env['BENCH_MACHINES']} RETENTION_HOURS={env['BENCH_HOURS']} RETENTION_WINDOW={env['BENCH_WINDOW']} make bench-retention    # = scripts/bench-retention.sh",
    read("loadgen.cmd").strip(),
    "```", "", END]
print("\n".join(lines))
PY
write_section "$OUT" "$WORK/section.md"
cat "$WORK/section.md"
say "done: reports and logs in $WORK"
