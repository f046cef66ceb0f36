"""Sparkplug B edge node ([mqtt.sparkplug], Eclipse Sparkplug 3.0) against a real broker (Debian's
mosquitto) and a Sparkplug host application made of paho-mqtt and the protobuf module generated from the
official sparkplug_b.proto (sparkplug_peer.py): births, aliases, seq, bdSeq and the NDEATH Will,
Rebirth, DCMD writes with roles, the primary host's STATE with historical replay, and the scale-out
setup of docs/scale-out.md (two gateways, one config file, two bridged brokers)."""

from __future__ import annotations

import time

from fxgate_testlib import PLANT_SIMULATOR, demo_simulator, free_ports
from modbus_peers import Opc, no_panic
from mqtt_peers import bridged_pair, wait_bridged
from sparkplug_peer import (BOOLEAN, DOUBLE, INT32, INT64, STRING, UINT32, command, decoded, properties,
                            state, value)
from test_mqtt import client, fast_sim, line, metric, metrics, run, start_gw, writer_user
from test_mqtt import mq, reader_hash, writer_hash  # noqa: F401 - fixtures

GROUP = "G"


def spb(node: str = "gw1", tags=("Demo/*", "Plant/*", "Fast/*"), **kw) -> dict:
    return {"group_id": GROUP, "edge_node_id": node, "tags": list(tags), **kw}


def of(msgs, kind: str, device: str | None = None, after: float = 0.0):
    return [m for m in msgs if m.kind == kind and (device is None or m.device == device) and m.t > after]


def wait_spb(sub, pred, timeout: float, what: str):
    return sub.wait_for(lambda _ms: pred(decoded(sub)), timeout, what)


def aliases(birth) -> dict[str, int]:
    return {m.name: m.alias for m in birth.payload.metrics}


def counter_series(msgs, alias: int) -> list[tuple[int, bool]]:
    """(value, is_historical) of the metric with `alias` in the DDATA messages, in arrival order."""
    return [(value(x), x.is_historical) for m in msgs if m.kind == "DDATA" for x in m.payload.metrics if x.alias == alias]


def assert_consecutive(values: list[int], what: str) -> None:
    fresh, seen = [], set()
    for v in values:
        if v not in seen:
            seen.add(v)
            fresh.append(v)
    bad = [(a, b) for a, b in zip(fresh, fresh[1:]) if b != a + 1]
    assert fresh and not bad, f"{what}: gaps or disorder {bad[:10]} in {fresh[:80]}"


def test_births_aliases_seq_and_the_death_will(gateway_factory, mq):  # noqa: F811
    port, = free_ports(1)
    mq.broker(port)
    sub = mq.subscriber(port, f"{'spBv1.0'}/#")
    sims = [demo_simulator(200), PLANT_SIMULATOR, fast_sim("Fast", 20)]
    gw = start_gw(gateway_factory, [line("broker", port)], [client("edge", "broker", sparkplug=spb())], simulators=sims)
    wait_spb(sub, lambda ms: len(of(ms, "DBIRTH")) >= 3, 15, "NBIRTH and three DBIRTHs")
    msgs = decoded(sub)
    nbirth = of(msgs, "NBIRTH")[0]
    assert nbirth.topic == f"spBv1.0/{GROUP}/NBIRTH/gw1" and nbirth.seq == 0
    bd = nbirth.metric("bdSeq")
    assert bd.datatype == INT64 and isinstance(value(bd), int)
    rebirth = nbirth.metric("Node Control/Rebirth")
    assert rebirth.datatype == BOOLEAN and value(rebirth) is False
    births = of(msgs, "DBIRTH")
    assert sorted(b.device for b in births) == ["Demo", "Fast", "Plant"]
    assert [b.seq for b in births] == [1, 2, 3], "the births continue the NBIRTH's seq"
    demo = next(b for b in births if b.device == "Demo")
    types = {m.name: m.datatype for m in demo.payload.metrics}
    assert types == {"Sine": DOUBLE, "Ramp": INT32, "Toggle": BOOLEAN, "Counter": UINT32, "Text": STRING, "Setpoint": DOUBLE}
    every_alias = [m.alias for b in births for m in b.payload.metrics]
    assert len(set(every_alias)) == len(every_alias) and 0 not in every_alias, "aliases are unique per node"
    for m in demo.payload.metrics:
        assert m.HasField("timestamp") and m.timestamp > 0
        assert properties(m)["Quality"] in (0, 0x80320000), f"{m.name}: Quality is an OPC UA status code"
    assert value(demo.metric("Setpoint")) == 0.0 or isinstance(value(demo.metric("Setpoint")), float)
    temp = next(b for b in births if b.device == "Plant").metric("Temp")
    props = properties(temp)
    assert (props["engUnit"], props["engLow"], props["engHigh"]) == ("°C", 0.0, 100.0)
    # Data by alias, seq +1 per message over the whole session, wrapping 255 → 0.
    wait_spb(sub, lambda ms: any(m.seq == 0 for m in ms if m.kind == "DDATA"), 20, "seq wrapping to 0")
    session = [m for m in decoded(sub) if m.kind in ("NBIRTH", "DBIRTH", "DDATA")]
    seqs = [m.seq for m in session]
    bad = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != (a + 1) % 256]
    assert not bad, f"seq must go up by one modulo 256: {bad[:5]}"
    ddata = of(session, "DDATA")
    assert all(not x.HasField("name") or x.name == "" for m in ddata for x in m.payload.metrics), "data goes by alias"
    fast_alias = aliases(next(b for b in births if b.device == "Fast"))["Counter"]
    assert_consecutive([v for v, _ in counter_series(ddata, fast_alias)], "Fast/Counter in DDATA")
    # kill -9: the broker publishes the Will, an NDEATH with the birth's bdSeq.
    t_kill = time.monotonic()
    gw.proc.kill()
    gw.proc.wait(10)
    death = wait_spb(sub, lambda ms: of(ms, "NDEATH", after=t_kill - 0.5), 10, "NDEATH (Will) after kill -9")[0]
    assert death.topic == f"spBv1.0/{GROUP}/NDEATH/gw1"
    assert value(death.metric("bdSeq")) == value(bd)


def test_rebirth_and_dcmd_writes_with_roles(gateway_factory, client_cert, mq, writer_hash, reader_hash):  # noqa: F811
    port, = free_ports(1)
    mq.broker(port)
    sub = mq.subscriber(port, "spBv1.0/#")
    host = mq.publisher(port)
    users = [writer_user(writer_hash), {"name": "reader", "password_hash": reader_hash, "roles": ["read"]}]
    mqtts = [client("edge", "broker", sparkplug=spb(tags=("Demo/*",), user="writer"))]
    gw = start_gw(gateway_factory, [line("broker", port)], mqtts, simulators=[demo_simulator(200)], users=users)
    wait_spb(sub, lambda ms: of(ms, "DBIRTH", "Demo"), 15, "DBIRTH")
    birth = of(decoded(sub), "DBIRTH", "Demo")[0]
    bd = value(of(decoded(sub), "NBIRTH")[0].metric("bdSeq"))
    alias = aliases(birth)

    # Rebirth: NBIRTH (seq 0, the same bdSeq: same session) and the DBIRTH again.
    t0 = time.monotonic()
    host.publish(f"spBv1.0/{GROUP}/NCMD/gw1", command([("Node Control/Rebirth", None, "boolean_value", True)]), qos=0)
    wait_spb(sub, lambda ms: of(ms, "DBIRTH", "Demo", after=t0), 10, "births after Rebirth")
    again = of(decoded(sub), "NBIRTH", after=t0)[0]
    assert again.seq == 0 and value(again.metric("bdSeq")) == bd

    async def go():
        opc = await Opc.connect(gw, client_cert)
        try:
            # DCMD by alias and by name: written through the store with the writer's roles.
            host.publish(f"spBv1.0/{GROUP}/DCMD/gw1/Demo", command([(None, alias["Setpoint"], "double_value", 42.5)]), qos=0)
            deadline = time.monotonic() + 10
            while (await opc.read("Demo", "Setpoint")).Value.Value != 42.5:
                assert time.monotonic() < deadline, "the DCMD by alias did not reach Demo/Setpoint"
                time.sleep(0.05)
            sub.wait_for(lambda _ms: any(value(x) == 42.5 for m in of(decoded(sub), "DDATA", "Demo") for x in m.payload.metrics
                                         if x.alias == alias["Setpoint"]), 10, "the written value in DDATA")
            host.publish(f"spBv1.0/{GROUP}/DCMD/gw1/Demo", command([("Setpoint", None, "double_value", 7.25)]), qos=0)
            deadline = time.monotonic() + 10
            while (await opc.read("Demo", "Setpoint")).Value.Value != 7.25:
                assert time.monotonic() < deadline, "the DCMD by name did not reach Demo/Setpoint"
                time.sleep(0.05)
            # Malformed and unknown commands: counted, nothing written, the node goes on.
            before = metric(metrics(gw), "fxgate_mqtt_decode_errors_total", "edge") or 0
            host.publish(f"spBv1.0/{GROUP}/DCMD/gw1/Demo", b"\xff\x00garbage", qos=0)
            host.publish(f"spBv1.0/{GROUP}/DCMD/gw1/Nope", command([("Setpoint", None, "double_value", 1.0)]), qos=0)
            host.publish(f"spBv1.0/{GROUP}/DCMD/gw1/Demo", command([("Setpoint", None, "string_value", "x")]), qos=0)
            deadline = time.monotonic() + 10
            while (metric(metrics(gw), "fxgate_mqtt_decode_errors_total", "edge") or 0) < before + 3:
                assert time.monotonic() < deadline, "bad commands are counted"
                time.sleep(0.1)
            assert (await opc.read("Demo", "Setpoint")).Value.Value == 7.25
        finally:
            await opc.close()

    run(go())
    no_panic(gw)
    gw.stop()

    # The same with a user without `write`: refused.
    mqtts = [client("edge", "broker", sparkplug=spb(tags=("Demo/*",), user="reader"))]
    t1 = time.monotonic()
    gw2 = start_gw(gateway_factory, [line("broker", port)], mqtts, simulators=[demo_simulator(200)], users=users)
    wait_spb(sub, lambda ms: of(ms, "DBIRTH", "Demo", after=t1), 15, "DBIRTH of the second gateway")

    async def refused():
        opc = await Opc.connect(gw2, client_cert)
        try:
            host.publish(f"spBv1.0/{GROUP}/DCMD/gw1/Demo", command([("Setpoint", None, "double_value", 99.0)]), qos=0)
            deadline = time.monotonic() + 10
            while "no `write` role" not in gw2.stderr_text:
                assert time.monotonic() < deadline, "the refusal is logged"
                time.sleep(0.1)
            dv = await opc.read("Demo", "Setpoint")
            assert dv.Value.Value != 99.0, "a user without `write` must not write"
        finally:
            await opc.close()

    run(refused())


def test_primary_host_offline_30_s_then_back_replays_history_in_order(gateway_factory, mq):  # noqa: F811
    port, = free_ports(1)
    mq.broker(port)
    host = mq.publisher(port)
    host.publish("spBv1.0/STATE/scada", state(True), qos=1, retain=True)
    sub = mq.subscriber(port, "spBv1.0/#")
    mqtts = [client("edge", "broker", sparkplug=spb(tags=("Fast/*",), primary_host_id="scada"))]
    start_gw(gateway_factory, [line("broker", port)], mqtts, simulators=[fast_sim("Fast", 50)])
    wait_spb(sub, lambda ms: len(of(ms, "DDATA")) >= 20, 15, "data while the host is online")
    fast = aliases(of(decoded(sub), "DBIRTH", "Fast")[0])["Counter"]

    host.publish("spBv1.0/STATE/scada", state(False), qos=1, retain=True)
    t_off = time.monotonic()
    time.sleep(30)
    quiet = [m for m in decoded(sub) if m.t > t_off + 1.0]
    assert not quiet, f"published while the primary host was offline: {[m.topic for m in quiet][:5]}"

    t_on = time.monotonic()
    host.publish("spBv1.0/STATE/scada", state(True), qos=1, retain=True)
    # Births first, then what was kept (historical), then live data.
    wait_spb(sub, lambda ms: sum(1 for v, h in counter_series([m for m in ms if m.t > t_on], fast) if not h) >= 10, 20,
             "live data after the replay")
    after = [m for m in decoded(sub) if m.t > t_on]
    assert [m.kind for m in after[:2]] == ["NBIRTH", "DBIRTH"], f"births come first: {[m.kind for m in after[:4]]}"
    assert [m.seq for m in after[:2]] == [0, 1]
    series = counter_series(after, fast)
    historical = [v for v, h in series if h]
    assert len(historical) >= 500, f"30 s at 50 ms kept about 600 values, got {len(historical)} marked historical"
    first_live = next(i for i, (_, h) in enumerate(series) if not h)
    assert all(h for _, h in series[:first_live]) and not any(h for _, h in series[first_live:]), \
        "the replay is marked historical and comes before live data"
    before = counter_series([m for m in decoded(sub) if m.t <= t_on], fast)
    assert_consecutive([v for v, _ in before] + [v for v, _ in series], "Fast/Counter across the host's absence")


def test_a_lost_source_is_a_ddeath_and_its_return_a_dbirth(gateway_factory, mq):  # noqa: F811
    """A device's source lost (here the broker its tags come from): DDEATH on the Sparkplug side, the
    other devices go on; its first value back comes as a DBIRTH with every metric, then DDATA again."""
    field_port, spb_port = free_ports(2)
    field = mq.broker(field_port, name="field")
    mq.broker(spb_port, name="spb")
    sub = mq.subscriber(spb_port, "spBv1.0/#")
    tags = [{"name": "Temp", "topic": "field/temp", "type": "Double", "payload": "raw"}]
    mqtts = [client("field", "fieldline", tags),
             client("edge", "spbline", sparkplug=spb(tags=("field/*", "Fast/*")))]
    start_gw(gateway_factory, [line("fieldline", field_port), line("spbline", spb_port)], mqtts,
             simulators=[fast_sim("Fast", 100)])
    field.wait_subscribed("fxgate-field", ["field/temp"])
    wait_spb(sub, lambda ms: len(of(ms, "DBIRTH")) >= 2, 15, "the DBIRTHs of field and Fast")
    temp = aliases(of(decoded(sub), "DBIRTH", "field")[0])["Temp"]
    src = mq.publisher(field_port)
    src.publish("field/temp", "21.5")
    wait_spb(sub, lambda ms: any(x.alias == temp and value(x) == 21.5 for m in of(ms, "DDATA", "field") for x in m.payload.metrics),
             10, "Temp = 21.5 in a DDATA")

    t_lost = time.monotonic()
    field.kill()
    wait_spb(sub, lambda ms: of(ms, "DDEATH", "field", t_lost), 10, "DDEATH of the device whose source is lost")
    death = of(decoded(sub), "DDEATH", "field", t_lost)[0]
    assert death.topic == f"spBv1.0/{GROUP}/DDEATH/gw1/field" and death.seq is not None and death.payload.timestamp > 0
    last = [x for m in of(decoded(sub), "DDATA", "field", t_lost) for x in m.payload.metrics if x.alias == temp]
    assert last and properties(last[-1])["Quality"] == 0x80310000, "the data before the death says Bad_NoCommunication"
    assert not of(decoded(sub), "DDEATH", "Fast"), "only the lost device dies"
    t_dead = time.monotonic()
    wait_spb(sub, lambda ms: len(of(ms, "DDATA", "Fast", t_dead)) >= 5, 10, "the other device goes on")
    assert not of(decoded(sub), "DDATA", "field", death.t), "no data for a dead device"

    mark = field.log_mark()
    field.start()
    field.wait_subscribed("fxgate-field", ["field/temp"], timeout=15, since=mark)
    t_back = time.monotonic()
    src = mq.publisher(field_port)
    src.publish("field/temp", "23.25")
    wait_spb(sub, lambda ms: of(ms, "DBIRTH", "field", t_back), 10, "DBIRTH of the device when its source is back")
    birth = of(decoded(sub), "DBIRTH", "field", t_back)[0]
    m = birth.metric("Temp")
    assert (m.alias, value(m), properties(m)["Quality"]) == (temp, 23.25, 0), "the birth carries the value that came back"
    seqs = [x.seq for x in decoded(sub) if x.kind != "NBIRTH" and x.t > t_lost]
    assert all((b - a) % 256 == 1 for a, b in zip(seqs, seqs[1:])), f"one seq across data, death and birth: {seqs[:40]}"
    src.publish("field/temp", "24.0")
    wait_spb(sub, lambda ms: any(x.alias == temp and value(x) == 24.0 for m in of(ms, "DDATA", "field", t_back) for x in m.payload.metrics),
             10, "DDATA again after the DBIRTH")


def test_scale_out_two_gateways_one_config_two_bridged_brokers(gateway_factory, mq):  # noqa: F811
    a_port, b_port = free_ports(2)
    a, b = bridged_pair(mq.tmp / "bridge", a_port, b_port, qos=1)
    mq.add(b).start()
    mq.add(a).start()
    sub_a = mq.subscriber(a_port, ["spBv1.0/#", "site/#", "bridge/#"])
    sub_b = mq.subscriber(b_port, ["spBv1.0/#", "site/#", "bridge/#"])
    wait_bridged(a_port, sub_b)
    wait_bridged(b_port, sub_a)
    # One configuration for both: identity is {node} (FXGATE_NODE here, the host name by default).
    mqtt = client("site", "cluster", client_id="fxgate-{node}",
                  publish=[{"tags": ["Fast/*"], "topic": "site/{node}/{path}"}],
                  sparkplug=spb("{node}", tags=("Demo/*",)))
    gws = []
    for node, port in (("gw1", a_port), ("gw2", b_port)):
        gw = gateway_factory.create({"simulator": [demo_simulator(200), fast_sim("Fast", 100)],
                                     "line": [line("cluster", port)], "mqtt": [mqtt]}, name=node)
        gw.env["FXGATE_NODE"] = node
        gws.append(gw.start())
    for sub, where in ((sub_a, "broker A"), (sub_b, "broker B")):
        for node in ("gw1", "gw2"):
            wait_spb(sub, lambda ms, n=node: of([m for m in ms if f"/{n}" in m.topic], "DDATA"), 15,
                     f"{node}'s Sparkplug data on {where}")
            sub.wait_for(lambda ms, n=node: any(m.topic == f"site/{n}/Fast/Counter" for m in ms), 15,
                         f"{node}'s JSON data on {where}")
        births = {m.topic for m in decoded(sub) if m.kind in ("NBIRTH", "DBIRTH")}
        assert births >= {f"spBv1.0/{GROUP}/NBIRTH/gw1", f"spBv1.0/{GROUP}/NBIRTH/gw2",
                          f"spBv1.0/{GROUP}/DBIRTH/gw1/Demo", f"spBv1.0/{GROUP}/DBIRTH/gw2/Demo"}, f"{where}: {births}"
    for gw in gws:
        no_panic(gw)
