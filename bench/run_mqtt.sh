#!/usr/bin/env bash
# fxgate's MQTT client (tag changes published to a broker, JSON and Sparkplug B) vs. a minimal
# rumqttc publisher (mqtt-push) producing the same stream. See bench/README.md.
#
# Builds fxgate + fxgate-bench (release). For each scenario and each producer:
#   1. starts a fresh mosquitto (/usr/sbin/mosquitto) on a free 127.0.0.1 port (persistence off,
#      max_queued_messages 1000000, max_inflight_messages 0 = no limit, TCP_NODELAY);
#   2. starts mqtt-sink (rumqttc subscriber, the scenario's QoS) on the scenario's topic filter and
#      waits for its SUBACK;
#   3. starts the producer: fxgate with a generated config (a [[simulator]] "Sim" of TAGS random
#      Double tags changing every TAGS × 1000 / RATE ms, a client [[line]] to the broker, and an
#      [[mqtt]] on it with the scenario's [[mqtt.publish]] or [mqtt.sparkplug]), or mqtt-push with
#      the same tags, interval, format, topics and QoS.
#   The sink's window starts WARMUP_S after the first data message and lasts DURATION_S; over it
#   the sink takes the producer's CPU (utime+stime, cores) and RSS (VmRSS peak, 100 ms samples),
#   and mosquitto's CPU. Then fxgate's /metrics (fxgate_mqtt_*) are saved, the producer and the
#   broker are stopped, and the logs are checked for warnings (fxgate) and dropped messages
#   (mosquitto).
# Then fxgate with the same simulator but no [[mqtt]] (and no broker) for the same window: the
# CPU and RSS of the simulator, tag store and OPC UA server alone, so the MQTT client's share shows.
#
# Scenarios (SCENARIOS, space separated):
#   batch[MS]-qN   [[mqtt.publish]] mode = "batch", interval_ms = MS (default BATCH_MS), topic
#                  bench/batch, publish_qos N
#   pertag-qN      [[mqtt.publish]] mode = "per_tag" (each change at once), topic bench/{path},
#                  publish_qos N: RATE messages/s
#   spb[MS]-qN     [mqtt.sparkplug] group G, node gw, tags ["Sim/*"], no primary host,
#                  interval_ms = MS (default 0: a DDATA per change batch of the store), qos N
# Prints a Markdown table (also written to bench/results/mqtt-latest.md); raw JSON, configs and
# logs in bench/results/raw-mqtt-<UTC time>/.
#
# Everything listens on 127.0.0.1 only; every step has a time limit; all processes started here
# are stopped on exit (also on Ctrl-C).
#
# Environment overrides (defaults in brackets):
#   TAGS [10000]  RATE [100000] (changes/s; TAGS × 1000 / RATE must be a whole number of ms ≥ 10)
#   SCENARIOS ["batch-q1 batch10-q1 pertag-q0 pertag-q1 spb-q0 spb-q1"]  BATCH_MS [100]  DURATION_S [30]
#   WARMUP_S [3]  PRODUCERS ["fxgate push"]  NOMQTT [1] (the no-[[mqtt]] run)  PUSH_INFLIGHT [100]
#   MOSQUITTO [/usr/sbin/mosquitto]  SKIP_BUILD [0]  CARGO_TARGET_DIR  RUST_LOG
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"

TAGS="${TAGS:-10000}"
RATE="${RATE:-100000}"
SCENARIOS="${SCENARIOS:-batch-q1 batch10-q1 pertag-q0 pertag-q1 spb-q0 spb-q1}"
BATCH_MS="${BATCH_MS:-100}"
DURATION_S="${DURATION_S:-30}"
WARMUP_S="${WARMUP_S:-3}"
PRODUCERS="${PRODUCERS:-fxgate push}"
NOMQTT="${NOMQTT:-1}"
PUSH_INFLIGHT="${PUSH_INFLIGHT:-100}"
MOSQUITTO="${MOSQUITTO:-/usr/sbin/mosquitto}"
HOST=127.0.0.1

log() { printf '[run_mqtt.sh] %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------------------
# Cleanup: stop exactly the processes started here (by PID).
# ------------------------------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-mqttbench.XXXXXX")"
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
# Checks and build
# ------------------------------------------------------------------------------------------------
(( TAGS * 1000 % RATE == 0 )) || { log "TAGS × 1000 / RATE is not a whole number of ms"; exit 1; }
INTERVAL=$(( TAGS * 1000 / RATE ))
(( INTERVAL >= 10 )) || { log "the simulator interval would be $INTERVAL ms; fxgate's minimum is 10 ms"; exit 1; }
[[ -x "$MOSQUITTO" ]] || { log "no mosquitto at $MOSQUITTO (Debian package mosquitto)"; exit 1; }

HAVE_FXGATE=1
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "building (release): fxgate, fxgate-bench"
  if ! (cd "$ROOT" && timeout 3600 cargo build --release -p fxgate -p fxgate-bench) >&2; then
    log "WARNING: building fxgate failed; trying fxgate-bench alone (fxgate rows will be n/a)"
    (cd "$ROOT" && timeout 3600 cargo build --release -p fxgate-bench) >&2
    HAVE_FXGATE=0
  fi
fi
[[ -x "$BIN/mqtt-sink" && -x "$BIN/mqtt-push" ]] || { log "missing $BIN/mqtt-sink or mqtt-push"; exit 1; }
[[ -x "$BIN/fxgate" ]] || HAVE_FXGATE=0
if [[ $HAVE_FXGATE == 0 ]]; then PRODUCERS="${PRODUCERS//fxgate/}"; fi

# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
# take_port: a free port (lib.sh's free_port) not handed out before in this run.
declare -A TAKEN=()
take_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(free_port) || break
    [[ -n "${TAKEN[$p]:-}" ]] && continue
    TAKEN[$p]=1; echo "$p"; return 0
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

# jget FILE KEY -> raw JSON value (numbers, null, true/false, or string without quotes)
jget() {
  local v
  v=$(grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"') || true
  echo "${v:-n/a}"
}

# parse_sc TOKEN: sets KIND (batch|pertag|spb), IVL (ms) and QOS; returns 1 if malformed.
parse_sc() {
  if [[ $1 =~ ^batch([0-9]*)-q([012])$ ]]; then
    KIND=batch; IVL=${BASH_REMATCH[1]:-$BATCH_MS}; QOS=${BASH_REMATCH[2]}
  elif [[ $1 =~ ^pertag-q([012])$ ]]; then
    KIND=pertag; IVL=0; QOS=${BASH_REMATCH[1]}
  elif [[ $1 =~ ^spb([0-9]*)-q([012])$ ]]; then
    KIND=spb; IVL=${BASH_REMATCH[1]:-0}; QOS=${BASH_REMATCH[2]}
  else
    return 1
  fi
}

describe() { # describe TOKEN: the scenario in words
  parse_sc "$1"
  case $KIND in
    batch) printf 'JSON batch every %s ms, QoS %s' "$IVL" "$QOS" ;;
    pertag) printf 'JSON per tag, QoS %s' "$QOS" ;;
    spb) if [[ $IVL == 0 ]]; then printf 'Sparkplug, DDATA per store batch, QoS %s' "$QOS"; else printf 'Sparkplug, DDATA every %s ms, QoS %s' "$IVL" "$QOS"; fi ;;
  esac
}

# start_broker NAME: a fresh mosquitto; sets BROKER_PID and BROKER_PORT.
start_broker() {
  local name=$1 conf="$TMP/$1-mosquitto.conf"
  BROKER_PORT=$(take_port)
  {
    echo "# written by bench/run_mqtt.sh"
    echo "user $(id -un)"   # as root: stay root (no switch to the user mosquitto, who could not write the log)
    echo "per_listener_settings false"
    echo "allow_anonymous true"
    echo "persistence false"
    echo "log_dest file $RAW/$name-mosquitto.log"
    echo "log_type error"
    echo "log_type warning"
    echo "log_type notice"
    echo "log_type information"
    echo "log_timestamp true"
    echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
    echo "connection_messages true"
    echo "max_queued_messages 1000000"
    echo "max_queued_bytes 0"
    echo "max_inflight_messages 0"
    echo "max_inflight_bytes 0"
    echo "message_size_limit 0"
    echo "set_tcp_nodelay true"
    echo "listener $BROKER_PORT $HOST"
  } >"$conf"
  cp "$conf" "$RAW/$name-mosquitto.conf"
  "$MOSQUITTO" -c "$conf" >"$RAW/$name-mosquitto.out" 2>&1 &
  BROKER_PID=$!; STARTED+=("$BROKER_PID")
  for _ in $(seq 1 100); do port_open "$BROKER_PORT" && return 0; kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
  log "mosquitto did not start:"; tail -n 20 "$RAW/$name-mosquitto.out" "$RAW/$name-mosquitto.log" >&2 || true
  return 1
}

# fx_config FILE [BROKER_PORT SCENARIO]: fxgate's config; without BROKER_PORT there is no
# [[line]]/[[mqtt]] (the simulator, tag store and OPC UA server alone). Sets FX_HTTP.
fx_config() {
  local file=$1 bport=${2:-} sc=${3:-} fx_port
  fx_port=$(take_port); FX_HTTP=$(take_port)
  cat >"$file" <<EOF
[server]
application_name = "fxgate-mqttbench"
host = "$HOST"
port = $fx_port
endpoint_url = "opc.tcp://$HOST:$fx_port/"
allow_none = true
accept_all_certificates = true
anonymous = true

[http]
listen = "$HOST:$FX_HTTP"

[log]
level = "warn,fxgate::topology=info,fxgate_mqtt=info"

[[simulator]]
name = "Sim"
interval_ms = $INTERVAL
  [[simulator.tags]]
  name = "T"
  type = "Double"
  waveform = "random"
  count = $TAGS
EOF
  [[ -n $bport ]] || return 0
  parse_sc "$sc"
  cat >>"$file" <<EOF

[[line]]
name = "broker"
mode = "client"
host = "$HOST"
port = $bport
connect_timeout_ms = 1000
reconnect_min_ms = 200
reconnect_max_ms = 1000

[[mqtt]]
name = "bench"
line = "broker"
client_id = "fxgate-bench"
keep_alive_s = 30
publish_qos = $QOS
EOF
  case $KIND in
    batch) cat >>"$file" <<EOF

  [[mqtt.publish]]
  tags = ["Sim/*"]
  mode = "batch"
  topic = "bench/batch"
  interval_ms = $IVL
EOF
    ;;
    pertag) cat >>"$file" <<EOF

  [[mqtt.publish]]
  tags = ["Sim/*"]
  mode = "per_tag"
  topic = "bench/{path}"
EOF
    ;;
    spb) cat >>"$file" <<EOF

  [mqtt.sparkplug]
  group_id = "G"
  edge_node_id = "gw"
  tags = ["Sim/*"]
  interval_ms = $IVL
  qos = $QOS
EOF
    ;;
  esac
}

# ------------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------------
bench_run_dir raw-mqtt
for sc in $SCENARIOS; do parse_sc "$sc" || { log "unknown scenario \"$sc\" (batch[MS]-qN, pertag-qN, spb[MS]-qN)"; exit 1; }; done
log "run $RUN_ID: $TAGS tags every $INTERVAL ms (= $RATE changes/s); scenarios: $SCENARIOS; producers: $PRODUCERS; window ${DURATION_S} s after ${WARMUP_S} s; load: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A NOTES=()

# run_one PRODUCER SCENARIO
run_one() {
  local prod=$1 sc=$2
  parse_sc "$sc"
  local kind=$KIND ivl=$IVL qos=$QOS
  local name="$prod-$sc"
  local out="$RAW/$name.json" pidfile sink_pid pp limit rc=0 filter
  pidfile="$TMP/$name.pid"
  rm -f "$pidfile"
  limit=$(awk -v w="$WARMUP_S" -v d="$DURATION_S" 'BEGIN { print int(w + d + 90) }')
  log "$name: $(describe "$sc")"

  if ! start_broker "$name"; then
    echo '{"failed":true}' >"$out"; NOTES[$name]="mosquitto did not start; "; return 0
  fi
  case $kind in
    batch|pertag) filter="bench/#" ;;
    spb) filter="spBv1.0/G/#" ;;
  esac

  # The sink (in the background + wait, so that Ctrl-C/TERM reach the trap at once).
  timeout -k 5 "$limit" "$BIN/mqtt-sink" --host "$HOST" --port "$BROKER_PORT" --filter "$filter" \
    --qos "$qos" --warmup-s "$WARMUP_S" --duration-s "$DURATION_S" --wait-s 60 --tags "$TAGS" \
    --interval-ms "$INTERVAL" --peer-pid-file "$pidfile" --broker-pid "$BROKER_PID" \
    --clk-tck "$CLK_TCK" --label "$name" >"$out" 2>"$RAW/$name-sink.log" &
  sink_pid=$!; STARTED+=("$sink_pid")
  if ! wait_log "$sink_pid" mqtt-sink "$RAW/$name-sink.log" "mqtt-sink ready" 20; then
    stop "$sink_pid"; stop "$BROKER_PID"
    echo '{"failed":true}' >"$out"; NOTES[$name]="mqtt-sink did not start; "; return 0
  fi

  if [[ $prod == fxgate ]]; then
    local data="$TMP/$name-data"
    mkdir -p "$data"
    fx_config "$TMP/$name.toml" "$BROKER_PORT" "$sc"
    cp "$TMP/$name.toml" "$RAW/$name-fxgate.toml"
    "$BIN/fxgate" run --config "$TMP/$name.toml" --data-dir "$data" >"$RAW/$name-producer.log" 2>&1 &
    pp=$!
  else
    local mode topic pub
    case $kind in
      batch) mode=batch; topic="bench/batch"; pub=$ivl ;;
      pertag) mode=per-tag; topic="bench/{path}"; pub=0 ;;
      spb) mode=sparkplug; topic=""; pub=$ivl ;;
    esac
    "$BIN/mqtt-push" --host "$HOST" --port "$BROKER_PORT" --tags "$TAGS" --interval-ms "$INTERVAL" \
      --mode "$mode" --publish-interval-ms "$pub" --topic "$topic" --prefix "Sim/T" --qos "$qos" \
      --inflight "$PUSH_INFLIGHT" --group G --node gw --duration-s "$limit" \
      >"$RAW/$name-producer.log" 2>&1 &
    pp=$!
  fi
  STARTED+=("$pp")
  echo "$pp" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"

  wait "$sink_pid" || rc=$?
  forget "$sink_pid"
  local log_lines
  log_lines=$(wc -l <"$RAW/$name-producer.log" 2>/dev/null || echo 0)
  if [[ $prod == fxgate ]]; then
    curl -sS -m 5 "http://$HOST:$FX_HTTP/metrics" 2>/dev/null | grep -E '^fxgate_(mqtt|tag)' >"$RAW/$name-metrics.txt" || true
  fi
  if kill -0 "$pp" 2>/dev/null; then
    stop "$pp"
  else
    local prc=0
    wait "$pp" 2>/dev/null || prc=$?
    forget "$pp"
    NOTES[$name]+="$prod exited early (status $prc); "
    log "$name: $prod exited early (status $prc):"; tail -n 20 "$RAW/$name-producer.log" >&2 || true
  fi
  stop "$BROKER_PID"
  if [[ $rc -ne 0 ]]; then
    log "$name: mqtt-sink FAILED (status $rc, see $RAW/$name-sink.log)"; tail -n 5 "$RAW/$name-sink.log" >&2 || true
    grep -q '^{' "$out" 2>/dev/null || echo '{"failed":true}' >"$out"
    NOTES[$name]+="mqtt-sink failed (status $rc); "
  fi
  # Anything fxgate warned about while the sink ran, apart from the warnings every start of this
  # config gives (None endpoint, trust-all, async-opcua's client config without endpoints).
  if [[ $prod == fxgate ]]; then
    local warns
    warns=$(head -n "$log_lines" "$RAW/$name-producer.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -E ' (WARN|ERROR) ' \
      | grep -vE 'accept_all_certificates = true|allow_none = true|Endpoint config contains no endpoints' || true)
    if [[ -n "$warns" ]]; then
      NOTES[$name]+="fxgate logged $(wc -l <<<"$warns") warnings/errors during the run, first: \`$(head -n 1 <<<"$warns" | cut -c1-240)\`; "
    fi
    local m
    # Dropped messages, and a backlog beyond what may be in flight (64 unacknowledged).
    local x
    x=$(awk 'index($1, "fxgate_mqtt_dropped_messages_total") == 1 { print $2; exit }' "$RAW/$name-metrics.txt" 2>/dev/null)
    [[ -z "$x" || "$x" == 0 ]] || NOTES[$name]+="**fxgate_mqtt_dropped_messages_total = $x** at the end of the window; "
    x=$(awk 'index($1, "fxgate_mqtt_buffered_messages") == 1 { print $2; exit }' "$RAW/$name-metrics.txt" 2>/dev/null)
    if [[ -n "$x" ]] && awk -v x="$x" 'BEGIN { exit !(x > 64) }'; then
      NOTES[$name]+="backlog: fxgate_mqtt_buffered_messages = $x at the end of the window; "
    fi
  fi
  local drops
  drops=$(grep -ciE 'dropp|exceeded|out of memory' "$RAW/$name-mosquitto.log" 2>/dev/null || true)
  [[ -z "$drops" || "$drops" == 0 ]] || NOTES[$name]+="mosquitto logged $drops lines about dropped messages/limits, first: \`$(grep -iE 'dropp|exceeded|out of memory' "$RAW/$name-mosquitto.log" | head -n 1 | cut -c1-200)\`; "
  log "$name: $(jget "$out" values_per_s) values/s ($(jget "$out" received_pct) %), $(jget "$out" messages_per_s) msgs/s, latency p50/p99/max $(jget "$out" latency_p50_ms)/$(jget "$out" latency_p99_ms)/$(jget "$out" latency_max_ms) ms, seq gaps $(jget "$out" seq_gaps), lost (est) $(jget "$out" lost_values_est), ticks skipped $(jget "$out" source_ticks_skipped), $(jget "$out" bytes_per_value) B/value, CPU $(jget "$out" peer_cpu_cores) cores, mosquitto $(jget "$out" broker_cpu_cores)"
}

for sc in $SCENARIOS; do
  for prod in $PRODUCERS; do
    run_one "$prod" "$sc"
  done
done

# fxgate without [[mqtt]]: what the simulator, tag store and OPC UA server cost alone (same window).
NOMQTT_CPU=n/a; NOMQTT_RSS=n/a
if [[ " $PRODUCERS " == *" fxgate "* && "$NOMQTT" == 1 ]]; then
  name="fxgate-nomqtt"
  log "$name: fxgate without [[mqtt]], ${TAGS} tags every ${INTERVAL} ms"
  mkdir -p "$TMP/$name-data"
  fx_config "$TMP/$name.toml"
  cp "$TMP/$name.toml" "$RAW/$name-fxgate.toml"
  "$BIN/fxgate" run --config "$TMP/$name.toml" --data-dir "$TMP/$name-data" >"$RAW/$name.log" 2>&1 &
  pp=$!; STARTED+=("$pp")
  if wait_log "$pp" fxgate "$RAW/$name.log" "fxgate ready" 60; then
    sleep "$WARMUP_S"
    c0=$(ticks "$pp"); peak=$(rss_mib "$pp"); t0=$(date +%s.%N)
    end=$(awk -v t="$t0" -v d="$DURATION_S" 'BEGIN { printf "%.3f", t + d }')
    while awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n < e) }'; do
      r=$(rss_mib "$pp"); peak=$(awk -v a="$peak" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
      sleep 0.1
    done
    c1=$(ticks "$pp"); t1=$(date +%s.%N)
    NOMQTT_CPU=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" -v s0="$t0" -v s1="$t1" 'BEGIN { printf "%.3f", (b - a) / t / (s1 - s0) }')
    NOMQTT_RSS=$peak
    echo "{\"label\":\"$name\",\"cpu_cores\":$NOMQTT_CPU,\"rss_mib_peak\":$NOMQTT_RSS,\"window_s\":$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')}" >"$RAW/$name.json"
    log "$name: CPU $NOMQTT_CPU cores, RSS peak $NOMQTT_RSS MiB"
  fi
  stop "$pp"
fi

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------
v() { jget "$RAW/$1-$2.json" "$3"; }   # v PROD SCENARIO KEY
fmt() { # round numbers for display, thousands separated
  awk -v v="$1" 'BEGIN {
    if (v !~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/) { printf "%s", v; exit }
    if (v == int(v)) s = sprintf("%d", v); else if (v >= 100) s = sprintf("%.0f", v); else if (v >= 10) s = sprintf("%.1f", v); else s = sprintf("%.2f", v)
    i = index(s, "."); if (i) { head = substr(s, 1, i - 1); tail = substr(s, i) } else { head = s; tail = "" }
    sign = ""; if (substr(head, 1, 1) == "-") { sign = "-"; head = substr(head, 2) }
    out = ""; while (length(head) > 3) { out = "," substr(head, length(head) - 2) out; head = substr(head, 1, length(head) - 3) }
    printf "%s%s%s%s", sign, head, out, tail }'
}
fmt3() { awk -v v="$1" 'BEGIN { if (v ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/) printf "%.3f", v; else printf "%s", v }'; }
mib() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.1f", v / 1024; else printf "%s", v }'; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else printf "–" }'
}
failed() { [[ ! -f "$RAW/$1-$2.json" ]] || grep -q '"failed":true' "$RAW/$1-$2.json"; }

prod_table() { # prod_table PROD
  local p=$1 sc
  echo "| Scenario | values/s (% of offered) | msgs/s | values/msg | B/value on the wire (payload) | latency p50 / p99 / max (ms) | seq gaps | lost values, est. (missed / source ticks skipped) | dup. values | CPU (cores) | RSS peak (MiB) | mosquitto CPU (cores) | sink CPU (cores) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for sc in $SCENARIOS; do
    if failed "$p" "$sc"; then
      echo "| $(describe "$sc") | **failed** | | | | | | | | | | | |"; continue
    fi
    printf '| %s | %s (%s) | %s | %s | %s (%s) | %s / %s / %s | %s | %s (%s / %s) | %s | %s | %s | %s | %s |\n' \
      "$(describe "$sc")" \
      "$(fmt "$(v "$p" "$sc" values_per_s)")" "$(fmt "$(v "$p" "$sc" received_pct)")" \
      "$(fmt "$(v "$p" "$sc" messages_per_s)")" "$(fmt "$(v "$p" "$sc" values_per_message)")" \
      "$(fmt "$(v "$p" "$sc" bytes_per_value)")" "$(fmt "$(v "$p" "$sc" payload_bytes_per_value)")" \
      "$(fmt "$(v "$p" "$sc" latency_p50_ms)")" "$(fmt "$(v "$p" "$sc" latency_p99_ms)")" "$(fmt "$(v "$p" "$sc" latency_max_ms)")" \
      "$(v "$p" "$sc" seq_gaps)" \
      "$(fmt "$(v "$p" "$sc" lost_values_est)")" "$(fmt "$(v "$p" "$sc" missed_values_est)")" "$(v "$p" "$sc" source_ticks_skipped)" \
      "$(fmt "$(v "$p" "$sc" duplicate_values)")" \
      "$(fmt3 "$(v "$p" "$sc" peer_cpu_cores)")" "$(mib "$(v "$p" "$sc" peer_rss_kb_peak)")" \
      "$(fmt3 "$(v "$p" "$sc" broker_cpu_cores)")" "$(fmt3 "$(v "$p" "$sc" sink_cpu_cores)")"
  done
}

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(cd "$ROOT" && [[ -n "$(git status --porcelain 2>/dev/null)" ]] && echo " (+ uncommitted changes)" || true)
CPU_MODEL=$(awk -F: '/model name/ { gsub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
MOSQ_VER=$("$MOSQUITTO" -h 2>/dev/null | awk '/^mosquitto version/ { print $3; exit }' || true)
{
  echo "# fxgate MQTT client vs mqtt-push — $RUN_ID"
  echo
  echo "git $GIT_REV$GIT_DIRTY · $(nproc) CPU ($CPU_MODEL) · mosquitto ${MOSQ_VER:-?} (a fresh broker per run) · $TAGS random Double tags every $INTERVAL ms = $(fmt "$RATE") changes/s · window ${DURATION_S} s after ${WARMUP_S} s warm-up · broker, sink and producer on the same host, loopback · raw JSON and logs: bench/results/raw-mqtt-$RUN_ID/"
  echo
  echo "Latency = mqtt-sink receipt − the value's source timestamp (written when the simulator put the value in the tag store; ms resolution, truncated: up to +1 ms). B/value on the wire = PUBLISH packets broker → sink (fixed header + topic + packet id + payload; PUBACKs not counted) ÷ values. Missed values: per-tag source-timestamp steps ≥ 1.5 intervals, round(step/interval) − 1 each. Lost values (est.): of those, the ones whose tick exists (another tag delivered that source timestamp); the rest are source ticks skipped (the producer's timer was late: fxgate's simulator and mqtt-push skip missed ticks — or a whole message lost, which a seq gap shows). Seq gaps: JSON batch \`seq\`, Sparkplug \`seq\` (mod 256): messages lost. % of offered = values ÷ (tags × window ÷ interval). CPU = utime+stime over the window (1.0 = one core); RSS = VmRSS peak (100 ms samples)."
  if [[ " $PRODUCERS " == *" fxgate "* ]]; then
    echo
    echo "## fxgate → mosquitto → mqtt-sink"
    echo
    prod_table fxgate
  fi
  if [[ " $PRODUCERS " == *" push "* ]]; then
    echo
    echo "## mqtt-push (rumqttc, no gateway) → mosquitto → mqtt-sink"
    echo
    prod_table push
  fi
  if [[ " $PRODUCERS " == *" fxgate "* && " $PRODUCERS " == *" push "* ]]; then
    echo
    echo "## fxgate / mqtt-push"
    echo
    echo "fxgate without [[mqtt]] (simulator, tag store, OPC UA server): CPU $(fmt3 "$NOMQTT_CPU") cores, RSS peak $NOMQTT_RSS MiB."
    echo
    echo "| Scenario | CPU fxgate / push (cores) | CPU ratio | MQTT client's share of fxgate's CPU (fxgate − no-MQTT) | share / push | RSS fxgate / push (MiB) | p99 fxgate / push (ms) | B/value fxgate / push | mosquitto CPU fxgate / push runs |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for sc in $SCENARIOS; do
      fc=$(v fxgate "$sc" peer_cpu_cores); pc=$(v push "$sc" peer_cpu_cores)
      share=$(awk -v a="$fc" -v b="$NOMQTT_CPU" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.3f", a - b; else printf "n/a" }')
      printf '| %s | %s / %s | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s |\n' "$(describe "$sc")" \
        "$(fmt3 "$fc")" "$(fmt3 "$pc")" "$(ratio "$fc" "$pc")" "$share" "$(ratio "$share" "$pc")" \
        "$(mib "$(v fxgate "$sc" peer_rss_kb_peak)")" "$(mib "$(v push "$sc" peer_rss_kb_peak)")" \
        "$(fmt "$(v fxgate "$sc" latency_p99_ms)")" "$(fmt "$(v push "$sc" latency_p99_ms)")" \
        "$(fmt "$(v fxgate "$sc" bytes_per_value)")" "$(fmt "$(v push "$sc" bytes_per_value)")" \
        "$(fmt3 "$(v fxgate "$sc" broker_cpu_cores)")" "$(fmt3 "$(v push "$sc" broker_cpu_cores)")"
    done
  fi
  if [[ " $PRODUCERS " == *" fxgate "* ]]; then
    echo
    echo "## Goals (issue 16): 0 lost, p99 ≤ 20 ms, ≤ 0.5 core at $(fmt "$RATE") changes/s, ≤ 1.5× the baseline's CPU"
    echo
    echo "CPU ÷ push CPU compares whole processes (fxgate's includes its simulator, tag store and OPC UA server); the MQTT client's share (fxgate − the no-[[mqtt]] run) ÷ push CPU is shown for context. \"all met\" uses the whole-process ratio."
    echo
    echo "| fxgate run | 0 lost (seq gaps / lost est. / received %) | p99 (ms) | CPU (cores) | CPU ÷ push CPU | share ÷ push CPU | all met |"
    echo "|---|---|---:|---:|---:|---:|---|"
    for sc in $SCENARIOS; do
      f="$RAW/fxgate-$sc.json"
      if failed fxgate "$sc"; then echo "| $(describe "$sc") | failed | | | | | **no** |"; continue; fi
      g=$(jget "$f" seq_gaps); m=$(jget "$f" lost_values_est); rp=$(jget "$f" received_pct)
      p9=$(jget "$f" latency_p99_ms); c=$(jget "$f" peer_cpu_cores); pc=$(v push "$sc" peer_cpu_cores)
      r=$(ratio "$c" "$pc")
      sr=$(ratio "$(awk -v a="$c" -v b="$NOMQTT_CPU" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.3f", a - b; else printf "n/a" }')" "$pc")
      ok=$(awk -v g="$g" -v m="$m" -v rp="$rp" -v p="$p9" -v c="$c" -v r="$r" -v conn="$(jget "$f" connections)" \
        'BEGIN { print (g == 0 && m == 0 && rp >= 99 && p <= 20 && c <= 0.5 && r != "–" && r <= 1.5 && conn == 1) ? "**yes**" : "**no**" }')
      printf '| %s | %s / %s / %s %% | %s | %s | %s | %s | %s |\n' "$(describe "$sc")" "$g" "$(fmt "$m")" "$(fmt "$rp")" \
        "$(fmt "$p9")" "$(fmt3 "$c")" "$r" "$sr" "$ok"
    done
  fi
  echo
  for sc in $SCENARIOS; do
    for prod in $PRODUCERS; do
      n="$prod-$sc"; f="$RAW/$n.json"
      [[ -f $f ]] || continue
      c=$(jget "$f" connections); [[ "$c" == n/a || "$c" == 1 ]] || echo "- $n: **$c connections** (reconnects)"
      for k in seq_out_of_order tag_backwards bad_quality values_without_st historical_values parse_errors subscribe_refused deaths; do
        x=$(jget "$f" "$k"); [[ "$x" == n/a || "$x" == 0 ]] || echo "- $n: $k = $x"
      done
      [[ -z "${NOTES[$n]:-}" ]] || echo "- $n: ${NOTES[$n]}"
    done
  done
  [[ $HAVE_FXGATE == 1 ]] || echo "- fxgate was not built/run: fxgate rows are missing."
} >"$TMP/report.md"

mkdir -p "$RESULTS"
cp "$TMP/report.md" "$RESULTS/mqtt-latest.md"
cp "$TMP/report.md" "$RAW/report.md"
cat "$TMP/report.md"
log "written to bench/results/mqtt-latest.md"
