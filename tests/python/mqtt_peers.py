"""Real peers for the MQTT client end-to-end tests (test_mqtt.py, self-test test_mqtt_peers.py).

* ``Mosquitto`` - the Debian ``mosquitto`` broker (2.0.x) in its own process with its own config
  file in a temporary directory: one main listener on a free 127.0.0.1 port, plain, TLS (server
  certificate from modbus_peers.make_pki, optionally ``require_certificate``) or TLS-PSK
  (``psk_hint`` + ``psk_file`` with ``identity:hexkey``), plus an optional extra plain listener
  (``plain_port``) for test clients that cannot speak the main listener's TLS flavour (Python
  3.11's ssl module has no PSK). Optional password file (anonymous logins are then refused),
  optional persistence (sessions and queued QoS 1 messages survive a graceful restart), optional
  bridges to other brokers. start(), stop() (SIGTERM, graceful), kill() (SIGKILL), restart on the
  same port(s), wait_ready() until every listener accepts. Its log (``log_type all``: every
  CONNECT with client id / protocol / clean flag / keep-alive, every PUBLISH in and out) is kept
  in ``<dir>/mosquitto.log`` and printed at teardown.
* ``Subscriber`` - a paho-mqtt 2.x client on a background thread (loop_start) subscribed to topic
  filters (re-subscribing after every reconnect), collecting every message as ``Msg`` (topic,
  payload bytes, retain flag, qos, receive time) in a lock-protected list; ``wait_for``.
* ``Publisher`` / ``publish`` - publishes and waits until the publish is complete (PUBACK for
  QoS 1, PUBCOMP for QoS 2, written for QoS 0).
* ``try_connect`` - one CONNECT, returns the CONNACK's paho ReasonCode (refused logins).
* ``SniTerminator`` - a TLS terminator (Python ssl, server certificate, ``sni_callback``) in front
  of a plain broker listener; records the server name each client sent (SNI) and forwards the
  bytes both ways.
* ``mosquitto_cli`` - runs Debian's ``mosquitto_pub`` / ``mosquitto_sub`` (package
  ``mosquitto-clients``; used for TLS-PSK where paho, on Python 3.11, cannot).

Debian packages: ``mosquitto`` (broker, ``/usr/sbin/mosquitto``, and ``mosquitto_passwd``),
``mosquitto-clients``; ./scripts/test installs them. Python: ``paho-mqtt`` (tests/requirements.txt).
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

HOST = "127.0.0.1"


# --------------------------------------------------------------------------------------------
# binaries
# --------------------------------------------------------------------------------------------


def _find(name: str, extra_dirs: Iterable[str] = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")) -> str | None:
    path = shutil.which(name)
    if path:
        return path
    for d in extra_dirs:
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def mosquitto_bin() -> str:
    """The broker binary: Debian installs it as /usr/sbin/mosquitto (not on a non-root PATH)."""
    path = _find("mosquitto")
    if path is None:
        raise RuntimeError("mosquitto is not installed: `apt-get install mosquitto` (./scripts/test does it)")
    return path


def mosquitto_client_bin(name: str) -> str:
    path = _find(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: `apt-get install mosquitto-clients` (./scripts/test does it)")
    return path


def port_accepts(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# password file
# --------------------------------------------------------------------------------------------


def write_password_file(path: Path, users: dict[str, str]) -> Path:
    """A mosquitto password file. With `mosquitto_passwd` (Debian package mosquitto) the broker's
    own tool writes it; without, the entries are written as mosquitto's `$6$` format
    (base64(salt) and base64(SHA-512(password || salt))), which mosquitto 2.0 still reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    tool = _find("mosquitto_passwd")
    if tool:
        path.touch(mode=0o600)
        for user, pw in users.items():
            res = subprocess.run([tool, "-b", str(path), user, pw], capture_output=True, timeout=30)
            if res.returncode != 0:
                raise RuntimeError(f"mosquitto_passwd failed ({res.returncode}): {res.stderr.decode()}")
    else:
        lines = []
        for user, pw in users.items():
            salt = os.urandom(12)
            digest = hashlib.sha512(pw.encode() + salt).digest()
            lines.append(f"{user}:$6${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}")
        path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


# --------------------------------------------------------------------------------------------
# Mosquitto
# --------------------------------------------------------------------------------------------


@dataclass
class BrokerTls:
    """A TLS listener: server certificate/key (PEM); `ca` (PEM) is needed with require_certificate."""

    cert: Path
    key: Path
    ca: Path | None = None
    require_certificate: bool = False
    version: str = ""  # "" (mosquitto's default: 1.2 and 1.3) | "tlsv1.2" | "tlsv1.3"


@dataclass
class BrokerPsk:
    """A TLS-PSK listener: the key is hex (as in fxgate's pre_shared_key and mosquitto's psk_file)."""

    identity: str
    key_hex: str
    hint: str = "fxgate-test"
    version: str = ""  # "" | "tlsv1.2" | "tlsv1.3"
    more: dict[str, str] = field(default_factory=dict)  # further identity -> hex key entries


@dataclass
class Bridge:
    """`connection <name>` to another broker on 127.0.0.1:port, `topic <pattern> <direction> <qos>`."""

    name: str
    port: int
    topic: str = "#"
    direction: str = "both"
    qos: int = 0


class Mosquitto:
    """One mosquitto broker process. `mode`: "plain" | "tls" (needs `tls`) | "psk" (needs `psk`)
    on the main `port`; `plain_port` adds a plain listener (same broker) for test clients."""

    def __init__(self, directory: Path, port: int, *, mode: str = "plain", tls: BrokerTls | None = None,
                 psk: BrokerPsk | None = None, plain_port: int | None = None,
                 passwords: dict[str, str] | None = None, persistence: bool = False,
                 bridges: Iterable[Bridge] = (), extra: Iterable[str] = (), name: str = "mosquitto"):
        assert mode in ("plain", "tls", "psk"), mode
        assert mode != "tls" or tls is not None, "mode tls needs tls=BrokerTls(...)"
        assert mode != "psk" or psk is not None, "mode psk needs psk=BrokerPsk(...)"
        self.name = name
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.mode = mode
        self.tls = tls
        self.psk = psk
        self.plain_port = plain_port
        self.passwords = dict(passwords or {})
        self.persistence = persistence
        self.bridges = list(bridges)
        self.extra = list(extra)
        self.conf_path = self.dir / f"{name}.conf"
        self.log_path = self.dir / f"{name}.log"
        self.out_path = self.dir / f"{name}.stdout"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.write_config()

    # -- config ----------------------------------------------------------------------------
    @property
    def ports(self) -> list[int]:
        return [self.port] + ([self.plain_port] if self.plain_port else [])

    @property
    def client_port(self) -> int:
        """Where a paho test client connects without TLS: the plain listener (main or extra)."""
        if self.mode == "plain":
            return self.port
        assert self.plain_port, f"{self.name}: mode {self.mode} without plain_port has no plain listener"
        return self.plain_port

    def write_config(self) -> None:
        user = pwd.getpwuid(os.getuid()).pw_name  # as root: stay root (no drop to user `mosquitto`)
        lines = [
            f"# {self.name}: written by tests/python/mqtt_peers.py",
            f"user {user}",
            "per_listener_settings false",
            f"allow_anonymous {'false' if self.passwords else 'true'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"log_dest file {self.log_path}",
            "log_type all",
            "log_timestamp true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "connection_messages true",
            "max_queued_messages 100000",
            "max_inflight_messages 100",
        ]
        if self.persistence:
            (self.dir / "db").mkdir(exist_ok=True)
            lines += [f"persistence_location {self.dir / 'db'}/", "autosave_interval 1"]
        if self.passwords:
            lines.append(f"password_file {write_password_file(self.dir / f'{self.name}.passwd', self.passwords)}")
        if self.psk is not None:
            psk_file = self.dir / f"{self.name}.psk"
            entries = {self.psk.identity: self.psk.key_hex, **self.psk.more}
            psk_file.write_text("".join(f"{i}:{k}\n" for i, k in entries.items()))
            os.chmod(psk_file, 0o600)
            lines.append(f"psk_file {psk_file}")
        lines.append(f"listener {self.port} {HOST}")
        if self.mode == "tls":
            t = self.tls
            lines += [f"certfile {t.cert}", f"keyfile {t.key}"]
            if t.ca is not None:
                lines.append(f"cafile {t.ca}")
            lines.append(f"require_certificate {'true' if t.require_certificate else 'false'}")
            if t.version:
                lines.append(f"tls_version {t.version}")
        elif self.mode == "psk":
            lines += [f"psk_hint {self.psk.hint}", "use_identity_as_username false"]
            if self.psk.version:
                lines.append(f"tls_version {self.psk.version}")
        if self.plain_port:
            lines.append(f"listener {self.plain_port} {HOST}")
        for b in self.bridges:
            lines += [
                "",
                f"connection {b.name}",
                f"address {HOST}:{b.port}",
                f"topic {b.topic} {b.direction} {b.qos}",
                f"remote_clientid {self.name}.{b.name}",  # default: <hostname>.<connection>
                f"local_clientid local.{self.name}.{b.name}",
                "cleansession true",
                "bridge_protocol_version mqttv311",
                "try_private true",
                "notifications false",
                "start_type automatic",
                "restart_timeout 1",
                "keepalive_interval 5",
            ]
        lines += list(self.extra)
        self.conf_path.write_text("\n".join(lines) + "\n")

    # -- process ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 15.0) -> "Mosquitto":
        assert not self.running, f"{self.name} already running"
        self.starts += 1
        with open(self.log_path, "a") as f:
            f.write(f"----- {self.name} start #{self.starts} -----\n")
        out = open(self.out_path, "ab")
        try:
            self.proc = subprocess.Popen([mosquitto_bin(), "-c", str(self.conf_path)], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, cwd=str(self.dir))
        finally:
            out.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                rc = None if self.proc is None else self.proc.returncode
                raise RuntimeError(f"{self.name} exited ({rc}) before listening on {self.ports}:\n{self.output}\n{self.log}")
            if all(port_accepts(p) for p in self.ports):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} does not listen on {self.ports} within {timeout}s:\n{self.output}\n{self.log}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful: SIGTERM (clients see the TCP connection close; persistence is saved)."""
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._wait_ports_closed()

    def kill(self) -> None:
        """SIGKILL: the broker vanishes (no will handling, nothing saved)."""
        if self.running:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._wait_ports_closed()

    def _wait_ports_closed(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while any(port_accepts(p) for p in self.ports) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self, graceful: bool = True) -> "Mosquitto":
        """Stop (SIGTERM, or SIGKILL with graceful=False) and start again on the same port(s)."""
        self.stop() if graceful else self.kill()
        return self.start()

    def close(self) -> None:
        self.stop()

    # -- logs ------------------------------------------------------------------------------
    @property
    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    @property
    def output(self) -> str:
        try:
            return self.out_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.log
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {needle!r} not in its log within {timeout}s:\n{text[-4000:]}")
            time.sleep(0.05)

    def log_mark(self) -> int:
        """The log's current length: pass it as `since` to look only at what comes after."""
        return len(self.log)

    def wait_subscribed(self, client_id: str, filters: Iterable[str], qos: int = 1, timeout: float = 10.0,
                        since: int = 0) -> None:
        """Until the broker has added every subscription `filters` of `client_id` with `qos`
        (mosquitto logs "<client id> <qos> <filter>" as it adds one; single-threaded, so a
        message published after this returns is routed to it)."""
        filters = list(filters)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log[since:]
            missing = [f for f in filters if f": {client_id} {qos} {f}\n" not in text]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {client_id} did not subscribe {missing} with QoS {qos} within "
                                     f"{timeout}s:\n{text[-4000:]}")
            time.sleep(0.02)

    def __repr__(self) -> str:
        return f"Mosquitto({self.name}, {self.mode}, ports={self.ports})"


def bridged_pair(directory: Path, port_a: int, port_b: int, topic: str = "#", qos: int = 0) -> tuple[Mosquitto, Mosquitto]:
    """Two plain brokers, A bridged to B (`connection` on A, `topic <topic> both <qos>`): what is
    published on either reaches subscribers on both. Not started (start B first, then A)."""
    b = Mosquitto(Path(directory) / "b", port_b, name="broker-b")
    a = Mosquitto(Path(directory) / "a", port_a, name="broker-a", bridges=[Bridge("a-to-b", port_b, topic, "both", qos)])
    return a, b


def wait_bridged(port_from: int, sub_to: "Subscriber", topic: str = "bridge/probe", timeout: float = 10.0) -> None:
    """Publishes probes on the broker at port_from until one reaches sub_to (a subscriber on the
    other broker whose filters match `topic`): the bridge is connected and subscribed."""
    deadline = time.monotonic() + timeout
    i = 0
    while True:
        i += 1
        publish(port_from, topic, f"probe {i}")
        try:
            sub_to.wait_message(lambda m: m.topic == topic, 0.2)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"no probe from port {port_from} reached {sub_to!r} within {timeout}s")


# --------------------------------------------------------------------------------------------
# paho-mqtt 2.x clients
# --------------------------------------------------------------------------------------------


def _protocol(version: str | int) -> MQTTProtocolVersion:
    return MQTTProtocolVersion.MQTTv5 if str(version) == "5" else MQTTProtocolVersion.MQTTv311


def tls_context(ca: Path | str | None = None, cert: Path | str | None = None, key: Path | str | None = None,
                check_hostname: bool = False) -> ssl.SSLContext:
    """A client context trusting `ca` (no host name check unless asked), presenting cert/key if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    if ca is not None:
        ctx.load_verify_locations(str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def _new_client(client_id: str, version: str | int, clean: bool, tls: ssl.SSLContext | None,
                username: str | None, password: str | None) -> mqtt.Client:
    proto = _protocol(version)
    kw: dict[str, Any] = {"callback_api_version": CallbackAPIVersion.VERSION2, "client_id": client_id,
                          "protocol": proto}
    if proto != MQTTProtocolVersion.MQTTv5:
        kw["clean_session"] = clean
    c = mqtt.Client(**kw)
    if tls is not None:
        c.tls_set_context(tls)
    if username is not None:
        c.username_pw_set(username, password)
    return c


def _connect_kw(version: str | int, clean: bool) -> dict:
    if _protocol(version) == MQTTProtocolVersion.MQTTv5:
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes

        props = Properties(PacketTypes.CONNECT)
        if not clean:
            props.SessionExpiryInterval = 3600
        return {"clean_start": clean, "properties": props}
    return {}


@dataclass(frozen=True)
class Msg:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    t: float  # time.monotonic() at reception
    wall: float  # time.time() at reception

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")

    def json(self) -> Any:
        import json

        return json.loads(self.payload)


class Subscriber:
    """A paho client subscribed to `topics` (filter or list of filters; QoS `qos`), collecting
    every message. Subscriptions are (re)made in on_connect, so it follows a broker restart
    (paho's loop reconnects on its own after 0.2 s, doubling up to 1 s). `clean=False` keeps a
    persistent session (give a fixed client_id)."""

    def __init__(self, port: int, topics: str | Iterable[str], tls: ssl.SSLContext | None = None, *, qos: int = 1,
                 client_id: str | None = None, clean: bool = True, version: str | int = "3.1.1",
                 username: str | None = None, password: str | None = None, host: str = HOST,
                 wait: bool = True, timeout: float = 10.0):
        self.port = port
        self.host = host
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.qos = qos
        self.version = version
        self.clean = clean
        self.client_id = client_id or f"sub-{os.getpid()}-{id(self):x}"
        self._lock = threading.Lock()
        self._msgs: list[Msg] = []
        self.connects = 0  # CONNACKs accepted
        self.subacks = 0
        self.session_present: list[bool] = []
        self.connack_codes: list[ReasonCode] = []
        self.disconnects = 0
        self.client = _new_client(self.client_id, version, clean, tls, username, password)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=1)  # floats work (paho 2.2 sleeps on them)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.client.connect_async(host, port, keepalive=30, **_connect_kw(version, clean))
        self.client.loop_start()
        if wait:
            self.wait_subscribed(timeout)

    # paho callbacks (the loop thread)
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        with self._lock:
            self.connack_codes.append(reason_code)
        if reason_code.is_failure:
            return
        with self._lock:
            self.connects += 1
            self.session_present.append(bool(flags.session_present))
        client.subscribe([(t, self.qos) for t in self.topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self._lock:
            self.subacks += 1

    def _on_message(self, client, userdata, message):
        m = Msg(message.topic, bytes(message.payload), bool(message.retain), int(message.qos),
                time.monotonic(), time.time())
        with self._lock:
            self._msgs.append(m)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self._lock:
            self.disconnects += 1

    # test side
    def wait_subscribed(self, timeout: float = 10.0, count: int = 1) -> None:
        """Until `count` SUBACKs arrived (1: the first subscription; connects+... after a reconnect)."""
        deadline = time.monotonic() + timeout
        while self.subacks < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"subscriber {self.client_id} on {self.port}: no SUBACK #{count} within {timeout}s "
                                     f"(CONNACKs {self.connack_codes})")
            time.sleep(0.01)

    @property
    def messages(self) -> list[Msg]:
        with self._lock:
            return list(self._msgs)

    def on(self, topic: str) -> list[Msg]:
        return [m for m in self.messages if m.topic == topic]

    def clear(self) -> None:
        with self._lock:
            self._msgs.clear()

    def wait_for(self, predicate: Callable[[list[Msg]], Any], timeout: float = 10.0, what: str = "") -> Any:
        """Calls predicate(messages so far) until it returns something truthy; returns that."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages
            v = predicate(msgs)
            if v:
                return v
            if time.monotonic() > deadline:
                tail = "\n".join(f"  {m.topic} r{int(m.retain)} q{m.qos} {m.payload[:200]!r}" for m in msgs[-20:])
                raise AssertionError(f"subscriber {self.client_id} on port {self.port}: {what or 'condition'} not met "
                                     f"within {timeout}s; {len(msgs)} messages, last:\n{tail}")
            time.sleep(0.01)

    def wait_message(self, pred: Callable[[Msg], bool], timeout: float = 10.0, what: str = "") -> Msg:
        """The first message (oldest) for which pred(msg) holds."""
        return self.wait_for(lambda ms: next((m for m in ms if pred(m)), None), timeout, what)

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - teardown
            pass
        self.client.loop_stop()

    def __repr__(self) -> str:
        return f"Subscriber({self.client_id}, port={self.port}, topics={self.topics})"


class Publisher:
    """A connected paho client; publish() returns once the publish is complete."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None, *, client_id: str | None = None,
                 version: str | int = "3.1.1", username: str | None = None, password: str | None = None,
                 host: str = HOST, timeout: float = 10.0):
        self.port = port
        self.client_id = client_id or f"pub-{os.getpid()}-{id(self):x}"
        self._connected = threading.Event()
        self.connack: ReasonCode | None = None
        self.client = _new_client(self.client_id, version, True, tls, username, password)
        self.client.on_connect = self._on_connect
        self.client.connect_async(host, port, keepalive=30, **_connect_kw(version, True))
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.close()
            raise AssertionError(f"publisher on {host}:{port}: no CONNACK within {timeout}s")
        if self.connack is not None and self.connack.is_failure:
            self.close()
            raise AssertionError(f"publisher on {host}:{port}: connection refused: {self.connack}")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = reason_code
        self._connected.set()

    def publish(self, topic: str, payload: bytes | str | int | float, qos: int = 1, retain: bool = False,
                timeout: float = 10.0) -> None:
        if isinstance(payload, (int, float)) and not isinstance(payload, bool):
            payload = str(payload)
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise AssertionError(f"publish to {topic} on port {self.port} not complete within {timeout}s (rc {info.rc})")

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001
            pass
        self.client.loop_stop()


def publish(port: int, topic: str, payload: bytes | str | int | float, qos: int = 1, retain: bool = False,
            tls: ssl.SSLContext | None = None, **kw) -> None:
    """One publish on a fresh connection, complete (PUBACK / PUBCOMP) before it returns."""
    p = Publisher(port, tls, **kw)
    try:
        p.publish(topic, payload, qos=qos, retain=retain)
    finally:
        p.close()


def try_connect(port: int, username: str | None = None, password: str | None = None, *,
                tls: ssl.SSLContext | None = None, version: str | int = "3.1.1", timeout: float = 10.0) -> ReasonCode:
    """One CONNECT; the CONNACK's reason code (paho maps MQTT 3.1.1 return codes to v5 reason codes:
    4 bad user name or password -> "Bad user name or password" (134), 5 -> "Not authorized" (135))."""
    got: list[ReasonCode] = []
    ev = threading.Event()
    c = _new_client(f"probe-{os.getpid()}-{time.monotonic_ns()}", version, True, tls, username, password)

    def on_connect(client, userdata, flags, reason_code, properties):
        got.append(reason_code)
        ev.set()

    c.on_connect = on_connect
    c.connect_async(HOST, port, keepalive=30, **_connect_kw(version, True))
    c.loop_start()
    try:
        if not ev.wait(timeout):
            raise AssertionError(f"no CONNACK from port {port} within {timeout}s")
        return got[0]
    finally:
        try:
            c.disconnect()
        except Exception:  # noqa: BLE001
            pass
        c.loop_stop()


# --------------------------------------------------------------------------------------------
# mosquitto_pub / mosquitto_sub (TLS-PSK from the test side)
# --------------------------------------------------------------------------------------------


def psk_args(psk: BrokerPsk) -> list[str]:
    return ["--psk", psk.key_hex, "--psk-identity", psk.identity]


def mosquitto_pub(port: int, topic: str, message: str, *args: str, qos: int = 1, timeout: float = 15.0) -> subprocess.CompletedProcess:
    return subprocess.run([mosquitto_client_bin("mosquitto_pub"), "-h", HOST, "-p", str(port), "-t", topic,
                           "-m", message, "-q", str(qos), *args], capture_output=True, timeout=timeout)


class MosquittoSub:
    """`mosquitto_sub -v` in the background (e.g. over TLS-PSK); lines "topic payload". Its stdout
    is block-buffered until a message arrives: wait for the broker's "Sending SUBACK to <client_id>"
    (Mosquitto.wait_log) to know it is subscribed."""

    _n = 0

    def __init__(self, port: int, topic: str, *args: str, count: int | None = None, qos: int = 1,
                 client_id: str | None = None):
        MosquittoSub._n += 1
        self.client_id = client_id or f"msub-{os.getpid()}-{MosquittoSub._n}"
        cmd = [mosquitto_client_bin("mosquitto_sub"), "-h", HOST, "-p", str(port), "-t", topic, "-v",
               "-q", str(qos), "-i", self.client_id, *args]
        if count is not None:
            cmd += ["-C", str(count)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = bytearray()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self) -> None:
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            self.buf.extend(chunk)

    @property
    def text(self) -> str:
        return bytes(self.buf).decode("utf-8", "replace")

    def wait_text(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if time.monotonic() > deadline:
                raise AssertionError(f"mosquitto_sub: {needle!r} not seen within {timeout}s (rc {self.proc.poll()}):\n{self.text}")
            time.sleep(0.02)
        return self.text

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._t.join(timeout=2)
        self.proc.stdout.close()


def shut(*socks: socket.socket) -> None:
    """Shuts down and closes each socket; one already closed is skipped."""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# SNI: a TLS terminator in front of a plain listener
# --------------------------------------------------------------------------------------------


class SniTerminator:
    """Accepts TLS on 127.0.0.1:port with cert/key, records the SNI server name of every client
    handshake (None when the client sent none) and forwards the decrypted bytes to the plain
    listener 127.0.0.1:target_port (and back)."""

    def __init__(self, port: int, target_port: int, cert: Path, key: Path, name: str = "sni-terminator"):
        self.port = port
        self.target_port = target_port
        self.name = name
        self.server_names: list[str | None] = []
        self.errors: list[str] = []
        self.handshakes = 0
        self._lock = threading.Lock()
        self._closed = False
        self._socks: list[socket.socket] = []
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.ctx.sni_callback = self._sni
        self._pending_name: dict[int, str | None] = {}
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, port))
        self.lsock.listen(16)
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    def _sni(self, sslobj, server_name, ctx):
        with self._lock:
            self.server_names.append(server_name)
        return None

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        before = len(self.server_names)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError) as e:
            with self._lock:
                self.errors.append(f"handshake: {e!r}")
            conn.close()
            return
        with self._lock:
            self.handshakes += 1
            if len(self.server_names) == before:  # no SNI extension: the callback was not called
                self.server_names.append(None)
        try:
            up = socket.create_connection((HOST, self.target_port), timeout=5)
        except OSError as e:
            with self._lock:
                self.errors.append(f"upstream: {e!r}")
            tls.close()
            return
        tls.settimeout(None)
        up.settimeout(None)
        with self._lock:
            self._socks += [tls, up]

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(tls, up), daemon=True).start()
        pump(up, tls)
        for s in (tls, up):
            try:
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        with self._lock:
            socks = list(self._socks)
        shut(self.lsock, *socks)


# --------------------------------------------------------------------------------------------
# cleanup registry
# --------------------------------------------------------------------------------------------


class MqttPeers:
    """Every peer a test started; close() stops them (subscribers first) and prints the broker
    logs (pytest shows them with a failing test)."""

    def __init__(self, tmp: Path):
        self.tmp = Path(tmp)
        self.items: list = []

    def broker(self, port: int, name: str = "mosquitto", start: bool = True, **kw) -> Mosquitto:
        m = Mosquitto(self.tmp / name, port, name=name, **kw)
        self.items.append(m)
        return m.start() if start else m

    def subscriber(self, port: int, topics, tls=None, **kw) -> Subscriber:
        s = Subscriber(port, topics, tls, **kw)
        self.items.append(s)
        return s

    def publisher(self, port: int, tls=None, **kw) -> Publisher:
        p = Publisher(port, tls, **kw)
        self.items.append(p)
        return p

    def add(self, obj):
        self.items.append(obj)
        return obj

    def close(self) -> None:
        order = sorted(self.items, key=lambda o: isinstance(o, Mosquitto))  # clients before brokers
        for obj in order:
            try:
                obj.close()
            except Exception as exc:  # noqa: BLE001 - teardown must go on
                print(f"teardown of {obj!r} failed: {exc!r}", file=sys.stderr)
        for obj in order:
            if isinstance(obj, Mosquitto):
                log = obj.log
                print(f"===== {obj.name} (ports {obj.ports}, {obj.mode}) log (last 30000 chars) =====\n"
                      f"{log[-30000:]}\n{obj.output}", file=sys.stderr)
            elif isinstance(obj, SniTerminator):
                print(f"===== {obj.name}: server names {obj.server_names}, errors {obj.errors}", file=sys.stderr)
