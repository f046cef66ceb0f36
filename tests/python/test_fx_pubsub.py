"""OPC UA FX tier 2 on PubSub (OPC 10000-81 §6.2.4.3.9–10, §6.6.2–3): EstablishConnections with
SetCommunicationConfigurationCmd and EnableCommunicationCmd between two fxgate processes, driven
the way a ConnectionManager does it (the id handshake of E.2.2: reserve on AC1, configure AC2 with
AC1's ids and null ids of its own, then AC1 with AC2's ids from ConfigurationValues). Data flows
over UADP both ways; the endpoint Status follows the readers and writers; AC1 killed turns AC2's
endpoint Error and its input Bad_NoCommunication, and CleanupTimeout removes the endpoint with an
AuditConnectionCleanupEventType; AC1 back and the connection established again → Operational.
Methods are called with the raw Call service, as in test_fx.py."""

from __future__ import annotations

import asyncio
import time

from asyncua import ua

from aggregation_support import of_type_filter
from fxgate_testlib import free_port, safe_disconnect
from test_fx import MASK, admin_session, code, codes, fx_config, sync

UDP_UADP = "http://opcfoundation.org/UA-Profile/Transport/pubsub-udp-uadp"
Ref = ua.PubSubConfigurationRefMask
DOUBLE = 11
STATUS = {0: "Initial", 1: "Ready", 2: "PreOperational", 3: "Operational", 4: "Error"}


def ac_config(publisher_id: int, port: int, group: str | None = None) -> dict:
    """fx_config (AutomationComponent Cell1, FunctionalEntity Motion) with a writable output
    `Cell/Out` and a PubSub connection for FX receiving on `port` (of multicast `group`, joined
    on the loopback interface, if given)."""
    cfg = fx_config()
    cfg["simulator"][0]["tags"].append(
        {"name": "Out", "type": "Double", "waveform": "constant", "writable": True, "initial": 0.0})
    cfg["fx"]["automation_component"][0]["functional_entity"][0]["outputs"].append("Cell/Out")
    cfg["pubsub"] = [{"name": "FxNet", "publisher_id": publisher_id, "fx": True,
                      "listen": f"opc.udp://{group or '127.0.0.1'}:{port}"}]
    if group:
        cfg["pubsub"][0]["interface"] = "127.0.0.1"
    return cfg


def ref(mask, connection=0, group=0, element=0) -> ua.PubSubConfigurationRefDataType:
    return ua.PubSubConfigurationRefDataType(ConfigurationMask=mask, ElementIndex=element,
                                             ConnectionIndex=connection, GroupIndex=group)


def version(major=0, minor=0) -> ua.ConfigurationVersionDataType:
    return ua.ConfigurationVersionDataType(MajorVersion=major, MinorVersion=minor)


def field(name: str) -> ua.FieldMetaData:
    return ua.FieldMetaData(Name=name, BuiltInType=DOUBLE, DataType=ua.NodeId(DOUBLE), ValueRank=-1)


def null_abstract(obj, *fields):
    """asyncua deviates from OPC 10000-6 here: a structure field of an abstract type (the
    connection's Address and TransportSettings, a group's or writer's Transport/MessageSettings)
    defaults to an instance of the abstract type itself, which it then encodes as an
    ExtensionObject no server can decode (async-opcua answers Bad_DecodingError for the whole
    request). The workaround, in the test: such fields not used are set null (None)."""
    for f in fields:
        if not hasattr(obj, f):
            raise AttributeError(f)
        setattr(obj, f, None)
    return obj


def communication(e, destination: str, writer: tuple[int, int], reader: tuple[ua.Variant, int, int],
                  out: str = "Cell/Out", into: str = "Cell/Target", enabled: bool = True,
                  published_version=version(7, 1), timeout_ms: float = 500.0, also_into: str | None = None):
    """A PubSubCommunicationConfigurationDataType: one writer group (with `writer` = (WriterGroupId,
    DataSetWriterId), 0 = null) publishing `out` to `destination`, one reader taking the DataSet of
    `reader` = (PublisherId, WriterGroupId, DataSetWriterId) into `into`, on a connection with a
    null name and PublisherId (ElementAdd + ElementMatch, §6.16.3)."""
    pds = ua.PublishedDataSetDataType(
        Name="Out", DataSetFolder=[],
        DataSetMetaData=ua.DataSetMetaDataType(Name="Out", Fields=[field("Out")], ConfigurationVersion=published_version),
        DataSetSource=ua.PublishedDataItemsDataType(
            PublishedData=[ua.PublishedVariableDataType(PublishedVariable=e.tag(out), AttributeId=13)]))
    wg = ua.WriterGroupDataType(
        Name="", Enabled=enabled, WriterGroupId=writer[0], PublishingInterval=10.0, KeepAliveTime=100.0,
        MaxNetworkMessageSize=1472,
        TransportSettings=ua.DatagramWriterGroupTransport2DataType(Address=ua.NetworkAddressUrlDataType(Url=destination)),
        DataSetWriters=[null_abstract(ua.DataSetWriterDataType(
            Name="", Enabled=enabled, DataSetWriterId=writer[1], DataSetName="Out",
            DataSetFieldContentMask=ua.DataSetFieldContentMask.StatusCode | ua.DataSetFieldContentMask.SourceTimestamp),
            "TransportSettings", "MessageSettings")])
    null_abstract(wg, "MessageSettings")
    into_all = [into] + ([also_into] if also_into else [])
    rd = ua.DataSetReaderDataType(
        Name="", Enabled=enabled, PublisherId=reader[0], WriterGroupId=reader[1], DataSetWriterId=reader[2],
        DataSetMetaData=ua.DataSetMetaDataType(Name="In", Fields=[field(f"In{i}") for i in range(len(into_all))],
                                               ConfigurationVersion=version(3, 1)),
        MessageReceiveTimeout=timeout_ms,
        SubscribedDataSet=ua.TargetVariablesDataType(
            TargetVariables=[ua.FieldTargetDataType(TargetNodeId=e.tag(t), AttributeId=13) for t in into_all]))
    null_abstract(rd, "TransportSettings", "MessageSettings")
    rg = null_abstract(ua.ReaderGroupDataType(Name="", Enabled=enabled, DataSetReaders=[rd]), "TransportSettings", "MessageSettings")
    conn = null_abstract(ua.PubSubConnectionDataType(
        Name="", Enabled=True, PublisherId=ua.Variant(), TransportProfileUri=UDP_UADP,
        WriterGroups=[wg], ReaderGroups=[rg]), "Address", "TransportSettings")
    cfg = ua.PubSubConfiguration2DataType(PublishedDataSets=[pds], Connections=[conn], Enabled=True)
    refs = [ref(Ref.ElementAdd | Ref.ElementMatch | Ref.ReferenceConnection),
            ref(Ref.ElementAdd | Ref.ReferenceWriterGroup),
            ref(Ref.ElementAdd | Ref.ReferenceReaderGroup),
            ref(Ref.ElementAdd | Ref.ReferencePubDataset)]
    return ua.PubSubCommunicationConfigurationDataType(PubSubConfiguration=cfg, RequireCompleteUpdate=False,
                                                       ConfigurationReferences=refs)


def links(expected_published=version(), mode=1):
    """CommunicationLinks to reader (0,0,0) and writer (0,0,0), as the Mode needs them."""
    none = ref(Ref(0))
    return ua.PubSubCommunicationLinkConfigurationDataType(
        DataSetReaderRef=ref(Ref.ReferenceReader) if mode in (1, 3) else none,
        ExpectedSubscribedDataSetVersion=version(),
        DataSetWriterRef=ref(Ref.ReferenceWriter) if mode in (1, 2) else none,
        ExpectedPublishedDataSetVersion=expected_published)


def endpoint(e, name: str, cleanup_ms: float = 5000.0, link=None, **kw):
    p = e.parameter(name, inputs=("Cell/Target",), outputs=("Cell/Out",), CleanupTimeout=cleanup_ms, **kw)
    cfg = e.config(endpoint=p)
    cfg.CommunicationLinks = link if link is not None else links()
    return cfg


def reserve_request(groups=1, writers=1):
    return ua.PubSubReserveCommunicationIdsDataType(TransportProfileUri=UDP_UADP, NumReqWriterGroupIds=groups,
                                                    NumReqDataSetWriterIds=writers)


def value_of(values, mask) -> ua.Variant:
    """The Identifier ConfigurationValues gives for the element of `mask`."""
    for v in values:
        if v.ConfigurationElement.ConfigurationMask == mask:
            return v.Identifier
    raise AssertionError(f"no ConfigurationValue for {mask!r} in {values}")


async def status(e, node: ua.NodeId) -> str:
    v = await e.c.get_node(ua.NodeId(f"{node.Identifier}/Status", node.NamespaceIndex)).read_value()
    return STATUS[v]


async def wait_for(what, predicate, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await what()
        if predicate(last):
            return last
        await asyncio.sleep(step)
    raise AssertionError(f"timed out; last value {last!r}")


async def read(e, path: str) -> ua.DataValue:
    return await e.c.get_node(e.tag(path)).read_data_value(raise_on_bad_status=False)


async def establish_pair(e1, e2, port1: int, port2: int, cleanup_ms: float = 5000.0, host: str = "127.0.0.1"):
    """The E.2.2 handshake for a bidirectional connection C1 (on AC1) ⇄ C2 (on AC2), each
    publishing to the other's `host`:port. Returns the two endpoint NodeIds."""
    create = MASK["Create"] | MASK["SetComm"] | MASK["Enable"]
    # 1. Reserve the publisher ids on AC1.
    r = await e1.call(MASK["Reserve"], reserve=[reserve_request()])
    assert code(r.StatusCode) == "Good", r
    [res] = r.OutputArguments[2].Value
    pid1, wg1, dsw1 = res.DefaultPublisherId, res.WriterGroupIds[0], res.DataSetWriterIds[0]
    # 2. AC2: its reader takes AC1's reserved ids; its own writer ids are null (filled in).
    r = await e2.call(create, endpoints=[endpoint(e2, "C2", cleanup_ms)],
                      comm=[communication(e2, f"opc.udp://{host}:{port1}", (0, 0), (pid1, wg1, dsw1))])
    assert code(r.StatusCode) == "Good", r
    [ep2] = r.OutputArguments[1].Value
    [comm2] = r.OutputArguments[3].Value
    assert code(comm2.Result) == "Good" and comm2.ChangesApplied, comm2
    assert (code(ep2.CommunicationLinksResult), code(ep2.EnableCommunicationResult)) == ("Good", "Good"), ep2
    pid2 = value_of(comm2.ConfigurationValues, Ref.ReferenceConnection)
    wg2 = value_of(comm2.ConfigurationValues, Ref.ReferenceWriterGroup).Value
    dsw2 = value_of(comm2.ConfigurationValues, Ref.ReferenceWriter).Value
    assert pid2.Value == 202 and wg2 > 0 and dsw2 > 0, comm2.ConfigurationValues
    # 3. AC1: its writer uses the reserved ids, its reader AC2's returned ones.
    r = await e1.call(create, endpoints=[endpoint(e1, "C1", cleanup_ms)],
                      comm=[communication(e1, f"opc.udp://{host}:{port2}", (wg1, dsw1), (pid2, wg2, dsw2))])
    assert code(r.StatusCode) == "Good", r
    [ep1] = r.OutputArguments[1].Value
    [comm1] = r.OutputArguments[3].Value
    assert code(comm1.Result) == "Good", comm1
    assert codes(comm1.ReferenceResults) == ["Good"] * 4, comm1
    return ep1.ConnectionEndpointId, ep2.ConnectionEndpointId


class Events:
    """AuditConnectionCleanupEventType events seen on the Server object."""

    def __init__(self):
        self.events = []

    def event_notification(self, event):
        self.events.append(event)


@sync
async def test_two_components_exchange_data_over_uadp_and_clean_up_after_the_peer_is_lost(gateway_factory, client_cert):
    port1, port2 = free_port(), free_port()
    gw1 = gateway_factory.start(ac_config(101, port1))
    gw2 = gateway_factory.start(ac_config(202, port2))
    c1, e1 = await admin_session(gw1, client_cert)
    c2, e2 = await admin_session(gw2, client_cert)
    try:
        n1, n2 = await establish_pair(e1, e2, port1, port2, cleanup_ms=2000.0)
        assert await wait_for(lambda: status(e1, n1), lambda s: s == "Operational") == "Operational"
        assert await wait_for(lambda: status(e2, n2), lambda s: s == "Operational") == "Operational"

        # AC1's output reaches AC2's input with AC1's SourceTimestamp, and the other way round.
        await c1.get_node(e1.tag("Cell/Out")).write_value(ua.Variant(12.25, ua.VariantType.Double))
        written = await read(e1, "Cell/Out")
        got = await wait_for(lambda: read(e2, "Cell/Target"), lambda dv: dv.Value.Value == 12.25)
        assert got.StatusCode.is_good() and got.SourceTimestamp == written.SourceTimestamp, (got, written)
        await c2.get_node(e2.tag("Cell/Out")).write_value(ua.Variant(-3.5, ua.VariantType.Double))
        got = await wait_for(lambda: read(e1, "Cell/Target"), lambda dv: dv.Value.Value == -3.5)
        assert got.StatusCode.is_good()

        # The cleanup event, subscribed for on AC2 before AC1 goes away.
        events = Events()
        sub = await c2.create_subscription(50, events)
        evtype = c2.get_node(ua.NodeId(1040, e2.fx.ac))
        await sub.subscribe_events(c2.nodes.server, evtype, evfilter=await of_type_filter(evtype), queuesize=10)

        gw1.stop()
        lost = time.monotonic()
        assert await wait_for(lambda: status(e2, n2), lambda s: s == "Error", timeout=5) == "Error"
        assert time.monotonic() - lost < 2.0, "Error within MessageReceiveTimeout (500 ms) and the status refresh"
        dv = await read(e2, "Cell/Target")
        assert dv.StatusCode.name == "BadNoCommunication" and dv.Value.Value == 12.25, dv
        # CleanupTimeout (2 s) after Status left Operational: the endpoint is gone, with the event.
        await wait_for(e2.endpoints, lambda eps: "C2" not in eps, timeout=8)
        assert time.monotonic() - lost >= 2.0, "not before the CleanupTimeout"
        await wait_for(lambda: asyncio.sleep(0, result=len(events.events)), lambda n: n >= 1, timeout=5)
        ev = events.events[0]
        assert ev.RemovedEndpoint == n2.to_string(), ev
        assert ev.RelatedEndpoint.ConnectionEndpointName == "PeerC1", ev
        health = await e2.health()
        assert health[0] == 0, "no endpoint left: CommHealth clear"
        ps = await c2.get_namespace_index("urn:fxgate:pubsub")
        conn = c2.get_node(ua.NodeId("FxNet", ps))
        assert await conn.get_references(refs=ua.ObjectIds.HasReaderGroup) == [], "the reader left the model too"
        assert await conn.get_references(refs=ua.ObjectIds.HasWriterGroup) == [], "and the writer group"

        # AC1 back, the connection established again: Operational, data flows.
        gw1.restart()
        await safe_disconnect(c1)
        c1, e1 = await admin_session(gw1, client_cert)
        n1, n2 = await establish_pair(e1, e2, port1, port2, cleanup_ms=2000.0)
        assert await wait_for(lambda: status(e2, n2), lambda s: s == "Operational") == "Operational"
        assert await wait_for(lambda: status(e1, n1), lambda s: s == "Operational") == "Operational"
        await c1.get_node(e1.tag("Cell/Out")).write_value(ua.Variant(99.0, ua.VariantType.Double))
        got = await wait_for(lambda: read(e2, "Cell/Target"), lambda dv: dv.Value.Value == 99.0)
        assert got.StatusCode.is_good()
    finally:
        await safe_disconnect(c1)
        await safe_disconnect(c2)


@sync
async def test_two_components_over_a_multicast_group(gateway_factory, client_cert):
    """The same handshake with both components publishing to one multicast group, which both
    receive on: each reader takes its peer's messages and drops the component's own."""
    port = free_port()
    group = f"239.255.22.{port % 200 + 1}"
    gw1 = gateway_factory.start(ac_config(101, port, group))
    gw2 = gateway_factory.start(ac_config(202, port, group))
    c1, e1 = await admin_session(gw1, client_cert)
    c2, e2 = await admin_session(gw2, client_cert)
    try:
        n1, n2 = await establish_pair(e1, e2, port, port, host=group)
        assert await wait_for(lambda: status(e1, n1), lambda s: s == "Operational") == "Operational"
        assert await wait_for(lambda: status(e2, n2), lambda s: s == "Operational") == "Operational"
        await c1.get_node(e1.tag("Cell/Out")).write_value(ua.Variant(4.5, ua.VariantType.Double))
        await c2.get_node(e2.tag("Cell/Out")).write_value(ua.Variant(-8.0, ua.VariantType.Double))
        assert (await wait_for(lambda: read(e2, "Cell/Target"), lambda dv: dv.Value.Value == 4.5)).StatusCode.is_good()
        assert (await wait_for(lambda: read(e1, "Cell/Target"), lambda dv: dv.Value.Value == -8.0)).StatusCode.is_good()
    finally:
        await safe_disconnect(c1)
        await safe_disconnect(c2)


@sync
async def test_set_communication_configuration_checks_and_status_ready_then_operational(gateway_factory, client_cert):
    """One component connected to itself (its writer publishes to its own connection, its reader
    takes its own ids): a wrong expected DataSet version → Bad_ConfigurationError; an output not in
    the DataSet → Bad_NoMatch; a Mode without its reader → Bad_NoMatch; each call aborted with
    nothing left. Valid with Enabled=FALSE → Ready; EnableCommunicationCmd → PreOperational →
    Operational; CloseConnections(Remove=FALSE) → Ready; a second endpoint on the same inputs
    cannot be enabled (Bad_RequestNotAllowed)."""
    port = free_port()
    gw = gateway_factory.start(ac_config(303, port))
    c, e = await admin_session(gw, client_cert)
    dest = f"opc.udp://127.0.0.1:{port}"
    own = (ua.Variant(303, ua.VariantType.UInt16), 40, 41)
    create_set = MASK["Create"] | MASK["SetComm"]
    try:
        r = await e.call(create_set, endpoints=[endpoint(e, "C1", link=links(version(6, 0)))],
                         comm=[communication(e, dest, (40, 41), own)])
        assert code(r.StatusCode) == "Uncertain", r
        [ep] = r.OutputArguments[1].Value
        assert code(ep.CommunicationLinksResult) == "BadConfigurationError", ep
        assert ep.ConnectionEndpointId.is_null(), "rolled back"
        assert code(r.OutputArguments[3].Value[0].Result) == "BadNothingToDo"

        r = await e.call(create_set, endpoints=[endpoint(e, "C1")],
                         comm=[communication(e, dest, (40, 41), own, out="Cell/Speed")])
        assert code(r.StatusCode) == "Uncertain", r
        assert code(r.OutputArguments[1].Value[0].CommunicationLinksResult) == "BadNoMatch"

        r = await e.call(create_set, endpoints=[endpoint(e, "C1", link=links(mode=2))],
                         comm=[communication(e, dest, (40, 41), own)])
        assert code(r.OutputArguments[1].Value[0].CommunicationLinksResult) == "BadNoMatch", "PublisherSubscriber needs its reader"
        # A reader that would also write an output of the component: refused by the apply, with
        # the reader group's reference named.
        r = await e.call(create_set, endpoints=[endpoint(e, "C1")],
                         comm=[communication(e, dest, (40, 41), own, also_into="Cell/Speed")])
        assert code(r.StatusCode) == "Uncertain", r
        [comm] = r.OutputArguments[3].Value
        assert code(comm.Result) == "BadConfigurationError" and codes(comm.ReferenceResults)[2] == "BadConfigurationError", comm
        assert await e.endpoints() == {}

        # The expected major version matches (minor 0 is not checked); everything disabled.
        r = await e.call(create_set, endpoints=[endpoint(e, "C1", link=links(version(7, 0)))],
                         comm=[communication(e, dest, (40, 41), own, enabled=False)])
        assert code(r.StatusCode) == "Good", r
        node = r.OutputArguments[1].Value[0].ConnectionEndpointId
        [comm] = r.OutputArguments[3].Value
        names = {v.ConfigurationElement.ConfigurationMask: v.Name for v in comm.ConfigurationValues}
        assert names[Ref.ReferenceConnection] == "FxNet" and names[Ref.ReferenceWriterGroup], names
        assert await wait_for(lambda: status(e, node), lambda s: s == "Ready") == "Ready"
        assert (await e.health())[0] == 0, "Ready: no CommHealth bit"

        # The reader and writer made are in the PubSub model (ConfigurationObjects), linked from
        # the endpoint by ToDataSetReader / ToDataSetWriter, their State following the runtime.
        ps = await c.get_namespace_index("urn:fxgate:pubsub")
        objects = list(comm.ConfigurationObjects)
        assert len(objects) == 2 and all(o.NamespaceIndex == ps for o in objects), objects
        ep = c.get_node(node)
        [to_reader] = await ep.get_references(refs=ua.NodeId(42, e.fx.ac))
        [to_writer] = await ep.get_references(refs=ua.NodeId(46, e.fx.ac))
        assert {to_reader.NodeId, to_writer.NodeId} == set(objects)
        reader_node = c.get_node(to_reader.NodeId)
        assert (await reader_node.read_browse_name()).Name == names[Ref.ReferenceReader]
        targets = await c.get_node(ua.NodeId(f"{to_reader.NodeId.Identifier}/SubscribedDataSet/TargetVariables", ps)).read_value()
        assert [t.TargetNodeId for t in targets] == [e.tag("Cell/Target")], targets
        published = await c.get_node(ua.NodeId(f"PublishedDataSets/{to_writer.NodeId.Identifier}/PublishedData", ps)).read_value()
        assert [v.PublishedVariable for v in published] == [e.tag("Cell/Out")], published
        groups = await c.get_node(ua.NodeId("FxNet", ps)).get_references(refs=ua.ObjectIds.HasWriterGroup)
        assert names[Ref.ReferenceWriterGroup] in [g.BrowseName.Name for g in groups], groups

        async def state(n: ua.NodeId) -> int:
            return await c.get_node(ua.NodeId(f"{n.Identifier}/Status/State", ps)).read_value()

        assert await wait_for(lambda: state(to_reader.NodeId), lambda v: v == 0) == 0, "Disabled"

        r = await e.call(MASK["Enable"], endpoints=[e.config(node=node)])
        assert code(r.StatusCode) == "Good", r
        assert await wait_for(lambda: status(e, node), lambda s: s == "Operational") == "Operational"
        assert await wait_for(lambda: state(to_reader.NodeId), lambda v: v == 2) == 2, "Operational"
        assert await wait_for(lambda: state(to_writer.NodeId), lambda v: v == 2) == 2
        await c.get_node(e.tag("Cell/Out")).write_value(ua.Variant(7.5, ua.VariantType.Double))
        got = await wait_for(lambda: read(e, "Cell/Target"), lambda dv: dv.Value.Value == 7.5)
        assert got.StatusCode.is_good()

        # The run-time objects' Status has Enable/Disable as configured ones do: disabling the
        # writer makes the endpoint Ready, enabling it again Operational.
        async def switch(n: ua.NodeId, name: str) -> str:
            req = ua.CallMethodRequest()
            req.ObjectId = ua.NodeId(f"{n.Identifier}/Status", ps)
            req.MethodId = ua.NodeId(f"{n.Identifier}/Status/{name}", ps)
            [res] = await c.uaclient.call([req])
            return code(res.StatusCode)

        assert await switch(to_writer.NodeId, "Disable") == "Good"
        assert await switch(to_writer.NodeId, "Disable") == "BadInvalidState", "already disabled"
        assert await wait_for(lambda: state(to_writer.NodeId), lambda v: v == 0) == 0, "Disabled"
        assert await wait_for(lambda: status(e, node), lambda s: s == "Ready") == "Ready"
        assert await switch(to_writer.NodeId, "Enable") == "Good"
        assert await wait_for(lambda: status(e, node), lambda s: s == "Operational") == "Operational"

        # A second endpoint whose reader would write the same input cannot be enabled.
        own2 = (ua.Variant(303, ua.VariantType.UInt16), 42, 43)
        r = await e.call(create_set | MASK["Enable"], endpoints=[endpoint(e, "C2")],
                         comm=[communication(e, dest, (42, 43), own2)])
        assert code(r.StatusCode) == "Uncertain", r
        assert code(r.OutputArguments[1].Value[0].EnableCommunicationResult) == "BadRequestNotAllowed"
        assert set(await e.endpoints()) == {"C1"}, "C2 rolled back"

        # CloseConnections(Remove=FALSE): the reader and writer are disabled, the endpoint Ready.
        res = await e.fx.call("Cell1", "CloseConnections", ua.Variant([node], ua.VariantType.NodeId),
                               ua.Variant(False, ua.VariantType.Boolean))
        assert code(res.StatusCode) == "Good", res
        assert await wait_for(lambda: status(e, node), lambda s: s == "Ready") == "Ready"
        dv = await wait_for(lambda: read(e, "Cell/Target"), lambda dv: not dv.StatusCode.is_good())
        assert dv.StatusCode.name == "BadOutOfService" and dv.Value.Value == 7.5, dv
        # The writer group ids are still taken: the same ids again are refused.
        r = await e.call(create_set, endpoints=[endpoint(e, "C3")], comm=[communication(e, dest, (40, 41), own)])
        assert code(r.OutputArguments[3].Value[0].Result) == "BadConfigurationError", r.OutputArguments[3].Value[0]
    finally:
        await safe_disconnect(c)
