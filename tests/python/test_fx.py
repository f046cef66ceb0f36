"""OPC UA FX tier 1 (OPC 10000-81) through a Python asyncua client: the acceptance tests of
section 6 "Tier 1" of shared/docs/uafx-digest.md. Methods are called with the raw Call
service (client.uaclient.call) so that Uncertain results and their output arguments are seen
(the high-level helpers raise on any non-Good status)."""
from __future__ import annotations

import asyncio
import functools

import pytest
from asyncua import ua

from fxgate_testlib import connect, hash_password, safe_disconnect

FX_DATA = "http://opcfoundation.org/UA/FX/Data/"
FX_AC = "http://opcfoundation.org/UA/FX/AC/"
FX_CM = "http://opcfoundation.org/UA/FX/CM/"
DI = "http://opcfoundation.org/UA/DI/"
FX_INST = "urn:fxgate:fx"
ADMIN_PW = "fx-admin-pw-1"
OP_PW = "fx-operator-pw-2"


def sync(f):
    @functools.wraps(f)
    def run(*a, **kw):
        return asyncio.run(f(*a, **kw))
    return run


def fx_config() -> dict:
    """A simulator `Cell` and one AutomationComponent `Cell1` over it."""
    return {
        "server": {"anonymous_roles": ["read"]},
        "users": [
            {"name": "admin", "password_hash": hash_password(ADMIN_PW),
             "roles": ["read", "write", "connection_admin"]},
            {"name": "op", "password_hash": hash_password(OP_PW), "roles": ["read", "write"]},
        ],
        "simulator": [{
            "name": "Cell", "interval_ms": 200,
            "tags": [
                {"name": "Speed", "type": "Double", "waveform": "sine"},
                {"name": "Count", "type": "UInt32", "waveform": "counter"},
                {"name": "Target", "type": "Double", "waveform": "constant", "writable": True, "initial": 5.0},
                {"name": "Gain", "type": "Double", "waveform": "constant", "writable": True, "initial": 1.5},
                {"name": "Mode", "type": "Int32", "waveform": "constant", "writable": True, "initial": 1},
            ],
        }],
        "fx": {"automation_component": [{
            "name": "Cell1",
            "sources": ["Cell"],
            "max_connections": 8,
            "max_connections_per_call": 1,
            "asset": [{
                "name": "Drive", "manufacturer": "ACME", "manufacturer_uri": "urn:acme",
                "model": "Drive 3000", "product_code": "DRV-3000", "hardware_revision": "B",
                "software_revision": "2.4.1", "serial_number": "SN-42",
                "major_asset_version": 2, "minor_asset_version": 4,
            }],
            "functional_entity": [{
                "name": "Motion", "author_uri": "urn:acme:motion", "author_assigned_identifier": "MotionFE",
                "author_assigned_version": "1.2.0.0", "hosted_by": ["Drive"],
                "inputs": ["Cell/Target"], "outputs": ["Cell/Speed", "Cell/Count"],
                "configuration": ["Cell/Gain", "Cell/Mode"],
            }],
        }]},
    }


class Fx:
    """Namespace indexes and nodes of the FX model as the client sees them."""

    def __init__(self, client):
        self.c = client

    async def load(self):
        self.data = await self.c.get_namespace_index(FX_DATA)
        self.ac = await self.c.get_namespace_index(FX_AC)
        self.cm = await self.c.get_namespace_index(FX_CM)
        self.di = await self.c.get_namespace_index(DI)
        self.inst = await self.c.get_namespace_index(FX_INST)
        return self

    def node(self, path: str) -> ua.NodeId:
        return ua.NodeId(path, self.inst)

    async def call(self, obj: str, method: str, *args: ua.Variant) -> ua.CallMethodResult:
        req = ua.CallMethodRequest()
        req.ObjectId = self.node(obj)
        req.MethodId = self.node(f"{obj}/{method}")
        req.InputArguments = list(args)
        [res] = await self.c.uaclient.call([req])
        return res


def kv(ns: int, name: str, value: ua.Variant) -> ua.KeyValuePair:
    return ua.KeyValuePair(Key=ua.QualifiedName(name, ns), Value=value)


def code(sc: ua.StatusCode | int) -> str:
    value = sc.value if isinstance(sc, ua.StatusCode) else sc
    return ua.StatusCode(value & 0xFFFF0000).name


def codes(lst) -> list[str]:
    return [code(s) for s in (lst or [])]


# ---------------------------------------------------------------------------------------------
# 1. namespaces and mandatory children
# ---------------------------------------------------------------------------------------------


@sync
async def test_namespaces_fxroot_and_the_mandatory_children_of_an_automation_component(gateway_factory, client_cert):
    gw = gateway_factory.start(fx_config())
    c = await connect(gw, client_cert)
    try:
        ns_array = await c.get_namespace_array()
        for uri in (FX_DATA, FX_AC, FX_CM, DI):
            assert uri in ns_array, ns_array
        fx = await Fx(c).load()
        root = await c.nodes.objects.get_child([f"{fx.data}:FxRoot"])
        assert root.nodeid == ua.NodeId(71, fx.data), "FxRoot has its official NodeId 2:71"
        acs = await root.get_children(refs=ua.ObjectIds.Organizes)
        names = {(await n.read_browse_name()).Name: n for n in acs}
        assert "Cell1" in names, names
        ac = names["Cell1"]
        assert (await ac.read_type_definition()) == ua.NodeId(2, fx.ac), "AutomationComponentType is AC:i=2"
        children = {}
        for ch in await ac.get_children():
            bn = await ch.read_browse_name()
            children[(bn.NamespaceIndex, bn.Name)] = ch
        mandatory = ["FunctionalEntities", "Assets", "ComponentCapabilities", "Descriptors",
                     "AggregatedHealth", "EstablishConnections", "CloseConnections"]
        for m in mandatory:
            assert (fx.ac, m) in children, f"AutomationComponent lacks 3:{m}: {sorted(children)}"
        health = children[(fx.ac, "AggregatedHealth")]
        sub = {(await n.read_browse_name()).Name for n in await health.get_children()}
        assert {"AggregatedDeviceHealth", "AggregatedOperationalHealth"} <= sub, sub
        caps = children[(fx.ac, "ComponentCapabilities")]
        cap_refs = await caps.get_references(refs=ua.NodeId(4002, fx.ac))
        cap_names = {r.BrowseName.Name for r in cap_refs}
        assert {"MaxConnections", "MaxConnectionsPerCall", "SupportsPersistence"} <= cap_names, cap_names
        per_call = await c.get_node(fx.node("Cell1/ComponentCapabilities/MaxConnectionsPerCall")).read_value()
        assert per_call == 1
        # the asset with its nameplate, the entity with its data folders
        drive = await children[(fx.ac, "Assets")].get_child([f"{fx.inst}:Drive"])
        assert (await drive.read_type_definition()) == ua.NodeId(3, fx.ac), "FxAssetType is AC:i=3"
        assert await (await drive.get_child([f"{fx.di}:SerialNumber"])).read_value() == "SN-42"
        assert await (await drive.get_child([f"{fx.ac}:MajorAssetVersion"])).read_value() == 2
        motion = await children[(fx.ac, "FunctionalEntities")].get_child([f"{fx.inst}:Motion"])
        assert (await motion.read_type_definition()) == ua.NodeId(4, fx.ac), "FunctionalEntityType is AC:i=4"
        hosted = await motion.get_referenced_nodes(refs=ua.ObjectIds.IsHostedBy)
        assert [h.nodeid for h in hosted] == [drive.nodeid]
        tags = await c.get_namespace_index("urn:fxgate:tags")
        for folder, want in (("OutputData", {"Speed", "Count"}), ("InputData", {"Target"}),
                             ("ConfigurationData", {"Gain", "Mode"})):
            f = await motion.get_child([f"{fx.ac}:{folder}"])
            vars_ = await f.get_children(refs=ua.ObjectIds.Organizes)
            assert {(await v.read_browse_name()).Name for v in vars_} == want, folder
            assert all(v.nodeid.NamespaceIndex == tags for v in vars_), "the tag store's own variables"
        # live data through the FunctionalEntity's OutputData
        count = ua.NodeId("Cell/Count", tags)
        first = await c.get_node(count).read_value()
        await asyncio.sleep(0.6)
        assert await c.get_node(count).read_value() > first
        for name in ("OperationalHealth",):
            assert await (await motion.get_child([f"{fx.ac}:{name}"])).read_value() == 0
        eps = await motion.get_child([f"{fx.ac}:ConnectionEndpoints"])
        assert await (await eps.get_child([f"{fx.ac}:CommHealth"])).read_value() == 0
    finally:
        await safe_disconnect(c)


# ---------------------------------------------------------------------------------------------
# 2. VerifyAsset
# ---------------------------------------------------------------------------------------------


@sync
async def test_verify_asset_in_all_three_modes(gateway_factory, client_cert):
    gw = gateway_factory.start(fx_config())
    c = await connect(gw, client_cert, username="op", password=OP_PW)
    try:
        fx = await Fx(c).load()
        asset = "Cell1/Assets/Drive"
        none = ua.Variant([], ua.VariantType.ExtensionObject)

        def compat(product_code="DRV-3000", minor=4):
            return [
                kv(fx.di, "ManufacturerUri", ua.Variant(" urn:acme ", ua.VariantType.String)),
                kv(fx.di, "ProductCode", ua.Variant(product_code, ua.VariantType.String)),
                kv(fx.ac, "MajorAssetVersion", ua.Variant(2, ua.VariantType.UInt16)),
                kv(fx.ac, "MinorAssetVersion", ua.Variant(minor, ua.VariantType.UInt16)),
            ]

        async def verify(mode, pairs):
            return await fx.call(asset, "VerifyAsset", ua.Variant(mode, ua.VariantType.Int32),
                                 ua.Variant(pairs, ua.VariantType.ExtensionObject), none)

        # AssetCompatibility: correct -> Good, Match
        r = await verify(0, compat())
        assert code(r.StatusCode) == "Good", r
        assert r.OutputArguments[0].Value == 1, r
        assert codes(r.OutputArguments[1].Value) == ["Good"] * 4
        # wrong ProductCode -> Uncertain, Mismatch, errors[1] = Bad_OutOfRange
        r = await verify(0, compat(product_code="DRV-9999"))
        assert code(r.StatusCode) == "Uncertain", r
        assert r.OutputArguments[0].Value == 3, r
        assert codes(r.OutputArguments[1].Value)[1] == "BadOutOfRange", r
        # ProductCode omitted -> Bad_InvalidArgument, empty outputs
        r = await verify(0, [p for p in compat() if p.Key.Name != "ProductCode"])
        assert code(r.StatusCode) == "BadInvalidArgument", r
        assert not r.OutputArguments, r
        # an older minor version expected: the asset is backwards compatible
        r = await verify(0, compat(minor=3))
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Uncertain", 2), r
        # AssetIdentity
        identity = [
            kv(fx.di, "ManufacturerUri", ua.Variant("urn:acme", ua.VariantType.String)),
            kv(fx.di, "ProductCode", ua.Variant("DRV-3000", ua.VariantType.String)),
            kv(fx.di, "SerialNumber", ua.Variant("SN-42", ua.VariantType.String)),
        ]
        r = await verify(1, identity)
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Good", 1), r
        wrong_serial = identity[:2] + [kv(fx.di, "SerialNumber", ua.Variant("SN-43", ua.VariantType.String))]
        r = await verify(1, wrong_serial)
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Uncertain", 3), r
        assert codes(r.OutputArguments[1].Value) == ["Good", "Good", "BadOutOfRange"]
        r = await verify(1, identity[:2])
        assert code(r.StatusCode) == "BadInvalidArgument", "identity needs SerialNumber or ProductInstanceUri"
        # AssetIdentityAndCompatibility
        r = await verify(2, compat() + identity[2:])
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Good", 1), r
        r = await verify(2, compat(minor=3) + identity[2:])
        assert r.OutputArguments[0].Value == 2, "identity Match + compatibility Compatible = Compatible"
        r = await verify(2, identity)
        assert code(r.StatusCode) == "BadInvalidArgument", "mode 2 needs the compatibility keys too"
        # a mistyped value and an unknown key: NotSet with per-key errors
        typed = compat()
        typed[2] = kv(fx.ac, "MajorAssetVersion", ua.Variant(2, ua.VariantType.Int32))
        r = await verify(0, typed + [kv(fx.di, "Nonsense", ua.Variant("x", ua.VariantType.String))])
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Uncertain", 0), r
        assert codes(r.OutputArguments[1].Value) == ["Good", "Good", "BadTypeMismatch", "Good", "BadBrowseNameInvalid"]
        # an undefined mode
        r = await verify(9, compat())
        assert code(r.StatusCode) == "BadNotSupported", r
    finally:
        await safe_disconnect(c)


# ---------------------------------------------------------------------------------------------
# 3. Verify, and the structures decoded by a generic client
# ---------------------------------------------------------------------------------------------


@sync
async def test_verify_of_a_functional_entity_with_structures_loaded_from_the_server(gateway_factory, client_cert):
    gw = gateway_factory.start(fx_config())
    c = await connect(gw, client_cert, username="op", password=OP_PW)
    try:
        fx = await Fx(c).load()
        # a generic client builds the FX structure classes from the server's DataTypeDefinitions
        await c.load_data_type_definitions()
        for name in ("NodeIdValuePair", "NodeIdArray", "FxVersion", "AggregatedHealthDataType",
                     "AssetVerificationDataType", "ConnectionEndpointConfigurationDataType",
                     "PubSubConnectionEndpointParameterDataType", "ConnectionEndpointDefinitionDataType"):
            assert hasattr(ua, name), f"load_data_type_definitions() did not build {name}"
        version = await c.get_node(fx.node("Cell1/FunctionalEntities/Motion/AuthorAssignedVersion")).read_value()
        assert isinstance(version, ua.FxVersion), version
        assert (version.Major, version.Minor, version.Build, version.SubBuild) == (1, 2, 0, 0)
        health = await c.get_node(fx.node("Cell1/AggregatedHealth")).read_value()
        assert isinstance(health, ua.AggregatedHealthDataType), health

        fe = "Cell1/FunctionalEntities/Motion"
        author = fx.node(f"{fe}/AuthorUri")

        def pair(node, value, index=None):
            return ua.NodeIdValuePair(Key=ua.NodeIdArray(Node=node, ArrayIndex=index or []), Value=value)

        async def verify(pairs):
            return await fx.call(fe, "Verify", ua.Variant(pairs, ua.VariantType.ExtensionObject))

        r = await verify([])
        assert code(r.StatusCode) == "BadInvalidArgument" and not r.OutputArguments, r
        r = await verify([pair(author, ua.Variant(" urn:acme:motion ", ua.VariantType.String))])
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Good", 1), r
        assert codes(r.OutputArguments[1].Value) == ["Good"]
        r = await verify([pair(author, ua.Variant("urn:other", ua.VariantType.String))])
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Uncertain", 2), r
        assert codes(r.OutputArguments[1].Value) == ["BadOutOfRange"]
        r = await verify([pair(author, ua.Variant(7, ua.VariantType.Int32))])
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Uncertain", 0), r
        assert codes(r.OutputArguments[1].Value) == ["BadTypeMismatch"]
        # tags of the entity: a live value and the configured constant; existence checks
        tags = await c.get_namespace_index("urn:fxgate:tags")
        r = await verify([
            pair(ua.NodeId("Cell/Gain", tags), ua.Variant(1.5, ua.VariantType.Double)),
            pair(ua.NodeId("Cell/Speed", tags), ua.Variant()),
            pair(fx.node(f"{fe}/InputData"), ua.Variant()),
            pair(fx.node(f"{fe}/NoSuchThing"), ua.Variant()),
        ])
        assert (code(r.StatusCode), r.OutputArguments[0].Value) == ("Uncertain", 2), r
        assert codes(r.OutputArguments[1].Value) == ["Good", "Good", "Good", "BadNodeIdUnknown"]
    finally:
        await safe_disconnect(c)


@sync
async def test_establish_and_close_connections_need_the_connection_admin_role(gateway_factory, client_cert):
    gw = gateway_factory.start(fx_config())
    op = await connect(gw, client_cert, username="op", password=OP_PW)
    try:
        fx = await Fx(op).load()
        r = await fx.call("Cell1", "CloseConnections", ua.Variant([], ua.VariantType.NodeId),
                          ua.Variant(True, ua.VariantType.Boolean))
        assert code(r.StatusCode) == "BadUserAccessDenied", "the write role is not enough"
        r = await fx.call("Cell1", "EstablishConnections", ua.Variant(0, ua.VariantType.UInt32),
                          *(ua.Variant([], ua.VariantType.ExtensionObject) for _ in range(4)))
        assert code(r.StatusCode) == "BadUserAccessDenied"
        # VerifyAsset and Verify only need the write role (they change nothing)
        r = await fx.call("Cell1/FunctionalEntities/Motion", "Verify", ua.Variant([], ua.VariantType.ExtensionObject))
        assert code(r.StatusCode) == "BadInvalidArgument"
    finally:
        await safe_disconnect(op)
