"""IEC 60870-5-104 server ([[iec104_server]]): fxgate as a controlled station for real masters:
the c104 2.2.1 (lib60870) client and a raw master written from the standard
(iec104_peers.RawMaster, which also binds 127.0.0.2 for a second redundancy group and sends
malformed APDUs). Values come from the simulator; what the masters received is asserted, and
the OPC UA side checked with asyncua. The contract is docs/interfaces.md, "IEC 60870-5-104"."""

import asyncio
import datetime as dt
import ssl
import struct
import time

import c104
import pytest
from asyncua import ua

from fxgate_testlib import demo_simulator, free_ports, hash_password
from iec104_peers import C_CI_NA_1, C_CS_NA_1, C_IC_NA_1, RawMaster, STARTDT_ACT, recv_apdu
from modbus_peers import Opc, client_ssl_context, make_pki, no_panic, status_of

WRITER_PW = "wr1ter pw!"
VT = ua.VariantType
M_SP_TB_1, M_ME_TF_1, M_IT_TB_1, C_SE_NC_1 = 30, 36, 37, 50


@pytest.fixture(scope="module")
def writer_hash():
    return hash_password(WRITER_PW)


@pytest.fixture
def masters():
    items = []
    yield items
    for m in items:
        m.close()


def run(coro):
    return asyncio.run(coro)


MAP = [
    {"tag": "Demo/Counter", "ioa": 100, "type": "M_ME_NC"},
    {"tag": "Demo/Setpoint", "ioa": 200, "type": "M_ME_NC", "command": "C_SE_NC"},
    {"tag": "Demo/Toggle", "ioa": 300, "type": "M_SP"},
    {"tag": "Demo/Ramp", "ioa": 400, "type": "M_IT"},
    {"tag": "Demo/Sine", "ioa": 500, "type": "M_ME_NC", "command": "C_SE_NC"},  # read-only tag
]


def config(port: int, writer_hash: str | None = None, interval_ms: int = 200, line_tls: dict | None = None, **server) -> dict:
    ln = {"name": "north", "mode": "server", "host": "127.0.0.1", "port": port}
    if line_tls:
        ln["tls"] = line_tls
    o = {"simulator": [demo_simulator(interval_ms)], "line": [ln],
         "iec104_server": [{"name": "scada", "line": "north", **server, "map": MAP}]}
    if writer_hash:
        o["users"] = [{"name": "writer", "password_hash": writer_hash, "roles": ["read", "write"]}]
    return o


def tf_objects(frame: bytes) -> list[tuple[int, float, int, int]]:
    """(ioa, value, qds, unix ms) of the objects of an M_ME_TF_1 I-frame (no SQ)."""
    n = frame[7] & 0x7F
    out = []
    for k in range(n):
        o = 12 + k * 15
        ioa = frame[o] | frame[o + 1] << 8 | frame[o + 2] << 16
        value, qds = struct.unpack_from("<fB", frame, o + 3)
        t = frame[o + 8:o + 15]
        msec = t[0] | t[1] << 8
        when = dt.datetime(2000 + (t[6] & 0x7F), t[5] & 0x0F, t[4] & 0x1F, t[3] & 0x1F, t[2] & 0x3F, msec // 1000,
                           (msec % 1000) * 1000, tzinfo=dt.timezone.utc)
        out.append((ioa, value, qds, int(when.timestamp() * 1000)))
    return out


class Master(RawMaster):
    """A raw master that keeps the raw frames too."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.frames: list[bytes] = []

    def read(self, timeout: float = 5.0):
        f = super().read(timeout)
        if f:
            self.frames.append(f)
        return f

    def until(self, pred, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not pred(self.asdus):
            if time.monotonic() > end:
                raise AssertionError(f"{what} not received in {timeout}s; got {self.asdus[-20:]}")
            if self.read(end - time.monotonic()) is None:
                raise AssertionError(f"connection closed waiting for {what}; got {self.asdus[-20:]}")

    def values(self, ioa: int) -> list[float]:
        return [v for f in self.frames if len(f) > 6 and f[6] == M_ME_TF_1 and not f[2] & 1 for (i, v, _, _) in tf_objects(f) if i == ioa]


def se_nc(m: RawMaster, ioa: int, value: float, select: bool = False) -> None:
    m.send(m.i_frame(bytes([C_SE_NC_1, 1, 6, 0, 1, 0]) + ioa.to_bytes(3, "little") + struct.pack("<fB", value, 0x80 if select else 0)))


def test_interrogations_clock_sync_events_and_commands(gateway_factory, client_cert, masters, writer_hash):
    port, = free_ports(1)
    gw = gateway_factory.start(config(port, writer_hash))
    m = Master(port)
    masters.append(m)
    m.startdt()
    # General interrogation: ACT_CON, every point with COT 20 (the CP56 types, as events, so a
    # master sees one type per IOA), ACT_TERM.
    m.interrogation()
    m.until(lambda a: [C_IC_NA_1, 10] in [x[:2] for x in a], 10, "GI ACT_TERM")
    gi = [x for x in m.asdus if x[0] == C_IC_NA_1 or x[1] == 20]
    con = gi.index(next(x for x in gi if x[:3] == [C_IC_NA_1, 7, False]))
    term = gi.index(next(x for x in gi if x[:2] == [C_IC_NA_1, 10]))
    inside = gi[con + 1:term]
    assert {x[0] for x in inside} == {M_ME_TF_1, M_SP_TB_1, M_IT_TB_1}, inside
    gi_frames = [f for f in m.frames if len(f) > 8 and not f[2] & 1 and f[8] & 0x3F == 20]
    assert sum(f[7] & 0x7F for f in gi_frames) == len(MAP), "every mapped point once"
    assert sorted(o[0] for f in gi_frames if f[6] == M_ME_TF_1 for o in tf_objects(f)) == [100, 200, 500]
    assert all(x[1] == 20 for x in inside), inside
    # Counter interrogation: the M_IT point with COT 37 and its time.
    n = len(m.asdus)
    m.send(m.i_frame(bytes([C_CI_NA_1, 1, 6, 0, 1, 0, 0, 0, 0, 5])))
    m.until(lambda a: [C_CI_NA_1, 10] in [x[:2] for x in a[n:]], 10, "CI ACT_TERM")
    ci = [x[:3] for x in m.asdus[n:] if x[0] == C_CI_NA_1 or x[1] == 37]
    assert ci == [[C_CI_NA_1, 7, False], [M_IT_TB_1, 37, False], [C_CI_NA_1, 10, False]], ci
    # Clock synchronisation: confirmed.
    n = len(m.asdus)
    now = dt.datetime.now(dt.timezone.utc)
    cp56 = struct.pack("<H", now.second * 1000 + now.microsecond // 1000) + bytes([now.minute, now.hour, now.day | now.isoweekday() << 5, now.month, now.year - 2000])
    m.send(m.i_frame(bytes([C_CS_NA_1, 1, 6, 0, 1, 0, 0, 0, 0]) + cp56))
    m.until(lambda a: any(x[0] == C_CS_NA_1 and x[1] == 7 for x in a[n:]), 5, "clock sync ACT_CON")
    assert [x[:3] for x in m.asdus[n:] if x[0] == C_CS_NA_1] == [[C_CS_NA_1, 7, False]]

    async def body():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        try:
            # Spontaneous events: a write over OPC UA reaches the master with COT 3 and CP56 =
            # the tag's SourceTimestamp.
            assert (await opc.write("Demo", "Setpoint", 12.5, VT.Double)).is_good()
            m.until(lambda a: 12.5 in m.values(200), 10, "the spontaneous Setpoint")
            dv = await opc.read("Demo", "Setpoint")
            f = next(f for f in m.frames if len(f) > 6 and f[6] == M_ME_TF_1 and any(o[0] == 200 and o[1] == 12.5 for o in tf_objects(f)))
            assert f[8] & 0x3F == 3
            (_, _, qds, when), = [o for o in tf_objects(f) if o[0] == 200]
            assert qds == 0 and when == int(dv.SourceTimestamp.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
            # The counter changes spontaneously.
            m.until(lambda a: len(set(m.values(100))) >= 3, 10, "three counter changes")
            # Commands: written through the store to the simulator.
            n = len(m.asdus)
            se_nc(m, 200, 33.0)
            m.until(lambda a: [C_SE_NC_1, 10] in [x[:2] for x in a[n:]], 10, "ACT_TERM of the set point")
            assert [x[:3] for x in m.asdus[n:] if x[0] == C_SE_NC_1] == [[C_SE_NC_1, 7, False], [C_SE_NC_1, 10, False]]
            await opc.wait("Demo", "Setpoint", lambda d: d.Value.Value == 33.0, 5, "the commanded value")
            # select, then execute
            n = len(m.asdus)
            se_nc(m, 200, 44.0, select=True)
            m.until(lambda a: any(x[0] == C_SE_NC_1 and x[1] == 7 for x in a[n:]), 5, "select ACT_CON")
            se_nc(m, 200, 44.0)
            await opc.wait("Demo", "Setpoint", lambda d: d.Value.Value == 44.0, 5, "the executed value")
            # a read-only tag refuses: negative ACT_CON
            n = len(m.asdus)
            se_nc(m, 500, 1.0)
            m.until(lambda a: any(x[0] == C_SE_NC_1 and x[5] == 500 for x in a[n:]), 5, "the answer on IOA 500")
            assert [x[:3] for x in m.asdus[n:] if x[0] == C_SE_NC_1 and x[5] == 500] == [[C_SE_NC_1, 7, True]]
            # an IOA nothing is mapped to: COT 47
            n = len(m.asdus)
            se_nc(m, 999, 1.0)
            m.until(lambda a: any(x[0] == C_SE_NC_1 and x[5] == 999 for x in a[n:]), 5, "the answer on IOA 999")
            assert [x[:3] for x in m.asdus[n:] if x[0] == C_SE_NC_1 and x[5] == 999] == [[C_SE_NC_1, 47, True]]
        finally:
            await opc.close()

    run(body())
    no_panic(gw)


def test_c104_master(gateway_factory, client_cert, writer_hash):
    port, = free_ports(1)
    gw = gateway_factory.start(config(port, writer_hash))
    client = c104.Client(tick_rate_ms=50, command_timeout_ms=5000)
    # Init.NONE and the start-up driven below: with Init.ALL, c104 2.2.1 sometimes drops its own
    # init task when the connection opens within microseconds of client.start(), and stays
    # muted (no STARTDT sent) for good (its debug log: "Tasks dropped due to stop: 1").
    conn = client.add_connection(ip="127.0.0.1", port=port, init=c104.Init.NONE)
    station = conn.add_station(common_address=1)
    counter = station.add_point(io_address=100, type=c104.Type.M_ME_TF_1)
    toggle = station.add_point(io_address=300, type=c104.Type.M_SP_TB_1)
    setpoint = station.add_point(io_address=200, type=c104.Type.C_SE_NC_1)
    seen = []

    def on_value(point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage) -> c104.ResponseState:
        seen.append((point.io_address, point.value, message.cot))
        return c104.ResponseState.SUCCESS

    counter.on_receive(callable=on_value)
    toggle.on_receive(callable=on_value)
    client.start()
    try:
        deadline = time.monotonic() + 10
        while not conn.is_connected:
            assert time.monotonic() < deadline, "c104 did not connect"
            time.sleep(0.02)
        assert conn.unmute(), "STARTDT"
        assert conn.interrogation(common_address=1), "fxgate confirmed the general interrogation"
        while not (any(c == c104.Cot.INTERROGATED_BY_STATION for _, _, c in seen) and any(c == c104.Cot.SPONTANEOUS for _, _, c in seen)):
            assert time.monotonic() < deadline, f"c104 saw no GI answer and spontaneous values: {seen[-10:]}"
            time.sleep(0.05)
        assert {i for i, _, _ in seen} >= {100, 300}
        setpoint.value = 21.5
        assert setpoint.transmit(cause=c104.Cot.ACTIVATION), "fxgate confirmed the command positively"

        async def check():
            opc = await Opc.connect(gw, client_cert)
            try:
                await opc.wait("Demo", "Setpoint", lambda d: d.Value.Value == 21.5, 5, "the c104 command's value")
            finally:
                await opc.close()

        run(check())
    finally:
        client.stop()
    no_panic(gw)


def test_allow_list_and_connection_limit(gateway_factory, masters):
    port, = free_ports(1)
    gw = gateway_factory.start(config(port, allowed_masters=["127.0.0.2"], max_connections=1))
    refused = Master(port)
    masters.append(refused)
    assert refused.closed_by_peer(5), "a master not in allowed_masters is refused"
    ok = Master(port, source="127.0.0.2")
    masters.append(ok)
    ok.startdt()
    ok.until(lambda a: len(a) >= 1, 10, "events for the allowed master")
    second = Master(port, source="127.0.0.2")
    masters.append(second)
    assert second.closed_by_peer(5), "max_connections = 1"
    ok.until(lambda a: len(a) >= 3, 10, "events after the refusals")
    no_panic(gw)


def test_one_group_two_masters_no_event_lost(gateway_factory, masters):
    port, = free_ports(1)
    gw = gateway_factory.start(config(port, interval_ms=50))
    a = Master(port)
    b = Master(port)
    masters += [a, b]
    a.startdt()
    a.until(lambda x: len(set(a.values(100))) >= 10, 10, "counter events on A")
    b.collect(0.5)
    assert not [x for x in b.asdus if x[1] == 3], "the standby master of the group gets no events"
    a.close()
    time.sleep(1.0)  # events queue for the group meanwhile
    b.startdt()
    b.until(lambda x: len(set(b.values(100))) >= 30, 10, "queued and new counter events on B")
    got = sorted(set(a.values(100)) | set(b.values(100)))
    first, last = got[0], got[-1]
    missing = sorted(set(range(int(first), int(last) + 1)) - {int(v) for v in got})
    assert not missing, f"counter values lost across the switch: {missing[:20]} (of {first}..{last})"
    no_panic(gw)


def test_two_groups_each_get_every_event(gateway_factory, masters):
    port, = free_ports(1)
    gw = gateway_factory.start(config(port, interval_ms=50, group=[{"name": "A", "masters": ["127.0.0.1"]}, {"name": "B", "masters": ["127.0.0.2"]}]))
    a = Master(port)
    b = Master(port, source="127.0.0.2")
    masters += [a, b]
    a.startdt()
    b.startdt()
    a.until(lambda x: len(set(a.values(100))) >= 10, 10, "events on group A")
    b.until(lambda x: len(set(b.values(100))) >= 10, 10, "events on group B")
    common = set(a.values(100)) & set(b.values(100))
    assert len(common) >= 5, (a.values(100)[-10:], b.values(100)[-10:])
    no_panic(gw)


@pytest.mark.parametrize("bad", [
    b"\x10\x04\x07\x00\x00\x00",                                      # wrong start byte
    b"\x68\x02\x07\x00",                                              # length below 4
    b"\x68\x0e\x00\x00\x00\x00\x08\x01\x06\x00\x01\x00\x01\x00\x00\x00",  # unknown type id 8
    b"\x68\x0e\x0a\x00\x00\x00\x64\x01\x06\x00\x01\x00\x00\x00\x00\x14",  # N(S) 5, expected 0
])
def test_malformed_apdus_close_only_that_connection(gateway_factory, masters, bad):
    port, = free_ports(1)
    gw = gateway_factory.start(config(port, interval_ms=50, group=[{"name": "A", "masters": ["127.0.0.1"]}, {"name": "B", "masters": ["127.0.0.2"]}]))
    good = Master(port)
    masters.append(good)
    good.startdt()
    evil = Master(port, source="127.0.0.2")
    masters.append(evil)
    evil.startdt()
    evil.send(bad)
    assert evil.closed_by_peer(5), f"{bad.hex()} did not close the connection"
    n = len(set(good.values(100)))
    good.until(lambda x: len(set(good.values(100))) >= n + 5, 10, "events on the other connection")
    no_panic(gw)


def test_tls_with_certificates(gateway_factory, tmp_path, masters):
    # The master is the raw master over Python's ssl (OpenSSL) with a client certificate: c104
    # 2.2.1's mbedtls client fails its handshake with fxgate's OpenSSL server line
    # (mbedtls_ssl_handshake -0x5d80), while fxgate's client line and a c104 station agree
    # (test_iec104_client.py::test_tls_with_certificates).
    pki = make_pki(tmp_path / "pki")
    port, = free_ports(1)
    tls = {"partner_certificates": str(pki.ca), "my_certificate": str(pki.server_cert), "my_key": str(pki.server_key)}
    gw = gateway_factory.start(config(port, line_tls=tls))
    m = Master(port, tls=client_ssl_context(pki, pki.client_cert, pki.client_key))
    masters.append(m)
    assert m.sock.version() in ("TLSv1.2", "TLSv1.3")
    m.startdt()
    m.interrogation()
    m.until(lambda a: [C_IC_NA_1, 10] in [x[:2] for x in a], 10, "GI over TLS")
    m.until(lambda a: len(set(m.values(100))) >= 2, 10, "events over TLS")
    # without a client certificate the line refuses the master
    bare = ssl.create_default_context(cafile=str(pki.ca))
    try:
        refused = Master(port, tls=bare)
        masters.append(refused)
        refused.send(STARTDT_ACT)
        assert refused.closed_by_peer(5)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    no_panic(gw)
