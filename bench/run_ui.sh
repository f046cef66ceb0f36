#!/usr/bin/env bash
# The configurator (browser UI under /ui) with 10,000 tags: page weight and time to first render in
# headless Chromium, and what polling browsers cost the gateway (issue 17). See bench/README.md.
#
# Builds fxgate (release) unless SKIP_BUILD=1, starts it with a generated config in a temp dir
# (free ports on 127.0.0.1; simulator `Big` with one Double tag × TAGS at INTERVAL_MS; a user with
# the read and write roles, its password hashed by `fxgate users hash`), waits for "fxgate ready",
# then runs bench/ui_bench.py (the venv's Python, Selenium with Debian's /usr/bin/chromium and
# /usr/bin/chromedriver) against it, which measures in this order:
#   (a) idle: fxgate's CPU (utime+stime of its PID from /proc) and RSS over WINDOW_S, no client;
#   page loads, cold (cache disabled): the Tags page (folder Big; clicked in the tree if the page
#       does not open it), the Overview and a static copy of the Tags table (the browser's floor),
#       first load after start + REPEAT loads each: first contentful paint, time until the table's
#       first row has a value, bytes transferred (Resource Timing);
#   (b) BROWSERS headless browsers logged in on the Tags page, polling: fxgate's CPU and RSS;
#   (c) the same number of plain HTTP sessions polling the API URLs the browsers polled, at their
#       rate (no browser): fxgate's CPU and RSS;
#   (a') idle again (IDLE_AFTER=1).
# Prints a Markdown table (also written to bench/results/ui-latest.md); raw JSON, the config and
# fxgate's log in bench/results/raw-ui-<UTC time>/.
#
# Everything listens on 127.0.0.1 only; the driver has a time limit; all processes started here
# are stopped on exit (also on Ctrl-C; Selenium quits its browsers, chromedriver's children are
# stopped by PID if one is left).
#
# Environment overrides (defaults in brackets):
#   TAGS [10000]  INTERVAL_MS [1000]  WINDOW_S [30]  WARMUP_S [6]  BROWSERS [5]  REPEAT [5]
#   IDLE_AFTER [1]  PYTHON [.venv/bin/python]  SKIP_BUILD [0]  CARGO_TARGET_DIR  RUST_LOG
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
RESULTS="$ROOT/bench/results"

TAGS="${TAGS:-10000}"
INTERVAL_MS="${INTERVAL_MS:-1000}"
WINDOW_S="${WINDOW_S:-30}"
WARMUP_S="${WARMUP_S:-6}"
BROWSERS="${BROWSERS:-5}"
REPEAT="${REPEAT:-5}"
IDLE_AFTER="${IDLE_AFTER:-1}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
HOST=127.0.0.1
USER_NAME=bench

log() { printf '[run_ui.sh] %s\n' "$*" >&2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-uibench.XXXXXX")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DRIVER_PID=""
cleanup() {
  local rc=$?
  # The driver quits its browsers itself; a chromium left behind (driver killed) is stopped by PID.
  if [[ -n $DRIVER_PID ]]; then
    bench_reap "$DRIVER_PID"
  fi
  local p
  for p in $(cat "$TMP/chromedriver.pids" 2>/dev/null); do
    grep -q chromedriver "/proc/$p/cmdline" 2>/dev/null || continue   # gone (or the PID reused)
    kill -TERM $(tree_pids "$p") 2>/dev/null || true
  done
  bench_cleanup "$rc"
}
bench_traps

# tree_pids PID: PID and all its descendants
tree_pids() {
  local c
  echo "$1"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$c"; done
}

# ------------------------------------------------------------------------------------------------
# Build and checks
# ------------------------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "building (release): fxgate"
  (cd "$ROOT" && timeout 3600 cargo build --release -p fxgate) >&2
fi
[[ -x "$BIN/fxgate" ]] || { log "missing $BIN/fxgate (build it, or unset SKIP_BUILD)"; exit 1; }
[[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || { log "needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)"; exit 1; }
"$PYTHON" -c 'import selenium' 2>/dev/null || { log "$PYTHON has no selenium (the project's .venv has it)"; exit 1; }

# wait_log PID LOGFILE REGEX SECONDS: wait for a line in a log while the process lives
wait_log() {
  local pid=$1 logf=$2 re=$3 secs=$4
  for _ in $(seq 1 $(( secs * 10 ))); do
    grep -qE "$re" "$logf" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { log "fxgate exited during startup:"; tail -n 30 "$logf" >&2 || true; return 1; }
    sleep 0.1
  done
  log "fxgate: no \"$re\" after $secs s"; tail -n 30 "$logf" >&2 || true; return 1
}

# ------------------------------------------------------------------------------------------------
# Config and start
# ------------------------------------------------------------------------------------------------
bench_run_dir raw-ui
GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no -- crates Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
  GIT_REV="$GIT_REV (+ uncommitted changes in the working tree)"
fi

PASSWORD="ui-bench-$RANDOM$RANDOM"
HASH=$(printf '%s' "$PASSWORD" | timeout 60 "$BIN/fxgate" users hash) || { log "fxgate users hash failed"; exit 1; }
[[ $HASH == '$argon2id$'* ]] || { log "fxgate users hash printed no argon2id hash: $HASH"; exit 1; }

FX_PORT=$(free_port); HTTP_PORT=$(free_port)
while [[ $HTTP_PORT == "$FX_PORT" ]]; do HTTP_PORT=$(free_port); done
CONFIG="$TMP/fxgate.toml"
cat >"$CONFIG" <<EOF
[server]
application_name = "fxgate-uibench"
host = "$HOST"
port = $FX_PORT
endpoint_url = "opc.tcp://$HOST:$FX_PORT/"
allow_none = true
accept_all_certificates = true
anonymous = true

[http]
listen = "$HOST:$HTTP_PORT"

[log]
level = "warn,fxgate::topology=info"

[[users]]
name = "$USER_NAME"
password_hash = "$HASH"
roles = ["read", "write"]

[[simulator]]
name = "Big"
interval_ms = $INTERVAL_MS
  [[simulator.tags]]
  name = "T"
  type = "Double"
  waveform = "sine"
  count = $TAGS
EOF
sed 's/^password_hash = .*/password_hash = "(a fresh hash of a random password)"/' "$CONFIG" >"$RAW/fxgate.toml"

mkdir -p "$TMP/data"
log "starting fxgate: OPC UA $FX_PORT, HTTP $HTTP_PORT, simulator Big: $TAGS Double tags @ $INTERVAL_MS ms"
"$BIN/fxgate" run --config "$CONFIG" --data-dir "$TMP/data" >"$RAW/fxgate.log" 2>&1 &
FX_PID=$!; STARTED+=("$FX_PID")
wait_log "$FX_PID" "$RAW/fxgate.log" "fxgate ready" 120
for _ in $(seq 1 100); do port_open "$HTTP_PORT" && break; sleep 0.1; done
port_open "$HTTP_PORT" || { log "nothing listens on $HOST:$HTTP_PORT"; exit 1; }

# ------------------------------------------------------------------------------------------------
# Measure
# ------------------------------------------------------------------------------------------------
LIMIT=$(awk -v w="$WINDOW_S" -v r="$REPEAT" -v b="$BROWSERS" 'BEGIN { print int(4 * w + r * 45 + b * 30 + 240) }')
log "measuring (time limit $LIMIT s): idle, page loads, $BROWSERS browsers, $BROWSERS HTTP sessions$([[ $IDLE_AFTER == 1 ]] && echo ', idle again')"
rc=0
UI_BENCH_PASSWORD="$PASSWORD" UI_BENCH_PIDS="$TMP/chromedriver.pids" timeout -k 10 "$LIMIT" "$PYTHON" "$ROOT/bench/ui_bench.py" \
  --base "http://$HOST:$HTTP_PORT" --pid "$FX_PID" --user "$USER_NAME" --folder Big --tags "$TAGS" \
  --interval-ms "$INTERVAL_MS" --window-s "$WINDOW_S" --warmup-s "$WARMUP_S" --browsers "$BROWSERS" \
  --repeat "$REPEAT" --idle-after "$IDLE_AFTER" --raw "$RAW" --report "$TMP/report.md" \
  --run-id "$RUN_ID" --git "$GIT_REV" &
DRIVER_PID=$!
wait "$DRIVER_PID" || rc=$?
DRIVER_PID=""
kill -0 "$FX_PID" 2>/dev/null || { log "fxgate is no longer running"; rc=1; }

# fxgate's warnings and errors during the run, apart from those every start of this config gives.
warns=$(sed 's/\x1b\[[0-9;]*m//g' "$RAW/fxgate.log" | grep -E ' (WARN|ERROR) ' \
  | grep -vE 'accept_all_certificates = true|allow_none = true|Endpoint config contains no endpoints' || true)
if [[ -f "$TMP/report.md" ]]; then
  {
    cat "$TMP/report.md"
    if [[ -n $warns ]]; then
      echo "- fxgate logged $(wc -l <<<"$warns") warnings/errors, first: \`$(head -n 1 <<<"$warns" | cut -c1-240)\`"
    fi
    grep -q panicked "$RAW/fxgate.log" && echo "- **fxgate panicked** (see fxgate.log)"
    true
  } >"$RAW/report.md"
  mkdir -p "$RESULTS"
  cp "$RAW/report.md" "$RESULTS/ui-latest.md"
  cat "$RAW/report.md"
  log "written to bench/results/ui-latest.md"
else
  log "the driver wrote no report (status $rc)"
  [[ $rc -ne 0 ]] || rc=1
fi
[[ $rc -eq 0 ]] || log "FAILED (status $rc): see $RAW/"
exit "$rc"
