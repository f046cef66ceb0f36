"""A million tags on one box (issue 19): the gateway starts with 1,000,000 simulator tags and
answers reads of a random sample, browse with continuation points and TranslateBrowsePaths in
that folder; 100,000 monitored items on one subscription each deliver their value and then
their changes. No timing is asserted (timings are measured in bench/run_scale.sh); the start
time and RSS are logged."""

from __future__ import annotations

import asyncio
import random
import re
import time

from asyncua import ua

from fxgate_testlib import TAGS_NS_URI, connect, log, safe_disconnect


def many(name: str, count: int, interval_ms: int) -> dict:
    return {"name": name, "interval_ms": interval_ms,
            "tags": [{"name": "T", "type": "UInt32", "waveform": "counter", "count": count}]}


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+)", f.read())
    return int(m.group(1)) / 1024 if m else 0.0


def test_million_tags_start_and_sample_read(gateway_factory, client_cert):
    """1,000,000 tags: ready, a random sample of 1,000 read in one request (every value Good,
    the counter's UInt32), attributes of a sample, the folder browsed a page at a time, and a
    path to the last tag translated."""
    started = time.monotonic()
    gw = gateway_factory.start({"simulator": [many("Big", 1_000_000, 60_000)]})
    log(f"1,000,000 tags: ready after {time.monotonic() - started:.1f} s, RSS {rss_mib(gw.proc.pid):.0f} MiB")

    async def main():
        client = await connect(gw, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            sample = random.Random(19).sample(range(1_000_000), 1000)
            nodes = [client.get_node(ua.NodeId(f"Big/T{i}", ns)) for i in sample]
            # "Ready" is the server serving; the simulator's first tick of a million values
            # takes a moment longer (batches of 10,000), so the sample is read until it has
            # values, for at most 60 s.
            deadline = time.monotonic() + 60
            values = await client.read_values(nodes)
            while not all(isinstance(v, int) for v in values) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                values = await client.read_values(nodes)
            assert len(values) == 1000 and all(isinstance(v, int) for v in values), values[:5]
            dvs = await client.uaclient.read(_read(ns, [f"Big/T{i}" for i in sample[:50]], ua.AttributeIds.Value))
            assert all(dv.StatusCode.is_good() and dv.SourceTimestamp for dv in dvs)
            names = await client.uaclient.read(_read(ns, [f"Big/T{i}" for i in sample[:50]], ua.AttributeIds.BrowseName))
            assert [n.Value.Value.Name for n in names] == [f"T{i}" for i in sample[:50]]
            missing = await client.uaclient.read(_read(ns, ["Big/T1000000"], ua.AttributeIds.Value))
            assert missing[0].StatusCode.name == "BadNodeIdUnknown"

            # the folder, 1,000 references per Browse: the first pages, in store order
            desc = ua.BrowseDescription(NodeId=ua.NodeId("Big", ns), BrowseDirection=ua.BrowseDirection.Forward,
                                        ReferenceTypeId=ua.NodeId(ua.ObjectIds.HasComponent), IncludeSubtypes=False,
                                        ResultMask=ua.BrowseResultMask.All)
            params = ua.BrowseParameters(NodesToBrowse=[desc], RequestedMaxReferencesPerNode=1000)
            params.View.Timestamp = ua.get_win_epoch()
            res = (await client.uaclient.browse(params))[0]
            seen = [r.BrowseName.Name for r in res.References]
            cp = res.ContinuationPoint
            for _ in range(4):
                nxt = (await client.uaclient.browse_next(
                    ua.BrowseNextParameters(ReleaseContinuationPoints=False, ContinuationPoints=[cp])))[0]
                seen += [r.BrowseName.Name for r in nxt.References]
                cp = nxt.ContinuationPoint
            assert seen == [f"T{i}" for i in range(5000)]
            assert cp, "a million references need more pages"
            await client.uaclient.browse_next(ua.BrowseNextParameters(ReleaseContinuationPoints=True, ContinuationPoints=[cp]))

            objects = client.get_node(ua.ObjectIds.ObjectsFolder)
            last = await objects.get_child([f"{ns}:Big", f"{ns}:T999999"])
            assert last.nodeid == ua.NodeId("Big/T999999", ns)
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
    assert gw.proc.poll() is None, "the gateway must still run"


def _read(ns: int, ids: list[str], attribute) -> ua.ReadParameters:
    params = ua.ReadParameters()
    for i in ids:
        rv = ua.ReadValueId()
        rv.NodeId = ua.NodeId(i, ns)
        rv.AttributeId = attribute
        params.NodesToRead.append(rv)
    return params


ITEMS = 100_000


def test_hundred_thousand_monitored_items_each_deliver(gateway_factory, client_cert):
    """One subscription with 100,000 monitored items (created 1,000 per request), asking for
    no limit of notifications per Publish: every item delivers its current value, and then the
    counter's next value with its own source timestamp. (All 100,000 change at once: one
    response with them all would be 3.4 MB, over the message size, and async-opcua dropped it
    whole before `max_notifications_per_publish` capped the responses.)"""
    gw = gateway_factory.start({"simulator": [many("Wide", ITEMS, 5_000)]})

    async def main():
        client = await connect(gw, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            seen: dict[str, list] = {}

            class Handler:
                def datachange_notification(self, node, val, data):
                    seen.setdefault(node.nodeid.Identifier, []).append(
                        (val, data.monitored_item.Value.SourceTimestamp))

            sub = await client.create_subscription(
                ua.CreateSubscriptionParameters(RequestedPublishingInterval=1000, RequestedLifetimeCount=600,
                                                RequestedMaxKeepAliveCount=20, MaxNotificationsPerPublish=0,
                                                PublishingEnabled=True), Handler())
            created = time.monotonic()
            for start in range(0, ITEMS, 1000):
                nodes = [client.get_node(ua.NodeId(f"Wide/T{i}", ns)) for i in range(start, start + 1000)]
                handles = await sub.subscribe_data_change(nodes, sampling_interval=1000)
                assert all(isinstance(h, int) for h in handles), [h for h in handles if not isinstance(h, int)][:3]
            log(f"100,000 monitored items created in {time.monotonic() - created:.1f} s, "
                f"gateway RSS {rss_mib(gw.proc.pid):.0f} MiB")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(seen) == ITEMS and all(len(v) >= 2 for v in seen.values()):
                    break
                await asyncio.sleep(0.5)
            silent = ITEMS - len(seen)
            unchanged = [k for k, v in seen.items() if len(v) < 2]
            assert silent == 0, f"{silent} items delivered nothing"
            assert not unchanged, f"{len(unchanged)} items delivered no change, e.g. {unchanged[:3]}"
            for k, v in list(seen.items())[:: ITEMS // 100]:
                (a, ta), (b, tb) = v[0], v[1]
                assert b > a and tb > ta, (k, v[:2])
            log(f"gateway RSS with 100,000 items: {rss_mib(gw.proc.pid):.0f} MiB")
            await sub.delete()
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
