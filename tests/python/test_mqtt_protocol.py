"""MQTT protocol details against Debian's mosquitto: persistent sessions (clean_session = false) across
lost connections, through a packet-aware proxy (mqtt_cut_proxy) that cuts the connection at an exact
point of the QoS 2 handshake (MQTT 3.1.1 §4.4, MQTT 5 §4.4: a resumed session completes what was in
flight with the original packet ids, so a QoS 2 message is delivered exactly once whichever packet
was lost); an MQTT 5 broker's Receive Maximum, Sparkplug births included; and MQTT 5 PUBACK reason
codes (a message the broker refuses is counted and logged, and a write whose command it refused is
answered Bad). The subscribers (paho-mqtt), the request/response topic and the Sparkplug host show what
the broker delivered; the proxy shows what fxgate sent."""

from __future__ import annotations

import asyncio
import json

import pytest

from asyncua import ua

from fxgate_testlib import free_ports, hash_password
from modbus_peers import Opc, fxgate_log, is_good, no_panic
from sparkplug_peer import decoded
from mqtt_cut_proxy import DOWN, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, UP, CutProxy
from test_mqtt import (assert_in_order_without_gaps, client, connected, fast_sim, json_of, line, metric, metrics,
                       mq, pub, start_gw, until, wait_for, wait_message, writer_user)  # noqa: F401 - mq: a fixture

WRITER_PW = "wr1ter pw!"


@pytest.fixture(scope="module")
def writer_hash():
    return hash_password(WRITER_PW)


@pytest.fixture
def proxy_ports(mq):
    bport, pport = free_ports(2)
    proxy = CutProxy(pport, bport)
    mq.add(proxy)
    return bport, pport, proxy


def resumed_lines(gw) -> int:
    return fxgate_log(gw).count("MQTT session resumed")


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_qos2_publishes_resume_with_their_packet_ids(gateway_factory, client_cert, mq, proxy_ports, version):
    """Two cuts: the broker's PUBREC of one message lost (fxgate sends that PUBLISH again, DUP, same
    id), then the PUBCOMP of another (the broker has delivered it: fxgate sends the PUBREL again with
    its id, not the message). The subscriber gets every counter value exactly once, in order."""
    bport, pport, proxy = proxy_ports
    broker = mq.broker(bport)
    sub = mq.subscriber(bport, "ses/#", client_id="ses-sub", qos=2)
    proxy.cut(DOWN, PUBREC, 5)
    proxy.cut(DOWN, PUBCOMP, 15)
    publish = [{"tags": ["Fast/Counter"], "mode": "per_tag", "topic": "ses/{path}"}]
    gw = start_gw(gateway_factory, [line("broker", pport)],
                  [client("ses", "broker", publish=publish, publish_qos=2, clean_session=False, version=version)],
                  simulators=[fast_sim(interval_ms=50)])
    topic = "ses/Fast/Counter"

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await until(lambda: len(proxy.cuts()) == 2, 20, "both cuts", lambda: str(proxy.seen()[-10:]))
            await opc.wait_line("broker", connected, 10, "reconnected after the second cut")
            last = max(json_of(m)["v"] for m in sub.on(topic))
            await wait_for(sub, lambda ms: any(json_of(m)["v"] >= last + 20 for m in ms if m.topic == topic), 15,
                           "20 more values after the second cut")
        finally:
            await opc.close()

    run(main())
    values = [json_of(m)["v"] for m in sub.on(topic)]
    assert len(values) == len(set(values)), f"QoS 2 delivered a value twice: {sorted(v for v in values if values.count(v) > 1)}"
    assert_in_order_without_gaps(values, "Fast/Counter across two cut connections")

    seen = proxy.seen()
    rec_cut, comp_cut = proxy.cuts()
    # After the lost PUBREC: the next connection starts with that PUBLISH again, DUP, same id.
    again = [p for p in seen if p.conn == rec_cut.conn + 1 and p.direction == UP and p.pkid == rec_cut.pkid]
    assert again and again[0].kind == PUBLISH and again[0].dup, f"resumed with {again[:3]} (cut at {rec_cut})"
    # After the lost PUBCOMP: the PUBREL again with its id, and no new PUBLISH of that message.
    again = [p for p in seen if p.conn == comp_cut.conn + 1 and p.direction == UP and p.pkid == comp_cut.pkid]
    assert again and again[0].kind == PUBREL, f"resumed with {again[:3]} (cut at {comp_cut})"
    assert resumed_lines(gw) == 2, "two resumed sessions in fxgate's log"
    assert "Reused message ID" not in broker.log, "fxgate reused the id of a message the broker still held"
    assert "did not keep the session" not in fxgate_log(gw)
    no_panic(gw)


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_a_redelivered_qos2_request_is_carried_out_once(gateway_factory, client_cert, mq, proxy_ports, writer_hash, version):
    """fxgate's PUBREC of a QoS 2 write request is lost: the broker resumes the session by sending
    the request again (DUP, same id). It is carried out once: one write, one answer."""
    bport, pport, proxy = proxy_ports
    mq.broker(bport)
    sub = mq.subscriber(bport, "resp/#", client_id="resp-sub", qos=2)
    p = mq.publisher(bport)
    proxy.cut(UP, PUBREC, 1)
    tag = [{"name": "T", "topic": "rq/t", "type": "Double", "payload": "raw"}]
    gw = start_gw(gateway_factory, [line("broker", pport)],
                  [client("ops", "broker", tag, request_topic="req/ops", response_topic="resp/ops", user="writer",
                          subscribe_qos=2, publish_qos=2, clean_session=False, version=version)],
                  users=[writer_user(writer_hash)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("broker", connected, 10, "Connected")
            await until(lambda: any(p.direction == DOWN and p.kind == SUBACK for p in proxy.seen()), 5, "the SUBACK")
            await pub(p, "req/ops", json.dumps({"id": 1, "tag": "Demo/Setpoint", "v": 7.5}), qos=2)
            await until(lambda: proxy.cuts(), 10, "the cut at fxgate's PUBREC")
            m = await wait_message(sub, lambda m: m.topic == "resp/ops", 15, "the answer")
            assert json_of(m) == {"id": 1, "tag": "Demo/Setpoint", "status": "Good"}, json_of(m)
            await opc.wait("Demo", "Setpoint", lambda d: is_good(d) and d.Value.Value == 7.5, 5, "Setpoint=7.5")
            cut = proxy.cuts()[0]
            await until(lambda: any(p.conn == cut.conn + 1 and p.direction == UP and p.kind == PUBCOMP and p.pkid == cut.pkid
                                    for p in proxy.seen()), 10, "the redelivered request completed", lambda: str(proxy.seen()))
            redelivered = [p for p in proxy.seen() if p.conn == cut.conn + 1 and p.direction == DOWN and p.pkid == cut.pkid]
            assert redelivered and redelivered[0].kind == PUBLISH and redelivered[0].dup, redelivered
            # A second answer would be sent at once; give it time to show.
            await asyncio.sleep(1.5)
        finally:
            await opc.close()

    run(main())
    answers = [json_of(m) for m in sub.on("resp/ops")]
    assert answers == [{"id": 1, "tag": "Demo/Setpoint", "status": "Good"}], f"the request was carried out {len(answers)} times: {answers}"
    no_panic(gw)


def test_sparkplug_births_keep_within_the_brokers_receive_maximum(gateway_factory, mq, proxy_ports):
    """mosquitto announces Receive Maximum 3 to MQTT 5 clients (max_inflight_messages 3); a client
    must not have more QoS 1/2 PUBLISHes unacknowledged (MQTT 5 §4.9; HiveMQ and EMQX disconnect one
    that does). An edge node with eight devices at QoS 1 sends NBIRTH and eight DBIRTHs at connect:
    they wait for the window like everything else. The proxy in between counts what was in flight;
    the host gets every birth, in seq order, then data, and nothing is refused."""
    port, pport, proxy = proxy_ports
    mq.broker(port, extra=["max_inflight_messages 3"])
    sub = mq.subscriber(port, "spBv1.0/#", qos=1)
    devices = [f"D{i}" for i in range(8)]
    sp = {"group_id": "G", "edge_node_id": "gw1", "tags": [f"{d}/*" for d in devices], "qos": 1}
    gw = start_gw(gateway_factory, [line("broker", pport)], [client("edge", "broker", sparkplug=sp, version="5")],
                  simulators=[fast_sim(d, 100) for d in devices])
    sub.wait_for(lambda _ms: {m.device for m in decoded(sub) if m.kind == "DDATA"} == set(devices), 20,
                 "DDATA from every device")
    msgs = [m for m in decoded(sub) if m.kind in ("NBIRTH", "DBIRTH", "DDATA")]
    births = [m for m in msgs if m.kind != "DDATA"]
    assert [m.kind for m in births[:9]] == ["NBIRTH"] + ["DBIRTH"] * 8, [m.kind for m in msgs[:12]]
    assert sorted(m.device for m in births[1:9]) == devices
    seqs = [m.seq for m in msgs]
    assert seqs[:9] == list(range(9)) and all(b == (a + 1) % 256 for a, b in zip(seqs, seqs[1:])), seqs[:40]
    assert "window=2" in fxgate_log(gw), "the session took the broker's Receive Maximum"
    assert 1 <= proxy.most_in_flight() <= 3, f"{proxy.most_in_flight()} QoS 1 publishes in flight, Receive Maximum 3"
    assert (metric(metrics(gw), "fxgate_mqtt_refused_messages_total", "edge") or 0) == 0
    no_panic(gw)


def test_messages_the_broker_refuses_are_counted_and_writes_answered_bad(gateway_factory, client_cert, mq, writer_hash,
                                                                         tmp_path):
    """An ACL lets anonymous clients publish under ok/# only. MQTT 5 mosquitto answers a PUBLISH to
    denied/... with PUBACK 0x87 (not authorized) and drops it: fxgate counts it, says so in a
    rate-limited warning, does not send it again (the buffer empties), and answers a write whose
    command was refused Bad_UserAccessDenied; messages to ok/# go on."""
    port, = free_ports(1)
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite ok/#\ntopic read denied/#\n")
    mq.broker(port, extra=[f"acl_file {acl}"])
    sub = mq.subscriber(port, "#", qos=1)
    tags = [{"name": "Cmd", "topic": "ok/state", "type": "Double", "payload": "raw", "command_topic": "denied/cmd"},
            {"name": "OkCmd", "topic": "ok/state2", "type": "Double", "payload": "raw", "command_topic": "ok/cmd"}]
    publish = [{"tags": ["Fast/Counter"], "mode": "per_tag", "topic": "denied/{path}"},
               {"tags": ["Fast/Counter"], "mode": "per_tag", "topic": "ok/{path}"}]
    gw = start_gw(gateway_factory, [line("broker", port)],
                  [client("acl", "broker", tags, publish=publish, publish_qos=1, version="5")],
                  simulators=[fast_sim(interval_ms=100)], users=[writer_user(writer_hash)])

    async def main():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        try:
            await opc.wait_line("broker", connected, 10, "Connected")
            await wait_for(sub, lambda ms: sum(m.topic == "ok/Fast/Counter" for m in ms) >= 10, 10, "10 values on ok/")
            await until(lambda: (metric(metrics(gw), "fxgate_mqtt_refused_messages_total", "acl") or 0) >= 10, 5,
                        "the refused messages counted")
            res = await opc.write("acl", "Cmd", 5.0, ua.VariantType.Double)
            assert res.value == ua.StatusCodes.BadUserAccessDenied, res
            res = await opc.write("acl", "OkCmd", 6.0, ua.VariantType.Double)
            assert res.is_good(), res
            await wait_message(sub, lambda m: m.topic == "ok/cmd", 5, "the allowed command")
            buffered = metric(metrics(gw), "fxgate_mqtt_buffered_messages", "acl") or 0
            assert buffered < 5, f"refused messages are not kept to be sent again: {buffered} buffered"
        finally:
            await opc.close()

    run(main())
    assert not [m for m in sub.messages if m.topic.startswith("denied/")], "the broker delivered nothing under denied/"
    log = fxgate_log(gw)
    assert "MQTT broker refused messages" in log and "not authorized (135)" in log, log[-2000:]
    assert log.count("MQTT broker refused messages") <= 2, "the warning is rate-limited"
    no_panic(gw)


def run(coro):
    return asyncio.run(coro)


def test_proxy_splits_packets_across_reads():
    """The proxy's framing (what the tests above rely on): remaining lengths of 1 to 3 bytes, split anywhere."""
    from mqtt_cut_proxy import _pkid, split_packets

    big = bytes([0x32]) + bytes([0x80 | (300 & 0x7F), 300 >> 7]) + (3).to_bytes(2, "big") + b"a/b" + (513).to_bytes(2, "big") + b"x" * 293
    stream = bytes([0x62, 2, 0, 9]) + big + bytes([0xD0, 0])
    buf, out = bytearray(), []
    for i in range(0, len(stream), 7):
        buf += stream[i:i + 7]
        out += split_packets(buf)
    assert [p[0] >> 4 for p in out] == [PUBREL, PUBLISH, 13] and not buf
    assert [_pkid(p) for p in out] == [9, 513, None]
