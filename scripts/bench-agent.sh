#!/usr/bin/env bash
# bench-agent.sh — the agent's footprint next to prometheus-node-exporter and collectd.
#
#   make bench-agent            # full run: 60 s side by side + 100,000-sample soak
#   QUICK=1 make bench-agent    # 20 s side by side + 5,000-sample soak
#
# Builds the release-agent binary and a release hub, starts the hub on a temporary
# SQLite database, registers two machines, then:
#   1. runs our agent at 1 Hz, prometheus-node-exporter (default collectors, scraped at
#      1 Hz by a curl loop) and collectd (Interval 1: cpu, memory, df, disk, interface,
#      load, written to CSV) side by side and measures each with
#      ../shared/bench/measure_agent.sh PID SECONDS (RSS, PSS, CPU from utime+stime),
#      plus CPU from the per-thread schedstat counters (nanoseconds, not 10 ms ticks);
#   2. soaks our agent at a fast interval (default 10ms) until the hub has stored
#      SOAK_SAMPLES samples, and compares RSS after warm-up with RSS at the end.
# Installs the two Debian packages with apt-get when they are missing (no systemd: the
# binaries are started directly on loopback). Prints a markdown table and rewrites the
# part of docs/benchmarks.md between the agent-footprint markers, nothing else.
#
# Env: QUICK=1, BENCH_SECONDS (60), SOAK_SAMPLES (100000), SOAK_INTERVAL (10ms),
#      SOAK_MAX_SECONDS (1800), BENCH_KEEP=DIR (keep logs there), MEASURE=path.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  SECONDS_SIDE=${BENCH_SECONDS:-20}; SOAK_SAMPLES=${SOAK_SAMPLES:-5000}
else
  SECONDS_SIDE=${BENCH_SECONDS:-60}; SOAK_SAMPLES=${SOAK_SAMPLES:-100000}
fi
SOAK_INTERVAL=${SOAK_INTERVAL:-10ms}
SOAK_MAX_SECONDS=${SOAK_MAX_SECONDS:-1800}
MEASURE=${MEASURE:-$ROOT/../shared/bench/measure_agent.sh}
DOC=$ROOT/docs/benchmarks.md
ADMIN_EMAIL=bench@example.com
ADMIN_PASSWORD=bench-password-1

log() { echo "bench-agent: $*" >&2; }
die() { log "$*"; exit 1; }
[ -x "$MEASURE" ] || die "measure script not found: $MEASURE"

if [ -n "${BENCH_KEEP:-}" ]; then WORK=$BENCH_KEEP; mkdir -p "$WORK"; else WORK=$(mktemp -d); fi
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
log "work directory: $WORK"

# ---------------------------------------------------------------- build and install
log "building the release-agent binary and the release hub"
cargo build --quiet --profile release-agent -p lunasentri-agent
cargo build --quiet --release -p lunasentri-hub --bin lunasentri-hub
AGENT=$ROOT/target/release-agent/lunasentri-agent
HUB_BIN=$ROOT/target/release/lunasentri-hub

NODE_EXPORTER=/usr/bin/prometheus-node-exporter
COLLECTD=/usr/sbin/collectd
if [ ! -x "$NODE_EXPORTER" ] || [ ! -x "$COLLECTD" ]; then
  log "installing prometheus-node-exporter and collectd (apt-get)"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends prometheus-node-exporter collectd >"$WORK/apt.log" 2>&1 ||
    { $SUDO apt-get update >>"$WORK/apt.log" 2>&1 &&
      $SUDO apt-get install -y --no-install-recommends prometheus-node-exporter collectd >>"$WORK/apt.log" 2>&1; } ||
    die "apt-get failed, see $WORK/apt.log"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Sum of the per-thread run time (ns) of a process, from schedstat.
cpu_ns() {
  local t=0 a f
  for f in /proc/"$1"/task/*/schedstat; do
    read -r a _ <"$f" 2>/dev/null || continue
    t=$((t + a))
  done
  echo "$t"
}

# ---------------------------------------------------------------- hub
cat >"$WORK/hub.yaml" <<YAML
limits:
  agent_frames_per_second: 250
YAML
LUNASENTRI_ADMIN_EMAIL=$ADMIN_EMAIL LUNASENTRI_ADMIN_PASSWORD=$ADMIN_PASSWORD \
  "$HUB_BIN" --bind 127.0.0.1:0 --database-url "sqlite://$WORK/hub.db" --config "$WORK/hub.yaml" \
  >"$WORK/hub.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  HUB=$(grep -o 'listening on http://[0-9.:]*' "$WORK/hub.log" | head -1 | sed 's/listening on //') || true
  [ -n "${HUB:-}" ] && break
  sleep 0.2
done
[ -n "${HUB:-}" ] || die "the hub did not start: $(tail -5 "$WORK/hub.log")"
log "hub on $HUB"

curl -sf -c "$WORK/cookies" -H 'content-type: application/json' -H "Origin: $HUB" \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" "$HUB/api/auth/login" >/dev/null ||
  die "login failed"
new_machine() { # name -> writes $WORK/<name>.key, prints the machine id
  local body
  body=$(curl -sf -b "$WORK/cookies" -H 'content-type: application/json' -H "Origin: $HUB" \
    -d "{\"name\":\"$1\"}" "$HUB/api/machines") || die "cannot create machine $1"
  (umask 077; jq -r .api_key <<<"$body" >"$WORK/$1.key")
  jq -r .machine.id <<<"$body"
}
ID_1HZ=$(new_machine bench-1hz)
ID_SOAK=$(new_machine bench-soak)

# ---------------------------------------------------------------- side by side at 1 Hz
"$AGENT" --server-url "$HUB" --api-key-file "$WORK/bench-1hz.key" --interval 1s >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!; PIDS+=("$AGENT_PID")

NE_PORT=$(free_port)
"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$NE_PORT" >"$WORK/node_exporter.log" 2>&1 &
NE_PID=$!; PIDS+=("$NE_PID")
(while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$NE_PORT/metrics"; done) &
PIDS+=($!)

mkdir -p "$WORK/collectd" "$WORK/collectd-csv"
cat >"$WORK/collectd.conf" <<CONF
Hostname "bench"
FQDNLookup false
Interval 1
BaseDir "$WORK/collectd"
PIDFile "$WORK/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
LoadPlugin disk
LoadPlugin interface
LoadPlugin load
LoadPlugin csv
<Plugin csv>
  DataDir "$WORK/collectd-csv"
  StoreRates true
</Plugin>
CONF
"$COLLECTD" -f -C "$WORK/collectd.conf" >"$WORK/collectd.log" 2>&1 &
CD_PID=$!; PIDS+=("$CD_PID")

sleep 5
for p in $AGENT_PID $NE_PID $CD_PID; do [ -d "/proc/$p" ] || die "process $p died; see $WORK/*.log"; done
log "measuring the agent, node_exporter and collectd side by side for ${SECONDS_SIDE}s"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A NS0
for p in $AGENT_PID $NE_PID $CD_PID; do NS0[$p]=$(cpu_ns "$p"); done
T0=$(date +%s%N)
"$MEASURE" "$AGENT_PID" "$SECONDS_SIDE" >"$WORK/m.agent" &
M1=$!
"$MEASURE" "$NE_PID" "$SECONDS_SIDE" >"$WORK/m.node_exporter" &
M2=$!
"$MEASURE" "$CD_PID" "$SECONDS_SIDE" >"$WORK/m.collectd" &
M3=$!
wait $M1 $M2 $M3
T1=$(date +%s%N)
declare -A PREC
for p in $AGENT_PID $NE_PID $CD_PID; do
  PREC[$p]=$(awk -v a="${NS0[$p]}" -v b="$(cpu_ns "$p")" -v t="$((T1 - T0))" 'BEGIN { printf "%.3f", (b - a) / t * 100 }')
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
STORED_1HZ=$(sqlite3 "$WORK/hub.db" "select count(*) from metrics_history where machine_id = $ID_1HZ")
kill "$NE_PID" "$CD_PID" "$AGENT_PID" 2>/dev/null || true

SIZE_AGENT=$(stat -c %s "$AGENT")
SIZE_NE=$(stat -c %s "$NODE_EXPORTER")
SIZE_CD=$(stat -c %s "$COLLECTD")
SIZE_CD_PLUGINS=0
for pl in cpu memory df disk interface load csv; do
  SIZE_CD_PLUGINS=$((SIZE_CD_PLUGINS + $(stat -c %s "/usr/lib/collectd/$pl.so")))
done

# ---------------------------------------------------------------- soak
log "soak: agent at $SOAK_INTERVAL until $SOAK_SAMPLES samples are stored (at most ${SOAK_MAX_SECONDS}s)"
"$AGENT" --server-url "$HUB" --api-key-file "$WORK/bench-soak.key" --interval "$SOAK_INTERVAL" \
  >"$WORK/soak.log" 2>&1 &
SOAK_PID=$!; PIDS+=("$SOAK_PID")
stored_soak() { sqlite3 "$WORK/hub.db" "select count(*) from metrics_history where machine_id = $ID_SOAK" 2>/dev/null || echo 0; }
rss() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status; }
pss() { awk '/^Pss:/ { print $2; exit }' /proc/"$1"/smaps_rollup; }
WARM=$((SOAK_SAMPLES / 20))
S0=$(date +%s)
until [ "$(stored_soak)" -ge "$WARM" ]; do
  [ -d /proc/$SOAK_PID ] || die "the soak agent died: $(tail -5 "$WORK/soak.log")"
  [ $(($(date +%s) - S0)) -lt "$SOAK_MAX_SECONDS" ] || break
  sleep 1
done
N_START=$(stored_soak); RSS_START=$(rss $SOAK_PID); PSS_START=$(pss $SOAK_PID)
RSS_MAX=$RSS_START
: >"$WORK/soak.rss"
while :; do
  [ -d /proc/$SOAK_PID ] || die "the soak agent died: $(tail -5 "$WORK/soak.log")"
  n=$(stored_soak); r=$(rss $SOAK_PID)
  echo "$(($(date +%s) - S0)) $n $r" >>"$WORK/soak.rss"
  [ "$r" -gt "$RSS_MAX" ] && RSS_MAX=$r
  [ "$n" -ge "$SOAK_SAMPLES" ] && break
  [ $(($(date +%s) - S0)) -lt "$SOAK_MAX_SECONDS" ] || break
  sleep 5
done
N_END=$(stored_soak); RSS_END=$(rss $SOAK_PID); PSS_END=$(pss $SOAK_PID); T_END=$(date +%s)
# utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
SOAK_CPU_S=$(sed 's/.*) //' "/proc/$SOAK_PID/stat" | awk -v hz="$(getconf CLK_TCK)" '{ print ($12 + $13) / hz }')
kill "$SOAK_PID" 2>/dev/null || true
SOAK_SECS=$((T_END - S0))
RATE=$(awk -v n="$N_END" -v t="$SOAK_SECS" 'BEGIN { printf "%.0f", n / (t > 0 ? t : 1) }')
GROWTH_KB=$((RSS_END - RSS_START))
GROWTH_PER_100K=$(awk -v g="$GROWTH_KB" -v a="$N_START" -v b="$N_END" \
  'BEGIN { d = b - a; if (d <= 0) print "n/a"; else printf "%.2f", g / d * 100000 / 1024 }')

# ---------------------------------------------------------------- report
read -r A_RSS A_RSSMAX A_PSS A_CPU A_THR <"$WORK/m.agent"
read -r N_RSS N_RSSMAX N_PSS N_CPU N_THR <"$WORK/m.node_exporter"
read -r C_RSS C_RSSMAX C_PSS C_CPU C_THR <"$WORK/m.collectd"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
COMMIT=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- agent scripts/bench-agent.sh || COMMIT="$COMMIT (with uncommitted agent changes)"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_TOTAL=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
NE_VER=$("$NODE_EXPORTER" --version 2>&1 | head -1 | awk '{ print $3 }')
CD_VER=$("$COLLECTD" -h 2>&1 | awk '/^collectd / { print $2; exit }')
CMD="make bench-agent"; [ "$QUICK" = 1 ] && CMD="QUICK=1 make bench-agent"
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "meets" : "misses" }'; }

TABLE=$WORK/table.md
{
  echo "## Agent footprint"
  echo
  echo "Generated by \`$CMD\` (\`scripts/bench-agent.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT."
  echo "Machine: $(nproc) CPUs ($CPU_MODEL), $MEM_TOTAL RAM, Linux $(uname -r); load average"
  echo "$LOAD_BEFORE before and $LOAD_AFTER after the side-by-side window (the machine is shared, so"
  echo "CPU figures include cache and scheduling effects of other work)."
  echo
  echo "Side by side in one ${SECONDS_SIDE} s window, each sampling at 1 Hz: our agent (release-agent build,"
  echo "default top 5 processes, plain \`ws://\` to a release hub on loopback; $STORED_1HZ samples stored), node_exporter"
  echo "$NE_VER with its default collectors scraped once a second by curl, collectd $CD_VER with Interval 1 and the cpu,"
  echo "memory, df, disk, interface and load plugins writing CSV. RSS, PSS and \"CPU (ticks)\" are from"
  echo "\`../shared/bench/measure_agent.sh PID ${SECONDS_SIDE}\` (medians; CPU from utime+stime in 10 ms ticks, so"
  echo "±0.02 % here); \"CPU (schedstat)\" sums the threads' run time in nanoseconds over the same window."
  echo
  echo "| | LunaSentri agent | node_exporter | collectd | target (agent) |"
  echo "|---|---|---|---|---|"
  echo "| PSS | $(mb "$A_PSS") MB | $(mb "$N_PSS") MB | $(mb "$C_PSS") MB | ≤ 3 MB ($(verdict "$(mb "$A_PSS")" 3)) |"
  echo "| RSS median / max | $(mb "$A_RSS") / $(mb "$A_RSSMAX") MB | $(mb "$N_RSS") / $(mb "$N_RSSMAX") MB | $(mb "$C_RSS") / $(mb "$C_RSSMAX") MB | |"
  echo "| CPU (ticks), % of one core | $A_CPU % | $N_CPU % | $C_CPU % | ≤ 0.1 % |"
  echo "| CPU (schedstat), % of one core | ${PREC[$AGENT_PID]} % | ${PREC[$NE_PID]} % | ${PREC[$CD_PID]} % | ≤ 0.1 % ($(verdict "${PREC[$AGENT_PID]}" 0.1)) |"
  echo "| threads | $A_THR | $N_THR | $C_THR | |"
  echo "| binary on disk | $(mib "$SIZE_AGENT") (stripped, TLS included) | $(mib "$SIZE_NE") | $(mib "$SIZE_CD") + $(mib "$SIZE_CD_PLUGINS") plugins | ≤ 2 MiB ($(verdict "$SIZE_AGENT" 2097152)) |"
  echo
  echo "Soak: our agent at \`--interval $SOAK_INTERVAL\` against the same hub (its agent frame limit raised"
  echo "to 250/s in a \`--config\` file) until the hub had stored $SOAK_SAMPLES samples; RSS compared after"
  echo "warm-up ($N_START samples stored) and at the end."
  echo
  echo "| samples stored | time | rate | RSS after warm-up | RSS at end (max) | growth | PSS after warm-up / at end | agent CPU time | target |"
  echo "|---|---|---|---|---|---|---|---|---|"
  echo "| $N_END | ${SOAK_SECS} s | $RATE/s | $(mb "$RSS_START") MB | $(mb "$RSS_END") MB ($(mb "$RSS_MAX") MB) | $GROWTH_KB kB ($GROWTH_PER_100K MB per 100k samples) | $(mb "$PSS_START") / $(mb "$PSS_END") MB | ${SOAK_CPU_S} s | growth ≤ 0.5 MB per 100k ($(verdict "$(mb "$GROWTH_KB")" 0.5)) |"
  if [ "$N_END" -lt "$SOAK_SAMPLES" ]; then
    echo
    echo "The soak stopped at the ${SOAK_MAX_SECONDS} s limit before $SOAK_SAMPLES samples; the growth per"
    echo "100k samples above is extrapolated linearly from the $((N_END - N_START)) samples after warm-up."
  fi
} >"$TABLE"
cat "$TABLE"

python3 - "$DOC" "$TABLE" <<'PY'
import sys
path, table = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
begin, end = "<!-- BEGIN agent-footprint -->", "<!-- END agent-footprint -->"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
if begin in text and end in text:
    pre, post = text[: text.index(begin)], text[text.index(end) + len(end):]
else:
    pre, post = text.rstrip("\n") + "\n\n", "\n"
open(path, "w").write(pre + begin + "\n" + table + "\n" + end + post)
PY
log "wrote the agent-footprint section of docs/benchmarks.md"
