#!/usr/bin/env bash
# fxgate Modbus client vs. a bare tokio-modbus poller (modbus-poll). See bench/README.md.
#
# Builds fxgate + fxgate-bench (release) and starts modbus-peer (an in-memory Modbus TCP server,
# every register changing every CHANGE_MS) on 127.0.0.1. Then:
#   1. fxgate with a generated config: one client [[line]] to the peer, one [[device]] "Dev0" with
#      NGROUPS [[device.group]]s (interval INTERVAL_MS), each with one [[device.tag]] of REGS uint16
#      registers (count = REGS) at consecutive ranges (see below), plus the writable uint16 tag W at
#      hr:W_ADDR (polled at the device's poll_ms = INTERVAL_MS).
#      Waits for "fxgate ready" and for the values to be Good (DA item API), settles, then for
#      MEASURE_S: fxgate CPU (utime+stime from /proc, in cores) and RSS (VmRSS), fxgate's own
#      tag changes/s (/metrics), and the peer's requests/s (modbus-peer counters, via SIGUSR1);
#   2. fxgate write latency: WRITES sequential OPC UA Writes of W (fxgate-load --scenario write;
#      a Write returns after the device answered), back to back, while fxgate keeps polling; then
#      PACED_WRITES more with random pauses (mean PACE_MS) between them, so that they arrive at
#      random moments of the poll cycle like an operator's writes; then fxgate stops;
#   3. the baseline: modbus-poll (same plan, same peer, one connection, decode to f64 and nothing
#      else; it also polls hr:W_ADDR like fxgate) for the same MEASURE_S window: its CPU/RSS, its
#      own changes/s, the peer's requests/s;
#   4. the direct Modbus write round trip: modbus-poll --write-latency WRITES back to back, then
#      PACED_WRITES with the same random pauses.
# Prints a Markdown table (also written to bench/results/modbus-latest.md).
#
# Addresses: a Modbus table has 65,536 addresses, so 100 × 1,000 distinct registers do not fit into
# the holding registers alone. With K = floor(ADDRESS_SPAN / REGS) groups per table, groups 0..K-1
# are holding registers at hr:(g × REGS) and groups K..2K-1 input registers at ir:((g − K) × REGS)
# (K = 65 by default: hr:0..64999 and ir:0..34999; modbus-peer serves its registers as both).
# (Overlapping ranges would not do: fxgate merges the groups of one interval into one plan and
# reads a register shared by several tags once, so it would put less load on the wire.)
# W_ADDR must lie above the holding registers the groups use.
#
# Everything listens on 127.0.0.1 only; every step has a time limit; all processes started here
# are stopped on exit (also on Ctrl-C).
#
# Environment overrides (defaults in brackets):
#   NGROUPS [100]  REGS [1000]  INTERVAL_MS [1000]  CHANGE_MS [100]  MEASURE_S [30]  WARMUP_S [5]
#   WRITES [5000]  PACED_WRITES [400]  PACE_MS [20]  ADDRESS_SPAN [65000]  W_ADDR [65500]  GOOD_TIMEOUT_S [60]
#   SKIP_BUILD [0]   CARGO_TARGET_DIR   RUST_LOG (passed to the processes)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"

# NGROUPS, not GROUPS: bash reserves GROUPS (the user's group ids) and ignores assignments to it.
NGROUPS="${NGROUPS:-100}"
REGS="${REGS:-1000}"
INTERVAL_MS="${INTERVAL_MS:-1000}"
CHANGE_MS="${CHANGE_MS:-100}"
MEASURE_S="${MEASURE_S:-30}"
WARMUP_S="${WARMUP_S:-5}"
WRITES="${WRITES:-5000}"
PACED_WRITES="${PACED_WRITES:-400}"
PACE_MS="${PACE_MS:-20}"
ADDRESS_SPAN="${ADDRESS_SPAN:-65000}"
W_ADDR="${W_ADDR:-65500}"
GOOD_TIMEOUT_S="${GOOD_TIMEOUT_S:-60}"
HOST=127.0.0.1
DEVICE=Dev0

log() { printf '[run_modbus.sh] %s\n' "$*" >&2; }

PER_TABLE=$(( (ADDRESS_SPAN < 65536 ? ADDRESS_SPAN : 65536) / REGS ))
(( PER_TABLE > 0 )) || { log "ADDRESS_SPAN ($ADDRESS_SPAN) is smaller than REGS ($REGS)"; exit 2; }
(( NGROUPS <= 2 * PER_TABLE )) || { log "$NGROUPS groups × $REGS registers do not fit into 2 × $ADDRESS_SPAN addresses"; exit 2; }
HR_USED=$(( (NGROUPS < PER_TABLE ? NGROUPS : PER_TABLE) * REGS ))
if (( W_ADDR < HR_USED || W_ADDR > 65535 )); then
  log "W_ADDR ($W_ADDR) must lie above the polled holding registers (0..$((HR_USED - 1))) and below 65536"; exit 2
fi
group_addr() { # group_addr G -> hr:N or ir:N
  if (( $1 < PER_TABLE )); then echo "hr:$(( $1 * REGS ))"; else echo "ir:$(( ($1 - PER_TABLE) * REGS ))"; fi
}

# ------------------------------------------------------------------------------------------------
# Cleanup: stop exactly the processes started here (by PID).
# ------------------------------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-bench-modbus.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FG_PID=""   # a client run in the background + wait (via timeout), not yet reaped
cleanup() {
  local rc=$?
  bench_reap "$FG_PID"
  bench_cleanup "$rc"
}
bench_traps

# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------
bench_build
for b in fxgate fxgate-load modbus-peer modbus-poll; do
  [[ -x "$BIN/$b" ]] || { log "missing $BIN/$b"; exit 1; }
done

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

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
now_s() { date +%s.%N; }

# jget FILE KEY -> raw JSON value of the first occurrence (numbers, null, or string without quotes)
jget() {
  local v
  v=$(grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"') || true
  echo "${v:-n/a}"
}

# modbus-peer prints its counters as one JSON line on its stdout on SIGUSR1.
# peer_ask: send the signal; peer_collect OUTFILE: wait for that line and write it to OUTFILE.
PEER_OUT=""
PEER_SEEN=0
peer_ask() {
  PEER_SEEN=$(grep -c '"event":"stats"' "$PEER_OUT" 2>/dev/null || true)
  kill -USR1 "$PEER_PID"
}
peer_collect() {
  local n
  for _ in $(seq 1 100); do
    n=$(grep -c '"event":"stats"' "$PEER_OUT" 2>/dev/null || true)
    if (( n > PEER_SEEN )); then grep '"event":"stats"' "$PEER_OUT" | tail -n 1 >"$1"; return 0; fi
    sleep 0.05
  done
  log "modbus-peer did not answer SIGUSR1"; echo '{}' >"$1"; return 1
}
peer_stats() { peer_ask; peer_collect "$1"; }

# wait_quiet: wait (up to ~10 s) for a moment in which the device has served no request for
# 200 ms. The polls come in one burst per interval (about 0.1 s of 1 s here); a window that starts
# (and, being a whole number of intervals long, ends) between bursts counts each burst exactly once.
wait_quiet() {
  local a b
  for _ in $(seq 1 40); do
    peer_stats "$TMP/quiet-a.json"; sleep 0.2; peer_stats "$TMP/quiet-b.json"
    a=$(jget "$TMP/quiet-a.json" requests); b=$(jget "$TMP/quiet-b.json" requests)
    [[ "$a" == "$b" ]] && return 0
    sleep 0.05
  done
  log "no quiet moment on the device found; the window starts anyway"
}

metric() { # metric NAME -> value of an unlabelled sample from fxgate's /metrics (or n/a)
  local v
  v=$(curl -sS -m 5 "http://$HOST:$HTTP_PORT/metrics" 2>/dev/null | awk -v n="$1" '$1 == n { print $2; exit }') || true
  echo "${v:-n/a}"
}

# measure NAME PID [metrics]: a MEASURE_S window over PID: CPU (cores), RSS (end / peak, kB), the
# peer's requests and registers, the peer's CPU, and with "metrics" fxgate's tag change figures.
# Results in $RAW/NAME-window.txt as key=value lines.
measure() {
  local name=$1 pid=$2 with_metrics=${3:-}
  local c0 c1 pc0 pc1 t0 t1 peak=0 r ch0=n/a ch1=n/a gsum=0 gn=0 g
  wait_quiet
  [[ -n "$with_metrics" ]] && ch0=$(metric fxgate_tag_changes_total)
  peer_ask
  c0=$(cpu_ticks "$pid"); pc0=$(cpu_ticks "$PEER_PID"); t0=$(now_s)
  peer_collect "$RAW/$name-peer-start.json"
  # Exactly MEASURE_S seconds (a whole number of poll intervals): the polls come in bursts, so a
  # window of ragged length would catch one burst more or less than it should.
  local i
  for i in $(seq 1 "$MEASURE_S"); do
    sleep "$(awk -v t0="$t0" -v i="$i" -v n="$(now_s)" 'BEGIN { d = t0 + i - n; printf "%.3f", (d > 0 ? d : 0) }')"
    kill -0 "$pid" 2>/dev/null || { log "$name exited during its window"; return 1; }
    r=$(rss_kb "$pid"); (( r > peak )) && peak=$r
    if [[ -n "$with_metrics" ]]; then
      g=$(metric fxgate_tag_changes_per_second)
      if [[ "$g" =~ ^[0-9.]+$ ]]; then gsum=$(awk -v a="$gsum" -v b="$g" 'BEGIN { print a + b }'); gn=$((gn + 1)); fi
    fi
  done
  peer_ask
  c1=$(cpu_ticks "$pid"); pc1=$(cpu_ticks "$PEER_PID"); t1=$(now_s)
  peer_collect "$RAW/$name-peer-end.json"
  [[ -n "$with_metrics" ]] && ch1=$(metric fxgate_tag_changes_total)
  r=$(rss_kb "$pid")
  {
    echo "secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    echo "cpu_cores=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" -v s0="$t0" -v s1="$t1" 'BEGIN { printf "%.4f", (b - a) / t / (s1 - s0) }')"
    echo "peer_cpu_cores=$(awk -v a="$pc0" -v b="$pc1" -v t="$CLK_TCK" -v s0="$t0" -v s1="$t1" 'BEGIN { printf "%.4f", (b - a) / t / (s1 - s0) }')"
    echo "rss_kb_end=$r"
    echo "rss_kb_peak=$(( r > peak ? r : peak ))"
    for k in requests registers_read exceptions; do
      echo "peer_${k}_per_s=$(awk -v a="$(jget "$RAW/$name-peer-start.json" "$k")" -v b="$(jget "$RAW/$name-peer-end.json" "$k")" \
        -v s0="$(jget "$RAW/$name-peer-start.json" t_s)" -v s1="$(jget "$RAW/$name-peer-end.json" t_s)" \
        'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && s1 > s0) printf "%.1f", (b - a) / (s1 - s0); else printf "n/a" }')"
    done
    if [[ -n "$with_metrics" ]]; then
      echo "changes_per_s_counter=$(awk -v a="$ch0" -v b="$ch1" -v s0="$t0" -v s1="$t1" \
        'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.0f", (b - a) / (s1 - s0); else printf "n/a" }')"
      echo "changes_per_s_gauge_mean=$(awk -v s="$gsum" -v n="$gn" 'BEGIN { if (n > 0) printf "%.0f", s / n; else printf "n/a" }')"
      echo "changes_per_s_gauge_samples=$gn"
    fi
  } >"$RAW/$name-window.txt"
  log "$name window: $(tr '\n' ' ' <"$RAW/$name-window.txt")"
}
wget_() { # wget_ NAME KEY -> value from $RAW/NAME-window.txt
  local v
  v=$(awk -F= -v k="$2" '$1 == k { print $2; exit }' "$RAW/$1-window.txt" 2>/dev/null) || true
  echo "${v:-n/a}"
}

# run_bg LIMIT_S OUTFILE ERRFILE CMD...: run a client with a hard time limit, in the background +
# wait so that Ctrl-C/TERM reach the trap at once. Returns the client's exit status.
run_bg() {
  local limit=$1 out=$2 err=$3; shift 3
  timeout -k 5 "$limit" "$@" >"$out" 2>"$err" &
  FG_PID=$!
  local rc=0
  wait "$FG_PID" || rc=$?
  FG_PID=""
  return "$rc"
}

# stop_proc PID NAME: TERM, wait up to 10 s, KILL; forget the PID.
stop_proc() {
  local pid=$1 name=$2 rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop within 10 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || rc=$?
  forget "$pid"
  return "$rc"
}

bench_run_dir raw-modbus
NOTES=()

# ------------------------------------------------------------------------------------------------
# The Modbus peer
# ------------------------------------------------------------------------------------------------
MB_PORT=$(free_port)
PEER_OUT="$TMP/modbus-peer.out"
log "starting modbus-peer on $HOST:$MB_PORT (every register changes every ${CHANGE_MS} ms)"
"$BIN/modbus-peer" --host "$HOST" --port "$MB_PORT" --change-every-ms "$CHANGE_MS" \
  >"$PEER_OUT" 2>"$TMP/modbus-peer.log" &
PEER_PID=$!; STARTED+=("$PEER_PID")
wait_ready "$PEER_PID" "$MB_PORT" modbus-peer "$TMP/modbus-peer.log" "modbus-peer ready"

# ------------------------------------------------------------------------------------------------
# fxgate
# ------------------------------------------------------------------------------------------------
FX_PORT=$(free_port); HTTP_PORT=$(free_port)
mkdir -p "$TMP/fxgate-data"
{
  cat <<EOF
[server]
application_name = "fxgate-bench-modbus"
host = "$HOST"
port = $FX_PORT
endpoint_url = "opc.tcp://$HOST:$FX_PORT/"
allow_none = true
accept_all_certificates = true
anonymous = true
anonymous_roles = ["read", "write"]

[http]
listen = "$HOST:$HTTP_PORT"

[log]
level = "warn,fxgate::topology=info"   # the "fxgate ready" line, and anything that goes wrong

[[line]]
name = "bench"
mode = "client"
host = "$HOST"
port = $MB_PORT
connect_timeout_ms = 3000
reconnect_delay_ms = 1000

[[device]]
name = "$DEVICE"
line = "bench"
protocol = "modbus"
unit_id = 1
timeout_ms = 1000
poll_ms = $INTERVAL_MS
max_registers = 125
EOF
  for ((g = 0; g < NGROUPS; g++)); do
    printf '\n  [[device.group]]\n  name = "g%d"\n  interval_ms = %d\n' "$g" "$INTERVAL_MS"
  done
  for ((g = 0; g < NGROUPS; g++)); do
    printf '\n  [[device.tag]]\n  name = "G%d_"\n  address = "%s"\n  type = "uint16"\n  group = "g%d"\n  count = %d\n' \
      "$g" "$(group_addr "$g")" "$g" "$REGS"
  done
  printf '\n  [[device.tag]]\n  name = "W"\n  address = "hr:%d"\n  type = "uint16"\n  writable = true\n' "$W_ADDR"
} >"$TMP/fxgate.toml"
cp "$TMP/fxgate.toml" "$RAW/fxgate.toml"

if ! timeout 30 "$BIN/fxgate" check-config "$TMP/fxgate.toml" >"$TMP/check.log" 2>&1; then
  log "the generated config is refused:"; cat "$TMP/check.log" >&2; exit 1
fi

log "starting fxgate on $HOST:$FX_PORT (http $HOST:$HTTP_PORT): $NGROUPS groups × $REGS registers @ ${INTERVAL_MS} ms"
T_START=$(now_s)
"$BIN/fxgate" run --config "$TMP/fxgate.toml" --data-dir "$TMP/fxgate-data" >"$TMP/fxgate.log" 2>&1 &
FX_PID=$!; STARTED+=("$FX_PID")
wait_ready "$FX_PID" "$FX_PORT" fxgate "$TMP/fxgate.log" "fxgate ready"
T_READY=$(now_s)
STARTUP_S=$(awk -v a="$T_START" -v b="$T_READY" 'BEGIN { printf "%.2f", b - a }')
FX_RSS_READY=$(rss_kb "$FX_PID")
log "fxgate ready after ${STARTUP_S} s (RSS $FX_RSS_READY kB)"

# Wait until the first and last tag of every group and W are Good, via the DA item API. Its
# ItemIDs use the gateway's persisted namespace table, so take the device folder's ItemID from a
# browse of Objects rather than assuming ns=2.
NSI=""
for _ in $(seq 1 60); do
  kill -0 "$FX_PID" 2>/dev/null || { log "fxgate exited:"; tail -n 30 "$TMP/fxgate.log" >&2; exit 1; }
  NSI=$(curl -sS -m 10 "http://$HOST:$HTTP_PORT/da/browse?branch=i-85" 2>"$TMP/da-browse.err" \
    | grep -o "\"item_id\":\"ns-[0-9]*;s-$DEVICE\"" | head -n 1 | sed 's/.*"ns-\([0-9]*\);.*/\1/') || true
  [[ -n "$NSI" ]] && break
  sleep 0.5
done
[[ -n "$NSI" ]] || { log "no folder $DEVICE in the DA browse of Objects"; cat "$TMP/da-browse.err" >&2 || true; exit 1; }
ITEMS="\"ns-$NSI;s-$DEVICE/W\""
for ((g = 0; g < NGROUPS; g++)); do
  ITEMS+=",\"ns-$NSI;s-$DEVICE/G${g}_0\",\"ns-$NSI;s-$DEVICE/G${g}_$((REGS - 1))\""
done
N_ITEMS=$(( 2 * NGROUPS + 1 ))
echo "{\"items\":[$ITEMS]}" >"$TMP/da-read.json"
GOOD=0
T_GOOD_START=$(now_s)
for _ in $(seq 1 $(( GOOD_TIMEOUT_S * 2 ))); do
  kill -0 "$FX_PID" 2>/dev/null || { log "fxgate exited while waiting for Good values:"; tail -n 30 "$TMP/fxgate.log" >&2; exit 1; }
  curl -sS -m 5 -H 'Content-Type: application/json' --data-binary "@$TMP/da-read.json" \
    "http://$HOST:$HTTP_PORT/da/read" >"$TMP/da-read.out" 2>"$TMP/da-read.err" || true
  GOOD=$(grep -o '"quality":192' "$TMP/da-read.out" 2>/dev/null | wc -l) || GOOD=0
  (( GOOD >= N_ITEMS )) && break
  sleep 0.5
done
if (( GOOD < N_ITEMS )); then
  log "only $GOOD of $N_ITEMS probe tags Good after ${GOOD_TIMEOUT_S} s; last DA answer (head):"
  head -c 2000 "$TMP/da-read.out" >&2 || true; cat "$TMP/da-read.err" >&2 || true; echo >&2
  log "fxgate log (tail):"; tail -n 30 "$TMP/fxgate.log" >&2
  cp "$TMP/fxgate.log" "$RAW/fxgate-server.log" 2>/dev/null || true
  exit 1
fi
GOOD_S=$(awk -v a="$T_GOOD_START" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')
log "all $N_ITEMS probe tags Good ${GOOD_S} s after ready; settling ${WARMUP_S} s"
sleep "$WARMUP_S"

# 1. fxgate polling window
log "fxgate: measuring ${MEASURE_S} s"
measure fxgate "$FX_PID" metrics
curl -sS -m 5 "http://$HOST:$HTTP_PORT/metrics" >"$RAW/fxgate-metrics.txt" 2>/dev/null || true

# 2. fxgate write latency (OPC UA Write -> device), while polling goes on: back to back, then
#    at random moments of the poll cycle.
# fx_write NAME LIMIT_S ARGS...
fx_write() {
  local name=$1 limit=$2; shift 2
  if ! run_bg "$limit" "$RAW/$name.json" "$RAW/$name.log" \
      "$BIN/fxgate-load" --url "opc.tcp://$HOST:$FX_PORT/" --label fxgate --pki-dir "$TMP/client-pki" \
      --scenario write --write-node "nsu=urn:fxgate:tags;s=$DEVICE/W" --write-type uint16 \
      --warmup-s 1 --server-pid "$FX_PID" "$@"; then
    log "fxgate $name FAILED (see $RAW/$name.log)"; tail -n 5 "$RAW/$name.log" >&2 || true
    echo '{"failed":true}' >"$RAW/$name.json"
    NOTES+=("fxgate $name: **failed** (see raw-modbus-$RUN_ID/$name.log)")
    return 1
  fi
}
log "fxgate: $WRITES OPC UA writes of $DEVICE/W, back to back"
fx_write fxgate-write $(( WRITES / 20 + 120 )) --writes "$WRITES" || true
log "fxgate: $PACED_WRITES OPC UA writes of $DEVICE/W, random pauses (mean ${PACE_MS} ms)"
fx_write fxgate-write-paced $(( PACED_WRITES * PACE_MS * 3 / 1000 + 120 )) --writes "$PACED_WRITES" \
  --write-pace-ms "$PACE_MS" || true
# Does the device hold the last value fxgate acknowledged?
LAST_OK=$(jget "$RAW/fxgate-write-paced.json" last_value)
[[ "$LAST_OK" =~ ^[0-9]+$ ]] || LAST_OK=$(jget "$RAW/fxgate-write.json" last_value)
if [[ "$LAST_OK" =~ ^[0-9]+$ ]]; then
  peer_stats "$RAW/peer-after-fxgate-writes.json" || true
  LAST_DEV=$(grep -o '"last_writes":\[.*\]' "$RAW/peer-after-fxgate-writes.json" | grep -o '{[^}]*}' | tail -n 1) || true
  if [[ "$LAST_DEV" == *"\"addr\":$W_ADDR,"* && "$LAST_DEV" == *"\"value\":$LAST_OK}"* ]]; then
    WRITE_CHECK="yes (hr:$W_ADDR = $LAST_OK)"
  else
    WRITE_CHECK="**no**: fxgate's last Good write was $LAST_OK, the device's last write record is ${LAST_DEV:-none}"
  fi
else
  WRITE_CHECK="n/a (no Good write)"
fi

cp "$TMP/fxgate.log" "$RAW/fxgate-server.log" 2>/dev/null || true
# WARN/ERROR lines other than the expected ones: the config warnings about accept_all_certificates
# and allow_none, the DA API's internal client, and the readiness probe's bare TCP connect.
# (The log is coloured even into a file.)
sed 's/\x1b\[[0-9;]*m//g' "$TMP/fxgate.log" | grep -E ' (WARN|ERROR) ' \
  | grep -vE 'accept_all_certificates = true|allow_none = true|Endpoint config contains no endpoints|Connection failed while waiting for channel to be established' \
  >"$TMP/fxgate-unexpected.log" || true
FX_WARN=$(wc -l <"$TMP/fxgate-unexpected.log")
FX_RSS_FINAL=$(rss_kb "$FX_PID")
FX_STOP_RC=0
stop_proc "$FX_PID" fxgate || FX_STOP_RC=$?
(( FX_STOP_RC == 0 )) || NOTES+=("fxgate exited with status $FX_STOP_RC on SIGTERM")

# 3. baseline: modbus-poll, the same plan on the same peer
log "modbus-poll: measuring ${MEASURE_S} s (after ${WARMUP_S} s warm-up)"
"$BIN/modbus-poll" --host "$HOST" --port "$MB_PORT" --groups "$NGROUPS" --registers "$REGS" \
  --interval-ms "$INTERVAL_MS" --max-registers 125 --address-span "$ADDRESS_SPAN" --extra-register "$W_ADDR" \
  --warmup-s "$WARMUP_S" --duration-s $(( MEASURE_S + 3 )) \
  >"$RAW/modbus-poll.json" 2>"$RAW/modbus-poll.log" &
POLL_PID=$!; STARTED+=("$POLL_PID")
sleep "$WARMUP_S"
kill -0 "$POLL_PID" 2>/dev/null || { log "modbus-poll exited early:"; tail -n 20 "$RAW/modbus-poll.log" >&2; exit 1; }
measure modbus-poll "$POLL_PID"
POLL_RC=0
for _ in $(seq 1 150); do kill -0 "$POLL_PID" 2>/dev/null || break; sleep 0.1; done
stop_proc "$POLL_PID" modbus-poll || POLL_RC=$?
(( POLL_RC == 0 )) || NOTES+=("modbus-poll exited with status $POLL_RC (see raw-modbus-$RUN_ID/modbus-poll.log)")

# 4. direct Modbus write round trip
log "modbus-poll: $WRITES direct writes"
if ! run_bg $(( WRITES / 100 + 60 )) "$RAW/modbus-poll-write.json" "$RAW/modbus-poll-write.log" \
    "$BIN/modbus-poll" --host "$HOST" --port "$MB_PORT" --write-latency "$WRITES" --write-address "$W_ADDR"; then
  log "modbus-poll write test FAILED"; tail -n 5 "$RAW/modbus-poll-write.log" >&2 || true
  echo '{"failed":true}' >"$RAW/modbus-poll-write.json"
fi
log "modbus-poll: $PACED_WRITES direct writes, random pauses (mean ${PACE_MS} ms)"
if ! run_bg $(( PACED_WRITES * PACE_MS * 3 / 1000 + 60 )) "$RAW/modbus-poll-write-paced.json" "$RAW/modbus-poll-write-paced.log" \
    "$BIN/modbus-poll" --host "$HOST" --port "$MB_PORT" --write-latency "$PACED_WRITES" --write-address "$W_ADDR" \
    --write-pace-ms "$PACE_MS" --warmup-writes 10; then
  log "modbus-poll paced write test FAILED"; tail -n 5 "$RAW/modbus-poll-write-paced.log" >&2 || true
  echo '{"failed":true}' >"$RAW/modbus-poll-write-paced.json"
fi

stop_proc "$PEER_PID" modbus-peer || true
cp "$PEER_OUT" "$RAW/modbus-peer.out" 2>/dev/null || true

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------
fmt() { # round numbers for display
  awk -v v="$1" 'BEGIN { if (v ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/) { if (v == int(v)) printf "%d", v; else if (v >= 100) printf "%.0f", v; else if (v >= 1) printf "%.1f", v; else printf "%.3f", v } else printf "%s", v }'
}
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else printf "–" }'
}
mib() { awk -v k="$1" 'BEGIN { if (k ~ /^[0-9.]+$/) printf "%.1f", k / 1024; else printf "n/a" }'; }
row() { # row LABEL BASELINE FXGATE
  printf '| %s | %s | %s | %s |\n' "$1" "$(fmt "$2")" "$(fmt "$3")" "$(ratio "$3" "$2")"
}
goal() { # goal VALUE LIMIT -> ✓/✗
  awk -v v="$1" -v l="$2" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%s", (v <= l ? "met" : "**missed**"); else printf "n/a" }'
}

FX_CPU=$(wget_ fxgate cpu_cores);       MP_CPU=$(wget_ modbus-poll cpu_cores)
FX_RSS=$(wget_ fxgate rss_kb_end);      MP_RSS=$(wget_ modbus-poll rss_kb_end)
FX_RSSP=$(wget_ fxgate rss_kb_peak);    MP_RSSP=$(wget_ modbus-poll rss_kb_peak)
FX_RSS_MIB=$(mib "$FX_RSSP")
GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU_MODEL=$(awk -F: '/model name/ { gsub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
PLANNED=$(( NGROUPS * REGS * 1000 / INTERVAL_MS ))
{
  echo "# fxgate Modbus client vs modbus-poll baseline — $RUN_ID"
  echo
  echo "git $GIT_REV · $(nproc) CPU ($CPU_MODEL) · loopback · fxgate, baseline and modbus-peer on the same host"
  echo "plan: $NGROUPS groups × $REGS uint16 registers @ ${INTERVAL_MS} ms = $PLANNED registers/s (+ W), ≤125 registers/request, one connection;"
  echo "groups 0..$(( PER_TABLE - 1 )) at hr:(g × $REGS), the rest at ir:((g − $PER_TABLE) × $REGS); every register changes every ${CHANGE_MS} ms; window ${MEASURE_S} s after ${WARMUP_S} s settling · raw: bench/results/raw-modbus-$RUN_ID/"
  echo
  echo "| Metric | modbus-poll (baseline) | fxgate | fxgate/baseline |"
  echo "|---|---:|---:|---:|"
  row "**CPU (cores)**" "$MP_CPU" "$FX_CPU"
  row "**RSS at end of window (MiB)**" "$(mib "$MP_RSS")" "$(mib "$FX_RSS")"
  row "RSS peak in window (MiB)" "$(mib "$MP_RSSP")" "$FX_RSS_MIB"
  row "requests/s seen by the device" "$(wget_ modbus-poll peer_requests_per_s)" "$(wget_ fxgate peer_requests_per_s)"
  row "registers/s read by the device" "$(wget_ modbus-poll peer_registers_read_per_s)" "$(wget_ fxgate peer_registers_read_per_s)"
  row "value changes/s (own figure; fxgate: /metrics counter Δ)" "$(jget "$RAW/modbus-poll.json" changes_per_s)" "$(wget_ fxgate changes_per_s_counter)"
  row "fxgate_tag_changes_per_second (mean of 1 s samples)" "–" "$(wget_ fxgate changes_per_s_gauge_mean)"
  row "device exceptions/s" "$(wget_ modbus-poll peer_exceptions_per_s)" "$(wget_ fxgate peer_exceptions_per_s)"
  row "device (modbus-peer) CPU (cores)" "$(wget_ modbus-poll peer_cpu_cores)" "$(wget_ fxgate peer_cpu_cores)"
  row "**write latency p50 (µs)** (baseline: direct Modbus; fxgate: OPC UA Write → device)" \
    "$(jget "$RAW/modbus-poll-write.json" latency_p50_us)" "$(jget "$RAW/fxgate-write.json" latency_p50_us)"
  row "**write latency p99 (µs)**" "$(jget "$RAW/modbus-poll-write.json" latency_p99_us)" "$(jget "$RAW/fxgate-write.json" latency_p99_us)"
  row "write latency max (µs)" "$(jget "$RAW/modbus-poll-write.json" latency_max_us)" "$(jget "$RAW/fxgate-write.json" latency_max_us)"
  row "writes / errors" "$(jget "$RAW/modbus-poll-write.json" writes) / $(jget "$RAW/modbus-poll-write.json" errors)" \
    "$(jget "$RAW/fxgate-write.json" requests) / $(jget "$RAW/fxgate-write.json" errors)"
  row "**write latency p50 (µs), random arrival** (random pauses of mean ${PACE_MS} ms between writes)" \
    "$(jget "$RAW/modbus-poll-write-paced.json" latency_p50_us)" "$(jget "$RAW/fxgate-write-paced.json" latency_p50_us)"
  row "**write latency p99 (µs), random arrival**" "$(jget "$RAW/modbus-poll-write-paced.json" latency_p99_us)" "$(jget "$RAW/fxgate-write-paced.json" latency_p99_us)"
  row "write latency max (µs), random arrival" "$(jget "$RAW/modbus-poll-write-paced.json" latency_max_us)" "$(jget "$RAW/fxgate-write-paced.json" latency_max_us)"
  row "writes / errors, random arrival" "$(jget "$RAW/modbus-poll-write-paced.json" writes) / $(jget "$RAW/modbus-poll-write-paced.json" errors)" \
    "$(jget "$RAW/fxgate-write-paced.json" requests) / $(jget "$RAW/fxgate-write-paced.json" errors)"
  echo
  echo "Goals (from the issue): fxgate ≤ 0.2 core — $(goal "$FX_CPU" 0.2) ($(fmt "$FX_CPU")); ≤ 60 MB RSS — $(goal "$FX_RSS_MIB" 60) ($FX_RSS_MIB MiB peak)."
  echo "For reference (issue, not measured here): EMQX Neuron, same load: 497 MB, 30 % CPU."
  echo
  echo "- fxgate: ready ${STARTUP_S} s after start with RSS $(mib "$FX_RSS_READY") MiB, all probe tags ($N_ITEMS) Good ${GOOD_S} s later; RSS after the write test $(mib "$FX_RSS_FINAL") MiB"
  echo "- fxgate unexpected WARN/ERROR log lines: $FX_WARN"
  head -n 5 "$TMP/fxgate-unexpected.log" | sed 's/^/    /'
  echo "- baseline poller's own figures: $(jget "$RAW/modbus-poll.json" requests_per_s) requests/s, $(jget "$RAW/modbus-poll.json" registers_per_s) registers/s, request RTT p50/p99 $(jget "$RAW/modbus-poll.json" latency_p50_us)/$(jget "$RAW/modbus-poll.json" latency_p99_us) µs, overruns $(jget "$RAW/modbus-poll.json" overruns), errors $(jget "$RAW/modbus-poll.json" errors)"
  echo "- fxgate writes were measured while fxgate kept polling (a write waits for the poll in progress); the direct writes on an otherwise idle device. Back to back, at most one write per poll burst can be held up, so p50/p99 show the OPC UA path; the random-arrival run shows what a write at an arbitrary moment waits"
  echo "- the device holds the last value fxgate acknowledged: $WRITE_CHECK"
  for f in fxgate-write fxgate-write-paced; do
    codes=$(jget "$RAW/$f.json" error_codes); [[ "$codes" == "n/a" || -z "$codes" ]] || echo "- $f error codes: $codes"
  done
  for f in modbus-poll-write modbus-poll-write-paced; do
    codes=$(jget "$RAW/$f.json" error_codes); [[ "$codes" == "n/a" || -z "$codes" ]] || echo "- $f error codes: $codes"
  done
  for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo "- $n"; done
} >"$TMP/report.md"

mkdir -p "$RESULTS"
cp "$TMP/report.md" "$RESULTS/modbus-latest.md"
cp "$TMP/report.md" "$RAW/report.md"
cat "$TMP/report.md"
log "written to bench/results/modbus-latest.md"
