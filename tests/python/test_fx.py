"""OPC UA FX tier 1 (OPC 10000-81) through a Python asyncua client: the acceptance tests of
section 6 "Tier 1" of shared/docs/uafx-digest.md. Methods are called with the raw Call
service (client.uaclient.call) so that Uncertain results and their output arguments are seen
(the high-level helpers raise on any non-Good status)."""
from __future__ import annotations

import asyncio
import functools

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


# ---------------------------------------------------------------------------------------------
# 4.-10. EstablishConnections and CloseConnections
# ---------------------------------------------------------------------------------------------

MASK = {"VerifyAsset": 0x1, "VerifyFE": 0x2, "Create": 0x4, "EstablishControl": 0x8, "SetConfig": 0x10,
        "Reserve": 0x40, "SetComm": 0x80, "Enable": 0x100}
FE = "Cell1/FunctionalEntities/Motion"


class Establish:
    """EstablishConnections on Cell1 with the FX structures of load_data_type_definitions()."""

    def __init__(self, c, fx: Fx, tags: int):
        self.c, self.fx, self.tags = c, fx, tags

    def tag(self, path: str) -> ua.NodeId:
        return ua.NodeId(path, self.tags)

    def parameter(self, name="C1", related=True, inputs=("Cell/Target",), outputs=("Cell/Speed",),
                  type_id=None, **kw):
        rel = ua.RelatedEndpointDataType(Address="opc.tcp://peer.example:4840", ConnectionEndpointPath=[],
                                         ConnectionEndpointName="PeerC1") if related else ua.RelatedEndpointDataType()
        p = ua.PubSubConnectionEndpointParameterDataType(
            Name=name, ConnectionEndpointTypeId=type_id or ua.NodeId(1005, self.fx.ac),
            InputVariableIds=[self.tag(t) for t in inputs], OutputVariableIds=[self.tag(t) for t in outputs],
            IsPersistent=False, CleanupTimeout=5000.0, RelatedEndpoint=rel, IsPreconfigured=False,
            Mode=ua.PubSubConnectionEndpointModeEnum.PublisherSubscriber)
        for k, v in kw.items():
            setattr(p, k, v)
        return p

    def config(self, endpoint=None, node=None, verify=None, config=None, fe=FE):
        d = ua.ConnectionEndpointDefinitionDataType()
        if endpoint is not None:
            d.Encoding, d.Value = 1, endpoint
        elif node is not None:
            d.Encoding, d.Value = 2, node
        return ua.ConnectionEndpointConfigurationDataType(
            FunctionalEntityNode=self.fx.node(fe), ConnectionEndpoint=d,
            ExpectedVerificationVariables=verify or [], ControlGroups=[], ConfigurationData=config or [])

    def pair(self, node: ua.NodeId, value: ua.Variant):
        return ua.NodeIdValuePair(Key=ua.NodeIdArray(Node=node, ArrayIndex=[]), Value=value)

    async def call(self, mask: int, assets=(), endpoints=(), reserve=(), comm=()):
        ext = ua.VariantType.ExtensionObject
        return await self.fx.call("Cell1", "EstablishConnections", ua.Variant(mask, ua.VariantType.UInt32),
                                  ua.Variant(list(assets), ext), ua.Variant(list(endpoints), ext),
                                  ua.Variant(list(reserve), ext), ua.Variant(list(comm), ext))

    async def endpoints(self) -> dict[str, ua.NodeId]:
        folder = self.c.get_node(self.fx.node(f"{FE}/ConnectionEndpoints"))
        refs = await folder.get_references(refs=ua.NodeId(41, self.fx.ac))
        return {r.BrowseName.Name: r.NodeId for r in refs}

    async def health(self) -> tuple[int, int, int]:
        comm = await self.c.get_node(self.fx.node(f"{FE}/ConnectionEndpoints/CommHealth")).read_value()
        op = await self.c.get_node(self.fx.node(f"{FE}/OperationalHealth")).read_value()
        agg = await self.c.get_node(self.fx.node("Cell1/AggregatedHealth/AggregatedOperationalHealth")).read_value()
        return comm, op, agg


async def admin_session(gw, client_cert):
    c = await connect(gw, client_cert, username="admin", password=ADMIN_PW)
    fx = await Fx(c).load()
    await c.load_data_type_definitions()
    return c, Establish(c, fx, await c.get_namespace_index("urn:fxgate:tags"))


@sync
async def test_establish_connections_argument_errors_and_too_many_operations(gateway_factory, client_cert):
    gw = gateway_factory.start(fx_config())
    c, e = await admin_session(gw, client_cert)
    try:
        r = await e.call(0)
        assert code(r.StatusCode) == "BadInvalidArgument" and not r.OutputArguments, r
        r = await e.call(MASK["VerifyAsset"])
        assert code(r.StatusCode) == "BadInvalidArgument", "VerifyAssetCmd with an empty AssetVerifications"
        r = await e.call(MASK["SetConfig"], endpoints=[e.config(endpoint=e.parameter())])
        assert code(r.StatusCode) == "BadInvalidArgument", "a Parameter endpoint needs CreateConnectionEndpointCmd"
        r = await e.call(MASK["Create"], endpoints=[e.config(endpoint=e.parameter("A")),
                                                    e.config(endpoint=e.parameter("B"))])
        assert code(r.StatusCode) == "BadTooManyOperations", "MaxConnectionsPerCall is 1"
        assert await e.endpoints() == {}
    finally:
        await safe_disconnect(c)


@sync
async def test_establish_creates_endpoints_with_health_and_rolls_back_on_errors(gateway_factory, client_cert):
    gw = gateway_factory.start(fx_config())
    c, e = await admin_session(gw, client_cert)
    try:
        assert await e.health() == (0, 0, 0)
        # 5. CreateConnectionEndpointCmd
        r = await e.call(MASK["Create"], endpoints=[e.config(endpoint=e.parameter("C1"))])
        assert code(r.StatusCode) == "Good", r
        [res] = r.OutputArguments[1].Value
        assert isinstance(res, ua.ConnectionEndpointConfigurationResultDataType), res
        assert (code(res.FunctionalEntityNodeResult), code(res.ConnectionEndpointResult)) == ("Good", "Good"), res
        assert res.VerificationResult == ua.FunctionalEntityVerificationResultEnum.NotSet, res
        assert code(res.VerificationStatus) == "Good" and not res.ConfigurationDataResult
        c1 = res.ConnectionEndpointId
        assert c1 == e.fx.node(f"{FE}/ConnectionEndpoints/C1"), c1
        assert await e.endpoints() == {"C1": c1}
        ep = c.get_node(c1)
        assert (await ep.read_type_definition()) == ua.NodeId(1005, e.fx.ac)
        assert await (await ep.get_child([f"{e.fx.ac}:Status"])).read_value() == 0, "Initial: no PubSub objects yet"
        assert await (await ep.get_child([f"{e.fx.ac}:CleanupTimeout"])).read_value() == 5000.0
        assert await (await ep.get_child([f"{e.fx.ac}:InputVariables"])).read_value() == [e.tag("Cell/Target")]
        related = await (await ep.get_child([f"{e.fx.ac}:RelatedEndpoint"])).read_value()
        assert related.ConnectionEndpointName == "PeerC1", related
        assert await e.health() == (1, 1, 1), "CommInitial in CommHealth, OperationalHealth and AggregatedHealth"
        health = await c.get_node(e.fx.node("Cell1/AggregatedHealth")).read_value()
        assert health.AggregatedOperationalHealth == 1, health
        # a null RelatedEndpoint
        r = await e.call(MASK["Create"], endpoints=[e.config(endpoint=e.parameter("C2", related=False))])
        assert code(r.StatusCode) == "Uncertain", r
        res = r.OutputArguments[1].Value[0]
        assert code(res.ConnectionEndpointResult) == "BadInvalidArgument" and res.ConnectionEndpointId.is_null(), res
        # an output that is no OutputData of the entity, an abstract type, an unknown type
        for bad, want in ((e.parameter("C3", outputs=("Cell/Gain",)), "BadInvalidArgument"),
                          (e.parameter("C3", type_id=ua.NodeId(1002, e.fx.ac)), "BadInvalidArgument"),
                          (e.parameter("C3", type_id=ua.NodeId(58)), "BadTypeDefinitionInvalid")):
            r = await e.call(MASK["Create"], endpoints=[e.config(endpoint=bad)])
            assert code(r.OutputArguments[1].Value[0].ConnectionEndpointResult) == want, (bad, r)
        # 6. duplicate name: nothing created
        r = await e.call(MASK["Create"], endpoints=[e.config(endpoint=e.parameter("C1"))])
        assert code(r.StatusCode) == "Uncertain", r
        assert code(r.OutputArguments[1].Value[0].ConnectionEndpointResult) == "BadBrowseNameDuplicated"
        assert await e.endpoints() == {"C1": c1}
        # 7. VerifyFE failing: Mismatch, the creation is skipped
        wrong = [e.pair(e.fx.node(f"{FE}/AuthorUri"), ua.Variant("urn:wrong", ua.VariantType.String))]
        r = await e.call(MASK["VerifyFE"] | MASK["Create"], endpoints=[e.config(endpoint=e.parameter("C7"), verify=wrong)])
        assert code(r.StatusCode) == "Uncertain", r
        res = r.OutputArguments[1].Value[0]
        assert res.VerificationResult == ua.FunctionalEntityVerificationResultEnum.Mismatch, res
        assert codes(res.VerificationVariablesErrors) == ["BadOutOfRange"]
        assert code(res.ConnectionEndpointResult) == "BadNothingToDo", res
        assert "C7" not in await e.endpoints()
        # the same with the right AuthorUri works, verification first
        right = [e.pair(e.fx.node(f"{FE}/AuthorUri"), ua.Variant("urn:acme:motion", ua.VariantType.String))]
        r = await e.call(MASK["VerifyFE"] | MASK["Create"], endpoints=[e.config(endpoint=e.parameter("C7"), verify=right)])
        assert code(r.StatusCode) == "Good", r
        assert r.OutputArguments[1].Value[0].VerificationResult == ua.FunctionalEntityVerificationResultEnum.Match
        # 8. configuration data outside ConfigurationData: the new endpoint is rolled back
        outside = [e.pair(e.tag("Cell/Target"), ua.Variant(9.0, ua.VariantType.Double))]
        r = await e.call(MASK["Create"] | MASK["SetConfig"], endpoints=[e.config(endpoint=e.parameter("C8"), config=outside)])
        assert code(r.StatusCode) == "Uncertain", r
        res = r.OutputArguments[1].Value[0]
        assert codes(res.ConfigurationDataResult) == ["BadInvalidArgument"], res
        assert res.ConnectionEndpointId.is_null(), "rolled back: no id"
        assert "C8" not in await e.endpoints()
        assert await c.get_node(e.tag("Cell/Target")).read_value() == 5.0, "nothing written"
        # 9. SetConfigurationDataCmd on the existing endpoint C1
        gain = e.tag("Cell/Gain")
        ok = [e.pair(gain, ua.Variant(2.75, ua.VariantType.Double)), e.pair(e.tag("Cell/Mode"), ua.Variant(3, ua.VariantType.Int32))]
        r = await e.call(MASK["SetConfig"], endpoints=[e.config(node=c1, config=ok)])
        assert code(r.StatusCode) == "Good", r
        assert codes(r.OutputArguments[1].Value[0].ConfigurationDataResult) == ["Good", "Good"]
        assert r.OutputArguments[1].Value[0].ConnectionEndpointId == c1
        assert await c.get_node(gain).read_value() == 2.75
        assert await c.get_node(e.tag("Cell/Mode")).read_value() == 3
        typed = [e.pair(gain, ua.Variant(4, ua.VariantType.Int32)), e.pair(e.tag("Cell/Mode"), ua.Variant(5, ua.VariantType.Int32))]
        r = await e.call(MASK["SetConfig"], endpoints=[e.config(node=c1, config=typed)])
        assert code(r.StatusCode) == "Uncertain", r
        assert codes(r.OutputArguments[1].Value[0].ConfigurationDataResult) == ["BadTypeMismatch", "BadNothingToDo"]
        assert await c.get_node(gain).read_value() == 2.75 and await c.get_node(e.tag("Cell/Mode")).read_value() == 3
        # VerifyAssetCmd in front: a mismatching asset aborts everything after it
        asset = ua.AssetVerificationDataType(
            AssetToVerify=e.fx.node("Cell1/Assets/Drive"),
            VerificationMode=ua.AssetVerificationModeEnum.AssetCompatibility,
            ExpectedVerificationResult=ua.AssetVerificationResultEnum.Match,
            ExpectedVerificationVariables=[
                kv(e.fx.di, "ManufacturerUri", ua.Variant("urn:acme", ua.VariantType.String)),
                kv(e.fx.di, "ProductCode", ua.Variant("DRV-1", ua.VariantType.String)),
                kv(e.fx.ac, "MajorAssetVersion", ua.Variant(2, ua.VariantType.UInt16)),
                kv(e.fx.ac, "MinorAssetVersion", ua.Variant(4, ua.VariantType.UInt16))],
            ExpectedAdditionalVerificationVariables=[])
        r = await e.call(MASK["VerifyAsset"] | MASK["Create"], assets=[asset], endpoints=[e.config(endpoint=e.parameter("C9"))])
        assert code(r.StatusCode) == "Uncertain", r
        [av] = r.OutputArguments[0].Value
        assert av.VerificationResult == ua.AssetVerificationResultEnum.Mismatch, av
        assert codes(av.VerificationVariablesErrors)[1] == "BadOutOfRange"
        assert code(r.OutputArguments[1].Value[0].ConnectionEndpointResult) == "BadNothingToDo"
        # C1 has no ToDataSetReader/Writer (no SetCommunicationConfiguration): EnableCommunicationCmd
        # aborts with Bad_InvalidState (Table 17)
        r = await e.call(MASK["Enable"], endpoints=[e.config(node=c1)])
        assert code(r.StatusCode) == "Uncertain", r
        assert code(r.OutputArguments[1].Value[0].EnableCommunicationResult) == "BadInvalidState"
        assert set(await e.endpoints()) == {"C1", "C7"}
    finally:
        await safe_disconnect(c)


@sync
async def test_close_connections(gateway_factory, client_cert):
    gw = gateway_factory.start(fx_config())
    c, e = await admin_session(gw, client_cert)
    try:
        r = await e.call(MASK["Create"], endpoints=[e.config(endpoint=e.parameter("C1"))])
        c1 = r.OutputArguments[1].Value[0].ConnectionEndpointId
        status = e.fx.node(f"{FE}/ConnectionEndpoints/C1/Status")
        # Remove=FALSE keeps the endpoint
        r = await e.fx.call("Cell1", "CloseConnections", ua.Variant([c1], ua.VariantType.NodeId),
                            ua.Variant(False, ua.VariantType.Boolean))
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        assert await e.endpoints() == {"C1": c1}
        # 10. Remove=TRUE deletes it, and the health follows
        assert await e.health() == (1, 1, 1)
        r = await e.fx.call("Cell1", "CloseConnections", ua.Variant([c1], ua.VariantType.NodeId),
                            ua.Variant(True, ua.VariantType.Boolean))
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        assert await e.endpoints() == {}
        [dv] = await c.read_attributes([c.get_node(status)])
        assert code(dv.StatusCode) == "BadNodeIdUnknown", dv
        assert await e.health() == (0, 0, 0)
        r = await e.fx.call("Cell1", "CloseConnections",
                            ua.Variant([e.fx.node(f"{FE}/ConnectionEndpoints/Nope"), e.fx.node(FE)], ua.VariantType.NodeId),
                            ua.Variant(True, ua.VariantType.Boolean))
        assert code(r.StatusCode) == "Uncertain", r
        assert codes(r.OutputArguments[0].Value) == ["BadNodeIdUnknown", "BadInvalidArgument"]
    finally:
        await safe_disconnect(c)


# ---------------------------------------------------------------------------------------------
# health of a lost device
# ---------------------------------------------------------------------------------------------


@sync
async def test_a_lost_modbus_device_is_a_device_failure_of_its_assets(gateway_factory, client_cert):
    from fxgate_testlib import free_port
    from modbus_peers import ModbusDevice

    port = free_port()
    dev = ModbusDevice({"hr": {0: [42]}}, port, name="plc", unit_id=1).start()
    cfg = fx_config()
    cfg["line"] = [{"name": "plc", "mode": "client", "host": "127.0.0.1", "port": port, "connect_timeout_ms": 1000,
                    "reconnect_delay_ms": 200, "reconnect_max_ms": 1000}]
    cfg["device"] = [{"name": "Press", "line": "plc", "protocol": "modbus", "unit_id": 1, "timeout_ms": 500,
                      "poll_ms": 200, "tag": [{"name": "Force", "address": "hr:0", "type": "int16"}]}]
    ac = cfg["fx"]["automation_component"][0]
    ac["sources"] = ["Press"]
    ac["functional_entity"][0]["outputs"].append("Press/Force")
    gw = gateway_factory.start(cfg)
    c = await connect(gw, client_cert)
    try:
        fx = await Fx(c).load()
        tags = await c.get_namespace_index("urn:fxgate:tags")
        device = c.get_node(fx.node("Cell1/Assets/Drive/DeviceHealth"))
        aggregated = c.get_node(fx.node("Cell1/AggregatedHealth/AggregatedDeviceHealth"))
        health = c.get_node(fx.node("Cell1/AggregatedHealth"))

        async def until(pred, what, timeout=10.0):
            deadline = asyncio.get_running_loop().time() + timeout
            while True:
                state = (await device.read_value(), await aggregated.read_value())
                if pred(state):
                    return state
                assert asyncio.get_running_loop().time() < deadline, f"{what}: {state}"
                await asyncio.sleep(0.2)

        await until(lambda s: s == (0, 0), "NORMAL while the device answers")
        assert await c.get_node(ua.NodeId("Press/Force", tags)).read_value() == 42
        dev.kill()
        assert await until(lambda s: s == (1, 1), "FAILURE and DeviceFailure after the device is lost") == (1, 1)
        await c.load_data_type_definitions()
        assert (await health.read_value()).AggregatedDeviceHealth == 1
        dev.start()
        await until(lambda s: s == (0, 0), "NORMAL again when the device is back")
    finally:
        await safe_disconnect(c)
        dev.stop()


@sync
async def test_an_upstream_server_as_source_its_loss_is_a_device_failure(gateway_factory, client_cert, peers):
    from aggregation_support import upstream, wait_connected

    plc = peers("ua", "alpha")
    cfg = fx_config()
    cfg["server"]["accept_all_certificates"] = True
    cfg["upstream"] = [upstream("plc1", plc)]
    cfg["fx"]["automation_component"][0]["sources"] = ["Cell", "plc1"]
    gw = gateway_factory.start(cfg)
    c = await connect(gw, client_cert)
    try:
        fx = await Fx(c).load()
        device = c.get_node(fx.node("Cell1/Assets/Drive/DeviceHealth"))
        aggregated = c.get_node(fx.node("Cell1/AggregatedHealth/AggregatedDeviceHealth"))

        async def until(want, what, timeout=15.0):
            deadline = asyncio.get_running_loop().time() + timeout
            while (state := (await device.read_value(), await aggregated.read_value())) != want:
                assert asyncio.get_running_loop().time() < deadline, f"{what}: {state}"
                await asyncio.sleep(0.2)

        await wait_connected(c, ["plc1"])
        await until((0, 0), "NORMAL while the upstream is connected")
        plc.kill()
        await until((1, 1), "FAILURE when the upstream is gone")
        plc.restart()
        await wait_connected(c, ["plc1"])
        await until((0, 0), "NORMAL again when it is back")
    finally:
        await safe_disconnect(c)


UDP_UADP = "http://opcfoundation.org/UA-Profile/Transport/pubsub-udp-uadp"


def fx_pubsub_config() -> dict:
    """fx_config with a PubSub connection set aside for FX (`fx = true`), whose configured
    writer group and writer hold WriterGroupId 1 and DataSetWriterId 1."""
    cfg = fx_config()
    cfg["pubsub"] = [{
        "name": "FxNet", "publisher_id": 4711, "fx": True,
        "writer_group": [{"name": "Static", "writer_group_id": 1, "publishing_interval_ms": 1000,
                          "destination": "opc.udp://127.0.0.1:9",
                          "writer": [{"name": "W", "data_set_writer_id": 1, "tags": ["Cell/Speed"]}]}],
    }]
    return cfg


@sync
async def test_reserve_communication_ids(gateway_factory, client_cert):
    """ReserveCommunicationIdsCmd (mask 0x40) on the PubSub connection set aside for FX: the
    connection's PublisherId and the lowest free ids (the configured ones and earlier
    reservations skipped); another transport → Bad_NotSupported; a call aborted by a later
    command gives its ids back."""
    gw = gateway_factory.start(fx_pubsub_config())
    c, e = await admin_session(gw, client_cert)
    try:
        def req(groups, writers, uri=UDP_UADP):
            return ua.PubSubReserveCommunicationIdsDataType(
                TransportProfileUri=uri, NumReqWriterGroupIds=groups, NumReqDataSetWriterIds=writers)

        r = await e.call(MASK["Reserve"], reserve=[req(2, 4)])
        assert code(r.StatusCode) == "Good", r
        [res] = r.OutputArguments[2].Value
        assert code(res.Result) == "Good"
        assert (res.DefaultPublisherId.Value, res.DefaultPublisherId.VariantType) == (4711, ua.VariantType.UInt16)
        assert (res.WriterGroupIds, res.DataSetWriterIds) == ([2, 3], [2, 3, 4, 5])
        r = await e.call(MASK["Reserve"], reserve=[req(1, 1), req(1, 2)])
        assert code(r.StatusCode) == "Good", r
        assert [(x.WriterGroupIds, x.DataSetWriterIds) for x in r.OutputArguments[2].Value] == [([4], [6]), ([5], [7, 8])]

        r = await e.call(MASK["Reserve"], reserve=[req(1, 1, "http://opcfoundation.org/UA-Profile/Transport/pubsub-mqtt-uadp")])
        assert code(r.StatusCode) == "Uncertain", r
        assert codes([x.Result for x in r.OutputArguments[2].Value]) == ["BadNotSupported"]

        # Reserve, then CreateConnectionEndpoint fails (a null RelatedEndpoint): the call
        # aborts and rolls back.
        r = await e.call(MASK["Reserve"] | MASK["Create"], reserve=[req(1, 1)],
                         endpoints=[e.config(endpoint=e.parameter("C9", related=False))])
        assert code(r.StatusCode) == "Uncertain", r
        [res] = r.OutputArguments[2].Value
        assert code(res.Result) == "BadNothingToDo" and not res.WriterGroupIds, res
        r = await e.call(MASK["Reserve"], reserve=[req(1, 1)])
        [res] = r.OutputArguments[2].Value
        assert (res.WriterGroupIds, res.DataSetWriterIds) == ([6], [9]), "the rolled-back ids are free again"
    finally:
        await safe_disconnect(c)


@sync
async def test_reserve_communication_ids_the_second_version_gives_the_udp_port(gateway_factory, client_cert):
    """PubSubReserveCommunicationIds2DataType (v1.00.03 §10.43.4, in fxgate's namespace since the
    v1.00.02 NodeSets lack it) with RequestTransportSpecificInfo: the answer is a
    PubSubReserveCommunicationIdsResult2DataType whose TransportSpecificInfo is the UInt16 port
    the FX connection receives unicast on; not asked → null; the first version is still answered
    in the first version."""
    from fxgate_testlib import free_port

    cfg = fx_pubsub_config()
    port = free_port()
    cfg["pubsub"][0]["listen"] = f"opc.udp://127.0.0.1:{port}"
    gw = gateway_factory.start(cfg)
    c, e = await admin_session(gw, client_cert)
    try:
        def req2(asked: bool):
            return ua.PubSubReserveCommunicationIds2DataType(
                TransportProfileUri=UDP_UADP, NumReqWriterGroupIds=2, NumReqDataSetWriterIds=4,
                RequestTransportSpecificInfo=asked)

        r = await e.call(MASK["Reserve"], reserve=[req2(True), req2(False),
                                                   ua.PubSubReserveCommunicationIdsDataType(
                                                       TransportProfileUri=UDP_UADP, NumReqWriterGroupIds=1,
                                                       NumReqDataSetWriterIds=1)])
        assert code(r.StatusCode) == "Good", r
        asked, not_asked, first = r.OutputArguments[2].Value
        assert type(asked).__name__ == "PubSubReserveCommunicationIdsResult2DataType", asked
        assert (asked.WriterGroupIds, asked.DataSetWriterIds) == ([2, 3], [2, 3, 4, 5])
        assert (asked.TransportSpecificInfo.Value, asked.TransportSpecificInfo.VariantType) == (port, ua.VariantType.UInt16)
        assert type(not_asked).__name__ == "PubSubReserveCommunicationIdsResult2DataType"
        assert not_asked.TransportSpecificInfo.Value is None, "not asked: null"
        assert type(first).__name__ == "PubSubReserveCommunicationIdsResultDataType"
    finally:
        await safe_disconnect(c)


@sync
async def test_reserve_communication_ids_without_a_pubsub_connection_for_fx(gateway_factory, client_cert):
    cfg = fx_pubsub_config()
    cfg["pubsub"][0]["fx"] = False
    gw = gateway_factory.start(cfg)
    c, e = await admin_session(gw, client_cert)
    try:
        r = await e.call(MASK["Reserve"], reserve=[ua.PubSubReserveCommunicationIdsDataType(
            TransportProfileUri=UDP_UADP, NumReqWriterGroupIds=1, NumReqDataSetWriterIds=1)])
        assert code(r.StatusCode) == "Uncertain", r
        assert codes([x.Result for x in r.OutputArguments[2].Value]) == ["BadNotSupported"]
    finally:
        await safe_disconnect(c)
