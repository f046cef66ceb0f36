"""Overload: more sessions, subscriptions and monitored items than `[server]` allows.

fxgate refuses what goes beyond its configured limits with the status codes of OPC 10000-4
(BadTooManySessions, BadTooManySubscriptions, BadTooManyMonitoredItems) and goes on serving
the sessions it has. Real asyncua clients over the None policy (allowed here for speed: the
limits do not depend on the security policy).

* a storm of 200 clients connecting at once against `max_sessions = 20` (4 of them taken
  beforehand): exactly 16 get in, 184 see BadTooManySessions; every admitted session reads a
  changing simulator tag during and after the storm; the refused ones leave nothing behind, so
  closed sessions free their places for new clients, and no more.
* 10 clients each asking for 10,000 monitored items in one subscription against
  `max_monitored_items_per_subscription = 5000`: each gets 5,000, every call beyond is refused
  as a whole with BadTooManyMonitoredItems and creates nothing; all 10 subscriptions deliver,
  and a fresh session reads. The clients split their requests as the server's capabilities
  say: no call has more items than ServerCapabilities.MaxArrayLength (async-opcua's decoding
  limit, 1000; a larger array is answered with a ServiceFault BadDecodingError although
  OperationLimits.MaxMonitoredItemsPerCall says 100000) or MaxMonitoredItemsPerCall.
* `max_subscriptions_per_session = 3`: the 4th subscription of a session is refused with
  BadTooManySubscriptions, per session; the three go on publishing.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request

from asyncua import Client, ua

from fxgate_testlib import demo_simulator, safe_disconnect, status_name, tags_ns

GET_MONITORED_ITEMS = ua.NodeId(ua.ObjectIds.Server_GetMonitoredItems)


async def connect_none(gw) -> Client:
    """A session over the None policy. asyncua's liveness probe (a read every
    `watchdog_intervall` s that must answer within as long, or the client drops the
    connection) is widened from 1 s to 10 s: one Python process plays all the clients here,
    and its event loop, decoding thousands of notifications, can be busy for a second (the
    server answered a probe from another process within 40 ms all the while when measured)."""
    client = Client(gw.url, timeout=20, watchdog_intervall=10)
    client.name = "fxgate-tests"
    await client.connect()
    return client


async def try_connect(gw) -> Client | BaseException:
    """A session, or the exception connecting raised."""
    try:
        return await connect_none(gw)
    except Exception as e:  # noqa: BLE001 - the test sorts the outcomes
        return e


def outcome(r: Client | BaseException) -> str:
    if isinstance(r, Client):
        return "session"
    return status_name(r) or f"{type(r).__name__}: {r}"


async def wait_for(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)


# ============================================================================================
# Sessions
# ============================================================================================


class Reader:
    """Reads Demo/Counter (a simulator counter, +1 every 100 ms) over one session in a loop."""

    def __init__(self, name: str, client: Client, node):
        self.name, self.client, self.node = name, client, node
        self.reads: list[tuple[float, ua.DataValue]] = []  # (monotonic time the read returned, value)
        self.error: BaseException | None = None
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while not self.stop.is_set():
                dv = await self.node.read_data_value()
                self.reads.append((time.monotonic(), dv))
                await asyncio.sleep(0.05)
        except Exception as e:  # noqa: BLE001 - asserted on below
            self.error = e

    @classmethod
    async def start(cls, name: str, client: Client) -> "Reader":
        ns = await tags_ns(client)
        return cls(name, client, client.get_node(ua.NodeId("Demo/Counter", ns)))

    def after(self, t: float) -> list[ua.DataValue]:
        return [dv for at, dv in self.reads if at > t]

    def between(self, t0: float, t1: float) -> list[ua.DataValue]:
        return [dv for at, dv in self.reads if t0 <= at <= t1]

    def check(self) -> None:
        """Every read Good, and the counter and its source timestamp moved on."""
        assert self.error is None, f"{self.name}: reading failed: {self.error!r}"
        bad = [dv for _, dv in self.reads if not dv.StatusCode.is_good()]
        assert not bad, f"{self.name}: reads not Good: {bad[:3]}"
        first, last = self.reads[0][1], self.reads[-1][1]
        assert last.Value.Value > first.Value.Value, f"{self.name}: Demo/Counter did not advance: {first} → {last}"
        assert last.SourceTimestamp > first.SourceTimestamp, f"{self.name}: source timestamp did not advance"
        values = [dv.Value.Value for _, dv in self.reads]
        assert values == sorted(values), f"{self.name}: Demo/Counter went backwards: {values}"


def open_sessions(gw) -> int:
    """`fxgate_opcua_sessions` of /metrics (the server's CurrentSessionCount, sampled each second)."""
    with urllib.request.urlopen(f"{gw.http_base}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^fxgate_opcua_sessions (\d+)$", text, re.M)
    assert m, f"fxgate_opcua_sessions not in /metrics:\n{text}"
    return int(m.group(1))


async def wait_open_sessions(gw, n: int) -> None:
    seen: list[int] = []

    async def probe() -> bool:
        seen.append(await asyncio.to_thread(open_sessions, gw))
        return seen[-1] == n

    deadline = time.monotonic() + 10
    while not await probe():
        assert time.monotonic() < deadline, f"open sessions in /metrics: {seen[-5:]}, expected {n}"
        await asyncio.sleep(0.2)


def test_session_storm(gateway_factory):
    max_sessions, steady_n, storm_n = 20, 4, 200
    gw = gateway_factory.start({
        "server": {"allow_none": True, "max_sessions": max_sessions},
        "simulator": [demo_simulator(interval_ms=100)],
    })

    async def main():
        steady = [await connect_none(gw) for _ in range(steady_n)]
        readers = [await Reader.start(f"steady session {i}", c) for i, c in enumerate(steady)]
        admitted: list[Client] = []
        later: list[Client | BaseException] = []
        try:
            # 1. the storm: 200 at once; each admitted session starts reading at once
            async def storm_client(i: int):
                r = await try_connect(gw)
                if isinstance(r, Client):
                    admitted.append(r)
                    readers.append(await Reader.start(f"storm session {i}", r))
                return r

            t0 = time.monotonic()
            results = await asyncio.gather(*(storm_client(i) for i in range(storm_n)))
            t1 = time.monotonic()
            outcomes = [outcome(r) for r in results]
            allowed = max_sessions - steady_n
            assert outcomes.count("session") == allowed, f"{outcomes.count('session')} of {storm_n} got a session, " \
                f"{allowed} places were free: {sorted(set(outcomes))}"
            others = [o for o in outcomes if o != "session"]
            assert others == ["BadTooManySessions"] * (storm_n - allowed), \
                f"the refused clients saw: { {o: others.count(o) for o in set(others)} }"
            for r in readers[:steady_n]:
                assert r.between(t0, t1), f"{r.name}: no read returned while the storm lasted ({t1 - t0:.1f} s)"

            # 2. after the storm: every session, old and new, keeps reading
            await wait_for(lambda: all(len(r.after(t1)) >= 3 for r in readers), 20,
                           "3 reads after the storm on every admitted session")
            for r in readers:
                r.stop.set()
            await asyncio.gather(*(r.task for r in readers))
            assert len(readers) == max_sessions
            for r in readers:
                r.check()
            await wait_open_sessions(gw, max_sessions)

            # 3. the limit holds after the storm: one more is refused
            r = await try_connect(gw)
            if isinstance(r, Client):
                later.append(r)
            assert outcome(r) == "BadTooManySessions", f"a client while the server is full: {outcome(r)}"

            # 4. the storm's sessions close: exactly their places are free again (the 184 refused
            #    clients hold none), new clients take them, and one more is refused
            await asyncio.gather(*(c.disconnect() for c in admitted))
            admitted.clear()
            await wait_open_sessions(gw, steady_n)
            later.extend(await asyncio.gather(*(try_connect(gw) for _ in range(allowed))))
            assert [outcome(r) for r in later] == ["session"] * allowed, [outcome(r) for r in later]
            for c in later:
                ns = await tags_ns(c)
                dv = await c.get_node(ua.NodeId("Demo/Counter", ns)).read_data_value()
                assert dv.StatusCode.is_good(), dv
            r = await try_connect(gw)
            if isinstance(r, Client):
                later.append(r)
            assert outcome(r) == "BadTooManySessions", f"the 21st session: {outcome(r)}"
        finally:
            for rd in readers:
                rd.stop.set()
            await asyncio.gather(*(safe_disconnect(c) for c in [*steady, *admitted, *later] if isinstance(c, Client)))

    asyncio.run(main())


# ============================================================================================
# Monitored items
# ============================================================================================

LIVE = 50  # counters in every subscription (they change every second)
WANTED = 10_000  # items each client asks for
LIMIT = 5_000  # max_monitored_items_per_subscription
CLIENTS = 10

BIG_SIMULATOR = {
    "name": "Big",
    "interval_ms": 1000,
    "tags": [
        {"name": "L", "type": "UInt32", "waveform": "counter", "count": LIVE},
        {"name": "C", "type": "Int32", "waveform": "constant", "initial": 7, "count": WANTED - LIVE},
    ],
}


class Changes:
    """Data change notifications of one subscription, by tag path, and status changes."""

    def __init__(self):
        self.values: dict[str, list] = {}
        self.status: list = []

    def datachange_notification(self, node, val, data):
        self.values.setdefault(node.nodeid.Identifier, []).append(val)

    def status_change_notification(self, status):
        self.status.append(status)


async def items_per_call(client: Client) -> int:
    """The most items a client may put in one CreateMonitoredItems call, by the server's word."""
    caps = ua.ObjectIds
    max_array = await client.get_node(caps.Server_ServerCapabilities_MaxArrayLength).read_value()
    per_call = await client.get_node(caps.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall).read_value()
    return min(n for n in (max_array, per_call, WANTED) if n)


async def create(sub, nodes) -> str:
    """One CreateMonitoredItems call: "Good", the service result, or the first bad item result."""
    try:
        res = await sub.subscribe_data_change(nodes, queuesize=1)
    except ua.UaStatusCodeError as e:
        return status_name(e)
    bad = [r for r in res if isinstance(r, ua.StatusCode)]
    return "Good" if not bad else f"{len(bad)} items {bad[0]}"


async def monitored_item_count(client: Client, sub) -> int:
    server_handles, _client_handles = await client.nodes.server.call_method(
        GET_MONITORED_ITEMS, ua.Variant(sub.subscription_id, ua.VariantType.UInt32))
    return len(server_handles or [])


def test_monitored_items_per_subscription(gateway_factory):
    gw = gateway_factory.start({
        # write: Server.GetMonitoredItems is a method call
        "server": {"allow_none": True, "max_monitored_items_per_subscription": LIMIT, "anonymous_roles": ["read", "write"]},
        "simulator": [BIG_SIMULATOR],
    })
    paths = [f"Big/L{i}" for i in range(LIVE)] + [f"Big/C{i}" for i in range(WANTED - LIVE)]

    async def one_client(i: int, clients: list):
        client = await connect_none(gw)
        clients.append(client)
        ns = await tags_ns(client)
        batch = await items_per_call(client)
        changes = Changes()
        sub = await client.create_subscription(500, changes)
        nodes = [client.get_node(ua.NodeId(p, ns)) for p in paths]
        # 1. ask for all 10,000: the calls within the limit are granted, the others refused whole
        created, calls, expected = 0, [], []
        for start in range(0, WANTED, batch):
            part = nodes[start:start + batch]
            calls.append(await create(sub, part))
            expected.append("Good" if created + len(part) <= LIMIT else "BadTooManyMonitoredItems")
            created += len(part) if calls[-1] == "Good" else 0
        assert calls == expected, f"client {i}: CreateMonitoredItems of {batch} items each: {calls}"
        assert "BadTooManyMonitoredItems" in calls, f"client {i}"
        # 2. up to the limit exactly (when the calls did not end on it): granted
        taken = [p for c, s in zip(calls, range(0, WANTED, batch)) if c == "Good" for p in paths[s:s + batch]]
        granted = set(taken)
        rest = [p for p in paths if p not in granted][:LIMIT - created]
        for start in range(0, len(rest), batch):
            part = rest[start:start + batch]
            assert await create(sub, [client.get_node(ua.NodeId(p, ns)) for p in part]) == "Good", f"client {i}"
            taken += part
        granted = set(taken)
        # 3. one more, alone: refused
        beyond = next(p for p in paths if p not in granted)
        assert await create(sub, [client.get_node(ua.NodeId(beyond, ns))]) == "BadTooManyMonitoredItems", \
            f"client {i}: item {LIMIT + 1}"
        assert await monitored_item_count(client, sub) == LIMIT, f"client {i}: items in the subscription"
        return changes, taken

    async def main():
        clients: list[Client] = []
        try:
            results = await asyncio.gather(*(one_client(i, clients) for i in range(CLIENTS)))

            # every subscription delivers: the first value of a sample of its constant items,
            # and changes of its counters
            def sample(taken: list[str]) -> tuple[list[str], list[str]]:
                consts = [p for p in taken if p.startswith("Big/C")]
                return consts[::250], [p for p in taken if p.startswith("Big/L")][::7]

            def delivered(changes: Changes, taken: list[str]) -> bool:
                consts, live = sample(taken)
                return bool(live) and all(changes.values.get(p) for p in consts) and \
                    all(len(set(changes.values.get(p, []))) >= 2 for p in live)

            await wait_for(lambda: all(delivered(c, t) for c, t in results), 30,
                           "initial values of a sample and changes of the counters on all 10 subscriptions")
            for i, (changes, taken) in enumerate(results):
                consts, _ = sample(taken)
                assert all(set(changes.values[p]) == {7} for p in consts), f"client {i}: constant items"
                assert not changes.status, f"client {i}: the subscription's status changed: {changes.status}"
                stray = set(changes.values) - set(taken)
                assert not stray, f"client {i}: notifications for items never granted: {sorted(stray)[:5]}"

            # a fresh session reads
            fresh = await connect_none(gw)
            clients.append(fresh)
            ns = await tags_ns(fresh)
            dvs = await fresh.read_values([fresh.get_node(ua.NodeId(p, ns)) for p in ("Big/L0", paths[-1])])
            assert isinstance(dvs[0], int) and dvs[1] == 7, dvs
        finally:
            await asyncio.gather(*(safe_disconnect(c) for c in clients))

    asyncio.run(main())


# ============================================================================================
# Subscriptions
# ============================================================================================


class Publishes:
    def __init__(self):
        self.values: list = []
        self.status: list = []

    def datachange_notification(self, node, val, data):
        self.values.append(val)

    def status_change_notification(self, status):
        self.status.append(status)


def test_server_capabilities_name_the_limits(gateway_factory):
    """ServerCapabilities carries the configured limits (async-opcua leaves them null), so a client
    learns them before it hits them."""
    gw = gateway_factory.start({"server": {
        "allow_none": True, "max_sessions": 20, "max_subscriptions_per_session": 3,
        "max_monitored_items_per_subscription": 5_000, "max_queue_size": 77,
    }})
    ids = {"MaxSessions": 24095, "MaxSubscriptions": 24096, "MaxSubscriptionsPerSession": 24098,
           "MaxMonitoredItemsPerSubscription": 24104, "MaxMonitoredItemsQueueSize": 31916}

    async def main():
        client = await connect_none(gw)
        try:
            got = {}
            for name, i in ids.items():
                node = client.get_node(ua.NodeId(i))
                assert (await node.read_browse_name()).Name == name
                dv = await node.read_data_value()
                assert dv.Value.VariantType == ua.VariantType.UInt32, (name, dv.Value)
                got[name] = dv.Value.Value
            # the timestamps asked for, and no others
            for asked, source, server in ((ua.TimestampsToReturn.Neither, False, False),
                                          (ua.TimestampsToReturn.Server, False, True),
                                          (ua.TimestampsToReturn.Both, True, True)):
                params = ua.ReadParameters()
                params.TimestampsToReturn = asked
                params.NodesToRead = [ua.ReadValueId(NodeId=ua.NodeId(24095), AttributeId=ua.AttributeIds.Value)]
                [dv] = await client.uaclient.read(params)
                assert (dv.SourceTimestamp is not None, dv.ServerTimestamp is not None) == (source, server), (asked, dv)
            return got
        finally:
            await safe_disconnect(client)

    assert asyncio.run(main()) == {"MaxSessions": 20, "MaxSubscriptions": 60, "MaxSubscriptionsPerSession": 3,
                                   "MaxMonitoredItemsPerSubscription": 5_000, "MaxMonitoredItemsQueueSize": 77}


def test_subscriptions_per_session(gateway_factory):
    limit = 3
    gw = gateway_factory.start({
        "server": {"allow_none": True, "max_subscriptions_per_session": limit},
        "simulator": [demo_simulator(interval_ms=100)],
    })

    async def fill(client: Client) -> list:
        """`limit` subscriptions on Demo/Counter: [(subscription, handler)]."""
        ns = await tags_ns(client)
        counter = client.get_node(ua.NodeId("Demo/Counter", ns))
        subs = []
        for _ in range(limit):
            h = Publishes()
            sub = await client.create_subscription(100, h)
            await sub.subscribe_data_change(counter)
            subs.append((sub, h))
        return subs

    async def one_more(client: Client) -> str:
        try:
            await client.create_subscription(100, Publishes())
        except ua.UaStatusCodeError as e:
            return status_name(e)
        return "Good"

    async def main():
        a = await connect_none(gw)
        b = None
        try:
            subs_a = await fill(a)
            assert await one_more(a) == "BadTooManySubscriptions"
            # the limit is per session: another session gets its own three
            b = await connect_none(gw)
            subs_b = await fill(b)
            assert await one_more(b) == "BadTooManySubscriptions"
            # the refused attempts disturbed none: all six publish changes of Demo/Counter
            handlers = [h for _, h in [*subs_a, *subs_b]]
            await wait_for(lambda: all(len(set(h.values)) >= 3 for h in handlers), 20,
                           "3 distinct Demo/Counter values on each of the 6 subscriptions")
            assert not [h.status for h in handlers if h.status], "status changes"
            # a deleted subscription frees its place
            await subs_a[0][0].delete()
            assert await one_more(a) == "Good"
            assert await one_more(a) == "BadTooManySubscriptions"
        finally:
            await safe_disconnect(a)
            await safe_disconnect(b)

    asyncio.run(main())
