"""Northbound WebSocket client ([[websocket]]) against real WebSocket servers: Python
`websockets` 17.4 peers (ws_peers.WsPeer) plain and TLS, stunnel4 as the TLS-PSK terminator,
asyncua reading the gateway's tags and state over OPC UA, and /metrics.

The contract is docs/interfaces.md, "WebSocket client" (seed 001: Beckhoff TF6770
FB_IotWebSocketClient §5.1.1, ST_IotSocketTls §5.1.1.8, ETcIotWebSocketStatus §5.2.1)."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import time

import pytest
from asyncua import ua

from fxgate_testlib import demo_simulator, free_port, free_ports, hash_password
from modbus_peers import Opc, RawTcpPeer, _cert, _write_key, encrypt_key_openssl, http_get, is_good, make_pki, no_panic, show
from ws_peers import (
    WsPeers,
    bearer,
    jwt_decode_hs256,
    jwt_decode_rs256,
    make_crl,
    server_ssl_context,
)

WRITER_PW = "wr1ter pw!"
WS_TAGS = ("State", "StateCode", "Connected", "LastError", "CloseReason", "Sequence", "Buffered", "Dropped")
WS_TAG_TYPES = {"State": "String", "StateCode": "Int32", "Connected": "Boolean", "LastError": "String",
                "CloseReason": "UInt16", "Sequence": "UInt64", "Buffered": "UInt64", "Dropped": "UInt64"}
# ETcIotWebSocketStatus (seed 001 §5.2.1)
STATUS_CODES = {
    "SUCCESS": 0, "SOCK_NO_CONN": 4, "SOCK_CONN_REFUSED": 5, "SOCK_CONN_LOST": 7, "SOCK_ERR_TLS": 8,
    "TLS_CA_NOTFOUND": 17, "TLS_CERT_NOTFOUND": 18, "TLS_KEY_NOTFOUND": 19, "TLS_CA_INVALID": 20,
    "TLS_CERT_INVALID": 21, "TLS_KEY_INVALID": 22, "TLS_VERIFY_FAIL": 23, "TLS_SETUP": 24,
    "TLS_HANDSHAKE_FAIL": 25, "TLS_CIPHER_INVALID": 26, "TLS_VERSION_INVALID": 27, "TLS_PSK_INVALID": 28,
    "TLS_CRL_NOTFOUND": 29, "TLS_CRL_INVALID": 30, "FINALIZE_DISCONNECT": 31, "TLS_CERT_EXPIRED": 40,
    "TLS_CN_MISMATCH": 41, "CONNECT_RES_INVALID_STATUS": 1005, "CONNECT_RES_REJECT": 1009,
    "CONNECT_RES_TIMEOUT": 1010, "KEEP_ALIVE_TIMEOUT": 1011, "INVALID_MSG_SIZE": 1013, "DECOMPRESS_ERROR": 1016,
}
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
PSK_IDENTITY = "fxgate"
PSK_SECRET = "fxgate-psk-secret-0123456789"  # stunnel takes the key as text; fxgate's psk_key is its hex
WRONG_PSK_SECRET = "not-the-right-psk-secret-9876"


# ----------------------------------------------------------------------------------------------
# fixtures and helpers
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def ws_peers(tmp_path):
    peers = WsPeers(tmp_path)
    yield peers
    peers.close()


@pytest.fixture(scope="module")
def writer_hash():
    return hash_password(WRITER_PW)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("ws-pki"))


def run(coro):
    return asyncio.run(coro)


def ws(name: str, url: str, **kw) -> dict:
    """A [[websocket]] entry with quick reconnects (tests must not wait for the 1 s / 60 s defaults)."""
    return {"name": name, "url": url, "tags": ["Demo/*"], "publish_interval_ms": 100,
            "reconnect_min_ms": 200, "reconnect_max_ms": 1000, "connect_response_timeout": 5, **kw}


def fast_sim(name: str = "Fast", interval_ms: int = 10) -> dict:
    return {"name": name, "interval_ms": interval_ms, "tags": [
        {"name": "Counter", "type": "UInt32", "waveform": "counter"},
        {"name": "Sine", "type": "Double", "waveform": "sine"},
    ]}


def start_gw(factory, websockets: list[dict], simulators: list[dict] | None = None, users: list[dict] | None = None):
    overrides: dict = {"simulator": simulators or [demo_simulator(100)], "websocket": websockets}
    if users:
        overrides["users"] = users
    return factory.start(overrides)


def parse_rfc3339(s) -> datetime.datetime:
    assert isinstance(s, str), f"timestamp {s!r} is not a string"
    m = RFC3339.match(s)
    assert m, f"timestamp {s!r} is not RFC 3339 (e.g. 2026-11-21T08:00:00.123Z)"
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tz = m.group(8)
    if tz == "Z":
        tzinfo = datetime.timezone.utc
    else:
        sign = 1 if tz[0] == "+" else -1
        tzinfo = datetime.timezone(sign * datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    return datetime.datetime(y, mo, d, h, mi, sec, micro, tzinfo=tzinfo)


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


async def until(pred, timeout: float, what: str, detail=lambda: "", interval: float = 0.05):
    """Polls pred() (a quick, non-blocking check) without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout}s\n{detail()}")
        await asyncio.sleep(interval)


class WsWatch:
    """Reads the state tags of one WebSocket client over OPC UA and remembers every distinct
    (State, StateCode, Connected, CloseReason) it saw."""

    def __init__(self, opc: Opc, name: str):
        self.opc = opc
        self.name = name
        self.history: list[tuple] = []

    async def read(self) -> dict:
        dvs = await self.opc.read_many(f"fxgate/WebSockets/{self.name}", list(WS_TAGS))
        out: dict = {}
        for tag, dv in zip(WS_TAGS, dvs):
            out[tag] = dv.Value.Value if dv.Value is not None else None
            out[tag + "_type"] = dv.Value.VariantType.name if dv.Value is not None else None
            out[tag + "_status"] = (dv.StatusCode or ua.StatusCode(0)).name
        key = (out["State"], out["StateCode"], out["Connected"], out["CloseReason"], out["LastError"])
        if not self.history or self.history[-1][1:] != key:
            self.history.append((round(time.monotonic(), 2), *key))
        return out

    def seen_states(self) -> set:
        return {h[1] for h in self.history}

    async def wait(self, pred, timeout: float, what: str, interval: float = 0.05) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            st = await self.read()
            if pred(st):
                return st
            if time.monotonic() >= deadline:
                raise AssertionError(f"websocket {self.name}: {what} not within {timeout}s; last {st};\n"
                                     f"history (t, State, StateCode, Connected, CloseReason, LastError): {self.history}")
            await asyncio.sleep(interval)

    async def wait_state(self, state: str, timeout: float, connected: bool | None = None) -> dict:
        return await self.wait(
            lambda s: s["State"] == state and (connected is None or s["Connected"] is connected),
            timeout, f"State {state}" + (f", Connected {connected}" if connected is not None else ""))

    async def stays_disconnected(self, seconds: float) -> dict:
        """Connected stays false for `seconds`; returns the last state."""
        deadline = time.monotonic() + seconds
        st = await self.read()
        while time.monotonic() < deadline:
            st = await self.read()
            assert st["Connected"] is not True, f"websocket {self.name} connected: {st}; history {self.history}"
            await asyncio.sleep(0.1)
        return st


def metric(text: str, name: str, ws_name: str) -> float | None:
    m = re.search(rf'^{re.escape(name)}\{{[^}}]*name="{re.escape(ws_name)}"[^}}]*\}}\s+([0-9.eE+-]+)\s*$', text, re.M)
    return float(m.group(1)) if m else None


def values_of(data: list[dict], tag: str) -> list:
    return [v["v"] for d in data for v in d["values"] if v["tag"] == tag]


def repeated_samples(data: list[dict], tag: str) -> list[tuple]:
    """Entries of `tag` that repeat the previous entry of the tag exactly (same v and st): the
    same sample sent twice, not a change."""
    entries = [(d["seq"], v["v"], v["st"]) for d in data for v in d["values"] if v["tag"] == tag]
    return [b for a, b in zip(entries, entries[1:]) if a[1:] == b[1:]]


def changes_of(data: list[dict], tag: str) -> list:
    """Values of `tag` with exact repeats of a sample (same v and st) left out; the repeats
    themselves are checked by test_values_stream_as_json_messages."""
    out, prev = [], None
    for d in data:
        for v in d["values"]:
            if v["tag"] == tag:
                if (v["v"], v["st"]) != prev:
                    out.append(v["v"])
                prev = (v["v"], v["st"])
    return out


def dedup_by_seq(data: list[dict]) -> dict[int, dict]:
    """seq -> message; a message received twice must be the same message both times."""
    out: dict[int, dict] = {}
    for d in data:
        prev = out.setdefault(d["seq"], d)
        assert prev == d, f"seq {d['seq']} received twice with different content:\n{prev}\n{d}"
    return out


def assert_consecutive(values: list, what: str) -> None:
    assert values, f"{what}: no values"
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(values, values[1:])) if b != a + 1]
    assert not bad, f"{what}: values not consecutive (missing or repeated changes) at {bad[:10]}; values {values[:50]}..."


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ----------------------------------------------------------------------------------------------
# 1. streaming: JSON messages, seq, timestamps, qualities, tag selection by globs
# ----------------------------------------------------------------------------------------------


def test_values_stream_as_json_messages(gateway_factory, ws_peers):
    port = free_port()
    peer = ws_peers.server(port, name="ingest")
    other = {"name": "Other", "interval_ms": 100, "tags": [
        {"name": "Ramp", "type": "Int32", "waveform": "ramp"},
        {"name": "Counter", "type": "UInt32", "waveform": "counter"},
        {"name": "Sine", "type": "Double", "waveform": "sine"},
    ]}
    selected = {"Demo/Sine", "Demo/Counter", "Demo/Toggle", "Other/Ramp"}
    start_gw(gateway_factory, [ws("cloud", f"ws://127.0.0.1:{port}/ingest",
                                  tags=["Demo/Sine", "Demo/Co*", "Demo/T?ggle", "Other/R*"],
                                  publish_interval_ms=300)],
             simulators=[demo_simulator(100), other])
    conn = peer.wait_conn(timeout=15)
    peer.wait(lambda: len(conn.data()) >= 10, 15, "10 data messages")
    received_at = now_utc()
    msgs = list(conn.messages)

    assert all(m.kind == "text" for m in msgs), [m.raw[:80] for m in msgs if m.kind != "text"]
    bad = [(m.raw[:200], m.parse_error) for m in msgs if m.obj is None]
    assert not bad, f"messages that are not JSON: {bad}"
    data = [m.obj for m in msgs]
    assert all(m.is_data for m in msgs), f"unexpected messages: {[d for d in data if 'seq' not in d][:3]}"

    seqs = [d["seq"] for d in data]
    assert seqs == list(range(1, len(seqs) + 1)), f"seq must be 1,2,3,... contiguous: {seqs}"

    seen_tags = set()
    for d in data:
        assert set(d) >= {"seq", "ts", "values"}, d
        ts = parse_rfc3339(d["ts"])
        assert abs((received_at - ts).total_seconds()) < 60, f"ts {d['ts']} far from now {received_at}"
        assert isinstance(d["values"], list) and d["values"], f"message without values: {d}"
        for v in d["values"]:
            assert set(v) >= {"tag", "v", "q", "st"}, v
            seen_tags.add(v["tag"])
            assert v["q"] == "Good", f"quality of a simulated value must be Good: {v} in seq {d['seq']}"
            st = parse_rfc3339(v["st"])
            assert st <= ts + datetime.timedelta(seconds=1), f"st {v['st']} after the message ts {d['ts']}"
            if v["tag"] in ("Demo/Sine",):
                assert is_number(v["v"]), v
            elif v["tag"] in ("Demo/Counter", "Other/Ramp"):
                assert isinstance(v["v"], int) and not isinstance(v["v"], bool), f"integer tag as {v!r}"
            elif v["tag"] == "Demo/Toggle":
                assert isinstance(v["v"], bool), v
    assert seen_tags == selected, (f"tags selected by the globs: expected exactly {sorted(selected)}, "
                                   f"got {sorted(seen_tags)}")

    # every change is in a message, several changes of a tag within one interval in order
    counter = changes_of(data, "Demo/Counter")
    assert_consecutive(counter, "Demo/Counter across messages")
    per_msg = [[v for v in d["values"] if v["tag"] == "Demo/Counter"] for d in data]
    assert max(len(x) for x in per_msg) >= 2, (
        f"publish_interval_ms 300 with changes every 100 ms: a message must carry several changes of "
        f"Demo/Counter, got counts {[len(x) for x in per_msg]}")
    for entries in per_msg:
        sts = [parse_rfc3339(e["st"]) for e in entries]
        assert sts == sorted(sts), f"changes of one tag within a message must be in order: {entries}"
    ramp = changes_of(data, "Other/Ramp")
    bad_ramp = [(a, b) for a, b in zip(ramp, ramp[1:]) if not (b == a + 1 or b == 0)]
    assert not bad_ramp, f"Other/Ramp changes missing: {bad_ramp[:5]} in {ramp[:40]}"
    toggles = changes_of(data, "Demo/Toggle")
    assert all(a != b for a, b in zip(toggles, toggles[1:])), f"Demo/Toggle changes missing: {toggles}"
    # no sample twice: an entry repeating the previous one of its tag (same v, same st) is not a change
    repeats = {t: repeated_samples(data, t) for t in sorted(selected)}
    repeats = {t: r for t, r in repeats.items() if r}
    assert not repeats, f"the same sample (tag, v, st) sent twice, (seq, v, st): {repeats}; first message: {data[0]}"


# ----------------------------------------------------------------------------------------------
# 2. commands: write (with and without a user), read, browse, malformed messages
# ----------------------------------------------------------------------------------------------


def test_commands_write_read_browse_and_errors(gateway_factory, ws_peers, client_cert, writer_hash):
    port = free_port()
    peer = ws_peers.server(port, name="scada")
    gw = start_gw(
        gateway_factory,
        [ws("ops", f"ws://127.0.0.1:{port}/ops", user="writer", tags=["Demo/Setpoint"]),
         ws("anon", f"ws://127.0.0.1:{port}/anon", tags=["Demo/Setpoint"])],
        users=[{"name": "writer", "password_hash": writer_hash, "roles": ["read", "write"]}],
    )
    peer.wait_conn("/ops", 15)
    peer.wait_conn("/anon", 15)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            # write with a user that has the write role
            r = await peer.acommand({"op": "write", "tag": "Demo/Setpoint", "v": 42.5, "id": 1}, "/ops")
            assert r == {"op": "write-result", "id": 1, "status": "Good"}, r
            dv = await opc.wait("Demo", "Setpoint", lambda d: is_good(d) and d.Value.Value == 42.5, 5,
                                "written value over OPC UA")
            assert dv.Value.VariantType == ua.VariantType.Double, show(dv)
            # the change is streamed like any other
            await until(lambda: 42.5 in values_of(peer.data("/ops"), "Demo/Setpoint"), 5,
                        "Demo/Setpoint 42.5 in a data message on /ops", peer.summary)

            # without a user: refused, value unchanged
            r = await peer.acommand({"op": "write", "tag": "Demo/Setpoint", "v": 7.0, "id": 2}, "/anon")
            assert r.get("op") == "write-result" and r.get("id") == 2, r
            assert r.get("status") == "Bad_UserAccessDenied", r
            await asyncio.sleep(0.3)
            assert (await opc.read("Demo", "Setpoint")).Value.Value == 42.5

            # write errors
            for i, (cmd, status) in enumerate([
                ({"op": "write", "tag": "Demo/Sine", "v": 1.0}, "Bad_NotWritable"),
                ({"op": "write", "tag": "Demo/NoSuchTag", "v": 1.0}, "Bad_NodeIdUnknown"),
                ({"op": "write", "tag": "Demo/Setpoint", "v": "not a number"}, "Bad_TypeMismatch"),
            ], start=20):
                r = await peer.acommand(dict(cmd, id=i), "/ops")
                assert r == {"op": "write-result", "id": i, "status": status}, (cmd, r)
            assert (await opc.read("Demo", "Setpoint")).Value.Value == 42.5

            # read answers from the store
            r = await peer.acommand({"op": "read", "tags": ["Demo/Setpoint", "Demo/Sine"], "id": 3}, "/ops")
            assert r.get("op") == "read-result" and r.get("id") == 3, r
            vals = r["values"]
            assert [v["tag"] for v in vals] == ["Demo/Setpoint", "Demo/Sine"], r
            assert vals[0]["v"] == 42.5 and vals[0]["q"] == "Good", vals[0]
            parse_rfc3339(vals[0]["st"])
            assert is_number(vals[1]["v"]) and vals[1]["q"] == "Good", vals[1]
            sine_opc = (await opc.read("Demo", "Sine")).Value.Value
            assert abs(vals[1]["v"] - sine_opc) <= 2.0, (vals[1], sine_opc)  # amplitude 1: same tag

            # browse
            r = await peer.acommand({"op": "browse", "path": "Demo/*", "id": 4}, "/ops")
            assert r.get("op") == "browse-result" and r.get("id") == 4, r
            got = {t["tag"]: (t["type"], t["writable"]) for t in r["tags"]}
            assert got == {"Demo/Sine": ("Double", False), "Demo/Ramp": ("Int32", False),
                           "Demo/Toggle": ("Boolean", False), "Demo/Counter": ("UInt32", False),
                           "Demo/Text": ("String", False), "Demo/Setpoint": ("Double", True)}, r
            r = await peer.acommand({"op": "browse", "path": "Demo/S*", "id": 5}, "/ops")
            assert sorted(t["tag"] for t in r["tags"]) == ["Demo/Setpoint", "Demo/Sine"], r

            # a CBOR command (binary) is understood as well
            r = await peer.acommand({"op": "read", "tags": ["Demo/Setpoint"], "id": 6}, "/ops", binary=True)
            assert r.get("op") == "read-result" and r["values"][0]["v"] == 42.5, r

            # malformed messages: {"op":"error",...}, the connection stays
            for raw, expect_id in [
                ("this is not JSON {", None),
                ('[1, 2, 3]', None),
                (json.dumps({"op": "frobnicate", "id": 9}), 9),
                (json.dumps({"op": "write", "v": 1.0, "id": 10}), 10),  # no tag
                (json.dumps({"op": "write", "tag": "Demo/Setpoint", "id": 11}), 11),  # no value
                (json.dumps({"op": "read", "id": 12}), 12),  # no tags
                (json.dumps({"tag": "Demo/Setpoint", "v": 1.0, "id": 13}), 13),  # no op
            ]:
                r = await peer.acommand(raw, "/ops", expect_id=expect_id)
                assert r.get("op") == "error" and r.get("id") == expect_id, (raw, r)
                assert isinstance(r.get("error"), str) and r["error"], (raw, r)
            assert (await opc.read("Demo", "Setpoint")).Value.Value == 42.5

            r = await peer.acommand({"op": "write", "tag": "Demo/Setpoint", "v": 43.0, "id": 14}, "/ops")
            assert r == {"op": "write-result", "id": 14, "status": "Good"}, r
            await opc.wait("Demo", "Setpoint", lambda d: d.Value.Value == 43.0, 5, "second write")
            assert len(peer.conns_for("/ops")) == 1 and peer.conns_for("/ops")[0].open, peer.summary()
            assert peer.conns_for("/ops")[0].close_code is None
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 3. subprotocol (CheckProtocol), Origin, URI
# ----------------------------------------------------------------------------------------------


def test_subprotocol_and_origin(gateway_factory, ws_peers, client_cert):
    port = free_port()
    peer = ws_peers.server(port, name="proto",
                           subprotocol_by_path={"/other": "other:fxgate.v2", "/none": "none"})
    mute = ws_peers.add(RawTcpPeer("silent"))  # accepts, reads, never answers the handshake
    proto = {"subprotocol": "fxgate.v1", "origin": "https://fxgate.local"}
    gw = start_gw(gateway_factory, [
        ws("mute", f"ws://127.0.0.1:{mute.port}/mute", connect_response_timeout=1, reconnect_min_ms=2000,
           reconnect_max_ms=4000),
        ws("match", f"ws://127.0.0.1:{port}/match?site=7", **proto),
        ws("other", f"ws://127.0.0.1:{port}/other", **proto),
        ws("none", f"ws://127.0.0.1:{port}/none", **proto),
        ws("bare", f"ws://127.0.0.1:{port}/bare"),
    ])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await WsWatch(opc, "match").wait_state("SUCCESS", 15, connected=True)
            assert st["StateCode"] == 0, st
            for name in ("other", "none"):
                w = WsWatch(opc, name)
                st = await w.wait_state("CONNECT_RES_REJECT", 15)
                assert st["StateCode"] == 1009, st
                await w.stays_disconnected(1.5)
            st = await WsWatch(opc, "bare").wait_state("SUCCESS", 10, connected=True)
            # no handshake response within connect_response_timeout (1 s)
            w = WsWatch(opc, "mute")
            st = await w.wait_state("CONNECT_RES_TIMEOUT", 6)
            assert st["StateCode"] == 1010 and st["Connected"] is False, st
        finally:
            await opc.close()

    run(main())
    c = peer.wait_conn("/match", 5)
    assert c.path == "/match?site=7", c.path
    assert c.header("Host") == f"127.0.0.1:{port}", c.request_headers
    assert c.header("Origin") == "https://fxgate.local", c.request_headers
    assert c.header("Sec-WebSocket-Protocol") == "fxgate.v1", c.request_headers
    assert c.subprotocol_sent == "fxgate.v1"
    peer.wait(lambda: c.data(), 5, "data on the matching connection")
    for path in ("/other", "/none"):
        hs = [h for h in peer.handshakes if h.path == path]
        assert len(hs) >= 2, f"{path}: the client must keep retrying: {len(hs)} handshakes"
        assert all(h.header("Sec-WebSocket-Protocol") == "fxgate.v1" for h in hs)
        assert all(h.header("Origin") == "https://fxgate.local" for h in hs)
        data = peer.data(path)
        assert not data, f"{path}: a rejected connection must not stream: {data[:2]}"
    bare = peer.wait_conn("/bare", 5)
    assert bare.header("Origin") is None, f"empty origin: no Origin header, got {bare.request_headers}"
    assert bare.header("Sec-WebSocket-Protocol") is None, bare.request_headers
    assert mute.connections >= 1 and mute.requests >= 1, "the handshake request reached the mute server"
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 4. permessage-deflate
# ----------------------------------------------------------------------------------------------


def test_permessage_deflate_negotiation(gateway_factory, ws_peers):
    p_deflate, p_nodeflate = free_ports(2)
    # no window limits: both sides 15 bits (RFC 7692 defaults)
    peer = ws_peers.server(p_deflate, name="deflate-server", deflate_params={})
    plain_peer = ws_peers.server(p_nodeflate, name="no-deflate-server", compression=False)
    gw = start_gw(gateway_factory, [
        ws("deflate", f"ws://127.0.0.1:{p_deflate}/deflate", per_message_deflate=True),
        ws("plain", f"ws://127.0.0.1:{p_deflate}/plain", per_message_deflate=False),
        ws("refused", f"ws://127.0.0.1:{p_nodeflate}/refused", per_message_deflate=True),
    ])
    d = peer.wait_conn("/deflate", 15)
    p = peer.wait_conn("/plain", 15)
    r = plain_peer.wait_conn("/refused", 15)
    for c, who in ((d, peer), (p, peer), (r, plain_peer)):
        who.wait(lambda c=c: len(c.data()) >= 20, 15, f"20 messages on {c.path}")

    assert "permessage-deflate" in (d.header("Sec-WebSocket-Extensions") or ""), d.request_headers
    assert "permessage-deflate" in d.response_headers["sec-websocket-extensions"][0], d.response_headers
    assert d.extensions == ["permessage-deflate"], d.extensions
    assert "permessage-deflate" not in (p.header("Sec-WebSocket-Extensions") or ""), p.request_headers
    assert p.extensions == []
    assert "permessage-deflate" in (r.header("Sec-WebSocket-Extensions") or ""), r.request_headers
    assert r.extensions == [], "the server did not accept the extension"
    for c in (d, p, r):
        msgs = list(c.messages)
        assert all(m.obj is not None for m in msgs), [m.parse_error for m in msgs if m.obj is None][:3]
        seqs = c.seqs()
        assert seqs == list(range(1, len(seqs) + 1)), (c.path, seqs)
        assert len(peer.conns_for(c.path) + plain_peer.conns_for(c.path)) == 1, f"{c.path}: reconnected"

    def ratio(c):
        msgs = list(c.messages)
        return c.wire_bytes / sum(len(m.raw) for m in msgs)

    # bytes on the wire (frame headers included) against the decoded payload
    assert ratio(d) < 0.9, f"deflate: wire/payload ratio {ratio(d):.2f}; nothing compressed?"
    assert ratio(p) > 1.0, f"plain: wire/payload ratio {ratio(p):.2f}"
    no_panic(gw)


def test_bytes_sent_metric_counts_compressed_payload(gateway_factory, ws_peers):
    port = free_port()
    peer = ws_peers.server(port, name="deflate-server", deflate_params={})
    gw = start_gw(gateway_factory, [
        ws("deflate", f"ws://127.0.0.1:{port}/deflate", per_message_deflate=True),
        ws("plain", f"ws://127.0.0.1:{port}/plain", per_message_deflate=False),
    ])
    d = peer.wait_conn("/deflate", 15)
    p = peer.wait_conn("/plain", 15)
    for c in (d, p):
        peer.wait(lambda c=c: len(c.data()) >= 20, 15, f"20 messages on {c.path}")
    plain_before = sum(len(m.raw) for m in p.messages)  # sent before the metrics are read
    status, text = http_get(gw, "/metrics")
    assert status == 200
    time.sleep(0.5)  # everything counted so far has arrived
    counted = {n: metric(text, "fxgate_websocket_bytes_sent_total", n) for n in ("deflate", "plain")}
    json_bytes = {n: sum(len(m.raw) for m in c.messages) for n, c in (("deflate", d), ("plain", p))}
    # The metric counts frames as written (headers included): at most 14 header bytes per message.
    frames_plain = len(p.messages)
    assert counted["plain"] and plain_before <= counted["plain"] <= json_bytes["plain"] + 14 * frames_plain, (
        f"plain: bytes_sent_total {counted['plain']}, JSON received {plain_before} before the metrics "
        f"were read, {json_bytes['plain']} 0.5 s later")
    assert counted["deflate"] and counted["deflate"] <= d.wire_bytes, (
        f"fxgate_websocket_bytes_sent_total must count payload bytes after compression: deflate client "
        f"counted {counted['deflate']:.0f} bytes, but only {d.wire_bytes} bytes arrived on the wire (frame "
        f"headers included) for {json_bytes['deflate']} bytes of JSON; plain client counted "
        f"{counted['plain']:.0f} for {json_bytes['plain']} bytes of JSON")
    no_panic(gw)


def test_permessage_deflate_negotiated_window_bits(gateway_factory, ws_peers):
    """websockets' default server (server_max_window_bits=12, and client_max_window_bits=12 when the
    client offers that parameter): compressed messages keep flowing beyond the first 4 KiB of
    context (a client that offers client_max_window_bits must then not use a larger LZ77 window,
    RFC 7692 7.1.2.2)."""
    port = free_port()
    peer = ws_peers.server(port, name="deflate-12-server")
    gw = start_gw(gateway_factory, [ws("deflate", f"ws://127.0.0.1:{port}/deflate", per_message_deflate=True)])
    d = peer.wait_conn("/deflate", 15)
    offered = d.header("Sec-WebSocket-Extensions") or ""
    answered = d.response_headers["sec-websocket-extensions"][0]
    assert d.extensions == ["permessage-deflate"], (offered, answered)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sum(len(m.raw) for m in d.messages) < 16_000 and d.open:
        time.sleep(0.1)
    time.sleep(0.3)
    conns = peer.conns_for("/deflate")
    assert len(conns) == 1 and d.open and d.server_close is None, (
        f"offered {offered!r}, answered {answered!r}: the server failed the connection(s) "
        f"(index, messages, payload bytes, server close): "
        f"{[(c.index, len(c.messages), sum(len(m.raw) for m in c.messages), c.server_close) for c in conns]}")
    seqs = d.seqs()
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    # the other direction: commands compressed by the server (12-bit window), 20 kB of context
    names = ["Demo/Sine", "Demo/Ramp", "Demo/Toggle", "Demo/Counter", "Demo/Text", "Demo/Setpoint"]
    for i in range(20):
        r = peer.command({"op": "read", "tags": names * 8, "id": 100 + i}, "/deflate")
        assert r.get("op") == "read-result" and len(r["values"]) == 48, r
    assert len(peer.conns_for("/deflate")) == 1 and d.open, peer.summary()
    no_panic(gw)


def test_corrupt_compressed_message_is_decompress_error(gateway_factory, ws_peers, client_cert):
    port = free_port()
    peer = ws_peers.server(port, name="corrupt", deflate_params={})
    gw = start_gw(gateway_factory, [
        ws("corrupt", f"ws://127.0.0.1:{port}/corrupt", per_message_deflate=True, tags=["Demo/Setpoint"],
           reconnect_min_ms=3000, reconnect_max_ms=6000),
    ])
    conn = peer.wait_conn("/corrupt", 15)
    assert conn.extensions == ["permessage-deflate"]

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            w = WsWatch(opc, "corrupt")
            await w.wait_state("SUCCESS", 5, connected=True)
            # a text frame, FIN + RSV1 (compressed), whose payload is no DEFLATE data
            garbage = bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x12, 0x34, 0x56, 0x78, 0x9A]) * 4
            peer.send_raw_bytes(bytes([0xC1, len(garbage)]) + garbage, "/corrupt")
            st = await w.wait(lambda s: s["State"] == "DECOMPRESS_ERROR", 8, "State DECOMPRESS_ERROR", interval=0.02)
            assert st["StateCode"] == 1016 and st["Connected"] is False, st
            await until(lambda: not conn.open, 5, "the connection closed", peer.summary)
            await until(lambda: len(peer.conns_for("/corrupt")) >= 2, 10, "reconnect", peer.summary)
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_send_fragmentation(gateway_factory, ws_peers):
    port = free_port()
    peer = ws_peers.server(port, name="frames", compression=False)
    start_gw(gateway_factory, [
        ws("frames", f"ws://127.0.0.1:{port}/frames", max_send_frame_size=200, publish_interval_ms=300),
    ])
    conn = peer.wait_conn("/frames", 15)
    peer.wait(lambda: len(conn.data()) >= 5, 10, "5 messages")
    msgs = list(conn.messages)
    big = [m for m in msgs if len(m.raw) > 200]
    assert big, f"messages of publish_interval_ms 300 over 6 tags exceed 200 bytes: {[len(m.raw) for m in msgs]}"
    for m in msgs:
        assert max(m.frame_sizes) <= 200, f"frame larger than max_send_frame_size 200: {m.frame_sizes}"
        assert len(m.frame_sizes) == max(1, -(-len(m.raw) // 200)), (len(m.raw), m.frame_sizes)
        assert m.obj is not None and m.is_data, m.parse_error


# ----------------------------------------------------------------------------------------------
# 5. TLS
# ----------------------------------------------------------------------------------------------


def test_tls_server_certificate_verification(gateway_factory, ws_peers, client_cert, pki, tmp_path):
    p_good, p_other, p_name = free_ports(3)
    good = ws_peers.server(p_good, name="tls-good", ssl_ctx=server_ssl_context(pki.server_cert, pki.server_key))
    other = ws_peers.server(p_other, name="tls-other-ca",
                            ssl_ctx=server_ssl_context(pki.other_server_cert, pki.other_server_key))
    # signed by the trusted CA, but for another name (no 127.0.0.1 in the SAN)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = _cert("elsewhere", k, ca_cert, ca_key, ca=False, eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                  san=["elsewhere.example"])
    (tmp_path / "wrong-name.pem").write_bytes(wrong.public_bytes(serialization.Encoding.PEM))
    _write_key(k, tmp_path / "wrong-name.key")
    ws_peers.server(p_name, name="tls-wrong-name",
                    ssl_ctx=server_ssl_context(tmp_path / "wrong-name.pem", tmp_path / "wrong-name.key"))

    crl_revoking = make_crl(pki.ca, pki.ca_key, [pki.server_cert], tmp_path / "revoking.crl.pem")
    crl_revoking_der = make_crl(pki.ca, pki.ca_key, [pki.server_cert], tmp_path / "revoking.crl.der", der=True)
    crl_clean = make_crl(pki.ca, pki.ca_key, [pki.client_cert], tmp_path / "clean.crl.pem")
    ca = str(pki.ca)
    gw = start_gw(gateway_factory, [
        ws("trusted", f"wss://127.0.0.1:{p_good}/trusted", tls={"ca": ca}),
        ws("untrusted", f"wss://127.0.0.1:{p_other}/untrusted", tls={"ca": ca}),
        ws("revoked", f"wss://127.0.0.1:{p_good}/revoked", tls={"ca": ca, "crl": str(crl_revoking)}),
        ws("revoked_der", f"wss://127.0.0.1:{p_good}/revoked_der", tls={"ca": ca, "crl": str(crl_revoking_der)}),
        ws("crl_ok", f"wss://127.0.0.1:{p_good}/crl_ok", tls={"ca": ca, "crl": str(crl_clean)}),
        ws("nocheck", f"wss://127.0.0.1:{p_other}/nocheck", tls={"no_server_cert_check": True}),
        ws("wrong_name", f"wss://127.0.0.1:{p_name}/wrong_name", tls={"ca": ca}),
    ])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            for name in ("trusted", "crl_ok", "nocheck"):
                st = await WsWatch(opc, name).wait_state("SUCCESS", 15, connected=True)
                assert st["StateCode"] == 0, (name, st)
            for name in ("untrusted", "revoked", "revoked_der"):
                w = WsWatch(opc, name)
                st = await w.wait_state("TLS_VERIFY_FAIL", 15)
                assert st["StateCode"] == 23 and st["LastError"], (name, st)
                await w.stays_disconnected(1.0)
            w = WsWatch(opc, "wrong_name")
            st = await w.wait(lambda s: s["State"] in ("TLS_VERIFY_FAIL", "TLS_CN_MISMATCH"), 15,
                              "host name mismatch refused (TLS_VERIFY_FAIL or TLS_CN_MISMATCH)")
            assert st["StateCode"] == STATUS_CODES[st["State"]], st
            await w.stays_disconnected(1.0)
        finally:
            await opc.close()

    run(main())
    for path in ("/trusted", "/crl_ok"):
        c = good.wait_conn(path, 5)
        assert c.tls_version == "TLSv1.2", f"version default tls1.2 (exact): {c.tls_version}"
        good.wait(lambda c=c: c.data(), 5, f"data on {path}")
    other.wait(lambda: other.data("/nocheck"), 5, "data with no_server_cert_check")
    for path in ("/revoked", "/revoked_der"):
        assert not good.conns_for(path), f"{path}: a revoked server certificate must not be accepted"
    assert not other.conns_for("/untrusted")
    no_panic(gw)


def test_tls_client_certificate(gateway_factory, ws_peers, client_cert, pki, tmp_path):
    port = free_port()
    peer = ws_peers.server(port, name="tls-mutual",
                           ssl_ctx=server_ssl_context(pki.server_cert, pki.server_key, client_ca=pki.ca))
    enc_key = encrypt_key_openssl(pki.client_key, tmp_path / "client_protected.key", "k3y pass")
    ca = str(pki.ca)
    gw = start_gw(gateway_factory, [
        ws("cc", f"wss://127.0.0.1:{port}/cc",
           tls={"ca": ca, "cert": str(pki.client_cert), "key_file": str(pki.client_key)}),
        ws("cc_enc", f"wss://127.0.0.1:{port}/cc_enc",
           tls={"ca": ca, "cert": str(pki.client_cert), "key_file": str(enc_key), "key_password": "k3y pass"}),
        ws("no_cert", f"wss://127.0.0.1:{port}/no_cert", tls={"ca": ca}),
    ])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            for name in ("cc", "cc_enc"):
                await WsWatch(opc, name).wait_state("SUCCESS", 15, connected=True)
            w = WsWatch(opc, "no_cert")
            st = await w.stays_disconnected(4.0)
            assert st["State"] != "SUCCESS" and st["LastError"], st
        finally:
            await opc.close()

    run(main())
    for path in ("/cc", "/cc_enc"):
        c = peer.wait_conn(path, 5)
        assert c.peer_cert_subject and c.peer_cert_subject.get("commonName") == pki.client_subject_cn, c.peer_cert_subject
        peer.wait(lambda c=c: c.data(), 5, f"data on {path}")
    assert not peer.conns_for("/no_cert")
    no_panic(gw)


def test_tls_version_and_ciphers(gateway_factory, ws_peers, client_cert, pki):
    import ssl

    p_any, p_12 = free_ports(2)
    any_peer = ws_peers.server(p_any, name="tls-any", ssl_ctx=server_ssl_context(pki.server_cert, pki.server_key))
    only12 = ws_peers.server(p_12, name="tls-1.2-only", ssl_ctx=server_ssl_context(
        pki.server_cert, pki.server_key, max_version=ssl.TLSVersion.TLSv1_2))
    ca = str(pki.ca)
    cipher = "ECDHE-RSA-AES128-GCM-SHA256"
    gw = start_gw(gateway_factory, [
        ws("v13", f"wss://127.0.0.1:{p_any}/v13", tls={"ca": ca, "version": "tls1.3"}),
        ws("v12", f"wss://127.0.0.1:{p_any}/v12", tls={"ca": ca, "version": "tls1.2"}),
        ws("cipher", f"wss://127.0.0.1:{p_any}/cipher", tls={"ca": ca, "version": "tls1.2", "ciphers": cipher}),
        ws("v13_on_12", f"wss://127.0.0.1:{p_12}/v13_on_12", tls={"ca": ca, "version": "tls1.3"}),
    ])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            for name in ("v13", "v12", "cipher"):
                await WsWatch(opc, name).wait_state("SUCCESS", 15, connected=True)
            w = WsWatch(opc, "v13_on_12")
            st = await w.wait(lambda s: str(s["State"]).startswith("TLS_") or s["State"] == "SOCK_ERR_TLS", 15,
                              "a TLS error state")
            assert st["StateCode"] == STATUS_CODES.get(st["State"]), st
            await w.stays_disconnected(1.0)
        finally:
            await opc.close()

    run(main())
    assert any_peer.wait_conn("/v13", 5).tls_version == "TLSv1.3"
    assert any_peer.wait_conn("/v12", 5).tls_version == "TLSv1.2"
    c = any_peer.wait_conn("/cipher", 5)
    assert (c.tls_version, c.tls_cipher) == ("TLSv1.2", cipher), (c.tls_version, c.tls_cipher)
    assert not only12.conns_for("/v13_on_12")
    no_panic(gw)


def _psk_tls(secret: str, **kw) -> dict:
    return {"psk_identity": PSK_IDENTITY, "psk_key": secret.encode().hex(), **kw}


def test_tls_psk(gateway_factory, ws_peers, client_cert):
    p_ws, p_psk, p_wrong = free_ports(3)
    peer = ws_peers.server(p_ws, name="behind-stunnel")
    good = ws_peers.stunnel(p_psk, p_ws, PSK_IDENTITY, PSK_SECRET, name="stunnel-psk")
    ws_peers.stunnel(p_wrong, p_ws, PSK_IDENTITY, WRONG_PSK_SECRET, name="stunnel-other-psk")
    gw = start_gw(gateway_factory, [
        ws("psk", f"wss://127.0.0.1:{p_psk}/psk", tls=_psk_tls(PSK_SECRET)),
        ws("psk_wrong", f"wss://127.0.0.1:{p_wrong}/psk_wrong", tls=_psk_tls(PSK_SECRET)),
    ])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await WsWatch(opc, "psk").wait_state("SUCCESS", 15, connected=True)
            w = WsWatch(opc, "psk_wrong")
            st = await w.wait(lambda s: str(s["State"]).startswith("TLS_") or s["State"] == "SOCK_ERR_TLS", 15,
                              "a TLS error state for a wrong PSK")
            assert st["StateCode"] == STATUS_CODES.get(st["State"]), st
            await w.stays_disconnected(1.0)
        finally:
            await opc.close()

    run(main())
    peer.wait(lambda: len(peer.data("/psk")) >= 3, 5, "data through the PSK tunnel")
    assert 'PSK identity "fxgate"' in good.log and "TLS accepted" in good.log, good.log
    assert "TLSv1.2" in good.log, good.log
    assert not peer.conns_for("/psk_wrong"), "a wrong PSK must not get through"
    no_panic(gw)


def test_tls13_psk(gateway_factory, ws_peers, client_cert):
    p_ws, p_psk = free_ports(2)
    peer = ws_peers.server(p_ws, name="behind-stunnel-1.3")
    tunnel = ws_peers.stunnel(p_psk, p_ws, PSK_IDENTITY, PSK_SECRET, version="TLSv1.3", name="stunnel-psk13")
    gw = start_gw(gateway_factory, [
        ws("psk13", f"wss://127.0.0.1:{p_psk}/psk13", tls=_psk_tls(PSK_SECRET, version="tls1.3")),
    ])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await WsWatch(opc, "psk13").wait_state("SUCCESS", 15, connected=True)
        finally:
            await opc.close()

    run(main())
    peer.wait(lambda: len(peer.data("/psk13")) >= 3, 5, "data through the TLS 1.3 PSK tunnel")
    assert "TLSv1.3" in tunnel.log, tunnel.log
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 6. JWT in the handshake
# ----------------------------------------------------------------------------------------------


def test_jwt_bearer_token(gateway_factory, ws_peers, client_cert, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    secret = "s3cr3t-for-the-tests-0123456789"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "jwt-rs256.pem"
    key_file.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    public_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    claims_seen: dict[str, list] = {}

    def check(hs) -> str:
        """The server's check of the token: signature, iss, sub, exp."""
        path = hs.path.split("?")[0]
        token = bearer(hs)
        if token is None:
            return f"no Authorization: Bearer header ({hs.header('Authorization')!r})"
        try:
            claims = jwt_decode_rs256(token, public_pem) if path == "/rs" else jwt_decode_hs256(token, secret)
        except Exception as exc:  # noqa: BLE001
            return f"token does not verify: {exc!r}"
        now = time.time()
        expect_sub = "gateway-rs" if path == "/rs" else "gateway-1"
        if claims.get("iss") != "fxgate" or claims.get("sub") != expect_sub:
            return f"wrong iss/sub: {claims}"
        if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + 600 + 5:
            return f"bad exp: {claims} (now {now:.0f})"
        claims_seen.setdefault(path, []).append(claims)
        return ""

    port = free_port()
    peer = ws_peers.server(port, name="jwt", authorize=check)
    jwt_hs = {"algorithm": "HS256", "secret": secret, "iss": "fxgate", "sub": "gateway-1", "exp_s": 600}
    gw = start_gw(gateway_factory, [
        ws("hs", f"ws://127.0.0.1:{port}/hs", jwt=jwt_hs),
        ws("rs", f"ws://127.0.0.1:{port}/rs", jwt={"algorithm": "RS256", "key_file": str(key_file),
                                                  "iss": "fxgate", "sub": "gateway-rs", "exp_s": 600}),
        ws("hs_wrong", f"ws://127.0.0.1:{port}/hs_wrong", jwt=dict(jwt_hs, secret="a-different-secret-xyz")),
    ])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            for name in ("hs", "rs"):
                await WsWatch(opc, name).wait_state("SUCCESS", 15, connected=True)
            w = WsWatch(opc, "hs_wrong")
            await until(lambda: any(h.path == "/hs_wrong" for h in peer.handshakes), 10, "a /hs_wrong handshake")
            st = await w.stays_disconnected(2.0)
            assert st["State"] != "SUCCESS" and st["LastError"], st
        finally:
            await opc.close()

    run(main())
    for path, alg in (("/hs", "HS256"), ("/rs", "RS256")):
        c = peer.wait_conn(path, 5)
        claims = claims_seen[path][0]
        assert abs(claims.get("iat", 0) - time.time()) < 60, f"iat = now: {claims}"
        assert claims["exp"] - claims["iat"] == 600, f"exp = iat + exp_s: {claims}"
        peer.wait(lambda c=c: c.data(), 5, f"data on {path}")
    bad = [h for h in peer.handshakes if h.path == "/hs_wrong"]
    assert bad and all(h.rejected for h in bad), "a token signed with another secret must not verify"

    # a fresh token per connection
    first_iat = claims_seen["/hs"][-1]["iat"]
    peer.stop()
    time.sleep(2.2)
    peer.start()
    peer.wait_conn("/hs", 15, count=2)
    second = claims_seen["/hs"][-1]
    assert second["iat"] > first_iat, f"a new connection must carry a fresh token: {claims_seen['/hs']}"
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 7. max_recv_message_size
# ----------------------------------------------------------------------------------------------


def test_oversized_message_closes_with_1009(gateway_factory, ws_peers, client_cert):
    port = free_port()
    peer = ws_peers.server(port, name="big", compression=False)
    gw = start_gw(gateway_factory, [
        ws("big", f"ws://127.0.0.1:{port}/big", tags=["Demo/Setpoint"], max_recv_frame_size=65536,
           max_recv_message_size=1048576, reconnect_min_ms=3000, reconnect_max_ms=6000),
    ])
    conn = peer.wait_conn("/big", 15)

    # below the limit (900 kB in 60 kB fragments): taken and answered, the connection stays
    pad = "x" * 900_000
    raw = json.dumps({"op": "read", "tags": ["Demo/Setpoint"], "id": 5, "pad": pad})
    peer.send([raw[i:i + 60_000] for i in range(0, len(raw), 60_000)], "/big")
    r = peer.wait(lambda: next((m.obj for m in conn.messages if m.is_reply and m.obj.get("id") == 5), None), 10,
                  "an answer to the 900 kB message")
    assert r["op"] in ("read-result", "error"), r
    assert conn.open and conn.close_code is None

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            w = WsWatch(opc, "big")
            await w.wait_state("SUCCESS", 5, connected=True)
            # 2 MB in frames of 62.5 kB (each below max_recv_frame_size): the message is too big
            big = "y" * 2_000_000
            peer.send_async([big[i:i + 62_500] for i in range(0, len(big), 62_500)], "/big")
            st = await w.wait(lambda s: s["State"] == "INVALID_MSG_SIZE", 8, "State INVALID_MSG_SIZE",
                              interval=0.02)
            assert st["StateCode"] == 1013 and st["Connected"] is False, st
            st = await w.wait(lambda s: s["CloseReason"] == 1009, 3, "CloseReason 1009")
            await until(lambda: conn.close_code is not None, 5, "close frame from the client", peer.summary)
            assert conn.close_code == 1009, f"client must close with 1009 (message too big): {conn.close_code}"
            # and it reconnects
            await until(lambda: len(peer.conns_for("/big")) >= 2, 10, "reconnect", peer.summary)
            await w.wait_state("SUCCESS", 5, connected=True)
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 8. keep-alive
# ----------------------------------------------------------------------------------------------


def test_keep_alive_timeout_and_reconnect(gateway_factory, ws_peers, client_cert):
    port = free_port()
    peer = ws_peers.server(port, name="silent")
    gw = start_gw(gateway_factory, [
        ws("ka", f"ws://127.0.0.1:{port}/ka", tags=["Demo/Setpoint"], keep_alive=True, keep_alive_interval=1,
           keep_alive_close_timeout=1, reconnect_min_ms=1500, reconnect_max_ms=3000),
    ])
    conn = peer.wait_conn("/ka", 15)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            w = WsWatch(opc, "ka")
            # pings answered: the connection stays
            await asyncio.sleep(3.5)
            assert len(conn.pings) >= 2, f"pings after 1 s of silence: {len(conn.pings)} in 3.5 s"
            assert conn.open and len(peer.conns) == 1, peer.summary()
            st = await w.read()
            assert st["State"] == "SUCCESS" and st["Connected"] is True, st

            # pongs suppressed: KEEP_ALIVE_TIMEOUT after interval + close timeout
            t0 = time.monotonic()
            peer.answer_pings = False
            st = await w.wait(lambda s: s["State"] == "KEEP_ALIVE_TIMEOUT", 8, "State KEEP_ALIVE_TIMEOUT",
                              interval=0.02)
            assert st["StateCode"] == 1011 and st["Connected"] is False, st
            await until(lambda: not conn.open, 5, "the timed-out connection closed", peer.summary)
            assert conn.t_close - t0 <= 4.5, f"closed {conn.t_close - t0:.1f} s after the pongs stopped"
            assert conn.pongs_suppressed >= 1
            # reconnects
            await until(lambda: len(peer.conns) >= 2, 10, "reconnect after the keep-alive timeout", peer.summary)
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 9. store-and-forward with require_ack across a server outage
# ----------------------------------------------------------------------------------------------


def test_store_and_forward_with_ack(gateway_factory, ws_peers, client_cert):
    port = free_port()
    peer = ws_peers.server(port, name="acking", auto_ack=True)
    gw = start_gw(gateway_factory, [
        ws("saf", f"ws://127.0.0.1:{port}/saf", tags=["Fast/Counter"], publish_interval_ms=50,
           require_ack=True, reconnect_min_ms=200, reconnect_max_ms=1000),
    ], simulators=[fast_sim(interval_ms=10)])
    outage_s = 30.0

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            w = WsWatch(opc, "saf")
            conn0 = await until(lambda: peer.open_conn("/saf"), 15, "connection")
            await until(lambda: len(conn0.data()) >= 40, 10, "40 messages before the outage", peer.summary)
            t_kill = time.monotonic()
            await asyncio.to_thread(peer.stop, True)  # abort: no close frame, unacked messages in flight
            wall_kill = now_utc()
            acked_before = max((s for t, s in conn0.acks_sent if t < t_kill - 0.5), default=0)
            st = await w.wait(lambda s: s["Connected"] is False, 5, "disconnected")
            buffered = []
            while time.monotonic() < t_kill + outage_s:
                st = await w.read()
                assert st["Connected"] is not True, st
                buffered.append(st["Buffered"])
                await asyncio.sleep(0.5)
            assert buffered[-1] >= 50, f"Buffered during a {outage_s} s outage at ~20 messages/s: {buffered}"
            assert buffered[-1] > buffered[0], f"Buffered must grow while disconnected: {buffered}"
            seq_at_restart = (await w.read())["Sequence"]
            wall_restart = now_utc()
            await asyncio.to_thread(peer.start)
            # catch up: every seq up to well past the restart, no gap
            def caught_up():
                got = {d["seq"] for d in peer.data("/saf")}
                top = max(got)
                return top >= max(seq_at_restart, 1) + 20 and len(got) == top
            await until(caught_up, 25, "all messages after the outage", peer.summary)
            st = await w.read()
            assert st["Connected"] is True and st["State"] == "SUCCESS", st
            return acked_before, wall_kill, wall_restart
        finally:
            await opc.close()

    acked_before, wall_kill, wall_restart = run(main())
    conns = peer.conns_for("/saf")
    assert len(conns) >= 2, peer.summary()
    for c in conns:
        s = c.seqs()
        assert s == list(range(s[0], s[0] + len(s))), f"conn #{c.index}: seq not in order/contiguous: {s}"
    data = peer.data("/saf")
    by_seq = dedup_by_seq(data)
    top = max(by_seq)
    missing = sorted(set(range(1, top + 1)) - set(by_seq))
    assert not missing, f"seqs missing after the outage: {missing[:20]} (of {top})"
    first_after = conns[1].seqs()[0]
    assert first_after > acked_before, (
        f"messages acknowledged before the outage (up to {acked_before}) must not be sent again; the new "
        f"connection started at {first_after}")
    assert first_after <= max(conns[0].seqs()) + 1
    counter = changes_of([by_seq[s] for s in sorted(by_seq)], "Fast/Counter")
    assert_consecutive(counter, "Fast/Counter across the outage (after dedup)")
    during = [d for d in by_seq.values() if wall_kill < parse_rfc3339(d["ts"]) < wall_restart]
    assert len(during) >= 100, f"messages made during the {outage_s} s outage: {len(during)}"
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 10. without require_ack: buffered while down; a tiny buffer drops the oldest with a seq gap
# ----------------------------------------------------------------------------------------------


def test_buffer_while_down_and_drops(gateway_factory, ws_peers, client_cert):
    port = free_port()
    peer = ws_peers.server(port, name="no-ack")
    gw = start_gw(gateway_factory, [
        ws("nack", f"ws://127.0.0.1:{port}/nack", tags=["Fast/Counter"], publish_interval_ms=100),
        ws("tiny", f"ws://127.0.0.1:{port}/tiny", tags=["Fast/Counter"], publish_interval_ms=100,
           buffer_max_bytes=1024, buffer_memory_bytes=1024),
    ], simulators=[fast_sim(interval_ms=50)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            wn, wt = WsWatch(opc, "nack"), WsWatch(opc, "tiny")
            for p in ("/nack", "/tiny"):
                c = await until(lambda p=p: peer.open_conn(p), 15, f"connection {p}")
                await until(lambda c=c: len(c.data()) >= 10, 10, f"10 messages on {p}", peer.summary)
            await asyncio.to_thread(peer.stop)  # close 1001, then nothing listens
            st = await wn.wait(lambda s: s["Connected"] is False, 5, "disconnected")
            assert st["CloseReason"] == 1001, f"CloseReason of the server's close: {st}"
            await asyncio.sleep(4.0)
            sn, stt = await wn.read(), await wt.read()
            assert sn["Buffered"] >= 20, f"nack: messages wait in the buffer while down: {sn}"
            assert stt["Dropped"] > 0, f"tiny: a 1 KiB buffer must drop during a 4 s outage: {stt}"
            assert stt["Buffered"] < sn["Buffered"], (stt, sn)
            status, text = http_get(gw, "/metrics")
            assert (metric(text, "fxgate_websocket_messages_dropped_total", "tiny") or 0) > 0, text
            assert (metric(text, "fxgate_websocket_messages_dropped_total", "nack") or 0) == 0, text
            await asyncio.to_thread(peer.start)

            def caught_up(path, w_seq):
                got = {d["seq"] for d in peer.data(path)}
                return got and max(got) >= w_seq + 10

            seq_n, seq_t = (await wn.read())["Sequence"], (await wt.read())["Sequence"]
            await until(lambda: caught_up("/nack", seq_n) and caught_up("/tiny", seq_t), 15,
                        "both caught up after the outage", peer.summary)
            text = http_get(gw, "/metrics")[1]
            counted = metric(text, "fxgate_websocket_messages_dropped_total", "tiny")
            # the Dropped tag follows the counter (give it 3 s)
            deadline = time.monotonic() + 3
            while (tag := (await wt.read())["Dropped"]) != counted and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            return tag, text
        finally:
            await opc.close()

    dropped, metrics_text = run(main())

    # nack: everything arrives, in order, without a gap
    by_seq = dedup_by_seq(peer.data("/nack"))
    top = max(by_seq)
    missing = sorted(set(range(1, top + 1)) - set(by_seq))
    assert not missing, f"nack: seqs missing after the outage: {missing[:20]}"
    for c in peer.conns_for("/nack"):
        s = c.seqs()
        assert s == list(range(s[0], s[0] + len(s))), f"nack conn #{c.index} out of order: {s}"
    assert_consecutive(changes_of([by_seq[s] for s in sorted(by_seq)], "Fast/Counter"),
                       "nack: Fast/Counter across the outage")

    # tiny: the oldest were dropped; the gap shows in seq, one block, as many as counted
    tiny = peer.conns_for("/tiny")
    assert len(tiny) >= 2
    before, after = tiny[0].seqs(), tiny[1].seqs()
    by_seq = dedup_by_seq(peer.data("/tiny"))
    top = max(by_seq)
    missing = sorted(set(range(1, top + 1)) - set(by_seq))
    assert missing, f"tiny: dropped messages must leave a gap in seq: before {before[-3:]} after {after[:3]}"
    assert missing == list(range(missing[0], missing[-1] + 1)), f"tiny: the oldest are dropped (one block): {missing}"
    assert missing[0] == before[-1] + 1 or missing[0] > before[-1], (missing[:3], before[-3:])
    dropped_metric = metric(metrics_text, "fxgate_websocket_messages_dropped_total", "tiny")
    assert len(missing) == dropped == dropped_metric, (
        f"tiny: {len(missing)} seqs missing ({missing[0]}..{missing[-1]}) but Dropped tag = {dropped}, "
        f"fxgate_websocket_messages_dropped_total = {dropped_metric}; before the outage up to {before[-1]} "
        f"(close from the client {tiny[0].close_code}, server close {tiny[0].server_close}), after from {after[0]}")
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 11. state tags and metrics
# ----------------------------------------------------------------------------------------------


def test_state_tags_and_metrics(gateway_factory, ws_peers, client_cert):
    port, dead = free_ports(2)
    peer = ws_peers.server(port, name="cloud")
    gw = start_gw(gateway_factory, [
        ws("cloud", f"ws://127.0.0.1:{port}/cloud"),
        ws("down", f"ws://127.0.0.1:{dead}/down"),
    ])
    conn = peer.wait_conn("/cloud", 15)
    peer.wait(lambda: len(conn.data()) >= 5, 10, "5 messages")

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            # the folders Objects/fxgate/WebSockets/<name> with the state variables
            async def children(node) -> dict:
                out = {}
                for c in await node.get_children():
                    out[(await c.read_browse_name()).Name] = c
                return out

            top = await children(opc.client.nodes.objects)
            assert "fxgate" in top, sorted(top)
            fx = await children(top["fxgate"])
            assert "WebSockets" in fx, sorted(fx)
            wss = await children(fx["WebSockets"])
            assert {"cloud", "down"} <= set(wss), sorted(wss)
            cloud_vars = await children(wss["cloud"])
            assert set(WS_TAGS) <= set(cloud_vars), sorted(cloud_vars)
            assert cloud_vars["State"].nodeid == ua.NodeId("fxgate/WebSockets/cloud/State", opc.ns)

            cloud, down = WsWatch(opc, "cloud"), WsWatch(opc, "down")
            st = await cloud.wait_state("SUCCESS", 5, connected=True)
            for tag, vt in WS_TAG_TYPES.items():
                assert st[tag + "_type"] == vt, f"{tag}: {st[tag + '_type']}, expected {vt}: {st}"
                assert st[tag + "_status"] == "Good", st
            assert st["StateCode"] == 0 and st["CloseReason"] == 0 and st["Dropped"] == 0, st
            received = max(conn.seqs())
            st = await cloud.wait(lambda s: s["Sequence"] >= received, 3, "Sequence = last seq sent")
            assert st["Sequence"] <= received + 20, (st, received)

            sd = await down.wait_state("SOCK_CONN_REFUSED", 10)
            assert sd["StateCode"] == 5 and sd["Connected"] is False and sd["LastError"], sd
            sd = await down.wait(lambda s: s["Buffered"] > 0, 5, "messages buffered while never connected")

            status, text = http_get(gw, "/metrics")
            assert status == 200
            # every family of the contract is exposed; gauges have a series per client from the start,
            # counters at least once they count (a never-incremented counter series may be absent = 0)
            for name in ("fxgate_websocket_state", "fxgate_websocket_connected", "fxgate_websocket_messages_sent_total",
                         "fxgate_websocket_bytes_sent_total", "fxgate_websocket_messages_dropped_total",
                         "fxgate_websocket_buffered_messages", "fxgate_websocket_reconnects_total"):
                base = name.removesuffix("_total")
                assert re.search(rf"^# TYPE {re.escape(base)}(_total)? ", text, re.M), f"{name} not exposed:\n{text}"
            for name in ("fxgate_websocket_state", "fxgate_websocket_connected", "fxgate_websocket_buffered_messages"):
                for ws_name in ("cloud", "down"):
                    assert metric(text, name, ws_name) is not None, f"{name}{{name={ws_name}}} missing:\n{text}"
            for name in ("fxgate_websocket_messages_sent_total", "fxgate_websocket_bytes_sent_total"):
                assert metric(text, name, "cloud") is not None, f"{name}{{name=cloud}} missing:\n{text}"
            assert metric(text, "fxgate_websocket_reconnects_total", "down") is not None, text
            assert (metric(text, "fxgate_websocket_messages_dropped_total", "cloud") or 0) == 0
            assert metric(text, "fxgate_websocket_state", "cloud") == 0
            assert metric(text, "fxgate_websocket_connected", "cloud") == 1
            assert metric(text, "fxgate_websocket_state", "down") == 5
            assert metric(text, "fxgate_websocket_connected", "down") == 0
            assert metric(text, "fxgate_websocket_reconnects_total", "down") >= 1
            assert metric(text, "fxgate_websocket_buffered_messages", "down") > 0
            assert (metric(text, "fxgate_websocket_messages_sent_total", "down") or 0) == 0
            msgs = list(conn.messages)
            assert metric(text, "fxgate_websocket_messages_sent_total", "cloud") >= len(msgs)
            assert metric(text, "fxgate_websocket_bytes_sent_total", "cloud") >= sum(len(m.raw) for m in msgs)

            # the server closes (1001): CloseReason, Connected false, then refused
            await asyncio.to_thread(peer.stop)
            st = await cloud.wait(lambda s: s["Connected"] is False and s["CloseReason"] == 1001, 5,
                                  "closed by the server with 1001")
            st = await cloud.wait_state("SOCK_CONN_REFUSED", 5)
            assert st["StateCode"] == 5 and st["CloseReason"] == 1001, st
            text = http_get(gw, "/metrics")[1]
            assert metric(text, "fxgate_websocket_connected", "cloud") == 0
            assert metric(text, "fxgate_websocket_reconnects_total", "cloud") >= 1
        finally:
            await opc.close()

    run(main())
    # RFC 6455 5.5.1: the client answers the server's close frame with a close frame
    assert conn.close_code == 1001, (
        f"the client must echo the server's close frame (1001) before closing TCP: got {conn.close_code}")
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 11b. qualities other than Good: a Modbus device that goes away
# ----------------------------------------------------------------------------------------------


def test_quality_names_from_a_modbus_device(gateway_factory, ws_peers):
    from modbus_peers import ModbusDevice, start_gateway

    mb_port, ws_port = free_ports(2)
    dev = ModbusDevice({"hr": {0: [123, 0]}}, mb_port, name="plc")

    class _Stop:
        def close(self):
            dev.stop()
            print(f"===== {dev.name} =====\n{dev.log_text}")

    ws_peers.add(_Stop())
    dev.start()
    peer = ws_peers.server(ws_port, name="quality")
    gw = start_gateway(
        gateway_factory,
        {"simulator": [demo_simulator(500)], "websocket": [ws("q", f"ws://127.0.0.1:{ws_port}/q", tags=["Boiler/*"])]},
        lines=[{"name": "plc", "mode": "client", "host": "127.0.0.1", "port": mb_port, "connect_timeout_ms": 1000,
                "reconnect_delay_ms": 200, "reconnect_max_ms": 1000}],
        devices=[{"name": "Boiler", "line": "plc", "protocol": "modbus", "unit_id": 1, "timeout_ms": 1000,
                  "poll_ms": 200, "tags": [{"name": "Temp", "address": "hr:0", "type": "int16"}]}],
    )

    def entries():
        return [v for d in peer.data("/q") for v in d["values"] if v["tag"] == "Boiler/Temp"]

    peer.wait(lambda: any(e["v"] == 123 and e["q"] == "Good" for e in entries()), 15, "Boiler/Temp 123 Good")
    dev.set("hr", 0, [321])
    peer.wait(lambda: any(e["v"] == 321 and e["q"] == "Good" for e in entries()), 10, "Boiler/Temp 321 Good")
    good = [e for e in entries() if e["v"] == 321 and e["q"] == "Good"][-1]
    n = len(entries())
    dev.kill()
    bad = peer.wait(lambda: next((e for e in entries()[n:] if e["q"] != "Good"), None), 10,
                    "a quality other than Good after the device is gone")
    assert bad["q"] == "Bad_NoCommunication", f"q is the status name with an underscore after the severity: {bad}"
    assert bad["v"] == 321 and bad["st"] == good["st"], f"last value and source timestamp kept: {bad} after {good}"
    dev.start()
    n = len(entries())
    peer.wait(lambda: any(e["q"] == "Good" for e in entries()[n:]), 15, "Good again after the device is back")
    assert peer.open_conn("/q") is not None and len(peer.conns_for("/q")) == 1
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 12. CBOR encoding
# ----------------------------------------------------------------------------------------------


def test_cbor_encoding(gateway_factory, ws_peers):
    port = free_port()
    peer = ws_peers.server(port, name="cbor")
    start_gw(gateway_factory, [
        ws("cbor", f"ws://127.0.0.1:{port}/cbor", encoding="cbor", tags=["Demo/Counter", "Demo/Text"]),
    ])
    conn = peer.wait_conn("/cbor", 15)
    peer.wait(lambda: len(conn.data()) >= 8, 10, "8 CBOR messages")
    msgs = list(conn.messages)
    assert all(m.kind == "binary" for m in msgs), [m.raw[:60] for m in msgs if m.kind != "binary"]
    assert all(m.obj is not None for m in msgs), [m.parse_error for m in msgs if m.obj is None]
    data = [m.obj for m in msgs]
    seqs = [d["seq"] for d in data]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    for d in data:
        parse_rfc3339(d["ts"])
        for v in d["values"]:
            assert v["q"] == "Good" and v["tag"] in ("Demo/Counter", "Demo/Text"), v
            parse_rfc3339(v["st"])
            assert isinstance(v["v"], int if v["tag"] == "Demo/Counter" else str), v
    assert_consecutive(changes_of(data, "Demo/Counter"), "Demo/Counter in CBOR messages")
    r = peer.command({"op": "read", "tags": ["Demo/Counter"], "id": 77}, "/cbor", binary=True)
    assert r.get("op") == "read-result" and isinstance(r["values"][0]["v"], int), r


# ----------------------------------------------------------------------------------------------
# 13. seq across a gateway restart (require_ack: the unacknowledged rest is kept)
# ----------------------------------------------------------------------------------------------


def test_seq_continues_across_gateway_restart(gateway_factory, ws_peers):
    """require_ack: the messages not yet acknowledged when the gateway stops are kept (buffer on
    disk) and sent again after the restart, and seq goes on from there."""
    port = free_port()
    peer = ws_peers.server(port, name="restart", auto_ack=True)
    gw = start_gw(gateway_factory, [
        ws("persist", f"ws://127.0.0.1:{port}/persist", tags=["Fast/Counter"], require_ack=True,
           publish_interval_ms=100),
    ], simulators=[fast_sim(interval_ms=50)])
    conn0 = peer.wait_conn("/persist", 15)
    peer.wait(lambda: len(conn0.data()) >= 15, 10, "15 messages")
    peer.auto_ack = False  # from now on nothing is acknowledged
    t_noack = time.monotonic()
    acked = max(s for _, s in conn0.acks_sent)
    n = len(conn0.data())
    peer.wait(lambda: len(conn0.data()) >= n + 8, 10, "8 unacknowledged messages")
    gw.stop()
    last_before = max(conn0.seqs())
    assert last_before > acked + 5
    acked_early = max(s for t, s in conn0.acks_sent if t < t_noack - 0.5)
    peer.auto_ack = True
    gw.start()
    conn1 = peer.wait_conn("/persist", 15, count=2)
    peer.wait(lambda: len(conn1.data()) >= 20, 10, "20 messages after the restart")
    after = conn1.seqs()
    assert after[0] != 1, f"seq must continue across a restart, not start again at 1: {after[:5]} (before: up to {last_before})"
    assert acked_early < after[0] <= acked + 1, (
        f"after the restart the unacknowledged messages ({acked + 1}..{last_before}) must come first: "
        f"first seq {after[0]}")
    assert after == list(range(after[0], after[0] + len(after))), after
    by_seq = dedup_by_seq(peer.data("/persist"))
    missing = sorted(set(range(1, max(by_seq) + 1)) - set(by_seq))
    assert not missing, f"seqs missing across the restart: {missing[:20]}"
    no_panic(gw)
