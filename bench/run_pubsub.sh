#!/usr/bin/env bash
# OPC UA PubSub (UADP over UDP) between two fxgate processes on loopback, against the physical
# floor. See bench/README.md ("PubSub").
#
# 1. fxgate P publishes CONNECTIONS [[pubsub]] connections, each one writer group of one
#    DataValue-encoded writer with FIELDS Double tags, every INTERVAL_MS, to a multicast group
#    (one port per connection; the tags: a simulator of CONNECTIONS*FIELDS sine tags moving every
#    INTERVAL_MS). fxgate S has one [[pubsub]] connection per port with one reader.
#    a. MEASURE_S window: uadp-probe capture, joined to the same groups, measures the publish
#       interval jitter as it arrives (|inter-arrival − interval|), lost NetworkMessages (gaps in
#       the group sequence numbers) and late ones; CPU and RSS of P and S; S's received,
#       decode-error, dropped and timeout counters (/metrics) against P's sent.
#    b. SAMPLE_S: bench/pubsub_latency.py reads S's reader tags over OPC UA: ServerTimestamp −
#       SourceTimestamp of each new value = the publisher's tag-store write → the subscriber's
#       tag-store update (both stamps from this host's clock).
# 2. The floor: uadp-probe floor-send / floor-recv move datagrams of the same size at the same
#    interval over the same number of multicast sockets: latency (send → receive), jitter,
#    losses, CPU and RSS of each end.
# 3. P's simulator alone (P's configuration without [[pubsub]]): its CPU, to separate the
#    PubSub share of P's.
# Prints a Markdown table (also bench/results/pubsub-latest.md); raw JSON in
# bench/results/raw-pubsub-<UTC>/. Every process started here is stopped on exit.
#
# Environment (defaults): CONNECTIONS [100] FIELDS [16] INTERVAL_MS [10] MEASURE_S [30]
#   WARMUP_S [5] SAMPLE_S [10] SKIP_BUILD [0] CARGO_TARGET_DIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"
CONNECTIONS="${CONNECTIONS:-100}"
FIELDS="${FIELDS:-16}"
INTERVAL_MS="${INTERVAL_MS:-10}"
MEASURE_S="${MEASURE_S:-30}"
WARMUP_S="${WARMUP_S:-5}"
SAMPLE_S="${SAMPLE_S:-10}"
HOST=127.0.0.1
GROUP=239.255.60.1
FLOOR_GROUP=239.255.61.1

log() { printf '[run_pubsub.sh] %s\n' "$*" >&2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-bench-pubsub.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() { bench_cleanup $?; }
bench_traps

PY="$ROOT/.venv/bin/python"
if ! "$PY" -c 'import asyncua' 2>/dev/null; then
  log "preparing $ROOT/.venv with asyncua"
  [[ -x "$PY" ]] || python3 -m venv "$ROOT/.venv"
  "$PY" -m pip install --quiet asyncua==2.1.0
fi
bench_build
for b in fxgate uadp-probe; do [[ -x "$BIN/$b" ]] || { log "missing $BIN/$b"; exit 1; }; done

metric_sum() { # metric_sum HTTP_PORT NAME: the sum over every label set
  curl -sS -m 5 "http://$HOST:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 ~ "^"n"(\\{|$)" {s += $2} END {printf "%d", s}'
}
wait_log() { for _ in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); v=d
for k in sys.argv[2].split('.'): v = v.get(k) if isinstance(v, dict) else None
print('n/a' if v is None else v)" "$1" "$2"; }

bench_run_dir raw-pubsub
GIT="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo n/a)"
log "run $RUN_ID (git $GIT): $CONNECTIONS connections x $FIELDS fields every $INTERVAL_MS ms; load: $(cut -d' ' -f1-3 /proc/loadavg)"
FIRST_PORT=$(( 40000 + RANDOM % 10000 ))

header() { # header PORT HTTP_PORT NAME
  cat <<EOF
[server]
application_name = "fxgate-bench-$3"
host = "$HOST"
port = $1
endpoint_url = "opc.tcp://$HOST:$1/"
allow_none = true
accept_all_certificates = true
anonymous = true

[http]
listen = "$HOST:$2"

[log]
level = "warn,fxgate::topology=info"
EOF
}

publisher_config() { # publisher_config FILE PORT HTTP_PORT
  {
    header "$2" "$3" pub
    cat <<EOF

[[simulator]]
name = "Src"
interval_ms = $INTERVAL_MS
  [[simulator.tags]]
  name = "F"
  type = "Double"
  waveform = "sine"
  count = $(( CONNECTIONS * FIELDS ))
EOF
    for i in $(seq 0 $(( CONNECTIONS - 1 ))); do
      local tags="" k
      for k in $(seq 0 $(( FIELDS - 1 ))); do tags+="\"Src/F$(( i * FIELDS + k ))\", "; done
      cat <<EOF

[[pubsub]]
name = "P$i"
publisher_id = $(( 1000 + i ))
interface = "$HOST"
[[pubsub.writer_group]]
name = "WG"
writer_group_id = 1
publishing_interval_ms = $INTERVAL_MS
destination = "opc.udp://$GROUP:$(( FIRST_PORT + i ))"
[[pubsub.writer_group.writer]]
name = "W"
data_set_writer_id = 1
encoding = "datavalue"
tags = [${tags%, }]
EOF
    done
  } >"$1"
}

subscriber_config() { # subscriber_config FILE PORT HTTP_PORT
  {
    header "$2" "$3" sub
    local fields="" k i
    for k in $(seq 0 $(( FIELDS - 1 ))); do fields+="{ name = \"F$k\", type = \"Double\" }, "; done
    for i in $(seq 0 $(( CONNECTIONS - 1 ))); do
      cat <<EOF

[[pubsub]]
name = "S$i"
listen = "opc.udp://$GROUP:$(( FIRST_PORT + i ))"
interface = "$HOST"
[[pubsub.reader]]
name = "In$i"
publisher_id = $(( 1000 + i ))
writer_group_id = 1
data_set_writer_id = 1
message_receive_timeout_ms = $(( INTERVAL_MS * 10 ))
fields = [${fields%, }]
EOF
    done
  } >"$1"
}

# start NAME CONFIG_FN: sets PID_<NAME>, PORT_<NAME>, HTTP_<NAME>.
start() {
  local name=$1 port http dir
  port=$(free_port); http=$(free_port)
  dir="$TMP/$name"; mkdir -p "$dir"
  "$2" "$dir/fxgate.toml" "$port" "$http"
  "$BIN/fxgate" run --config "$dir/fxgate.toml" --data-dir "$dir/data" 2>"$dir/stderr.log" &
  local pid=$!
  STARTED+=("$pid")
  wait_log "$dir/stderr.log" "fxgate ready" || { log "$name not ready:"; tail -5 "$dir/stderr.log" >&2; exit 1; }
  printf -v "PID_$name" '%s' "$pid"; printf -v "PORT_$name" '%s' "$port"; printf -v "HTTP_$name" '%s' "$http"
}

start sub subscriber_config
start pub publisher_config
log "both ready; warm-up ${WARMUP_S} s"
sleep "$WARMUP_S"

# 1a. The window.
sent0=$(metric_sum "$HTTP_pub" fxgate_pubsub_sent_network_messages_total)
tmo0=$(metric_sum "$HTTP_sub" fxgate_pubsub_reader_timeouts_total)
dec0=$(metric_sum "$HTTP_sub" fxgate_pubsub_decode_errors_total)
drop0=$(metric_sum "$HTTP_sub" fxgate_pubsub_dropped_messages_total)
recv0=$(metric_sum "$HTTP_sub" fxgate_pubsub_received_network_messages_total)
tp0=$(ticks "$PID_pub"); ts0=$(ticks "$PID_sub")
"$BIN/uadp-probe" capture --group "$GROUP" --first-port "$FIRST_PORT" --connections "$CONNECTIONS" \
  --interval-ms "$INTERVAL_MS" --seconds "$MEASURE_S" >"$RAW/capture.json" &
CAP=$!; STARTED+=("$CAP")
peak_p=0; peak_s=0
for _ in $(seq 1 $(( MEASURE_S * 2 ))); do
  sleep 0.5
  r=$(rss_mib "$PID_pub"); awk -v a="$r" -v b="$peak_p" 'BEGIN{exit !(a>b)}' && peak_p=$r
  r=$(rss_mib "$PID_sub"); awk -v a="$r" -v b="$peak_s" 'BEGIN{exit !(a>b)}' && peak_s=$r
done
tp1=$(ticks "$PID_pub"); ts1=$(ticks "$PID_sub")
sent1=$(metric_sum "$HTTP_pub" fxgate_pubsub_sent_network_messages_total)
recv1=$(metric_sum "$HTTP_sub" fxgate_pubsub_received_network_messages_total)
wait "$CAP" || true; forget "$CAP"
dec=$(( $(metric_sum "$HTTP_sub" fxgate_pubsub_decode_errors_total) - dec0 ))
drop=$(( $(metric_sum "$HTTP_sub" fxgate_pubsub_dropped_messages_total) - drop0 ))
tmo=$(( $(metric_sum "$HTTP_sub" fxgate_pubsub_reader_timeouts_total) - tmo0 ))
CLK=$(getconf CLK_TCK)
cpu() { awk -v a="$1" -v b="$2" -v c="$CLK" -v s="$MEASURE_S" 'BEGIN{printf "%.3f", (b-a)/c/s}'; }
cpu_p=$(cpu "$tp0" "$tp1"); cpu_s=$(cpu "$ts0" "$ts1")

# 1b. Latency through both stores.
log "latency sampling ${SAMPLE_S} s"
"$PY" "$ROOT/bench/pubsub_latency.py" "opc.tcp://$HOST:$PORT_sub/" "$CONNECTIONS" "$FIELDS" "$SAMPLE_S" >"$RAW/latency.json"
kill -TERM "$PID_pub" "$PID_sub" 2>/dev/null || true
wait "$PID_pub" "$PID_sub" 2>/dev/null || true
forget "$PID_pub"; forget "$PID_sub"

# 2. The floor, the same datagram size.
SIZE=$(jget "$RAW/capture.json" mean_datagram_bytes)
log "floor: $CONNECTIONS sockets, $SIZE-byte datagrams every $INTERVAL_MS ms"
"$BIN/uadp-probe" floor-recv --group "$FLOOR_GROUP" --first-port "$FIRST_PORT" --connections "$CONNECTIONS" \
  --interval-ms "$INTERVAL_MS" --seconds $(( MEASURE_S + 2 )) >"$RAW/floor-recv.json" &
FR=$!; STARTED+=("$FR")
sleep 0.5
"$BIN/uadp-probe" floor-send --group "$FLOOR_GROUP" --first-port "$FIRST_PORT" --connections "$CONNECTIONS" \
  --interval-ms "$INTERVAL_MS" --seconds "$MEASURE_S" --size "$SIZE" >"$RAW/floor-send.json" &
FS=$!; STARTED+=("$FS")
sleep 1
tf0=$(ticks "$FS"); tr0=$(ticks "$FR"); rss_fs=$(rss_mib "$FS"); rss_fr=$(rss_mib "$FR")
sleep $(( MEASURE_S - 2 ))
tf1=$(ticks "$FS"); tr1=$(ticks "$FR")
cpu_fs=$(awk -v a="$tf0" -v b="$tf1" -v c="$CLK" -v s=$(( MEASURE_S - 2 )) 'BEGIN{printf "%.3f", (b-a)/c/s}')
cpu_fr=$(awk -v a="$tr0" -v b="$tr1" -v c="$CLK" -v s=$(( MEASURE_S - 2 )) 'BEGIN{printf "%.3f", (b-a)/c/s}')
wait "$FS" || true; forget "$FS"; wait "$FR" || true; forget "$FR"
floor_sent=$(jget "$RAW/floor-send.json" sent)

# 3. The publisher's simulator alone (the same tags moving, no [[pubsub]]): its share of P's CPU.
sim_only_config() { # sim_only_config FILE PORT HTTP_PORT
  publisher_config "$1" "$2" "$3"
  awk '/^\[\[pubsub\]\]/ {exit} {print}' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}
start sim sim_only_config
sleep "$WARMUP_S"
tq0=$(ticks "$PID_sim"); sleep "$MEASURE_S"; tq1=$(ticks "$PID_sim")
cpu_sim=$(cpu "$tq0" "$tq1"); rss_sim=$(rss_mib "$PID_sim")
kill -TERM "$PID_sim" 2>/dev/null || true; wait "$PID_sim" 2>/dev/null || true; forget "$PID_sim"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 > 0 && a != "n/a") printf "%.2f", a/b; else print "n/a"}'; }
OUT="$RESULTS/pubsub-latest.md"
{
  echo "### run $RUN_ID (git $GIT): $CONNECTIONS connections × $FIELDS Double fields every $INTERVAL_MS ms, loopback multicast"
  echo
  echo "| | fxgate P → fxgate S | floor (uadp-probe pair) | fxgate/floor |"
  echo "|---|---:|---:|---:|"
  echo "| datagram size | $SIZE B | $SIZE B | |"
  echo "| NetworkMessages in ${MEASURE_S} s | sent $(( sent1 - sent0 )), S received $(( recv1 - recv0 )), probe $(jget "$RAW/capture.json" messages) | sent $floor_sent, received $(jget "$RAW/floor-recv.json" messages) | |"
  echo "| lost / late (probe) | $(jget "$RAW/capture.json" lost) / $(jget "$RAW/capture.json" late) | $(jget "$RAW/floor-recv.json" lost) / $(jget "$RAW/floor-recv.json" late) | |"
  echo "| S decode errors / dropped / reader timeouts in the window | $dec / $drop / $tmo | | |"
  for p in p50 p99 max; do
    a=$(jget "$RAW/capture.json" "jitter_ms.$p"); b=$(jget "$RAW/floor-recv.json" "jitter_ms.$p")
    echo "| interval jitter $p | $a ms | $b ms | $(ratio "$a" "$b") |"
  done
  for p in p50 p99 max; do
    a=$(jget "$RAW/latency.json" "latency_ms.$p"); b=$(jget "$RAW/floor-recv.json" "latency_ms.$p")
    echo "| latency $p (P store → S store; floor: send → receive) | $a ms | $b ms | |"
  done
  for p in p50 p99; do
    echo "| age $p of a message's first value on arrival (probe; repeats included) | $(jget "$RAW/capture.json" "latency_ms.$p") ms | | |"
  done
  echo "| latency samples | $(jget "$RAW/latency.json" samples) (bad reads $(jget "$RAW/latency.json" bad)) | $(jget "$RAW/floor-recv.json" latency_samples) | |"
  echo "| CPU publisher (P includes its simulator) | $cpu_p core | $cpu_fs core | $(ratio "$cpu_p" "$cpu_fs") |"
  echo "| CPU of P's simulator alone (same tags, no [[pubsub]]) / P less that | $cpu_sim / $(awk -v a="$cpu_p" -v b="$cpu_sim" 'BEGIN{printf "%.3f", a-b}') core | | $(ratio "$(awk -v a="$cpu_p" -v b="$cpu_sim" 'BEGIN{printf "%.3f", a-b}')" "$cpu_fs") |"
  echo "| CPU subscriber | $cpu_s core | $cpu_fr core | $(ratio "$cpu_s" "$cpu_fr") |"
  echo "| peak RSS publisher / subscriber | $peak_p / $peak_s MiB | $rss_fs / $rss_fr MiB | |"
  echo "| RSS of P's simulator alone | $rss_sim MiB | | |"
} | tee "$OUT"
