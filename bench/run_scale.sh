#!/usr/bin/env bash
# A million tags on one box (issue 19): fxgate against async-opcua's minimal server
# (`peer-server`, every tag a node of its in-memory address space) with the same tags, side by
# side in one run. See bench/README.md, "Scale".
#
# 1. Start and memory: for each tag count in COUNTS, each server alone: time from launch to its
#    ready line, then RSS after SETTLE_S (values changing every 1 s, no client).
# 2. At TAGS (100,000), each server alone, the same load client (fxgate-load):
#    browse of the folder with continuation points (ms, requests), read 1,000 tags per request
#    (READ_S), and one subscription with every tag monitored at 1 s (SUB_S).
#
# Environment: COUNTS ["10000 100000 1000000"]  TAGS [100000]  SETTLE_S [5]  READ_S [10]
# SUB_S [30]  SKIP_BUILD [0]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
RESULTS="$ROOT/bench/results"
COUNTS="${COUNTS:-10000 100000 1000000}"
TAGS="${TAGS:-100000}"
SETTLE_S="${SETTLE_S:-5}"
READ_S="${READ_S:-10}"
SUB_S="${SUB_S:-30}"
HOST=127.0.0.1

log() { printf '[run_scale.sh] %s\n' "$*" >&2; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-scale.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() { bench_cleanup "$?"; }
bench_traps

bench_build

bench_run_dir scale


# start SERVER COUNT: starts it, waits for its ready line; sets SPID, SPORT, READY_S.
start() {
  local s=$1 n=$2 t0 re
  SPORT=$(free_port)
  local dir="$TMP/$s-$n"
  mkdir -p "$dir"
  t0=$(date +%s.%N)
  if [[ $s == peer ]]; then
    "$BIN/peer-server" --host "$HOST" --port "$SPORT" --tags "$n" --interval-ms 1000 --pki-dir "$dir/pki" \
      >"$dir/log" 2>&1 &
    re="peer-server ready"
  else
    sim_fxgate_config "$dir/fxgate.toml" "$SPORT" "$(free_port)" "$n"
    "$BIN/fxgate" run --config "$dir/fxgate.toml" --data-dir "$dir/data" >"$dir/log" 2>&1 &
    re="fxgate ready"
  fi
  SPID=$!; STARTED+=("$SPID")
  for _ in $(seq 1 1200); do
    grep -qE "$re" "$dir/log" 2>/dev/null && break
    kill -0 "$SPID" 2>/dev/null || { log "$s exited at start"; tail -n 20 "$dir/log" >&2; return 1; }
    sleep 0.05
  done
  READY_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
}

stop() { # stop PID
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

# 1. start and memory
declare -A READY=() RSS=()
for n in $COUNTS; do
  for s in peer fxgate; do
    start "$s" "$n"
    sleep "$SETTLE_S"
    READY[$s-$n]=$READY_S
    RSS[$s-$n]=$(rss_mib "$SPID")
    log "$s, $n tags: ready after ${READY_S} s, RSS ${RSS[$s-$n]} MiB"
    stop "$SPID"
  done
done

# 2. browse, read and subscribe at TAGS
load() { # load SERVER NAME ARGS...
  local s=$1 name=$2; shift 2
  timeout -k 5 300 "$BIN/fxgate-load" --url "opc.tcp://$HOST:$SPORT/" --label "$s" --pki-dir "$TMP/client-pki" \
    --server-pid "$SPID" --browse-path Objects/Demo "$@" >"$RAW/$s-$name.json" 2>"$RAW/$s-$name.log" \
    || { log "$s $name failed"; tail -n 5 "$RAW/$s-$name.log" >&2; echo '{"failed":true}' >"$RAW/$s-$name.json"; }
}
for s in peer fxgate; do
  start "$s" "$TAGS"
  sleep "$SETTLE_S"
  load "$s" read1000 --scenario read --batch 1000 --concurrency 1 --duration-s "$READ_S" --warmup-s 2
  load "$s" sub --scenario subscribe --items "$TAGS" --sampling-ms 1000 --publishing-ms 1000 \
    --source-interval-ms 1000 --duration-s "$SUB_S" --warmup-s 3 --max-notifications-per-publish 10000
  cp "$TMP/$s-$TAGS/log" "$RAW/$s-server.log"
  stop "$SPID"
done

# report
jget() { local v; v=$(grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"') || true; echo "${v:-n/a}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else printf "–" }'; }
per_tag() { # bytes per tag from the slope between the two largest counts
  local s=$1 a b
  a=$(echo "$COUNTS" | awk '{print $(NF-1)}'); b=$(echo "$COUNTS" | awk '{print $NF}')
  awk -v ra="${RSS[$s-$a]}" -v rb="${RSS[$s-$b]}" -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (rb - ra) * 1048576 / (b - a) }'
}
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$3" "$2")"; }
srow() { row "$1" "$(jget "$RAW/peer-$2.json" "$3")" "$(jget "$RAW/fxgate-$2.json" "$3")"; }
GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# fxgate vs async-opcua peer at scale — $RUN_ID"
  echo
  echo "git $GIT_REV · $(nproc) CPU · Double sine tags changing every 1 s · security None · loopback · raw: bench/results/scale-$RUN_ID/"
  echo
  echo "| Metric | peer | fxgate | fxgate/peer |"
  echo "|---|---:|---:|---:|"
  for n in $COUNTS; do
    row "$n tags — ready (s)" "${READY[peer-$n]}" "${READY[fxgate-$n]}"
    row "$n tags — RSS (MiB)" "${RSS[peer-$n]}" "${RSS[fxgate-$n]}"
  done
  row "bytes per tag (slope of the two largest counts)" "$(per_tag peer)" "$(per_tag fxgate)"
  srow "browse of the $TAGS-tag folder (ms)" read1000 browse_ms
  srow "browse — requests (Browse + BrowseNext)" read1000 browse_requests
  srow "read 1,000/request — values/s" read1000 values_per_s
  srow "read 1,000 — latency p50 (µs)" read1000 latency_p50_us
  srow "read 1,000 — latency p99 (µs)" read1000 latency_p99_us
  srow "read 1,000 — server CPU (%)" read1000 server_cpu_percent
  srow "subscribe $TAGS @ 1 s — items created" sub items_created
  srow "subscribe — create (ms)" sub create_ms
  srow "subscribe — notifications/s" sub values_per_s
  srow "subscribe — expected notifications" sub expected_notifications
  srow "subscribe — notifications" sub notifications
  srow "subscribe — lost (proven)" sub lost
  srow "subscribe — silent items" sub silent_items
  srow "subscribe — value age p50 (µs)" sub latency_p50_us
  srow "subscribe — value age p99 (µs)" sub latency_p99_us
  srow "subscribe — server CPU (%)" sub server_cpu_percent
  srow "subscribe — server RSS idle (kB)" sub server_rss_kb_idle
  srow "subscribe — server RSS peak (kB)" sub server_rss_kb_peak
} >"$RAW/report.md"
cat "$RAW/report.md"
log "written to $RAW/report.md"
