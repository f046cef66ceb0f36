"""The tag address space, node by node, against a reference built from the configuration
(`tag_space_reference.py`): every attribute of every folder, tag variable and DA property,
every reference both ways, browse order, continuation points, TranslateBrowsePathsToNodeIds,
RegisterNodes, monitored items on values and on other attributes, and unknown NodeIds."""

from __future__ import annotations

import asyncio

import pytest
from asyncua import ua

from fxgate_testlib import PLANT_SIMULATOR as PLANT
from fxgate_testlib import TAGS_NS_URI, GatewayFactory, connect, demo_simulator, safe_disconnect
from tag_space_reference import OBJECTS, ORGANIZES, browse_all, read_attributes, ref_key, reference

ALL_ATTRIBUTES = [a.name for a in ua.AttributeIds]
# The properties' values, as the configuration gives them.
PROPERTY_VALUES = {
    "Plant/Temp/EURange": lambda v: (v.Low, v.High) == (0.0, 100.0),
    "Plant/Temp/InstrumentRange": lambda v: (v.Low, v.High) == (-50.0, 150.0),
    "Plant/Temp/EngineeringUnits": lambda v: v.DisplayName.Text == "°C" and v.UnitId == -1,
    "Plant/Pump/TrueState": lambda v: v.Text == "Running",
    "Plant/Pump/FalseState": lambda v: v.Text == "Stopped",
    "Plant/Mode/EnumStrings": lambda v: [t.Text for t in v] == ["Stop", "Run", "Fault"],
    "Plant/Flow/EngineeringUnits": lambda v: v.DisplayName.Text == "m³/h",
}
# A folder big enough to need continuation points at 1,000 references per Browse.
WIDE = {"name": "Wide", "interval_ms": 1000,
        "tags": [{"name": f"T{i:04}", "type": "UInt32", "waveform": "counter"} for i in range(2500)]}


@pytest.fixture(scope="module")
def space_gateway(tmp_path_factory):
    factory = GatewayFactory(tmp_path_factory.mktemp("tagspace"))
    # A WebSocket client to a port nothing listens on: its status folder fxgate/WebSockets/cloud
    # is a folder nested three deep.
    ws = {"name": "cloud", "url": "ws://127.0.0.1:9/x", "tags": ["Demo/*"], "reconnect_min_ms": 1000,
          "reconnect_max_ms": 5000}
    gw = factory.start({"simulator": [demo_simulator(), PLANT, WIDE], "websocket": [ws]})
    yield gw
    factory.stop_all()


def expected_nodes(may_write: bool = False):
    return reference({"Demo": demo_simulator()["tags"], "Plant": PLANT["tags"], "Wide": WIDE["tags"][:3]}, may_write)


def test_every_attribute_of_every_node(space_gateway, client_cert):
    """Each node the reference lists answers all 27 attributes as the reference says: its
    value, or BadAttributeIdInvalid for one its class does not have."""

    async def main():
        client = await connect(space_gateway, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            problems = []
            for nid, e in expected_nodes().items():
                got = await read_attributes(client, ns, nid, ALL_ATTRIBUTES)
                assert got["NodeId"] == (ns, nid)
                want = dict(e.attributes)
                want["BrowseName"] = (ns if e.browse_name[0] == "tags" else 0, e.browse_name[1])
                for name in ALL_ATTRIBUTES:
                    if name in ("NodeId", "Value"):
                        continue
                    expect = want.get(name, "BadAttributeIdInvalid")
                    if got[name] != expect:
                        problems.append(f"{nid} {name}: {got[name]!r}, expected {expect!r}")
                if e.node_class == 1:
                    if got["Value"] != "BadAttributeIdInvalid":
                        problems.append(f"{nid} Value of a folder: {got['Value']!r}")
                elif nid in PROPERTY_VALUES:
                    if not PROPERTY_VALUES[nid](got["Value"]):
                        problems.append(f"{nid} Value: {got['Value']!r}")
                elif isinstance(got["Value"], str) and got["Value"].startswith("Bad"):
                    problems.append(f"{nid} Value: {got['Value']}")
            assert not problems, "\n".join(problems)
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_every_reference_both_ways(space_gateway, client_cert):
    """Browse (both directions, all reference types) of each node gives exactly the reference's
    references, with the target's BrowseName, NodeClass and TypeDefinition; Objects organizes
    the source folders and `fxgate`; the order is the same on every Browse."""

    async def main():
        client = await connect(space_gateway, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            nodes = expected_nodes()
            problems = []
            for nid, e in nodes.items():
                refs = await browse_all(client, ns, ua.NodeId(nid, ns))
                keys = {ref_key(ns, r) for r in refs}
                want = set(e.references)
                if nid == "Wide":  # the reference holds 3 of its 2,500 tags
                    keys = {k for k in keys if not (k[1] and k[2][0] == "tags" and k[2][1] not in nodes)}
                if keys != want:
                    problems.append(f"{nid}: extra {keys - want}, missing {want - keys}")
                for r in refs:
                    target = nodes.get(r.NodeId.Identifier) if r.NodeId.NamespaceIndex == ns else None
                    if target is not None:
                        bn = (ns if target.browse_name[0] == "tags" else 0, target.browse_name[1])
                        if (r.BrowseName.NamespaceIndex, r.BrowseName.Name) != bn or r.NodeClass != target.node_class:
                            problems.append(f"{nid} → {target.node_id}: {r.BrowseName} {r.NodeClass}")
                        if r.DisplayName.Text != target.browse_name[1]:
                            problems.append(f"{nid} → {target.node_id}: DisplayName {r.DisplayName}")
                    if r.NodeId.NamespaceIndex == ns and r.IsForward and r.ReferenceTypeId.Identifier != 40:
                        if r.TypeDefinition.NamespaceIndex != 0 or r.TypeDefinition.Identifier == 0:
                            problems.append(f"{nid} → {r.NodeId}: no TypeDefinition")
            assert not problems, "\n".join(problems)

            objects = await browse_all(client, ns, ua.NodeId(OBJECTS))
            ours = [r.NodeId.Identifier for r in objects if r.NodeId.NamespaceIndex == ns]
            assert sorted(ours) == ["Demo", "Plant", "Wide", "fxgate"]
            # the order: `fxgate` first, then the sources as the configuration names them
            assert ours == ["fxgate", "Demo", "Plant", "Wide"], ours
            assert all(r.ReferenceTypeId.Identifier == ORGANIZES and r.IsForward
                       for r in objects if r.NodeId.NamespaceIndex == ns)
            again = await browse_all(client, ns, ua.NodeId(OBJECTS))
            assert [r.NodeId for r in again] == [r.NodeId for r in objects]
            demo1 = await browse_all(client, ns, ua.NodeId("Demo", ns))
            demo2 = await browse_all(client, ns, ua.NodeId("Demo", ns))
            assert [r.NodeId for r in demo1] == [r.NodeId for r in demo2]
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_wide_folder_with_continuation_points(space_gateway, client_cert):
    """2,500 tags in one folder, browsed 1,000 at a time: every one once, through BrowseNext."""

    async def main():
        client = await connect(space_gateway, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            desc = ua.BrowseDescription()
            desc.NodeId = ua.NodeId("Wide", ns)
            desc.BrowseDirection = ua.BrowseDirection.Forward
            desc.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HasComponent)
            desc.IncludeSubtypes = False
            desc.ResultMask = ua.BrowseResultMask.All
            params = ua.BrowseParameters()
            params.NodesToBrowse.append(desc)
            params.View.Timestamp = ua.get_win_epoch()
            params.RequestedMaxReferencesPerNode = 1000
            res = (await client.uaclient.browse(params))[0]
            pages = [len(res.References)]
            names = [r.BrowseName.Name for r in res.References]
            cp = res.ContinuationPoint
            while cp:
                nxt = (await client.uaclient.browse_next(
                    ua.BrowseNextParameters(ReleaseContinuationPoints=False, ContinuationPoints=[cp])))[0]
                assert nxt.StatusCode.is_good(), nxt.StatusCode
                pages.append(len(nxt.References))
                names += [r.BrowseName.Name for r in nxt.References]
                cp = nxt.ContinuationPoint
            assert pages[:3] == [1000, 1000, 500], pages
            assert sorted(names) == [f"T{i:04}" for i in range(2500)]
            assert len(set(names)) == 2500

            # a continuation point released before its end is gone
            res = (await client.uaclient.browse(params))[0]
            assert res.ContinuationPoint
            await client.uaclient.browse_next(
                ua.BrowseNextParameters(ReleaseContinuationPoints=True, ContinuationPoints=[res.ContinuationPoint]))
            gone = (await client.uaclient.browse_next(
                ua.BrowseNextParameters(ReleaseContinuationPoints=False, ContinuationPoints=[res.ContinuationPoint])))[0]
            assert gone.StatusCode.name == "BadContinuationPointInvalid"
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_translate_register_and_unknown_nodes(space_gateway, client_cert):
    """TranslateBrowsePathsToNodeIds from Objects down to a property, a path that does not
    exist, RegisterNodes, and NodeIds of the tags namespace that name nothing."""

    async def main():
        client = await connect(space_gateway, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            objects = client.get_node(ua.ObjectIds.ObjectsFolder)
            eu = await objects.get_child([f"{ns}:Plant", f"{ns}:Temp", "0:EURange"])
            assert eu.nodeid == ua.NodeId("Plant/Temp/EURange", ns)
            wide = await objects.get_child([f"{ns}:Wide", f"{ns}:T2499"])
            assert wide.nodeid == ua.NodeId("Wide/T2499", ns)
            with pytest.raises(ua.UaStatusCodeError) as e:
                await objects.get_child([f"{ns}:Plant", f"{ns}:Nope"])
            assert e.value.code == ua.StatusCodes.BadNoMatch
            with pytest.raises(ua.UaStatusCodeError) as e:
                await objects.get_child([f"{ns}:Plant", "0:Temp"])  # wrong namespace in the name
            assert e.value.code == ua.StatusCodes.BadNoMatch

            registered = await client.register_nodes([client.get_node(ua.NodeId("Demo/Sine", ns))])
            assert isinstance(await registered[0].read_value(), float)
            await client.unregister_nodes(registered)

            for bad in [ua.NodeId("Demo/Nope", ns), ua.NodeId("Nope", ns), ua.NodeId(7, ns),
                        ua.NodeId("Plant/Temp/Nope", ns), ua.NodeId("Plant/Pump/EURange", ns)]:
                got = await read_attributes(client, ns, bad.Identifier, ["BrowseName"]) if isinstance(
                    bad.Identifier, str) else {"BrowseName": (await client.uaclient.read(_read_params(bad)))[0].StatusCode.name}
                assert got["BrowseName"] == "BadNodeIdUnknown", (bad, got)
                # Browse: no references. Its status is Good, not BadNodeIdUnknown: async-opcua's
                # in-memory node managers (the FX ones come after the tags) set Good on every node
                # they are given (async-opcua-server 0.19 node_manager/memory/mod.rs, browse).
                results = await client.uaclient.browse(_browse_params(bad))
                assert not results[0].References, (bad, results[0].References)
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def _read_params(node: ua.NodeId) -> ua.ReadParameters:
    params = ua.ReadParameters()
    rv = ua.ReadValueId()
    rv.NodeId = node
    rv.AttributeId = ua.AttributeIds.BrowseName
    params.NodesToRead.append(rv)
    return params


def _browse_params(node: ua.NodeId) -> ua.BrowseParameters:
    desc = ua.BrowseDescription()
    desc.NodeId = node
    desc.BrowseDirection = ua.BrowseDirection.Both
    desc.ResultMask = ua.BrowseResultMask.All
    params = ua.BrowseParameters()
    params.NodesToBrowse.append(desc)
    params.View.Timestamp = ua.get_win_epoch()
    return params


def test_monitored_items_on_values_and_attributes(space_gateway, client_cert):
    """A monitored item on a tag's Value delivers changes; on a property's Value and on a
    DisplayName it delivers the one value; on a folder's EventNotifier (0) it is refused; on an
    unknown node it is BadNodeIdUnknown."""

    async def main():
        client = await connect(space_gateway, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            got: dict[str, list] = {}

            class Handler:
                def datachange_notification(self, node, val, data):
                    got.setdefault(node.nodeid.Identifier, []).append(val)

            sub = await client.create_subscription(100, Handler())
            items = [client.get_node(ua.NodeId(n, ns)) for n in ("Demo/Counter", "Plant/Temp/EURange")]
            handles = await sub.subscribe_data_change(items)
            assert all(isinstance(h, int) for h in handles), handles
            dn = await sub.subscribe_data_change(client.get_node(ua.NodeId("Plant/Temp", ns)),
                                                 attr=ua.AttributeIds.DisplayName)
            assert isinstance(dn, int)
            for node, attr in [(ua.NodeId("Nope/X", ns), ua.AttributeIds.Value),
                               (ua.NodeId("Demo", ns), ua.AttributeIds.EventNotifier)]:
                with pytest.raises(ua.UaStatusCodeError) as e:
                    await sub.subscribe_data_change(client.get_node(node), attr=attr)
                expected = "BadNodeIdUnknown" if node.Identifier == "Nope/X" else "BadAttributeIdInvalid"
                assert e.value.code == getattr(ua.StatusCodes, expected)
            for _ in range(60):
                if len(got.get("Demo/Counter", [])) >= 3 and "Plant/Temp/EURange" in got and "Plant/Temp" in got:
                    break
                await asyncio.sleep(0.1)
            counts = got.get("Demo/Counter", [])
            assert len(counts) >= 3 and counts == sorted(counts), counts
            assert (got["Plant/Temp/EURange"][0].Low, got["Plant/Temp/EURange"][0].High) == (0.0, 100.0)
            assert got["Plant/Temp"][0].Text == "Temp"
            await sub.delete()
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_nested_status_folders(space_gateway, client_cert):
    """fxgate → WebSockets → cloud: each folder Organizes the next (and is organized by it,
    inversely), the status tags hang below the last with HasComponent, a path through the three
    translates, and a tag there reads like any other."""

    async def main():
        client = await connect(space_gateway, client_cert)
        try:
            ns = await client.get_namespace_index(TAGS_NS_URI)
            chain = ["fxgate", "fxgate/WebSockets", "fxgate/WebSockets/cloud"]
            for parent, child in zip(chain, chain[1:]):
                down = {ref_key(ns, r) for r in await browse_all(client, ns, ua.NodeId(parent, ns))}
                assert (ORGANIZES, True, ("tags", child)) in down, (parent, down)
                up = {ref_key(ns, r) for r in await browse_all(client, ns, ua.NodeId(child, ns))}
                assert (ORGANIZES, False, ("tags", parent)) in up, (child, up)
            top = {ref_key(ns, r) for r in await browse_all(client, ns, ua.NodeId("fxgate", ns))}
            assert (ORGANIZES, False, ("0", OBJECTS)) in top
            cloud = await browse_all(client, ns, ua.NodeId("fxgate/WebSockets/cloud", ns))
            tags = [r.NodeId.Identifier for r in cloud if r.IsForward and r.ReferenceTypeId.Identifier == 47]
            assert "fxgate/WebSockets/cloud/Connected" in tags, tags
            objects = client.get_node(ua.ObjectIds.ObjectsFolder)
            node = await objects.get_child([f"{ns}:fxgate", f"{ns}:WebSockets", f"{ns}:cloud", f"{ns}:Connected"])
            assert node.nodeid == ua.NodeId("fxgate/WebSockets/cloud/Connected", ns)
            assert await node.read_value() is False
            name = await client.get_node(ua.NodeId("fxgate/WebSockets", ns)).read_browse_name()
            assert (name.NamespaceIndex, name.Name) == (ns, "WebSockets")
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
