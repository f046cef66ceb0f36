"""Real peers for the IEC 60870-5-104 end-to-end tests (test_iec104_client.py,
test_iec104_server.py).

* ``Station`` - a c104 (2.2.1, lib60870-based) controlled station in a *separate process* (this
  file run as ``python iec104_peers.py station``), so a test can kill and restart it. Over its
  stdin/stdout (JSON lines) a test sets point values with chosen quality bits and CP56 times and
  transmits them, chooses how each command point answers (positive, negative, none), and reads
  what the station saw: the type ids and causes of every I-frame it received (GI, CI, clock
  syncs, commands with their select bit) and its connection count.
* ``RawMaster`` - a controlling station written here from IEC 60870-5-104 §5 (APCI framing,
  STARTDT, S-frames, ASDU header parsing) on a plain socket that can bind a chosen source
  address (127.0.0.2 for a second redundancy group) and send malformed APDUs.
* ``RawStation`` - a TCP server that confirms STARTDT and then stays silent, or sends garbage.

Top-level imports are the standard library only, so the station subprocess starts quickly.
"""

import datetime as dt
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------
# The station subprocess
# --------------------------------------------------------------------------------------------


class Station:
    """A c104 controlled station on ip:port with common address `ca`.

    points: [{"ioa": 100, "type": "M_DP_TB_1"}, ...] (c104.Type names)
    commands: [{"ioa": 2100, "type": "C_DC_NA_1", "answer": "positive"|"negative"|"none",
                "sbo": bool}]
    tls: {"cert", "key", "ca"} file paths, or None.
    """

    def __init__(self, port: int, points: list[dict], commands: list[dict] = (), ip: str = "127.0.0.1", ca: int = 1,
                 tls: dict | None = None, name: str = "station"):
        self.spec = {"ip": ip, "port": port, "ca": ca, "points": list(points), "commands": list(commands), "tls": tls}
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []
        self._lock = threading.Lock()
        self._replies: list[dict] = []
        self._cv = threading.Condition(self._lock)

    def start(self, timeout: float = 20.0) -> "Station":
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "station", json.dumps(self.spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self._call({"op": "ping"}, timeout)
        return self

    def _pump(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            if line.startswith("{"):
                with self._cv:
                    self._replies.append(json.loads(line))
                    self._cv.notify_all()
            else:
                self.log.append(line)

    def _call(self, msg: dict, timeout: float = 10.0) -> dict:
        assert self.proc and self.proc.stdin
        with self._cv:
            n = len(self._replies)
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self._replies) <= n:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"{self.name}: no answer to {msg}; log:\n{''.join(self.log)[-3000:]}")
                self._cv.wait(left)
            reply = self._replies[n]
        if "error" in reply:
            raise AssertionError(f"{self.name}: {reply['error']}")
        return reply

    def set(self, ioa: int, value, quality: list[str] = (), time_ms: int | None = None, transmit: bool = True,
            cause: str = "SPONTANEOUS") -> None:
        """Sets a point (value as JSON: bool/int/float; quality: c104.Quality flag names, for
        counters BinaryCounterQuality names; time_ms: the CP56 time as Unix ms) and sends it."""
        self._call({"op": "set", "ioa": ioa, "value": value, "quality": list(quality), "time_ms": time_ms,
                    "transmit": transmit, "cause": cause})

    def answer(self, ioa: int, answer: str) -> None:
        self._call({"op": "answer", "ioa": ioa, "answer": answer})

    def stats(self) -> dict:
        """{"frames": [[type_id, cot, negative, select], ...], "connections": n, "clock_syncs": [...],
        "commands": [{"ioa", "select", "value"}...]}"""
        return self._call({"op": "stats"})

    def received(self, type_id: int) -> list[list]:
        return [f for f in self.stats()["frames"] if f[0] == type_id]

    def wait(self, pred, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            if pred(st):
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {what} not seen in {timeout}s; stats: {st}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> "Station":
        self.kill()
        with self._cv:
            self._replies.clear()
        return self.start()

    def close(self) -> None:
        self.kill()


# IEC type ids (IEC 60870-5-101 §7.2.1.1)
C_SC_NA_1, C_DC_NA_1, C_RC_NA_1, C_SE_NA_1, C_SE_NB_1, C_SE_NC_1, C_BO_NA_1 = 45, 46, 47, 48, 49, 50, 51
C_SC_TA_1, C_DC_TA_1, C_RC_TA_1, C_SE_TA_1, C_SE_TB_1, C_SE_TC_1, C_BO_TA_1 = 58, 59, 60, 61, 62, 63, 64
C_IC_NA_1, C_CI_NA_1, C_CS_NA_1 = 100, 101, 103


def parse_apdu(data: bytes):
    """(type_id, cot, negative, select_bit_of_first_object, ca, ioa) of an I-frame, else None."""
    if len(data) < 12 or data[0] != 0x68 or data[2] & 1:
        return None
    t, cot, neg = data[6], data[8] & 0x3F, bool(data[8] & 0x40)
    ca = data[10] | data[11] << 8
    ioa = data[12] | data[13] << 8 | data[14] << 16 if len(data) >= 15 else 0
    # S/E bit: the qualifier octet of single/double/regulating commands and set points.
    sel = None
    if t in (45, 46, 47, 58, 59, 60) and len(data) > 15:
        sel = bool(data[15] & 0x80)
    elif t in (48, 49, 61, 62) and len(data) > 17:
        sel = bool(data[17] & 0x80)
    elif t in (50, 63) and len(data) > 19:
        sel = bool(data[19] & 0x80)
    return [t, cot, neg, sel, ca, ioa]


def _station_main(spec: dict) -> None:  # pragma: no cover - runs in the station subprocess
    import c104

    tls = None
    if spec.get("tls"):
        t = spec["tls"]
        tls = c104.TransportSecurity(validate=True, only_known=False)
        tls.set_certificate(cert=t["cert"], key=t["key"])
        tls.set_ca_certificate(cert=t["ca"])
        tls.set_version(min=c104.TlsVersion.TLS_1_2, max=c104.TlsVersion.TLS_1_3)
    server = c104.Server(ip=spec["ip"], port=spec["port"], tick_rate_ms=50, select_timeout_ms=5000,
                         transport_security=tls)
    station = server.add_station(common_address=spec["ca"])
    lock = threading.Lock()
    frames: list = []
    clock: list = []
    commands: list = []
    answers: dict[int, str] = {}
    points = {}

    def on_raw(server: c104.Server, data: bytes) -> None:
        f = parse_apdu(bytes(data))
        if f:
            with lock:
                frames.append(f)

    server.on_receive_raw(callable=on_raw)
    sent: list = []

    def on_sent(server: c104.Server, data: bytes) -> None:
        with lock:
            sent.append(bytes(data).hex())
            del sent[:-50]

    server.on_send_raw(callable=on_sent)

    def on_clock(server: c104.Server, ip: str, date_time: dt.datetime) -> c104.ResponseState:
        with lock:
            clock.append(date_time.timestamp() if date_time.tzinfo else date_time.replace(tzinfo=dt.timezone.utc).timestamp())
        return c104.ResponseState.SUCCESS

    server.on_clock_sync(callable=on_clock)

    for p in spec["points"]:
        points[p["ioa"]] = station.add_point(io_address=p["ioa"], type=getattr(c104.Type, p["type"]))

    def on_command(point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage) -> c104.ResponseState:
        v = point.value
        with lock:
            commands.append({"ioa": point.io_address, "select": bool(message.is_select_command),
                             "value": v if isinstance(v, (int, float, bool)) else str(v)})
            a = answers.get(point.io_address, "positive")
        return {"positive": c104.ResponseState.SUCCESS, "negative": c104.ResponseState.FAILURE,
                "none": c104.ResponseState.NONE}[a]

    for c in spec["commands"]:
        pt = station.add_point(io_address=c["ioa"], type=getattr(c104.Type, c["type"]))
        if c.get("sbo"):
            pt.command_mode = c104.CommandMode.SELECT_AND_EXECUTE
        pt.on_receive(callable=on_command)
        answers[c["ioa"]] = c.get("answer", "positive")
        points[c["ioa"]] = pt
    server.start()

    def info_of(point, value, quality, when):
        tname = point.type.name
        q = c104.Quality()
        for n in quality:
            if n in ("Carry", "Adjusted"):
                continue
            q |= getattr(c104.Quality, n)
        if tname.startswith("M_SP"):
            return c104.SingleInfo(on=bool(value), quality=q, recorded_at=when)
        if tname.startswith("M_DP"):
            return c104.DoubleInfo(state=c104.Double(int(value)), quality=q, recorded_at=when)
        if tname.startswith("M_ST"):
            return c104.StepInfo(c104.Int7(int(value)), False, q, when)
        if tname.startswith("M_BO"):
            return c104.BinaryInfo(c104.Byte32(int(value).to_bytes(4, "little")), q, when)  # c104 2.2.1: Byte32(int) gives 0
        if tname in ("M_ME_NA_1", "M_ME_TD_1"):
            return c104.NormalizedInfo(c104.NormalizedFloat(float(value)), q, when)
        if tname in ("M_ME_NB_1", "M_ME_TE_1"):
            return c104.ScaledInfo(c104.Int16(int(value)), q, when)
        if tname in ("M_ME_NC_1", "M_ME_TF_1"):
            return c104.ShortInfo(float(value), q, when)
        if tname.startswith("M_IT"):
            bq = c104.BinaryCounterQuality()
            for n in quality:
                if n in ("Carry", "Adjusted", "Invalid"):
                    bq |= getattr(c104.BinaryCounterQuality, n)
            return c104.BinaryCounterInfo(int(value), c104.UInt5(0), bq, when)
        if tname.startswith("M_EP"):
            return c104.ProtectionEventInfo(c104.EventState(int(value)), c104.UInt16(0), q, when)
        raise ValueError(f"no info for {tname}")

    def out(msg: dict) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        try:
            m = json.loads(line)
            op = m["op"]
            if op == "ping":
                out({"ok": True})
            elif op == "set":
                p = points[m["ioa"]]
                when = None
                if m.get("time_ms") is not None:
                    when = dt.datetime.fromtimestamp(m["time_ms"] / 1000, tz=dt.timezone.utc)
                elif p.type.name.endswith(("TB_1", "TD_1", "TE_1", "TF_1")):
                    when = dt.datetime.now(tz=dt.timezone.utc)
                p.info = info_of(p, m["value"], m["quality"], when)
                ok = True
                if m.get("transmit", True):
                    ok = p.transmit(cause=getattr(c104.Cot, m.get("cause", "SPONTANEOUS")))
                out({"ok": bool(ok)})
            elif op == "answer":
                with lock:
                    answers[m["ioa"]] = m["answer"]
                out({"ok": True})
            elif op == "stats":
                with lock:
                    out({"frames": list(frames), "clock_syncs": list(clock), "commands": list(commands),
                         "connections": server.open_connection_count, "active": server.active_connection_count,
                         "sent": list(sent)})
            else:
                out({"error": f"unknown op {op}"})
        except Exception as exc:  # noqa: BLE001 - report to the test, keep serving
            out({"error": repr(exc)})


# --------------------------------------------------------------------------------------------
# Raw peers
# --------------------------------------------------------------------------------------------

STARTDT_ACT = bytes([0x68, 4, 0x07, 0, 0, 0])
STARTDT_CON = bytes([0x68, 4, 0x0B, 0, 0, 0])
TESTFR_CON = bytes([0x68, 4, 0x83, 0, 0, 0])


def recv_apdu(sock: socket.socket, timeout: float = 5.0) -> bytes | None:
    """One APDU, or None when the peer closed the connection."""
    sock.settimeout(timeout)
    head = b""
    while len(head) < 2:
        chunk = sock.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    body = b""
    while len(body) < head[1]:
        chunk = sock.recv(head[1] - len(body))
        if not chunk:
            return None
        body += chunk
    return head + body


class RawMaster:
    """A controlling station on a plain socket (optionally bound to `source` first)."""

    def __init__(self, port: int, host: str = "127.0.0.1", source: str | None = None, tls=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        if tls is not None:  # an ssl.SSLContext
            self.sock = tls.wrap_socket(self.sock, server_hostname=host)
        self.vs = 0
        self.vr = 0
        self.asdus: list[list] = []  # parse_apdu() of every I-frame received

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def startdt(self, timeout: float = 5.0) -> None:
        self.send(STARTDT_ACT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = self.read(deadline - time.monotonic())
            if f is None:
                raise AssertionError("connection closed before STARTDT con")
            if f == STARTDT_CON:
                return
        raise AssertionError("no STARTDT con")

    def i_frame(self, asdu: bytes) -> bytes:
        f = bytes([0x68, len(asdu) + 4]) + struct.pack("<HH", self.vs << 1, self.vr << 1) + asdu
        self.vs = (self.vs + 1) % 32768
        return f

    def interrogation(self, ca: int = 1, qoi: int = 20) -> None:
        self.send(self.i_frame(bytes([C_IC_NA_1, 1, 6, 0]) + struct.pack("<H", ca) + bytes([0, 0, 0, qoi])))

    def read(self, timeout: float = 5.0) -> bytes | None:
        """The next APDU; I-frames are recorded and acknowledged, TESTFR acts answered."""
        try:
            f = recv_apdu(self.sock, max(timeout, 0.01))
        except socket.timeout:
            return b""
        if f is None:
            return None
        if len(f) >= 6 and not f[2] & 1:
            self.vr = ((f[2] | f[3] << 8) >> 1) + 1
            self.asdus.append(parse_apdu(f))
            self.send(bytes([0x68, 4, 1, 0]) + struct.pack("<H", self.vr << 1))
        elif f[2] == 0x43:
            self.send(TESTFR_CON)
        return f

    def collect(self, seconds: float) -> list[list]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.read(end - time.monotonic()) is None:
                break
        return self.asdus

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """Whether the peer closes the connection within `timeout` (reading what comes)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self.read(end - time.monotonic()) is None:
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class RawStation:
    """A TCP server that answers STARTDT act with con and then stays silent (`silent`), or
    answers with garbage (`garbage`). Counts connections."""

    def __init__(self, behaviour: str, host: str = "127.0.0.1"):
        self.behaviour = behaviour
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind((host, 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.connections = 0
        self.closed_by_gateway = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while not self._stop:
                f = recv_apdu(conn, 30)
                if f is None:
                    self.closed_by_gateway += 1
                    return
                if f == STARTDT_ACT:
                    conn.sendall(STARTDT_CON)
                    if self.behaviour == "garbage":
                        conn.sendall(b"\x68\x0e\x00\x00\x00\x00\x01\x7f\x03\x00\x01\x00\x64\x00\x00\x01")
                        conn.sendall(b"\xde\xad\xbe\xef" * 4)
        except OSError:
            self.closed_by_gateway += 1
        finally:
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.srv.close()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "station":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        _station_main(json.loads(sys.argv[2]))
