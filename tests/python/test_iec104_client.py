"""IEC 60870-5-104 client ([[iec104_device]]) against real controlled stations: c104 2.2.1
(lib60870) servers in their own processes (killed and restarted to lose a station), raw TCP
stations that go silent or send garbage, and asyncua reading the result over OPC UA. Each test
asserts what the station saw as well as what fxgate shows. The contract is docs/interfaces.md,
"IEC 60870-5-104"."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from asyncua import ua

from fxgate_testlib import free_ports, hash_password
from iec104_peers import (
    C_CI_NA_1, C_CS_NA_1, C_IC_NA_1, RawStation, Station,
)
from modbus_peers import Opc, fxgate_log, http_get, make_pki, metrics_value, no_panic, status_of

WRITER_PW = "wr1ter pw!"
VT = ua.VariantType

# docs/interfaces.md, the quality table (IEC bit → OPC UA status code)
IEC_QUALITY_STATUS = {
    "Invalid": 0x80000000,          # Bad
    "NonTopical": 0x40900000,       # Uncertain_LastUsableValue
    "Overflow": 0x40940000,         # Uncertain_EngineeringUnitsExceeded
    "Carry": 0x40940000,            # (integrated totals) Uncertain_EngineeringUnitsExceeded
    "Blocked": 0x40000000,          # Uncertain
    "Substituted": 0x00960000,      # Good_LocalOverride
    None: 0x00000000,               # Good
}
BAD_NO_COMMUNICATION = 0x80310000


@pytest.fixture(scope="module")
def writer_hash():
    return hash_password(WRITER_PW)


@pytest.fixture
def peers():
    items = []
    yield items
    for p in items:
        p.close()


def run(coro):
    return asyncio.run(coro)


def line(name: str, port: int, host: str = "127.0.0.1", **kw) -> dict:
    return {"name": name, "mode": "client", "host": host, "port": port, "connect_timeout_ms": 1000,
            "reconnect_min_ms": 200, "reconnect_max_ms": 1000, **kw}


def overrides(lines: list[dict], devices: list[dict], writer_hash: str | None = None) -> dict:
    o = {"line": lines, "iec104_device": devices}
    if writer_hash:
        o["users"] = [{"name": "writer", "password_hash": writer_hash, "roles": ["read", "write"]}]
    return o


def ms(t: dt.datetime) -> int:
    return int(t.replace(tzinfo=dt.timezone.utc).timestamp() * 1000) if t.tzinfo is None else int(t.timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


MONITOR = [
    # ioa, c104 type, fxgate family, value sent, quality bit, expected (value, VariantType)
    (100, "M_SP_TB_1", "M_SP", True, None, (True, VT.Boolean)),
    (101, "M_DP_TB_1", "M_DP", 2, "NonTopical", (2, VT.Byte)),
    (102, "M_ST_TB_1", "M_ST", -5, "Overflow", (-5, VT.SByte)),
    # c104 2.2.1 sends M_BO with an empty QDS whatever its quality (seen on the wire), so SB
    # is tested on M_ME_TF_1.
    (103, "M_BO_TB_1", "M_BO", 0xA5A5, None, (0xA5A5, VT.UInt32)),
    (104, "M_ME_TD_1", "M_ME_NA", 0.5, "Blocked", (0.5, VT.Float)),
    (105, "M_ME_TE_1", "M_ME_NB", -1234, "Invalid", (-1234, VT.Int16)),
    (106, "M_ME_TF_1", "M_ME_NC", 3.25, "Substituted", (3.25, VT.Float)),
    (107, "M_IT_TB_1", "M_IT", 123456, "Carry", (123456, VT.Int32)),
    (108, "M_EP_TD_1", "M_EP_TD", 2, None, (2, VT.Byte)),
]


def test_monitor_types_quality_timestamps_gi_and_clock_sync(gateway_factory, client_cert, peers):
    port, = free_ports(1)
    points = [{"ioa": i, "type": t} for i, t, *_ in MONITOR] + [{"ioa": 110, "type": "M_ME_NC_1"}]
    st = Station(port, points, name="rtu")
    peers.append(st)
    st.start()
    # Values the station holds before fxgate connects: they arrive with the general interrogation.
    st.set(110, 42.0, transmit=False)
    tags = [{"name": f"P{i}", "ioa": i, "type": fam} for i, _, fam, *_ in MONITOR] + [{"name": "Plain", "ioa": 110, "type": "M_ME_NC"}]
    gw = gateway_factory.start(overrides([line("rtu", port)], [{"name": "RTU1", "line": "rtu", "tag": tags}]))
    started = time.time()

    async def body():
        opc = await Opc.connect(gw, client_cert)
        try:
            dv = await opc.wait("RTU1", "Plain", lambda d: d.Value.Value == 42.0, 10, "the GI value")
            assert status_of(dv) == "Good"
            # fxgate asked: GI (C_IC_NA_1 act, QOI 20) and clock sync, both seen by the station.
            s = st.wait(lambda s: any(f[0] == C_IC_NA_1 and f[1] == 6 for f in s["frames"]) and s["clock_syncs"], 5, "GI and clock sync")
            assert abs(s["clock_syncs"][0] - started) < 3, s["clock_syncs"]
            assert not any(f[0] == C_CI_NA_1 for f in s["frames"]), "no counter interrogation unless configured"
            base = now_ms() - 60_000  # a minute ago, to the ms: not the receive time
            for k, (ioa, _, _, value, q, _) in enumerate(MONITOR):
                st.set(ioa, value, quality=[q] if q else [], time_ms=base + k * 1111)
            for k, (ioa, _, _, _, q, (value, vt)) in enumerate(MONITOR):
                dv = await opc.wait("RTU1", f"P{ioa}", lambda d: d.SourceTimestamp is not None and ms(d.SourceTimestamp) == base + k * 1111,
                                    10, f"P{ioa} with the station's CP56 time")
                assert dv.Value.VariantType == vt, (ioa, dv.Value.VariantType)
                assert dv.Value.Value == pytest.approx(value), (ioa, dv.Value.Value)
                assert dv.StatusCode.value == IEC_QUALITY_STATUS[q], (ioa, q, status_of(dv))
            # A type without time: the receive time.
            before = now_ms()
            st.set(110, 7.5)
            dv = await opc.wait("RTU1", "Plain", lambda d: d.Value.Value == 7.5, 10, "the plain value")
            assert before - 50 <= ms(dv.SourceTimestamp) <= now_ms() + 50
        finally:
            await opc.close()

    run(body())
    no_panic(gw)


def test_every_command_direct_and_select_before_operate(gateway_factory, client_cert, peers, writer_hash):
    port, = free_ports(1)
    cmds = [
        (200, "C_SC_NA_1", "C_SC", False, True, VT.Boolean),
        (201, "C_DC_NA_1", "C_DC", False, 2, VT.Byte),
        (202, "C_RC_NA_1", "C_RC", False, 1, VT.Byte),
        (203, "C_SE_NA_1", "C_SE_NA", False, 0.25, VT.Float),
        (204, "C_SE_NB_1", "C_SE_NB", False, -300, VT.Int16),
        (205, "C_SE_NC_1", "C_SE_NC", False, 12.5, VT.Float),
        (206, "C_BO_NA_1", "C_BO", False, 0xF00F, VT.UInt32),
        (210, "C_SC_NA_1", "C_SC", True, True, VT.Boolean),
        (211, "C_DC_NA_1", "C_DC", True, 1, VT.Byte),
        (213, "C_SE_NC_1", "C_SE_NC", True, -2.5, VT.Float),
        (220, "C_SE_TC_1", "C_SE_NC", False, 99.0, VT.Float),
    ]
    st = Station(port, [{"ioa": 1, "type": "M_ME_NC_1"}],
                 [{"ioa": i, "type": t, "sbo": sbo} for i, t, _, sbo, _, _ in cmds], name="rtu")
    peers.append(st)
    st.start()
    tags = [{"name": f"C{i}", "command": fam, "command_ioa": i, "select_before_operate": sbo,
             **({"time_tagged": True} if i == 220 else {})} for i, _, fam, sbo, _, _ in cmds]
    tags += [{"name": "V", "ioa": 1, "type": "M_ME_NC"}, {"name": "Nowhere", "command": "C_SC", "command_ioa": 299}]
    gw = gateway_factory.start(overrides([line("rtu", port)], [{"name": "RTU1", "line": "rtu", "t1_ms": 3000, "t2_ms": 1000, "tag": tags}], writer_hash))

    async def body():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        try:
            await opc.wait_line("rtu", lambda s: s["State"] == "Connected", 10)
            for ioa, t, _, sbo, value, vt in cmds:
                res = await opc.write("RTU1", f"C{ioa}", value, vt)
                assert res.is_good(), (ioa, res)
                dv = await opc.read("RTU1", f"C{ioa}")
                assert dv.Value.Value == pytest.approx(value) and status_of(dv) == "Good", (ioa, dv)
            s = st.stats()
            for ioa, t, _, sbo, value, _ in cmds:
                seen = [c for c in s["commands"] if c["ioa"] == ioa]
                frames = [f for f in s["frames"] if f[5] == ioa and f[1] == 6]
                type_ids = {f[0] for f in frames}
                assert len(type_ids) == 1, (ioa, frames)
                if sbo:
                    assert [f[3] for f in frames] == [True, False], f"select then execute on {ioa}: {frames}"
                else:
                    assert [f[3] for f in frames] in ([False], [None]), f"direct execute on {ioa}: {frames}"
                assert seen, f"the station's command handler saw nothing on {ioa}: {s['commands']}"
            # the time-tagged variant went out as C_SE_TC_1 (63)
            assert {f[0] for f in s["frames"] if f[5] == 220} == {63}
            # negative confirmation
            st.answer(205, "negative")
            res = await opc.write("RTU1", "C205", 1.0, VT.Float)
            assert res.name == "BadRequestNotAllowed", res
            assert any(f[5] == 205 and f[0] == 50 for f in st.stats()["frames"][len(s["frames"]):])
            # an IOA the station does not know: it answers COT 47
            res = await opc.write("RTU1", "Nowhere", True, VT.Boolean)
            assert res.name == "BadNodeIdUnknown", res
            # a station that takes the command and never confirms: Bad after t1, not before
            st.answer(200, "none")
            t0 = time.monotonic()
            res = await opc.write("RTU1", "C200", True, VT.Boolean)
            assert not res.is_good(), res
            assert time.monotonic() - t0 >= 2.5, "the write answered before t1"
            # a value the command cannot carry: nothing is sent
            n = len(st.stats()["frames"])
            res = await opc.write("RTU1", "C203", 3.0, VT.Float)
            assert res.name == "BadTypeMismatch", res
            assert not any(f[5] == 203 for f in st.stats()["frames"][n:])
        finally:
            await opc.close()

    run(body())
    no_panic(gw)


def test_silent_station_t1_closes_and_the_line_reconnects(gateway_factory, client_cert, peers):
    raw = RawStation("silent")
    peers.append(raw)
    gw = gateway_factory.start(overrides([line("rtu", raw.port)], [{"name": "RTU1", "line": "rtu", "t1_ms": 1000, "t2_ms": 500,
                                                                    "tag": [{"name": "V", "ioa": 1, "type": "M_SP"}]}]))

    async def body():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await opc.wait_line("rtu", lambda s: "t1 expired" in s["LastError"], 10, "a t1 expiry")
            assert "I-frame" in st["LastError"], st
            deadline = time.monotonic() + 10
            while raw.connections < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert raw.connections >= 2 and raw.closed_by_gateway >= 1, (raw.connections, raw.closed_by_gateway)
            dv = await opc.read("RTU1", "V")
            assert dv.StatusCode.value == BAD_NO_COMMUNICATION, status_of(dv)
        finally:
            await opc.close()

    run(body())
    no_panic(gw)


def test_host_list_loss_and_recovery(gateway_factory, client_cert, peers):
    port, = free_ports(1)
    st = Station(port, [{"ioa": 1, "type": "M_ME_TF_1"}], name="rtu")
    peers.append(st)
    st.start()
    st.set(1, 5.0, transmit=False, time_ms=now_ms() - 5000)
    # Two addresses where nothing listens before the live one: the list is cycled.
    gw = gateway_factory.start(overrides([line("rtu", port, host="127.0.0.3,127.0.0.4,127.0.0.1")],
                                         [{"name": "RTU1", "line": "rtu", "tag": [{"name": "V", "ioa": 1, "type": "M_ME_NC"}]}]))

    async def body():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("RTU1", "V", lambda d: status_of(d) == "Good" and d.Value.Value == 5.0, 15, "the value over the third address")
            ls = await opc.line("rtu")
            assert "127.0.0.1" in ls["ActiveDevice"], ls
            sent = now_ms() - 1000
            st.set(1, 6.0, time_ms=sent)
            good = await opc.wait("RTU1", "V", lambda d: d.Value.Value == 6.0, 10, "6.0")
            st.kill()
            dv = await opc.wait("RTU1", "V", lambda d: d.StatusCode.value == BAD_NO_COMMUNICATION, 10, "Bad_NoCommunication")
            assert dv.Value.Value == 6.0 and ms(dv.SourceTimestamp) == ms(good.SourceTimestamp) == sent, "last value and time kept"
            st.start()
            st.set(1, 7.0, transmit=False)
            await opc.wait("RTU1", "V", lambda d: status_of(d) == "Good" and d.Value.Value == 7.0, 15, "Good after the GI")
            assert any(f[0] == C_IC_NA_1 for f in st.stats()["frames"]), "the restarted station was interrogated"
            ls = await opc.line("rtu")
            assert ls["ReconnectCount"] >= 1, ls
        finally:
            await opc.close()

    run(body())
    no_panic(gw)


def test_periodic_gi_ci_and_clock_sync(gateway_factory, client_cert, peers):
    port, = free_ports(1)
    st = Station(port, [{"ioa": 1, "type": "M_IT_TB_1"}], name="rtu")
    peers.append(st)
    st.start()
    st.set(1, 77, transmit=False)
    gw = gateway_factory.start(overrides([line("rtu", port)], [{"name": "RTU1", "line": "rtu", "gi_interval_ms": 1000, "ci_interval_ms": 1000,
                                                                "clock_sync_interval_ms": 1000, "tag": [{"name": "N", "ioa": 1, "type": "M_IT"}]}]))

    async def body():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("RTU1", "N", lambda d: d.Value.Value == 77, 10, "the counter")
            s = st.wait(lambda s: sum(f[0] == C_IC_NA_1 and f[1] == 6 for f in s["frames"]) >= 3
                        and sum(f[0] == C_CI_NA_1 and f[1] == 6 for f in s["frames"]) >= 3
                        and sum(f[0] == C_CS_NA_1 and f[1] == 6 for f in s["frames"]) >= 3
                        # c104 records the raw frame before it calls on_clock_sync: wait for both
                        and len(s["clock_syncs"]) >= 3, 8, "3 GIs, CIs and clock syncs")
            assert len(s["clock_syncs"]) >= 3
            now = time.time()
            assert all(abs(t - now) < 30 for t in s["clock_syncs"]), f"the clock syncs carry the gateway's time: {s['clock_syncs']}"
        finally:
            await opc.close()

    run(body())


def test_redundant_line_standby_takes_over(gateway_factory, client_cert, peers, writer_hash):
    p1, p2 = free_ports(2)
    stations = []
    for port, v in ((p1, 1.0), (p2, 2.0)):
        st = Station(port, [{"ioa": 1, "type": "M_ME_TF_1"}], [{"ioa": 50, "type": "C_SC_NA_1"}], name=f"rtu{port}")
        peers.append(st)
        st.start()
        st.set(1, v, transmit=False)
        stations.append(st)
    primary, backup = stations
    ln = line("rtu", p1, backup={"host": "127.0.0.1", "port": p2})
    gw = gateway_factory.start(overrides([ln], [{"name": "RTU1", "line": "rtu", "tag": [
        {"name": "V", "ioa": 1, "type": "M_ME_NC"}, {"name": "Cmd", "command": "C_SC", "command_ioa": 50}]}], writer_hash))

    async def body():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        try:
            await opc.wait("RTU1", "V", lambda d: d.Value.Value == 1.0 and status_of(d) == "Good", 10, "the primary's value")
            backup.wait(lambda s: s["connections"] == 1, 5, "the standby connection")
            time.sleep(0.5)
            s = backup.stats()
            assert s["frames"] == [] and s["active"] == 0, f"the backup stands by (no STARTDT, no GI): {s}"
            ls = await opc.line("rtu")
            assert "(active)" in ls["ActiveDevice"] and "(standby)" in ls["ActiveDevice"], ls
            primary.kill()
            lost = time.monotonic()
            while True:
                dv = await opc.read("RTU1", "V")
                assert status_of(dv) == "Good", f"the value went {status_of(dv)} during the fail-over"
                if dv.Value.Value == 2.0:
                    break
                assert time.monotonic() - lost < 2.0, "the backup's GI did not arrive within 2 s"
                await asyncio.sleep(0.02)
            assert any(f[0] == C_IC_NA_1 for f in backup.stats()["frames"]), "the backup was interrogated"
            res = await opc.write("RTU1", "Cmd", True, VT.Boolean)
            assert res.is_good() and time.monotonic() - lost < 2.5, (res, time.monotonic() - lost)
            assert any(c["ioa"] == 50 for c in backup.stats()["commands"]), "the command reached the backup"
            ls = await opc.line("rtu")
            assert "backup" in ls["ActiveDevice"] and "(active)" in ls["ActiveDevice"], ls
        finally:
            await opc.close()

    run(body())
    no_panic(gw)


def test_tls_with_certificates(gateway_factory, client_cert, peers, tmp_path):
    pki = make_pki(tmp_path / "pki")
    port, = free_ports(1)
    st = Station(port, [{"ioa": 1, "type": "M_ME_TF_1"}], name="tls-rtu",
                 tls={"cert": str(pki.server_cert), "key": str(pki.server_key), "ca": str(pki.ca)})
    peers.append(st)
    st.start()
    st.set(1, 4.5, transmit=False)
    tls = {"partner_certificates": str(pki.ca), "my_certificate": str(pki.client_cert), "my_key": str(pki.client_key)}
    gw = gateway_factory.start(overrides([line("rtu", port, host="localhost", tls=tls)],
                                         [{"name": "RTU1", "line": "rtu", "tag": [{"name": "V", "ioa": 1, "type": "M_ME_NC"}]}]))

    async def body():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("RTU1", "V", lambda d: d.Value.Value == 4.5 and status_of(d) == "Good", 15, "the value over TLS")
            assert any(f[0] == C_IC_NA_1 for f in st.stats()["frames"]), "the station decoded fxgate's GI through TLS"
        finally:
            await opc.close()

    run(body())
    assert "tls" in fxgate_log(gw).lower()


def test_garbage_from_a_station(gateway_factory, client_cert, peers):
    raw = RawStation("garbage")
    peers.append(raw)
    gw = gateway_factory.start(overrides([line("rtu", raw.port)], [{"name": "RTU1", "line": "rtu", "tag": [{"name": "V", "ioa": 1, "type": "M_SP"}]}]))

    async def body():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await opc.wait_line("rtu", lambda s: s["ReconnectCount"] >= 2, 15, "reconnects")
            assert "malformed" in st["LastError"] or "unknown type" in st["LastError"], st
            dv = await opc.read("RTU1", "V")
            assert dv.StatusCode.value == BAD_NO_COMMUNICATION, status_of(dv)
        finally:
            await opc.close()

    run(body())
    assert raw.connections >= 2
    _, text = http_get(gw, "/metrics")
    assert (metrics_value(text, "fxgate_line_request_errors_total", "rtu") or 0) >= 1, text[:2000]
    no_panic(gw)
