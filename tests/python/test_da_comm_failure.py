"""Quality is data (OPC 10000-8 Annex A): a tag whose source is lost reads COMM_FAILURE through
the DA item API and Bad_NoCommunication over OPC UA, with the last good value and its timestamp;
it turns Good again when the source comes back. The source is a Modbus device on a line, played
by a pymodbus server in its own process (killed and restarted). Its tags carry DA metadata from
the config (AnalogItem, TwoStateDiscrete), which the DA properties must show."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time

from fxgate_testlib import TAGS_NS_URI, GatewayFactory, connect, free_ports, port_accepts, safe_disconnect

from test_da_api import get_item, tags_ns_index

DA_GOOD = 0xC0
DA_COMM_FAILURE = 0x18  # Bad, sub-status 6 (A.33: Bad_NoCommunication <-> COMM_FAILURE)

DEVICE = textwrap.dedent(
    """
    import asyncio, sys
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import StartAsyncTcpServer

    port = int(sys.argv[1])
    # pymodbus blocks are 1-based: protocol address 0 is index 1.
    hr = ModbusSequentialDataBlock(1, [1234, 1] + [0] * 98)
    ctx = ModbusServerContext(devices=ModbusDeviceContext(hr=hr), single=True)
    asyncio.run(StartAsyncTcpServer(context=ctx, address=("127.0.0.1", port)))
    """
)


def start_device(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", DEVICE, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while not port_accepts(port):
        if proc.poll() is not None:
            raise AssertionError(f"pymodbus device exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        assert time.monotonic() < deadline, "pymodbus device did not start"
        time.sleep(0.1)
    return proc


def stop_device(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)


def wait_item(gw, item_id: str, pred, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        res = get_item(gw, item_id)
        if pred(res):
            return res
        assert time.monotonic() < deadline, f"{item_id} never matched; last {res}"
        time.sleep(0.2)


def test_lost_modbus_device_reads_comm_failure_then_recovers(tmp_path, client_cert):
    (dev_port,) = free_ports(1)
    device = start_device(dev_port)
    factory = GatewayFactory(tmp_path)
    try:
        gw = factory.start({
            "line": [{"name": "plc", "host": "127.0.0.1", "port": dev_port, "reconnect_delay_ms": 200,
                      "reconnect_max_ms": 500, "connect_timeout_ms": 1000}],
            "device": [{
                "name": "Tank", "line": "plc", "protocol": "modbus", "poll_ms": 200, "timeout_ms": 500,
                "tag": [
                    {"name": "Level", "address": "hr:0", "type": "uint16", "scale": 0.1, "eu_units": "m",
                     "eu_low": 0.0, "eu_high": 200.0, "description": "Tank level"},
                    {"name": "Pump", "address": "hr:1.0", "type": "bool", "open_label": "Off",
                     "close_label": "On"},
                ],
            }],
        })
        ns = tags_ns_index(gw, client_cert)
        level = f"ns-{ns};s-Tank/Level"
        good = wait_item(gw, level, lambda r: r["quality"] == DA_GOOD)
        assert good["value"] == 123.4 and good["canonical_type"] == "VT_R8", good

        props = {p["id"]: p["value"] for p in get_item(gw, level, properties=True)["properties"]}
        assert props[7] == 1, props  # OPC_ANALOG: EURange exists
        assert props[100] == "m" and props[102] == 200.0 and props[103] == 0.0, props
        assert props[101] == "Level" and props[614] == "Tank level", props  # A.4.2: 101 DisplayName, 614 Description
        assert props[6] == 200.0, props  # scan rate = poll interval
        pump = {p["id"]: p["value"] for p in get_item(gw, f"ns-{ns};s-Tank/Pump", properties=True)["properties"]}
        assert pump[106] == "On" and pump[107] == "Off", pump

        stop_device(device)
        lost = wait_item(gw, level, lambda r: r["quality"] != DA_GOOD)
        assert lost["quality"] == DA_COMM_FAILURE, lost
        assert "comm" in lost["quality_text"].lower(), lost
        assert lost["value"] == 123.4, "the last good value must be kept"
        assert lost["timestamp"] == good["timestamp"], "the timestamp must stay the last good one"

        async def opcua_view():
            client = await connect(gw, client_cert)
            try:
                idx = await client.get_namespace_index(TAGS_NS_URI)
                dv = await client.get_node(f"ns={idx};s=Tank/Level").read_data_value(raise_on_bad_status=False)
                state = await client.get_node(f"ns={idx};s=fxgate/Lines/plc/State").read_data_value()
                return dv, state
            finally:
                await safe_disconnect(client)

        dv, state = asyncio.run(opcua_view())
        assert dv.StatusCode.name == "BadNoCommunication", dv
        assert dv.Value.Value == 123.4, dv
        assert state.Value.Value in ("Disconnected", "Connecting"), state

        device = start_device(dev_port)
        back = wait_item(gw, level, lambda r: r["quality"] == DA_GOOD, timeout=15)
        assert back["value"] == 123.4, back
        dv, state = asyncio.run(opcua_view())
        assert dv.StatusCode.is_good() and state.Value.Value == "Connected", (dv, state)
    finally:
        stop_device(device)
        factory.stop_all()
