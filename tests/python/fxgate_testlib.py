"""Shared helpers for the fxgate end-to-end tests.

Everything here talks to a real `fxgate` binary (FXGATE_BIN) over real sockets.
The contract these helpers rely on is docs/interfaces.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.crypto import security_policies
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = REPO_ROOT / "tests" / "node"
TAGS_NS_URI = "urn:fxgate:tags"
READY_MARKER = "fxgate ready"
STARTUP_TIMEOUT_S = 60.0
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

SECURE_POLICIES = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
DEPRECATED_POLICIES = {
    "Basic128Rsa15": security_policies.SecurityPolicyBasic128Rsa15,
    "Basic256": security_policies.SecurityPolicyBasic256,
}
ALL_POLICIES = {**SECURE_POLICIES, **DEPRECATED_POLICIES}
POLICY_URI_PREFIX = "http://opcfoundation.org/UA/SecurityPolicy#"
NONE_POLICY_URI = POLICY_URI_PREFIX + "None"

# Values each Demo tag must have (see "Default config" in docs/interfaces.md).
DEMO_TAGS = {
    "Sine": ("Double", "sine"),
    "Ramp": ("Int32", "ramp"),
    "Toggle": ("Boolean", "toggle"),
    "Counter": ("UInt32", "counter"),
    "Text": ("String", "text"),
    "Setpoint": ("Double", "constant"),
}


def fxgate_bin() -> str:
    path = os.environ.get("FXGATE_BIN") or str(REPO_ROOT / "target" / "debug" / "fxgate")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(f"FXGATE_BIN={path!r} is not an executable file; build with `cargo build -p fxgate`")
    return os.path.abspath(path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """n distinct free ports (all sockets held open while choosing, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port_bindable(port: int, timeout: float = 30.0) -> None:
    """Waits until a listener could bind 0.0.0.0:`port`. The fixed ports of the embedded default
    (48050, 8480) lie in Linux's ephemeral range, so a client connection of an earlier test can
    hold one for a moment (seen once in CI: "port 48050 is already in use")."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        finally:
            s.close()


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# TOML writing (tiny, only what fxgate's config needs; keeps the dependency list short)
# --------------------------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    raise TypeError(f"cannot encode {v!r} as TOML")


def _inline(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_inline(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, dict) for x in v):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    return _toml_value(v)


def _table(out: list[str], path: str, table: dict, array: bool) -> None:
    """One table: plain keys first, then sub-tables ([path.k]) and arrays of tables ([[path.k]]).
    A dict whose key ends in `_inline` or a value under `inline` keys stays inline."""
    out.append(f"[[{path}]]" if array else f"[{path}]")
    subs = []
    for k, v in table.items():
        if isinstance(v, dict) and k not in INLINE_TABLE_KEYS:
            subs.append((k, v, False))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            subs.append((k, v, True))
        else:
            out.append(f"{k} = {_inline(v)}")
    for k, v, is_array in subs:
        if is_array:
            for item in v:
                _table(out, f"{path}.{k}", item, True)
        else:
            _table(out, f"{path}.{k}", v, False)
    out.append("")


# Keys whose dict values are written as inline tables (`backup = { host = ..., port = ... }`).
INLINE_TABLE_KEYS = {"backup"}


def to_toml(cfg: dict) -> str:
    """Serialize a config dict: sections ({"server": {...}}) become [server], lists of dicts
    ({"simulator": [{..., "tags": [{...}]}], "line": [{..., "tls": {...}}]}) become arrays of
    tables with their nested tables ([[simulator.tags]], [line.tls], [[device.tag]])."""
    out: list[str] = []
    for key, value in cfg.items():
        if isinstance(value, dict):
            _table(out, key, value, False)
        elif isinstance(value, list) and all(isinstance(x, dict) for x in value):
            for item in value:
                _table(out, key, item, True)
        else:
            raise KeyError(f"to_toml: top-level key {key!r} must be a table or an array of tables")
    return "\n".join(out) + "\n"


def demo_simulator(interval_ms: int = 500) -> dict:
    """The Demo simulator of the default config, written out explicitly."""
    return {
        "name": "Demo",
        "interval_ms": interval_ms,
        "tags": [
            {"name": "Sine", "type": "Double", "waveform": "sine", "writable": False},
            {"name": "Ramp", "type": "Int32", "waveform": "ramp", "writable": False},
            {"name": "Toggle", "type": "Boolean", "waveform": "toggle", "writable": False},
            {"name": "Counter", "type": "UInt32", "waveform": "counter", "writable": False},
            {"name": "Text", "type": "String", "waveform": "text", "writable": False},
            {"name": "Setpoint", "type": "Double", "waveform": "constant", "writable": True},
        ],
    }


# A simulated device whose tags carry DA-style metadata: AnalogItem (Temp), TwoStateDiscrete
# (Pump), MultiStateDiscrete (Mode), BaseAnalog (Flow), DataItem (Note), plain (Plain).
PLANT_SIMULATOR = {
    "name": "Plant",
    "interval_ms": 100,
    "tags": [
        {"name": "Temp", "type": "Double", "waveform": "sine", "amplitude": 10.0, "offset": 50.0,
         "period_s": 2.0, "eu_units": "°C", "eu_low": 0.0, "eu_high": 100.0,
         "instrument_low": -50.0, "instrument_high": 150.0, "description": "Reactor temperature"},
        {"name": "Pump", "type": "Boolean", "waveform": "toggle", "open_label": "Stopped",
         "close_label": "Running"},
        {"name": "Mode", "type": "Int32", "waveform": "ramp", "min": 0, "max": 2,
         "enum_strings": ["Stop", "Run", "Fault"]},
        {"name": "Flow", "type": "Float", "waveform": "random", "eu_units": "m³/h"},
        {"name": "Note", "type": "String", "waveform": "text", "scan_rate": 500.0,
         "description": "Operator note"},
        {"name": "Plain", "type": "UInt32", "waveform": "counter"},
    ],
}


def base_config(port: int, http_port: int) -> dict:
    return {
        "server": {
            "application_name": "fxgate",
            "host": "127.0.0.1",
            "port": port,
            "endpoint_url": f"opc.tcp://127.0.0.1:{port}/",
        },
        "http": {"listen": f"127.0.0.1:{http_port}"},
        "log": {"level": "info"},
        "simulator": [demo_simulator()],
    }


def deep_merge(base: dict, overrides: dict | None) -> dict:
    out = dict(base)
    for k, v in (overrides or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


# --------------------------------------------------------------------------------------------
# Gateway process
# --------------------------------------------------------------------------------------------


@dataclass
class Gateway:
    config: dict
    config_path: Path
    data_dir: Path
    port: int
    http_port: int
    proc: subprocess.Popen | None = None
    stderr_lines: list[str] = field(default_factory=list)
    embedded_default: bool = False  # run without --config (the embedded default configuration)
    keep_config_file: bool = False  # start on the file as it is (e.g. as the gateway rewrote it)
    _reader: threading.Thread | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)  # extra environment (e.g. FXGATE_NODE)

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def stderr_text(self) -> str:
        return "".join(self.stderr_lines)

    def write_config(self) -> None:
        self.config_path.write_text(to_toml(self.config))

    def spawn(self) -> subprocess.Popen:
        """Start the process without waiting for readiness."""
        assert self.proc is None or self.proc.poll() is not None, "gateway already running"
        config_args = []
        if not self.embedded_default:
            if not self.keep_config_file:
                self.write_config()
            config_args = ["--config", str(self.config_path), "--data-dir", str(self.data_dir)]
        env = dict(os.environ)
        env.pop("RUST_LOG", None)  # the config's [log] level must apply
        env["NO_COLOR"] = "1"
        env.setdefault("RUST_BACKTRACE", "1")
        env.update(self.env)
        self.starts += 1
        self.stderr_lines.append(f"----- fxgate start #{self.starts} -----\n")
        self.proc = subprocess.Popen(
            [fxgate_bin(), "run", *config_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=str(self.data_dir.parent),
            env=env,
        )
        proc = self.proc

        def pump() -> None:
            assert proc.stderr is not None
            for raw in iter(proc.stderr.readline, b""):
                self.stderr_lines.append(ANSI_RE.sub("", raw.decode("utf-8", "replace")))
            proc.stderr.close()

        self._reader = threading.Thread(target=pump, daemon=True)
        self._reader.start()
        return proc

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> "Gateway":
        if self.embedded_default:
            wait_port_bindable(self.port)
            wait_port_bindable(self.http_port)
        self.spawn()
        deadline = time.monotonic() + timeout
        mark = len(self.stderr_lines)
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._join_reader()
                raise RuntimeError(f"fxgate exited with {rc} before becoming ready; stderr:\n{self.stderr_text}")
            ready_logged = any(READY_MARKER in line for line in self.stderr_lines[mark:])
            if ready_logged and port_accepts(self.port):
                return self
            time.sleep(0.1)
        raise RuntimeError(
            f"fxgate not ready within {timeout}s (needs '{READY_MARKER}' on stderr and port {self.port} accepting);"
            f" stderr:\n{self.stderr_text}"
        )

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        rc = self.proc.wait(timeout=timeout)
        self._join_reader()
        return rc

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.stderr_lines.append("----- fxgate did not exit 10 s after SIGTERM; killed -----\n")
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._join_reader()
        return self.proc.returncode

    def restart(self) -> "Gateway":
        self.stop()
        return self.start()


class GatewayFactory:
    def __init__(self, root: Path):
        self.root = root
        self.gateways: list[Gateway] = []

    def create(self, overrides: dict | None = None, name: str | None = None) -> Gateway:
        idx = len(self.gateways)
        base = self.root / (name or f"gw{idx}")
        base.mkdir(parents=True, exist_ok=True)
        data_dir = base / "data"
        port, http_port = free_ports(2)
        cfg = deep_merge(base_config(port, http_port), overrides)
        # keep the ports consistent if an override replaced them
        port = cfg["server"]["port"]
        gw = Gateway(config=cfg, config_path=base / "fxgate.toml", data_dir=data_dir, port=port, http_port=http_port)
        listen = cfg.get("http", {}).get("listen", "")
        if listen.rpartition(":")[2].isdigit():
            gw.http_port = int(listen.rpartition(":")[2])
        self.gateways.append(gw)
        return gw

    def create_embedded_default(self) -> Gateway:
        """Exactly the README's `fxgate run`: no --config, no --data-dir (so the default, relative
        `./fxgate-data` below the working directory): port 48050, HTTP 127.0.0.1:8480."""
        base = self.root / f"gw{len(self.gateways)}"
        base.mkdir(parents=True, exist_ok=True)
        gw = Gateway(
            config={}, config_path=base / "unused.toml", data_dir=base / "fxgate-data", port=48050, http_port=8480,
            embedded_default=True,
        )
        self.gateways.append(gw)
        return gw

    def start(self, overrides: dict | None = None, data_dir_setup=None) -> Gateway:
        gw = self.create(overrides)
        if data_dir_setup is not None:
            data_dir_setup(gw.data_dir)
        return gw.start()

    def stop_all(self) -> None:
        for gw in self.gateways:
            gw.stop()

    def report(self) -> str:
        parts = []
        for i, gw in enumerate(self.gateways):
            parts.append(
                f"===== fxgate #{i} (port {gw.port}, http {gw.http_port}, data {gw.data_dir}) "
                f"rc={gw.proc.returncode if gw.proc else None} =====\n"
                + ("--- embedded default config ---\n" if gw.embedded_default
                   else f"--- config {gw.config_path} ---\n{to_toml(gw.config)}")
                + f"--- stderr ---\n{gw.stderr_text}"
            )
        return "\n".join(parts)


def run_cli(*args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [fxgate_bin(), *args],
        input=input if input is not None else b"",
        capture_output=True,
        timeout=timeout,
        env=env,
    )


def hash_password(pw: str) -> str:
    """Equivalent of `echo -n pw | fxgate users hash`."""
    res = run_cli("users", "hash", input=pw.encode())
    assert res.returncode == 0, f"users hash failed rc={res.returncode} stderr={res.stderr.decode()}"
    out = res.stdout.decode().strip()
    assert out.startswith("$argon2id$"), f"`users hash` must print an argon2id PHC string, got {out!r}"
    return out


# --------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------


@dataclass
class CertPair:
    cert: Path  # DER
    key: Path  # PEM
    app_uri: str

    @property
    def der(self) -> bytes:
        return self.cert.read_bytes()

    @property
    def thumbprint(self) -> str:
        """SHA1 of the DER encoding, lowercase hex (what OPC UA calls the thumbprint)."""
        return hashlib.sha1(self.der).hexdigest()

    def x509(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)


def make_cert(directory: Path, app_uri: str) -> CertPair:
    """RSA-2048 self-signed application certificate (CN = app_uri, SAN URI = app_uri + DNS hostname)."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / "key.pem", directory / "cert.der"
    asyncio.run(
        setup_self_signed_certificate(
            key,
            cert,
            app_uri,
            socket.gethostname(),
            [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH],
            {"organizationName": "fxgate tests"},
        )
    )
    return CertPair(cert=cert, key=key, app_uri=app_uri)


# --------------------------------------------------------------------------------------------
# asyncua client helpers
# --------------------------------------------------------------------------------------------


async def connect(
    gw_or_url: Gateway | str,
    cert: CertPair | None,
    policy: str | None = "Basic256Sha256",
    mode: str = "SignAndEncrypt",
    username: str | None = None,
    password: str | None = None,
    user_cert: CertPair | None = None,
    timeout: float = 10,
) -> Client:
    """Connect a session. policy=None means the None security policy."""
    url = gw_or_url.url if isinstance(gw_or_url, Gateway) else gw_or_url
    client = Client(url, timeout=timeout)
    client.name = "fxgate-tests"
    if cert is not None:
        client.application_uri = cert.app_uri
    if policy is not None:
        assert cert is not None, "a secure policy needs a client certificate"
        await client.set_security(
            ALL_POLICIES[policy],
            str(cert.cert),
            str(cert.key),
            mode=getattr(ua.MessageSecurityMode, mode),
        )
    if username is not None:
        client.set_user(username)
    if password is not None:
        client.set_password(password)
    if user_cert is not None:
        await client.load_client_certificate(str(user_cert.cert))
        await client.load_private_key(user_cert.key)
    await client.connect()
    return client


async def tags_ns(client: Client) -> int:
    return await client.get_namespace_index(TAGS_NS_URI)


async def tag_node(client: Client, name: str, source: str = "Demo"):
    ns = await tags_ns(client)
    return client.get_node(ua.NodeId(f"{source}/{name}", ns))


async def read_dv(client: Client, name: str) -> ua.DataValue:
    node = await tag_node(client, name)
    return await node.read_data_value()


def read_value(gw, cert, name: str, **login):
    """The value of Demo tag `name` as a fresh asyncua session reads it (blocking)."""

    async def main():
        client = await connect(gw, cert, **login)
        try:
            return (await read_dv(client, name)).Value.Value
        finally:
            await safe_disconnect(client)

    return asyncio.run(main())


def status_name(exc: BaseException) -> str:
    """Name of the OPC UA status code carried by an asyncua exception ('' if none)."""
    code = getattr(exc, "code", None)
    if code is None and isinstance(exc, ua.UaStatusCodeError):
        code = exc.args[0] if exc.args else None
    if code is None:
        return ""
    try:
        return ua.StatusCode(code).name
    except Exception:  # noqa: BLE001
        return str(code)


async def safe_disconnect(client: Client | None) -> None:
    if client is None:
        return
    try:
        await asyncio.wait_for(client.disconnect(), 10)
    except Exception:  # noqa: BLE001 - teardown only
        pass


def node_bin() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("`node` is not on PATH; the node-opcua interop tests need Node.js 20+")
    if not (NODE_DIR / "node_modules" / "node-opcua").is_dir():
        raise RuntimeError(f"{NODE_DIR}/node_modules is missing: run ./scripts/test (it runs npm ci)")
    return node


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class EventCollector:
    """Subscription handler collecting event notifications."""

    def __init__(self):
        self.events = []

    def event_notification(self, event):
        self.events.append(event)

    async def wait(self, pred, timeout: float = 10):
        """The first event for which pred(event) holds, waiting up to `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events:
                if pred(ev):
                    return ev
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching event in {timeout} s; got {self.events}")
