# Process bookkeeping shared by the bench scripts (sourced, not run).
#
# A script sets TMP (its scratch dir) and adds the PID of every background process it starts
# to STARTED; it defines `log` and a `cleanup` that stops its own foreground clients and then
# calls `bench_cleanup`. `bench_traps` installs that cleanup for EXIT, INT, TERM and HUP.

declare -a STARTED=()

# bench_reap PID...: stop these (already foreground-waited) clients: TERM, then reap.
bench_reap() {
  local p
  for p in "$@"; do
    [[ -n "$p" ]] || continue
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

# bench_cleanup RC: stop every STARTED process (CONT, so a SIGSTOPped one can end; TERM; KILL
# after 5 s), keep TMP on a failure (RC 1-127) and remove it otherwise, exit RC.
bench_cleanup() {
  local rc=$1 pid
  trap - EXIT INT TERM HUP
  for pid in "${STARTED[@]+"${STARTED[@]}"}"; do
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED[@]+"${STARTED[@]}"}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 && $rc -lt 128 ]]; then
    log "failed; logs kept in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}

# bench_traps: run `cleanup` on exit; INT/TERM/HUP exit with 130/143/129 (through cleanup).
bench_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# forget PID: it was reaped, so cleanup must no longer signal it (the PID may be reused).
forget() {
  local keep=() p
  for p in "${STARTED[@]+"${STARTED[@]}"}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  STARTED=("${keep[@]+"${keep[@]}"}")
}

# Probes (HOST set by the script). Older scripts still define their own copies of the first two.

# port_open PORT: something listens on $HOST:PORT.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# free_port: a random port in 20000-59999 that nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    port_open "$p" || { echo "$p"; return 0; }
  done
  return 1
}

# rss_mib PID: resident set size in MiB (0 if gone).
rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ticks PID: user + system CPU time in clock ticks (of CLK_TCK per second), all threads.
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# sim_fxgate_config FILE PORT HTTP_PORT COUNT [INTERVAL_MS] [APP_NAME]: an fxgate config serving
# simulator "Demo" with COUNT Double sine tags "T<n>" changing every INTERVAL_MS (1000) on
# $HOST:PORT (None allowed, every certificate accepted, anonymous), HTTP on $HOST:HTTP_PORT.
sim_fxgate_config() {
  cat >"$1" <<EOT
[server]
application_name = "${6:-fxgate-bench}"
host = "$HOST"
port = $2
endpoint_url = "opc.tcp://$HOST:$2/"
allow_none = true
accept_all_certificates = true
anonymous = true

[http]
listen = "$HOST:$3"

[log]
level = "warn,fxgate::topology=info"

[[simulator]]
name = "Demo"
interval_ms = ${5:-1000}
  [[simulator.tags]]
  name = "T"
  type = "Double"
  waveform = "sine"
  count = $4
EOT
}

# bench_build: the release build of fxgate and fxgate-bench, unless SKIP_BUILD=1 (needs ROOT, log).
bench_build() {
  [[ "${SKIP_BUILD:-0}" == 1 ]] && return 0
  log "building (release): fxgate, fxgate-bench"
  (cd "$ROOT" && cargo build --release -p fxgate -p fxgate-bench) >&2
}

# bench_run_dir NAME: sets RUN_ID (UTC, to the second) and RAW ($RESULTS/NAME-RUN_ID), made.
bench_run_dir() {
  RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
  RAW="$RESULTS/$1-$RUN_ID"
  mkdir -p "$RAW"
}
