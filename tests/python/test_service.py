"""The service install (packaging/): install.sh into a staging root (DESTDIR) with the built binary,
idempotent; the unit verified by `systemd-analyze verify` (no warning) and its sandbox rated by
`systemd-analyze security --offline`; the installed configuration is the embedded default and valid."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from fxgate_testlib import fxgate_bin, run_cli

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "packaging" / "install.sh"


def analyze() -> str:
    path = shutil.which("systemd-analyze")
    assert path, "systemd-analyze is missing: scripts/test installs Debian's systemd package"
    return path


def install(dest: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DESTDIR=str(dest), FXGATE_BIN=fxgate_bin())
    return subprocess.run(["bash", str(INSTALL)], env=env, capture_output=True, text=True, timeout=120)


def test_install_into_a_staging_root_is_idempotent(tmp_path):
    dest = tmp_path / "root"
    res = install(dest)
    assert res.returncode == 0, res.stdout + res.stderr
    binary = dest / "usr/local/bin/fxgate"
    unit = dest / "etc/systemd/system/fxgate.service"
    config = dest / "etc/fxgate/fxgate.toml"
    assert binary.read_bytes() == Path(fxgate_bin()).read_bytes() and os.access(binary, os.X_OK)
    assert unit.read_text() == (ROOT / "packaging/fxgate.service").read_text()
    assert config.read_text() == run_cli("default-config").stdout.decode(), "the embedded default is installed"
    assert oct(config.stat().st_mode & 0o777) == "0o640" and oct((dest / "etc/fxgate").stat().st_mode & 0o777) == "0o750"
    assert run_cli("check-config", str(config)).returncode == 0
    # A second run keeps an edited configuration.
    config.write_text(config.read_text().replace("port = 48050", "port = 48051"))
    res = install(dest)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "port = 48051" in config.read_text()
    # A broken configuration stops the install with the check's error (file:line:field).
    config.write_text("[server]\nport = 0\n")
    res = install(dest)
    assert res.returncode != 0 and "server.port" in res.stderr, res.stdout + res.stderr


def test_the_unit_verifies_and_is_sandboxed(tmp_path):
    text = (ROOT / "packaging/fxgate.service").read_text()
    for needed in ("User=fxgate", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=fxgate",
                   "--config /etc/fxgate/fxgate.toml", "--data-dir /var/lib/fxgate", "ReadWritePaths=/etc/fxgate"):
        assert needed in text, needed
    # verify wants the executables to exist: point them at the built binary.
    unit = tmp_path / "fxgate.service"
    unit.write_text(text.replace("/usr/local/bin/fxgate", fxgate_bin()))
    res = subprocess.run([analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr.strip() == "", f"rc {res.returncode}: {res.stderr}"
    # A unit with a mistake is caught the same way (so the check above means something).
    bad = tmp_path / "bad.service"
    bad.write_text(unit.read_text().replace("Type=exec", "Type=bogus"))
    res = subprocess.run([analyze(), "verify", str(bad)], capture_output=True, text=True, timeout=60)
    assert "Failed to parse service type" in res.stderr, res.stderr
    res = subprocess.run([analyze(), "security", "--offline=yes", str(unit)], capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", res.stdout + res.stderr)
    assert m, res.stdout + res.stderr
    assert float(m.group(1)) <= 2.0, f"exposure {m.group(1)} (0 = locked down, 10 = exposed)\n{res.stdout}"
