"""Real peers for the WebSocket client end-to-end tests (test_websocket.py).

* ``WsPeer`` - a Python ``websockets`` (17.4, asyncio API) server running on its own event loop
  in a background thread, plain or TLS (an ``ssl.SSLContext`` with the server certificate and,
  optionally, a required client certificate). It records every handshake request (path, headers:
  Origin, Authorization, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions, ...), the response it
  gave (chosen subprotocol, negotiated extensions) and, per connection, every message the client
  sent (text/binary, reassembled from frames and decompressed, recorded at frame level so that
  nothing sent before the client's close frame is missed), the pings, the bytes on the wire and
  the close code the client sent. It can choose, replace or leave out the subprotocol (per path),
  enable or refuse permessage-deflate, reject handshakes (e.g. a JWT that does not verify),
  acknowledge every data message (``{"op":"ack","seq":N}``), send commands and collect the
  answers, send raw (also fragmented, oversized) messages, stop answering pings (the pong frames
  websockets would send automatically are dropped at the protocol level), and be stopped
  (gracefully with close 1001, or aborted: the TCP connections just vanish) and restarted on the
  same port.
* ``Stunnel`` - ``stunnel4`` (Debian package ``stunnel4``) as a TLS-PSK terminator in front of a
  plain ``WsPeer`` (Python 3.11's ssl module has no PSK).
* ``cbor_dumps`` / ``cbor_loads`` - a minimal CBOR (RFC 8949) codec, independent of fxgate.
* ``jwt_decode_hs256`` / ``jwt_decode_rs256`` - JWT (RFC 7519) checks written out with hmac,
  hashlib and ``cryptography``.
* ``make_crl`` - a CRL (PEM) signed by a test CA, revoking chosen certificates.

Certificates come from modbus_peers.make_pki (imported by the tests).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import os
import shutil
import ssl
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

# --------------------------------------------------------------------------------------------
# Minimal CBOR (RFC 8949): what fxgate's messages use (maps, arrays, text, numbers, bool, null)
# --------------------------------------------------------------------------------------------


def cbor_dumps(obj: Any) -> bytes:
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | ai]) + struct.pack(fmt, n)
        raise ValueError(f"integer too large for CBOR: {n}")

    if obj is None:
        return b"\xf6"
    if obj is True:
        return b"\xf5"
    if obj is False:
        return b"\xf4"
    if isinstance(obj, int):
        return head(0, obj) if obj >= 0 else head(1, -1 - obj)
    if isinstance(obj, float):
        return b"\xfb" + struct.pack(">d", obj)
    if isinstance(obj, str):
        raw = obj.encode()
        return head(3, len(raw)) + raw
    if isinstance(obj, (bytes, bytearray)):
        return head(2, len(obj)) + bytes(obj)
    if isinstance(obj, (list, tuple)):
        return head(4, len(obj)) + b"".join(cbor_dumps(x) for x in obj)
    if isinstance(obj, dict):
        return head(5, len(obj)) + b"".join(cbor_dumps(k) + cbor_dumps(v) for k, v in obj.items())
    raise TypeError(f"cannot CBOR-encode {obj!r}")


def cbor_loads(data: bytes) -> Any:
    """Decodes one CBOR data item (definite and indefinite lengths, tags are dropped)."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(data):
            raise ValueError("truncated CBOR")
        out = data[pos:pos + n]
        pos += n
        return out

    def arg(ai: int) -> int | None:
        if ai < 24:
            return ai
        if ai == 24:
            return take(1)[0]
        if ai == 25:
            return struct.unpack(">H", take(2))[0]
        if ai == 26:
            return struct.unpack(">I", take(4))[0]
        if ai == 27:
            return struct.unpack(">Q", take(8))[0]
        if ai == 31:
            return None  # indefinite
        raise ValueError(f"bad CBOR additional info {ai}")

    BREAK = object()

    def item() -> Any:
        ib = take(1)[0]
        major, ai = ib >> 5, ib & 31
        if major == 7:
            if ai == 20:
                return False
            if ai == 21:
                return True
            if ai in (22, 23):
                return None
            if ai == 25:
                return _half(struct.unpack(">H", take(2))[0])
            if ai == 26:
                return struct.unpack(">f", take(4))[0]
            if ai == 27:
                return struct.unpack(">d", take(8))[0]
            if ai == 31:
                return BREAK
            if ai < 24:
                return ("simple", ai)
            if ai == 24:
                return ("simple", take(1)[0])
            raise ValueError(f"bad CBOR simple value {ai}")
        n = arg(ai)
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major in (2, 3):
            if n is None:
                parts = []
                while (p := item()) is not BREAK:
                    parts.append(p)
                return (b"" if major == 2 else "").join(parts)
            raw = take(n)
            return raw if major == 2 else raw.decode()
        if major == 4:
            out = []
            if n is None:
                while (x := item()) is not BREAK:
                    out.append(x)
            else:
                out = [item() for _ in range(n)]
            return out
        if major == 5:
            out = {}
            if n is None:
                while (k := item()) is not BREAK:
                    out[k] = item()
            else:
                for _ in range(n):
                    k = item()
                    out[k] = item()
            return out
        if major == 6:
            return item()  # tag: keep the tagged value
        raise ValueError(f"bad CBOR major type {major}")

    value = item()
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes after the CBOR item")
    return value


def _half(h: int) -> float:
    exp, mant = (h >> 10) & 0x1F, h & 0x3FF
    if exp == 0:
        val = mant * 2.0 ** -24
    elif exp == 31:
        val = math.inf if mant == 0 else math.nan
    else:
        val = (mant + 1024) * 2.0 ** (exp - 25)
    return -val if h & 0x8000 else val


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class Handshake:
    """One opening handshake request (also the rejected ones)."""

    t: float
    path: str
    headers: dict[str, list[str]]  # lower-case name -> values
    peer: tuple | None
    rejected: str = ""  # why the peer refused it (HTTP status), "" if accepted

    def header(self, name: str) -> str | None:
        vals = self.headers.get(name.lower())
        return ", ".join(vals) if vals else None


@dataclass
class Msg:
    t: float
    kind: str  # "text" | "binary"
    raw: bytes
    obj: Any = None  # parsed JSON (text) or CBOR (binary); None if it does not parse
    parse_error: str = ""
    frame_sizes: list[int] = field(default_factory=list)  # payload bytes of its frames (decompressed)

    @property
    def is_data(self) -> bool:
        return isinstance(self.obj, dict) and "seq" in self.obj and "values" in self.obj

    @property
    def is_reply(self) -> bool:
        return isinstance(self.obj, dict) and "op" in self.obj


@dataclass
class Conn:
    """One WebSocket connection the peer accepted."""

    index: int
    t_open: float
    path: str = ""
    request_headers: dict[str, list[str]] = field(default_factory=dict)
    response_headers: dict[str, list[str]] = field(default_factory=dict)
    subprotocol_sent: str | None = None  # Sec-WebSocket-Protocol of our response
    extensions: list[str] = field(default_factory=list)  # negotiated (names)
    tls_version: str | None = None
    tls_cipher: str | None = None
    peer_cert_subject: dict | None = None  # verified client certificate subject (CN ...)
    messages: list[Msg] = field(default_factory=list)
    pings: list[float] = field(default_factory=list)
    pongs_suppressed: int = 0
    acks_sent: list[tuple[float, int]] = field(default_factory=list)  # (time, seq)
    wire_bytes: int = 0  # bytes received after the handshake
    close_code: int | None = None  # close code the client sent (None: none received)
    close_reason: str | None = None
    server_close: tuple | None = None  # (code, reason) of a close frame this server sent
    t_close: float | None = None
    open: bool = True
    _partial: list = field(default_factory=list)
    _partial_kind: str | None = None

    def header(self, name: str) -> str | None:
        vals = self.request_headers.get(name.lower())
        return ", ".join(vals) if vals else None

    def data(self) -> list[dict]:
        return [m.obj for m in list(self.messages) if m.is_data]

    def seqs(self) -> list[int]:
        return [d["seq"] for d in self.data()]


def _headers(h) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in h.raw_items():
        out.setdefault(k.lower(), []).append(v)
    return out


# --------------------------------------------------------------------------------------------
# WebSocket server peer
# --------------------------------------------------------------------------------------------


class WsPeer:
    """A websockets server on 127.0.0.1:port in a background thread (see the module docstring).

    subprotocol: "echo" (choose the first offered one, as a server implementing it would),
    "none" (answer without Sec-WebSocket-Protocol) or "other:<name>" (answer with <name>);
    ``subprotocol_by_path`` overrides it for request paths (without the query).
    compression: accept permessage-deflate with websockets' default server settings (which answer
    an offered client_max_window_bits with 12, and use server_max_window_bits=12) or not;
    deflate_params: instead, ServerPerMessageDeflateFactory(**deflate_params) (e.g. {} for no limits).
    auto_ack: answer every data message with {"op":"ack","seq":seq}.
    authorize(handshake) -> "" to accept or a reason to answer HTTP 401.
    """

    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        ssl_ctx: ssl.SSLContext | None = None,
        subprotocol: str = "echo",
        subprotocol_by_path: dict[str, str] | None = None,
        compression: bool = True,
        deflate_params: dict | None = None,
        auto_ack: bool = False,
        authorize: Callable[[Handshake], str] | None = None,
        name: str = "ws",
    ):
        self.port = port
        self.host = host
        self.ssl_ctx = ssl_ctx
        self.subprotocol = subprotocol
        self.subprotocol_by_path = dict(subprotocol_by_path or {})
        self.compression = compression
        self.deflate_params = deflate_params
        self.auto_ack = auto_ack
        self.answer_pings = True
        self.authorize = authorize
        self.name = name
        self.handshakes: list[Handshake] = []
        self.conns: list[Conn] = []
        self.errors: list[str] = []  # loop exceptions (TLS handshake failures ...)
        self.log: list[str] = []
        self.starts = 0
        self._live: dict[int, ServerConnection] = {}  # Conn.index -> connection
        self._server = None
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._on_loop_error)
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"WsPeer-{name}", daemon=True)
        self._thread.start()

    # -- lifecycle ------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.log.append(f"{time.strftime('%H:%M:%S')} [{self.name}] {text}\n")

    def _on_loop_error(self, loop, context) -> None:
        exc = context.get("exception")
        self.errors.append(f"{context.get('message')}: {exc!r}")
        self._note(f"loop error: {context.get('message')}: {exc!r}")

    def _run(self, coro, timeout: float = 15.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "WsPeer":
        assert self._server is None, f"{self.name} already running"
        self.starts += 1
        self._run(self._start())
        self._note(f"start #{self.starts} on {self.host}:{self.port} tls={self.ssl_ctx is not None}")
        return self

    async def _start(self) -> None:
        peer = self

        class RecordingConnection(ServerConnection):
            def __init__(self, *a, **kw):
                super().__init__(*a, **kw)
                peer._instrument(self)

        kwargs: dict[str, Any] = {}
        if self.ssl_ctx is not None:
            kwargs["ssl"] = self.ssl_ctx
        if self.deflate_params is not None:
            from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

            kwargs["extensions"] = [ServerPerMessageDeflateFactory(**self.deflate_params)]
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            compression="deflate" if self.compression and self.deflate_params is None else None,
            select_subprotocol=self._select_subprotocol,
            process_request=self._process_request,
            process_response=self._process_response,
            ping_interval=None,
            ping_timeout=None,
            close_timeout=3,
            open_timeout=10,
            max_size=None,
            max_queue=None,
            create_connection=RecordingConnection,
            reuse_address=True,
            **kwargs,
        )

    def stop(self, abort: bool = False) -> None:
        """Stops listening and ends every connection: with a close handshake (1001) or, with
        abort, by dropping the TCP connections (no close frame: the server just vanishes)."""
        if self._server is None:
            return
        self._run(self._stop(abort), timeout=20)
        self._note(f"stopped ({'abort' if abort else 'close 1001'})")

    async def _stop(self, abort: bool) -> None:
        server, self._server = self._server, None
        if abort:
            for conn in list(self._live.values()):
                conn.transport.abort()
        server.close(close_connections=True)
        try:
            await asyncio.wait_for(server.wait_closed(), 10)
        except asyncio.TimeoutError:
            self._note("server did not close within 10 s")

    def restart(self, abort: bool = False) -> "WsPeer":
        self.stop(abort)
        return self.start()

    def close(self) -> None:
        try:
            self.stop()
        except Exception as exc:  # noqa: BLE001 - teardown
            self._note(f"stop failed: {exc!r}")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._loop.is_running():
            self._loop.close()

    # -- handshake ------------------------------------------------------------------------
    def _mode(self, path: str) -> str:
        return self.subprotocol_by_path.get(path.split("?", 1)[0], self.subprotocol)

    def _select_subprotocol(self, conn, offered):
        mode = self._mode(conn.request.path)
        if mode == "echo" and offered:
            return offered[0]
        return None

    def _process_request(self, conn, request):
        hs = Handshake(t=time.monotonic(), path=request.path, headers=_headers(request.headers),
                       peer=conn.transport.get_extra_info("peername"))
        self.handshakes.append(hs)
        if self.authorize is not None:
            why = self.authorize(hs)
            if why:
                hs.rejected = f"401 {why}"
                self._note(f"handshake {request.path} rejected: {why}")
                return conn.respond(401, f"{why}\n")
        return None

    def _process_response(self, conn, request, response):
        mode = self._mode(request.path)
        if mode.startswith("other:") and response.status_code == 101:
            response.headers["Sec-WebSocket-Protocol"] = mode.split(":", 1)[1]
        return None

    # -- per-connection instrumentation ----------------------------------------------------
    def _instrument(self, conn: ServerConnection) -> None:
        """Hooks the Sans-I/O protocol of a new connection: every frame the client sends is
        recorded (whether or not the handler reads it), pongs can be suppressed, wire bytes
        after the handshake are counted."""
        from websockets.protocol import State

        proto = conn.protocol
        rec = Conn(index=-1, t_open=time.monotonic())
        orig_recv_frame, orig_send_frame, orig_receive_data = proto.recv_frame, proto.send_frame, proto.receive_data

        def receive_data(data):
            if proto.state is State.OPEN or proto.state is State.CLOSING:
                rec.wire_bytes += len(data)
            return orig_receive_data(data)

        def recv_frame(frame: Frame):
            self._record_frame(rec, frame)
            return orig_recv_frame(frame)

        def send_frame(frame: Frame):
            if frame.opcode is Opcode.PONG and not self.answer_pings:
                rec.pongs_suppressed += 1
                return None
            return orig_send_frame(frame)

        proto.receive_data = receive_data
        proto.recv_frame = recv_frame
        proto.send_frame = send_frame
        conn._ws_peer_rec = rec  # type: ignore[attr-defined]

    def _record_frame(self, rec: Conn, frame: Frame) -> None:
        now = time.monotonic()
        op = frame.opcode
        if op is Opcode.PING:
            rec.pings.append(now)
            return
        if op is Opcode.CLOSE:
            if len(frame.data) >= 2:
                rec.close_code = struct.unpack(">H", frame.data[:2])[0]
                rec.close_reason = frame.data[2:].decode("utf-8", "replace")
            else:
                rec.close_code = 1005
                rec.close_reason = ""
            self._note(f"conn #{rec.index}: close frame from the client: {rec.close_code} {rec.close_reason!r}")
            return
        if op in (Opcode.TEXT, Opcode.BINARY):
            rec._partial = [frame.data]
            rec._partial_kind = "text" if op is Opcode.TEXT else "binary"
        elif op is Opcode.CONT:
            rec._partial.append(frame.data)
        else:
            return
        if not frame.fin:
            return
        raw = b"".join(rec._partial)
        kind = rec._partial_kind or "binary"
        msg = Msg(t=now, kind=kind, raw=raw, frame_sizes=[len(p) for p in rec._partial])
        rec._partial, rec._partial_kind = [], None
        try:
            msg.obj = json.loads(raw.decode("utf-8")) if kind == "text" else cbor_loads(raw)
        except Exception as exc:  # noqa: BLE001 - recorded, the test decides
            msg.parse_error = repr(exc)
        rec.messages.append(msg)

    async def _handler(self, conn: ServerConnection) -> None:
        rec: Conn = conn._ws_peer_rec  # type: ignore[attr-defined]
        rec.index = len(self.conns)
        rec.path = conn.request.path
        rec.request_headers = _headers(conn.request.headers)
        rec.response_headers = _headers(conn.response.headers)
        proto_hdr = rec.response_headers.get("sec-websocket-protocol")
        rec.subprotocol_sent = proto_hdr[0] if proto_hdr else None
        rec.extensions = [e.name for e in conn.protocol.extensions]
        sslobj = conn.transport.get_extra_info("ssl_object")
        if sslobj is not None:
            rec.tls_version = sslobj.version()
            rec.tls_cipher = (sslobj.cipher() or (None,))[0]
            cert = sslobj.getpeercert()
            if cert:
                rec.peer_cert_subject = {k: v for rdn in cert.get("subject", ()) for k, v in rdn}
        self.conns.append(rec)
        self._live[rec.index] = conn
        self._note(f"conn #{rec.index} open: path={rec.path} subprotocol={rec.subprotocol_sent} "
                   f"extensions={rec.extensions} tls={rec.tls_version}")
        try:
            while True:
                msg = await conn.recv()
                if self.auto_ack:
                    seq = _seq_of(msg)
                    if seq is not None:
                        await conn.send(json.dumps({"op": "ack", "seq": seq}))
                        rec.acks_sent.append((time.monotonic(), seq))
        except ConnectionClosed:
            pass
        finally:
            sent = conn.protocol.close_sent
            if sent is not None:
                rec.server_close = (sent.code, sent.reason)
            rec.open = False
            rec.t_close = time.monotonic()
            self._live.pop(rec.index, None)
            self._note(f"conn #{rec.index} closed: client close code {rec.close_code}, server close {rec.server_close}, "
                       f"{len(rec.messages)} messages, {len(rec.pings)} pings")

    # -- queries (thread-safe enough: lists are only appended to) --------------------------
    def conns_for(self, path: str | None = None) -> list[Conn]:
        return [c for c in list(self.conns) if path is None or c.path.split("?", 1)[0] == path]

    def open_conn(self, path: str | None = None) -> Conn | None:
        for c in reversed(self.conns_for(path)):
            if c.open:
                return c
        return None

    def data(self, path: str | None = None) -> list[dict]:
        return [d for c in self.conns_for(path) for d in c.data()]

    def wait(self, pred: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: {what} not within {timeout}s\n{self.summary()}")
            time.sleep(0.05)

    def wait_conn(self, path: str | None = None, timeout: float = 10.0, count: int = 1) -> Conn:
        self.wait(lambda: len(self.conns_for(path)) >= count and self.conns_for(path)[count - 1],
                  timeout, f"connection #{count} on {path or 'any path'}")
        return self.conns_for(path)[count - 1]

    def summary(self) -> str:
        lines = [f"{self.name}: {len(self.handshakes)} handshakes, {len(self.conns)} connections"]
        for hs in self.handshakes[-10:]:
            lines.append(f"  handshake {hs.path} rejected={hs.rejected!r} headers={hs.headers}")
        for c in self.conns[-10:]:
            seqs = c.seqs()
            lines.append(
                f"  conn #{c.index} {c.path} open={c.open} subprotocol={c.subprotocol_sent} ext={c.extensions} "
                f"tls={c.tls_version} msgs={len(c.messages)} seq={seqs[:3]}..{seqs[-3:]} pings={len(c.pings)} "
                f"close={c.close_code} {c.close_reason!r} server_close={c.server_close}")
            for m in c.messages[-3:]:
                lines.append(f"    last msg {m.kind} {m.raw[:200]!r} {m.parse_error}")
        if self.errors:
            lines.append("  loop errors: " + " | ".join(self.errors[-5:]))
        return "\n".join(lines)

    # -- sending --------------------------------------------------------------------------
    def _conn(self, path: str | None) -> tuple[Conn, ServerConnection]:
        rec = self.open_conn(path)
        assert rec is not None, f"{self.name}: no open connection on {path or 'any path'}\n{self.summary()}"
        conn = self._live.get(rec.index)
        assert conn is not None, f"{self.name}: connection #{rec.index} is gone"
        return rec, conn

    def send(self, data: str | bytes | Iterable, path: str | None = None, timeout: float = 30.0) -> None:
        """Sends one message (an iterable of str/bytes: one fragmented message). Errors (the
        client closing meanwhile) are recorded, not raised."""
        _rec, conn = self._conn(path)

        async def go():
            try:
                await conn.send(data)
            except ConnectionClosed as exc:
                self._note(f"send: connection closed meanwhile: {exc!r}")

        self._run(go(), timeout)

    def send_async(self, data, path: str | None = None) -> None:
        """As send() without waiting (for messages the client will refuse half-way)."""
        _rec, conn = self._conn(path)

        async def go():
            try:
                await conn.send(data)
            except Exception as exc:  # noqa: BLE001
                self._note(f"send_async: {exc!r}")

        asyncio.run_coroutine_threadsafe(go(), self._loop)

    def send_raw_bytes(self, data: bytes, path: str | None = None) -> None:
        """Writes bytes straight to the TCP (or TLS) stream of a connection, past websockets'
        framing and compression (hand-made frames, e.g. a corrupt compressed one)."""
        _rec, conn = self._conn(path)
        self._loop.call_soon_threadsafe(conn.transport.write, data)

    def ack(self, seq: int, path: str | None = None) -> None:
        rec, _ = self._conn(path)
        self.send(json.dumps({"op": "ack", "seq": seq}), path)
        rec.acks_sent.append((time.monotonic(), seq))

    def command(self, cmd: dict | str | bytes, path: str | None = None, timeout: float = 5.0,
                expect_id: Any = "auto", binary: bool = False) -> dict:
        """Sends a command (a dict is sent as JSON text, or CBOR with binary=True; str/bytes
        raw) and returns the first answer ({"op": ...}) whose id is expect_id ("auto": the id
        of the command, None for a raw message)."""
        rec, _ = self._conn(path)
        if expect_id == "auto":
            expect_id = cmd.get("id") if isinstance(cmd, dict) else None
        mark = len(rec.messages)
        if isinstance(cmd, dict):
            payload: str | bytes = cbor_dumps(cmd) if binary else json.dumps(cmd)
        else:
            payload = cmd
        self.send(payload, path)

        def answer():
            for m in rec.messages[mark:]:
                if m.is_reply and m.obj.get("id") == expect_id and m.obj.get("op") != "ack":
                    return m.obj
            return None

        return self.wait(answer, timeout, f"answer (id {expect_id!r}) to {str(cmd)[:200]}")

    async def acommand(self, cmd, path: str | None = None, timeout: float = 5.0, **kw) -> dict:
        return await asyncio.to_thread(self.command, cmd, path, timeout, **kw)


def _seq_of(msg) -> int | None:
    try:
        obj = json.loads(msg) if isinstance(msg, str) else cbor_loads(bytes(msg))
    except Exception:  # noqa: BLE001
        return None
    if isinstance(obj, dict) and isinstance(obj.get("seq"), int):
        return obj["seq"]
    return None


# --------------------------------------------------------------------------------------------
# TLS contexts
# --------------------------------------------------------------------------------------------


def server_ssl_context(cert: Path, key: Path, client_ca: Path | None = None,
                       min_version: ssl.TLSVersion | None = None,
                       max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(str(client_ca))
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def make_crl(ca_cert: Path, ca_key: Path, revoked: Iterable[Path], out: Path, der: bool = False) -> Path:
    """A CRL issued by ca_cert/ca_key revoking the given certificates (PEM files)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(ca.subject)
         .last_update(now - datetime.timedelta(hours=1))
         .next_update(now + datetime.timedelta(days=7))
         .add_extension(x509.CRLNumber(1), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False))
    for p in revoked:
        cert = x509.load_pem_x509_certificate(p.read_bytes())
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
            .revocation_date(now - datetime.timedelta(minutes=30)).build())
    crl = b.sign(key, hashes.SHA256())
    out.write_bytes(crl.public_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM))
    return out


# --------------------------------------------------------------------------------------------
# stunnel: TLS-PSK terminator in front of a plain WsPeer
# --------------------------------------------------------------------------------------------


def stunnel_bin() -> str:
    for name in ("stunnel4", "stunnel"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("stunnel is not installed: `apt-get install stunnel4` (the PSK tests need it)")


class Stunnel:
    """stunnel4 accepting TLS-PSK on 127.0.0.1:port and forwarding in plain TCP to
    127.0.0.1:target_port. secret is the PSK as text (stunnel's PSKsecrets format,
    identity:key, key at least 16 bytes); fxgate's psk_key is its hex."""

    def __init__(self, directory: Path, port: int, target_port: int, identity: str, secret: str,
                 version: str = "TLSv1.2", name: str = "stunnel"):
        assert len(secret) >= 16
        self.name = name
        self.port = port
        directory.mkdir(parents=True, exist_ok=True)
        psk = directory / f"{name}.psk"
        psk.write_text(f"{identity}:{secret}\n")
        os.chmod(psk, 0o600)
        self.log_path = directory / f"{name}.log"
        conf = directory / f"{name}.conf"
        lines = [
            "foreground = yes",
            "pid =",
            f"output = {self.log_path}",
            "debug = info",
            "syslog = no",
            f"[{name}]",
            f"accept = 127.0.0.1:{port}",
            f"connect = 127.0.0.1:{target_port}",
            f"PSKsecrets = {psk}",
            f"sslVersionMin = {version}",
            f"sslVersionMax = {version}",
        ]
        if version == "TLSv1.2":
            lines.append("ciphers = PSK")
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([stunnel_bin(), str(conf)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode("utf-8", "replace")
                raise RuntimeError(f"stunnel exited with {self.proc.returncode}:\n{out}\n{self.log}")
            if _accepts(port):
                break
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"stunnel does not listen on {port}:\n{self.log}")
            time.sleep(0.05)

    @property
    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _accepts(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# JWT (RFC 7519 / RFC 7515) checks
# --------------------------------------------------------------------------------------------


def _b64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_split(token: str) -> tuple[dict, dict, bytes, bytes]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"a JWS compact token has 3 parts, got {len(parts)}")
    for p in parts:
        if "=" in p or "+" in p or "/" in p:
            raise ValueError("JWT parts must be base64url without padding")
    header = json.loads(_b64url(parts[0]))
    claims = json.loads(_b64url(parts[1]))
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), _b64url(parts[2])


def jwt_decode_hs256(token: str, secret: str) -> dict:
    header, claims, signing_input, sig = jwt_split(token)
    if header.get("alg") != "HS256":
        raise ValueError(f"alg {header.get('alg')!r}, expected HS256")
    expect = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expect, sig):
        raise ValueError("HS256 signature does not verify")
    return claims


def jwt_decode_rs256(token: str, public_key_pem: bytes) -> dict:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    header, claims, signing_input, sig = jwt_split(token)
    if header.get("alg") != "RS256":
        raise ValueError(f"alg {header.get('alg')!r}, expected RS256")
    pub = serialization.load_pem_public_key(public_key_pem)
    pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())  # raises InvalidSignature
    return claims


def bearer(hs: Handshake | Conn) -> str | None:
    auth = hs.header("Authorization")
    if auth is None:
        return None
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


# --------------------------------------------------------------------------------------------
# Cleanup registry
# --------------------------------------------------------------------------------------------


class WsPeers:
    """Every peer a test started; close() stops them all and prints their logs (pytest shows
    them with a failing test)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.items: list = []

    def server(self, port: int, start: bool = True, **kw) -> WsPeer:
        p = WsPeer(port, **kw)
        self.items.append(p)
        return p.start() if start else p

    def add(self, obj):
        """Any other peer with a close() method."""
        self.items.append(obj)
        return obj

    def stunnel(self, *a, **kw) -> Stunnel:
        s = Stunnel(self.tmp / "stunnel", *a, **kw)
        self.items.append(s)
        return s

    def close(self) -> None:
        for obj in reversed(self.items):
            try:
                obj.close()
                if isinstance(obj, WsPeer):
                    print(f"===== WsPeer {obj.name} (port {obj.port}) =====\n{''.join(obj.log)}{obj.summary()}",
                          file=sys.stderr)
                elif isinstance(obj, Stunnel):
                    print(f"===== {obj.name} (port {obj.port}) =====\n{obj.log}", file=sys.stderr)
            except Exception as exc:  # noqa: BLE001 - teardown must go on
                print(f"teardown of {obj!r} failed: {exc!r}", file=sys.stderr)
