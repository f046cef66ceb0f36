"""OPC UA PubSub over UDP (`[[pubsub]]`, UADP): two fxgate processes exchanging DataSets in
all three field encodings, unicast and multicast; the wire format checked by an independent
decoder (uadp_reference.py, written from Part 14's tables); asyncua's own PubSub stack as
publisher and as subscriber; the reader's timeout turning its tags Bad_NoCommunication with the
last value, and recovery; malformed and foreign datagrams counted and dropped."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
from asyncua import ua

import uadp_reference as ref
from fxgate_testlib import GatewayFactory, connect, free_port, safe_disconnect, tags_ns
from pubsub_peers import VT, start_publisher, start_subscriber

PUBLISHER_ID = 1001
GROUP_ID = 5
GROUP_VERSION = 77
# Tags of constant value, so what arrives can be compared exactly, plus a counter.
SOURCE = {
    "name": "Src",
    "interval_ms": 200,
    "tags": [
        {"name": "D", "type": "Double", "waveform": "constant", "initial": 1.5},
        {"name": "I", "type": "Int32", "waveform": "constant", "initial": -7},
        {"name": "S", "type": "String", "waveform": "constant", "initial": "abc"},
        {"name": "B", "type": "Boolean", "waveform": "constant", "initial": True},
        {"name": "Counter", "type": "UInt32", "waveform": "counter"},
    ],
}
PATHS = [f"Src/{t['name']}" for t in SOURCE["tags"]]
FIELDS = [{"name": t["name"], "type": t["type"]} for t in SOURCE["tags"]]
EXPECTED = {"D": 1.5, "I": -7, "S": "abc", "B": True}
# DataSetWriterId → encoding; the readers are named after the encoding.
WRITERS = {1: "variant", 2: "raw", 3: "datavalue"}
READER = {1: "InV", 2: "InR", 3: "InDV"}


def publisher_config(destination: str, interface: str | None = None) -> dict:
    conn = {
        "name": "Pub",
        "publisher_id": PUBLISHER_ID,
        "writer_group": [{
            "name": "WG",
            "writer_group_id": GROUP_ID,
            "publishing_interval_ms": 10,
            "group_version": GROUP_VERSION,
            "destination": destination,
            "writer": [{"name": f"W{i}", "data_set_writer_id": i, "encoding": e, "tags": PATHS}
                       for i, e in WRITERS.items()],
        }],
    }
    if interface:
        conn["interface"] = interface
    return {"simulator": [SOURCE], "pubsub": [conn]}


def subscriber_config(listen: str, interface: str | None = None, timeout_ms: int = 300, **reader_extra) -> dict:
    conn = {
        "name": "Sub",
        "listen": listen,
        "reader": [
            {"name": READER[i], "publisher_id": PUBLISHER_ID, "writer_group_id": GROUP_ID, "data_set_writer_id": i,
             "message_receive_timeout_ms": timeout_ms, "fields": FIELDS, **reader_extra}
            for i in WRITERS
        ],
    }
    if interface:
        conn["interface"] = interface
    return {"pubsub": [conn]}


async def read(client, path: str) -> ua.DataValue:
    ns = await tags_ns(client)
    return await client.get_node(ua.NodeId(path, ns)).read_data_value(raise_on_bad_status=False)


async def wait_for(client, path: str, pred, timeout: float = 10.0) -> ua.DataValue:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await read(client, path)
        if pred(last):
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path}: condition not met within {timeout} s; last {last}")


def utc(d: datetime) -> datetime:
    """asyncua's timestamps as aware UTC datetimes."""
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def good(dv: ua.DataValue) -> bool:
    return dv.StatusCode.is_good()


async def counters(client) -> dict:
    names = ["State", "ReadersInError", "ReceivedNetworkMessages", "DecodeErrors", "DroppedMessages",
             "SentNetworkMessages"]
    return {n: (await read(client, f"fxgate/PubSub/Sub/{n}")).Value.Value for n in names}


def test_two_gateways_all_encodings_timeout_and_recovery(tmp_path, client_cert):
    """fxgate A publishes five tags with three writers (Variant, RawData, DataValue) every 10 ms
    to fxgate B; B's readers hold exactly A's values; the DataValue reader carries A's source
    timestamps unchanged. A stopped: B's tags turn Bad_NoCommunication within the timeout with
    their last values, the connection's State is Error; A back: Good and Operational again."""
    port = free_port()
    factory = GatewayFactory(tmp_path)
    b = factory.start(subscriber_config(f"opc.udp://127.0.0.1:{port}"))
    a = factory.start(publisher_config(f"opc.udp://127.0.0.1:{port}"))

    async def main():
        ca = await connect(a, client_cert)
        cb = await connect(b, client_cert)
        try:
            for reader in READER.values():
                for name, want in EXPECTED.items():
                    dv = await wait_for(cb, f"{reader}/{name}", good)
                    assert dv.Value.Value == want, f"{reader}/{name}: {dv.Value.Value!r}, A has {want!r}"
            # The counter moves every 200 ms: each value A holds reaches B's readers; the
            # DataValue reader has A's own source timestamp, the others the message's.
            compared = {r: 0 for r in READER.values()}
            for _ in range(10):
                src = await read(ca, "Src/Counter")
                for reader in READER.values():
                    dv = await wait_for(cb, f"{reader}/Counter", lambda d: d.Value.Value >= src.Value.Value)
                    if dv.Value.Value == src.Value.Value:
                        compared[reader] += 1
                        if reader == "InDV":
                            assert dv.SourceTimestamp == src.SourceTimestamp, (reader, dv, src)
                        else:
                            assert src.SourceTimestamp <= dv.SourceTimestamp <= src.SourceTimestamp + timedelta(seconds=1)
                await asyncio.sleep(0.25)
            assert all(n >= 3 for n in compared.values()), f"too few same-value samples to compare: {compared}"
            c = await counters(cb)
            assert c["State"] == "Operational" and c["ReadersInError"] == 0, c
            assert c["ReceivedNetworkMessages"] > 50 and c["DecodeErrors"] == 0 and c["DroppedMessages"] == 0, c
            sent = (await read(ca, "fxgate/PubSub/Pub/SentNetworkMessages")).Value.Value
            assert sent > 50
        finally:
            await safe_disconnect(ca)

        try:
            a.stop()
            t0 = time.monotonic()
            for reader in READER.values():
                dv = await wait_for(cb, f"{reader}/D", lambda d: d.StatusCode.value == ua.StatusCodes.BadNoCommunication, 5)
                assert dv.Value.Value == 1.5, "the last value is kept"
            assert time.monotonic() - t0 < 3.0
            c = await counters(cb)
            assert c["State"] == "Error" and c["ReadersInError"] == 3, c
            a.start()
            for reader in READER.values():
                dv = await wait_for(cb, f"{reader}/S", good, 30)
                assert dv.Value.Value == "abc"
            await wait_for(cb, "fxgate/PubSub/Sub/State", lambda d: d.Value.Value == "Operational", 5)
        finally:
            await safe_disconnect(cb)

    try:
        asyncio.run(main())
    finally:
        factory.stop_all()


def test_multicast(tmp_path, client_cert):
    """The same over a multicast group joined on the loopback interface."""
    port = free_port()
    group = f"opc.udp://239.255.21.{port % 200 + 1}:{port}"
    factory = GatewayFactory(tmp_path)
    b = factory.start(subscriber_config(group, interface="127.0.0.1"))
    factory.start(publisher_config(group, interface="127.0.0.1"))

    async def main():
        cb = await connect(b, client_cert)
        try:
            for reader in READER.values():
                dv = await wait_for(cb, f"{reader}/I", good)
                assert dv.Value.Value == -7
        finally:
            await safe_disconnect(cb)

    try:
        asyncio.run(main())
    finally:
        factory.stop_all()


def test_wire_format_read_by_an_independent_decoder(gateway_factory, client_cert):
    """Datagrams captured from fxgate's writer group, decoded with uadp_reference (Part 14's
    layout tables): every header field against the configuration, sequence numbers
    consecutive, and the fields against the tags."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    port = sock.getsockname()[1]
    gw = gateway_factory.start(publisher_config(f"opc.udp://127.0.0.1:{port}"))
    try:
        datagrams = []
        for _ in range(30):
            data, _ = sock.recvfrom(65536)
            datagrams.append((time.time(), data))
    finally:
        sock.close()
    raw_types = {2: ["Double", "Int32", "String", "Boolean", "UInt32"]}
    msgs = [(t, ref.decode(d, raw_types)) for t, d in datagrams]
    # Skip the first messages, sent before the simulator's first values.
    msgs = [(t, m) for t, m in msgs if m.messages[0].status == 0][-20:]
    assert len(msgs) >= 10, "fewer than 10 messages with Good DataSets"

    async def source_timestamps():
        c = await connect(gw, client_cert)
        try:
            return {n: (await read(c, f"Src/{n}")).SourceTimestamp for n in EXPECTED}
        finally:
            await safe_disconnect(c)

    stamps = asyncio.run(source_timestamps())
    prev = None
    for t, m in msgs:
        assert (m.version, m.publisher_id, m.publisher_id_type) == (1, PUBLISHER_ID, "UInt16")
        assert (m.writer_group_id, m.group_version, m.network_message_number) == (GROUP_ID, GROUP_VERSION, 1)
        assert m.dataset_writer_ids == [1, 2, 3]
        assert m.dataset_class_id is None and m.promoted_fields is None
        if prev is not None:
            assert m.sequence_number == (prev.sequence_number + 1) % 65536, "NetworkMessage sequence"
            for a, b in zip(prev.messages, m.messages):
                assert b.sequence_number == (a.sequence_number + 1) % 65536, "DataSetMessage sequence"
        prev = m
        encodings = [d.field_encoding for d in m.messages]
        assert encodings == ["Variant", "RawData", "DataValue"]
        for d in m.messages:
            assert d.valid and d.message_type == "KeyFrame" and d.status == 0
            assert d.config_major is None and d.config_minor is None
            sent = datetime.fromtimestamp(t, timezone.utc)
            assert sent - timedelta(seconds=2) < d.timestamp <= sent + timedelta(seconds=1), (d.timestamp, sent)
        v, r, dv = m.messages
        assert v.fields[:4] == [(11, 1.5), (6, -7), (12, "abc"), (1, True)] and v.fields[4][0] == 7
        assert r.fields[:4] == [1.5, -7, "abc", True]
        assert r.fields[4] == v.fields[4][1]
        for (name, want), f in zip(EXPECTED.items(), dv.fields):
            assert f["value"][1] == want and f["status"] in (None, 0)
            assert f["source_timestamp"] == utc(stamps[name]), (name, f, stamps[name])


def test_asyncua_publisher_feeds_fxgate_readers(gateway_factory, client_cert):
    """asyncua's PubSub publishers (Variant, RawData and DataValue) → fxgate's readers: values,
    and for DataValue the publisher's own source timestamp and status."""
    port = free_port()
    fields = [("D", VT.Double), ("I", VT.Int32), ("S", VT.String), ("B", VT.Boolean), ("Counter", VT.UInt32)]
    gw = gateway_factory.start(subscriber_config(f"opc.udp://127.0.0.1:{port}", timeout_ms=1000))

    async def main():
        pubs = [
            await start_publisher(("127.0.0.1", port), PUBLISHER_ID, GROUP_ID, i, fields, 50, encoding=e,
                                  initial={"D": 2.25 + i, "I": 40 + i, "S": f"from asyncua {e}", "B": True, "Counter": 9})
            for i, e in WRITERS.items()
        ]
        c = await connect(gw, client_cert)
        try:
            for i, reader in READER.items():
                dv = await wait_for(c, f"{reader}/S", good)
                assert dv.Value.Value == f"from asyncua {WRITERS[i]}"
                assert (await read(c, f"{reader}/D")).Value.Value == 2.25 + i
                assert (await read(c, f"{reader}/I")).Value.Value == 40 + i
            stamp = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
            pubs[2].set("Counter", 4242, source_timestamp=stamp)
            dv = await wait_for(c, "InDV/Counter", lambda d: d.Value.Value == 4242)
            assert utc(dv.SourceTimestamp) == stamp
            pubs[0].set("Counter", 77)
            await wait_for(c, "InV/Counter", lambda d: d.Value.Value == 77 and good(d))
        finally:
            await safe_disconnect(c)
            for p in pubs:
                await p.stop()

    asyncio.run(main())


def test_fxgate_writer_reaches_an_asyncua_subscriber(gateway_factory):
    """fxgate's writers → asyncua's DataSetReader (Variant and DataValue encodings)."""
    got: dict[int, list] = {1: [], 3: []}

    async def main():
        subs = {}
        for wid in got:
            subs[wid] = await start_subscriber(
                ("127.0.0.1", 0), PUBLISHER_ID, GROUP_ID, wid,
                [("D", VT.Double), ("I", VT.Int32), ("S", VT.String), ("B", VT.Boolean), ("Counter", VT.UInt32)],
                lambda values, wid=wid: got[wid].append([dv.Value.Value for dv in values]))
        try:
            # One connection per subscriber, each sending to its port.
            conns = []
            for wid in got:
                conn = publisher_config(f"opc.udp://127.0.0.1:{subs[wid].address[1]}")["pubsub"][0]
                conn["name"] = f"Pub{wid}"
                group = conn["writer_group"][0]
                group["writer"] = [w for w in group["writer"] if w["data_set_writer_id"] == wid]
                conns.append(conn)
            gateway_factory.start({"simulator": [SOURCE], "pubsub": conns})
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not all(any(v[:4] == list(EXPECTED.values()) for v in got[w]) for w in got):
                await asyncio.sleep(0.1)
        finally:
            for s in subs.values():
                await s.stop()

    asyncio.run(main())
    for wid, seen in got.items():
        assert any(v[:4] == list(EXPECTED.values()) for v in seen), f"writer {wid}: {seen[-3:]}"


def test_malformed_and_foreign_datagrams_are_counted_and_dropped(gateway_factory, client_cert):
    """Garbage, truncations, a reserved version, unknown ids, another GroupVersion, another
    sender address and a wrong field count: counted (DecodeErrors / DroppedMessages), the
    reader's values untouched or Bad_DecodingError for the wrong field count, and the next
    good message taken."""
    port = free_port()
    cfg = subscriber_config(f"opc.udp://127.0.0.1:{port}", timeout_ms=60000,
                            group_version=GROUP_VERSION, publisher_address="127.0.0.1")
    gw = gateway_factory.start(cfg)
    dest = ("127.0.0.1", port)
    seq = iter(range(1, 10000))

    def message(d=1.5, group_version=GROUP_VERSION, publisher=PUBLISHER_ID, fields=None) -> bytes:
        fields = fields or [(11, d), (6, -7), (12, "abc"), (1, True), (7, 5)]
        dsm = ref.DataSetMessage(sequence_number=next(seq), fields=fields, status=0)
        return ref.encode_key_frame(publisher, "UInt16", GROUP_ID, group_version, 1, next(seq), [(1, dsm)])

    async def main():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind(("127.0.0.2", 0))
        c = await connect(gw, client_cert)
        try:
            s.sendto(message(), dest)
            await wait_for(c, "InV/D", lambda d: good(d) and d.Value.Value == 1.5)
            # The counters are published once a second.
            await wait_for(c, "fxgate/PubSub/Sub/ReceivedNetworkMessages", lambda d: d.Value.Value == 1)
            before = await counters(c)
            good_msg = message(d=9.0)
            bad = [b"", b"\x00", b"\xff" * 40, bytes([0x02]) + good_msg[1:]]
            bad += [good_msg[:n] for n in range(1, len(good_msg), 3)]
            for d in bad:
                s.sendto(d, dest)
            s.sendto(message(d=9.5, publisher=4242), dest)  # no reader for these ids
            s.sendto(message(d=9.5, group_version=1), dest)  # another GroupVersion
            other.sendto(message(d=9.5), dest)  # from an address not configured
            await wait_for(c, "fxgate/PubSub/Sub/ReceivedNetworkMessages",
                           lambda d: d.Value.Value == before["ReceivedNetworkMessages"] + len(bad) + 3)
            after = await counters(c)
            assert after["DecodeErrors"] - before["DecodeErrors"] == len(bad), (before, after)
            assert after["DroppedMessages"] - before["DroppedMessages"] == 3, (before, after)
            dv = await read(c, "InV/D")
            assert good(dv) and dv.Value.Value == 1.5, "nothing bad or foreign changed the value"
            # A DataSet with a field too few: the reader's tags turn Bad_DecodingError.
            s.sendto(message(fields=[(11, 3.0), (6, 1)]), dest)
            dv = await wait_for(c, "InV/D", lambda d: d.StatusCode.value == ua.StatusCodes.BadDecodingError)
            assert dv.Value.Value == 1.5
            s.sendto(message(d=8.5), dest)
            await wait_for(c, "InV/D", lambda d: good(d) and d.Value.Value == 8.5)
            assert gw.proc.poll() is None
        finally:
            s.close()
            other.close()
            await safe_disconnect(c)

    asyncio.run(main())


PS_NS = "urn:fxgate:pubsub"
STATE = {0: "Disabled", 1: "Paused", 2: "Operational", 3: "Error", 4: "PreOperational"}


async def child(node, name: str):
    for c in await node.get_children():
        if (await c.read_browse_name()).Name == name:
            return c
    raise AssertionError(f"{name} not below {node}")


def test_information_model(tmp_path, client_cert):
    """Server/PublishSubscribe shows each connection (OPC 10000-14 §9.1): on the publisher its
    writer group, DataSetWriters and PublishedDataSets (PublishedData = the tags); on the
    subscriber the reader group and DataSetReaders with their ids, metadata and
    TargetVariables; a reader's Status/State goes PreOperational → Operational → Error with
    the runtime, and Operational again."""
    port = free_port()
    factory = GatewayFactory(tmp_path)
    b = factory.start(subscriber_config(f"opc.udp://127.0.0.1:{port}", timeout_ms=4000))
    # The subscriber waits for a publisher that is not there yet.

    async def main():
        cb = await connect(b, client_cert)
        ca = None
        try:
            ps_ns = await cb.get_namespace_index(PS_NS)
            tns = await tags_ns(cb)
            root = cb.get_node(ua.ObjectIds.PublishSubscribe)
            conns = await root.get_referenced_nodes(refs=ua.ObjectIds.HasPubSubConnection)
            assert [(await n.read_browse_name()).Name for n in conns] == ["Sub"]
            conn = conns[0]
            assert (await conn.read_type_definition()) == ua.NodeId(ua.ObjectIds.PubSubConnectionType)
            assert await (await child(conn, "TransportProfileUri")).read_value() == \
                "http://opcfoundation.org/UA-Profile/Transport/pubsub-udp-uadp"
            assert await (await child(await child(conn, "Address"), "Url")).read_value() == f"opc.udp://127.0.0.1:{port}"
            groups = await conn.get_referenced_nodes(refs=ua.ObjectIds.HasReaderGroup)
            assert len(groups) == 1
            readers = await groups[0].get_referenced_nodes(refs=ua.ObjectIds.HasDataSetReader)
            assert sorted([(await r.read_browse_name()).Name for r in readers]) == sorted(READER.values())
            r = next(x for x in readers if x.nodeid.Identifier.endswith("/InDV"))
            assert r.nodeid.NamespaceIndex == ps_ns
            assert (await r.read_type_definition()) == ua.NodeId(ua.ObjectIds.DataSetReaderType)
            assert await (await child(r, "PublisherId")).read_value() == PUBLISHER_ID
            assert await (await child(r, "WriterGroupId")).read_value() == GROUP_ID
            assert await (await child(r, "DataSetWriterId")).read_value() == 3
            assert await (await child(r, "MessageReceiveTimeout")).read_value() == 4000.0
            meta = await (await child(r, "DataSetMetaData")).read_value()
            assert [f.Name for f in meta.Fields] == [f["name"] for f in FIELDS]
            assert [f.BuiltInType for f in meta.Fields] == [11, 6, 12, 1, 7]
            targets = await (await child(await child(r, "SubscribedDataSet"), "TargetVariables")).read_value()
            assert [t.TargetNodeId for t in targets] == [ua.NodeId(f"InDV/{f['name']}", tns) for f in FIELDS]
            assert all(t.AttributeId == 13 for t in targets)
            state = await child(await child(r, "Status"), "State")
            assert STATE[await state.read_value()] == "PreOperational"

            a = factory.start(publisher_config(f"opc.udp://127.0.0.1:{port}"))
            await wait_state(state, "Operational")
            ca = await connect(a, client_cert)
            pconn = (await cb_conns(ca))[0]
            wgs = await pconn.get_referenced_nodes(refs=ua.ObjectIds.HasWriterGroup)
            assert [(await g.read_browse_name()).Name for g in wgs] == ["WG"]
            assert await (await child(wgs[0], "WriterGroupId")).read_value() == GROUP_ID
            assert await (await child(wgs[0], "PublishingInterval")).read_value() == 10.0
            assert await (await child(wgs[0], "GroupVersion")).read_value() == GROUP_VERSION
            writers = await wgs[0].get_referenced_nodes(refs=ua.ObjectIds.HasDataSetWriter)
            assert sorted([await (await child(w, "DataSetWriterId")).read_value() for w in writers]) == [1, 2, 3]
            pds = await ca.get_node(ua.ObjectIds.PublishSubscribe_PublishedDataSets).get_children()
            names = {(await p.read_browse_name()).Name: p for p in pds}
            assert {"Pub.WG.W1", "Pub.WG.W2", "Pub.WG.W3"} <= set(names), names
            atns = await tags_ns(ca)
            published = await (await child(names["Pub.WG.W1"], "PublishedData")).read_value()
            assert [p.PublishedVariable for p in published] == [ua.NodeId(t, atns) for t in PATHS]
            to_writer = await names["Pub.WG.W1"].get_referenced_nodes(refs=ua.ObjectIds.DataSetToWriter)
            assert [await (await child(w, "DataSetWriterId")).read_value() for w in to_writer] == [1]

            # Diagnostics (PubSubDiagnosticsConnectionType): the counters move with the traffic.
            pdiag = await child(pconn, "Diagnostics")
            assert (await pdiag.read_type_definition()) == ua.NodeId(ua.ObjectIds.PubSubDiagnosticsConnectionType)
            sent = await child(await child(pdiag, "Counters"), "SentNetworkMessages")
            assert (await sent.read_type_definition()) == ua.NodeId(ua.ObjectIds.PubSubDiagnosticsCounterType)
            # The status folder refreshes once a second: wait for the first figure, then for more.
            first = 0
            for _ in range(50):
                first = await sent.read_value()
                if first > 0:
                    break
                await asyncio.sleep(0.1)
            assert first > 0, "no NetworkMessages counted"
            await asyncio.sleep(2.5)
            assert await sent.read_value() > first
            sdiag = await child(conn, "Diagnostics")
            received = await (await child(await child(sdiag, "Counters"), "ReceivedNetworkMessages")).read_value()
            total = await (await child(sdiag, "TotalInformation")).read_value()
            assert received > 0 and total >= received, (received, total)
            assert await (await child(await child(sdiag, "Counters"), "ReceivedInvalidNetworkMessages")).read_value() == 0

            a.stop()
            await wait_state(state, "Error")
            a.start()
            await wait_state(state, "Operational", 30)
        finally:
            if ca is not None:
                await safe_disconnect(ca)
            await safe_disconnect(cb)

    try:
        asyncio.run(main())
    finally:
        factory.stop_all()


async def cb_conns(client):
    return await client.get_node(ua.ObjectIds.PublishSubscribe).get_referenced_nodes(refs=ua.ObjectIds.HasPubSubConnection)


async def wait_state(node, want: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = STATE.get(await node.read_value())
        if got == want:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"State {got}, expected {want}")


async def switch(client, ps_ns: int, status_path: str, method: str) -> str:
    """Calls Status/Enable or Status/Disable with the raw Call service; the status name."""
    req = ua.CallMethodRequest()
    req.ObjectId = ua.NodeId(f"{status_path}/Status", ps_ns)
    req.MethodId = ua.NodeId(f"{status_path}/Status/{method}", ps_ns)
    req.InputArguments = []
    [r] = await client.uaclient.call([req])
    return ua.StatusCode(r.StatusCode.value & 0xFFFF0000).name


def test_enable_and_disable(tmp_path, client_cert):
    """Status/Enable and Status/Disable (OPC 10000-14 9.1.10) on a writer group, a reader and a
    connection, publishing to itself: states, the reader's tags (Bad_NoCommunication when the
    group stops, Bad_OutOfService when the reader is disabled), Bad_InvalidState for a
    repeated call, and the configure role."""
    from fxgate_testlib import hash_password

    port = free_port()
    loop = publisher_config(f"opc.udp://127.0.0.1:{port}")
    loop["pubsub"][0]["listen"] = f"opc.udp://127.0.0.1:{port}"
    loop["pubsub"][0]["reader"] = subscriber_config("x")["pubsub"][0]["reader"][:1]
    loop["users"] = [{"name": "admin", "password_hash": hash_password("secret-pw"), "roles": ["read", "configure"]}]
    factory = GatewayFactory(tmp_path)
    gw = factory.start(loop)

    async def main():
        anon = await connect(gw, client_cert)
        c = await connect(gw, client_cert, username="admin", password="secret-pw")
        try:
            ns = await c.get_namespace_index(PS_NS)
            st = lambda p: c.get_node(ua.NodeId(f"{p}/Status/State", ns))  # noqa: E731
            group, writer, reader, conn = "Pub/WG", "Pub/WG/W1", "Pub/Readers/InV", "Pub"
            await wait_state(st(reader), "Operational")
            assert await switch(anon, ns, group, "Disable") == "BadUserAccessDenied", "the read role is not enough"

            assert await switch(c, ns, group, "Disable") == "Good"
            assert STATE[await st(group).read_value()] == "Disabled"
            assert STATE[await st(writer).read_value()] == "Paused"
            await wait_state(st(reader), "Error")
            dv = await wait_for(c, "InV/D", lambda d: d.StatusCode.value == ua.StatusCodes.BadNoCommunication)
            assert dv.Value.Value == 1.5
            assert await switch(c, ns, group, "Disable") == "BadInvalidState"
            assert await switch(c, ns, group, "Enable") == "Good"
            await wait_state(st(reader), "Operational")
            assert STATE[await st(writer).read_value()] == "Operational"
            await wait_for(c, "InV/D", good)

            assert await switch(c, ns, reader, "Disable") == "Good"
            await wait_state(st(reader), "Disabled")
            dv = await wait_for(c, "InV/D", lambda d: d.StatusCode.value == ua.StatusCodes.BadOutOfService)
            assert dv.Value.Value == 1.5
            await asyncio.sleep(0.5)
            assert STATE[await st(reader).read_value()] == "Disabled", "messages do not wake a disabled reader"
            assert await switch(c, ns, reader, "Enable") == "Good"
            await wait_state(st(reader), "Operational")
            await wait_for(c, "InV/D", good)

            assert await switch(c, ns, conn, "Disable") == "Good"
            await wait_state(st(conn), "Disabled")
            await wait_state(st(reader), "Disabled")
            assert STATE[await st(group).read_value()] == "Paused"
            assert await switch(c, ns, conn, "Enable") == "Good"
            await wait_state(st(reader), "Operational")
            await wait_state(st(conn), "Operational")
            assert STATE[await st(group).read_value()] == "Operational"

            # Diagnostics/Reset (Part 14 9.1.11): the counters start again from 0 and their
            # TimeFirstChange is set anew; the configure role is needed.
            sent = c.get_node(ua.NodeId("Pub/Diagnostics/Counters/SentNetworkMessages", ns))
            first = c.get_node(ua.NodeId("Pub/Diagnostics/Counters/SentNetworkMessages/TimeFirstChange", ns))
            before = await sent.read_value()
            assert before > 0, before
            req = ua.CallMethodRequest()
            req.ObjectId, req.MethodId = ua.NodeId("Pub/Diagnostics", ns), ua.NodeId("Pub/Diagnostics/Reset", ns)
            [r] = await anon.uaclient.call([req])
            assert r.StatusCode.name == "BadUserAccessDenied", r
            first_before = await first.read_value()
            reset_at = datetime.now(timezone.utc)
            [r] = await c.uaclient.call([req])
            assert r.StatusCode.is_good(), r
            assert await sent.read_value() < before, "counted again from 0"
            null = datetime(1601, 1, 1, tzinfo=timezone.utc)  # a null DateTime as asyncua reads it
            assert first_before > null
            for _ in range(50):
                t = await first.read_value()
                if t > null:
                    break
                await asyncio.sleep(0.1)
            assert t >= reset_at - timedelta(seconds=1) and t != first_before, (t, reset_at, first_before)
        finally:
            await safe_disconnect(anon)
            await safe_disconnect(c)

    try:
        asyncio.run(main())
    finally:
        factory.stop_all()
