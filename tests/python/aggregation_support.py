"""Helpers shared by the aggregation tests (test_aggregation*.py): gateway configuration with
upstreams, the `peers` fixture, waiting for upstream states, notification collectors, event filters."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest
from asyncua import ua

from upstream_peers import start_node_upstream, start_ua_upstream, ua_namespaces

AGG_NS = "urn:fxgate:aggregation"


def sync(fn):
    """Runs an async test body with asyncio.run, bounded to 100 s (the suite has no async
    plugin)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 100))

    return wrapper


def upstream(name: str, peer, **extra) -> dict:
    cfg = {
        "name": name,
        "endpoint_url": peer.url,
        "accept_all_server_certificates": True,
        "reconnect_min_ms": 200,
        "reconnect_max_ms": 1000,
    }
    cfg.update(extra)
    return cfg


def gateway_overrides(*upstreams: dict) -> dict:
    return {
        "server": {"accept_all_certificates": True, "anonymous_roles": ["read", "write"]},
        "upstream": list(upstreams),
    }


@pytest.fixture
def peers():
    """start(kind, name, **options): an upstream peer process ("ua": asyncua, "node":
    node-opcua), stopped after the test."""
    started = []

    def start(kind: str, name: str = "", **kw):
        p = start_node_upstream(**kw) if kind == "node" else start_ua_upstream(name, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


async def wait_connected(client, names: list[str], timeout: float = 20.0) -> None:
    ns = await client.get_namespace_index(AGG_NS)
    deadline = time.monotonic() + timeout
    while True:
        states = {}
        for n in names:
            states[n] = await client.get_node(ua.NodeId(f"fxgate/Upstreams/{n}/State", ns)).read_value()
        if all(s == "Connected" for s in states.values()):
            return
        if time.monotonic() > deadline:
            errors = {
                n: await client.get_node(ua.NodeId(f"fxgate/Upstreams/{n}/LastError", ns)).read_value()
                for n in names
            }
            raise AssertionError(f"upstreams not connected: {states} {errors}")
        await asyncio.sleep(0.2)


async def plant_node(client, upstream_name: str, peer_name: str, ident: str):
    plant_uri, _ = ua_namespaces(peer_name)
    ns = await client.get_namespace_index(f"{upstream_name}/{plant_uri}")
    return client.get_node(ua.NodeId(ident, ns))


def code_name(dv: ua.DataValue) -> str:
    """The name of a DataValue's status code without its info bits: async-opcua's server sets
    the Overflow bit (0x80) when a queue of size 1 drops a value (e.g. the last Good one for
    the Bad_NoCommunication that replaces it)."""
    return ua.StatusCode(dv.StatusCode.value & 0xFFFF0000).name


async def of_type_filter(evtype, fields: list[str] | None = None) -> ua.EventFilter:
    """The fields of `evtype` (as asyncua selects them; or only the BaseEventType `fields`
    named) and the where clause OfType(evtype), as node-opcua and UaExpert filter. (asyncua's
    default where clause, EventType InList [...], never matches on an async-opcua 0.19 server:
    its filter compares only numbers and Booleans, so it drops such events on every node of the
    gateway, not only forwarded ones.)"""
    from asyncua.common.events import select_clauses_from_evtype

    f = ua.EventFilter()
    if fields is None:
        f.SelectClauses = await select_clauses_from_evtype([evtype])
    else:
        f.SelectClauses = [
            ua.SimpleAttributeOperand(
                TypeDefinitionId=ua.NodeId(ua.ObjectIds.BaseEventType),
                BrowsePath=[ua.QualifiedName(name, 0)],
                AttributeId=ua.AttributeIds.Value,
            )
            for name in fields
        ]
    el = ua.ContentFilterElement()
    el.FilterOperator = ua.FilterOperator.OfType
    el.FilterOperands = [ua.LiteralOperand(Value=ua.Variant(evtype.nodeid))]
    f.WhereClause.Elements = [el]
    return f


class Collector:
    """asyncua subscription handler: (NodeId, value, DataValue, monotonic time) per notification."""

    def __init__(self):
        self.changes: list[tuple[ua.NodeId, object, ua.DataValue, float]] = []

    def datachange_notification(self, node, val, data):
        self.changes.append((node.nodeid, val, data.monitored_item.Value, time.monotonic()))

    def since(self, t: float) -> list[ua.DataValue]:
        return [c[2] for c in self.changes if c[3] >= t]

    def good_since(self, t: float) -> list[ua.DataValue]:
        return [dv for dv in self.since(t) if dv.StatusCode.is_good() and dv.Value.Value is not None]

    def after_loss(self, t: float) -> list[ua.DataValue]:
        """The notifications from the first Bad_NoCommunication after t on (asserts there is
        one; a Good one sampled before the loss may still arrive between t and it)."""
        since = self.since(t)
        bad = [i for i, dv in enumerate(since) if code_name(dv) == "BadNoCommunication"]
        assert bad, f"no Bad_NoCommunication notification after the upstream went away: {since}"
        return since[bad[0]:]

    @property
    def values(self) -> list:
        return [c[1] for c in self.changes]


async def wait_for(pred, timeout: float, what: str, interval: float = 0.1):
    """Polls pred (sync or async) until it returns something true; that is returned."""
    deadline = time.monotonic() + timeout
    while True:
        r = pred()
        if asyncio.iscoroutine(r):
            r = await r
        if r:
            return r
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


class Diag:
    """The gateway's diagnostics of one upstream: Objects/fxgate/Upstreams/<name>/..."""

    def __init__(self, client, ns: int, name: str):
        self.client = client
        self.ns = ns
        self.name = name

    @classmethod
    async def of(cls, client, name: str) -> "Diag":
        return cls(client, await client.get_namespace_index(AGG_NS), name)

    async def read(self, what: str):
        return await self.client.get_node(ua.NodeId(f"fxgate/Upstreams/{self.name}/{what}", self.ns)).read_value()

    async def state(self) -> str:
        return await self.read("State")

    async def last_error(self) -> str:
        return await self.read("LastError")

    async def reconnects(self) -> int:
        return int(await self.read("ReconnectCount"))

    async def snapshot(self) -> dict:
        return {"State": await self.state(), "LastError": await self.last_error(),
                "ReconnectCount": await self.reconnects()}

    async def wait_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while await self.state() != "Connected":
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name} not Connected within {timeout} s: {await self.snapshot()}")
            await asyncio.sleep(0.1)

    async def wait_error(self, pred, timeout: float, what: str) -> str:
        """Waits until LastError satisfies pred while the upstream is not Connected."""
        deadline = time.monotonic() + timeout
        while True:
            snap = await self.snapshot()
            if snap["State"] != "Connected" and pred(snap["LastError"]):
                return snap["LastError"]
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {snap}")
            await asyncio.sleep(0.1)

    async def stays_unconnected(self, attempts: int, timeout: float, check=None) -> dict:
        """Watches `attempts` more connection attempts (ReconnectCount) fail: the state is never
        Connected meanwhile, and `check(snapshot)` (if given) holds at every poll."""
        start = await self.reconnects()
        deadline = time.monotonic() + timeout
        while True:
            snap = await self.snapshot()
            assert snap["State"] != "Connected", f"{self.name} connected although it must not: {snap}"
            if check is not None:
                check(snap)
            if snap["ReconnectCount"] >= start + attempts:
                return snap
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: fewer than {attempts} further attempts within {timeout} s: {snap}")
            await asyncio.sleep(0.1)
