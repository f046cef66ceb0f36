#!/usr/bin/env bash
# fxgate WebSocket client (tag changes streamed to a server) vs. a bare client (ws-push) producing
# the same message stream. See bench/README.md.
#
# Builds fxgate + fxgate-bench (release). For each scenario (changes/s, publish interval, deflate):
#   1. starts ws-sink (a WebSocket server on 127.0.0.1 that measures messages/s, values/s, raw TCP
#      bytes, per-value latency = receipt − source timestamp, seq gaps/duplicates and missed
#      changes), then fxgate with a generated config: a [[simulator]] "Sim" of TAGS random Double
#      tags changing every TAGS × 1000 / RATE ms, and a [[websocket]] to the sink with
#      tags = ["Sim/*"], the scenario's publish_interval_ms and per_message_deflate.
#      The sink's window starts WARMUP_S after the first data message and lasts DURATION_S; over
#      that window it takes fxgate's CPU (utime+stime from /proc/PID/stat, in cores) and RSS
#      (VmRSS sampled every 100 ms). Then fxgate is stopped and its log checked for warnings;
#   2. the same with ws-push in place of fxgate (same tags, rate, publish interval, deflate offer,
#      message format and WebSocket library; no gateway).
# Then, per rate, fxgate with the same simulator but no [[websocket]] for the same window (CPU and
# RSS of the simulator, tag store and OPC UA server alone), so the client's own share shows.
# Scenarios: every rate in RATES × every publish interval in PUBLISH_MS × every DEFLATE setting,
# plus the publish intervals in EXTRA_PUBLISH_MS at the highest rate without deflate.
# Prints a Markdown table (also written to bench/results/ws-latest.md); raw JSON and logs in
# bench/results/raw-ws-<UTC time>/.
#
# Everything listens on 127.0.0.1 only; every step has a time limit; all processes started here
# are stopped on exit (also on Ctrl-C).
#
# Environment overrides (defaults in brackets):
#   TAGS [1000]  RATES ["10000 20000"] (changes/s; TAGS × 1000 / RATE must be a whole ms)
#   PUBLISH_MS ["10"]  EXTRA_PUBLISH_MS ["5 20"]  DEFLATE ["off on"]  DURATION_S [30]  WARMUP_S [3]
#   PRODUCERS ["fxgate push"]  NOWS [1] (the no-[[websocket]] runs)  SKIP_BUILD [0]  CARGO_TARGET_DIR
#   RUST_LOG (passed to the processes)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"

TAGS="${TAGS:-1000}"
RATES="${RATES:-10000 20000}"
PUBLISH_MS="${PUBLISH_MS:-10}"
EXTRA_PUBLISH_MS="${EXTRA_PUBLISH_MS-5 20}"
DEFLATE="${DEFLATE:-off on}"
DURATION_S="${DURATION_S:-30}"
WARMUP_S="${WARMUP_S:-3}"
PRODUCERS="${PRODUCERS:-fxgate push}"
HOST=127.0.0.1

log() { printf '[run_ws.sh] %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------------------
# Cleanup: stop exactly the processes started here (by PID).
# ------------------------------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-wsbench.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() {
  bench_cleanup $?
}
bench_traps

# stop PID: TERM, up to 5 s, then KILL; reap
stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------
HAVE_FXGATE=1
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "building (release): fxgate, fxgate-bench"
  if ! (cd "$ROOT" && timeout 3600 cargo build --release -p fxgate -p fxgate-bench) >&2; then
    log "WARNING: building fxgate failed; trying fxgate-bench alone (fxgate rows will be n/a)"
    (cd "$ROOT" && timeout 3600 cargo build --release -p fxgate-bench) >&2
    HAVE_FXGATE=0
  fi
fi
[[ -x "$BIN/ws-sink" && -x "$BIN/ws-push" ]] || { log "missing $BIN/ws-sink or ws-push"; exit 1; }
[[ -x "$BIN/fxgate" ]] || HAVE_FXGATE=0
if [[ $HAVE_FXGATE == 0 ]]; then PRODUCERS="${PRODUCERS//fxgate/}"; fi

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

# wait_log PID NAME LOGFILE REGEX SECONDS: wait for a line in a log while the process lives
wait_log() {
  local pid=$1 name=$2 logf=$3 re=$4 secs=$5
  for _ in $(seq 1 $(( secs * 10 ))); do
    grep -qE "$re" "$logf" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { log "$name exited during startup:"; tail -n 30 "$logf" >&2 || true; return 1; }
    sleep 0.1
  done
  log "$name: no \"$re\" after $secs s"; tail -n 30 "$logf" >&2 || true; return 1
}

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# jget FILE KEY -> raw JSON value (numbers, null, true/false, or string without quotes)
jget() {
  local v
  v=$(grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"') || true
  echo "${v:-n/a}"
}

# fx_config FILE INTERVAL_MS [SINK_PORT PUBLISH_MS DEFLATE(true|false)]: fxgate's config; without
# SINK_PORT there is no [[websocket]] (the simulator, tag store and OPC UA server alone).
fx_config() {
  local file=$1 interval=$2 sink_port=${3:-} pub=${4:-} flag=${5:-} fx_port http_port
  fx_port=$(free_port); http_port=$(free_port)
  cat >"$file" <<EOF
[server]
application_name = "fxgate-wsbench"
host = "$HOST"
port = $fx_port
endpoint_url = "opc.tcp://$HOST:$fx_port/"
allow_none = true
accept_all_certificates = true
anonymous = true

[http]
listen = "$HOST:$http_port"

[log]
level = "warn,fxgate::topology=info,fxgate_websocket=info"

[[simulator]]
name = "Sim"
interval_ms = $interval
  [[simulator.tags]]
  name = "T"
  type = "Double"
  waveform = "random"
  count = $TAGS
EOF
  [[ -n $sink_port ]] || return 0
  cat >>"$file" <<EOF

[[websocket]]
name = "bench"
url = "ws://$HOST:$sink_port/ingest"
per_message_deflate = $flag
tags = ["Sim/*"]
publish_interval_ms = $pub
EOF
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo null; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# ------------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------------
bench_run_dir raw-ws

declare -a SCENARIOS=()   # "rate pub deflate"
MAX_RATE=0
for r in $RATES; do
  (( TAGS * 1000 % r == 0 )) || { log "TAGS × 1000 / $r is not a whole number of ms"; exit 1; }
  (( r > MAX_RATE )) && MAX_RATE=$r
  for p in $PUBLISH_MS; do for d in $DEFLATE; do SCENARIOS+=("$r $p $d"); done; done
done
for p in $EXTRA_PUBLISH_MS; do
  [[ " $PUBLISH_MS " == *" $p "* ]] && continue
  SCENARIOS+=("$MAX_RATE $p off")
done

declare -A NOTES=()

# run_one PRODUCER RATE PUB DEFLATE
run_one() {
  local prod=$1 rate=$2 pub=$3 defl=$4
  local interval=$(( TAGS * 1000 / rate ))
  local name="$prod-r$rate-p$pub-deflate-$defl"
  local out="$RAW/$name.json" port pidfile sink_pid pp limit rc=0
  port=$(free_port)
  pidfile="$TMP/$name.pid"
  rm -f "$pidfile"
  limit=$(awk -v w="$WARMUP_S" -v d="$DURATION_S" 'BEGIN { print int(w + d + 90) }')
  log "$name: ${TAGS} tags every ${interval} ms (= $rate changes/s), publish ${pub} ms, deflate $defl"

  # The sink (in the background + wait, so that Ctrl-C/TERM reach the trap at once).
  timeout -k 5 "$limit" "$BIN/ws-sink" --host "$HOST" --port "$port" --warmup-s "$WARMUP_S" \
    --duration-s "$DURATION_S" --wait-s 60 --tags "$TAGS" --interval-ms "$interval" \
    --peer-pid-file "$pidfile" --clk-tck "$CLK_TCK" --label "$name" \
    >"$out" 2>"$RAW/$name-sink.log" &
  sink_pid=$!; STARTED+=("$sink_pid")
  if ! wait_log "$sink_pid" ws-sink "$RAW/$name-sink.log" "ws-sink ready" 20; then
    stop "$sink_pid"; echo '{"failed":true}' >"$out"; NOTES[$name]="ws-sink did not start"; return 0
  fi

  local flag=false
  [[ $defl == on ]] && flag=true
  if [[ $prod == fxgate ]]; then
    local data="$TMP/$name-data"
    mkdir -p "$data"
    fx_config "$TMP/$name.toml" "$interval" "$port" "$pub" "$flag"
    cp "$TMP/$name.toml" "$RAW/$name-fxgate.toml"
    "$BIN/fxgate" run --config "$TMP/$name.toml" --data-dir "$data" >"$RAW/$name-producer.log" 2>&1 &
    pp=$!
  else
    local dflag=()
    [[ $defl == on ]] && dflag=(--deflate)
    "$BIN/ws-push" --url "ws://$HOST:$port/ingest" --tags "$TAGS" --interval-ms "$interval" \
      --publish-interval-ms "$pub" --prefix "Sim/T" "${dflag[@]+"${dflag[@]}"}" \
      --duration-s "$limit" >"$RAW/$name-producer.log" 2>&1 &
    pp=$!
  fi
  STARTED+=("$pp")
  echo "$pp" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"

  wait "$sink_pid" || rc=$?
  # Log lines up to the end of the sink's run (fxgate's "connection ended" after it are expected).
  local log_lines
  log_lines=$(wc -l <"$RAW/$name-producer.log" 2>/dev/null || echo 0)
  forget "$sink_pid"
  if kill -0 "$pp" 2>/dev/null; then
    stop "$pp"
  else
    local prc=0
    wait "$pp" 2>/dev/null || prc=$?
    forget "$pp"
    # ws-push ends by itself (status 0) when the sink closes; anything else is worth a note.
    if [[ $prod == fxgate || $prc -ne 0 ]]; then
      NOTES[$name]+="$prod exited early (status $prc); "
      log "$name: $prod exited early (status $prc):"; tail -n 20 "$RAW/$name-producer.log" >&2 || true
    fi
  fi
  if [[ $rc -ne 0 ]]; then
    log "$name: ws-sink FAILED (status $rc, see $RAW/$name-sink.log)"; tail -n 5 "$RAW/$name-sink.log" >&2 || true
    grep -q '^{' "$out" 2>/dev/null || echo '{"failed":true}' >"$out"
    NOTES[$name]+="ws-sink failed (status $rc); "
  fi
  # Anything fxgate warned about while the sink ran (lagging behind the store, reconnects, drops),
  # apart from the warnings every start of this config gives (None endpoint, trust-all, and
  # async-opcua's client config without endpoints) and the end of the connection when the sink
  # exits (the last "connection ended", and refused reconnects after it).
  if [[ $prod == fxgate ]]; then
    local warns
    warns=$(head -n "$log_lines" "$RAW/$name-producer.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -E ' (WARN|ERROR) ' \
      | grep -vE 'accept_all_certificates = true|allow_none = true|Endpoint config contains no endpoints|connection failed.*SOCK_CONN_REFUSED' \
      | sed '$ { /connection ended.*SOCK_CONN_LOST/d }' || true)
    if [[ -n "$warns" ]]; then
      NOTES[$name]+="fxgate logged $(wc -l <<<"$warns") warnings/errors during the run, first: \`$(head -n 1 <<<"$warns" | cut -c1-240)\`; "
    fi
  fi
  log "$name: $(jget "$out" values_per_s) values/s, $(jget "$out" messages_per_s) msgs/s, latency p50/p99/max $(jget "$out" latency_p50_ms)/$(jget "$out" latency_p99_ms)/$(jget "$out" latency_max_ms) ms, gaps $(jget "$out" seq_gaps), lost (est) $(jget "$out" lost_changes_est), source ticks skipped $(jget "$out" source_ticks_skipped), CPU $(jget "$out" peer_cpu_cores) cores"
}

for sc in "${SCENARIOS[@]}"; do
  read -r rate pub defl <<<"$sc"
  for prod in $PRODUCERS; do
    run_one "$prod" "$rate" "$pub" "$defl"
  done
done

# fxgate without [[websocket]] at each rate: what the simulator, tag store and OPC UA server cost
# alone, so the WebSocket client's own share can be told apart (same window length).
declare -A NOWS_CPU=() NOWS_RSS=()
if [[ " $PRODUCERS " == *" fxgate "* && "${NOWS:-1}" == 1 ]]; then
  for rate in $RATES; do
    interval=$(( TAGS * 1000 / rate ))
    name="fxgate-nows-r$rate"
    log "$name: fxgate without [[websocket]], ${TAGS} tags every ${interval} ms"
    mkdir -p "$TMP/$name-data"
    fx_config "$TMP/$name.toml" "$interval"
    "$BIN/fxgate" run --config "$TMP/$name.toml" --data-dir "$TMP/$name-data" >"$RAW/$name.log" 2>&1 &
    pp=$!; STARTED+=("$pp")
    if wait_log "$pp" fxgate "$RAW/$name.log" "fxgate ready" 60; then
      sleep "$WARMUP_S"
      c0=$(cpu_ticks "$pp"); peak=$(rss_kb "$pp"); t0=$(date +%s.%N)
      end=$(awk -v t="$t0" -v d="$DURATION_S" 'BEGIN { printf "%.3f", t + d }')
      while awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n < e) }'; do
        r=$(rss_kb "$pp"); [[ $r =~ ^[0-9]+$ ]] && (( r > peak )) && peak=$r
        sleep 0.1
      done
      c1=$(cpu_ticks "$pp"); t1=$(date +%s.%N)
      NOWS_CPU[$rate]=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" -v s0="$t0" -v s1="$t1" 'BEGIN { printf "%.3f", (b - a) / t / (s1 - s0) }')
      NOWS_RSS[$rate]=$peak
      log "$name: CPU ${NOWS_CPU[$rate]} cores, RSS peak $peak kB"
    fi
    stop "$pp"
  done
fi

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------
v() { jget "$RAW/$1-r$2-p$3-deflate-$4.json" "$5"; }   # v PROD RATE PUB DEFL KEY
fmt() { # round numbers for display
  awk -v v="$1" 'BEGIN { if (v ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/) { if (v == int(v)) printf "%d", v; else if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v } else printf "%s", v }'
}
fmt3() { awk -v v="$1" 'BEGIN { if (v ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/) printf "%.3f", v; else printf "%s", v }'; }
kb() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.1f", v / 1024; else printf "%s", v }'; }
mb() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.1f", v / 1024; else printf "%s", v }'; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else printf "–" }'
}
label() { printf '%s/s, pub %s ms, deflate %s' "$(fmt "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" "$2" "$3"; }

prod_table() { # prod_table PROD
  local p=$1
  echo "| Run | changes/s received (%) | msgs/s | values/msg | payload kB/s | wire kB/s | wire B/value | deflate ratio | latency p50 / p99 / max (ms) | of which ts → receipt p50 / p99 (ms) | seq gaps / dups | lost changes, est. (source ticks skipped) | CPU (cores) | RSS peak (MB) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for sc in "${SCENARIOS[@]}"; do
    read -r rate pub defl <<<"$sc"
    local f="$RAW/$p-r$rate-p$pub-deflate-$defl.json"
    if [[ ! -f $f ]] || grep -q '"failed":true' "$f"; then
      echo "| $(label "$rate" "$pub" "$defl") | **failed** | | | | | | | | | | | | |"; continue
    fi
    printf '| %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s / %s | %s / %s | %s (%s) | %s | %s |\n' \
      "$(label "$rate" "$pub" "$defl")" \
      "$(fmt "$(v "$p" "$rate" "$pub" "$defl" values_per_s)")" "$(fmt "$(v "$p" "$rate" "$pub" "$defl" received_pct)")" \
      "$(fmt "$(v "$p" "$rate" "$pub" "$defl" messages_per_s)")" "$(fmt "$(v "$p" "$rate" "$pub" "$defl" values_per_message)")" \
      "$(kb "$(v "$p" "$rate" "$pub" "$defl" payload_bytes_per_s)")" "$(kb "$(v "$p" "$rate" "$pub" "$defl" wire_bytes_per_s)")" \
      "$(fmt "$(v "$p" "$rate" "$pub" "$defl" wire_bytes_per_value)")" "$(fmt "$(v "$p" "$rate" "$pub" "$defl" compression_ratio)")" \
      "$(fmt "$(v "$p" "$rate" "$pub" "$defl" latency_p50_ms)")" "$(fmt "$(v "$p" "$rate" "$pub" "$defl" latency_p99_ms)")" "$(fmt "$(v "$p" "$rate" "$pub" "$defl" latency_max_ms)")" \
      "$(fmt "$(v "$p" "$rate" "$pub" "$defl" send_lag_p50_ms)")" "$(fmt "$(v "$p" "$rate" "$pub" "$defl" send_lag_p99_ms)")" \
      "$(v "$p" "$rate" "$pub" "$defl" seq_gaps)" "$(v "$p" "$rate" "$pub" "$defl" seq_duplicates)" \
      "$(v "$p" "$rate" "$pub" "$defl" lost_changes_est)" "$(v "$p" "$rate" "$pub" "$defl" source_ticks_skipped)" \
      "$(fmt3 "$(v "$p" "$rate" "$pub" "$defl" peer_cpu_cores)")" "$(mb "$(v "$p" "$rate" "$pub" "$defl" peer_rss_kb_peak)")"
  done
}

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU_MODEL=$(awk -F: '/model name/ { gsub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
{
  echo "# fxgate WebSocket client vs ws-push — $RUN_ID"
  echo
  echo "git $GIT_REV · $(nproc) CPU ($CPU_MODEL) · $TAGS random Double tags · ws:// on loopback · JSON · window ${DURATION_S} s after ${WARMUP_S} s warm-up · sink, producer on the same host · raw JSON: bench/results/raw-ws-$RUN_ID/"
  echo
  echo "Latency = ws-sink receipt − the value's source timestamp (stamped when the simulator wrote it; ms resolution, truncated: up to +1 ms). Wire = raw TCP bytes read by the sink; payload = decompressed message bytes. ts → receipt: the message's \`ts\` (stamped by the sender when it builds the message) to receipt, i.e. serialising, compressing, sending and the sink's decoding; the rest of the latency is the wait for the next publish tick, set by the phase between the simulator's and the publisher's timers, which is fixed for a run and random between runs. Lost changes (est.): per-tag source-timestamp steps ≥ 1.5 intervals, minus whole ticks the source skipped (its timer was late: no value of any tag stamped in that interval; fxgate's simulator and ws-push skip missed ticks) — seq gaps catch lost messages exactly. CPU = utime+stime over the window (1.0 = one core); RSS = VmRSS peak (100 ms samples)."
  if [[ " $PRODUCERS " == *" fxgate "* ]]; then
    echo
    echo "## fxgate → ws-sink"
    echo
    prod_table fxgate
  fi
  if [[ " $PRODUCERS " == *" push "* ]]; then
    echo
    echo "## ws-push → ws-sink (the same stream, no gateway)"
    echo
    prod_table push
  fi
  if [[ " $PRODUCERS " == *" fxgate "* && " $PRODUCERS " == *" push "* ]]; then
    echo
    echo "## fxgate / ws-push"
    echo
    echo "| Run | CPU fxgate / push (cores) | CPU ratio | RSS fxgate / push (MB) | RSS ratio | fxgate w/o websocket: CPU (cores) / RSS (MB) | WebSocket client's share: CPU (cores) / RSS (MB) | p50 fxgate / push (ms) | p99 fxgate / push (ms) | p99 ratio | wire B/value fxgate / push |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for sc in "${SCENARIOS[@]}"; do
      read -r rate pub defl <<<"$sc"
      fc=$(v fxgate "$rate" "$pub" "$defl" peer_cpu_cores); pc=$(v push "$rate" "$pub" "$defl" peer_cpu_cores)
      fr=$(v fxgate "$rate" "$pub" "$defl" peer_rss_kb_peak); pr=$(v push "$rate" "$pub" "$defl" peer_rss_kb_peak)
      f5=$(v fxgate "$rate" "$pub" "$defl" latency_p50_ms); p5=$(v push "$rate" "$pub" "$defl" latency_p50_ms)
      f9=$(v fxgate "$rate" "$pub" "$defl" latency_p99_ms); p9=$(v push "$rate" "$pub" "$defl" latency_p99_ms)
      fw=$(v fxgate "$rate" "$pub" "$defl" wire_bytes_per_value); pw=$(v push "$rate" "$pub" "$defl" wire_bytes_per_value)
      nc=${NOWS_CPU[$rate]:-n/a}; nr=${NOWS_RSS[$rate]:-n/a}
      dc=$(awk -v a="$fc" -v b="$nc" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.3f", a - b; else printf "n/a" }')
      dr=$(awk -v a="$fr" -v b="$nr" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.1f", (a - b) / 1024; else printf "n/a" }')
      printf '| %s | %s / %s | %s | %s / %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s / %s |\n' "$(label "$rate" "$pub" "$defl")" \
        "$(fmt3 "$fc")" "$(fmt3 "$pc")" "$(ratio "$fc" "$pc")" "$(mb "$fr")" "$(mb "$pr")" "$(ratio "$fr" "$pr")" \
        "$(fmt3 "$nc")" "$(mb "$nr")" "$dc" "$dr" \
        "$(fmt "$f5")" "$(fmt "$p5")" "$(fmt "$f9")" "$(fmt "$p9")" "$(ratio "$f9" "$p9")" "$(fmt "$fw")" "$(fmt "$pw")"
    done
  fi
  if [[ " $PRODUCERS " == *" fxgate "* ]]; then
    echo
    echo "## Goals (issue 5): 20,000 changes/s sustained with no loss, p99 ≤ 20 ms, ≤ 0.5 core"
    echo
    echo "| fxgate run | no loss (seq gaps / dups / lost changes est.) | changes/s received | p99 (ms) | CPU (cores) | all met |"
    echo "|---|---|---:|---:|---:|---|"
    for sc in "${SCENARIOS[@]}"; do
      read -r rate pub defl <<<"$sc"
      (( rate >= 20000 )) || continue
      f="$RAW/fxgate-r$rate-p$pub-deflate-$defl.json"
      [[ -f $f ]] && ! grep -q '"failed":true' "$f" || { echo "| $(label "$rate" "$pub" "$defl") | failed | | | | no |"; continue; }
      g=$(jget "$f" seq_gaps); d=$(jget "$f" seq_duplicates); m=$(jget "$f" lost_changes_est)
      rp=$(jget "$f" received_pct); p9=$(jget "$f" latency_p99_ms); c=$(jget "$f" peer_cpu_cores)
      ok=$(awk -v g="$g" -v d="$d" -v m="$m" -v rp="$rp" -v p="$p9" -v c="$c" -v conn="$(jget "$f" connections)" \
        'BEGIN { print (g == 0 && d == 0 && m == 0 && rp >= 99 && p <= 20 && c <= 0.5 && conn == 1) ? "**yes**" : "**no**" }')
      printf '| %s | %s / %s / %s | %s (%s %%) | %s | %s | %s |\n' "$(label "$rate" "$pub" "$defl")" "$g" "$d" "$m" \
        "$(fmt "$(jget "$f" values_per_s)")" "$(fmt "$rp")" "$(fmt "$p9")" "$(fmt3 "$c")" "$ok"
    done
  fi
  echo
  for sc in "${SCENARIOS[@]}"; do
    read -r rate pub defl <<<"$sc"
    for prod in $PRODUCERS; do
      n="$prod-r$rate-p$pub-deflate-$defl"; f="$RAW/$n.json"
      [[ -f $f ]] || continue
      c=$(jget "$f" connections); [[ "$c" == n/a || "$c" == 1 ]] || echo "- $n: **$c connections** (reconnects)"
      for k in seq_late parse_errors tag_backwards bad_quality other_frames values_without_st; do
        x=$(jget "$f" "$k"); [[ "$x" == n/a || "$x" == 0 ]] || echo "- $n: $k = $x"
      done
      [[ -z "${NOTES[$n]:-}" ]] || echo "- $n: ${NOTES[$n]}"
    done
  done
  echo "- ws-sink's own CPU (cores), fxgate runs: $(for sc in "${SCENARIOS[@]}"; do read -r rate pub defl <<<"$sc"; printf '%s ' "$(v fxgate "$rate" "$pub" "$defl" sink_cpu_cores)"; done)"
  [[ $HAVE_FXGATE == 1 ]] || echo "- fxgate was not built/run: fxgate rows are missing."
} >"$TMP/report.md"

mkdir -p "$RESULTS"
cp "$TMP/report.md" "$RESULTS/ws-latest.md"
cp "$TMP/report.md" "$RAW/report.md"
cat "$TMP/report.md"
log "written to bench/results/ws-latest.md"
