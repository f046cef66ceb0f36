"""Independent upstream OPC UA servers for the gateway's aggregation tests.

* ``start_ua_upstream(name, ...)`` - ``ua_upstream.py`` (asyncua) in its own process: namespaces
  ``urn:fxgate-test:NAME:plant`` / ``:extra``, object ``Plant`` with variables, methods, a custom
  structure, enum and event type (see the docstring of ua_upstream.py for the NodeIds).
* ``start_node_upstream()`` - ``tests/node/upstream_server.js`` (node-opcua): namespace
  ``urn:fxgate-test:node``, object ``Machine`` (Speed, Ticks, Multiply, Level and the
  ExclusiveLimitAlarm ``LevelAlarm`` on it).

Both return a ``Peer``: ``.port``, ``.url``, ``.stop()`` (SIGTERM, SIGKILL after 5 s),
``.kill()`` (SIGKILL: a crash), ``.restart(**overrides)`` (same port, same arguments unless
overridden, e.g. ``restart(uri_order="extra,plant")``), ``.log_text`` / ``.log_path``.

A peer's stdout and stderr go to a log file (never a pipe that could fill up) in its own
directory below ``run_dir()`` ($TMPDIR/fxgate-upstream-peers/run-<pid>-XXXX, the newest 3 runs
are kept); the path is printed when the peer does not get ready and is part of the error.
The certificate / PKI directory also lives there, so a restarted peer keeps its certificate
(``restart(cert_dir=...)`` with a new directory gives it a new one).
Peers get ``--parent-pid`` (this process) and exit by themselves when it is gone, so a test run
that dies does not leave servers behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fxgate_testlib import NODE_DIR, REPO_ROOT, free_port, log, node_bin, port_accepts

HERE = Path(__file__).resolve().parent
UA_UPSTREAM = HERE / "ua_upstream.py"
NODE_UPSTREAM = NODE_DIR / "upstream_server.js"
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
NODE_NS_URI = "urn:fxgate-test:node"


def venv_python() -> str:
    py = REPO_ROOT / ".venv" / "bin" / "python"
    return str(py) if os.access(py, os.X_OK) else sys.executable


def ua_namespaces(name: str) -> tuple[str, str]:
    """(plant, extra) namespace URIs of the ua_upstream peer called `name`."""
    return f"urn:fxgate-test:{name}:plant", f"urn:fxgate-test:{name}:extra"


class Peer:
    """One upstream server process. `options` are the keyword arguments `build_cmd` turns into
    a command line; restart() may override some of them."""

    def __init__(self, kind: str, name: str, port: int, options: dict, workdir: Path):
        self.kind = kind  # "ua" or "node"
        self.name = name
        self.port = port
        self.options = dict(options)
        self.workdir = workdir
        self.log_path = workdir / "peer.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- info -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/"

    @property
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def cert_path(self) -> Path:
        """The DER certificate of a secure ua peer (made by ua_upstream.py in its cert_dir)."""
        assert self.kind == "ua", "only ua peers have a cert_dir"
        return Path(self.options["cert_dir"]) / "server_cert.der"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __repr__(self) -> str:
        return f"<Peer {self.kind}:{self.name} {self.url} running={self.running()} log={self.log_path}>"

    # -- command line ---------------------------------------------------------------------
    def build_cmd(self) -> list[str]:
        o = self.options
        if self.kind == "ua":
            cmd = [venv_python(), str(UA_UPSTREAM), "--port", str(self.port), "--name", self.name,
                   "--security", o["security"], "--cert-dir", str(o["cert_dir"]), "--parent-pid", str(os.getpid())]
            if o.get("uri_order"):
                order = o["uri_order"]
                cmd += ["--uri-order", order if isinstance(order, str) else ",".join(order)]
            if o.get("user"):
                cmd += ["--user", o["user"]]
            if o.get("policies"):
                pol = o["policies"]
                cmd += ["--policies", pol if isinstance(pol, str) else ",".join(pol)]
            return cmd
        return [node_bin(), str(NODE_UPSTREAM), "--port", str(self.port), "--pki", str(o["pki"]),
                "--parent-pid", str(os.getpid())]

    # -- process control ------------------------------------------------------------------
    def start(self, timeout: float = READY_TIMEOUT_S) -> "Peer":
        assert not self.running(), f"{self!r} already running"
        self.starts += 1
        cmd = self.build_cmd()
        with open(self.log_path, "ab") as f:
            f.write(f"----- start #{self.starts}: {' '.join(cmd)} -----\n".encode())
            mark = f.tell()
            env = dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1", FORCE_COLOR="0")
            self.proc = subprocess.Popen(
                cmd,
                cwd=str(NODE_DIR if self.kind == "node" else HERE),
                stdin=subprocess.DEVNULL,
                stdout=f,
                stderr=subprocess.STDOUT,
                env=env,
            )
        marker = f"ready {self.port}".encode()
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                seen = any(line.strip() == marker for line in f)
            if seen and port_accepts(self.port):
                return self
            rc = self.proc.poll()
            if rc is not None or time.monotonic() >= deadline:
                why = f"exited with {rc}" if rc is not None else f"not ready within {timeout} s"
                self.kill()
                log(f"upstream peer {self.kind}:{self.name} {why}; log: {self.log_path}")
                raise RuntimeError(f"upstream peer {self.kind}:{self.name} on port {self.port} {why}; "
                                   f"log {self.log_path}:\n{self.log_text[-6000:]}")
            time.sleep(0.1)

    def _wait(self, timeout: float) -> bool:
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        """SIGKILL (a crash): the kernel closes its connections, no goodbye on the wire."""
        if self.running():
            self.proc.kill()
            if not self._wait(10):
                log(f"upstream peer {self!r} did not die 10 s after SIGKILL")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 5 s. Returns the exit code (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if not self._wait(STOP_GRACE_S):
                with open(self.log_path, "ab") as f:
                    f.write(f"----- no exit {STOP_GRACE_S} s after SIGTERM: killed -----\n".encode())
                self.kill()
        return self.proc.returncode

    def restart(self, timeout: float = READY_TIMEOUT_S, **overrides) -> "Peer":
        """Stops the peer (if running) and starts it again on the same port; keyword arguments
        replace the options given at creation (uri_order, security, user, cert_dir, policies for
        ua peers)."""
        unknown = set(overrides) - set(self.options)
        if unknown:
            raise TypeError(f"restart(): unknown option(s) {sorted(unknown)} for a {self.kind} peer")
        self.stop()
        self.options.update(overrides)
        return self.start(timeout)

    close = stop  # so modbus_peers.PeerSet.add(peer) can tear it down

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


PEERS_TMP = Path(tempfile.gettempdir()) / "fxgate-upstream-peers"
KEEP_RUNS = 3  # directories of earlier test processes kept for post-mortems (like pytest's tmp_path)
_run_dir: Path | None = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def run_dir() -> Path:
    """This test process's directory for peer logs and certificates:
    $TMPDIR/fxgate-upstream-peers/run-<pid>-XXXX. Directories of finished earlier runs are
    pruned to the newest KEEP_RUNS."""
    global _run_dir
    if _run_dir is None:
        PEERS_TMP.mkdir(parents=True, exist_ok=True)
        old = sorted(PEERS_TMP.glob("run-*"), key=lambda d: d.stat().st_mtime, reverse=True)
        for d in old[KEEP_RUNS - 1:]:
            pid = d.name.split("-")[1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(d, ignore_errors=True)
        _run_dir = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=PEERS_TMP))
    return _run_dir


def _workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=run_dir()))


def start_ua_upstream(
    name: str,
    port: int | None = None,
    uri_order: str | list[str] | None = None,
    security: str = "secure",
    user: str | None = None,
    cert_dir: str | Path | None = None,
    policies: str | list[str] | None = None,
    timeout: float = READY_TIMEOUT_S,
) -> Peer:
    """Starts ua_upstream.py (asyncua). uri_order: "extra,plant" (or a list) registers the extra
    namespace first; security: "secure" (Basic256Sha256 SignAndEncrypt only) or "none";
    policies (secure only): the endpoints offered instead, ua.SecurityPolicyType names such as
    ["Basic256Sha256_Sign", "Aes128Sha256RsaOaep_Sign"]; user: "u:p" (anonymous then refused).
    The certificate is made in cert_dir (default: the peer's own directory) unless it is there;
    ``restart(cert_dir=other)`` gives the peer a new key pair and certificate (same URI, hosts);
    ``peer.cert_path`` is the DER file in use."""
    assert security in ("secure", "none"), security
    workdir = _workdir(f"ua-{name}")
    options = {
        "uri_order": uri_order,
        "security": security,
        "user": user,
        "cert_dir": Path(cert_dir) if cert_dir is not None else workdir / "cert",
        "policies": policies,
    }
    return Peer("ua", name, port or free_port(), options, workdir).start(timeout)


def start_node_upstream(port: int | None = None, timeout: float = READY_TIMEOUT_S) -> Peer:
    """Starts tests/node/upstream_server.js (node-opcua); anonymous, None and
    Basic256Sha256/SignAndEncrypt, every client certificate accepted."""
    workdir = _workdir("node")
    return Peer("node", "node", port or free_port(), {"pki": workdir / "pki"}, workdir).start(timeout)
