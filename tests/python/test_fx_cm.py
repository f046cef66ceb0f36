"""OPC UA FX tier 1 ConnectionManager (OPC 10000-81 §6.7-6.9) through a Python asyncua client:
tests 11 and 12 of section 6 "Tier 1" of shared/docs/uafx-digest.md. ProcessConnectionConfigurationSets
is called with the raw Call service (client.uaclient.call) so that Uncertain results are seen;
its outcome arrives as ConnectionConfigurationSet events on the ConnectionManager and the Server
object. The target AutomationComponents are local ones (§13.2.1)."""
from __future__ import annotations

import asyncio

from asyncua import ua

from aggregation_support import AGG_NS, of_type_filter, wait_for
from fxgate_testlib import EventCollector, connect, safe_disconnect
from test_fx import ADMIN_PW, FX_AC, FX_INST, OP_PW, Fx, code, codes, fx_config, sync

TAGS = "urn:fxgate:tags"
STARTED, SUCCEEDED, FAILED = 1007, 1008, 1009
READY, PROCESSING, ERROR = 1169, 1170, 1171


def path(*elements: tuple[str, str]) -> list[dict]:
    return [{"namespace": ns, "name": name} for ns, name in elements]


def cm_config() -> dict:
    """Two AutomationComponents over simulator `Cell` and three sets: `Pair` (one connection between
    Cell1/Motion and Cell2/Control, FEs given by name and by browse path, with asset and FE
    verification and configuration data), `BadPath` (an unresolvable FE path) and `Rollback`
    (RollbackOnError, the second connection fails its FE verification)."""
    motion_author = f"nsu={FX_INST};s=Cell1/FunctionalEntities/Motion/AuthorUri"
    control_path = path((FX_INST, "Cell2"), (FX_AC, "FunctionalEntities"), (FX_INST, "Control"))

    def pair(name: str, a: str, b: str, **extra1) -> dict:
        return {
            "name": name,
            "endpoint1": {"automation_component": "Cell1", "functional_entity": "Motion", "name": a,
                          "inputs": ["Cell/Target"], "outputs": ["Cell/Speed"], "cleanup_timeout": 2000.0, **extra1},
            "endpoint2": {"automation_component": "Cell2", "functional_entity_path": control_path, "name": b,
                          "mode": "subscriber",
                          "input_paths": [path((FX_AC, "InputData"), (TAGS, "Speed"))]},
        }

    users = fx_config()  # the users admin (connection_admin) and op (write only) of test_fx
    return {
        "server": users["server"],
        "users": users["users"],
        "simulator": [{
            "name": "Cell", "interval_ms": 200,
            "tags": [
                {"name": "Speed", "type": "Double", "waveform": "sine"},
                {"name": "Target", "type": "Double", "waveform": "constant", "writable": True, "initial": 5.0},
                {"name": "Gain", "type": "Double", "waveform": "constant", "writable": True, "initial": 1.5},
            ],
        }],
        "fx": {
            "automation_component": [
                {
                    "name": "Cell1", "sources": ["Cell"], "max_connections_per_call": 1,
                    "asset": [{"name": "Drive", "manufacturer_uri": "urn:acme", "product_code": "DRV-3000",
                               "serial_number": "SN-42", "major_asset_version": 2, "minor_asset_version": 4}],
                    "functional_entity": [{
                        "name": "Motion", "author_uri": "urn:acme:motion", "hosted_by": ["Drive"],
                        "inputs": ["Cell/Target"], "outputs": ["Cell/Speed"], "configuration": ["Cell/Gain"],
                    }],
                },
                {
                    "name": "Cell2", "sources": ["Cell"],
                    "functional_entity": [{"name": "Control", "inputs": ["Cell/Speed"], "outputs": ["Cell/Target"]}],
                },
            ],
            "connection_manager": {"set": [
                {
                    "name": "Pair",
                    "asset_verification": [{
                        "automation_component": "Cell1", "asset": "Drive", "mode": "compatibility",
                        "variables": {"ManufacturerUri": "urn:acme", "ProductCode": "DRV-3000",
                                      "MajorAssetVersion": 2, "MinorAssetVersion": 4},
                    }],
                    "connection": [pair(
                        "MotionToControl", "ToControl", "FromMotion",
                        expected_verification=[{"node": motion_author, "value": "urn:acme:motion"}],
                        configuration_data=[{"node": "Cell/Gain", "value": 2.5}],
                    )],
                },
                {
                    "name": "BadPath",
                    "connection": [{
                        "name": "Lost",
                        "endpoint1": {"automation_component": "Cell1", "name": "Lost", "outputs": ["Cell/Speed"],
                                      "functional_entity_path": path((FX_INST, "Cell1"), (FX_AC, "FunctionalEntities"),
                                                                     (FX_INST, "Nope")),
                                      "related_address": "opc.tcp://peer.example:4840", "related_endpoint": "Peer"},
                    }],
                },
                {
                    "name": "Rollback", "rollback_on_error": True,
                    "connection": [
                        pair("First", "R1a", "R1b"),
                        pair("Second", "R2a", "R2b",
                             expected_verification=[{"node": motion_author, "value": "urn:someone:else"}]),
                    ],
                },
            ]},
        },
    }


class Cm:
    """The ConnectionManager as the client sees it."""

    def __init__(self, c, fx: Fx):
        self.c, self.fx = c, fx
        self.node = ua.NodeId(5011, fx.cm)

    def set(self, name: str) -> ua.NodeId:
        return self.fx.node(f"ConnectionManager/{name}")

    async def process(self, action: int, sets: list[ua.NodeId]) -> ua.CallMethodResult:
        req = ua.CallMethodRequest()
        req.ObjectId = self.node
        req.MethodId = ua.NodeId(7002, self.fx.cm)
        req.InputArguments = [ua.Variant(action, ua.VariantType.Int32), ua.Variant(sets, ua.VariantType.NodeId)]
        [res] = await self.c.uaclient.call([req])
        return res

    async def state(self, name: str) -> tuple[str, ua.NodeId, ua.NodeId]:
        m = f"ConnectionManager/{name}/ConnectionConfigurationSetStateMachine"
        text = await self.c.get_node(self.fx.node(f"{m}/CurrentState")).read_value()
        sid = await self.c.get_node(self.fx.node(f"{m}/CurrentState/Id")).read_value()
        tid = await self.c.get_node(self.fx.node(f"{m}/LastTransition/Id")).read_value()
        return text.Text, sid, tid

    async def wait_state(self, name: str, state: int, timeout: float = 10) -> None:
        for _ in range(int(timeout / 0.05)):
            if (await self.state(name))[1] == ua.NodeId(state, self.fx.cm):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{name} not in state {state}: {await self.state(name)}")

    async def diagnostics(self, name: str) -> dict:
        """The set's ConnectionsDiagnostics by connection name (structures decoded after
        load_data_type_definitions())."""
        node = await self.c.get_node(self.set(name)).get_child([f"{self.fx.cm}:ConnectionsDiagnostics"])
        return {d.Name.Name: d for d in map(self._decoded, await node.read_value())}

    def _decoded(self, d):
        """Without load_data_type_definitions() (asyncua binds structure and enum classes by
        name once, so through a gateway that also aggregates another fxgate the same names from
        two namespaces collide and the load fails), the element stays an ExtensionObject: its
        body is read here field by field as §10.19 lays it out."""
        if not isinstance(d, ua.ExtensionObject):
            return d
        from types import SimpleNamespace

        from asyncua.common.utils import Buffer
        from asyncua.ua.ua_binary import Primitives, unpack_uatype

        buf = Buffer(d.Body)
        name = unpack_uatype(ua.VariantType.QualifiedName, buf)
        fields = dict(Name=name, LastActivity=Primitives.UInt16.unpack(buf), ConnectionState=Primitives.Int32.unpack(buf))
        fields["ErrorEndpoint1"] = Primitives.Int32.unpack(buf)
        fields["Endpoint1Status"] = ua.StatusCode(Primitives.UInt32.unpack(buf))
        fields["ErrorEndpoint2"] = Primitives.Int32.unpack(buf)
        fields["Endpoint2Status"] = ua.StatusCode(Primitives.UInt32.unpack(buf))
        return SimpleNamespace(**fields)

    async def endpoints(self, fe: str) -> set[str]:
        folder = self.c.get_node(self.fx.node(f"{fe}/ConnectionEndpoints"))
        refs = await folder.get_references(refs=ua.NodeId(41, self.fx.ac))
        return {r.BrowseName.Name for r in refs}

    async def subscribe(self, node: ua.NodeId) -> EventCollector:
        handler = EventCollector()
        sub = await self.c.create_subscription(50, handler)
        evtype = self.c.get_node(ua.NodeId(1006, self.fx.cm))
        await sub.subscribe_events(self.c.get_node(node), evtype, evfilter=await of_type_filter(evtype), queuesize=100)
        return handler


MOTION, CONTROL = "Cell1/FunctionalEntities/Motion", "Cell2/FunctionalEntities/Control"


async def admin(gw, client_cert) -> Cm:
    c = await connect(gw, client_cert, username="admin", password=ADMIN_PW)
    await c.load_data_type_definitions()
    return Cm(c, await Fx(c).load())


async def run_events(cm: Cm, handler: EventCollector, set_name: str, action: int, end: int) -> list:
    """Waits for Started then `end` (Succeeded or Failed) of `set_name` caused by `action`."""
    def match(type_id):
        return lambda e: (e.EventType == ua.NodeId(type_id, cm.fx.cm) and e.Name == set_name
                          and e not in handler.seen)
    handler.seen = getattr(handler, "seen", [])
    started = await handler.wait(match(STARTED))
    handler.seen.append(started)
    done = await handler.wait(match(end))
    handler.seen.append(done)
    for e in (started, done):
        assert e.SourceNode == cm.node, e
        assert e.ConnectionConfigurationSetNode == cm.set(set_name), e
        assert e.Action == action, e
    assert handler.events.index(started) < handler.events.index(done), "Started comes first"
    return [started, done]


@sync
async def test_the_connection_manager_and_its_sets_in_the_address_space(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    cm = await admin(gw, client_cert)
    c, fx = cm.c, cm.fx
    try:
        node = await c.nodes.objects.get_child([f"{fx.data}:FxRoot", f"{fx.cm}:ConnectionManager"])
        assert node.nodeid == cm.node, "the CM NodeSet's FxRoot ConnectionManager instance id"
        assert (await node.read_type_definition()) == ua.NodeId(1002, fx.cm), "ConnectionManagerType"
        notifier = await node.read_attribute(ua.AttributeIds.EventNotifier)
        assert notifier.Value.Value & 1, "SubscribeToEvents"
        folder = await node.get_child([f"{fx.cm}:ConnectionConfigurationSets"])
        assert folder.nodeid == ua.NodeId(5003, fx.cm)
        sets = {(await n.read_browse_name()).Name: n for n in await folder.get_children()}
        assert set(sets) == {"Pair", "BadPath", "Rollback"}, sets
        pair = sets["Pair"]
        assert (await pair.read_type_definition()) == ua.NodeId(1012, fx.cm), "ConnectionConfigurationSetType"
        assert await (await node.get_child([f"{fx.cm}:AggregatedCurrentState"])).read_value() is False
        assert await (await pair.get_child([f"{fx.cm}:RollbackOnError"])).read_value() is False
        assert await (await sets["Rollback"].get_child([f"{fx.cm}:RollbackOnError"])).read_value() is True
        assert await cm.state("Pair") == ("Ready", ua.NodeId(READY, fx.cm), ua.NodeId()), "initially Ready"
        lock = await pair.get_child([f"{fx.di}:Lock"])
        assert (await lock.read_type_definition()) == ua.NodeId(6388, fx.di), "DI LockingServicesType"
        assert await (await lock.get_child([f"{fx.di}:LockingUser"])).read_value() == "CM"
        assert await (await lock.get_child([f"{fx.di}:Locked"])).read_value() is True
        req = ua.CallMethodRequest()
        req.ObjectId, req.MethodId = lock.nodeid, fx.node("ConnectionManager/Pair/Lock/ExitLock")
        [r] = await c.uaclient.call([req])
        assert code(r.StatusCode) == "Good" and r.OutputArguments[0].Value == -1, "E_NotLocked: the CM holds it, not this client"
        # <Connection> with Endpoint1/Endpoint2, <AutomationComponentConfiguration>, <ServerAddress>
        conns = await pair.get_referenced_nodes(refs=ua.NodeId(1057, fx.cm))
        assert [(await n.read_browse_name()).Name for n in conns] == ["MotionToControl"]
        ep1 = await conns[0].get_child([f"{fx.cm}:Endpoint1"])
        name = await ep1.get_child([f"{fx.cm}:ConnectionEndpoint", f"{fx.cm}:Name"])
        assert await name.read_value() == "ToControl"
        fe = await (await ep1.get_child([f"{fx.cm}:FunctionalEntityNode"])).read_value()
        assert fe.Node.NamespaceUri == FX_INST, fe
        acs = await pair.get_referenced_nodes(refs=ua.NodeId(1062, fx.cm))
        assert sorted([(await n.read_browse_name()).Name for n in acs]) == ["Cell1", "Cell2"]
        servers = await pair.get_referenced_nodes(refs=ua.NodeId(1053, fx.cm))
        assert len(servers) == 1
        linked = await servers[0].get_referenced_nodes(refs=ua.NodeId(1063, fx.cm))
        assert sorted(n.nodeid for n in linked) == sorted(n.nodeid for n in acs)
    finally:
        await safe_disconnect(c)


@sync
async def test_process_establishes_a_set_with_events_then_removes_it(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    cm = await admin(gw, client_cert)
    c, fx = cm.c, cm.fx
    try:
        on_cm = await cm.subscribe(cm.node)
        on_server = await cm.subscribe(ua.NodeId(ua.ObjectIds.Server))
        assert await cm.endpoints(MOTION) == set()
        r = await cm.process(1, [cm.set("Pair")])  # ActionEstablishConnectionsDisabled
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, on_cm, "Pair", 1, SUCCEEDED)
        await run_events(cm, on_server, "Pair", 1, SUCCEEDED)
        await cm.wait_state("Pair", READY)
        assert await cm.state("Pair") == ("Ready", ua.NodeId(READY, fx.cm), ua.NodeId(1175, fx.cm)), \
            "LastTransition ProcessingToReady"
        assert await cm.endpoints(MOTION) == {"ToControl"}
        assert await cm.endpoints(CONTROL) == {"FromMotion"}
        ep = c.get_node(fx.node(f"{MOTION}/ConnectionEndpoints/ToControl"))
        related = await (await ep.get_child([f"{fx.ac}:RelatedEndpoint"])).read_value()
        assert related.ConnectionEndpointName == "FromMotion", related
        assert await (await ep.get_child([f"{fx.ac}:CleanupTimeout"])).read_value() == 2000.0
        peer = c.get_node(fx.node(f"{CONTROL}/ConnectionEndpoints/FromMotion"))
        assert await (await peer.get_child([f"{fx.ac}:Mode"])).read_value() == 3, "Subscriber"
        tags = await c.get_namespace_index(TAGS)
        inputs = await (await peer.get_child([f"{fx.ac}:InputVariables"])).read_value()
        assert inputs == [ua.NodeId("Cell/Speed", tags)], "resolved from the browse path InputData/Speed"
        assert await c.get_node(ua.NodeId("Cell/Gain", tags)).read_value() == 2.5, "ConfigurationData written"
        assert await (await c.get_node(cm.node).get_child([f"{fx.cm}:AggregatedCurrentState"])).read_value() is False
        await c.load_data_type_definitions()
        d = (await cm.diagnostics("Pair"))["MotionToControl"]
        assert d.LastActivity == 0x2, f"EstablishDisabled, no Error bit: {d}"
        assert d.ConnectionState == ua.ConnectionStateEnum.ConnectionInitial, d
        assert (d.ErrorEndpoint1, d.ErrorEndpoint2) == (ua.FxErrorEnum.NoError, ua.FxErrorEnum.NoError), d
        assert (code(d.Endpoint1Status), code(d.Endpoint2Status)) == ("Good", "Good"), d

        r = await cm.process(3, [cm.set("Pair")])  # ActionRemoveConnections
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, on_cm, "Pair", 3, SUCCEEDED)
        await cm.wait_state("Pair", READY)
        assert await cm.endpoints(MOTION) == set() and await cm.endpoints(CONTROL) == set()
        d = (await cm.diagnostics("Pair"))["MotionToControl"]
        assert d.LastActivity == 0x8 and d.ConnectionState == ua.ConnectionStateEnum.ConnectionNotEstablished, d
    finally:
        await safe_disconnect(c)


@sync
async def test_process_argument_and_set_errors(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    cm = await admin(gw, client_cert)
    c, fx = cm.c, cm.fx
    try:
        r = await cm.process(1, [fx.node("ConnectionManager/Nope")])
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Uncertain", ["BadNodeIdUnknown"]), r
        r = await cm.process(1, [ua.NodeId(), fx.node(MOTION)])
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == \
            ("Uncertain", ["BadNodeIdInvalid", "BadInvalidArgument"]), r
        r = await cm.process(9, [cm.set("Pair")])
        assert code(r.StatusCode) == "BadInvalidArgument", r
        assert await cm.state("Pair") == ("Ready", ua.NodeId(READY, fx.cm), ua.NodeId()), "nothing started"
    finally:
        await safe_disconnect(c)


@sync
async def test_unresolvable_path_fails_and_rollback_removes_what_was_created(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    cm = await admin(gw, client_cert)
    c, fx = cm.c, cm.fx
    try:
        events = await cm.subscribe(cm.node)
        aggregated = await c.get_node(cm.node).get_child([f"{fx.cm}:AggregatedCurrentState"])
        r = await cm.process(1, [cm.set("BadPath")])
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, events, "BadPath", 1, FAILED)
        await cm.wait_state("BadPath", ERROR)
        assert await cm.state("BadPath") == ("Error", ua.NodeId(ERROR, fx.cm), ua.NodeId(1176, fx.cm))
        assert await aggregated.read_value() is True, "a set is in Error"
        assert await cm.endpoints(MOTION) == set()
        await c.load_data_type_definitions()
        d = (await cm.diagnostics("BadPath"))["Lost"]
        assert d.LastActivity == 0x8002, f"EstablishDisabled with the Error bit: {d}"
        assert d.ErrorEndpoint1 == ua.FxErrorEnum.ResolvingPathsError, d  # 12
        assert code(d.Endpoint1Status) == "BadNoMatch", d
        assert d.ConnectionState == ua.ConnectionStateEnum.ConnectionNotEstablished, d
        # again from Error: ErrorToProcessing, and Failed again
        r = await cm.process(2, [cm.set("BadPath")])
        assert codes(r.OutputArguments[0].Value) == ["Good"], r
        await run_events(cm, events, "BadPath", 2, FAILED)
        await cm.wait_state("BadPath", ERROR)

        r = await cm.process(1, [cm.set("Rollback")])
        assert codes(r.OutputArguments[0].Value) == ["Good"], r
        await run_events(cm, events, "Rollback", 1, FAILED)
        await cm.wait_state("Rollback", ERROR)
        assert await cm.endpoints(MOTION) == set(), "R1a rolled back, R2a never created"
        assert await cm.endpoints(CONTROL) == set(), "R1b rolled back"
        assert await aggregated.read_value() is True
        diag = await cm.diagnostics("Rollback")
        first, second = diag["First"], diag["Second"]
        assert first.LastActivity == 0x8002, first
        assert (first.ErrorEndpoint1, first.ErrorEndpoint2) == (ua.FxErrorEnum.Rollback, ua.FxErrorEnum.Rollback), first
        assert (code(first.Endpoint1Status), code(first.Endpoint2Status)) == ("Good", "Good"), first
        assert second.ErrorEndpoint1 == ua.FxErrorEnum.VerifyFunctionalEntityError, second
        assert code(second.Endpoint1Status) == "BadNoMatch", second
        assert second.ErrorEndpoint2 == ua.FxErrorEnum.ProcessingStopped, second
    finally:
        await safe_disconnect(c)


@sync
async def test_process_needs_the_connection_admin_role(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    op = await connect(gw, client_cert, username="op", password=OP_PW)
    try:
        cm = Cm(op, await Fx(op).load())
        r = await cm.process(1, [cm.set("Pair")])
        assert code(r.StatusCode) == "BadUserAccessDenied", "the write role is not enough"
        assert (await cm.state("Pair"))[1] == ua.NodeId(READY, cm.fx.cm)
    finally:
        await safe_disconnect(op)


# --- target AutomationComponents on an upstream server ------------------------------------------

REMOTE_MOTION = "Cell1/FunctionalEntities/Motion"  # on gateway A
LOCAL_CONTROL = "Cell2/FunctionalEntities/Control"  # on gateway B


def remote_cm_config(a) -> dict:
    """Gateway B: an AutomationComponent `Cell2` (FE Control), gateway A (test_fx's `fx_config()`,
    AC `Cell1` with FE Motion) as upstream `a` (security None, user admin with connection_admin),
    and three sets joining B's Control (endpoint1) with A's Motion (endpoint2, `server = "a"`):
    `Remote` (FE by name, input by browse path on A), `RemoteBadPath` (an input path A does not
    have) and `RemoteRollback` (RollbackOnError; the second connection fails A's FE verification)."""
    from aggregation_support import upstream

    def link(name: str, local: str, remote: str, input_tag: str = "Target", **remote_extra) -> dict:
        return {
            "name": name,
            "endpoint1": {"automation_component": "Cell2", "functional_entity": "Control", "name": local,
                          "inputs": ["Cell/Speed"], "outputs": ["Cell/Target"]},
            "endpoint2": {"server": "a", "automation_component": "Cell1", "functional_entity": "Motion",
                          "name": remote, "mode": "subscriber", "cleanup_timeout": 3000.0,
                          "input_paths": [path((FX_AC, "InputData"), (TAGS, input_tag))], **remote_extra},
        }

    author = f"nsu={FX_INST};s=Cell1/FunctionalEntities/Motion/AuthorUri"
    cfg = fx_config()
    cfg["server"]["accept_all_certificates"] = True
    cfg["upstream"] = [upstream("a", a, username="admin", password=ADMIN_PW,
                                security_policy="None", security_mode="None")]
    cfg["fx"] = {
        "automation_component": [{
            "name": "Cell2", "sources": ["Cell"],
            "functional_entity": [{"name": "Control", "inputs": ["Cell/Speed"], "outputs": ["Cell/Target"]}],
        }],
        "connection_manager": {"set": [
            {"name": "Remote", "connection": [link("BToA", "ToA", "FromB")]},
            {"name": "RemoteBadPath", "connection": [link("Lost", "LostB", "LostA", input_tag="Nope")]},
            {"name": "RemoteRollback", "rollback_on_error": True, "connection": [
                link("First", "R1b", "R1a"),
                link("Second", "R2b", "R2a", expected_verification=[{"node": author, "value": "urn:someone:else"}]),
            ]},
        ]},
    }
    return cfg


def a_config() -> dict:
    """Gateway A: test_fx's `fx_config()` with a security None endpoint for B's upstream session."""
    cfg = fx_config()
    cfg["server"]["allow_none"] = True
    return cfg


async def two_gateways(gateway_factory, client_cert):
    """Starts A and B, connects as admin to both (the ConnectionManager on B, the FX model on
    A) and waits until B's upstream session to A is up."""
    from aggregation_support import wait_connected

    gw_a = gateway_factory.start(a_config())
    gw_b = gateway_factory.start(remote_cm_config(gw_a))
    cm = await admin(gw_b, client_cert)
    on_a = await admin(gw_a, client_cert)
    await wait_connected(cm.c, ["a"])
    return gw_a, gw_b, cm, on_a


async def related(c, fx: Fx, endpoint: str):
    ep = c.get_node(fx.node(endpoint))
    return await (await ep.get_child([f"{fx.ac}:RelatedEndpoint"])).read_value()


@sync
async def test_process_establishes_and_removes_endpoints_on_an_upstream_server(gateway_factory, client_cert):
    gw_a, gw_b, cm, on_a = await two_gateways(gateway_factory, client_cert)
    c, fx = cm.c, cm.fx
    try:
        events = await cm.subscribe(cm.node)
        assert await on_a.endpoints(REMOTE_MOTION) == set()
        r = await cm.process(1, [cm.set("Remote")])
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, events, "Remote", 1, SUCCEEDED)
        await cm.wait_state("Remote", READY)
        assert await cm.endpoints(LOCAL_CONTROL) == {"ToA"}, "B's local endpoint"
        assert await on_a.endpoints(REMOTE_MOTION) == {"FromB"}, "the endpoint on A, created over B's upstream session"

        mine = await related(c, fx, f"{LOCAL_CONTROL}/ConnectionEndpoints/ToA")
        assert mine.Address == gw_a.url and mine.ConnectionEndpointName == "FromB", mine
        assert [q.Name for q in mine.ConnectionEndpointPath] == \
            ["Cell1", "FunctionalEntities", "Motion", "ConnectionEndpoints", "FromB"], mine
        theirs = await related(on_a.c, on_a.fx, f"{REMOTE_MOTION}/ConnectionEndpoints/FromB")
        assert theirs.Address == gw_b.url and theirs.ConnectionEndpointName == "ToA", theirs
        assert [(q.NamespaceUri, q.Name) for q in theirs.ConnectionEndpointPath] == [
            (FX_INST, "Cell2"), (FX_AC, "FunctionalEntities"), (FX_INST, "Control"),
            (FX_AC, "ConnectionEndpoints"), (FX_INST, "ToA")], theirs
        remote_ep = on_a.c.get_node(on_a.fx.node(f"{REMOTE_MOTION}/ConnectionEndpoints/FromB"))
        tags_a = await on_a.c.get_namespace_index(TAGS)
        inputs = await (await remote_ep.get_child([f"{on_a.fx.ac}:InputVariables"])).read_value()
        assert inputs == [ua.NodeId("Cell/Target", tags_a)], "resolved on A from InputData/Target"
        assert await (await remote_ep.get_child([f"{on_a.fx.ac}:Mode"])).read_value() == 3, "Subscriber"
        assert await (await remote_ep.get_child([f"{on_a.fx.ac}:CleanupTimeout"])).read_value() == 3000.0

        r = await cm.process(3, [cm.set("Remote")])  # ActionRemoveConnections
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, events, "Remote", 3, SUCCEEDED)
        await cm.wait_state("Remote", READY)
        assert await cm.endpoints(LOCAL_CONTROL) == set()
        assert await on_a.endpoints(REMOTE_MOTION) == set(), "CloseConnections(Remove=TRUE) on A"
    finally:
        await safe_disconnect(c)
        await safe_disconnect(on_a.c)


@sync
async def test_remote_failures_fail_the_run_and_rollback_closes_remote_endpoints(gateway_factory, client_cert):
    gw_a, _, cm, on_a = await two_gateways(gateway_factory, client_cert)
    c, fx = cm.c, cm.fx
    try:
        events = await cm.subscribe(cm.node)
        aggregated = await c.get_node(cm.node).get_child([f"{fx.cm}:AggregatedCurrentState"])
        r = await cm.process(1, [cm.set("RemoteBadPath")])
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, events, "RemoteBadPath", 1, FAILED)
        await cm.wait_state("RemoteBadPath", ERROR)
        assert await cm.state("RemoteBadPath") == ("Error", ua.NodeId(ERROR, fx.cm), ua.NodeId(1176, fx.cm))
        assert await aggregated.read_value() is True, "a set is in Error"
        assert await cm.endpoints(LOCAL_CONTROL) == set() and await on_a.endpoints(REMOTE_MOTION) == set()
        [d] = (await cm.diagnostics("RemoteBadPath")).values()
        assert (d.LastActivity, d.ErrorEndpoint2) == (0x8002, 12), f"ResolvingPathsError: {d}"
        assert d.ErrorEndpoint1 == 3, f"ProcessingStopped: resolution failed before anything ran: {d}"

        r = await cm.process(1, [cm.set("RemoteRollback")])
        assert codes(r.OutputArguments[0].Value) == ["Good"], r
        await run_events(cm, events, "RemoteRollback", 1, FAILED)
        await cm.wait_state("RemoteRollback", ERROR)
        assert await cm.endpoints(LOCAL_CONTROL) == set(), "R1b and R2b (created before A refused R2a) rolled back"
        assert await on_a.endpoints(REMOTE_MOTION) == set(), "R1a on A closed by the rollback, R2a never created"

        # the upstream session is lost: the run fails, nothing is created locally
        await safe_disconnect(on_a.c)
        gw_a.stop()
        state = c.get_node(ua.NodeId("fxgate/Upstreams/a/State", await c.get_namespace_index(AGG_NS)))

        async def disconnected():
            return await state.read_value() != "Connected"

        await wait_for(disconnected, 20, "upstream a not Connected")
        r = await cm.process(2, [cm.set("Remote")])
        assert codes(r.OutputArguments[0].Value) == ["Good"], r
        await run_events(cm, events, "Remote", 2, FAILED)
        await cm.wait_state("Remote", ERROR)
        assert await cm.endpoints(LOCAL_CONTROL) == set()
        [d] = (await cm.diagnostics("Remote")).values()
        assert (d.LastActivity, d.ErrorEndpoint2) == (0x8004, 10), f"TargetServerConnectionError: {d}"
    finally:
        await safe_disconnect(c)
        await safe_disconnect(on_a.c)
