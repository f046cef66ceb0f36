#!/usr/bin/env bash
# fxgate's IEC 60870-5-104 client and server against c104 (lib60870-C) peers. See bench/README.md.
#
# 1. Client: a c104 station (bench/iec104_peer.py station) sends POINTS M_ME_TF_1 values, RATE
#    changes/s in all, spontaneously, to
#    a. fxgate ([[iec104_device]] with POINTS tags): first half of the window fxgate's CPU/RSS and
#       its store changes/s (/metrics) with no OPC UA client; second half an OPC UA subscription
#       (fxgate-load subscribe, SUB_ITEMS items, sampling 0) for the latency station CP56 →
#       notification; after the station stopped, WRITES set-point commands (fxgate-load write: OPC UA
#       Write → C_SE_NB_1 → ACT_CON → Write answer). Lost = values the station sent − changes that
#       landed in fxgate's store (tag_changes_total over the whole sending time).
#    b. the baseline, a c104 master (iec104_peer.py master) on a fresh station: values/s it
#       decodes, its CPU/RSS, and WRITES commands straight to the station (send → ACT_CON).
# 2. Server: fxgate serves POINTS simulator tags (counter, every tag once per POINTS/RATE s) as
#    M_ME_NC on an [[iec104_server]] to a c104 master: values/s the master received, fxgate's
#    CPU/RSS; baseline: a c104 station sending the same load to the same master.
# Prints a Markdown table (also bench/results/iec104-latest.md); raw JSON in
# bench/results/raw-iec104-<UTC>/. Everything on 127.0.0.1; every step has a time limit; every
# process started here is stopped on exit.
#
# Environment (defaults): POINTS [10000] RATE [10000] MEASURE_S [30] WARMUP_S [5] WRITES [1000]
#   SUB_ITEMS [1000] SKIP_BUILD [0] CARGO_TARGET_DIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"
POINTS="${POINTS:-10000}"
RATE="${RATE:-10000}"
MEASURE_S="${MEASURE_S:-30}"
WARMUP_S="${WARMUP_S:-5}"
WRITES="${WRITES:-1000}"
SUB_ITEMS="${SUB_ITEMS:-1000}"
SETTLE_S=4   # the station waits this long after STARTDT (the master's GI) before it sends
HOST=127.0.0.1
HALF=$(( MEASURE_S / 2 ))

log() { printf '[run_iec104.sh] %s\n' "$*" >&2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-bench-iec104.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() { bench_cleanup $?; }
bench_traps

PY="$ROOT/.venv/bin/python"
if ! "$PY" -c 'import c104' 2>/dev/null; then
  log "preparing $ROOT/.venv with c104"
  [[ -x "$PY" ]] || python3 -m venv "$ROOT/.venv"
  "$PY" -m pip install --quiet c104==2.2.1
fi
bench_build
for b in fxgate fxgate-load; do [[ -x "$BIN/$b" ]] || { log "missing $BIN/$b"; exit 1; }; done

metric() { curl -sS -m 5 "http://$HOST:$HTTP_PORT/metrics" 2>/dev/null | awk -v n="$1" '$1 == n {print $2; exit}'; }
jget() { grep -o "\"$2\": *[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d ' "' || echo n/a; }
wait_file() { for _ in $(seq 1 "$2"); do [[ -s "$1" ]] && return 0; sleep 0.5; done; return 1; }
wait_log() { for _ in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

bench_run_dir raw-iec104
GIT="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo n/a)"
log "run $RUN_ID (git $GIT): $POINTS points, $RATE changes/s, window ${MEASURE_S} s; load: $(cut -d' ' -f1-3 /proc/loadavg)"

fx_header() {
  cat <<EOF
[server]
application_name = "fxgate-bench-iec104"
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
level = "warn,fxgate::topology=info"
EOF
}

start_fxgate() { # start_fxgate CONFIG NAME
  mkdir -p "$TMP/$2-data"
  "$BIN/fxgate" run --config "$1" --data-dir "$TMP/$2-data" >"$TMP/$2.log" 2>&1 &
  FX_PID=$!; STARTED+=("$FX_PID")
  wait_log "$TMP/$2.log" "fxgate ready" || { log "fxgate not ready:"; tail -n 20 "$TMP/$2.log" >&2; exit 1; }
}

stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# ------------------------------------------------------------------------------------------------
# 1a. fxgate client
# ------------------------------------------------------------------------------------------------
ST_PORT=$(free_port); FX_PORT=$(free_port); HTTP_PORT=$(free_port)
SEND_S=$(( WARMUP_S + MEASURE_S ))
"$PY" "$ROOT/bench/iec104_peer.py" station --port "$ST_PORT" --points "$POINTS" --rate "$RATE" \
  --warmup "$WARMUP_S" --duration "$MEASURE_S" --linger 120 --go "$TMP/go" --out "$RAW/client-station-fxgate.json" 2>"$TMP/station1.log" &
ST_PID=$!; STARTED+=("$ST_PID")
for _ in $(seq 1 100); do port_open "$ST_PORT" && break; sleep 0.1; done
{
  fx_header
  cat <<EOF
[[line]]
name = "rtu"
host = "$HOST"
port = $ST_PORT
[[iec104_device]]
name = "RTU1"
line = "rtu"
t2_ms = 1000
[[iec104_device.tag]]
name = "Cmd"
command = "C_SE_NB"
command_ioa = 60000
EOF
  for ((i = 0; i < POINTS; i++)); do printf '[[iec104_device.tag]]\nname = "P%d"\nioa = %d\ntype = "M_ME_NC"\n' "$i" $(( i + 1 )); done
} >"$TMP/client.toml"
start_fxgate "$TMP/client.toml" client
# The GI's answer first (every point once), then the baseline count, then the station sends.
for _ in $(seq 1 200); do C0=$(metric fxgate_tag_changes_total); (( ${C0%.*} >= POINTS )) 2>/dev/null && break; sleep 0.1; done
sleep 1
C0=$(metric fxgate_tag_changes_total)
touch "$TMP/go"
sleep "$WARMUP_S"
log "1a: fxgate client, ${HALF} s without clients"
T0=$(ticks "$FX_PID"); W0=$(metric fxgate_tag_changes_total); S0=$(date +%s.%N)
sleep "$HALF"
T1=$(ticks "$FX_PID"); W1=$(metric fxgate_tag_changes_total); S1=$(date +%s.%N)
FX1_RSS=$(rss_mib "$FX_PID")
FX1_CPU=$(awk -v a="$T0" -v b="$T1" -v s0="$S0" -v s1="$S1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz / (s1 - s0) }')
FX1_RATE=$(awk -v a="$W0" -v b="$W1" -v s0="$S0" -v s1="$S1" 'BEGIN { printf "%.0f", (b - a) / (s1 - s0) }')
log "1a: subscription latency and commands for $(( MEASURE_S - HALF )) s"
timeout $(( MEASURE_S + 60 )) "$BIN/fxgate-load" --url "opc.tcp://$HOST:$FX_PORT/" --pki-dir "$TMP/client-pki" --label fxgate \
  --scenario subscribe --nodes-from-ns-prefix "nsu=urn:fxgate:tags;s=RTU1/P" --prefix-count "$SUB_ITEMS" \
  --items "$SUB_ITEMS" --sampling-ms 0 --publishing-ms 100 --warmup-s 1 --duration-s $(( MEASURE_S - HALF - 4 )) \
  >"$RAW/client-subscribe.json" 2>"$RAW/client-subscribe.log" &
SUB_PID=$!
wait "$SUB_PID" || log "subscribe run failed (see $RAW/client-subscribe.log)"
wait_file "$RAW/client-station-fxgate.json" 120 || { log "the station did not finish"; exit 1; }
sleep 1
C1=$(metric fxgate_tag_changes_total)
SENT=$(jget "$RAW/client-station-fxgate.json" sent_total)
LANDED=$(( ${C1%.*} - ${C0%.*} ))
LOST=$(( SENT - LANDED ))
# The commands come after the count: a command-only tag's change would be counted as a value.
log "1a: $WRITES commands"
timeout 120 "$BIN/fxgate-load" --url "opc.tcp://$HOST:$FX_PORT/" --pki-dir "$TMP/client-pki2" --label fxgate \
  --scenario write --write-node "nsu=urn:fxgate:tags;s=RTU1/Cmd" --write-type int16 --writes "$WRITES" --warmup-s 1 \
  >"$RAW/client-write.json" 2>"$RAW/client-write.log" || log "fxgate write run failed (see $RAW/client-write.log)"
curl -sS -m 5 "http://$HOST:$HTTP_PORT/metrics" >"$RAW/client-metrics.txt" 2>/dev/null || true
stop_pid "$FX_PID"; stop_pid "$ST_PID"
cp "$TMP/client.log" "$RAW/fxgate-client.log"

# ------------------------------------------------------------------------------------------------
# 1b. c104 master on a fresh station
# ------------------------------------------------------------------------------------------------
log "1b: c104 master"
ST_PORT=$(free_port)
"$PY" "$ROOT/bench/iec104_peer.py" station --port "$ST_PORT" --points "$POINTS" --rate "$RATE" \
  --warmup "$WARMUP_S" --duration "$MEASURE_S" --out "$RAW/client-station-c104.json" 2>"$TMP/station2.log" &
ST_PID=$!; STARTED+=("$ST_PID")
for _ in $(seq 1 100); do port_open "$ST_PORT" && break; sleep 0.1; done
timeout $(( MEASURE_S + 120 )) "$PY" "$ROOT/bench/iec104_peer.py" master --port "$ST_PORT" --points "$POINTS" \
  --warmup $(( SETTLE_S + WARMUP_S )) --duration "$HALF" --commands "$WRITES" --out "$RAW/client-master-c104.json" \
  2>"$RAW/client-master-c104.log" || log "c104 master failed"
wait "$ST_PID" 2>/dev/null || true

# ------------------------------------------------------------------------------------------------
# 2a. fxgate server
# ------------------------------------------------------------------------------------------------
log "2a: fxgate server"
SRV_PORT=$(free_port); FX_PORT=$(free_port); HTTP_PORT=$(free_port)
INTERVAL_MS=$(( POINTS * 1000 / RATE ))
{
  fx_header
  cat <<EOF
[[simulator]]
name = "Sim"
interval_ms = $INTERVAL_MS
[[simulator.tags]]
name = "T"
type = "Double"
waveform = "counter"
count = $POINTS
[[line]]
name = "north"
mode = "server"
host = "$HOST"
port = $SRV_PORT
[[iec104_server]]
name = "scada"
line = "north"
event_queue = 100000
EOF
  for ((i = 0; i < POINTS; i++)); do printf '[[iec104_server.map]]\ntag = "Sim/T%d"\nioa = %d\ntype = "M_ME_NC"\n' "$i" $(( i + 1 )); done
} >"$TMP/server.toml"
start_fxgate "$TMP/server.toml" server
"$PY" "$ROOT/bench/iec104_peer.py" master --port "$SRV_PORT" --points "$POINTS" --warmup "$WARMUP_S" --duration "$MEASURE_S" \
  --out "$RAW/server-master-fxgate.json" 2>"$RAW/server-master-fxgate.log" &
M_PID=$!; STARTED+=("$M_PID")
sleep $(( WARMUP_S + 1 ))
T0=$(ticks "$FX_PID"); S0=$(date +%s.%N)
sleep $(( MEASURE_S - 2 ))
T1=$(ticks "$FX_PID"); S1=$(date +%s.%N)
FX2_RSS=$(rss_mib "$FX_PID")
FX2_CPU=$(awk -v a="$T0" -v b="$T1" -v s0="$S0" -v s1="$S1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz / (s1 - s0) }')
wait "$M_PID" || log "the master on fxgate failed"
curl -sS -m 5 "http://$HOST:$HTTP_PORT/metrics" >"$RAW/server-metrics.txt" 2>/dev/null || true
stop_pid "$FX_PID"
cp "$TMP/server.log" "$RAW/fxgate-server.log"

# ------------------------------------------------------------------------------------------------
# 2b. c104 station serving the same load to the same master
# ------------------------------------------------------------------------------------------------
log "2b: c104 station as the server"
ST_PORT=$(free_port)
"$PY" "$ROOT/bench/iec104_peer.py" station --port "$ST_PORT" --points "$POINTS" --rate "$RATE" \
  --warmup "$WARMUP_S" --duration "$MEASURE_S" --out "$RAW/server-station-c104.json" 2>"$TMP/station3.log" &
ST_PID=$!; STARTED+=("$ST_PID")
for _ in $(seq 1 100); do port_open "$ST_PORT" && break; sleep 0.1; done
timeout $(( MEASURE_S + 120 )) "$PY" "$ROOT/bench/iec104_peer.py" master --port "$ST_PORT" --points "$POINTS" \
  --warmup $(( SETTLE_S + WARMUP_S )) --duration $(( MEASURE_S - 2 )) --out "$RAW/server-master-c104.json" \
  2>"$RAW/server-master-c104.log" || log "the master on c104 failed"
wait "$ST_PID" 2>/dev/null || true

# ------------------------------------------------------------------------------------------------
# Table
# ------------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0 || b == "n/a" || a == "n/a") print "n/a"; else printf "%.2f", b / a }'; }
us() { awk -v v="$1" 'BEGIN { if (v == "n/a" || v == "") print "n/a"; else printf "%.0f", v }'; }
M1="$RAW/client-master-c104.json"; S1J="$RAW/client-station-fxgate.json"; SUB="$RAW/client-subscribe.json"; WR="$RAW/client-write.json"
M2F="$RAW/server-master-fxgate.json"; M2C="$RAW/server-master-c104.json"; S2="$RAW/server-station-c104.json"
C104_RATE=$(jget "$M1" received_per_s); C104_CPU=$(jget "$M1" cpu_cores); C104_RSS=$(jget "$M1" rss_mib)
{
  echo "### IEC 104 run $RUN_ID (git $GIT): $POINTS points, $RATE changes/s, ${MEASURE_S} s window"
  echo
  echo "| 1. Client (c104 station → …) | c104 master | fxgate | fxgate/c104 |"
  echo "|---|---:|---:|---:|"
  echo "| values/s taken in | $(us "$C104_RATE") | $FX1_RATE | $(ratio "$C104_RATE" "$FX1_RATE") |"
  echo "| values lost (sent − landed, whole run) | – | $LOST of $SENT | |"
  echo "| CPU (cores) | $C104_CPU | $FX1_CPU | $(ratio "$C104_CPU" "$FX1_CPU") |"
  echo "| RSS (MiB) | $C104_RSS | $FX1_RSS | $(ratio "$C104_RSS" "$FX1_RSS") |"
  echo "| command round trip p50 / p99 / max (µs) | $(us "$(jget "$M1" rtt_p50_us)") / $(us "$(jget "$M1" rtt_p99_us)") / $(us "$(jget "$M1" rtt_max_us)") | $(us "$(jget "$WR" latency_p50_us)") / $(us "$(jget "$WR" latency_p99_us)") / $(us "$(jget "$WR" latency_max_us)") | |"
  echo "| station CP56 → OPC UA notification p50 / p99 (µs), $SUB_ITEMS items | – | $(us "$(jget "$SUB" latency_p50_us)") / $(us "$(jget "$SUB" latency_p99_us)") | |"
  echo "| station: values/s sent, its CPU | $(us "$(jget "$RAW/client-station-c104.json" sent_per_s)"), $(jget "$RAW/client-station-c104.json" cpu_cores) | $(us "$(jget "$S1J" sent_per_s)"), $(jget "$S1J" cpu_cores) | |"
  echo
  echo "| 2. Server (… → c104 master) | c104 station | fxgate | fxgate/c104 |"
  echo "|---|---:|---:|---:|"
  echo "| values/s the master received | $(us "$(jget "$M2C" received_per_s)") | $(us "$(jget "$M2F" received_per_s)") | $(ratio "$(jget "$M2C" received_per_s)" "$(jget "$M2F" received_per_s)") |"
  echo "| server CPU (cores) | $(jget "$S2" cpu_cores) | $FX2_CPU | $(ratio "$(jget "$S2" cpu_cores)" "$FX2_CPU") |"
  echo "| server RSS (MiB) | $(jget "$S2" rss_mib) | $FX2_RSS | $(ratio "$(jget "$S2" rss_mib)" "$FX2_RSS") |"
  echo "| master CPU (cores) | $(jget "$M2C" cpu_cores) | $(jget "$M2F" cpu_cores) | |"
} | tee "$RESULTS/iec104-latest.md" "$RAW/table.md"
