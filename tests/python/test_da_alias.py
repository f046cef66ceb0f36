"""ComAlias ItemIDs of the DA item API (seed 000 §4.8, docs/interfaces.md "DA item API"): an upstream
with `alias = "PLC1"` on its plant namespace gets DA ItemIDs like the TwinCAT OPC DA server's,
`PLC1.Plant.Counter`, in browse, read, write and groups; the `ns-<k>;s-…` form keeps working; unknown
aliases (and aliases whose upstream never connected) are unknown items.

The upstream is tests/python/ua_upstream.py (asyncua); every check against the DA API is compared with
what an asyncua client reads through the gateway.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
import urllib.parse
from types import SimpleNamespace

from asyncua import ua

from aggregation_support import gateway_overrides, upstream, wait_connected
from fxgate_testlib import connect, free_port, safe_disconnect
from test_da_api import collect, get_item, http, item_path, write, ws_url
from upstream_peers import ua_namespaces

ALIAS = "PLC1"
COUNTER = f"{ALIAS}.Plant.Counter"
SETPOINT = f"{ALIAS}.Plant.Setpoint"
UNKNOWN_ITEM = "OPC_E_UNKNOWNITEMID"


def aliased_upstream(peer) -> dict:
    """`[[upstream]]` plc1 at `peer.url` with the alias PLC1 on the alpha peer's plant namespace."""
    plant_uri, _ = ua_namespaces("alpha")
    return upstream("plc1", peer, alias=ALIAS, alias_namespace=plant_uri)


def through_gateway(gw, cert, body):
    """Runs `body(client, plant_ns)` with an asyncua client of the gateway once plc1 is
    connected; plant_ns is the gateway's index of plc1's plant namespace."""

    async def main():
        client = await connect(gw, cert)
        try:
            await wait_connected(client, ["plc1"])
            plant_ns = await client.get_namespace_index(f"plc1/{ua_namespaces('alpha')[0]}")
            return await body(client, plant_ns)
        finally:
            await safe_disconnect(client)

    return asyncio.run(asyncio.wait_for(main(), 60))


def wait_plc1(gw, cert) -> None:
    async def nothing(client, plant_ns):
        return None

    through_gateway(gw, cert, nothing)


def ua_value(gw, cert, ident: str):
    async def body(client, plant_ns):
        return await client.get_node(ua.NodeId(ident, plant_ns)).read_value()

    return through_gateway(gw, cert, body)


def table_index(gw, uri: str) -> int:
    """Index of `uri` in the gateway's persisted namespace table (the `ns-<k>` of ItemIDs)."""
    table = tomllib.loads((gw.data_dir / "namespaces.toml").read_text())
    return table["namespaces"].index(uri)


def browse(gw, branch: str) -> dict:
    status, body = http(gw, "GET", "/da/browse?branch=" + urllib.parse.quote(branch, safe=""))
    assert status == 200, f"browse {branch}: HTTP {status} {body}"
    return body


def by_name(entries: list[dict]) -> dict[str, str]:
    return {e["name"]: e["item_id"] for e in entries}


def read(gw, items: list[str]) -> list[dict]:
    status, body = http(gw, "POST", "/da/read", {"items": items})
    assert status == 200, body
    assert [r["item_id"] for r in body["results"]] == items, body
    return body["results"]


def test_browse_read_write_with_alias(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(aliased_upstream(a)))
    wait_plc1(gw, client_cert)

    # browse: Objects -> plc1 (aggregation namespace, not aliased) -> PLC1.Plant -> PLC1.Plant.*
    root = by_name(browse(gw, "i-85")["branches"])
    assert "plc1" in root and not root["plc1"].startswith(f"{ALIAS}."), root
    folder = by_name(browse(gw, root["plc1"])["branches"])
    assert folder.get("Plant") == f"{ALIAS}.Plant", folder
    plant = browse(gw, f"{ALIAS}.Plant")
    assert plant["branch"] == f"{ALIAS}.Plant", plant
    items = by_name(plant["items"])
    assert items.get("Counter") == COUNTER and items.get("Setpoint") == SETPOINT, items
    assert all(i.startswith(f"{ALIAS}.Plant.") for i in items.values()), items

    # read: between two asyncua reads through the gateway of the counting Counter
    async def counter_around_da(client, plant_ns):
        node = client.get_node(ua.NodeId("Plant.Counter", plant_ns))
        before = await node.read_value()
        da = await asyncio.to_thread(get_item, gw, COUNTER)
        after = await node.read_value()
        return before, da, after

    before, da, after = through_gateway(gw, client_cert, counter_around_da)
    assert da["item_id"] == COUNTER and da["error"] == "S_OK", da
    assert da["quality"] == 192 and da["canonical_type"] == "VT_I4", da
    assert isinstance(da["value"], int) and before <= da["value"] <= after, (before, da, after)

    # write by aliased ItemID: the upstream value changes
    assert [r["error"] for r in write(gw, [{"item_id": SETPOINT, "value": 12.5}])] == ["S_OK"]
    assert ua_value(gw, client_cert, "Plant.Setpoint") == 12.5
    assert get_item(gw, SETPOINT)["value"] == 12.5

    # the ns-<k> form of the same nodes still works, with the persisted table's index
    k = table_index(gw, f"plc1/{ua_namespaces('alpha')[0]}")
    plain_counter, plain_setpoint = f"ns-{k};s-Plant.Counter", f"ns-{k};s-Plant.Setpoint"
    res = read(gw, [plain_counter, COUNTER])
    assert all(r["error"] == "S_OK" and r["quality"] == 192 for r in res), res
    assert abs(res[0]["value"] - res[1]["value"]) <= 20, res  # 100 ms per count
    assert [r["error"] for r in write(gw, [{"item_id": plain_setpoint, "value": -3.25}])] == ["S_OK"]
    assert ua_value(gw, client_cert, "Plant.Setpoint") == -3.25
    assert get_item(gw, SETPOINT)["value"] == -3.25


def test_unknown_aliases_are_unknown_items(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(aliased_upstream(a)))
    wait_plc1(gw, client_cert)

    # an alias nobody configured, and the configured one in another case (aliases match exactly)
    unknown = ["PLC9.Plant.Counter", "plc1.Plant.Counter"]
    res = read(gw, [COUNTER, *unknown])
    assert res[0]["error"] == "S_OK", res
    assert [r["error"] for r in res[1:]] == [UNKNOWN_ITEM] * 2, res
    for item_id in unknown:
        status, body = http(gw, "GET", item_path(item_id))
        assert (status, body["error"]) == (404, UNKNOWN_ITEM), body
    res = write(gw, [{"item_id": "PLC9.Plant.Setpoint", "value": 99.0}])
    assert res[0]["error"] == UNKNOWN_ITEM, res
    assert ua_value(gw, client_cert, "Plant.Setpoint") == 1.0  # untouched
    # a malformed ItemID is still a syntax error, not an unknown alias
    assert read(gw, ["PLC-1.Plant.Counter"])[0]["error"] == "OPC_E_INVALIDITEMID"


def test_group_reports_aliased_item_ids(gateway_factory, client_cert, peers):
    import websockets

    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(aliased_upstream(a)))
    wait_plc1(gw, client_cert)

    async def main():
        async with websockets.connect(ws_url(gw)) as ws:
            await ws.send(json.dumps({"items": [COUNTER, "PLC9.Plant.Counter"], "update_rate_ms": 200}))
            group = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert [r["error"] for r in group["items"]] == ["S_OK", UNKNOWN_ITEM], group
            return await collect(ws, 2.0)

    msgs = asyncio.run(main())
    values = [m["value"] for m in msgs if m["item_id"] == COUNTER and m["quality"] == 192]
    assert len(values) >= 3 and values == sorted(values), msgs  # the counter counts
    assert {m["item_id"] for m in msgs} == {COUNTER}, msgs


def test_alias_is_unknown_until_the_upstream_first_connects(gateway_factory, client_cert, peers):
    # nothing listens there yet: the namespace is not in the table
    port = free_port()
    gw = gateway_factory.start(gateway_overrides(aliased_upstream(SimpleNamespace(url=f"opc.tcp://127.0.0.1:{port}/"))))
    res = read(gw, [COUNTER])
    assert res[0]["error"] == UNKNOWN_ITEM, res
    status, body = http(gw, "GET", item_path(SETPOINT))
    assert (status, body["error"]) == (404, UNKNOWN_ITEM), body
    res = write(gw, [{"item_id": SETPOINT, "value": 2.0}])
    assert res[0]["error"] == UNKNOWN_ITEM, res
    # the gateway is still serving
    assert "Server" in by_name(browse(gw, "i-85")["branches"])
    assert gw.proc.poll() is None

    # the upstream appears: the API's existing session now resolves the alias
    peers("ua", "alpha", port=port)
    wait_plc1(gw, client_cert)
    res = read(gw, [COUNTER])
    assert res[0]["error"] == "S_OK" and res[0]["quality"] == 192, res
    assert [r["error"] for r in write(gw, [{"item_id": SETPOINT, "value": 2.0}])] == ["S_OK"]
    assert ua_value(gw, client_cert, "Plant.Setpoint") == 2.0
