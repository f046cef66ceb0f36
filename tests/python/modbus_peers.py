"""Real peers for the line / Modbus end-to-end tests (test_modbus.py, test_lines_tls.py).

* ``ModbusDevice`` - a pymodbus (3.16, SimData/SimDevice API) Modbus TCP or TLS server in a
  *separate process* (this file run as ``python modbus_peers.py serve``), so a test can kill
  and restart it to simulate the loss of a device. Its registers can be read and changed while
  it runs, it records the requests it received (function code, address, count) and it can
  answer chosen addresses with chosen exception codes.
* ``RawTcpPeer`` - a plain TCP server (python socket, in-process thread) that answers every
  request with garbage or with a truncated MBAP frame.
* ``make_pki`` - test certificates (a CA, a server and a client certificate signed by it, and a
  second, untrusted CA with its own server/client certificates), written as PEM files.
* ``OpenSSLProc`` / ``s_server`` / ``s_client_modbus`` - the ``openssl`` CLI as a TLS peer.
* ``mb_*`` - a tiny raw Modbus TCP client (MBAP framing by hand) that works over any socket,
  including TLS sockets, and reports exception codes exactly.
* ``extra_toml`` / ``start_gateway`` - fxgate's ``[[line]]``, ``[[device]]`` and
  ``[[modbus_server]]`` sections (fxgate_testlib.to_toml only writes the older sections).
* ``encode`` / ``decode`` - the register encoding of docs/interfaces.md ("Lines and Modbus"),
  written independently of fxgate: word_order big = most significant register first, little =
  least significant first; byte_order big = AB, little = BA within each register.

The module keeps its top-level imports to the standard library so the device subprocess
starts quickly; pymodbus, cryptography and the fxgate harness are imported where needed.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from fxgate_testlib import _inline

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------
# Register encoding (independent of fxgate)
# --------------------------------------------------------------------------------------------

_STRUCT = {
    "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f",
    "int64": ">q", "uint64": ">Q", "float64": ">d",
}


def _words(data: bytes, word_order: str, byte_order: str) -> list[int]:
    words = [data[i:i + 2] for i in range(0, len(data), 2)]
    if word_order == "little":
        words.reverse()
    if byte_order == "little":
        words = [w[::-1] for w in words]
    return [int.from_bytes(w, "big") for w in words]


def encode(type_: str, value, word_order: str = "big", byte_order: str = "big", length: int = 0) -> list[int]:
    """Registers holding `value` as `type_` (no scaling)."""
    if type_ == "string":
        raw = value.encode()
        assert len(raw) <= 2 * length, (value, length)
        raw = raw.ljust(2 * length, b"\0")
        # text runs register after register; only the bytes inside a register may swap
        return _words(raw, "big", byte_order)
    return _words(struct.pack(_STRUCT[type_], value), word_order, byte_order)


def decode(type_: str, regs: list[int], word_order: str = "big", byte_order: str = "big"):
    """Inverse of encode()."""
    words = [int(r).to_bytes(2, "big") for r in regs]
    if byte_order == "little":
        words = [w[::-1] for w in words]
    if word_order == "little" and type_ != "string":
        words.reverse()
    data = b"".join(words)
    if type_ == "string":
        return data.split(b"\0", 1)[0].decode()
    return struct.unpack(_STRUCT[type_], data)[0]


def regs_of_bits(bits: dict[int, bool]) -> int:
    """One register with the given bits (bit 0 = least significant) set."""
    return sum(1 << b for b, on in bits.items() if on)


# --------------------------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------------------------


def free_port6() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Modbus device (pymodbus server in a subprocess)
# --------------------------------------------------------------------------------------------

TABLES = ("co", "di", "hr", "ir")
# function code used by the control channel to reach a table of the simulated device
_TABLE_FC = {"co": 1, "di": 2, "hr": 3, "ir": 4}


class ModbusDevice:
    """A pymodbus Modbus TCP (or TLS) server in its own process.

    layout: {"co": {start: [bool, ...]}, "di": {...}, "hr": {start: [reg, ...]}, "ir": {...}}.
    Addresses not in the layout do not exist (pymodbus answers exception 2), except that
    coils / discrete inputs come in whole groups of 16.
    exceptions: {"hr": {address: code}} - a request covering that register gets exception `code`.
    tls: {"cert": path, "key": path, "ca": path or None (None: no client certificate needed)}.
    """

    def __init__(
        self,
        layout: dict,
        port: int,
        host: str = "127.0.0.1",
        unit_id: int = 0,
        tls: dict | None = None,
        exceptions: dict | None = None,
        name: str = "device",
    ):
        self.layout = {t: {int(a): list(v) for a, v in layout.get(t, {}).items()} for t in TABLES}
        self.port = port
        self.host = host
        self.unit_id = unit_id
        self.tls = tls
        self.exceptions = {t: {int(a): int(c) for a, c in (exceptions or {}).get(t, {}).items()} for t in TABLES}
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []
        self._replies: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._next_id = 0
        self.starts = 0

    # -- process control ------------------------------------------------------------------
    def spec(self) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "unit_id": self.unit_id,
            "tls": self.tls,
            "tables": {t: {str(a): v for a, v in self.layout[t].items()} for t in TABLES},
            "exceptions": {t: {str(a): c for a, c in self.exceptions[t].items()} for t in TABLES},
        }

    def start(self, timeout: float = 20.0) -> "ModbusDevice":
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} already running"
        self.starts += 1
        self.log.append(f"----- {self.name} start #{self.starts} on {self.host}:{self.port} -----\n")
        self._replies = queue.Queue()
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(HERE),
            env=env,
        )
        proc = self.proc
        replies = self._replies

        def pump_out():
            for raw in iter(proc.stdout.readline, b""):
                line = raw.decode("utf-8", "replace")
                try:
                    msg = json.loads(line)
                except ValueError:
                    self.log.append(f"[{self.name} stdout] {line}")
                    continue
                replies.put(msg)
            replies.put({"eof": True})

        def pump_err():
            for raw in iter(proc.stderr.readline, b""):
                self.log.append(f"[{self.name}] {raw.decode('utf-8', 'replace')}")

        threading.Thread(target=pump_out, daemon=True).start()
        threading.Thread(target=pump_err, daemon=True).start()
        proc.stdin.write((json.dumps(self.spec()) + "\n").encode())
        proc.stdin.flush()
        try:
            msg = replies.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise RuntimeError(f"{self.name} did not get ready in {timeout}s:\n{''.join(self.log)}")
        if not msg.get("ready"):
            self.kill()
            time.sleep(0.2)
            raise RuntimeError(f"{self.name} failed to start ({msg}):\n{''.join(self.log)}")
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the device vanishes (the kernel closes its connections)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc is not None:
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    f.close()
                except Exception:  # noqa: BLE001
                    pass

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def restart(self) -> "ModbusDevice":
        self.kill()
        return self.start()

    # -- control channel ------------------------------------------------------------------
    def _call(self, msg: dict, timeout: float = 10.0):
        assert self.running(), f"{self.name} is not running"
        with self._lock:
            self._next_id += 1
            msg = dict(msg, id=self._next_id)
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
            deadline = time.monotonic() + timeout
            while True:
                reply = self._replies.get(timeout=max(0.01, deadline - time.monotonic()))
                if reply.get("eof"):
                    raise RuntimeError(f"{self.name} exited:\n{''.join(self.log)}")
                if reply.get("id") == msg["id"]:
                    break
        if "error" in reply:
            raise RuntimeError(f"{self.name}: {reply['error']}")
        return reply.get("result")

    def set(self, table: str, address: int, values: list) -> None:
        """Changes values in the running device (and in the layout used by restart())."""
        values = list(values)
        if self.running():
            self._call({"op": "set", "table": table, "address": address, "values": values})
        # keep the layout in step so that a restart serves the new values
        for start, vals in self.layout[table].items():
            if start <= address and address + len(values) <= start + len(vals):
                vals[address - start: address - start + len(values)] = values
                return
        self.layout[table][address] = values

    def get(self, table: str, address: int, count: int = 1) -> list:
        return self._call({"op": "get", "table": table, "address": address, "count": count})

    def requests(self) -> list[dict]:
        """Requests received so far: [{"fc", "address", "count", "unit"}]."""
        return self._call({"op": "requests"})

    def clear_requests(self) -> None:
        self._call({"op": "clear_requests"})

    @property
    def log_text(self) -> str:
        return "".join(self.log)


def _serve_main() -> None:  # pragma: no cover - runs in the device subprocess
    import asyncio

    from pymodbus import FramerType
    from pymodbus.constants import ExcCodes
    from pymodbus.server import ModbusTcpServer, ModbusTlsServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    spec = json.loads(sys.stdin.readline())
    tables = {t: {int(a): v for a, v in spec["tables"].get(t, {}).items()} for t in TABLES}
    exceptions = {t: {int(a): int(c) for a, c in spec.get("exceptions", {}).get(t, {}).items()} for t in TABLES}
    fc_table = {1: "co", 5: "co", 15: "co", 2: "di", 3: "hr", 6: "hr", 16: "hr", 22: "hr", 23: "hr", 4: "ir"}
    received: list[dict] = []

    def blocks(table: str) -> list:
        bits = table in ("co", "di")
        entries = sorted(tables[table].items())
        if not entries:  # pymodbus needs one block per table: a dummy far away
            entries = [(65000, [False] * 16 if bits else [0])]
        return [
            SimData(
                address=a,
                values=[bool(x) for x in v] if bits else [int(x) & 0xFFFF for x in v],
                datatype=DataType.BITS if bits else DataType.REGISTERS,
            )
            for a, v in entries
        ]

    async def action(function_code, _start, address, count, _registers, _set_values):
        table = fc_table.get(function_code)
        for a, code in exceptions.get(table, {}).items():
            if address <= a < address + max(count, 1):
                return ExcCodes(code)
        return None

    device = SimDevice(
        id=int(spec.get("unit_id", 0)),
        simdata=(blocks("co"), blocks("di"), blocks("hr"), blocks("ir")),
        action=action if any(exceptions.values()) else None,
    )

    def trace_pdu(sending, pdu):
        if not sending:
            received.append({
                "fc": int(pdu.function_code),
                "address": getattr(pdu, "address", None),
                "count": getattr(pdu, "count", None),
                "unit": getattr(pdu, "dev_id", None),
            })
        return pdu

    def out(msg: dict) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        address = (spec["host"], int(spec["port"]))
        tls = spec.get("tls")
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            if tls.get("ca"):
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(tls["ca"])
            server = ModbusTlsServer(device, address=address, sslctx=ctx, framer=FramerType.SOCKET, trace_pdu=trace_pdu)
        else:
            server = ModbusTcpServer(device, address=address, trace_pdu=trace_pdu)
        await server.serve_forever(background=True)
        dev_id = int(spec.get("unit_id", 0))

        async def handle(cmd: dict):
            op = cmd["op"]
            if op == "set":
                fc = _TABLE_FC[cmd["table"]]
                vals = cmd["values"]
                vals = [bool(v) for v in vals] if cmd["table"] in ("co", "di") else [int(v) & 0xFFFF for v in vals]
                rc = await server.context.async_setValues(dev_id, fc, int(cmd["address"]), vals)
                if rc:
                    raise RuntimeError(f"set failed: {rc!r}")
                return None
            if op == "get":
                fc = _TABLE_FC[cmd["table"]]
                res = await server.context.async_getValues(dev_id, fc, int(cmd["address"]), int(cmd.get("count", 1)))
                if not isinstance(res, list):
                    raise RuntimeError(f"get failed: {res!r}")
                return [bool(v) if cmd["table"] in ("co", "di") else int(v) for v in res]
            if op == "requests":
                return list(received)
            if op == "clear_requests":
                received.clear()
                return None
            raise RuntimeError(f"unknown op {op}")

        def stdin_reader():
            for line in sys.stdin:
                if not line.strip():
                    continue
                cmd = json.loads(line)
                fut = asyncio.run_coroutine_threadsafe(handle(cmd), loop)
                try:
                    out({"id": cmd.get("id"), "result": fut.result(timeout=10)})
                except Exception as exc:  # noqa: BLE001
                    out({"id": cmd.get("id"), "error": repr(exc)})
            # stdin closed: the test process is gone - stop serving
            loop.call_soon_threadsafe(stop.set)

        stop = asyncio.Event()
        threading.Thread(target=stdin_reader, daemon=True).start()
        out({"ready": True})
        await stop.wait()
        await server.shutdown()

    try:
        asyncio.run(main())
    except Exception as exc:  # noqa: BLE001
        out({"ready": False, "error": repr(exc)})
        raise


# --------------------------------------------------------------------------------------------
# A raw TCP peer that answers with garbage / truncated frames
# --------------------------------------------------------------------------------------------


class RawTcpPeer:
    """Accepts connections and answers every chunk it receives:

    * ``garbage``   - 23 bytes of noise whose "MBAP header" has protocol id 0xBEEF and a length
                      that does not match;
    * ``truncated`` - the first 5 bytes of a correct MBAP header for the request (echoing its
                      transaction id) and then nothing, keeping the connection open;
    * ``silent``    - nothing at all (accepts, reads, never writes).
    """

    def __init__(self, behaviour: str, host: str = "127.0.0.1"):
        assert behaviour in ("garbage", "truncated", "silent")
        self.behaviour = behaviour
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            self.requests += 1
            try:
                if self.behaviour == "garbage":
                    conn.sendall(b"\x13\x37\xbe\xef\x00\x03\xff\x83\x99GARBAGE-NOT-MODBUS")
                elif self.behaviour == "silent":
                    pass
                else:
                    tid = data[:2] if len(data) >= 2 else b"\x00\x01"
                    conn.sendall(tid + b"\x00\x00\x00")  # 5 of the 7 MBAP header bytes
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()
        self._thread.join(timeout=2)


# --------------------------------------------------------------------------------------------
# Raw Modbus TCP client (works over plain and TLS sockets)
# --------------------------------------------------------------------------------------------


class ModbusExceptionResponse(Exception):
    def __init__(self, fc: int, code: int):
        super().__init__(f"function 0x{fc:02x}: exception code {code}")
        self.fc = fc
        self.code = code


def mb_frame(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def mb_call(sock: socket.socket, pdu: bytes, unit: int = 1, tid: int = 1, timeout: float = 5.0) -> bytes:
    """Sends one request PDU, returns the response PDU (raises ModbusExceptionResponse)."""
    sock.settimeout(timeout)
    sock.sendall(mb_frame(tid, unit, pdu))
    head = _recv_exact(sock, 7)
    rtid, proto, length, runit = struct.unpack(">HHHB", head)
    assert proto == 0, f"protocol id {proto}"
    assert rtid == tid, f"transaction id {rtid} != {tid}"
    assert runit == unit, f"unit id {runit} != {unit}"
    body = _recv_exact(sock, length - 1)
    if body[0] & 0x80:
        raise ModbusExceptionResponse(body[0] & 0x7F, body[1])
    assert body[0] == pdu[0], f"function code {body[0]} != {pdu[0]}"
    return body


def mb_read_registers(sock, address: int, count: int, fc: int = 3, unit: int = 1) -> list[int]:
    body = mb_call(sock, struct.pack(">BHH", fc, address, count), unit=unit)
    assert body[1] == 2 * count, body
    return list(struct.unpack(f">{count}H", body[2:2 + 2 * count]))


def read_registers_request(address: int, count: int, tid: int = 1, unit: int = 1, fc: int = 3) -> bytes:
    return mb_frame(tid, unit, struct.pack(">BHH", fc, address, count))


def parse_register_response(data: bytes, count: int) -> list[int]:
    """Registers of a complete fc 3/4 response frame (raises ModbusExceptionResponse)."""
    _tid, proto, length, _unit = struct.unpack(">HHHB", data[:7])
    assert proto == 0
    body = data[7:6 + length]
    if body[0] & 0x80:
        raise ModbusExceptionResponse(body[0] & 0x7F, body[1])
    assert body[1] == 2 * count, data
    return list(struct.unpack(f">{count}H", body[2:2 + 2 * count]))


def complete_frame(data: bytes) -> bool:
    return len(data) >= 7 and len(data) >= 6 + struct.unpack(">H", data[4:6])[0]


# --------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------


@dataclass
class Pki:
    dir: Path
    ca: Path  # CA certificate (PEM)
    ca_key: Path
    server_cert: Path  # signed by ca, SAN localhost / 127.0.0.1 / ::1, serverAuth
    server_key: Path
    client_cert: Path  # signed by ca, clientAuth
    client_key: Path
    other_ca: Path  # an unrelated CA
    other_ca_key: Path
    other_server_cert: Path  # signed by other_ca
    other_server_key: Path
    other_client_cert: Path  # signed by other_ca
    other_client_key: Path
    client_subject_cn: str = "fxgate-test-client"


def _write_key(key, path: Path, password: bytes | None = None) -> None:
    from cryptography.hazmat.primitives import serialization

    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))


def _cert(subject_cn: str, key, issuer_cert, issuer_key, *, ca: bool, eku=None, san=None):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fxgate tests")])
    issuer_name = issuer_cert.subject if issuer_cert is not None else name
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    else:
        b = b.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        alt = []
        for s in san:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                alt.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_pki(directory: Path) -> Pki:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    directory.mkdir(parents=True, exist_ok=True)

    def key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def pem(cert) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    out: dict[str, Path] = {}
    for prefix, ca_cn in (("", "fxgate-test-ca"), ("other_", "fxgate-untrusted-ca")):
        ca_key = key()
        ca_cert = _cert(ca_cn, ca_key, None, ca_key, ca=True)
        (directory / f"{prefix}ca.pem").write_bytes(pem(ca_cert))
        _write_key(ca_key, directory / f"{prefix}ca.key")
        out[f"{prefix}ca"] = directory / f"{prefix}ca.pem"
        out[f"{prefix}ca_key"] = directory / f"{prefix}ca.key"
        for role, cn, eku, san in (
            ("server", f"{prefix}fxgate-test-server", [ExtendedKeyUsageOID.SERVER_AUTH], ["localhost", "127.0.0.1", "::1"]),
            ("client", f"{prefix}fxgate-test-client", [ExtendedKeyUsageOID.CLIENT_AUTH], None),
        ):
            k = key()
            c = _cert(cn.replace("other_", "untrusted-"), k, ca_cert, ca_key, ca=False, eku=eku, san=san)
            (directory / f"{prefix}{role}.pem").write_bytes(pem(c))
            _write_key(k, directory / f"{prefix}{role}.key")
            out[f"{prefix}{role}_cert"] = directory / f"{prefix}{role}.pem"
            out[f"{prefix}{role}_key"] = directory / f"{prefix}{role}.key"
    return Pki(dir=directory, **out)


def encrypt_key_openssl(src: Path, dst: Path, password: str, traditional: bool = False) -> Path:
    """`openssl rsa -aes256 -in my.key -out my_protected.key` (the seed's example)."""
    cmd = ["openssl", "rsa", "-aes256", "-in", str(src), "-out", str(dst), "-passout", f"pass:{password}"]
    if traditional:
        cmd.insert(2, "-traditional")
    res = subprocess.run(cmd, capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr.decode()
    return dst


def client_ssl_context(pki: Pki, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A client context that trusts pki.ca (no host name check) and presents cert/key if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(str(pki.ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


# --------------------------------------------------------------------------------------------
# openssl CLI peers
# --------------------------------------------------------------------------------------------


class OpenSSLProc:
    """An `openssl` subprocess whose combined stdout/stderr is collected (as text)."""

    def __init__(self, args: list[str], name: str = "openssl"):
        self.args = ["openssl", *args]
        self.name = name
        self.buf = bytearray()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        while True:
            chunk = self.proc.stdout.read1(65536) if hasattr(self.proc.stdout, "read1") else self.proc.stdout.read(1)
            if not chunk:
                return
            self.buf.extend(chunk)

    @property
    def text(self) -> str:
        return bytes(self.buf).decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = rx.search(self.text)
            if m:
                return m
            if self.proc.poll() is not None:
                time.sleep(0.1)
                m = rx.search(self.text)
                if m:
                    return m
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before /{pattern}/:\n{self.text}")
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: /{pattern}/ not seen within {timeout}s; output:\n{self.text}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass
        self._reader.join(timeout=2)


def s_server(port: int, args: list[str], host: str = "127.0.0.1", name: str = "s_server") -> OpenSSLProc:
    """`openssl s_server -accept host:port ...`; its stdin stays open (EOF would stop it)."""
    p = OpenSSLProc(["s_server", "-accept", f"{host}:{port}", *args], name=name)
    try:
        p.wait_for(r"ACCEPT", 15)
    except BaseException:
        p.stop()
        raise
    return p


def s_client_modbus(port: int, request: bytes, args: list[str], timeout: float = 8.0, host: str = "127.0.0.1"):
    """Sends one Modbus TCP request through `openssl s_client -quiet ...` and returns
    (response bytes or b"" if none came, rc or None, stderr text)."""
    proc = subprocess.Popen(["openssl", "s_client", "-connect", f"{host}:{port}", "-quiet", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = bytearray()
    err = bytearray()

    def pump(src, dst):
        while True:
            chunk = src.read1(65536)
            if not chunk:
                return
            dst.extend(chunk)

    threads = [threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, err), daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.stdin.write(request)
        proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not complete_frame(bytes(out)) and proc.poll() is None:
            time.sleep(0.05)
    except BrokenPipeError:
        pass
    finally:
        rc = proc.poll()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)
        for t in threads:
            t.join(timeout=2)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass
    return bytes(out), rc, err.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# fxgate config sections and gateway start
# --------------------------------------------------------------------------------------------


# TOML values, inline tables included: the harness's own encoder.
_tv = _inline


def extra_toml(lines: Iterable[dict] = (), devices: Iterable[dict] = (), modbus_servers: Iterable[dict] = ()) -> str:
    """[[line]] (with [line.tls]), [[device]] (with [[device.group]] / [[device.tag]]) and
    [[modbus_server]] (with [[modbus_server.map]]) sections. Sub-tables are given as the keys
    "tls", "groups", "tags", "map"; "backup" is written as an inline table."""
    out: list[str] = []
    for line in lines:
        out.append("[[line]]")
        for k, v in line.items():
            if k != "tls":
                out.append(f"{k} = {_tv(v)}")
        if line.get("tls") is not None:
            out.append("  [line.tls]")
            for k, v in line["tls"].items():
                out.append(f"  {k} = {_tv(v)}")
        out.append("")
    for dev in devices:
        out.append("[[device]]")
        for k, v in dev.items():
            if k not in ("groups", "tags"):
                out.append(f"{k} = {_tv(v)}")
        for g in dev.get("groups", []):
            out.append("  [[device.group]]")
            out.extend(f"  {k} = {_tv(v)}" for k, v in g.items())
        for t in dev.get("tags", []):
            out.append("  [[device.tag]]")
            out.extend(f"  {k} = {_tv(v)}" for k, v in t.items())
        out.append("")
    for srv in modbus_servers:
        out.append("[[modbus_server]]")
        for k, v in srv.items():
            if k != "map":
                out.append(f"{k} = {_tv(v)}")
        for m in srv.get("map", []):
            out.append("  [[modbus_server.map]]")
            out.extend(f"  {k} = {_tv(v)}" for k, v in m.items())
        out.append("")
    return "\n".join(out) + "\n"


def create_gateway(factory, overrides: dict | None = None, *, lines=(), devices=(), modbus_servers=(),
                   files: dict[str, Path] | None = None):
    """factory.create() plus the extra sections (appended to the written config file) and
    `files` copied next to the config file (= #APPDIR#). Not started."""
    from fxgate_testlib import to_toml

    gw = factory.create(overrides)
    extra = extra_toml(lines, devices, modbus_servers)
    appdir = gw.config_path.parent
    appdir.mkdir(parents=True, exist_ok=True)
    for name, src in (files or {}).items():
        shutil.copy(src, appdir / name)

    def write_config() -> None:
        gw.config_path.write_text(to_toml(gw.config) + "\n" + extra)

    gw.write_config = write_config  # instance attribute: Gateway.spawn() calls self.write_config()
    gw.extra_toml = extra
    # the harness' failure report shows to_toml(config) + stderr: put the extra sections there too
    gw.stderr_lines.append(f"{EXTRA_CONFIG_HEADER}{gw.config_path} -----\n{extra}\n")
    return gw


def start_gateway(factory, overrides: dict | None = None, **kw):
    return create_gateway(factory, overrides, **kw).start()


EXTRA_CONFIG_HEADER = "----- extra config sections of "


def fxgate_log(gw) -> str:
    """What fxgate wrote to stderr (without the config sections create_gateway put there)."""
    return "".join(line for line in gw.stderr_lines if not line.startswith(EXTRA_CONFIG_HEADER))


def no_panic(gw) -> None:
    text = fxgate_log(gw)
    assert "panicked" not in text and "RUST_BACKTRACE" not in text, f"fxgate panicked:\n{text[-4000:]}"


def metrics_value(text: str, name: str, line: str) -> float | None:
    m = re.search(rf'^{re.escape(name)}\{{[^}}]*line="{re.escape(line)}"[^}}]*\}}\s+([0-9.eE+-]+)\s*$', text, re.M)
    return float(m.group(1)) if m else None


class PeerSet:
    """Every peer a test started; close() stops them all and prints their output (pytest shows
    it with a failing test)."""

    def __init__(self):
        self.items: list = []

    def device(self, layout: dict, port: int, **kw) -> ModbusDevice:
        d = ModbusDevice(layout, port, **kw)
        self.items.append(d)
        return d.start()

    def add(self, obj):
        self.items.append(obj)
        return obj

    def close(self) -> None:
        for obj in reversed(self.items):
            try:
                if isinstance(obj, ModbusDevice):
                    obj.stop()
                    print(f"===== {obj.name} ({obj.host}:{obj.port}) =====\n{obj.log_text}", file=sys.stderr)
                elif isinstance(obj, OpenSSLProc):
                    obj.stop()
                    print(f"===== {obj.name}: {' '.join(obj.args)} =====\n{obj.text}", file=sys.stderr)
                elif isinstance(obj, RawTcpPeer):
                    obj.close()
                elif hasattr(obj, "close"):
                    obj.close()
            except Exception as exc:  # noqa: BLE001 - teardown must go on
                print(f"teardown of {obj!r} failed: {exc!r}", file=sys.stderr)


def http_get(gw, path: str, timeout: float = 5.0) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{gw.http_base}{path}", timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# OPC UA side (asyncua)
# --------------------------------------------------------------------------------------------


def status_of(dv) -> str:
    """Name of a DataValue's status code ("Good", "BadNoCommunication", ...)."""
    from asyncua import ua

    return (dv.StatusCode or ua.StatusCode(0)).name


def is_good(dv) -> bool:
    from asyncua import ua

    return (dv.StatusCode or ua.StatusCode(0)).is_good()


def show(dv) -> str:
    if dv is None:
        return "<no read>"
    return f"{status_of(dv)} {dv.Value.VariantType.name}={dv.Value.Value!r} src={dv.SourceTimestamp}"


class Opc:
    """One asyncua session on a gateway, with the tags namespace looked up once."""

    def __init__(self, client, ns: int):
        self.client = client
        self.ns = ns

    @classmethod
    async def connect(cls, gw, cert, **kw) -> "Opc":
        from fxgate_testlib import connect, tags_ns

        client = await connect(gw, cert, **kw)
        try:
            return cls(client, await tags_ns(client))
        except BaseException:
            from fxgate_testlib import safe_disconnect

            await safe_disconnect(client)
            raise

    async def close(self) -> None:
        from fxgate_testlib import safe_disconnect

        await safe_disconnect(self.client)

    def node(self, source: str, name: str):
        from asyncua import ua

        return self.client.get_node(ua.NodeId(f"{source}/{name}", self.ns))

    async def read(self, source: str, name: str):
        return await self.node(source, name).read_data_value(raise_on_bad_status=False)

    async def read_many(self, source: str, names: list[str], chunk: int = 200) -> list:
        from asyncua import ua

        out = []
        for i in range(0, len(names), chunk):
            nodes = [self.node(source, n) for n in names[i:i + chunk]]
            out += await self.client.read_attributes(nodes, ua.AttributeIds.Value)
        return out

    async def write(self, source: str, name: str, value, vtype):
        """Writes and returns the StatusCode of the write (does not raise)."""
        from asyncua import ua

        dv = ua.DataValue(ua.Variant(value, vtype))
        res = await self.client.write_values([self.node(source, name)], [dv], raise_on_partial_error=False)
        return res[0]

    async def wait(self, source: str, name: str, pred, timeout: float, what: str = "", interval: float = 0.05):
        """Reads until pred(dv) holds; returns that DataValue or raises AssertionError."""
        import asyncio

        deadline = time.monotonic() + timeout
        dv = None
        while True:
            try:
                dv = await self.read(source, name)
                if pred(dv):
                    return dv
            except Exception as exc:  # noqa: BLE001 - keep polling, report the last problem
                dv_exc = exc
                if time.monotonic() >= deadline:
                    raise AssertionError(f"{source}/{name}: {what or 'condition'} not met in {timeout}s; read failed: {dv_exc!r}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{source}/{name}: {what or 'condition'} not met in {timeout}s; last: {show(dv)}")
            await asyncio.sleep(interval)

    async def line(self, line: str) -> dict:
        out = {}
        for tag in ("State", "ActiveDevice", "LastError", "ReconnectCount"):
            dv = await self.read(f"fxgate/Lines/{line}", tag)
            out[tag] = dv.Value.Value
            out[tag + "_status"] = status_of(dv)
            out[tag + "_type"] = dv.Value.VariantType.name
        return out

    async def wait_line(self, line: str, pred, timeout: float, what: str = "", interval: float = 0.05) -> dict:
        import asyncio

        deadline = time.monotonic() + timeout
        while True:
            st = await self.line(line)
            if pred(st):
                return st
            if time.monotonic() >= deadline:
                raise AssertionError(f"line {line}: {what or 'condition'} not met in {timeout}s; last: {st}")
            await asyncio.sleep(interval)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        _serve_main()
    else:
        print("usage: modbus_peers.py serve  (JSON spec on stdin)", file=sys.stderr)
        sys.exit(2)
