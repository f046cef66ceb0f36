"""Standard methods (namespace 0 MethodIds) called on upstream objects through the gateway:
Acknowledge (i=9111) on an alarm condition of the node-opcua upstream (tests/node/
upstream_server.js, `Machine.LevelAlarm`) reaches the upstream - its own status comes back,
AckedState changes there, the write role is needed, Bad_NoCommunication while it is gone -
while the gateway's own standard methods (GetMonitoredItems on its Server object) and the
standard method nodes themselves stay the core node manager's.
"""

from __future__ import annotations

from asyncua import ua

from aggregation_support import (
    Diag,
    gateway_overrides,
    of_type_filter,
    sync,
    upstream,
    wait_connected,
)
from fxgate_testlib import EventCollector, connect, hash_password, safe_disconnect
from upstream_peers import NODE_NS_URI

OP_PW = "op-secret-1"
ACKNOWLEDGE = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
GET_MONITORED_ITEMS = ua.NodeId(ua.ObjectIds.Server_GetMonitoredItems)


def acknowledge(condition: ua.NodeId, event_id: bytes, comment: str) -> ua.CallMethodRequest:
    return ua.CallMethodRequest(
        ObjectId=condition,
        MethodId=ACKNOWLEDGE,
        InputArguments=[
            ua.Variant(event_id, ua.VariantType.ByteString),
            ua.Variant(ua.LocalizedText(comment), ua.VariantType.LocalizedText),
        ],
    )


def get_monitored_items(subscription_id: int, server: ua.NodeId | None = None) -> ua.CallMethodRequest:
    """GetMonitoredItems on the gateway's Server object, or on `server`."""
    return ua.CallMethodRequest(
        ObjectId=server or ua.NodeId(ua.ObjectIds.Server),
        MethodId=GET_MONITORED_ITEMS,
        InputArguments=[ua.Variant(subscription_id, ua.VariantType.UInt32)],
    )


async def monitor(sub, items: dict[int, ua.NodeId]) -> list[int]:
    """Creates one Value item per {client handle: node}; their server handles."""
    reqs = []
    for handle, node in items.items():
        req = ua.MonitoredItemCreateRequest()
        req.ItemToMonitor = ua.ReadValueId(NodeId=node, AttributeId=ua.AttributeIds.Value)
        req.MonitoringMode = ua.MonitoringMode.Reporting
        req.RequestedParameters = ua.MonitoringParameters(ClientHandle=handle, SamplingInterval=100, QueueSize=1)
        reqs.append(req)
    ids = await sub.create_monitored_items(reqs)
    assert all(isinstance(i, int) for i in ids), ids
    return ids


async def acked(node) -> bool | None:
    """AckedState/Id (node-opcua starts it as UncertainInitialValue, so no read_value)."""
    dv = await node.read_data_value(raise_on_bad_status=False)
    assert not dv.StatusCode.is_bad(), dv
    return dv.Value.Value


@sync
async def test_acknowledge_on_an_upstream_condition_reaches_the_upstream(gateway_factory, client_cert, peers):
    n = peers("node")
    cfg = gateway_overrides(upstream("machine", n))
    cfg["server"]["anonymous_roles"] = ["read"]
    cfg["users"] = [{"name": "op", "password_hash": hash_password(OP_PW), "roles": ["read", "write"]}]
    gw = gateway_factory.start(cfg)
    op = await connect(gw, client_cert, username="op", password=OP_PW)
    anonymous = await connect(gw, client_cert)
    try:
        await wait_connected(op, ["machine"])
        mns = await op.get_namespace_index(f"machine/{NODE_NS_URI}")
        up_ns0 = await op.get_namespace_index("machine/http://opcfoundation.org/UA/")
        condition = op.get_node(ua.NodeId("Machine.LevelAlarm", mns))
        assert (await condition.read_browse_name()).Name == "LevelAlarm"
        acked_id = await condition.get_child(["0:AckedState", "0:Id"])

        # the alarm's event, through the gateway, from the upstream's Server object
        alarm_type = op.get_node(ua.ObjectIds.ExclusiveLimitAlarmType)
        events = EventCollector()
        sub = await op.create_subscription(50, events)
        up_server = op.get_node(ua.NodeId(ua.ObjectIds.Server, up_ns0))
        # (not all of the type's fields: async-opcua 0.19 drops the select clauses it cannot
        # resolve from the answer, and asyncua cannot decode the shorter field list)
        fields = ["EventId", "SourceNode", "Message"]
        await sub.subscribe_events(up_server, alarm_type, evfilter=await of_type_filter(alarm_type, fields))
        await op.get_node(ua.NodeId("Machine.Level", mns)).write_value(ua.Variant(95.0, ua.VariantType.Double))
        ev = await events.wait(lambda e: e.SourceNode == ua.NodeId("Machine", mns) and "HighHigh" in e.Message.Text)
        assert isinstance(ev.EventId, bytes) and ev.EventId
        assert await acked(acked_id) is False

        # a wrong EventId: the upstream's own answer, not the core node manager's BadMethodInvalid
        [res] = await op.uaclient.call([acknowledge(condition.nodeid, b"no such event", "wrong")])
        assert res.StatusCode.name == "BadEventIdUnknown", res.StatusCode
        assert await acked(acked_id) is False

        # the write role is needed, as for every forwarded call
        [res] = await anonymous.uaclient.call([acknowledge(condition.nodeid, ev.EventId, "anonymous")])
        assert res.StatusCode.name == "BadUserAccessDenied", res.StatusCode
        assert await acked(acked_id) is False

        # the right one, in one request with a standard call the gateway answers itself
        own = await op.create_subscription(100, None)
        await monitor(own, {7: ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)})
        res_ack, res_own = await op.uaclient.call(
            [acknowledge(condition.nodeid, ev.EventId, "seen via fxgate"), get_monitored_items(own.subscription_id)]
        )
        assert res_ack.StatusCode.name == "Good", res_ack.StatusCode
        assert res_own.StatusCode.name == "Good", res_own.StatusCode
        assert res_own.OutputArguments[1].Value == [7]
        assert await acked(acked_id) is True
        assert (await (await condition.get_child(["0:Comment"])).read_value()).Text == "seen via fxgate"

        # GetMonitoredItems on the upstream's Server object is the upstream's: it does not know
        # this id in the gateway's session with it
        [res] = await op.uaclient.call([get_monitored_items(own.subscription_id, up_server.nodeid)])
        assert res.StatusCode.name == "BadSubscriptionIdInvalid", res.StatusCode

        # the upstream is gone: Bad_NoCommunication
        n.stop()
        diag = await Diag.of(op, "machine")
        await diag.wait_error(lambda _: True, timeout=20, what="the upstream to be lost")
        [res] = await op.uaclient.call([acknowledge(condition.nodeid, ev.EventId, "too late")])
        assert res.StatusCode.name == "BadNoCommunication", res.StatusCode
    finally:
        await safe_disconnect(anonymous)
        await safe_disconnect(op)


@sync
async def test_the_gateways_own_standard_methods_stay_with_the_core(gateway_factory, client_cert, peers):
    n = peers("node")
    gw = gateway_factory.start(gateway_overrides(upstream("machine", n)))
    client = await connect(gw, client_cert)
    try:
        await wait_connected(client, ["machine"])
        mns = await client.get_namespace_index(f"machine/{NODE_NS_URI}")
        # GetMonitoredItems on the gateway's own Server object lists this session's items,
        # an upstream one among them
        sub = await client.create_subscription(100, None)
        server_handles = await monitor(sub, {
            41: ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime),
            42: ua.NodeId("Machine.Speed", mns),
        })
        [res] = await client.uaclient.call([get_monitored_items(sub.subscription_id)])
        assert res.StatusCode.name == "Good", res.StatusCode
        out_server, out_client = (a.Value for a in res.OutputArguments)
        assert sorted(zip(out_server, out_client)) == sorted(zip(server_handles, [41, 42]))
        # ... and refuses a subscription id it does not know
        [res] = await client.uaclient.call([get_monitored_items(sub.subscription_id + 1000)])
        assert res.StatusCode.name == "BadSubscriptionIdInvalid", res.StatusCode

        # the standard method nodes are still read from the core node manager
        method = client.get_node(ACKNOWLEDGE)
        assert (await method.read_browse_name()) == ua.QualifiedName("Acknowledge", 0)
        assert await method.read_node_class() == ua.NodeClass.Method
        await sub.delete()
    finally:
        await safe_disconnect(client)
