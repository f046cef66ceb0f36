"""Subscription semantics a historian can trust (issue 20), with Python asyncua as the client:

* sampling interval 0 is granted (`[server] min_sampling_interval_ms = 0`, the default): a simulator
  counter changing every 10 ms arrives change by change, no value missing, each with the source
  timestamp the simulator gave it (async-opcua holds back a value that arrives within a non-zero
  sampling interval of the previous one and moves its timestamp forward, so 100 ms used to give
  ~1 in 10 values with made-up times);
* queue sizes up to `[server] max_queue_size` (10,000) are granted, for data and event items (they
  were revised to 10);
* through the aggregation: 20 values written 5 ms apart to an upstream asyncua server all arrive,
  with the upstream's source timestamps, and a burst of 50 upstream events in one publishing
  interval arrives whole with queueSize 100.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from asyncua import ua

from aggregation_support import gateway_overrides, of_type_filter, peers, plant_node, sync, upstream, wait_connected  # noqa: F401
from fxgate_testlib import EventCollector, connect, safe_disconnect
from modbus_peers import no_panic
from upstream_peers import ua_namespaces

FAST = {"name": "Fast", "interval_ms": 10, "tags": [{"name": "Counter", "type": "UInt32", "waveform": "counter", "writable": False}]}


class Values:
    """Data change handler: every (value, SourceTimestamp)."""

    def __init__(self):
        self.seen: list[tuple[object, object]] = []

    def datachange_notification(self, node, val, data):
        dv = data.monitored_item.Value
        self.seen.append((val, dv.SourceTimestamp))


async def monitor(sub, node, sampling: float, queue: int):
    """One data item with these parameters; the server's result."""
    params = ua.MonitoringParameters()
    params.ClientHandle = 1
    params.SamplingInterval = sampling
    params.QueueSize = queue
    params.DiscardOldest = True
    req = ua.MonitoredItemCreateRequest()
    req.ItemToMonitor = ua.ReadValueId(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value)
    req.MonitoringMode = ua.MonitoringMode.Reporting
    req.RequestedParameters = params
    p = ua.CreateMonitoredItemsParameters()
    p.SubscriptionId = sub.subscription_id
    p.TimestampsToReturn = ua.TimestampsToReturn.Both
    p.ItemsToCreate = [req]
    results = await sub.server.create_monitored_items(p)
    return results[0]


async def fast_counter(client):
    """The node of the 10 ms simulator counter."""
    ns = await client.get_namespace_index("urn:fxgate:tags")
    return client.get_node(ua.NodeId("Fast/Counter", ns))


@sync
async def test_every_change_with_its_own_source_timestamp(gateway_factory, client_cert):
    gw = gateway_factory.start({"simulator": [FAST]})
    client = await connect(gw, client_cert)
    try:
        node = await fast_counter(client)
        handler = Values()
        sub = await client.create_subscription(100, handler)
        handles = await sub.subscribe_data_change([node], queuesize=1000, sampling_interval=0)
        assert isinstance(handles[0], int), handles
        await asyncio.sleep(2.5)
        await sub.delete()
    finally:
        await safe_disconnect(client)
    good = [(v, t) for v, t in handler.seen if isinstance(v, int)]
    values = [v for v, _ in good][1:]  # the first is the value at subscribe time
    assert len(values) >= 100, f"only {len(values)} values in 2.5 s of a 10 ms counter"
    gaps = [(a, b) for a, b in zip(values, values[1:]) if b != a + 1]
    assert gaps == [], f"changes missing between {gaps[:10]}"
    stamps = [t for _, t in good][1:]
    assert all(b > a for a, b in zip(stamps, stamps[1:])), "source timestamps strictly increase"
    steps_ms = [(b - a).total_seconds() * 1000 for a, b in zip(stamps, stamps[1:])]
    # the simulator's ticks, not an interval the server made up (+100 ms per held-back value)
    assert statistics.median(steps_ms) < 50, statistics.median(steps_ms)
    no_panic(gw)


@sync
async def test_revised_sampling_and_queue_sizes(gateway_factory, client_cert):
    gw = gateway_factory.start({"simulator": [FAST]})
    client = await connect(gw, client_cert)
    try:
        node = await fast_counter(client)
        sub = await client.create_subscription(100, Values())
        r = await monitor(sub, node, 0, 5000)
        assert r.StatusCode.is_good() and (r.RevisedSamplingInterval, r.RevisedQueueSize) == (0, 5000), r
        r = await monitor(sub, node, 0, 50_000)
        assert r.RevisedQueueSize == 10_000, r
        r = await monitor(sub, node, 250, 100)
        assert (r.RevisedSamplingInterval, r.RevisedQueueSize) == (250, 100), r
        server = client.get_node(ua.ObjectIds.Server)
        events = EventCollector()
        esub = await client.create_subscription(100, events)
        handle = await esub.subscribe_events(server, queuesize=100)
        assert isinstance(handle, int)
        # asyncua does not return the revised queue size of an event item; a burst below checks it
        await sub.delete()
        await esub.delete()
    finally:
        await safe_disconnect(client)
    gw.stop()
    gw.config["server"]["max_queue_size"] = 300
    gw.config["server"]["min_sampling_interval_ms"] = 50
    gw.start()
    client = await connect(gw, client_cert)
    try:
        node = await fast_counter(client)
        sub = await client.create_subscription(100, Values())
        r = await monitor(sub, node, 0, 5000)
        assert (r.RevisedSamplingInterval, r.RevisedQueueSize) == (50, 300), r
    finally:
        await safe_disconnect(client)
    no_panic(gw)


async def forwarded(gateway_factory, client_cert, peers, name: str):
    """A gateway aggregating the peer "alpha" as plc1, a session on it and one direct to alpha,
    and alpha's node `name` seen both ways: (gw, client, direct, through the gateway, upstream)."""
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a)))
    client = await connect(gw, client_cert)
    direct = await connect(a.url, client_cert)
    try:
        await wait_connected(client, ["plc1"])
        via_gateway = await plant_node(client, "plc1", "alpha", name)
        up_ns = await direct.get_namespace_index(ua_namespaces("alpha")[0])
        return gw, client, direct, via_gateway, direct.get_node(f"ns={up_ns};s={name}")
    except BaseException:
        await safe_disconnect(direct)
        await safe_disconnect(client)
        raise


@sync
async def test_fast_upstream_values_and_an_event_burst_arrive_whole(gateway_factory, client_cert, peers):
    gw, client, direct, setpoint, up_setpoint = await forwarded(gateway_factory, client_cert, peers, "Plant.Setpoint")
    try:
        handler = Values()
        sub = await client.create_subscription(100, handler)
        await sub.subscribe_data_change([setpoint], queuesize=100, sampling_interval=0)
        await asyncio.sleep(1.0)
        written = [100.0 + i for i in range(20)]
        for v in written:
            await up_setpoint.write_value(ua.Variant(v, ua.VariantType.Double))
            await asyncio.sleep(0.005)
        deadline = time.monotonic() + 10
        while [v for v, _ in handler.seen if v in written] != written and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        got = [(v, t) for v, t in handler.seen if v in written]
        assert [v for v, _ in got] == written, f"{len(got)} of 20 arrived: {got}"
        stamps = [t for _, t in got]
        assert all(b > a for a, b in zip(stamps, stamps[1:])), stamps

        # 50 events raised in one publishing interval (2 s) arrive, all, with queueSize 100
        plant = await plant_node(client, "plc1", "alpha", "Plant")
        alarm_type = await plant_node(client, "plc1", "alpha", "PlantAlarmType")
        events = EventCollector()
        esub = await client.create_subscription(2000, events)
        await esub.subscribe_events(plant, alarm_type, evfilter=await of_type_filter(alarm_type), queuesize=100)
        await asyncio.sleep(2.5)
        up_ns = up_setpoint.nodeid.NamespaceIndex
        up_plant = direct.get_node(f"ns={up_ns};s=Plant")
        raise_alarm = direct.get_node(f"ns={up_ns};s=Plant.RaiseAlarm")
        for level in range(50):
            await up_plant.call_method(raise_alarm, ua.Variant(level, ua.VariantType.Int32))
        await events.wait(lambda e: getattr(e, "Level", None) == 49, timeout=15)
        await asyncio.sleep(2.5)
        levels = [getattr(e, "Level", None) for e in events.events]
        assert levels == list(range(50)), levels
    finally:
        await safe_disconnect(direct)
        await safe_disconnect(client)
    no_panic(gw)


# ---------------------------------------------------------------------------------------------
# Data-change filters (OPC 10000-4 §7.22.2): deadband absolute and percent (of EURange), and the
# Status / StatusValue / StatusValueTimestamp triggers, on the gateway's own tags and on items
# forwarded from an upstream server.
# ---------------------------------------------------------------------------------------------

DEADBAND_TAG = {"name": "Dead", "interval_ms": 1000, "tags": [
    {"name": "Level", "type": "Double", "waveform": "constant", "writable": True, "eu_low": 0.0, "eu_high": 200.0},
]}


def change_filter(trigger: str = "StatusValue", deadband: str = "None_", value: float = 0.0) -> ua.DataChangeFilter:
    f = ua.DataChangeFilter()
    f.Trigger = getattr(ua.DataChangeTrigger, trigger)
    f.DeadbandType = getattr(ua.DeadbandType, deadband).value
    f.DeadbandValue = value
    return f


FILTERS = {
    "absolute": lambda absolute, _pct: change_filter("StatusValue", "Absolute", absolute),
    "percent": lambda _abs, pct: change_filter("StatusValue", "Percent", pct),
    "status": lambda _abs, _pct: change_filter("Status"),
    "status_value": lambda _abs, _pct: None,  # no filter: the default trigger
    "status_value_timestamp": lambda _abs, _pct: change_filter("StatusValueTimestamp"),
}


async def filtered_items(client, node, absolute: float, percent: float) -> dict[str, Values]:
    """One subscription (50 ms) per filter of FILTERS on `node`; their handlers by name."""
    out = {}
    for name, make in FILTERS.items():
        handler = Values()
        sub = await client.create_subscription(50, handler)
        handle = await sub._subscribe(node, ua.AttributeIds.Value, make(absolute, percent), queuesize=100, sampling_interval=0)
        assert isinstance(handle, int), (name, handle)
        out[name] = handler
    return out


async def settle(handlers: dict[str, Values], last: float, timeout: float = 10) -> None:
    """Until the items that report every value change have seen `last`, then one more second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and last not in [v for v, _ in handlers["status_value"].seen]:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)


def reported(handlers: dict[str, Values]) -> dict[str, list]:
    return {name: [v for v, _ in h.seen] for name, h in handlers.items()}


@sync
async def test_deadband_and_trigger_filters_on_own_tags(gateway_factory, client_cert):
    gw = gateway_factory.start({"simulator": [DEADBAND_TAG], "server": {"anonymous_roles": ["read", "write"]}})
    client = await connect(gw, client_cert)
    try:
        ns = await client.get_namespace_index("urn:fxgate:tags")
        node = client.get_node(ua.NodeId("Dead/Level", ns))
        await node.write_value(ua.Variant(0.0, ua.VariantType.Double))
        # absolute 5; percent 10 % of EURange 0..200 = 20
        handlers = await filtered_items(client, node, 5.0, 10.0)
        await asyncio.sleep(0.5)
        writes = [3.0, 6.0, 12.0, 12.0, 25.0, 26.0, 50.0]
        for v in writes:
            await node.write_value(ua.Variant(v, ua.VariantType.Double))
            await asyncio.sleep(0.1)
        await settle(handlers, 50.0)
    finally:
        await safe_disconnect(client)
    assert reported(handlers) == {
        "absolute": [0.0, 6.0, 12.0, 25.0, 50.0],  # |change| > 5 from the last reported value
        "percent": [0.0, 25.0, 50.0],  # > 20
        "status": [0.0],  # value changes alone are not reported
        "status_value": [0.0, 3.0, 6.0, 12.0, 25.0, 26.0, 50.0],  # the second 12 is no change
        "status_value_timestamp": [0.0] + writes,  # the second 12 has its own source timestamp
    }
    no_panic(gw)


@sync
async def test_deadband_and_trigger_filters_on_forwarded_items(gateway_factory, client_cert, peers):
    gw, client, direct, node, up = await forwarded(gateway_factory, client_cert, peers, "Plant.Temperature")
    try:
        await up.write_value(ua.Variant(20.0, ua.VariantType.Double))
        await asyncio.sleep(0.5)
        # absolute 1; percent 5 % of the upstream's EURange 0..100 = 5
        handlers = await filtered_items(client, node, 1.0, 5.0)
        await asyncio.sleep(1.0)
        writes = [20.5, 21.5, 30.0, 30.0, 31.0, 40.0]
        for v in writes:
            await up.write_value(ua.Variant(v, ua.VariantType.Double))
            await asyncio.sleep(0.15)
        await settle(handlers, 40.0)
    finally:
        await safe_disconnect(direct)
        await safe_disconnect(client)
    assert reported(handlers) == {
        "absolute": [20.0, 21.5, 30.0, 40.0],
        "percent": [20.0, 30.0, 40.0],
        "status": [20.0],
        "status_value": [20.0, 20.5, 21.5, 30.0, 31.0, 40.0],
        "status_value_timestamp": [20.0] + writes,
    }
    no_panic(gw)
