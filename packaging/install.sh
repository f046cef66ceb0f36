#!/usr/bin/env bash
# Installs fxgate as a systemd service (packaging/fxgate.service). Idempotent: a second run
# updates the binary and the unit and keeps the configuration and the data.
#
#   sudo packaging/install.sh                 # builds the release binary first if needed
#   DESTDIR=/tmp/root packaging/install.sh    # into a staging root (no user, no systemctl)
#
# Environment: FXGATE_BIN (default: target/release/fxgate, built when missing),
#              DESTDIR (default: empty = this machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DESTDIR="${DESTDIR:-}"
BIN="${FXGATE_BIN:-$ROOT/target/release/fxgate}"

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$BIN" ]; then
    [ -z "${FXGATE_BIN:-}" ] || die "FXGATE_BIN=$BIN is not an executable"
    (cd "$ROOT" && cargo build --release -p fxgate)
fi
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo), or give DESTDIR for a staging root"
fi

install -d -m 0755 "$DESTDIR/usr/local/bin" "$DESTDIR/etc/systemd/system"
install -m 0755 "$BIN" "$DESTDIR/usr/local/bin/fxgate"
install -m 0644 "$ROOT/packaging/fxgate.service" "$DESTDIR/etc/systemd/system/fxgate.service"

if [ -z "$DESTDIR" ] && ! id fxgate >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/fxgate --no-create-home --shell /usr/sbin/nologin fxgate
fi
install -d -m 0750 "$DESTDIR/etc/fxgate"
if [ ! -e "$DESTDIR/etc/fxgate/fxgate.toml" ]; then
    # The embedded default with a secure server and the Demo simulator: edit it, then restart.
    "$BIN" default-config >"$DESTDIR/etc/fxgate/fxgate.toml"
    chmod 0640 "$DESTDIR/etc/fxgate/fxgate.toml"
    echo "wrote $DESTDIR/etc/fxgate/fxgate.toml (the embedded default)"
fi
"$BIN" check-config "$DESTDIR/etc/fxgate/fxgate.toml"
if [ -z "$DESTDIR" ]; then
    chown -R fxgate:fxgate /etc/fxgate
    systemctl daemon-reload
    echo "installed. Start it now and at every boot:  systemctl enable --now fxgate"
    echo "logs: journalctl -u fxgate   (and /var/lib/fxgate/logs/)"
else
    echo "installed below $DESTDIR"
fi
