#!/usr/bin/env bash
# Subscription churn: a client that subscribes TAGS items, stays SUB_S seconds and closes its
# session, CYCLES times, against fxgate and against async-opcua's minimal server (peer-server)
# holding the same tags (Double, sine, every 1 s). After each cycle, with no client connected:
# the server's RSS and its CPU over IDLE_S seconds.
#
# What it shows: async-opcua 0.19 keeps every data monitored item of a deleted subscription in
# its per-node index (`SubscriptionCache::delete_subscriptions` removes only EventNotifier
# items), so each closed session leaves its items there. The RSS grows by the index entries on
# both servers. While a client is subscribed, the CPU grows with the dead items on a server that
# hands each change to every handle of that index (the peer, and fxgate before 2026-12-07), not on
# fxgate, which gives changes only to the items it knows to be alive. Each cycle's CPU is the
# server's during that cycle's subscription, with the items of the cycles before it dead.
#
#   bench/run_churn.sh     # ~6 min after the build; TAGS [100000] CYCLES [8] SUB_S [10] IDLE_S [5]
#                          # SKIP_BUILD [0]; SERVERS ["peer fxgate"]; FXGATE [the release build]
#                          # (another fxgate binary, for an A/B of two versions)
# Results: bench/results/churn-<UTC time>/report.md (and the raw per-cycle lines).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
RESULTS="$ROOT/bench/results"
TAGS="${TAGS:-100000}"
CYCLES="${CYCLES:-8}"
SUB_S="${SUB_S:-10}"
IDLE_S="${IDLE_S:-5}"
SERVERS="${SERVERS:-peer fxgate}"
HOST=127.0.0.1

log() { printf '[run_churn.sh] %s\n' "$*" >&2; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-churn.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cleanup() { bench_cleanup "$?"; }
bench_traps

bench_build
FXGATE="${FXGATE:-$BIN/fxgate}"
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
bench_run_dir churn

# start SERVER: starts it with TAGS tags and waits for its ready line; sets SPID and SPORT.
start() {
  local s=$1 dir="$TMP/$1" re
  SPORT=$(free_port)
  mkdir -p "$dir"
  if [[ $s == peer ]]; then
    "$BIN/peer-server" --host "$HOST" --port "$SPORT" --tags "$TAGS" --interval-ms 1000 --pki-dir "$dir/pki" \
      >"$dir/log" 2>&1 &
    re="peer-server ready"
  else
    sim_fxgate_config "$dir/fxgate.toml" "$SPORT" "$(free_port)" "$TAGS" 1000 fxgate-churn
    "$FXGATE" run --config "$dir/fxgate.toml" --data-dir "$dir/data" >"$dir/log" 2>&1 &
    re="fxgate ready"
  fi
  SPID=$!; STARTED+=("$SPID")
  for _ in $(seq 1 1200); do
    grep -qE "$re" "$dir/log" 2>/dev/null && return 0
    kill -0 "$SPID" 2>/dev/null || { log "$s exited at start"; tail -n 20 "$dir/log" >&2; return 1; }
    sleep 0.05
  done
  log "$s: not ready"; return 1
}

# idle_cores PID: the CPU of PID over IDLE_S seconds, in cores
idle_cores() {
  local a b
  a=$(ticks "$1"); sleep "$IDLE_S"; b=$(ticks "$1")
  awk -v a="$a" -v b="$b" -v t="$CLK_TCK" -v s="$IDLE_S" 'BEGIN { printf "%.3f", (b - a) / t / s }'
}

# jget FILE KEY: the raw JSON value of KEY
jget() { local v; v=$(grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"') || true; echo "${v:-n/a}"; }
declare -A RSS=() CPU=() SUBCPU=() RATE=()
for s in $SERVERS; do
  start "$s"
  sleep 3
  RSS[$s-0]=$(rss_mib "$SPID"); CPU[$s-0]=$(idle_cores "$SPID")
  log "$s before any client: RSS ${RSS[$s-0]} MiB, CPU ${CPU[$s-0]} cores"
  for c in $(seq 1 "$CYCLES"); do
    # the client deletes nothing itself: closing the session deletes its subscription
    timeout -k 5 300 "$BIN/fxgate-load" --url "opc.tcp://$HOST:$SPORT/" --label "$s-$c" --pki-dir "$TMP/client-pki" --server-pid "$SPID" \
      --nodes-from-ns-prefix "nsu=$([[ $s == peer ]] && echo urn:fxgate-bench:peer || echo urn:fxgate:tags);s=Demo/T" \
      --prefix-count "$TAGS" --scenario subscribe --items "$TAGS" --sampling-ms 1000 --publishing-ms 1000 \
      --source-interval-ms 1000 --duration-s "$SUB_S" --warmup-s 2 --max-notifications-per-publish 1000 \
      >"$RAW/$s-$c.json" 2>"$RAW/$s-$c.log" || { log "$s cycle $c: load client failed"; tail -n 5 "$RAW/$s-$c.log" >&2; }
    SUBCPU[$s-$c]=$(awk -v p="$(jget "$RAW/$s-$c.json" server_cpu_percent)" 'BEGIN { if (p ~ /^[0-9.]+$/) printf "%.3f", p / 100; else print "n/a" }')
    RATE[$s-$c]=$(jget "$RAW/$s-$c.json" values_per_s)
    sleep 2
    RSS[$s-$c]=$(rss_mib "$SPID"); CPU[$s-$c]=$(idle_cores "$SPID")
    log "$s cycle $c: CPU while subscribed ${SUBCPU[$s-$c]} cores (${RATE[$s-$c]} notifications/s); after it: RSS ${RSS[$s-$c]} MiB, idle CPU ${CPU[$s-$c]} cores"
    echo "$s $c ${SUBCPU[$s-$c]} ${RATE[$s-$c]} ${RSS[$s-$c]} ${CPU[$s-$c]}" >>"$RAW/cycles.txt"
  done
  cp "$TMP/$s/log" "$RAW/$s-server.log"
  kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; forget "$SPID"
done

GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# Subscription churn, fxgate vs async-opcua peer — $RUN_ID"
  echo
  echo "git $GIT_REV · fxgate binary $FXGATE · $(nproc) CPU · $TAGS Double tags changing every 1 s · $CYCLES cycles of: subscribe all, ${SUB_S} s, close the session · no client while measuring · raw: bench/results/churn-$RUN_ID/"
  echo
  echo "| cycle | peer CPU subscribed (cores) | fxgate CPU subscribed (cores) | peer / fxgate notifications/s | peer RSS after (MiB) | fxgate RSS after (MiB) | peer / fxgate idle CPU after (cores) |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for c in $(seq 0 "$CYCLES"); do
    echo "| $c | ${SUBCPU[peer-$c]:-–} | ${SUBCPU[fxgate-$c]:-–} | ${RATE[peer-$c]:-–} / ${RATE[fxgate-$c]:-–} | ${RSS[peer-$c]:-–} | ${RSS[fxgate-$c]:-–} | ${CPU[peer-$c]:-–} / ${CPU[fxgate-$c]:-–} |"
  done
} >"$RAW/report.md"
cat "$RAW/report.md"
log "written to $RAW/report.md"
