#!/usr/bin/env bash
# fxgate aggregation benchmark: the same upstream OPC UA server read and subscribed directly and
# through fxgate (`[[upstream]]`). See bench/README.md, section "Aggregation".
#
# One upstream, UPSTREAM=peer (the default): peer-server (async-opcua's minimal server, TAGS
# Double variables ns=<urn:fxgate-bench:peer>;s=Demo/T<n>, all changing every INTERVAL_MS);
# UPSTREAM=fxgate: a second fxgate whose simulator holds the same tags (ns=<urn:fxgate:tags>;
# s=Demo/T<n>, sine, every INTERVAL_MS). The peer cannot deliver 100,000 changes/s to any
# client; fxgate's server can, so UPSTREAM=fxgate measures the aggregation at that scale.
# fxgate aggregates the upstream as "up" (namespace "up/<its namespace>", same identifiers).
# Security None on every hop (client → upstream, client → fxgate, fxgate → upstream), loopback,
# one host.
#
# Measured, one fxgate-load run each (reads: READ_S window after WARMUP_S, concurrency 1;
# subscriptions: SUB_S window after SUB_WARMUP_S), in this order:
#   direct     read 1 node / 1,000 nodes per request, and subscribe TAGS items @ INTERVAL_MS
#              sampling/publishing, straight on the upstream (fxgate idle)
#   forwarded  the reads through fxgate with maxAge 0
#   cached     the reads through fxgate with maxAge CACHED_MAX_AGE_MS, cache filled right before
#   subscribe  SUB_SMALL_ITEMS items (diagnostic), then TAGS items, through fxgate
#   monitored  the cached reads while another client keeps all TAGS nodes monitored through
#              fxgate (so that fxgate's shared upstream subscription keeps the cache current)
# CPU and RSS of fxgate and of the upstream are sampled in every window, plus the CPU of every
# other process on the host and the CPU stolen by the hypervisor (disturbances are flagged).
# Each fxgate run also records fxgate's upstream request and cache-hit counters (/metrics), so
# "forwarded" and "cached" are shown to be what they claim.
#
# Results: bench/results/aggregation-<UTC time>.json and .md, raw JSON lines and logs in
# bench/results/raw-agg-<UTC time>/.
#
# Environment overrides (defaults in brackets):
#   UPSTREAM [peer] (peer | fxgate)  TAGS [10000]  INTERVAL_MS [100]  READ_S [20]  WARMUP_S [2]  SUB_S [30]  SUB_WARMUP_S [3]
#   IDLE_S [3]  CACHED_MAX_AGE_MS [60000]  SUB_SMALL_ITEMS [500] (0 = skip)  SUB_SMALL_S [10]
#   SUB_QUEUE [fxgate-load's default: ceil(publishing/sampling)+1 = 2] (monitored-item queue size)
#   SKIP_BUILD [0]  CARGO_TARGET_DIR  RUST_LOG  FXGATE [$BIN/fxgate] (the aggregating fxgate under
#   test, for an A/B of two versions; an fxgate upstream is always $BIN/fxgate)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"

TAGS="${TAGS:-10000}"
INTERVAL_MS="${INTERVAL_MS:-100}"
READ_S="${READ_S:-20}"
WARMUP_S="${WARMUP_S:-2}"
SUB_S="${SUB_S:-30}"
SUB_WARMUP_S="${SUB_WARMUP_S:-3}"
IDLE_S="${IDLE_S:-3}"
CACHED_MAX_AGE_MS="${CACHED_MAX_AGE_MS:-60000}"
SUB_SMALL_ITEMS="${SUB_SMALL_ITEMS:-500}"
SUB_SMALL_S="${SUB_SMALL_S:-10}"
HOST=127.0.0.1
UP_NAME=up
UPSTREAM="${UPSTREAM:-peer}"
case "$UPSTREAM" in
  peer) UP_NS="urn:fxgate-bench:peer"; UP_LABEL="peer-server" ;;   # peer-server's namespace
  fxgate) UP_NS="urn:fxgate:tags"; UP_LABEL="fxgate (simulator)" ;; # fxgate's tag namespace
  *) echo "UPSTREAM must be peer or fxgate" >&2; exit 2 ;;
esac
GW_NS="$UP_NAME/$UP_NS"               # the same namespace in fxgate's NamespaceArray
BATCH_BIG=1000
(( TAGS >= BATCH_BIG )) || BATCH_BIG=$TAGS

log() { printf '[run_aggregation.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ------------------------------------------------------------------------------------------------
# Cleanup: stop exactly the processes started here (by PID).
# ------------------------------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-agg-bench.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOAD_PID=""   # the running foreground fxgate-load (via timeout), not yet reaped
MON_PID=""    # the background monitoring client (via timeout), not yet reaped
cleanup() {
  local rc=$?
  bench_reap "$LOAD_PID" "$MON_PID"
  bench_cleanup "$rc"
}
bench_traps

# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------
bench_build
FXGATE="${FXGATE:-$BIN/fxgate}"
for b in fxgate peer-server fxgate-load; do
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

# wait_log PID NAME LOGFILE REGEX [SECONDS]: wait for a line in the log (the process must live).
wait_log() {
  local pid=$1 name=$2 logf=$3 re=$4 secs=${5:-60}
  for _ in $(seq 1 $(( secs * 10 ))); do
    kill -0 "$pid" 2>/dev/null || { log "$name exited:"; tail -n 30 "$logf" >&2 || true; return 1; }
    grep -qE "$re" "$logf" 2>/dev/null && return 0
    sleep 0.1
  done
  log "$name: no line matching /$re/ after $secs s"; tail -n 30 "$logf" >&2 || true; return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo null; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# proc_snapshot: "pid ppid ticks" of every process (ticks = utime+stime+cutime+cstime, so the
# CPU of children reaped meanwhile is counted with their parent)
proc_snapshot() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk '{ i = length($0); while (i > 0 && substr($0, i, 1) != ")") i--
      n = split(substr($0, i + 2), f, " "); if (n >= 15) print $1, f[2], f[12] + f[13] + f[14] + f[15] }'
}
# other_cores FILE0 FILE1 SECONDS: CPU (cores) of every process that is not this script or
# started by it (its children and grandchildren: upstream, fxgate, load clients)
other_cores() {
  awk -v me="$$" -v t="$CLK_TCK" -v secs="$3" '
    FNR == NR { t0[$1] = $3; next }
    { pp[$1] = $2; tk[$1] = $3 }
    END {
      for (p in pp) if (pp[p] == me) mine[p] = 1
      s = 0
      for (p in tk) {
        if (p == me || (p in mine) || (pp[p] in mine)) continue
        s += tk[p] - ((p in t0) ? t0[p] : 0)
      }
      x = s / t / secs; if (x < 0) x = 0; printf "%.2f", x
    }' "$1" "$2"
}
# steal ticks of the host (CPU time the hypervisor gave to other guests)
steal_ticks() { awk '/^cpu / { print $9; exit }' /proc/stat; }

# jget FILE KEY -> raw JSON value of the first KEY (numbers, null, or string without quotes)
jget() {
  local v
  v=$(grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"') || true
  echo "${v:-n/a}"
}

# fxlog_summary FROM_LINE: fxgate's WARN/ERROR lines after line FROM_LINE, counted by message
# (timestamps dropped, numbers → N, ServiceFault bodies cut).
fxlog_summary() {
  tail -n +"$(( $1 + 1 ))" "$TMP/fxgate.log" 2>/dev/null | grep -E ' (WARN|ERROR) ' \
    | sed -E 's/^[^ ]+ +//; s/ServiceFault\(.*/ServiceFault(…)/; s/[0-9]+/N/g' | cut -c1-220 \
    | sort | uniq -c | sort -rn || true
}

# metric NAME -> value of fxgate_upstream_NAME{upstream="up"} from /metrics (counter: _total)
metric() {
  local body
  body=$(curl -s --max-time 5 "http://$HOST:$HTTP_PORT/metrics" 2>/dev/null) || body=""
  awk -v m="$1" -v u="upstream=\"$UP_NAME\"" '
      !found && index($0, m "{") == 1 && index($0, u) > 0 { print $NF; found = 1 }
      END { if (!found) print "n/a" }' <<<"$body"
}

# ------------------------------------------------------------------------------------------------
# Start the upstream and fxgate
# ------------------------------------------------------------------------------------------------
PEER_PORT=$(free_port)
log "starting $UP_LABEL (upstream) on $HOST:$PEER_PORT ($TAGS tags @ ${INTERVAL_MS} ms)"
if [[ $UPSTREAM == fxgate ]]; then
  mkdir -p "$TMP/up-data"
  sim_fxgate_config "$TMP/up.toml" "$PEER_PORT" "$(free_port)" "$TAGS" "$INTERVAL_MS" fxgate-agg-bench-upstream
  "$BIN/fxgate" run --config "$TMP/up.toml" --data-dir "$TMP/up-data" >"$TMP/peer.log" 2>&1 &
  UP_READY="fxgate ready"
else
  "$BIN/peer-server" --host "$HOST" --port "$PEER_PORT" --tags "$TAGS" --interval-ms "$INTERVAL_MS" \
    --pki-dir "$TMP/peer-pki" >"$TMP/peer.log" 2>&1 &
  UP_READY="peer-server ready"
fi
PEER_PID=$!; STARTED+=("$PEER_PID")
PEER_URL="opc.tcp://$HOST:$PEER_PORT/"
wait_log "$PEER_PID" "$UP_LABEL" "$TMP/peer.log" "$UP_READY"
for _ in $(seq 1 50); do port_open "$PEER_PORT" && break; sleep 0.2; done

FX_PORT=$(free_port); HTTP_PORT=$(free_port)
mkdir -p "$TMP/fxgate-data"
cat >"$TMP/fxgate.toml" <<EOF
[server]
application_name = "fxgate-agg-bench"
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
# "fxgate ready", "upstream connected" and every warning
level = "warn,fxgate::topology=info,fxgate_upstream=info"

[[upstream]]
name = "$UP_NAME"
endpoint_url = "$PEER_URL"
security_policy = "None"
security_mode = "None"
accept_all_server_certificates = true
EOF
log "starting fxgate on $HOST:$FX_PORT (http $HOST:$HTTP_PORT), upstream $UP_NAME = $PEER_URL"
"$FXGATE" run --config "$TMP/fxgate.toml" --data-dir "$TMP/fxgate-data" >"$TMP/fxgate.log" 2>&1 &
FX_PID=$!; STARTED+=("$FX_PID")
FX_URL="opc.tcp://$HOST:$FX_PORT/"
wait_log "$FX_PID" fxgate "$TMP/fxgate.log" "fxgate ready"
wait_log "$FX_PID" fxgate "$TMP/fxgate.log" "upstream connected" 30
# (no probe of fxgate's port: async-opcua logs every connection that sends no Hello as an ERROR)
log "both ready (upstream connected: $(metric fxgate_upstream_connected)); settling 3 s"
sleep 3

IDLE_RSS_PEER=$(rss_kb "$PEER_PID"); IDLE_RSS_FX=$(rss_kb "$FX_PID")
a_p=$(cpu_ticks "$PEER_PID"); a_f=$(cpu_ticks "$FX_PID"); sleep "$IDLE_S"
b_p=$(cpu_ticks "$PEER_PID"); b_f=$(cpu_ticks "$FX_PID")
IDLE_CPU_PEER=$(awk -v a="$a_p" -v b="$b_p" -v t="$CLK_TCK" -v s="$IDLE_S" 'BEGIN { printf "%.3f", (b - a) / t / s }')
IDLE_CPU_FX=$(awk -v a="$a_f" -v b="$b_f" -v t="$CLK_TCK" -v s="$IDLE_S" 'BEGIN { printf "%.3f", (b - a) / t / s }')
log "idle: upstream RSS $IDLE_RSS_PEER kB CPU $IDLE_CPU_PEER cores; fxgate RSS $IDLE_RSS_FX kB CPU $IDLE_CPU_FX cores"

# ------------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------------
bench_run_dir raw-agg
DIRECT_NODES=(--nodes-from-ns-prefix "nsu=$UP_NS;s=Demo/T" --prefix-count "$TAGS")
GW_NODES=(--nodes-from-ns-prefix "nsu=$GW_NS;s=Demo/T" --prefix-count "$TAGS")
declare -A UPREQ=() HITS=() UPITEMS=() OTHER=() STEAL=()
declare -a ORDER=()
FAILURES=()

alive() { # alive WHEN: both servers still running?
  local ok=0
  if ! kill -0 "$PEER_PID" 2>/dev/null; then log "upstream ($UP_LABEL) died $1"; tail -n 20 "$TMP/peer.log" >&2; FAILURES+=("upstream died $1"); ok=1; fi
  if ! kill -0 "$FX_PID" 2>/dev/null; then log "fxgate died $1"; tail -n 30 "$TMP/fxgate.log" >&2; FAILURES+=("fxgate died $1"); ok=1; fi
  return $ok
}

# load NAME PATH(direct|gw) ARGS...: one fxgate-load run, JSON to $RAW/NAME.json; for gw runs the
# upstream request and cache-hit counters of fxgate are recorded around it.
load() {
  local name=$1 path=$2; shift 2
  local out="$RAW/$name.json" limit rq0 rq1 h0 h1 url pids
  limit=$(awk -v a="$READ_S" -v b="$SUB_S" -v w="$SUB_WARMUP_S" 'BEGIN { print int((a > b ? a : b) + w + 90) }')
  if [[ $path == direct ]]; then
    url=$PEER_URL; pids=(--server-pid "$PEER_PID" --extra-pid "fxgate=$FX_PID")
  else
    url=$FX_URL; pids=(--server-pid "$FX_PID" --extra-pid "upstream=$PEER_PID")
  fi
  rq0=$(metric fxgate_upstream_requests_total); h0=$(metric fxgate_upstream_cache_hits_total)
  local log0; log0=$(wc -l <"$TMP/fxgate.log")
  local st0 st1 ts0 ts1
  proc_snapshot >"$TMP/procs0"; st0=$(steal_ticks); ts0=$(date +%s.%N)
  log "$name"
  timeout -k 5 "$limit" "$BIN/fxgate-load" --url "$url" --label "$name" --pki-dir "$TMP/client-pki" \
    "${pids[@]}" "$@" >"$out" 2>"$RAW/$name.log" &
  LOAD_PID=$!
  if [[ $path == gw && " $* " == *" subscribe "* ]]; then
    # fxgate's upstream monitored items once the subscription exists
    if wait_log "$LOAD_PID" "$name" "$RAW/$name.log" "monitored items in" 60 2>/dev/null; then
      sleep 2; UPITEMS[$name]=$(metric fxgate_upstream_monitored_items)
    fi
  fi
  local rc=0
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=""
  # CPU used on the host by other processes, and stolen by the hypervisor, during the run
  proc_snapshot >"$TMP/procs1"; st1=$(steal_ticks); ts1=$(date +%s.%N)
  local secs; secs=$(awk -v a="$ts0" -v b="$ts1" 'BEGIN { print b - a }')
  OTHER[$name]=$(other_cores "$TMP/procs0" "$TMP/procs1" "$secs")
  STEAL[$name]=$(awk -v d="$(( st1 - st0 ))" -v t="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.2f", d / t / s }')
  sleep 0.5
  fxlog_summary "$log0" >"$RAW/$name.fxgate-log.txt"
  [[ -s "$RAW/$name.fxgate-log.txt" ]] && log "  fxgate WARN/ERROR lines during $name: $(awk '{ n += $1 } END { print n }' "$RAW/$name.fxgate-log.txt")"
  rq1=$(metric fxgate_upstream_requests_total); h1=$(metric fxgate_upstream_cache_hits_total)
  UPREQ[$name]=$(awk -v a="$rq0" -v b="$rq1" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) print b - a; else print "null" }')
  HITS[$name]=$(awk -v a="$h0" -v b="$h1" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) print b - a; else print "null" }')
  ORDER+=("$name")
  if [[ $rc -ne 0 || ! -s "$out" ]]; then
    log "$name FAILED (rc $rc, see $RAW/$name.log)"; tail -n 5 "$RAW/$name.log" >&2 || true
    echo '{"failed":true}' >"$out"; FAILURES+=("$name: fxgate-load failed (rc $rc): $(tail -n 1 "$RAW/$name.log" 2>/dev/null)")
  else
    log "  $(jget "$out" requests_per_s) req/s, p50 $(jget "$out" latency_p50_us) µs, p99 $(jget "$out" latency_p99_us) µs, values/s $(jget "$out" values_per_s), errors $(jget "$out" errors), bad $(jget "$out" bad_values); upstream requests ${UPREQ[$name]}, cache hits ${HITS[$name]}; other processes ${OTHER[$name]} cores, steal ${STEAL[$name]} cores"
  fi
  alive "after $name" || true
}

read_args() { # read_args BATCH
  if [[ $1 == 1 ]]; then echo "--scenario read --batch 1 --max-nodes 1"; else echo "--scenario read --batch $1"; fi
}
R=(--concurrency 1 --duration-s "$READ_S" --warmup-s "$WARMUP_S")

# fill the cache: every node once through fxgate, maxAge 0 (each forwarded read stores its values)
warm_cache() {
  log "filling fxgate's cache: one read of all $TAGS nodes"
  timeout -k 5 60 "$BIN/fxgate-load" --url "$FX_URL" --label warm --pki-dir "$TMP/client-pki" \
    "${GW_NODES[@]}" --scenario read --batch "$BATCH_BIG" --duration-s 0.5 --warmup-s 0 \
    >"$RAW/warm-$1.json" 2>"$RAW/warm-$1.log" || { log "cache fill failed"; FAILURES+=("cache fill before $1 failed"); }
}

S=(--scenario subscribe --sampling-ms "$INTERVAL_MS" --publishing-ms "$INTERVAL_MS"
   --source-interval-ms "$INTERVAL_MS" --duration-s "$SUB_S" --warmup-s "$SUB_WARMUP_S")
[[ -n "${SUB_QUEUE:-}" ]] && S+=(--queue-size "$SUB_QUEUE")

# Order: everything direct first (fxgate idle, holding no upstream items), then fxgate; the
# subscriptions through fxgate last, since whatever they leave on the upstream stays there.
# 1. direct
load direct-read1    direct "${DIRECT_NODES[@]}" $(read_args 1) "${R[@]}"
load direct-read1000 direct "${DIRECT_NODES[@]}" $(read_args "$BATCH_BIG") "${R[@]}"
load direct-sub      direct "${DIRECT_NODES[@]}" "${S[@]}" --items "$TAGS"
sleep 1
# 2. forwarded (maxAge 0)
load fwd-read1    gw "${GW_NODES[@]}" $(read_args 1) --max-age-ms 0 "${R[@]}"
load fwd-read1000 gw "${GW_NODES[@]}" $(read_args "$BATCH_BIG") --max-age-ms 0 "${R[@]}"
# 3. cached (maxAge large, cache filled right before, nothing keeps it current)
warm_cache cached-read1
load cached-read1    gw "${GW_NODES[@]}" $(read_args 1) --max-age-ms "$CACHED_MAX_AGE_MS" "${R[@]}"
warm_cache cached-read1000
load cached-read1000 gw "${GW_NODES[@]}" $(read_args "$BATCH_BIG") --max-age-ms "$CACHED_MAX_AGE_MS" "${R[@]}"
# 4. subscriptions through fxgate: a small one (diagnostic), then all TAGS items
if (( SUB_SMALL_ITEMS > 0 )); then
  load fwd-sub-small gw "${GW_NODES[@]}" --scenario subscribe --sampling-ms "$INTERVAL_MS" \
    --publishing-ms "$INTERVAL_MS" --source-interval-ms "$INTERVAL_MS" --duration-s "$SUB_SMALL_S" \
    --warmup-s "$SUB_WARMUP_S" --items "$SUB_SMALL_ITEMS" ${SUB_QUEUE:+--queue-size "$SUB_QUEUE"}
  sleep 1
fi
load fwd-sub gw "${GW_NODES[@]}" "${S[@]}" --items "$TAGS"
sleep 2
UP_ITEMS_AFTER_SUB=$(metric fxgate_upstream_monitored_items)

# 5. cached while another client monitors every node through fxgate
MON_LIMIT=$(( 2 * (READ_S + WARMUP_S + 15) + 60 ))
log "monitor: $TAGS items through fxgate in the background (ends with SIGTERM)"
timeout -k 5 "$(( MON_LIMIT + 30 ))" "$BIN/fxgate-load" --url "$FX_URL" --label monitor --pki-dir "$TMP/client-pki" \
  "${GW_NODES[@]}" --scenario subscribe --items "$TAGS" --sampling-ms "$INTERVAL_MS" \
  --publishing-ms "$INTERVAL_MS" --source-interval-ms "$INTERVAL_MS" --warmup-s 3 --duration-s "$MON_LIMIT" \
  >"$RAW/monitor.json" 2>"$RAW/monitor.log" &
MON_PID=$!
MON_OK=1
MON_LOG0=$(wc -l <"$TMP/fxgate.log")
wait_log "$MON_PID" monitor "$RAW/monitor.log" "monitored items in" 60 || { MON_OK=0; FAILURES+=("monitoring client did not start"); }
if [[ $MON_OK == 1 ]]; then
  MON_CREATED=$(grep -o '[0-9]*/[0-9]* monitored items' "$RAW/monitor.log" | head -n 1) || true
  sleep 3
  MON_UP_ITEMS=$(metric fxgate_upstream_monitored_items)
  log "monitor: $MON_CREATED; fxgate's upstream monitored items: $MON_UP_ITEMS"
  load mon-read1    gw "${GW_NODES[@]}" $(read_args 1) --max-age-ms "$CACHED_MAX_AGE_MS" "${R[@]}"
  load mon-read1000 gw "${GW_NODES[@]}" $(read_args "$BATCH_BIG") --max-age-ms "$CACHED_MAX_AGE_MS" "${R[@]}"
fi
if [[ -n "$MON_PID" ]]; then
  kill -TERM "$MON_PID" 2>/dev/null || true
  wait "$MON_PID" 2>/dev/null || true
  MON_PID=""
fi
[[ -s "$RAW/monitor.json" ]] || echo '{"failed":true}' >"$RAW/monitor.json"
sleep 2
fxlog_summary "$MON_LOG0" >"$RAW/monitor.fxgate-log.txt"
MON_UP_ITEMS_AFTER=$(metric fxgate_upstream_monitored_items)
FINAL_UP_ITEMS=$(metric fxgate_upstream_monitored_items)
RECONNECTS=$(metric fxgate_upstream_reconnects)
alive "at the end" || true
cp "$TMP/fxgate.log" "$RAW/fxgate-server.log" 2>/dev/null || true
cp "$TMP/peer.log" "$RAW/peer-server.log" 2>/dev/null || true
cp "$TMP/fxgate.toml" "$RAW/fxgate.toml" 2>/dev/null || true

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------
num() { [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$ ]]; }
v() { jget "$RAW/$1.json" "$2"; }   # v RUN KEY
fmt() { # integers with thousands separators; otherwise 2 decimals below 10, 1 below 100
  awk -v v="$1" 'function sep(n,  s, out) { s = sprintf("%d", n < 0 ? -n : n); out = ""
      while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
      return (n < 0 ? "-" : "") s out }
    BEGIN { if (v !~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/) { print v; exit }
      a = v < 0 ? -v : v
      if (v == int(v) || a >= 100) print sep(int(v + (v < 0 ? -0.5 : 0.5))); else if (a >= 10) printf "%.1f\n", v; else printf "%.2f\n", v }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else printf "n/a" }'; }
cores() { awk -v p="$1" 'BEGIN { if (p ~ /^[0-9.]+$/) printf "%.3f", p / 100; else printf "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { if (k ~ /^[0-9.]+$/) printf "%.1f", k / 1024; else printf "n/a" }'; }
ms() { awk -v u="$1" 'BEGIN { if (u ~ /^[0-9.]+$/) { x = u / 1000; if (x >= 100) printf "%.0f", x; else printf "%.1f", x } else printf "n/a" }'; }
per_req() { # upstream requests per client Read request (warm-up included on both sides)
  awk -v n="${UPREQ[$1]:-null}" -v r="$(v "$1" requests_total)" 'BEGIN { if (n ~ /^[0-9]+$/ && r ~ /^[0-9]+$/ && r > 0) printf "%.3f", n / r; else printf "n/a" }'
}
recv_pct() { awk -v n="$(v "$1" notifications)" -v e="$(v "$1" expected_notifications)" 'BEGIN { if (n ~ /^[0-9.]+$/ && e ~ /^[0-9.]+$/ && e > 0) printf "%.1f", n / e * 100; else printf "n/a" }'; }

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(cd "$ROOT" && { git diff --quiet HEAD -- 2>/dev/null && echo "" || echo "+uncommitted"; })
CPU_MODEL=$(awk -F: '/model name/ { gsub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
NCPU=$(nproc)
FX_WARN=$(grep -cE ' (WARN|ERROR) ' "$TMP/fxgate.log" 2>/dev/null || true)
PEER_WARN=$(grep -cE ' (WARN|ERROR) ' "$TMP/peer.log" 2>/dev/null || true)

# ratios (latency: lower is better; requests/s: higher is better)
declare -A RAT=()
for b in 1 1000; do
  bb=$b; [[ $b == 1000 ]] && bb=$BATCH_BIG
  for k in fwd cached mon; do
    RAT[${k}_read${b}_p50]=$(ratio "$(v "$k-read$b" latency_p50_us)" "$(v "direct-read$b" latency_p50_us)")
    RAT[${k}_read${b}_p99]=$(ratio "$(v "$k-read$b" latency_p99_us)" "$(v "direct-read$b" latency_p99_us)")
    RAT[${k}_read${b}_rps]=$(ratio "$(v "$k-read$b" requests_per_s)" "$(v "direct-read$b" requests_per_s)")
  done
done
RAT[sub_notif]=$(ratio "$(v fwd-sub values_per_s)" "$(v direct-sub values_per_s)")
RAT[sub_up_cpu]=$(ratio "$(v fwd-sub upstream_cpu_percent)" "$(v direct-sub server_cpu_percent)")
goal() { # goal RATIO LIMIT
  awk -v r="$1" -v l="$2" 'BEGIN { if (r ~ /^[0-9.]+$/) print (r <= l ? "met" : "**missed**"); else print "n/a" }'
}

# Plausibility checks: flagged in the report, never corrected.
for r in mon-read1 mon-read1000; do
  a=$(v "$r" value_age_p50_us)
  if num "$a" && (( ${a%.*} > 5 * INTERVAL_MS * 1000 )); then
    FAILURES+=("$r: value age p50 $(ms "$a") ms while every node was monitored through fxgate: the cache was not kept current (expected ≲ $(( 2 * INTERVAL_MS )) ms)")
  fi
done
for r in fwd-sub fwd-sub-small monitor direct-sub; do
  [[ -f "$RAW/$r.json" ]] || continue
  p=$(recv_pct "$r")
  if num "$p" && awk -v p="$p" 'BEGIN { exit !(p < 95) }'; then
    FAILURES+=("$r: received $p % of the expected notifications ($(fmt "$(v "$r" values_per_s)")/s, lost $(v "$r" lost), silent items $(v "$r" silent_items))")
  fi
done
for r in "${ORDER[@]}"; do
  if awk -v x="${OTHER[$r]:-0}" -v y="${STEAL[$r]:-0}" 'BEGIN { exit !(x >= 0.10 || y >= 0.10) }'; then
    FAILURES+=("$r: other processes on the host used ${OTHER[$r]} cores and the hypervisor stole ${STEAL[$r]} cores during the run (figures disturbed; re-run on a quiet host)")
  fi
done
n_del=$(grep -c 'delete_monitored_items failed' "$TMP/fxgate.log" 2>/dev/null || true)
if [[ "${n_del:-0}" != 0 ]]; then
  del_codes=$(grep -o 'delete_monitored_items failed.*service_result: Bad[A-Za-z]*' "$TMP/fxgate.log" | grep -o 'Bad[A-Za-z]*$' \
    | sort | uniq -c | sed -E 's/^ *([0-9]+) (.*)/\1 × \2/' | paste -sd, -) || true
  FAILURES+=("fxgate: $n_del DeleteMonitoredItems request(s) to the upstream failed (${del_codes:-status not found in the log}); fxgate's gauge still dropped to ${UP_ITEMS_AFTER_SUB:-n/a}, so those items are left on the upstream")
fi

MD="$TMP/report.md"
{
  echo "# fxgate aggregation benchmark — $RUN_ID"
  echo
  echo "git $GIT_REV$GIT_DIRTY · fxgate binary $FXGATE · $NCPU CPU ($CPU_MODEL) · upstream: $UP_LABEL, $TAGS Double tags changing every ${INTERVAL_MS} ms ·"
  echo "security None on every hop · loopback, client + fxgate + upstream on the same host · reads: concurrency 1, ${READ_S} s window after ${WARMUP_S} s warm-up ·"
  echo "subscribe: ${SUB_S} s window after ${SUB_WARMUP_S} s warm-up, queue size $(v direct-sub queue_size) · cached maxAge ${CACHED_MAX_AGE_MS} ms · raw: bench/results/raw-agg-$RUN_ID/"
  echo
  echo "Idle (upstream connected, no client): upstream $(mib "$IDLE_RSS_PEER") MiB / $IDLE_CPU_PEER cores, fxgate $(mib "$IDLE_RSS_FX") MiB / $IDLE_CPU_FX cores."
  echo
  for b in 1 1000; do
    if [[ $b == 1 ]]; then echo "## Read 1 node per request"; else echo "## Read $BATCH_BIG nodes per request"; fi
    echo
    echo "| Path | maxAge (ms) | requests/s | values/s | p50 (µs) | p99 (µs) | max (µs) | p50 / direct | p99 / direct | value age p50 / p99 (ms) | upstream requests per request | cache hits | errors / bad values | fxgate CPU (cores) | upstream CPU (cores) | other processes / steal (cores) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for k in direct fwd cached mon; do
      r="$k-read$b"
      [[ -f "$RAW/$r.json" ]] || continue
      case $k in
        direct) label="direct (client → upstream)"; fx_cpu=$(v "$r" fxgate_cpu_percent); up_cpu=$(v "$r" server_cpu_percent); rp50="1.00"; rp99="1.00"; upr="–"; hits="–" ;;
        *)
          case $k in fwd) label="forwarded (fxgate, maxAge 0)";; cached) label="cached (fxgate, cache filled before)";; mon) label="cached + all $TAGS nodes monitored by another client";; esac
          fx_cpu=$(v "$r" server_cpu_percent); up_cpu=$(v "$r" upstream_cpu_percent)
          rp50=${RAT[${k}_read${b}_p50]}; rp99=${RAT[${k}_read${b}_p99]}; upr=$(per_req "$r"); hits=$(fmt "${HITS[$r]:-n/a}") ;;
      esac
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s / %s | %s | %s | %s |\n' \
        "$label" "$(fmt "$(v "$r" max_age_ms)")" "$(fmt "$(v "$r" requests_per_s)")" "$(fmt "$(v "$r" values_per_s)")" \
        "$(fmt "$(v "$r" latency_p50_us)")" "$(fmt "$(v "$r" latency_p99_us)")" "$(fmt "$(v "$r" latency_max_us)")" \
        "$rp50" "$rp99" "$(ms "$(v "$r" value_age_p50_us)")" "$(ms "$(v "$r" value_age_p99_us)")" "$upr" "$hits" \
        "$(fmt "$(v "$r" errors)")" "$(fmt "$(v "$r" bad_values)")" "$(cores "$fx_cpu")" "$(cores "$up_cpu")" "${OTHER[$r]:-n/a} / ${STEAL[$r]:-n/a}"
    done
    echo
  done
  echo "## Goals"
  echo
  echo "| Ratio | 1 node p50 | 1 node p99 | $BATCH_BIG nodes p50 | $BATCH_BIG nodes p99 | goal | met? (p50: 1 node / $BATCH_BIG nodes) |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  echo "| forwarded / direct | ${RAT[fwd_read1_p50]} | ${RAT[fwd_read1_p99]} | ${RAT[fwd_read1000_p50]} | ${RAT[fwd_read1000_p99]} | ≤ 1.6 | $(goal "${RAT[fwd_read1_p50]}" 1.6) / $(goal "${RAT[fwd_read1000_p50]}" 1.6) |"
  echo "| cached / direct | ${RAT[cached_read1_p50]} | ${RAT[cached_read1_p99]} | ${RAT[cached_read1000_p50]} | ${RAT[cached_read1000_p99]} | ≤ 1.0 | $(goal "${RAT[cached_read1_p50]}" 1.0) / $(goal "${RAT[cached_read1000_p50]}" 1.0) |"
  echo "| cached + monitored / direct | ${RAT[mon_read1_p50]} | ${RAT[mon_read1_p99]} | ${RAT[mon_read1000_p50]} | ${RAT[mon_read1000_p99]} | ≤ 1.0 | $(goal "${RAT[mon_read1_p50]}" 1.0) / $(goal "${RAT[mon_read1000_p50]}" 1.0) |"
  echo
  echo "requests/s ratio (higher is better): forwarded ${RAT[fwd_read1_rps]} / ${RAT[fwd_read1000_rps]}, cached ${RAT[cached_read1_rps]} / ${RAT[cached_read1000_rps]}, cached + monitored ${RAT[mon_read1_rps]} / ${RAT[mon_read1000_rps]} (1 node / $BATCH_BIG nodes)."
  echo
  echo "Monitoring client during the \"cached + monitored\" reads: $(v monitor items_created)/$TAGS items, $(fmt "$(v monitor values_per_s)") notifications/s ($(recv_pct monitor) % of expected), lost $(v monitor lost), value age p50 / p99 $(ms "$(v monitor latency_p50_us)") / $(ms "$(v monitor latency_p99_us)") ms; fxgate's upstream monitored items while it ran: ${MON_UP_ITEMS:-n/a}, after it left: ${MON_UP_ITEMS_AFTER:-n/a}."
  echo
  echo "## Subscribe $TAGS items @ ${INTERVAL_MS} ms sampling / ${INTERVAL_MS} ms publishing ($(fmt $(( TAGS * 1000 / INTERVAL_MS ))) changes/s offered)"
  echo
  SM=""; (( SUB_SMALL_ITEMS > 0 )) && SM=" | through fxgate, $SUB_SMALL_ITEMS items (diagnostic)"
  echo "| Metric | direct (upstream) | through fxgate | fxgate / direct$SM |"
  echo "|---|---:|---:|---:|$( (( SUB_SMALL_ITEMS > 0 )) && printf -- '---:|')"
  srow() { # srow LABEL DIRECT FXGATE [SMALL]
    printf '| %s | %s | %s | %s |' "$1" "$(fmt "$2")" "$(fmt "$3")" "$(ratio "$3" "$2")"
    (( SUB_SMALL_ITEMS > 0 )) && printf ' %s |' "$(fmt "${4:-}")"
    echo
  }
  srow "items created" "$(v direct-sub items_created)" "$(v fwd-sub items_created)" "$(v fwd-sub-small items_created)"
  srow "upstream monitored items (fxgate's gauge)" "–" "${UPITEMS[fwd-sub]:-n/a}" "${UPITEMS[fwd-sub-small]:-n/a}"
  srow "create time (ms)" "$(v direct-sub create_ms)" "$(v fwd-sub create_ms)" "$(v fwd-sub-small create_ms)"
  srow "notifications/s received" "$(v direct-sub values_per_s)" "$(v fwd-sub values_per_s)" "$(v fwd-sub-small values_per_s)"
  srow "received / expected (%)" "$(recv_pct direct-sub)" "$(recv_pct fwd-sub)" "$(recv_pct fwd-sub-small)"
  srow "lost (proven: seq gaps + overflow)" "$(v direct-sub lost)" "$(v fwd-sub lost)" "$(v fwd-sub-small lost)"
  srow "overflow-flagged values" "$(v direct-sub overflow)" "$(v fwd-sub overflow)" "$(v fwd-sub-small overflow)"
  srow "missed updates (timestamp estimate)" "$(v direct-sub missed_updates_est)" "$(v fwd-sub missed_updates_est)" "$(v fwd-sub-small missed_updates_est)"
  srow "silent items" "$(v direct-sub silent_items)" "$(v fwd-sub silent_items)" "$(v fwd-sub-small silent_items)"
  srow "bad values" "$(v direct-sub bad_values)" "$(v fwd-sub bad_values)" "$(v fwd-sub-small bad_values)"
  srow "publish responses/s (with data)" "$(v direct-sub requests_per_s)" "$(v fwd-sub requests_per_s)" "$(v fwd-sub-small requests_per_s)"
  srow "value age p50 (ms)" "$(ms "$(v direct-sub latency_p50_us)")" "$(ms "$(v fwd-sub latency_p50_us)")" "$(ms "$(v fwd-sub-small latency_p50_us)")"
  srow "value age p99 (ms)" "$(ms "$(v direct-sub latency_p99_us)")" "$(ms "$(v fwd-sub latency_p99_us)")" "$(ms "$(v fwd-sub-small latency_p99_us)")"
  srow "upstream CPU (cores)" "$(cores "$(v direct-sub server_cpu_percent)")" "$(cores "$(v fwd-sub upstream_cpu_percent)")" "$(cores "$(v fwd-sub-small upstream_cpu_percent)")"
  srow "upstream peak RSS (MiB)" "$(mib "$(v direct-sub server_rss_kb_peak)")" "$(mib "$(v fwd-sub upstream_rss_kb_peak)")" "$(mib "$(v fwd-sub-small upstream_rss_kb_peak)")"
  srow "fxgate CPU (cores)" "$(cores "$(v direct-sub fxgate_cpu_percent)")" "$(cores "$(v fwd-sub server_cpu_percent)")" "$(cores "$(v fwd-sub-small server_cpu_percent)")"
  srow "fxgate peak RSS (MiB)" "$(mib "$(v direct-sub fxgate_rss_kb_peak)")" "$(mib "$(v fwd-sub server_rss_kb_peak)")" "$(mib "$(v fwd-sub-small server_rss_kb_peak)")"
  srow "other processes on the host (cores)" "${OTHER[direct-sub]:-n/a}" "${OTHER[fwd-sub]:-n/a}" "${OTHER[fwd-sub-small]:-n/a}"
  srow "CPU stolen by the hypervisor (cores)" "${STEAL[direct-sub]:-n/a}" "${STEAL[fwd-sub]:-n/a}" "${STEAL[fwd-sub-small]:-n/a}"
  echo
  echo "In the direct column fxgate is running but idle (connected to the upstream, no client). fxgate's upstream monitored items after the $TAGS-item client left: ${UP_ITEMS_AFTER_SUB:-n/a}."
  (( SUB_SMALL_ITEMS > 0 )) && echo "The diagnostic column ($SUB_SMALL_ITEMS items, ${SUB_SMALL_S} s window, $(fmt $(( SUB_SMALL_ITEMS * 1000 / INTERVAL_MS ))) changes/s offered) shows the path at a size where every upstream Publish response holds few notifications."
  echo
  echo "## Checks"
  echo
  echo "- fxgate upstream reconnects: ${RECONNECTS:-n/a}; fxgate's upstream monitored items at the end: ${FINAL_UP_ITEMS:-n/a}"
  echo "- WARN/ERROR lines: fxgate $FX_WARN, upstream $PEER_WARN (logs in raw-agg-$RUN_ID/)"
  for r in "${ORDER[@]}" monitor; do
    f="$RAW/$r.json"
    grep -q '"failed":true' "$f" 2>/dev/null && echo "- $r: **failed** (see raw-agg-$RUN_ID/$r.log)"
    codes=$(jget "$f" error_codes); [[ "$codes" == "n/a" || -z "$codes" ]] || echo "- $r error codes: $codes"
    ce=$(jget "$f" create_errors); [[ "$ce" == "n/a" || -z "$ce" ]] || echo "- $r CreateMonitoredItems errors: $ce"
    if [[ -s "$RAW/$r.fxgate-log.txt" ]]; then
      echo "- fxgate WARN/ERROR lines during $r (count × message; numbers → N):"
      echo '  ```'
      head -n 8 "$RAW/$r.fxgate-log.txt" | sed 's/^/  /'
      echo '  ```'
    fi
  done
  for f in "${FAILURES[@]+"${FAILURES[@]}"}"; do echo "- **$f**"; done
} >"$MD"

# JSON: every run's line plus fxgate's counters, and the summary.
JS="$TMP/report.json"
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
jnum() { if num "$1"; then printf '%s' "$1"; else printf 'null'; fi; }
{
  printf '{"run_id":%s,"git":%s,"cpus":%s,"cpu_model":%s,' "$(jstr "$RUN_ID")" "$(jstr "$GIT_REV$GIT_DIRTY")" "$NCPU" "$(jstr "$CPU_MODEL")"
  printf '"params":{"tags":%s,"interval_ms":%s,"read_s":%s,"warmup_s":%s,"sub_s":%s,"sub_warmup_s":%s,"cached_max_age_ms":%s,"read_batch_big":%s,"security":"None"},' \
    "$TAGS" "$INTERVAL_MS" "$READ_S" "$WARMUP_S" "$SUB_S" "$SUB_WARMUP_S" "$CACHED_MAX_AGE_MS" "$BATCH_BIG"
  printf '"idle":{"upstream_rss_kb":%s,"upstream_cpu_cores":%s,"fxgate_rss_kb":%s,"fxgate_cpu_cores":%s},' \
    "$(jnum "$IDLE_RSS_PEER")" "$(jnum "$IDLE_CPU_PEER")" "$(jnum "$IDLE_RSS_FX")" "$(jnum "$IDLE_CPU_FX")"
  printf '"runs":{'
  first=1
  for r in "${ORDER[@]}" monitor; do
    line=$(head -n 1 "$RAW/$r.json" 2>/dev/null); [[ "$line" == \{*\} ]] || line='{"failed":true}'
    [[ $first == 1 ]] || printf ','; first=0
    printf '%s:%s,"other_processes_cores":%s,"steal_cores":%s,"fxgate_upstream_requests":%s,"fxgate_cache_hits":%s,"fxgate_upstream_monitored_items":%s,"fxgate_log_warn_error_lines":%s}' \
      "$(jstr "$r")" "${line%\}}" "$(jnum "${OTHER[$r]:-null}")" "$(jnum "${STEAL[$r]:-null}")" "$(jnum "${UPREQ[$r]:-null}")" "$(jnum "${HITS[$r]:-null}")" "$(jnum "${UPITEMS[$r]:-null}")" \
      "$(jnum "$(awk '{ n += $1 } END { print n + 0 }' "$RAW/$r.fxgate-log.txt" 2>/dev/null)")"
  done
  printf '},"ratios":{'
  first=1
  for k in $(printf '%s\n' "${!RAT[@]}" | sort); do
    [[ $first == 1 ]] || printf ','; first=0
    printf '%s:%s' "$(jstr "$k")" "$(jnum "${RAT[$k]}")"
  done
  printf '},"monitor_upstream_items":%s,"upstream_items_after_sub":%s,"upstream_reconnects":%s,"fxgate_warn_error_lines":%s,"failures":[' \
    "$(jnum "${MON_UP_ITEMS:-null}")" "$(jnum "${UP_ITEMS_AFTER_SUB:-null}")" "$(jnum "${RECONNECTS:-null}")" "$(jnum "$FX_WARN")"
  first=1
  for f in "${FAILURES[@]+"${FAILURES[@]}"}"; do [[ $first == 1 ]] || printf ','; first=0; jstr "$f"; done
  printf ']}\n'
} >"$JS"

mkdir -p "$RESULTS"
cp "$MD" "$RESULTS/aggregation-$RUN_ID.md"
cp "$JS" "$RESULTS/aggregation-$RUN_ID.json"
cp "$MD" "$RAW/report.md"
cat "$MD"
log "written: bench/results/aggregation-$RUN_ID.md and .json"
