"""Modbus TCP client ([[device]]) and server ([[modbus_server]]) against real peers:
pymodbus 3.16 servers in their own processes (killed and restarted to lose devices), pymodbus
clients, a raw TCP peer that answers garbage, and asyncua reading the result over OPC UA.
The contract is docs/interfaces.md, "Lines and Modbus" (seed 002)."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest
from asyncua import ua
from pymodbus.client import ModbusTcpClient

from fxgate_testlib import free_port, free_ports, hash_password, log, port_accepts
from modbus_peers import (
    ModbusExceptionResponse,
    Opc,
    PeerSet,
    RawTcpPeer,
    decode,
    encode,
    free_port6,
    http_get,
    is_good,
    mb_call,
    mb_read_registers,
    metrics_value,
    no_panic,
    regs_of_bits,
    show,
    start_gateway,
    status_of,
)

WRITER_PW = "wr1ter pw!"
VT = ua.VariantType


@pytest.fixture(scope="module")
def writer_hash():
    return hash_password(WRITER_PW)


@pytest.fixture
def peers():
    ps = PeerSet()
    yield ps
    ps.close()


def users(writer_hash) -> dict:
    return {"users": [{"name": "writer", "password_hash": writer_hash, "roles": ["read", "write"]}]}


def client_line(name: str, host: str, port: int, **kw) -> dict:
    return {"name": name, "mode": "client", "host": host, "port": port, "connect_timeout_ms": 1000,
            "reconnect_delay_ms": 200, "reconnect_max_ms": 1000, **kw}


def server_line(name: str, host: str, port: int, **kw) -> dict:
    return {"name": name, "mode": "server", "host": host, "port": port, **kw}


def modbus_device(name: str, line: str, tags: list[dict], poll_ms: int = 200, timeout_ms: int = 1000, **kw) -> dict:
    return {"name": name, "line": line, "protocol": "modbus", "unit_id": 1, "timeout_ms": timeout_ms,
            "poll_ms": poll_ms, **kw, "tags": tags}


def run(coro):
    return asyncio.run(coro)


def good_value(value):
    return lambda dv: is_good(dv) and dv.Value.Value == value


def status_is(name):
    return lambda dv: status_of(dv) == name


# ----------------------------------------------------------------------------------------------
# 1. polled values of every data type
# ----------------------------------------------------------------------------------------------

# name, register offset, type, word_order, byte_order, value
HR_VALUES = [
    ("I16", 0, "int16", "big", "big", -12345),
    ("U16", 1, "uint16", "big", "big", 54321),
    ("I32", 2, "int32", "big", "big", -123456789),
    ("I32_CDAB", 4, "int32", "little", "big", -123456789),
    ("U32", 6, "uint32", "big", "big", 3000000000),
    ("U32_BADC", 8, "uint32", "big", "little", 0x12345678),
    ("F32", 10, "float32", "big", "big", 123.25),
    ("F32_CDAB", 12, "float32", "little", "big", -2.75),
    ("F32_DCBA", 14, "float32", "little", "little", 0.15625),
    ("I64", 16, "int64", "big", "big", -1234567890123456789),
    ("I64_LW", 20, "int64", "little", "big", -1234567890123456789),
    ("U64", 24, "uint64", "big", "big", 18000000000000000000),
    ("U64_LL", 28, "uint64", "little", "little", 0x0102030405060708),
    ("F64", 32, "float64", "big", "big", 3.141592653589793),
    ("F64_LW", 36, "float64", "little", "big", -2.5e10),
]
VARIANT_OF = {"int16": "Int16", "uint16": "UInt16", "int32": "Int32", "uint32": "UInt32", "float32": "Float",
              "int64": "Int64", "uint64": "UInt64", "float64": "Double", "string": "String", "bool": "Boolean"}
BITS_REG = 47
BITS_VALUE = regs_of_bits({0: True, 2: True, 13: True, 15: True})  # 0xA005


def typed_layout_and_tags():
    hr: dict[int, list[int]] = {}
    tags: list[dict] = []
    expected: dict[str, tuple] = {}  # name -> (value, variant type name)
    for name, off, t, wo, bo, value in HR_VALUES:
        hr[off] = encode(t, value, wo, bo)
        tags.append({"name": name, "address": f"hr:{off}", "type": t, "word_order": wo, "byte_order": bo,
                     "group": "fast" if off % 4 == 0 else ""})
        if name == "F32":
            tags[-1].update({"description": "Boiler temperature", "eu_units": "°C", "eu_low": 0.0, "eu_high": 200.0})
        expected[name] = (value, VARIANT_OF[t])
    # strings: 4 registers "FX-gate!", and 3 registers with swapped bytes (BA) "abcdef"
    hr[40] = encode("string", "FX-gate!", length=4)
    tags.append({"name": "Str", "address": "hr:40", "type": "string", "length": 4})
    expected["Str"] = ("FX-gate!", "String")
    hr[44] = encode("string", "abcdef", byte_order="little", length=3)
    assert hr[44] == [0x6261, 0x6463, 0x6665]
    tags.append({"name": "Str_BA", "address": "hr:44", "type": "string", "length": 3, "byte_order": "little"})
    expected["Str_BA"] = ("abcdef", "String")
    # bits of a holding register
    hr[BITS_REG] = [BITS_VALUE]
    for b in (0, 1, 2, 13, 14, 15):
        tags.append({"name": f"Bit{b}", "address": f"hr:{BITS_REG}.{b}", "type": "bool"})
        expected[f"Bit{b}"] = (bool(BITS_VALUE >> b & 1), "Boolean")
    # scaled: value = raw * scale + offset, always Double (values exact in binary floating point)
    hr[48] = encode("int16", 1234)
    tags.append({"name": "S_I16", "address": "hr:48", "type": "int16", "scale": 0.5, "offset": -100.0})
    expected["S_I16"] = (1234 * 0.5 + -100.0, "Double")
    hr[49] = encode("uint32", 4000000001, "little")
    tags.append({"name": "S_U32", "address": "hr:49", "type": "uint32", "word_order": "little", "scale": 0.25, "offset": 1.0})
    expected["S_U32"] = (4000000001 * 0.25 + 1.0, "Double")
    hr[51] = encode("float32", 1.5)
    tags.append({"name": "S_F32", "address": "hr:51", "type": "float32", "scale": 2.0, "offset": 0.25})
    expected["S_F32"] = (3.25, "Double")
    # Modicon references (1-based): 40054 = hr:53, 400055 = hr:54
    hr[53] = encode("uint16", 777)
    hr[54] = encode("int16", -2)
    tags.append({"name": "Modicon5", "address": "40054", "type": "uint16"})
    tags.append({"name": "Modicon6", "address": "400055", "type": "int16"})
    expected["Modicon5"] = (777, "UInt16")
    expected["Modicon6"] = (-2, "Int16")
    # count > 1: Arr0..Arr2 at consecutive addresses
    hr[55] = encode("int16", 10) + encode("int16", -20) + encode("int16", 30)
    tags.append({"name": "Arr", "address": "hr:55", "type": "int16", "count": 3})
    expected.update({"Arr0": (10, "Int16"), "Arr1": (-20, "Int16"), "Arr2": (30, "Int16")})

    ir = {0: encode("int16", 321), 1: encode("float32", 6.5), 3: encode("uint16", 4242)}
    tags += [
        {"name": "IrI16", "address": "ir:0", "type": "int16"},
        {"name": "IrF32", "address": "ir:1", "type": "float32"},
        {"name": "IrModicon", "address": "30004", "type": "uint16"},
    ]
    expected.update({"IrI16": (321, "Int16"), "IrF32": (6.5, "Float"), "IrModicon": (4242, "UInt16")})

    co = {0: [True, False, False, False, False, True, True]}
    tags += [
        {"name": "C0", "address": "coil:0", "type": "bool"},
        {"name": "C1", "address": "coil:1", "type": "bool", "group": "fast"},
        {"name": "C5", "address": "coil:5", "type": "bool"},
        {"name": "CModicon", "address": "00007", "type": "bool"},
    ]
    expected.update({"C0": (True, "Boolean"), "C1": (False, "Boolean"), "C5": (True, "Boolean"),
                     "CModicon": (True, "Boolean")})
    di = {0: [True, False, False, True, True]}
    tags += [
        {"name": "D0", "address": "di:0", "type": "bool"},
        {"name": "D1", "address": "di:1", "type": "bool"},
        {"name": "D3", "address": "di:3", "type": "bool"},
        {"name": "DModicon", "address": "10005", "type": "bool"},
    ]
    expected.update({"D0": (True, "Boolean"), "D1": (False, "Boolean"), "D3": (True, "Boolean"),
                     "DModicon": (True, "Boolean")})
    return {"hr": hr, "ir": ir, "co": co, "di": di}, tags, expected


def test_polled_values_of_every_type(gateway_factory, client_cert, peers):
    layout, tags, expected = typed_layout_and_tags()
    port = free_port()
    dev = peers.device(layout, port, name="plc1")
    gw = start_gateway(
        gateway_factory,
        lines=[client_line("plc", "127.0.0.1", port)],
        devices=[modbus_device("Boiler", "plc", tags, poll_ms=300, groups=[{"name": "fast", "interval_ms": 100}])],
    )

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            deadline = time.monotonic() + 20
            while True:
                dvs = {n: await opc.read("Boiler", n) for n in expected}
                if all(is_good(dv) for dv in dvs.values()) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            problems = []
            for name, (value, vt) in expected.items():
                dv = dvs[name]
                if not is_good(dv) or dv.Value.VariantType.name != vt or dv.Value.Value != value \
                        or type(dv.Value.Value) is not type(value):
                    problems.append(f"{name}: expected Good {vt}={value!r}, got {show(dv)}")
                    continue
                if dv.SourceTimestamp is None:
                    problems.append(f"{name}: no source timestamp")
                dt = await opc.node("Boiler", name).read_data_type()
                if dt != ua.NodeId(getattr(ua.ObjectIds, vt)):
                    problems.append(f"{name}: DataType attribute {dt}, expected {vt}")
            assert not problems, "\n".join(problems)

            # DA metadata on a device tag, as for simulator tags
            f32 = opc.node("Boiler", "F32")
            td = await f32.read_type_definition()
            assert (await opc.client.get_node(td).read_browse_name()).Name == "AnalogItemType"
            eu = await (await f32.get_child("0:EURange")).read_value()
            assert (eu.Low, eu.High) == (0.0, 200.0)
            assert (await (await f32.get_child("0:EngineeringUnits")).read_value()).DisplayName.Text == "°C"
            assert (await f32.read_description()).Text == "Boiler temperature"

            # a value changed on the device arrives with the next poll
            dev.set("hr", 14, encode("float32", -1024.5, "little", "little"))
            await opc.wait("Boiler", "F32_DCBA", good_value(-1024.5), 5, "changed float32 DCBA")
            dev.set("co", 1, [True])
            await opc.wait("Boiler", "C1", good_value(True), 5, "changed coil")
            dev.set("hr", BITS_REG, [BITS_VALUE | 1 << 14])
            await opc.wait("Boiler", "Bit14", good_value(True), 5, "bit 14 set")
            assert (await opc.read("Boiler", "Bit15")).Value.Value is True
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 2. writes: OPC UA -> device
# ----------------------------------------------------------------------------------------------


def test_write_round_trip(gateway_factory, client_cert, peers, writer_hash):
    port = free_port()
    dev = peers.device({
        "hr": {100: [0, 0, 0, 0, 0x8001, 0, 7, 0, 0, 0, 0]},
        "co": {0: [False] * 16},
    }, port, name="plc")
    tags = [
        {"name": "SetF", "address": "hr:100", "type": "float32", "writable": True},
        {"name": "SetF_CDAB", "address": "hr:102", "type": "float32", "word_order": "little", "writable": True},
        {"name": "Flag3", "address": "hr:104.3", "type": "bool", "writable": True},
        {"name": "SetS", "address": "hr:105", "type": "int16", "scale": 0.5, "offset": 10.0, "writable": True},
        {"name": "RO", "address": "hr:106", "type": "int16"},
        {"name": "Valve", "address": "coil:10", "type": "bool", "writable": True},
        {"name": "SetD", "address": "hr:107", "type": "float64", "word_order": "little", "writable": True},
    ]
    # a long poll interval: a write must be read back at once, not with the next poll
    gw = start_gateway(gateway_factory, users(writer_hash), lines=[client_line("plc", "127.0.0.1", port)],
                       devices=[modbus_device("Boiler", "plc", tags, poll_ms=5000)])

    async def main():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        anon = await Opc.connect(gw, client_cert)
        try:
            for t in tags:
                await opc.wait("Boiler", t["name"], is_good, 15, "initial Good")
            dev.clear_requests()

            async def write(name, value, vt, readback=None):
                st = await opc.write("Boiler", name, value, vt)
                assert st.is_good(), f"write {name}={value!r}: {st.name}"
                t0 = time.monotonic()
                await opc.wait("Boiler", name, good_value(value if readback is None else readback), 1.5,
                               f"{name} read back at once after the write")
                return time.monotonic() - t0

            await write("SetF", 42.75, VT.Float)
            assert dev.get("hr", 100, 2) == encode("float32", 42.75)
            await write("SetF_CDAB", -1.5, VT.Float)
            assert dev.get("hr", 102, 2) == encode("float32", -1.5, "little")
            await write("Valve", True, VT.Boolean)
            assert dev.get("co", 10, 1) == [True]
            await write("SetS", 30.0, VT.Double)
            assert dev.get("hr", 105, 1) == [40], "raw = (30 - 10) / 0.5"
            await write("Flag3", True, VT.Boolean)
            assert dev.get("hr", 104, 1) == [0x8009], "only bit 3 changes"
            await write("Valve", False, VT.Boolean)
            assert dev.get("co", 10, 1) == [False]
            await write("SetD", -1234.5678, VT.Double)
            assert dev.get("hr", 107, 4) == encode("float64", -1234.5678, "little")

            reqs = [r for r in dev.requests() if r["fc"] not in (1, 2, 3, 4)]
            by_addr = {}
            for r in reqs:
                by_addr.setdefault(r["address"], set()).add(r["fc"])
            assert by_addr.get(100) == {16} and by_addr.get(102) == {16}, f"float32 writes use fc 16: {reqs}"
            assert by_addr.get(107) == {16}, f"float64 writes use fc 16: {reqs}"
            assert by_addr.get(10) and by_addr[10] <= {5, 15}, f"coil writes use fc 5/15: {reqs}"
            assert by_addr.get(105) and by_addr[105] <= {6, 16}, f"register writes use fc 6/16: {reqs}"
            assert by_addr.get(104) == {22}, f"a bit of a register is written with fc 22 (mask write): {reqs}"
            assert set().union(*by_addr.values()) <= {5, 6, 15, 16, 22}, reqs

            # read-only tag: refused for the writer, nothing sent to the device
            dev.clear_requests()
            st = await opc.write("Boiler", "RO", 1, VT.Int16)
            assert st.name == "BadNotWritable", st
            # anonymous (read role only): refused
            st = await anon.write("Boiler", "SetF", 1.0, VT.Float)
            assert st.name == "BadUserAccessDenied", st
            assert [r for r in dev.requests() if r["fc"] in (5, 6, 15, 16, 22)] == []
            assert dev.get("hr", 106, 1) == [7] and dev.get("hr", 100, 2) == encode("float32", 42.75)
        finally:
            await anon.close()
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 3. addresses the device does not have; exception codes
# ----------------------------------------------------------------------------------------------


def test_missing_address_is_out_of_range_others_stay_good(gateway_factory, client_cert, peers):
    port = free_port()
    peers.device({"hr": {0: list(range(100, 110))}, "co": {0: [True] * 16}}, port, name="plc")
    tags = [
        {"name": "Ok0", "address": "hr:0", "type": "int16"},
        {"name": "Ok5", "address": "hr:5", "type": "int32"},
        {"name": "Ok9", "address": "hr:9", "type": "uint16"},
        {"name": "Missing", "address": "hr:10", "type": "int16"},  # right behind the device's registers
        {"name": "Far", "address": "hr:5000", "type": "int16"},
        {"name": "C3", "address": "coil:3", "type": "bool"},
        {"name": "C15", "address": "coil:15", "type": "bool"},
        {"name": "MissingCoil16", "address": "coil:16", "type": "bool"},  # joins coil:15's request
        {"name": "MissingCoil", "address": "coil:200", "type": "bool"},
    ]
    expected_good = {"Ok0": 100, "Ok5": (105 << 16) + 106, "Ok9": 109, "C3": True, "C15": True}
    MISSING = ("Missing", "Far", "MissingCoil16", "MissingCoil")
    # max_gap 10: hr:0..10 is one request that fails with exception 2 and must be split
    gw = start_gateway(gateway_factory, lines=[client_line("plc", "127.0.0.1", port)],
                       devices=[modbus_device("Boiler", "plc", tags, poll_ms=200, max_gap=10)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            for name, value in expected_good.items():
                await opc.wait("Boiler", name, good_value(value), 15, "Good despite a bad neighbour")
            for name in MISSING:
                await opc.wait("Boiler", name, status_is("BadOutOfRange"), 10, "Bad_OutOfRange (exception 2)")
            st0 = await opc.line("plc")
            assert st0["State"] == "Connected", st0
            # stays so over several polls; exception 2 does not cost the connection
            for _ in range(5):
                await asyncio.sleep(0.3)
                for name, value in expected_good.items():
                    dv = await opc.read("Boiler", name)
                    assert is_good(dv) and dv.Value.Value == value, f"{name}: {show(dv)}"
                for name in MISSING:
                    dv = await opc.read("Boiler", name)
                    assert status_of(dv) == "BadOutOfRange", f"{name}: {show(dv)}"
            st1 = await opc.line("plc")
            assert st1["State"] == "Connected" and st1["ReconnectCount"] == st0["ReconnectCount"], (st0, st1)
            code, text = http_get(gw, "/metrics")
            assert code == 200
            errors = metrics_value(text, "fxgate_line_request_errors_total", "plc")
            assert errors is not None and errors >= 1, "exception answers count as request errors"
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


EXCEPTION_STATUS = {
    1: "BadNotSupported",
    3: "BadOutOfRange",
    4: "BadDeviceFailure",
    5: "BadResourceUnavailable",
    6: "BadResourceUnavailable",
    0x0A: "BadNoCommunication",
    0x0B: "BadNoCommunication",
}


def test_exception_codes_map_to_statuses(gateway_factory, client_cert, peers, writer_hash):
    port = free_port()
    addrs = {code: 300 + 10 * i for i, code in enumerate(EXCEPTION_STATUS)}
    layout = {"hr": {a: [1] for a in addrs.values()} | {500: [77]}}
    peers.device(layout, port, name="plc", exceptions={"hr": {a: code for code, a in addrs.items()}})
    tags = [{"name": f"E{code}", "address": f"hr:{a}", "type": "int16", "writable": True} for code, a in addrs.items()]
    tags.append({"name": "Control", "address": "hr:500", "type": "int16", "writable": True})
    gw = start_gateway(gateway_factory, users(writer_hash), lines=[client_line("plc", "127.0.0.1", port)],
                       devices=[modbus_device("Boiler", "plc", tags, poll_ms=200)])

    async def main():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        try:
            await opc.wait("Boiler", "Control", good_value(77), 15)
            problems = []
            for code, status in EXCEPTION_STATUS.items():
                try:
                    await opc.wait("Boiler", f"E{code}", status_is(status), 10)
                except AssertionError as e:
                    problems.append(f"read, exception {code}: expected {status}: {e}")
            # a write gets the device's answer as its status
            for code in (3, 4, 6):
                st = await opc.write("Boiler", f"E{code}", 5, VT.Int16)
                if st.name != EXCEPTION_STATUS[code]:
                    problems.append(f"write answered with exception {code}: expected {EXCEPTION_STATUS[code]}, got {st.name}")
            st = await opc.write("Boiler", "Control", 78, VT.Int16)
            if not st.is_good():
                problems.append(f"write to Control: {st.name}")
            assert not problems, "\n".join(problems)
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 4. device lost and back
# ----------------------------------------------------------------------------------------------


def test_device_loss_and_return(gateway_factory, client_cert, peers, writer_hash):
    port = free_port()
    dev = peers.device({"hr": {0: [42, 0]}}, port, name="plc")
    tags = [{"name": "Level", "address": "hr:0", "type": "int16"},
            {"name": "Set", "address": "hr:1", "type": "int16", "writable": True}]
    gw = start_gateway(gateway_factory, users(writer_hash), lines=[client_line("plc", "127.0.0.1", port)],
                       devices=[modbus_device("Boiler", "plc", tags, poll_ms=200, timeout_ms=500)])

    def metric(name):
        code, text = http_get(gw, "/metrics")
        assert code == 200
        return metrics_value(text, name, "plc")

    async def main():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        try:
            dv = await opc.wait("Boiler", "Level", good_value(42), 15)
            st = await opc.wait_line("plc", lambda s: s["State"] == "Connected", 5)
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{port}", st
            assert st["State_type"] == "String" and st["ActiveDevice_type"] == "String", st
            assert st["LastError_type"] == "String" and st["ReconnectCount_type"] == "UInt32", st
            assert metric("fxgate_line_connected") == 1
            assert metric("fxgate_line_state") is not None
            assert metric("fxgate_line_connections_total") >= 1
            assert metric("fxgate_line_requests_total") >= 1

            # an unchanged value is not re-published: the source timestamp stays
            ts0 = dv.SourceTimestamp
            await asyncio.sleep(1.2)
            dv = await opc.read("Boiler", "Level")
            assert is_good(dv) and dv.Value.Value == 42 and dv.SourceTimestamp == ts0, (ts0, show(dv))
            dev.set("hr", 0, [43])
            dv = await opc.wait("Boiler", "Level", good_value(43), 5)
            assert dv.SourceTimestamp > ts0
            ts1 = dv.SourceTimestamp
            rc0 = (await opc.line("plc"))["ReconnectCount"]

            # device gone
            dev.kill()
            dv = await opc.wait("Boiler", "Level", status_is("BadNoCommunication"), 10, "Bad_NoCommunication")
            assert dv.Value.Value == 43 and dv.Value.VariantType == VT.Int16, f"last value kept: {show(dv)}"
            assert dv.SourceTimestamp == ts1, f"source timestamp kept: {ts1} vs {show(dv)}"
            await opc.wait("Boiler", "Set", status_is("BadNoCommunication"), 5)
            st = await opc.wait_line("plc", lambda s: s["State"] == "Disconnected", 10, "Disconnected")
            st = await opc.wait_line("plc", lambda s: s["ReconnectCount"] > rc0, 10, "ReconnectCount grows")
            assert st["LastError"], f"LastError names the problem: {st}"
            assert metric("fxgate_line_connected") == 0
            assert metric("fxgate_line_reconnects_total") >= 1
            # a write while not connected
            w = await opc.write("Boiler", "Set", 5, VT.Int16)
            assert w.name == "BadNoCommunication", w
            # still Bad, still the old value, a while later
            await asyncio.sleep(1.0)
            dv = await opc.read("Boiler", "Level")
            assert status_of(dv) == "BadNoCommunication" and dv.Value.Value == 43, show(dv)
            rc1 = (await opc.line("plc"))["ReconnectCount"]
            assert rc1 > rc0

            # device back (with a new value)
            dev.set("hr", 0, [44])
            dev.start()
            await opc.wait("Boiler", "Level", good_value(44), 10, "Good again after the device is back")
            st = await opc.wait_line("plc", lambda s: s["State"] == "Connected", 5)
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{port}", st
            assert metric("fxgate_line_connected") == 1
            assert metric("fxgate_line_connections_total") >= 2
            w = await opc.write("Boiler", "Set", 5, VT.Int16)
            assert w.is_good(), w
            assert dev.get("hr", 1, 1) == [5]
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 5. host list, 6. primary / backup
# ----------------------------------------------------------------------------------------------


def test_host_list_skips_dead_addresses(gateway_factory, client_cert, peers):
    port = free_port()
    assert not port_accepts(port, "127.0.0.2") and not port_accepts(port, "127.0.0.3")
    peers.device({"hr": {0: [4711]}}, port, name="plc")
    gw = start_gateway(gateway_factory, lines=[client_line("plc", "127.0.0.2; 127.0.0.3 ,127.0.0.1", port)],
                       devices=[modbus_device("Boiler", "plc", [{"name": "V", "address": "hr:0", "type": "uint16"}])])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Boiler", "V", good_value(4711), 15, "value via the third address")
            st = await opc.wait_line("plc", lambda s: s["State"] == "Connected", 5)
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{port}", st
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_host_list_cycles_through_addresses(gateway_factory, client_cert, peers):
    port = free_port()
    assert not port_accepts(port, "127.0.0.2")
    first = peers.device({"hr": {0: [1]}}, port, host="127.0.0.1", name="first")
    second = peers.device({"hr": {0: [2]}}, port, host="127.0.0.2", name="second")
    gw = start_gateway(gateway_factory, lines=[client_line("plc", "127.0.0.1, 127.0.0.2", port)],
                       devices=[modbus_device("Boiler", "plc", [{"name": "V", "address": "hr:0", "type": "uint16"}],
                                              poll_ms=100, timeout_ms=500)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Boiler", "V", good_value(1), 15, "the first address")
            first.kill()
            await opc.wait("Boiler", "V", good_value(2), 10, "the second address after the first died")
            st = await opc.line("plc")
            assert st["ActiveDevice"] == f"primary 127.0.0.2:{port}", st
            first.start()
            second.kill()
            await opc.wait("Boiler", "V", good_value(1), 10, "the first address again (cyclically)")
            st = await opc.line("plc")
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{port}", st
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_disabled_backup_is_not_used(gateway_factory, client_cert, peers):
    dead, p2 = free_ports(2)
    peers.device({"hr": {0: [2222]}}, p2, name="backup")
    line = client_line("red", "127.0.0.1", dead, backup={"host": "127.0.0.1", "port": p2, "enabled": False})
    gw = start_gateway(gateway_factory, lines=[line],
                       devices=[modbus_device("Boiler", "red", [{"name": "V", "address": "hr:0", "type": "uint16"}])])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("red", lambda s: s["ReconnectCount"] >= 2, 10, "retrying the primary")
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                st = await opc.line("red")
                assert st["State"] != "Connected" and "backup" not in st["ActiveDevice"], st
                dv = await opc.read("Boiler", "V")
                assert not is_good(dv), f"value from a disabled backup: {show(dv)}"
                await asyncio.sleep(0.1)
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_primary_backup_failover(gateway_factory, client_cert, peers):
    p1, p2 = free_ports(2)
    primary = peers.device({"hr": {0: [1111]}}, p1, name="primary")
    backup = peers.device({"hr": {0: [2222]}}, p2, name="backup")
    line = client_line("red", "127.0.0.1", p1, backup={"host": "127.0.0.1", "port": p2, "enabled": True})
    gw = start_gateway(gateway_factory, lines=[line],
                       devices=[modbus_device("Boiler", "red", [{"name": "V", "address": "hr:0", "type": "uint16"}],
                                              poll_ms=100, timeout_ms=500)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Boiler", "V", good_value(1111), 15, "primary's value")
            st = await opc.wait_line("red", lambda s: s["State"] == "Connected", 5)
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{p1}", st

            primary.kill()
            t0 = time.monotonic()
            await opc.wait("Boiler", "V", good_value(2222), 10, "backup's value", interval=0.02)
            failover = time.monotonic() - t0
            log(f"primary killed -> backup's value after {failover:.3f} s")
            st = await opc.line("red")
            assert st["ActiveDevice"] == f"backup 127.0.0.1:{p2}", st
            assert failover < 2.0, f"fail-over took {failover:.2f} s"

            # primary back: the line stays on the backup while that works
            primary.start()
            end = time.monotonic() + 2.5
            while time.monotonic() < end:
                dv = await opc.read("Boiler", "V")
                assert is_good(dv) and dv.Value.Value == 2222, f"left the working backup: {show(dv)}"
                st = await opc.line("red")
                assert st["ActiveDevice"] == f"backup 127.0.0.1:{p2}", st
                await asyncio.sleep(0.1)

            backup.kill()
            t0 = time.monotonic()
            await opc.wait("Boiler", "V", good_value(1111), 10, "primary's value again", interval=0.02)
            back = time.monotonic() - t0
            log(f"backup killed -> primary's value after {back:.3f} s")
            st = await opc.wait_line("red", lambda s: s["State"] == "Connected", 5)
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{p1}", st
            assert back < 2.0, f"fail-back took {back:.2f} s"
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 7. IPv6
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["[::1]", "::1"])
def test_ipv6_device(gateway_factory, client_cert, peers, host):
    port = free_port6()
    peers.device({"hr": {0: encode("int32", -7654321)}}, port, host="::1", name="plc6")
    gw = start_gateway(gateway_factory, lines=[client_line("v6", host, port)],
                       devices=[modbus_device("Boiler", "v6", [{"name": "V", "address": "hr:0", "type": "int32"}])])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Boiler", "V", good_value(-7654321), 15, "value over IPv6")
            st = await opc.wait_line("v6", lambda s: s["State"] == "Connected", 5)
            assert "::1" in st["ActiveDevice"] and str(port) in st["ActiveDevice"], st
            assert st["ActiveDevice"].startswith("primary "), st
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_ipv6_modbus_server_on_all_interfaces(gateway_factory, client_cert):
    port = free_port6()
    while port_accepts(port):  # the port must be free for IPv4 as well (we check it stays closed)
        port = free_port6()
    sim = {"name": "Plc", "interval_ms": 100, "tags": [
        {"name": "Level", "type": "Int16", "waveform": "constant", "initial": 1234, "writable": True}]}
    gw = start_gateway(
        gateway_factory, {"simulator": [sim]},
        lines=[server_line("north6", "[*]", port)],
        modbus_servers=[{"name": "mbs", "line": "north6", "map": [{"tag": "Plc/Level", "address": "hr:0", "type": "int16"}]}],
    )
    c = ModbusTcpClient("::1", port=port, timeout=3, retries=0)
    try:
        assert c.connect(), "connect to [::1]"
        r = c.read_holding_registers(0, count=1, device_id=1)
        assert not r.isError(), r
        assert r.registers == [1234]
        r = c.write_register(0, 999, device_id=1)
        assert not r.isError(), r

        async def check():
            opc = await Opc.connect(gw, client_cert)
            try:
                await opc.wait("Plc", "Level", good_value(999), 5, "written over IPv6")
            finally:
                await opc.close()

        run(check())
    finally:
        c.close()
    assert not port_accepts(port, "127.0.0.1"), "[*] listens on IPv6 only"
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 8. Modbus server
# ----------------------------------------------------------------------------------------------


def test_modbus_server_exposes_and_accepts_writes(gateway_factory, client_cert, writer_hash):
    port, dead_port = free_ports(2)
    sim = {"name": "Plc", "interval_ms": 100, "tags": [
        {"name": "F", "type": "Double", "waveform": "constant", "initial": 12.5, "writable": True},
        {"name": "FL", "type": "Double", "waveform": "constant", "initial": -3.75, "writable": True},
        {"name": "I", "type": "Int16", "waveform": "constant", "initial": -1234, "writable": True},
        {"name": "RO", "type": "Int32", "waveform": "constant", "initial": 7, "writable": False},
        {"name": "S", "type": "Double", "waveform": "constant", "initial": 20.0, "writable": True},
        {"name": "U", "type": "UInt32", "waveform": "constant", "initial": 3000000000, "writable": True},
        {"name": "Small", "type": "Int16", "waveform": "constant", "initial": 5, "writable": True},
        {"name": "B", "type": "Boolean", "waveform": "constant", "initial": True, "writable": True},
        {"name": "RB", "type": "Boolean", "waveform": "constant", "initial": True, "writable": False},
    ]}
    mapping = [
        {"tag": "Plc/F", "address": "hr:0", "type": "float32"},
        {"tag": "Plc/FL", "address": "hr:2", "type": "float32", "word_order": "little"},
        {"tag": "Plc/I", "address": "hr:4", "type": "int16"},
        {"tag": "Plc/RO", "address": "hr:5", "type": "int16"},
        {"tag": "Plc/S", "address": "hr:6", "type": "int16", "scale": 0.5, "offset": 10.0},
        {"tag": "Plc/U", "address": "hr:7", "type": "uint32", "word_order": "little"},
        {"tag": "Plc/Small", "address": "hr:9", "type": "int32"},
        {"tag": "Dead/X", "address": "hr:20", "type": "int16"},
        {"tag": "Plc/B", "address": "coil:0", "type": "bool"},
        {"tag": "Plc/RB", "address": "coil:1", "type": "bool"},
        {"tag": "Plc/RB", "address": "di:0", "type": "bool"},
        {"tag": "Plc/I", "address": "ir:0", "type": "int16"},
    ]
    gw = start_gateway(
        gateway_factory, {"simulator": [sim], **users(writer_hash)},
        lines=[server_line("north", "127.0.0.1", port), client_line("deadline", "127.0.0.1", dead_port)],
        devices=[modbus_device("Dead", "deadline", [{"name": "X", "address": "hr:0", "type": "int16"}])],
        modbus_servers=[{"name": "mbs", "line": "north", "map": mapping}],
    )

    def exc_code(r):
        assert r.isError(), f"expected an exception response, got {r}"
        return r.exception_code

    async def main():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        c = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
        try:
            st = await opc.wait_line("north", lambda s: s["State"] == "Listening", 10, "Listening")
            assert c.connect()
            st = await opc.wait_line("north", lambda s: s["State"] == "Connected", 5, "Connected with a client")
            assert "127.0.0.1" in st["ActiveDevice"], st
            c2 = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
            try:
                assert c2.connect()
                st = await opc.wait_line("north", lambda s: len(s["ActiveDevice"].split(",")) == 2, 5,
                                         "two clients, comma-separated")
                r = c2.read_holding_registers(4, count=1, device_id=1)
                assert not r.isError() and r.registers == encode("int16", -1234), r
            finally:
                c2.close()
            await opc.wait_line("north", lambda s: len(s["ActiveDevice"].split(",")) == 1, 5, "one client left")

            r = c.read_holding_registers(0, count=11, device_id=1)
            assert not r.isError(), r
            expected = (encode("float32", 12.5) + encode("float32", -3.75, "little") + encode("int16", -1234)
                        + encode("int16", 7) + encode("int16", 20) + encode("uint32", 3000000000, "little")
                        + encode("int32", 5))
            assert r.registers == expected, (r.registers, expected)
            r = c.read_coils(0, count=2, device_id=1)
            assert not r.isError() and r.bits[:2] == [True, True], r
            r = c.read_discrete_inputs(0, count=1, device_id=1)
            assert not r.isError() and r.bits[0] is True, r
            r = c.read_input_registers(0, count=1, device_id=1)
            assert not r.isError() and r.registers == encode("int16", -1234), r

            # unmapped addresses: exception 2 (also when a request only partly covers mapped ones)
            assert exc_code(c.read_holding_registers(0, count=21, device_id=1)) == 2
            assert exc_code(c.read_holding_registers(100, count=1, device_id=1)) == 2
            assert exc_code(c.read_coils(50, count=1, device_id=1)) == 2
            assert exc_code(c.read_discrete_inputs(10, count=1, device_id=1)) == 2
            assert exc_code(c.read_input_registers(40, count=1, device_id=1)) == 2
            assert exc_code(c.write_register(100, 1, device_id=1)) == 2
            # a Bad tag (device never reached): exception 0x0B
            assert exc_code(c.read_holding_registers(20, count=1, device_id=1)) == 0x0B


            # writes land in the simulator tags
            r = c.write_registers(0, encode("float32", 99.5), device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "F", good_value(99.5), 5, "fc 16 float32")
            r = c.write_registers(2, encode("float32", -0.5, "little"), device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "FL", good_value(-0.5), 5, "fc 16 float32 CDAB")
            r = c.write_register(4, encode("int16", -5)[0], device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "I", good_value(-5), 5, "fc 6 int16")
            r = c.write_register(6, 30, device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "S", good_value(25.0), 5, "scaled: 30 * 0.5 + 10")
            r = c.write_registers(7, encode("uint32", 123456789, "little"), device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "U", good_value(123456789), 5, "uint32 CDAB")
            r = c.write_coil(0, False, device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "B", good_value(False), 5, "fc 5")
            r = c.write_coils(0, [True], device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "B", good_value(True), 5, "fc 15")
            r = c.write_coil(0, False, device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "B", good_value(False), 5, "fc 5")
            r = c.read_holding_registers(4, count=1, device_id=1)
            assert r.registers == encode("int16", -5), r

            # refused writes
            assert exc_code(c.write_register(5, 1, device_id=1)) == 2, "read-only tag"
            assert exc_code(c.write_coil(1, False, device_id=1)) == 2, "read-only bool"
            assert exc_code(c.write_register(0, 0x4000, device_id=1)) == 3, "half of a float32"
            assert exc_code(c.write_registers(9, encode("int32", 100000), device_id=1)) == 3, "beyond Int16"
            r = c.write_registers(9, encode("int32", -300), device_id=1)
            assert not r.isError(), r
            await opc.wait("Plc", "Small", good_value(-300), 5)
            await asyncio.sleep(0.3)
            for name, value in (("RO", 7), ("RB", True), ("F", 99.5)):
                dv = await opc.read("Plc", name)
                assert is_good(dv) and dv.Value.Value == value, f"{name} changed by a refused write: {show(dv)}"
            r = c.read_holding_registers(0, count=2, device_id=1)
            assert decode("float32", r.registers) == 99.5

            # a change made over OPC UA is served
            st = await opc.write("Plc", "I", 4321, VT.Int16)
            assert st.is_good(), st
            deadline = time.monotonic() + 5
            while True:
                r = c.read_holding_registers(4, count=1, device_id=1)
                if not r.isError() and r.registers == [4321] or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            assert r.registers == [4321], r
        finally:
            c.close()
        try:
            st = await opc.wait_line("north", lambda s: s["State"] == "Listening", 5, "Listening after the client left")
            assert st["ActiveDevice"] == "", st
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 9. malformed answers
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["garbage", "truncated", "silent"])
def test_malformed_peer(gateway_factory, client_cert, peers, behaviour):
    peer = peers.add(RawTcpPeer(behaviour))
    gw = start_gateway(gateway_factory, lines=[client_line("junk", "127.0.0.1", peer.port)],
                       devices=[modbus_device("Junk", "junk", [{"name": "A", "address": "hr:0", "type": "int16"},
                                                               {"name": "B", "address": "coil:0", "type": "bool"}],
                                              poll_ms=200, timeout_ms=500)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            for name in ("A", "B"):
                await opc.wait("Junk", name, status_is("BadNoCommunication"), 10, f"{behaviour} -> Bad_NoCommunication")
            # it keeps trying (reconnects) and stays Bad
            wait_deadline = time.monotonic() + 10
            while peer.connections < 2 and time.monotonic() < wait_deadline:
                await asyncio.sleep(0.1)
            assert peer.connections >= 2, f"no new connection after the broken one ({peer.connections})"
            assert peer.requests >= 1
            for name in ("A", "B"):
                dv = await opc.read("Junk", name)
                assert status_of(dv) == "BadNoCommunication", show(dv)
            # the gateway is fine
            assert gw.proc.poll() is None
            # /healthz still answers (503 is its way to report the disconnected line)
            code, body = http_get(gw, "/healthz")
            assert code == 200 or (code == 503 and "junk" in body), (code, body)
            ramp1 = await opc.read("Demo", "Ramp")
            assert is_good(ramp1)
            await opc.wait("Demo", "Ramp", lambda dv: is_good(dv) and dv.Value.Value != ramp1.Value.Value, 5,
                           "other sources keep running")
        finally:
            await opc.close()

    run(main())
    assert gw.proc.poll() is None
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# request planning: max_registers / max_bits / max_gap, poll groups, unit ids
# ----------------------------------------------------------------------------------------------


def _covers(req: dict, address: int) -> bool:
    count = req["count"] or 1
    return req["address"] is not None and req["address"] <= address < req["address"] + count


def test_request_packing_groups_and_unit_ids(gateway_factory, client_cert, peers):
    port = free_port()
    layout = {
        "hr": {0: [i * 3 for i in range(300)], 400: [400, 401, 402, 403, 404, 405], 1000: [1], 2000: [2]},
        "co": {0: [i % 3 == 0 for i in range(2112)]},
    }
    dev = peers.device(layout, port, name="plc")
    devices = [
        # 300 registers with at most 100 per request; 2100 coils (at most 2000 bits per request)
        modbus_device("Big", "plc", [{"name": "R", "address": "hr:0", "type": "int16", "count": 300},
                                     {"name": "Co", "address": "coil:0", "type": "bool", "count": 2100}],
                      unit_id=17, max_registers=100, poll_ms=300),
        modbus_device("Gap0", "plc", [{"name": "A", "address": "hr:400", "type": "int16"},
                                      {"name": "B", "address": "hr:405", "type": "int16"}], unit_id=2, poll_ms=300),
        modbus_device("Gap10", "plc", [{"name": "A", "address": "hr:400", "type": "int16"},
                                       {"name": "B", "address": "hr:405", "type": "int16"}],
                      unit_id=3, max_gap=10, poll_ms=300),
        modbus_device("Groups", "plc", [{"name": "Fast", "address": "hr:1000", "type": "int16", "group": "fast"},
                                        {"name": "Slow", "address": "hr:2000", "type": "int16"}],
                      unit_id=4, poll_ms=2000, groups=[{"name": "fast", "interval_ms": 100}]),
        # default max_registers (125): hr:0 and hr:200 may not be read in one request
        modbus_device("Def", "plc", [{"name": "A", "address": "hr:0", "type": "int16"},
                                     {"name": "B", "address": "hr:200", "type": "int16"}],
                      unit_id=5, max_gap=300, poll_ms=300),
    ]
    gw = start_gateway(gateway_factory, lines=[client_line("plc", "127.0.0.1", port)], devices=devices)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Big", "R299", good_value(897), 20)
            await opc.wait("Big", "Co2099", good_value(2099 % 3 == 0), 10)
            await opc.wait("Groups", "Slow", good_value(2), 10)
            for src in ("Gap0", "Gap10"):
                await opc.wait(src, "B", good_value(405), 10)
            await opc.wait("Def", "B", good_value(600), 10)
            names = [f"R{i}" for i in range(300)]
            bad = [(n, show(dv)) for n, dv in zip(names, await opc.read_many("Big", names))
                   if not (is_good(dv) and dv.Value.Value == int(n[1:]) * 3)]
            assert not bad, bad[:10]
            names = [f"Co{i}" for i in range(2100)]
            bad = [(n, show(dv)) for n, dv in zip(names, await opc.read_many("Big", names))
                   if not (is_good(dv) and dv.Value.Value == (int(n[2:]) % 3 == 0))]
            assert not bad, bad[:10]
            await asyncio.sleep(0.5)
            dev.clear_requests()
            await asyncio.sleep(2.0)
        finally:
            await opc.close()

    run(main())
    reqs = dev.requests()
    assert {r["unit"] for r in reqs} == {17, 2, 3, 4, 5}, "every request carries its device's unit id"
    big_regs = [r for r in reqs if r["unit"] == 17 and r["fc"] == 3]
    big_bits = [r for r in reqs if r["unit"] == 17 and r["fc"] == 1]
    assert big_regs and all(r["count"] <= 100 for r in big_regs), big_regs
    assert all(any(_covers(r, a) for r in big_regs) for a in range(300)), "all 300 registers polled"
    assert big_bits and all(r["count"] <= 2000 for r in big_bits), big_bits
    assert all(any(_covers(r, a) for r in big_bits) for a in (0, 1999, 2000, 2099))
    gap0 = [r for r in reqs if r["unit"] == 2]
    assert gap0 and not any(_covers(r, 400) and _covers(r, 405) for r in gap0), f"max_gap 0 joined 400 and 405: {gap0}"
    assert not any(_covers(r, 402) for r in gap0), gap0
    gap10 = [r for r in reqs if r["unit"] == 3]
    assert gap10 and all(_covers(r, 400) and _covers(r, 405) for r in gap10), f"max_gap 10: one request: {gap10}"
    default = [r for r in reqs if r["unit"] == 5]
    assert default and all(r["count"] <= 125 for r in default), default
    groups = [r for r in reqs if r["unit"] == 4]
    fast = sum(_covers(r, 1000) for r in groups)
    slow = sum(_covers(r, 2000) for r in groups)
    assert fast >= 10, f"group of 100 ms: {fast} polls in 2 s"
    assert slow <= 2, f"poll_ms 2000: {slow} polls in 2 s"
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# reconnect back-off
# ----------------------------------------------------------------------------------------------


def test_reconnect_backoff_doubles_up_to_max(gateway_factory, client_cert):
    # Ports bound but never listening: connects are refused, and no other process of the suite
    # can take them for the duration of the test (one CI run saw 29 attempts in 3 s instead of ≤ 6, which looks like a reset back-off; cause not confirmed).
    holders = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        holders.append(sock)
    dead1, dead2 = (h.getsockname()[1] for h in holders)
    tag = [{"name": "V", "address": "hr:0", "type": "int16"}]
    gw = start_gateway(
        gateway_factory,
        lines=[client_line("slow", "127.0.0.1", dead1, reconnect_delay_ms=100, reconnect_max_ms=800),
               client_line("flat", "127.0.0.1", dead2, reconnect_delay_ms=100, reconnect_max_ms=100)],
        devices=[modbus_device("S", "slow", tag), modbus_device("F", "flat", tag)],
    )

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("slow", lambda s: s["ReconnectCount"] >= 3, 10, "retrying")
            await asyncio.sleep(2.0)  # 100+200+400+800 ms: the back-off has reached its maximum
            s0, f0 = await opc.line("slow"), await opc.line("flat")
            await asyncio.sleep(3.0)
            s1, f1 = await opc.line("slow"), await opc.line("flat")
            slow = s1["ReconnectCount"] - s0["ReconnectCount"]
            flat = f1["ReconnectCount"] - f0["ReconnectCount"]
            assert 2 <= slow <= 6, f"back-off capped at 800 ms: {slow} attempts in 3 s"
            assert flat >= 15, f"reconnect_delay_ms = reconnect_max_ms = 100: {flat} attempts in 3 s"
            for st in (s1, f1):
                assert st["State"] in ("Disconnected", "Connecting"), st
                assert st["LastError"], st
            dv = await opc.read("S", "V")
            assert not is_good(dv), show(dv)
        finally:
            await opc.close()

    try:
        run(main())
    finally:
        for h in holders:
            h.close()
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# Modbus server: Bad values, serve_bad_values, unit ids, writes through to a device
# ----------------------------------------------------------------------------------------------


def test_modbus_server_bad_quality_unit_ids_and_device_writes(gateway_factory, client_cert, peers):
    dev_port, strict_port, lenient_port = free_ports(3)
    dev = peers.device({"hr": {0: [555, 0]}}, dev_port, name="plc")
    gw = start_gateway(
        gateway_factory,
        lines=[client_line("plc", "127.0.0.1", dev_port),
               server_line("strict", "127.0.0.1", strict_port),
               server_line("lenient", "127.0.0.1", lenient_port)],
        devices=[modbus_device("Dev", "plc", [{"name": "V", "address": "hr:0", "type": "uint16"},
                                              {"name": "W", "address": "hr:1", "type": "int16", "writable": True}],
                               poll_ms=200, timeout_ms=500)],
        modbus_servers=[
            {"name": "strict", "line": "strict", "unit_ids": [5], "map": [
                {"tag": "Dev/V", "address": "hr:0", "type": "uint16"},
                {"tag": "Dev/W", "address": "hr:1", "type": "int16"}]},
            {"name": "lenient", "line": "lenient", "serve_bad_values": True, "map": [
                {"tag": "Dev/V", "address": "hr:0", "type": "uint16"}]},
        ],
    )
    strict = ModbusTcpClient("127.0.0.1", port=strict_port, timeout=2, retries=0)
    lenient = ModbusTcpClient("127.0.0.1", port=lenient_port, timeout=2, retries=0)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Dev", "V", good_value(555), 15)
            assert strict.connect() and lenient.connect()
            r = strict.read_holding_registers(0, count=1, device_id=5)
            assert not r.isError() and r.registers == [555], r
            r = lenient.read_holding_registers(0, count=1, device_id=9)
            assert not r.isError() and r.registers == [555], "unit_ids = []: every unit id"
            # a unit id not in unit_ids gets no data
            try:
                r = strict.read_holding_registers(0, count=1, device_id=6)
                assert r.isError(), f"unit 6 is not served: {r}"
            except Exception as exc:  # noqa: BLE001 - no answer at all is fine too
                assert "555" not in repr(exc)
            strict.close()
            assert strict.connect()

            # a write through the server goes to the device (the tag's owning source)
            r = strict.write_register(1, 42, device_id=5)
            assert not r.isError(), r
            assert dev.get("hr", 1, 1) == [42]
            await opc.wait("Dev", "W", good_value(42), 2)

            dev.kill()
            await opc.wait("Dev", "V", status_is("BadNoCommunication"), 10)
            r = strict.read_holding_registers(0, count=1, device_id=5)
            assert r.isError() and r.exception_code == 0x0B, f"Bad tag: exception 0x0B: {r}"
            r = lenient.read_holding_registers(0, count=1, device_id=1)
            assert not r.isError() and r.registers == [555], f"serve_bad_values: the last value: {r}"
            # the owning source is a device that cannot be reached: exception 0x0B, "gateway
            # target device failed to respond" (a refusal by a reachable source would be 4)
            r = strict.write_register(1, 43, device_id=5)
            assert r.isError() and r.exception_code == 0x0B, f"unreachable source: exception 0x0B: {r}"
        finally:
            strict.close()
            lenient.close()
            await opc.close()

    run(main())
    no_panic(gw)


@pytest.mark.parametrize("host,v4,v6", [("*", True, False), ("ALL", True, False),
                                         ("[*]", False, True), ("[ALL]", False, True)])
def test_modbus_server_wildcard_hosts(gateway_factory, host, v4, v6):
    port = free_port6()
    while port_accepts(port):
        port = free_port6()
    sim = {"name": "Plc", "interval_ms": 100, "tags": [
        {"name": "Level", "type": "Int16", "waveform": "constant", "initial": 321}]}
    gw = start_gateway(
        gateway_factory, {"simulator": [sim]}, lines=[server_line("any", host, port)],
        modbus_servers=[{"name": "mbs", "line": "any", "map": [{"tag": "Plc/Level", "address": "hr:0", "type": "int16"}]}],
    )
    for addr, expect in (("127.0.0.1", v4), ("::1", v6)):
        c = ModbusTcpClient(addr, port=port, timeout=2, retries=0)
        try:
            ok = c.connect()
            assert ok == expect, f"host {host!r}: connect to {addr} {'refused' if expect else 'accepted'}"
            if ok:
                r = c.read_holding_registers(0, count=1, device_id=1)
                assert not r.isError() and r.registers == [321], r
        finally:
            c.close()
    no_panic(gw)


def test_modbus_server_protocol_limits(gateway_factory):
    """MODBUS Application Protocol V1.1b3 (the protocol the contract names), section 6: a quantity
    outside 1..125 registers / 1..2000 bits (writes: 1..123 registers, byte count = 2 x quantity)
    is exception 3, checked before the addresses; an unsupported function is exception 1. Every
    address used here is mapped, so exception 2 would be wrong. The connection stays usable."""
    port = free_port()
    sim = {"name": "Plc", "interval_ms": 1000, "tags": [
        {"name": "R", "type": "Int16", "waveform": "constant", "initial": 7, "count": 130, "writable": True},
        {"name": "C", "type": "Boolean", "waveform": "constant", "initial": True, "count": 2001, "writable": True},
    ]}
    mapping = [{"tag": f"Plc/R{i}", "address": f"hr:{i}", "type": "int16"} for i in range(130)]
    mapping += [{"tag": f"Plc/C{i}", "address": f"coil:{i}", "type": "bool"} for i in range(2001)]
    gw = start_gateway(gateway_factory, {"simulator": [sim]}, lines=[server_line("north", "127.0.0.1", port)],
                       modbus_servers=[{"name": "mbs", "line": "north", "map": mapping}])
    problems = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        # sanity: the largest legal requests work
        assert mb_read_registers(raw, 0, 125) == [7] * 125
        body = mb_call(raw, struct.pack(">BHH", 1, 0, 2000))
        assert body[1] == 250 and body[2:] == b"\xff" * 250, body[:8]
    for pdu, code, what in (
        (struct.pack(">BHH", 3, 0, 0), 3, "fc 3, quantity 0"),
        (struct.pack(">BHH", 3, 0, 126), 3, "fc 3, quantity 126"),
        (struct.pack(">BHH", 1, 0, 0), 3, "fc 1, quantity 0"),
        (struct.pack(">BHH", 1, 0, 2001), 3, "fc 1, quantity 2001"),
        (struct.pack(">BHHB", 16, 0, 0, 0), 3, "fc 16, quantity 0"),
        (struct.pack(">BHHB", 16, 0, 2, 2) + b"\x00\x07", 3, "fc 16, quantity 2 with byte count 2"),
        (bytes([0x08, 0x00, 0x00, 0x12, 0x34]), 1, "fc 8 (not served)"),
        (bytes([0x2B, 0x0E, 0x01, 0x00]), 1, "fc 0x2B (not served)"),
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            try:
                body = mb_call(raw, pdu, unit=1, tid=9)
                problems.append(f"{what}: answered {body.hex()}, expected exception {code}")
            except ModbusExceptionResponse as e:
                if e.code != code:
                    problems.append(f"{what}: exception {e.code}, expected {code}")
            except (ConnectionError, OSError) as e:
                problems.append(f"{what}: connection closed without an answer ({e!r}), expected exception {code}")
                continue
            try:
                assert mb_read_registers(raw, 0, 2) == [7, 7]
            except Exception as e:  # noqa: BLE001
                problems.append(f"{what}: the connection no longer serves ({e!r})")
    assert gw.proc.poll() is None
    no_panic(gw)
    assert not problems, "\n".join(problems)
