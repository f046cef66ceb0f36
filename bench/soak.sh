#!/usr/bin/env bash
# fxgate soak and chaos runs (issue 18 §3). See bench/README.md, section "Soak and chaos".
#
# Runs the scenarios of tests/python/soak.py (their docstring says what each does and checks)
# with release builds:
#   aggregation  2 upstreams (peer-server) × ITEMS monitored items through fxgate; upstream "a"
#                killed (SIGKILL) and restarted CYCLES times at random intervals
#   modbus       primary and backup pymodbus devices killed and restarted FLAPS times, one up
#   websocket    1,000 changes/s; the server away OUTAGES × OUTAGE_S; then fxgate SIGKILLed
#                mid-stream and while the server is away
# --short runs what the test suite runs (tests/python/test_soak.py); the default is the long run.
# Results: bench/results/soak-<UTC>.json (figures and broken requirements per scenario); the exit
# status is 1 when a requirement broke.
#
# Usage: bench/soak.sh [--short] [SCENARIO...]     Environment: FXGATE_SOAK_SEED [18], SKIP_BUILD
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MODE=long
if [ "${1:-}" = "--short" ]; then MODE=short; shift; fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -q -p fxgate -p fxgate-bench --bins --manifest-path "$ROOT/Cargo.toml"
fi
PY="$ROOT/.venv/bin/python"
if ! "$PY" -c 'import asyncua, pymodbus, websockets' 2>/dev/null; then
  echo "[soak.sh] the Python peers are missing: run ./scripts/test once (it prepares $ROOT/.venv)" >&2
  exit 2
fi

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
REV="$(git -C "$ROOT" rev-parse --short HEAD)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fxgate-soak.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/soak-$MODE-$STAMP.json"
export FXGATE_BIN="$TARGET_DIR/release/fxgate"
rc=0
"$PY" "$ROOT/tests/python/soak.py" --mode "$MODE" --work "$WORK" --out "$OUT" "$@" || rc=$?
echo "[soak.sh] results: $OUT (git $REV)" >&2
exit $rc
