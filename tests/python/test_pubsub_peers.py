"""Self-test of the PubSub peers (pubsub_peers.py) against the independent UADP codec
(uadp_reference.py), without fxgate: an asyncua publisher received on a plain UDP socket and
decoded by the reference decoder (every field encoding), reference-encoded datagrams sent to
an asyncua subscriber (key, DataValue, delta and RawData frames; foreign ids filtered, garbage
dropped), the two helpers talking to each other, and the helpers' error surfacing.

Run without the gateway fixtures (conftest.py needs a built fxgate binary):
    .venv/bin/python -m pytest -q --noconftest tests/python/test_uadp_reference.py tests/python/test_pubsub_peers.py
"""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timezone

import pytest
from asyncua import ua

import uadp_reference as ur
from pubsub_peers import VT, start_publisher, start_subscriber
from uadp_reference import DataSetMessage

FIELDS = [("temp", VT.Double), ("count", VT.Int32), ("name", VT.String), ("on", VT.Boolean)]
RAW_TYPES = ["Double", "Int32", "String", "Boolean"]
PUB_ID, GROUP_ID, WRITER_ID = 0x1234, 7, 42
T1 = datetime(2024, 1, 1, tzinfo=timezone.utc)
TIMEOUT = 5.0


def udp_socket() -> socket.socket:
    """A non-blocking UDP socket on a free 127.0.0.1 port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def plain_values(msg: ur.NetworkMessage) -> list:
    """The field values of the first DataSetMessage, whatever its field encoding."""
    ds = msg.messages[0]
    if ds.field_encoding == "Variant":
        return [v for _, v in ds.fields]
    if ds.field_encoding == "DataValue":
        return [f["value"][1] for f in ds.fields]
    return list(ds.fields)


async def recv_until(sock: socket.socket, pred, raw_types=None) -> ur.NetworkMessage:
    """Decode datagrams from ``sock`` until one satisfies ``pred``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    last = None
    while True:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise AssertionError(f"no matching datagram within {TIMEOUT}s; last one: {last}") from None
        last = ur.decode(data, raw_types)
        if pred(last):
            return last


@pytest.mark.parametrize("encoding", ["variant", "datavalue", "raw"])
def test_asyncua_publisher_decoded_by_reference(encoding):
    """asyncua publisher -> UDP socket -> uadp_reference.decode: ids, sequence numbers, values, status."""
    wanted = [21.5, -3, "Kessel ü", True]

    async def main():
        sock = udp_socket()
        pub = await start_publisher(sock.getsockname(), PUB_ID, GROUP_ID, WRITER_ID, FIELDS, 30,
                                    encoding, initial={"name": "init"})
        try:
            assert pub.address is not None and pub.address[1] != sock.getsockname()[1]
            first = await recv_until(sock, lambda m: True, {WRITER_ID: RAW_TYPES})
            for (name, _), value in zip(FIELDS, wanted):
                pub.set(name, value)
            changed = await recv_until(sock, lambda m: plain_values(m) == wanted, {WRITER_ID: RAW_TYPES})
            pub.set("count", 5, status=0x40920000, source_timestamp=T1)
            flagged = await recv_until(sock, lambda m: plain_values(m)[1] == 5, {WRITER_ID: RAW_TYPES})
        finally:
            await pub.stop()
            sock.close()
        return first, changed, flagged

    first, changed, flagged = asyncio.run(main())
    assert plain_values(first) == [0.0, 0, "init", False]
    for msg in (first, changed, flagged):
        assert (msg.publisher_id, msg.publisher_id_type) == (PUB_ID, "UInt16")
        assert (msg.writer_group_id, msg.group_version, msg.network_message_number) == (GROUP_ID, 0, 1)
        assert msg.dataset_writer_ids == [WRITER_ID] and len(msg.messages) == 1
        ds = msg.messages[0]
        assert ds.valid and ds.message_type == "KeyFrame" and ds.sequence_number is not None
    assert first.sequence_number == 0 and first.messages[0].sequence_number == 1
    assert changed.sequence_number > first.sequence_number
    assert changed.messages[0].sequence_number > first.messages[0].sequence_number
    ds, fds = changed.messages[0], flagged.messages[0]
    if encoding == "variant":
        assert ds.field_encoding == "Variant" and ds.status == 0 and ds.timestamp is not None
        assert ds.fields == [(11, 21.5), (6, -3), (12, "Kessel ü"), (1, True)]
        assert fds.status == 0x4092  # the high word of the worst StatusCode
    elif encoding == "raw":
        assert ds.field_encoding == "RawData" and ds.raw_types == RAW_TYPES and ds.status == 0
        assert fds.status == 0x4092
    else:
        assert ds.field_encoding == "DataValue" and ds.status is None
        assert [f["value"] for f in ds.fields] == [(11, 21.5), (6, -3), (12, "Kessel ü"), (1, True)]
        assert all(f["status"] == 0 for f in ds.fields)
        assert fds.fields[1]["status"] == 0x40920000 and fds.fields[1]["source_timestamp"] == T1


def test_reference_datagrams_reach_asyncua_subscriber():
    """uadp_reference.encode -> asyncua subscriber: values of every frame kind; foreign ids ignored."""
    def key(values, encoding="Variant", **kw):
        return DataSetMessage(field_encoding=encoding, sequence_number=1, **kw, fields=values)

    variant = key([(11, 21.5), (6, -3), (12, "Kessel ü"), (1, True)], timestamp=T1, status=0x4000)
    # DataValue without picoseconds: asyncua orders those wrongly (uadp_reference docstring)
    datavalue = key([{"value": (11, 1.0), "status": 0, "source_timestamp": T1},
                     {"value": (6, 2), "status": 0x80000000}, {"value": (12, "x")}, {"value": (1, False)}],
                    encoding="DataValue")
    raw = key([2.5, 3, "raw", True], encoding="RawData", raw_types=RAW_TYPES)
    delta = DataSetMessage(message_type="DeltaFrame", field_indices=[1], fields=[(6, 99)])
    other = key([(6, 0)])

    async def main():
        got: asyncio.Queue = asyncio.Queue()
        sub = await start_subscriber(("127.0.0.1", 0), PUB_ID, GROUP_ID, WRITER_ID, FIELDS, got.put_nowait)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        results = []
        try:
            def send(pid, gid, writers):
                """One NetworkMessage with a GroupHeader and a payload header for ``writers``."""
                msg = ur.NetworkMessage(publisher_id=pid, publisher_id_type="UInt16", writer_group_id=gid,
                                        group_version=0, network_message_number=1, sequence_number=1,
                                        dataset_writer_ids=[w for w, _ in writers], messages=[m for _, m in writers])
                tx.sendto(ur.encode(msg), sub.address)

            tx.sendto(b"\xff\x00garbage", sub.address)  # asyncua logs and drops it
            send(0x9999, GROUP_ID, [(WRITER_ID, other)])  # foreign PublisherId
            send(PUB_ID, 8, [(WRITER_ID, other)])  # foreign WriterGroupId
            send(PUB_ID, GROUP_ID, [(41, other)])  # foreign DataSetWriterId
            for writers in ([(41, other), (WRITER_ID, variant)], [(WRITER_ID, datavalue)],
                            [(WRITER_ID, raw), (43, other)], [(WRITER_ID, delta)]):
                send(PUB_ID, GROUP_ID, writers)
                results.append(await asyncio.wait_for(got.get(), TIMEOUT))
            await asyncio.sleep(0.1)
            assert got.empty()
        finally:
            tx.close()
            await sub.stop()
        return results

    v, dv, r, d = asyncio.run(main())
    assert [(x.Value.VariantType, x.Value.Value) for x in v] == \
        [(VT.Double, 21.5), (VT.Int32, -3), (VT.String, "Kessel ü"), (VT.Boolean, True)]
    assert all(x.StatusCode.value == 0x40000000 and x.ServerTimestamp == T1 for x in v)
    assert [x.Value.Value for x in dv] == [1.0, 2, "x", False]
    assert dv[0].SourceTimestamp == T1 and dv[1].StatusCode.value == 0x80000000
    assert [x.Value.Value for x in r] == [2.5, 3, "raw", True]
    assert [(x.Value.VariantType, x.Value.Value) for x in d] == [(VT.Int32, 99)]


def test_asyncua_publisher_to_asyncua_subscriber():
    """The two helpers talk to each other (coroutine callback)."""
    async def main():
        got: asyncio.Queue = asyncio.Queue()

        async def on_values(values):  # coroutine callbacks are awaited
            await got.put([x.Value.Value for x in values])

        sub = await start_subscriber(("127.0.0.1", 0), PUB_ID, GROUP_ID, WRITER_ID, FIELDS, on_values)
        pub = await start_publisher(sub.address, PUB_ID, GROUP_ID, WRITER_ID, FIELDS, 30, "datavalue")
        try:
            pub.set("temp", 7.25)
            pub.set("name", "pipe")
            while (values := await asyncio.wait_for(got.get(), TIMEOUT)) != [7.25, 0, "pipe", False]:
                pass
        finally:
            await pub.stop()
            await sub.stop()
        return values

    assert asyncio.run(main()) == [7.25, 0, "pipe", False]


def test_helpers_surface_errors():
    """A busy port, a non-UInt16 PublisherId, an unknown encoding or field name raise."""
    async def main():
        busy = udp_socket()
        try:
            with pytest.raises(RuntimeError, match="did not start"):
                await start_subscriber(busy.getsockname(), PUB_ID, 0, 0, FIELDS, print)
        finally:
            busy.close()
        with pytest.raises(ValueError, match="UInt16"):
            await start_publisher(("127.0.0.1", 9), 2**40, 1, 1, FIELDS, 100)
        with pytest.raises(ValueError, match="encoding"):
            await start_publisher(("127.0.0.1", 9), 1, 1, 1, FIELDS, 100, "json")

    asyncio.run(main())
    with pytest.raises(KeyError):
        asyncio.run(_set_unknown())


async def _set_unknown():
    """Publisher.set with an unknown field name (raises KeyError)."""
    sock = udp_socket()
    pub = await start_publisher(sock.getsockname(), 1, 1, 1, FIELDS, 1000)
    try:
        pub.set("nope", 1)
    finally:
        await pub.stop()
        sock.close()
