#!/usr/bin/env bash
# fxgate vs. async-opcua peer benchmark. See bench/README.md.
#
# Builds fxgate + fxgate-bench (release), starts the peer (10,000 Double tags @ 100 ms) and fxgate
# (generated config, same tags), measures idle RSS/CPU of both, then runs for each server:
#   read 1 tag (concurrency 1), read 1,000 tags per request, subscribe 10,000 items @ 100 ms,
# and prints a Markdown table (also written to bench/results/latest.md).
#
# Everything listens on 127.0.0.1 only; every step has a time limit; all processes started here
# are stopped on exit.
#
# Environment overrides (defaults in brackets):
#   TAGS [10000]  INTERVAL_MS [100]  READ_S [10]  SUB_S [20]  WARMUP_S [2]  IDLE_S [5]
#   SKIP_BUILD [0]   ISOLATE [1] (SIGSTOP the server not under test, so the two simulators
#   do not compete for CPU)   SERVERS ["peer fxgate"]   RUST_LOG (passed to the processes)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"

TAGS="${TAGS:-10000}"
INTERVAL_MS="${INTERVAL_MS:-100}"
READ_S="${READ_S:-10}"
SUB_S="${SUB_S:-20}"
WARMUP_S="${WARMUP_S:-2}"
IDLE_S="${IDLE_S:-5}"
ISOLATE="${ISOLATE:-1}"
SERVERS="${SERVERS:-peer fxgate}"
HOST=127.0.0.1

log() { printf '[run.sh] %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------------------
# Cleanup: stop exactly the processes started here (by PID).
# ------------------------------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-bench.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOAD_PID=""   # the running fxgate-load (via timeout), not yet reaped
cleanup() {
  local rc=$?
  bench_reap "$LOAD_PID"
  bench_cleanup "$rc"
}
bench_traps

# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------
HAVE_FXGATE=1
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "building (release): fxgate, fxgate-bench"
  if ! (cd "$ROOT" && cargo build --release -p fxgate -p fxgate-bench) >&2; then
    log "WARNING: building fxgate failed; trying fxgate-bench alone (fxgate rows will be n/a)"
    (cd "$ROOT" && cargo build --release -p fxgate-bench) >&2
    HAVE_FXGATE=0
  fi
fi
[[ -x "$BIN/peer-server" && -x "$BIN/fxgate-load" ]] || { log "missing $BIN/peer-server or fxgate-load"; exit 1; }
[[ -x "$BIN/fxgate" ]] || HAVE_FXGATE=0
if [[ $HAVE_FXGATE == 0 ]]; then SERVERS="${SERVERS//fxgate/}"; fi

# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

declare -A TAKEN=()
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    [[ -n "${TAKEN[$p]:-}" ]] && continue
    if ! port_open "$p"; then TAKEN[$p]=1; echo "$p"; return 0; fi
  done
  log "no free port found"; return 1
}

# wait_ready PID PORT NAME LOGFILE READY_REGEX: wait for the ready line in the log, then check the
# port. (Probing the port in a loop would make the servers log a failed connection per probe.)
wait_ready() {
  local pid=$1 port=$2 name=$3 logf=$4 re=$5
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || { log "$name exited during startup:"; tail -n 30 "$logf" >&2 || true; return 1; }
    if grep -qE "$re" "$logf" 2>/dev/null; then
      for _ in $(seq 1 50); do port_open "$port" && return 0; sleep 0.2; done
      log "$name logged ready but $HOST:$port does not accept connections"; return 1
    fi
    sleep 0.1
  done
  log "$name not ready after 60 s"; tail -n 30 "$logf" >&2 || true; return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo null; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# cpu_percent PID SECONDS -> % of one core used over the interval
cpu_percent() {
  local a b
  a=$(cpu_ticks "$1"); sleep "$2"; b=$(cpu_ticks "$1")
  awk -v a="$a" -v b="$b" -v t="$CLK_TCK" -v s="$2" 'BEGIN { printf "%.1f", (b - a) / t / s * 100 }'
}

# jget FILE KEY -> raw JSON value (numbers, null, or string without quotes)
jget() {
  local v
  v=$(grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"') || true
  echo "${v:-n/a}"
}

# ------------------------------------------------------------------------------------------------
# Start servers
# ------------------------------------------------------------------------------------------------
declare -A PID=() URL=() READ1_PATH=()

if [[ " $SERVERS " == *" peer "* ]]; then
  PEER_PORT=$(free_port)
  log "starting peer-server on $HOST:$PEER_PORT ($TAGS tags @ ${INTERVAL_MS} ms)"
  "$BIN/peer-server" --host "$HOST" --port "$PEER_PORT" --tags "$TAGS" --interval-ms "$INTERVAL_MS" \
    --pki-dir "$TMP/peer-pki" >"$TMP/peer.log" 2>&1 &
  PID[peer]=$!; STARTED+=("${PID[peer]}")
  URL[peer]="opc.tcp://$HOST:$PEER_PORT/"
  READ1_PATH[peer]="Objects/Demo"
fi

if [[ " $SERVERS " == *" fxgate "* ]]; then
  FX_PORT=$(free_port); HTTP_PORT=$(free_port)
  mkdir -p "$TMP/fxgate-data"
  cat >"$TMP/fxgate.toml" <<EOF
[server]
application_name = "fxgate-bench"
host = "$HOST"
port = $FX_PORT
endpoint_url = "opc.tcp://$HOST:$FX_PORT/"
allow_none = true
accept_all_certificates = true
anonymous = true

[http]
listen = "$HOST:$HTTP_PORT"

[log]
level = "warn,fxgate::topology=info"   # the "fxgate ready" line only

[[simulator]]
name = "Demo"
interval_ms = $INTERVAL_MS
  [[simulator.tags]]
  name = "T"
  type = "Double"
  waveform = "sine"
  count = $TAGS

# The 1-tag read.
[[simulator]]
name = "Single"
interval_ms = $INTERVAL_MS
  [[simulator.tags]]
  name = "T"
  type = "Double"
  waveform = "sine"
EOF
  log "starting fxgate on $HOST:$FX_PORT (http $HOST:$HTTP_PORT)"
  "$BIN/fxgate" run --config "$TMP/fxgate.toml" --data-dir "$TMP/fxgate-data" >"$TMP/fxgate.log" 2>&1 &
  PID[fxgate]=$!; STARTED+=("${PID[fxgate]}")
  URL[fxgate]="opc.tcp://$HOST:$FX_PORT/"
  READ1_PATH[fxgate]="Objects/Single"
fi

[[ -n "${PID[*]:-}" ]] || { log "no server to benchmark"; exit 1; }

[[ -n "${PID[peer]:-}" ]] && wait_ready "${PID[peer]}" "$PEER_PORT" peer-server "$TMP/peer.log" "peer-server ready"
[[ -n "${PID[fxgate]:-}" ]] && wait_ready "${PID[fxgate]}" "$FX_PORT" fxgate "$TMP/fxgate.log" "fxgate ready"
log "servers ready; settling 3 s"
sleep 3

declare -A IDLE_RSS=() IDLE_CPU=()
for s in $SERVERS; do
  IDLE_RSS[$s]=$(rss_kb "${PID[$s]}")
done
for s in $SERVERS; do
  IDLE_CPU[$s]=$(cpu_percent "${PID[$s]}" "$IDLE_S")
  log "$s idle: RSS ${IDLE_RSS[$s]} kB, CPU ${IDLE_CPU[$s]} %"
done

# ------------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------------
bench_run_dir raw

# load SERVER NAME ARGS...
load() {
  local s=$1 name=$2; shift 2
  local out="$RAW/$s-$name.json" limit
  limit=$(awk -v a="$READ_S" -v b="$SUB_S" -v w="$WARMUP_S" 'BEGIN { print int((a > b ? a : b) + w + 90) }')
  log "$s: $name"
  # In the background + wait, so that Ctrl-C/TERM reach the trap at once (timeout(1) runs the
  # client in its own process group, out of reach of the terminal's Ctrl-C).
  timeout -k 5 "$limit" "$BIN/fxgate-load" --url "${URL[$s]}" --label "$s" \
    --pki-dir "$TMP/client-pki" --server-pid "${PID[$s]}" --warmup-s "$WARMUP_S" "$@" \
    >"$out" 2>"$RAW/$s-$name.log" &
  LOAD_PID=$!
  local rc=0
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=""
  if [[ $rc -ne 0 ]]; then
    log "$s: $name FAILED (see $RAW/$s-$name.log)"; tail -n 5 "$RAW/$s-$name.log" >&2 || true
    echo '{"failed":true}' >"$out"
  fi
}

others_stop() { [[ $ISOLATE == 1 ]] || return 0; for o in $SERVERS; do [[ $o == "$1" ]] || kill -STOP "${PID[$o]}" 2>/dev/null || true; done; }
others_cont() { [[ $ISOLATE == 1 ]] || return 0; for o in $SERVERS; do [[ $o == "$1" ]] || kill -CONT "${PID[$o]}" 2>/dev/null || true; done; }

declare -A DIED=()
alive() { # alive SERVER WHEN: note and show the log if the server is gone
  kill -0 "${PID[$1]}" 2>/dev/null && return 0
  local rc=0
  wait "${PID[$1]}" 2>/dev/null || rc=$?
  forget "${PID[$1]}"
  DIED[$1]="exited with status $rc $2"
  log "$1 ${DIED[$1]}; last log lines:"; tail -n 20 "$TMP/$1.log" >&2 || true
  return 1
}

for s in $SERVERS; do
  alive "$s" "before its scenarios" || continue
  others_stop "$s"
  load "$s" read1 --scenario read --batch 1 --concurrency 1 --duration-s "$READ_S" \
    --browse-path "${READ1_PATH[$s]}" --max-nodes 1
  load "$s" read1000 --scenario read --batch 1000 --concurrency 1 --duration-s "$READ_S" \
    --browse-path Objects/Demo
  load "$s" sub10k --scenario subscribe --items "$TAGS" --sampling-ms "$INTERVAL_MS" \
    --publishing-ms "$INTERVAL_MS" --source-interval-ms "$INTERVAL_MS" --duration-s "$SUB_S" \
    --browse-path Objects/Demo
  others_cont "$s"
  alive "$s" "during its scenarios" || true
done
for s in $SERVERS; do cp "$TMP/$s.log" "$RAW/$s-server.log" 2>/dev/null || true; done

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------
val() { # val SERVER SCENARIO KEY
  if [[ -z "${PID[$1]:-}" ]]; then echo "n/a"; return; fi
  jget "$RAW/$1-$2.json" "$3"
}
fmt() { # round numbers for display
  awk -v v="$1" 'BEGIN { if (v ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/) { if (v == int(v)) printf "%d", v; else if (v >= 100) printf "%.0f", v; else printf "%.1f", v } else printf "%s", v }'
}
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else printf "–" }'
}
row() { # row LABEL PEER FXGATE
  printf '| %s | %s | %s | %s |\n' "$1" "$(fmt "$2")" "$(fmt "$3")" "$(ratio "$3" "$2")"
}
srow() { # srow LABEL SCENARIO KEY
  row "$1" "$(val peer "$2" "$3")" "$(val fxgate "$2" "$3")"
}
recv_ratio() { # notifications / expected in %
  local n e
  n=$(val "$1" sub10k notifications); e=$(val "$1" sub10k expected_notifications)
  awk -v n="$n" -v e="$e" 'BEGIN { if (n ~ /^[0-9.]+$/ && e ~ /^[0-9.]+$/ && e > 0) printf "%.1f", n / e * 100; else printf "n/a" }'
}

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU_MODEL=$(awk -F: '/model name/ { gsub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
{
  echo "# fxgate vs async-opcua peer — $RUN_ID"
  echo
  echo "git $GIT_REV · $(nproc) CPU ($CPU_MODEL) · $TAGS tags @ ${INTERVAL_MS} ms · security None · loopback · client and servers on the same host"
  echo "read windows ${READ_S} s, subscribe window ${SUB_S} s, warm-up ${WARMUP_S} s each; isolate=$ISOLATE · raw JSON: bench/results/raw-$RUN_ID/"
  echo
  echo "| Metric | peer | fxgate | fxgate/peer |"
  echo "|---|---:|---:|---:|"
  row "idle RSS (kB)" "${IDLE_RSS[peer]:-n/a}" "${IDLE_RSS[fxgate]:-n/a}"
  row "idle CPU (% of 1 core, simulator only)" "${IDLE_CPU[peer]:-n/a}" "${IDLE_CPU[fxgate]:-n/a}"
  srow "**read 1 tag** — requests/s" read1 requests_per_s
  srow "read 1 tag — latency p50 (µs)" read1 latency_p50_us
  srow "read 1 tag — latency p99 (µs)" read1 latency_p99_us
  srow "read 1 tag — latency max (µs)" read1 latency_max_us
  srow "read 1 tag — errors" read1 errors
  srow "read 1 tag — server CPU (%)" read1 server_cpu_percent
  srow "read 1 tag — server peak RSS (kB)" read1 server_rss_kb_peak
  srow "**read 1,000 tags/request** — requests/s" read1000 requests_per_s
  srow "read 1,000 — values/s" read1000 values_per_s
  srow "read 1,000 — latency p50 (µs)" read1000 latency_p50_us
  srow "read 1,000 — latency p99 (µs)" read1000 latency_p99_us
  srow "read 1,000 — latency max (µs)" read1000 latency_max_us
  srow "read 1,000 — errors" read1000 errors
  srow "read 1,000 — server CPU (%)" read1000 server_cpu_percent
  srow "read 1,000 — server peak RSS (kB)" read1000 server_rss_kb_peak
  srow "**subscribe 10,000 @ 100 ms** — items created" sub10k items_created
  srow "subscribe — notifications/s" sub10k values_per_s
  row "subscribe — received / expected (%)" "$(recv_ratio peer)" "$(recv_ratio fxgate)"
  srow "subscribe — lost (proven: seq gaps + overflow)" sub10k lost
  srow "subscribe — lost messages (seq gaps not republished)" sub10k lost_messages
  srow "subscribe — overflow-flagged values" sub10k overflow
  srow "subscribe — missed updates (timestamp estimate)" sub10k missed_updates_est
  srow "subscribe — silent items" sub10k silent_items
  srow "subscribe — publish responses/s" sub10k requests_per_s
  srow "subscribe — value age p50 (µs)" sub10k latency_p50_us
  srow "subscribe — value age p99 (µs)" sub10k latency_p99_us
  srow "subscribe — server CPU (%)" sub10k server_cpu_percent
  srow "subscribe — server peak RSS (kB)" sub10k server_rss_kb_peak
  echo
  for s in peer fxgate; do
    for sc in read1 read1000 sub10k; do
      f="$RAW/$s-$sc.json"
      [[ -f "$f" ]] || continue
      if grep -q '"failed":true' "$f"; then echo "- $s $sc: **failed** (see raw log)"; fi
      codes=$(jget "$f" error_codes); [[ "$codes" == "n/a" || -z "$codes" ]] || echo "- $s $sc error codes: $codes"
      ce=$(jget "$f" create_errors); [[ "$ce" == "n/a" || -z "$ce" ]] || echo "- $s $sc CreateMonitoredItems errors: $ce"
    done
  done
  for s in "${!DIED[@]}"; do echo "- **$s ${DIED[$s]}** (server log: raw-$RUN_ID/$s-server.log)"; done
  [[ $HAVE_FXGATE == 1 ]] || echo "- fxgate was not built/run: fxgate columns are n/a."
} >"$TMP/report.md"

mkdir -p "$RESULTS"
cp "$TMP/report.md" "$RESULTS/latest.md"
cp "$TMP/report.md" "$RAW/report.md"
cat "$TMP/report.md"
log "written to bench/results/latest.md"
