"""The FX ConnectionManager with a PubSub communication model (OPC 10000-81 §6.7.3, E.2.2):
gateway A runs the ConnectionManager and AutomationComponent Cell1; gateway B, an upstream of A,
has its own Cell1. A set whose connection joins A's Motion and B's Motion with `pubsub` is
processed: the CM reserves ids on A, configures B (its reader on A's ids, its writer ids filled
in by B and returned in ConfigurationValues), then A — over B's upstream session for B's side.
Data then flows both ways over UADP at 10 ms; ActionDisableConnections and ActionEnableConnections
switch it off and on; ActionRemoveConnections removes everything; ActionEstablishConnectionsDisabled
leaves both endpoints Ready. A second test runs the ConnectionManager in a third process of its own,
with both components remote."""

from __future__ import annotations

from asyncua import ua

from aggregation_support import upstream, wait_connected
from fxgate_testlib import free_port, safe_disconnect
from test_fx import ADMIN_PW, FX_AC, code, codes, sync
from test_fx_cm import READY, SUCCEEDED, TAGS, admin, path, run_events
from test_fx_pubsub import ac_config, read, status, wait_for

MOTION = "Cell1/FunctionalEntities/Motion"


def cm_config(b, port_a: int, port_b: int, **pubsub) -> dict:
    """Gateway A: ac_config (Cell1/Motion, PubSub for FX on port_a), B as upstream `b`, and the set
    `Flow` with one PublisherSubscriber connection A.ToB ⇄ B.FromA (B's variables by browse path)."""
    cfg = ac_config(101, port_a)
    cfg["server"]["accept_all_certificates"] = True
    cfg["upstream"] = [upstream("b", b, username="admin", password=ADMIN_PW, security_policy="None", security_mode="None")]
    cfg["fx"]["connection_manager"] = {"set": [{"name": "Flow", "connection": [{
        "name": "Link",
        "endpoint1": {"automation_component": "Cell1", "functional_entity": "Motion", "name": "ToB",
                      "inputs": ["Cell/Target"], "outputs": ["Cell/Out"], "cleanup_timeout": 3000.0,
                      "address": f"opc.udp://127.0.0.1:{port_a}"},
        "endpoint2": {"server": "b", "automation_component": "Cell1", "functional_entity": "Motion", "name": "FromA",
                      "input_paths": [path((FX_AC, "InputData"), (TAGS, "Target"))],
                      "output_paths": [path((FX_AC, "OutputData"), (TAGS, "Out"))],
                      "cleanup_timeout": 3000.0, "address": f"opc.udp://127.0.0.1:{port_b}"},
        "pubsub": {"publishing_interval_ms": 10, "message_receive_timeout_ms": 500, **pubsub},
    }]}]}
    return cfg


def b_config(port_b: int) -> dict:
    cfg = ac_config(202, port_b)
    cfg["server"]["allow_none"] = True
    return cfg


async def endpoint_status(cm, name: str) -> str:
    node = cm.fx.node(f"{MOTION}/ConnectionEndpoints/{name}")
    return await status(cm, node)


class View:
    """What test_fx_pubsub's helpers need of a session: the client, the FX namespaces and tag NodeIds."""

    def __init__(self, cm, tags_ns: int):
        self.c, self.fx, self.tags = cm.c, cm.fx, tags_ns

    def tag(self, p: str) -> ua.NodeId:
        return ua.NodeId(p, self.tags)


async def view(cm) -> View:
    return View(cm, await cm.c.get_namespace_index(TAGS))


async def operational_both_ways(a: View, b: View, to_b: float, to_a: float) -> None:
    """Both endpoints Operational; A's output reaches B's input with A's SourceTimestamp, and B's
    output reaches A's input."""
    assert await wait_for(lambda: endpoint_status(a, "ToB"), lambda s: s == "Operational") == "Operational"
    assert await wait_for(lambda: endpoint_status(b, "FromA"), lambda s: s == "Operational") == "Operational"
    await a.c.get_node(a.tag("Cell/Out")).write_value(ua.Variant(to_b, ua.VariantType.Double))
    sent = await read(a, "Cell/Out")
    got = await wait_for(lambda: read(b, "Cell/Target"), lambda dv: dv.Value.Value == to_b)
    assert got.StatusCode.is_good() and got.SourceTimestamp == sent.SourceTimestamp, (got, sent)
    await b.c.get_node(b.tag("Cell/Out")).write_value(ua.Variant(to_a, ua.VariantType.Double))
    got = await wait_for(lambda: read(a, "Cell/Target"), lambda dv: dv.Value.Value == to_a)
    assert got.StatusCode.is_good()


async def cm_and_upstream(gateway_factory, client_cert):
    """B started, A (the CM) with B as its connected upstream; admin sessions on both and their
    views."""
    port_a, port_b = free_port(), free_port()
    gw_b = gateway_factory.start(b_config(port_b))
    gw_a = gateway_factory.start(cm_config(gw_b, port_a, port_b))
    cm = await admin(gw_a, client_cert)
    on_b = await admin(gw_b, client_cert)
    await wait_connected(cm.c, ["b"])
    return gw_b, cm, on_b, await view(cm), await view(on_b)


@sync
async def test_the_connection_manager_sets_up_pubsub_both_ways_over_an_upstream(gateway_factory, client_cert):
    gw_b, cm, on_b, a, b = await cm_and_upstream(gateway_factory, client_cert)
    try:
        events = await cm.subscribe(cm.node)
        r = await cm.process(0, [cm.set("Flow")])  # ActionEstablishConnectionsEnabled
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, events, "Flow", 0, SUCCEEDED)
        await cm.wait_state("Flow", READY)
        assert await cm.endpoints(MOTION) == {"ToB"} and await on_b.endpoints(MOTION) == {"FromA"}
        await operational_both_ways(a, b, 21.5, -1.25)

        # Disable: CloseConnections(Remove=FALSE) on both ends: Ready, the readers' inputs out of
        # service; Enable: EnableCommunicationCmd on both: Operational, data flows again.
        r = await cm.process(5, [cm.set("Flow")])
        assert code(r.StatusCode) == "Good", r
        await run_events(cm, events, "Flow", 5, SUCCEEDED)
        assert await wait_for(lambda: endpoint_status(a, "ToB"), lambda s: s == "Ready") == "Ready"
        assert await wait_for(lambda: endpoint_status(b, "FromA"), lambda s: s == "Ready") == "Ready"
        dv = await wait_for(lambda: read(b, "Cell/Target"), lambda dv: not dv.StatusCode.is_good())
        assert dv.StatusCode.name == "BadOutOfService" and dv.Value.Value == 21.5, dv
        r = await cm.process(4, [cm.set("Flow")])
        assert code(r.StatusCode) == "Good", r
        await run_events(cm, events, "Flow", 4, SUCCEEDED)
        assert await wait_for(lambda: endpoint_status(a, "ToB"), lambda s: s == "Operational") == "Operational"
        assert await wait_for(lambda: endpoint_status(b, "FromA"), lambda s: s == "Operational") == "Operational"
        await cm.c.get_node(a.tag("Cell/Out")).write_value(ua.Variant(22.5, ua.VariantType.Double))
        got = await wait_for(lambda: read(b, "Cell/Target"), lambda dv: dv.Value.Value == 22.5)
        assert got.StatusCode.is_good()

        # Remove: both endpoints and their readers and writers go; neither input is fed any more.
        r = await cm.process(3, [cm.set("Flow")])
        assert code(r.StatusCode) == "Good", r
        await run_events(cm, events, "Flow", 3, SUCCEEDED)
        assert await cm.endpoints(MOTION) == set() and await on_b.endpoints(MOTION) == set()
        dv = await wait_for(lambda: read(b, "Cell/Target"), lambda dv: not dv.StatusCode.is_good())
        assert dv.StatusCode.name == "BadNoCommunication" and dv.Value.Value == 22.5, dv
        dv = await wait_for(lambda: read(a, "Cell/Target"), lambda dv: not dv.StatusCode.is_good())
        assert dv.StatusCode.name == "BadNoCommunication" and dv.Value.Value == -1.25, "A's local reader is gone too"

        # EstablishDisabled: the readers and writers are made disabled, the endpoints Ready; the
        # ids of the removed run are free again, so the same handshake works a second time.
        r = await cm.process(1, [cm.set("Flow")])
        assert code(r.StatusCode) == "Good", r
        await run_events(cm, events, "Flow", 1, SUCCEEDED)
        assert await wait_for(lambda: endpoint_status(a, "ToB"), lambda s: s == "Ready") == "Ready"
        assert await wait_for(lambda: endpoint_status(b, "FromA"), lambda s: s == "Ready") == "Ready"
    finally:
        await safe_disconnect(cm.c)
        await safe_disconnect(on_b.c)


@sync
async def test_the_peer_lost_cleanup_and_the_set_processed_again(gateway_factory, client_cert):
    """Issue 21's loss scenario through the ConnectionManager: B (the upstream component) is
    killed; A's endpoint goes to Error within the MessageReceiveTimeout and its input turns
    Bad_NoCommunication with the last value; after the CleanupTimeout A removes its endpoint with
    AuditConnectionCleanupEventType; B comes back and the set, processed again, is Operational
    both ways."""
    import asyncio
    import time

    from aggregation_support import of_type_filter
    from test_fx_pubsub import Events

    gw_b, cm, on_b, a, b = await cm_and_upstream(gateway_factory, client_cert)
    try:
        events = await cm.subscribe(cm.node)
        r = await cm.process(0, [cm.set("Flow")])
        assert codes(r.OutputArguments[0].Value) == ["Good"], r
        await run_events(cm, events, "Flow", 0, SUCCEEDED)
        await operational_both_ways(a, b, 3.5, 4.5)
        node = cm.fx.node(f"{MOTION}/ConnectionEndpoints/ToB")

        cleanup = Events()
        sub = await cm.c.create_subscription(50, cleanup)
        evtype = cm.c.get_node(ua.NodeId(1040, cm.fx.ac))
        await sub.subscribe_events(cm.c.nodes.server, evtype, evfilter=await of_type_filter(evtype), queuesize=10)

        await safe_disconnect(on_b.c)
        gw_b.stop()
        lost = time.monotonic()
        assert await wait_for(lambda: endpoint_status(a, "ToB"), lambda s: s == "Error", timeout=5) == "Error"
        assert time.monotonic() - lost < 2.5, "Error within MessageReceiveTimeout (500 ms) and the status refresh"
        dv = await read(a, "Cell/Target")
        assert dv.StatusCode.name == "BadNoCommunication" and dv.Value.Value == 4.5, dv
        await wait_for(lambda: cm.endpoints(MOTION), lambda eps: "ToB" not in eps, timeout=10)
        assert time.monotonic() - lost >= 3.0, "not before the CleanupTimeout (3 s)"
        await wait_for(lambda: asyncio.sleep(0, result=len(cleanup.events)), lambda n: n >= 1, timeout=5)
        assert cleanup.events[0].RemovedEndpoint == node.to_string(), cleanup.events[0]

        # B back (a new process: its endpoint is gone too); the set processed again
        gw_b.start()
        await wait_connected(cm.c, ["b"])
        on_b = await admin(gw_b, client_cert)
        b = await view(on_b)
        r = await cm.process(0, [cm.set("Flow")])
        assert codes(r.OutputArguments[0].Value) == ["Good"], r
        await run_events(cm, events, "Flow", 0, SUCCEEDED)
        await operational_both_ways(a, b, 5.5, 6.5)
    finally:
        await safe_disconnect(cm.c)
        await safe_disconnect(on_b.c)


@sync
async def test_a_connection_manager_of_its_own_joins_two_upstream_components(gateway_factory, client_cert):
    """Three processes: C runs only the ConnectionManager; A and B, its upstreams, each have Cell1.
    Both ends are remote: the reservation, both configurations and the Enable go over C's upstream
    sessions; data then flows A ⇄ B, and Remove takes both ends away."""
    port_a, port_b = free_port(), free_port()
    gw_a = gateway_factory.start(b_config(port_a))
    gw_b = gateway_factory.start(b_config(port_b))
    remote = {"automation_component": "Cell1", "functional_entity": "Motion", "cleanup_timeout": 3000.0,
              "input_paths": [path((FX_AC, "InputData"), (TAGS, "Target"))],
              "output_paths": [path((FX_AC, "OutputData"), (TAGS, "Out"))]}
    cfg = {
        "server": {"accept_all_certificates": True},
        "users": cm_config(gw_b, port_a, port_b)["users"],
        "upstream": [upstream(n, gw, username="admin", password=ADMIN_PW, security_policy="None", security_mode="None")
                     for n, gw in (("a", gw_a), ("b", gw_b))],
        "fx": {"connection_manager": {"set": [{"name": "Flow", "connection": [{
            "name": "Link",
            "endpoint1": {"server": "a", "name": "ToB", "address": f"opc.udp://127.0.0.1:{port_a}", **remote},
            "endpoint2": {"server": "b", "name": "FromA", "address": f"opc.udp://127.0.0.1:{port_b}", **remote},
            "pubsub": {"publishing_interval_ms": 10, "message_receive_timeout_ms": 500},
        }]}]}},
    }
    gw_c = gateway_factory.start(cfg)
    cm = await admin(gw_c, client_cert)
    on_a = await admin(gw_a, client_cert)
    on_b = await admin(gw_b, client_cert)
    a, b = await view(on_a), await view(on_b)
    try:
        await wait_connected(cm.c, ["a", "b"])
        events = await cm.subscribe(cm.node)
        r = await cm.process(0, [cm.set("Flow")])
        assert (code(r.StatusCode), codes(r.OutputArguments[0].Value)) == ("Good", ["Good"]), r
        await run_events(cm, events, "Flow", 0, SUCCEEDED)
        assert await on_a.endpoints(MOTION) == {"ToB"} and await on_b.endpoints(MOTION) == {"FromA"}
        await operational_both_ways(a, b, 31.5, -2.5)

        r = await cm.process(3, [cm.set("Flow")])
        assert code(r.StatusCode) == "Good", r
        await run_events(cm, events, "Flow", 3, SUCCEEDED)
        assert await on_a.endpoints(MOTION) == set() and await on_b.endpoints(MOTION) == set()
    finally:
        for s in (cm, on_a, on_b):
            await safe_disconnect(s.c)
