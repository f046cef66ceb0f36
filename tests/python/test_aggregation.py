"""Aggregation of upstream OPC UA servers (issue 3, seed 000 §4.1/§4.6/§4.8): independent
upstreams (two asyncua servers, one node-opcua server) appear as folders under Objects, with
browse, read, write, call, history, type definitions and subscriptions passed through, stable
namespace indexes, and Bad_NoCommunication while an upstream is gone.

The peers are tests/python/ua_upstream.py and tests/node/upstream_server.js (upstream_peers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import urllib.request

import pytest
from asyncua import ua

from aggregation_support import (
    AGG_NS,
    Collector,
    code_name,
    gateway_overrides,
    of_type_filter,
    plant_node,
    sync,
    upstream,
    wait_connected,
    wait_for,
)
from fxgate_testlib import EventCollector, connect, safe_disconnect
from upstream_peers import NODE_NS_URI, ua_namespaces
USER = {"name": "op", "password": "op-secret", "roles": ["read", "write"]}


def metrics(gw) -> str:
    with urllib.request.urlopen(f"{gw.http_base}/metrics", timeout=5) as r:
        return r.read().decode()


def metric_value(text: str, name: str, upstream_name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'upstream="{upstream_name}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {upstream_name} not in /metrics")


@sync
async def test_upstreams_are_folders_with_browse_read_write_call(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    b = peers("ua", "beta")
    n = peers("node")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a), upstream("plc2", b), upstream("machine", n)))
    client = await connect(gw, client_cert)
    try:
        await wait_connected(client, ["plc1", "plc2", "machine"])
        objects = client.nodes.objects
        names = {(await c.read_browse_name()).Name for c in await objects.get_children()}
        assert {"plc1", "plc2", "machine", "Demo", "Server"} <= names
        # the upstream folder's children are the upstream's Objects children
        agg = await client.get_namespace_index(AGG_NS)
        folder = client.get_node(ua.NodeId("plc1", agg))
        children = {(await c.read_browse_name()).Name for c in await folder.get_children()}
        assert {"Plant", "Server"} <= children, children
        # a browse path through the gateway: Objects/plc1/Plant/Counter
        plant_uri, _ = ua_namespaces("alpha")
        pns = await client.get_namespace_index(f"plc1/{plant_uri}")
        counter = await objects.get_child([f"{agg}:plc1", f"{pns}:Plant", f"{pns}:Counter"])
        assert counter.nodeid == ua.NodeId("Plant.Counter", pns)
        v1 = await counter.read_value()
        await asyncio.sleep(0.5)
        v2 = await counter.read_value()
        assert isinstance(v1, int) and v2 > v1
        # attributes other than Value come from the upstream, with mapped ids
        assert (await counter.read_browse_name()) == ua.QualifiedName("Counter", pns)
        assert (await counter.read_data_type()) == ua.NodeId(ua.ObjectIds.Int32)
        # NodeIds inside values are mapped to the gateway's namespaces
        ref = await (await plant_node(client, "plc1", "alpha", "Plant.NodeRef")).read_value()
        assert ref == ua.NodeId("Plant.Temperature", pns)
        # write and read back
        temp = await plant_node(client, "plc1", "alpha", "Plant.Temperature")
        await temp.write_value(ua.Variant(42.25, ua.VariantType.Double))
        assert await temp.read_value() == 42.25
        # ... and the other upstream is untouched
        other = await plant_node(client, "plc2", "beta", "Plant.Temperature")
        assert await other.read_value() == 20.5
        # a read-only node refuses the write with the upstream's status
        with pytest.raises(ua.UaStatusCodeError) as e:
            await counter.write_value(ua.Variant(5, ua.VariantType.Int32))
        assert "BadNotWritable" in type(e.value).__name__ or "NotWritable" in str(e.value) or "UserAccessDenied" in str(e.value)
        # methods
        plant = await plant_node(client, "plc1", "alpha", "Plant")
        add = await plant_node(client, "plc1", "alpha", "Plant.Add")
        assert await plant.call_method(add, ua.Variant(2, ua.VariantType.Int32), ua.Variant(40, ua.VariantType.Int32)) == 42
        fail = await plant_node(client, "plc1", "alpha", "Plant.Fail")
        with pytest.raises(ua.UaStatusCodeError) as e:
            await plant.call_method(fail)
        assert "BadInvalidArgument" in type(e.value).__name__
        # the node-opcua upstream
        mns = await client.get_namespace_index(f"machine/{NODE_NS_URI}")
        speed = client.get_node(ua.NodeId("Machine.Speed", mns))
        assert await speed.read_value() == 3.5
        machine = client.get_node(ua.NodeId("Machine", mns))
        mul = client.get_node(ua.NodeId("Machine.Multiply", mns))
        assert await machine.call_method(mul, 1.5, 4.0) == 6.0
    finally:
        await safe_disconnect(client)


@sync
async def test_structures_decode_after_loading_type_definitions(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a)))
    client = await connect(gw, client_cert)
    try:
        await wait_connected(client, ["plc1"])
        await client.load_data_type_definitions()
        status = await (await plant_node(client, "plc1", "alpha", "Plant.Status")).read_value()
        assert status.Code == 7 and status.Text == "ready" and status.Ok is True
        mode = await (await plant_node(client, "plc1", "alpha", "Plant.Mode")).read_value()
        assert int(mode) == 1
        # and back: a structure written through the gateway reaches the upstream intact
        status.Code = 9
        node = await plant_node(client, "plc1", "alpha", "Plant.Status")
        await node.write_value(ua.DataValue(ua.Variant(status, ua.VariantType.ExtensionObject)))
        again = await node.read_value()
        assert again.Code == 9 and again.Text == "ready"
    finally:
        await safe_disconnect(client)


@sync
async def test_history_read_passes_through(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a)))
    client = await connect(gw, client_cert)
    try:
        await wait_connected(client, ["plc1"])
        sp = await plant_node(client, "plc1", "alpha", "Plant.Setpoint")
        for v in (3.0, 4.0):
            await sp.write_value(ua.Variant(v, ua.VariantType.Double))
            await asyncio.sleep(0.1)
        hist = await sp.read_raw_history()
        values = [d.Value.Value for d in hist]
        assert 3.0 in values and 4.0 in values, values
    finally:
        await safe_disconnect(client)


@contextlib.asynccontextmanager
async def two_clients(gateway_factory, client_cert, peers):
    """One asyncua upstream `plc1` (peer alpha), a gateway, two connected clients."""
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a)))
    c1 = await connect(gw, client_cert)
    c2 = await connect(gw, client_cert)
    try:
        await wait_connected(c1, ["plc1"])
        yield gw, c1, c2
    finally:
        await safe_disconnect(c1)
        await safe_disconnect(c2)


@sync
async def test_loss_and_recovery_of_one_upstream(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    b = peers("ua", "beta")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a), upstream("plc2", b)))
    client = await connect(gw, client_cert)
    try:
        await wait_connected(client, ["plc1", "plc2"])
        c1 = await plant_node(client, "plc1", "alpha", "Plant.Counter")
        c2 = await plant_node(client, "plc2", "beta", "Plant.Counter")
        plant1_ns = c1.nodeid.NamespaceIndex
        plant2_ns = c2.nodeid.NamespaceIndex
        coll = Collector()
        sub = await client.create_subscription(100, coll)
        await sub.subscribe_data_change([c1, c2])
        await wait_for(lambda: len(coll.changes) >= 6, 10, "values from both upstreams")
        assert [c for c in coll.changes if c[0] == c1.nodeid and c[2].StatusCode.is_good()]
        assert [c for c in coll.changes if c[0] == c2.nodeid and c[2].StatusCode.is_good()]
        # kill plc1: its item goes Bad_NoCommunication within 5 s, with the last value and
        # source timestamp; plc2 keeps delivering Good values
        a.kill()
        killed = time.monotonic()
        def bad_seen():
            for c in coll.changes:
                if c[0] == c1.nodeid and c[3] >= killed and code_name(c[2]) == "BadNoCommunication":
                    return c
            return None

        await wait_for(bad_seen, 5.0, "Bad_NoCommunication after the upstream was killed")
        # the other upstream still delivers and answers Good
        n2 = len([c for c in coll.changes if c[0] == c2.nodeid])
        await wait_for(lambda: len([c for c in coll.changes if c[0] == c2.nodeid and c[2].StatusCode.is_good()]) > n2 + 2,
                       3, "Good values from the other upstream")
        dv = await c2.read_data_value()
        assert dv.StatusCode.is_good()
        rv = ua.ReadValueId()
        rv.NodeId = c1.nodeid
        rv.AttributeId = ua.AttributeIds.Value
        params = ua.ReadParameters()
        params.NodesToRead = [rv]
        dv1 = (await client.uaclient.read(params))[0]
        assert code_name(dv1) == "BadNoCommunication"
        assert dv1.Value.Value is not None, "a Read keeps the last value"
        assert dv1.SourceTimestamp is not None, "a Read keeps the last source timestamp"
        ns_agg = await client.get_namespace_index(AGG_NS)
        state = await client.get_node(ua.NodeId("fxgate/Upstreams/plc1/State", ns_agg)).read_value()
        assert state in ("Disconnected", "Connecting")
        # writes and calls to the lost upstream: Bad_NoCommunication
        temp = await plant_node(client, "plc1", "alpha", "Plant.Temperature")
        with pytest.raises(ua.UaStatusCodeError) as e:
            await temp.write_value(ua.Variant(1.0, ua.VariantType.Double))
        assert "BadNoCommunication" in type(e.value).__name__
        # browse of its folder still answers from the last known structure
        folder = client.get_node(ua.NodeId("plc1", ns_agg))
        kids = {(await k.read_browse_name()).Name for k in await folder.get_children()}
        assert "Plant" in kids
        # restart plc1: the same subscription delivers Good values again within 5 s, no client action
        a.restart()
        back = time.monotonic()

        def good_again():
            for c in coll.changes:
                if c[0] == c1.nodeid and c[3] >= back and c[2].StatusCode.is_good() and c[1] is not None:
                    return c
            return None

        # restart() returns once the upstream is serving: Good again within 5 s of that
        await wait_for(good_again, 5.0, "Good values of the restarted upstream, on the same subscription")
        recovered = await c1.read_data_value()
        assert recovered.StatusCode.is_good()
        reconnects = await client.get_node(ua.NodeId("fxgate/Upstreams/plc1/ReconnectCount", ns_agg)).read_value()
        assert reconnects >= 1
        assert plant1_ns != plant2_ns
    finally:
        await safe_disconnect(client)


@sync
async def test_namespace_indexes_survive_reordering_and_restarts(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a)))
    plant_uri, extra_uri = ua_namespaces("alpha")

    async def indexes():
        client = await connect(gw, client_cert)
        try:
            await wait_connected(client, ["plc1"])
            arr = await client.get_namespace_array()
            p = arr.index(f"plc1/{plant_uri}")
            x = arr.index(f"plc1/{extra_uri}")
            temp = await client.get_node(ua.NodeId("Plant.Temperature", p)).read_value()
            return p, x, temp
        finally:
            await safe_disconnect(client)

    p0, x0, t0 = await indexes()
    assert t0 == 20.5
    # the upstream comes back with its namespaces in the other order
    a.restart(uri_order="extra,plant")
    await asyncio.sleep(0.5)
    p1, x1, t1 = await indexes()
    assert (p1, x1) == (p0, x0)
    assert t1 == 20.5, "the node is found through the new upstream index"
    # and after a gateway restart
    gw.restart()
    p2, x2, _ = await indexes()
    assert (p2, x2) == (p0, x0)
    table = (gw.data_dir / "namespaces.toml").read_text()
    assert f"plc1/{plant_uri}" in table


@sync
async def test_shared_monitored_items_diagnostics_metrics_and_cache(gateway_factory, client_cert, peers):
    async with two_clients(gateway_factory, client_cert, peers) as (gw, c1, c2):
        n1 = await plant_node(c1, "plc1", "alpha", "Plant.Counter")
        n2 = await plant_node(c2, "plc1", "alpha", "Plant.Counter")
        col1, col2 = Collector(), Collector()
        s1 = await c1.create_subscription(100, col1)
        s2 = await c2.create_subscription(500, col2)
        await s1.subscribe_data_change(n1)
        await s2.subscribe_data_change(n2)
        await wait_for(lambda: len(col1.changes) >= 3 and len(col2.changes) >= 2, 10, "notifications on both clients")
        agg = await c1.get_namespace_index(AGG_NS)
        items = await c1.get_node(ua.NodeId("fxgate/Upstreams/plc1/MonitoredItems", agg)).read_value()
        assert items == 1, "two clients on the same node share one upstream item"
        text = metrics(gw)
        assert metric_value(text, "fxgate_upstream_connected", "plc1") == 1
        assert metric_value(text, "fxgate_upstream_monitored_items", "plc1") == 1
        # a read with maxAge older than the cached value is answered from the cache
        hits0 = metric_value(text, "fxgate_upstream_cache_hits_total", "plc1")
        req0 = metric_value(text, "fxgate_upstream_requests_total", "plc1")
        params = ua.ReadParameters()
        rv = ua.ReadValueId()
        rv.NodeId = n1.nodeid
        rv.AttributeId = ua.AttributeIds.Value
        params.NodesToRead = [rv]
        params.MaxAge = 10_000
        for _ in range(5):
            res = await c1.uaclient.read(params)
            assert res[0].StatusCode.is_good()
        text = metrics(gw)
        assert metric_value(text, "fxgate_upstream_cache_hits_total", "plc1") >= hits0 + 5
        assert metric_value(text, "fxgate_upstream_requests_total", "plc1") == req0
        # maxAge 0 always asks the upstream
        params.MaxAge = 0
        await c1.uaclient.read(params)
        assert metric_value(metrics(gw), "fxgate_upstream_requests_total", "plc1") > req0
        await s1.delete()
        await s2.delete()
        await asyncio.sleep(0.3)
        assert await c1.get_node(ua.NodeId("fxgate/Upstreams/plc1/MonitoredItems", agg)).read_value() == 0


@sync
async def test_untrusted_upstream_certificate_is_filed_and_reported(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a, accept_all_server_certificates=False)))
    client = await connect(gw, client_cert)
    try:
        agg = await client.get_namespace_index(AGG_NS)
        err_node = client.get_node(ua.NodeId("fxgate/Upstreams/plc1/LastError", agg))
        deadline = time.monotonic() + 15
        err = ""
        while time.monotonic() < deadline and "trust" not in err:
            err = await err_node.read_value()
            await asyncio.sleep(0.2)
        assert "trust" in err, err
        rejected = gw.data_dir / "pki-client" / "rejected"
        files = list(rejected.glob("*.der"))
        assert files, "the upstream's certificate is filed in pki-client/rejected"
        # the rest of the gateway is fine
        demo = await client.get_namespace_index("urn:fxgate:tags")
        assert await client.get_node(ua.NodeId("Demo/Sine", demo)).read_value() is not None
        # trusting it (moving the file) lets the gateway connect on its next attempt
        trusted = gw.data_dir / "pki-client" / "trusted"
        trusted.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.move(str(f), trusted / f.name)
        await wait_connected(client, ["plc1"], timeout=15)
    finally:
        await safe_disconnect(client)


# --- run-time configuration: Objects/fxgate/Configuration (seed §4.6) -------------------------

ADMIN_PW = "adm1n secret"
OP_PW = "op-secret"


async def config_call(client, method: str, *args: str):
    """Calls Objects/fxgate/Configuration/<method> with String arguments; the raw result."""
    agg = await client.get_namespace_index(AGG_NS)
    req = ua.CallMethodRequest()
    req.ObjectId = ua.NodeId("fxgate/Configuration", agg)
    req.MethodId = ua.NodeId(f"fxgate/Configuration/{method}", agg)
    req.InputArguments = [ua.Variant(a, ua.VariantType.String) for a in args]
    (res,) = await client.uaclient.call([req])
    return res


async def read_servers(client) -> list[str]:
    agg = await client.get_namespace_index(AGG_NS)
    return list(await client.get_node(ua.NodeId("fxgate/Configuration/Servers", agg)).read_value() or [])


@sync
async def test_add_and_remove_servers_at_run_time_need_the_configure_role(gateway_factory, client_cert, peers):
    from fxgate_testlib import hash_password

    a = peers("ua", "alpha")
    b = peers("ua", "beta")
    gw = gateway_factory.start({
        "server": {"accept_all_certificates": True, "anonymous_roles": ["read"]},
        "users": [
            {"name": "admin", "password_hash": hash_password(ADMIN_PW), "roles": ["read", "write", "configure"]},
            {"name": "op", "password_hash": hash_password(OP_PW), "roles": ["read", "write"]},
        ],
        "upstream": [upstream("plc1", a)],
    })
    before = gw.config_path.read_text()
    op = await connect(gw, client_cert, username="op", password=OP_PW)
    admin = await connect(gw, client_cert, username="admin", password=ADMIN_PW)
    try:
        await wait_connected(admin, ["plc1"])
        agg = await admin.get_namespace_index(AGG_NS)
        # the Configuration object, its methods and their arguments are browsable
        conf = admin.get_node(ua.NodeId("fxgate/Configuration", agg))
        children = {(await c.read_browse_name()).Name for c in await conf.get_children()}
        assert children == {"Servers", "AddServer", "RemoveServer"}, children
        tags = await admin.get_namespace_index("urn:fxgate:tags")
        fxgate_folder = await admin.nodes.objects.get_child([f"{tags}:fxgate"])
        assert (await fxgate_folder.get_child([f"{agg}:Configuration"])).nodeid == conf.nodeid
        add = admin.get_node(ua.NodeId("fxgate/Configuration/AddServer", agg))
        args_prop = await add.get_child(["0:InputArguments"])
        names = [arg.Name for arg in await args_prop.read_value()]
        assert names == ["name", "endpointUrl", "securityPolicy", "securityMode", "username", "password"]
        assert await read_servers(admin) == ["plc1"]
        # UserExecutable tells each user what it may do
        attr = ua.AttributeIds.UserExecutable
        assert (await add.read_attribute(attr)).Value.Value is True
        assert (await op.get_node(add.nodeid).read_attribute(attr)).Value.Value is False

        # a user without the configure role is refused, and nothing changes
        res = await config_call(op, "AddServer", "plc2", b.url, "", "", "", "")
        assert res.StatusCode.name == "BadUserAccessDenied", res.StatusCode
        res = await config_call(op, "RemoveServer", "plc1")
        assert res.StatusCode.name == "BadUserAccessDenied", res.StatusCode
        assert gw.config_path.read_text() == before
        assert await read_servers(admin) == ["plc1"]

        # bad input: a clear status, the file untouched
        res = await config_call(admin, "AddServer", "plc2", "http://not-opc", "", "", "", "")
        assert res.StatusCode.name == "BadInvalidArgument", res.StatusCode
        res = await config_call(admin, "AddServer", "plc2", b.url, "Basic999", "", "", "")
        assert res.StatusCode.name == "BadInvalidArgument" and res.InputArgumentResults[2].name == "BadInvalidArgument"
        res = await config_call(admin, "AddServer", "PLC1", b.url, "", "", "", "")
        assert res.StatusCode.name == "BadBrowseNameDuplicated", res.StatusCode
        res = await config_call(admin, "AddServer", "plc2")
        assert res.StatusCode.name == "BadArgumentsMissing", res.StatusCode
        res = await config_call(admin, "RemoveServer", "nope")
        assert res.StatusCode.name == "BadNotFound", res.StatusCode
        assert gw.config_path.read_text() == before

        # the configure role adds an upstream: written to the file, connected at once
        sub_handler_values: list = []
        res = await config_call(admin, "AddServer", "plc2", b.url, "Basic256Sha256", "SignAndEncrypt", "", "")
        assert res.StatusCode.is_good(), res.StatusCode
        text = gw.config_path.read_text()
        assert text.startswith(before.rstrip("\n")), "the rest of the file is kept as it was"
        assert 'name = "plc2"' in text and b.url in text
        assert await read_servers(admin) == ["plc1", "plc2"]
        names = {(await c.read_browse_name()).Name for c in await admin.nodes.objects.get_children()}
        assert "plc2" in names
        # its certificate is not trusted yet (AddServer has no accept-all switch): filed, then trusted
        rejected = gw.data_dir / "pki-client" / "rejected"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not list(rejected.glob("*.der")):
            await asyncio.sleep(0.2)
        trusted = gw.data_dir / "pki-client" / "trusted"
        trusted.mkdir(parents=True, exist_ok=True)
        for f in rejected.glob("*.der"):
            shutil.move(str(f), trusted / f.name)
        await wait_connected(admin, ["plc2"], timeout=30)
        counter2 = await plant_node(admin, "plc2", "beta", "Plant.Counter")
        assert (await counter2.read_data_value()).StatusCode.is_good()
        plc2_ns = counter2.nodeid.NamespaceIndex

        # removing plc1: its monitored values turn Bad_NodeIdUnknown, its folder goes away
        counter1 = await plant_node(admin, "plc1", "alpha", "Plant.Counter")

        class Handler:
            def datachange_notification(self, node, val, data):
                sub_handler_values.append(code_name(data.monitored_item.Value))

        sub = await admin.create_subscription(100, Handler())
        await sub.subscribe_data_change(counter1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not sub_handler_values:
            await asyncio.sleep(0.1)
        assert sub_handler_values and sub_handler_values[0] == "Good"
        res = await config_call(admin, "RemoveServer", "plc1")
        assert res.StatusCode.is_good(), res.StatusCode
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "BadNodeIdUnknown" not in sub_handler_values:
            await asyncio.sleep(0.1)
        assert "BadNodeIdUnknown" in sub_handler_values, sub_handler_values
        await sub.delete()
        assert 'name = "plc1"' not in gw.config_path.read_text()
        assert await read_servers(admin) == ["plc2"]
        names = {(await c.read_browse_name()).Name for c in await admin.nodes.objects.get_children()}
        assert "plc1" not in names and "plc2" in names
        dv = await counter1.read_data_value(raise_on_bad_status=False)
        assert not dv.StatusCode.is_good()
        assert 'upstream="plc1"' not in metrics(gw)
    finally:
        await safe_disconnect(op)
        await safe_disconnect(admin)

    # the changes survive a restart: the gateway starts on the file as it wrote it
    written = gw.config_path.read_text()
    gw.keep_config_file = True
    gw.restart()
    assert gw.config_path.read_text() == written
    client = await connect(gw, client_cert, username="admin", password=ADMIN_PW)
    try:
        await wait_connected(client, ["plc2"], timeout=30)
        assert await read_servers(client) == ["plc2"]
        counter2 = await plant_node(client, "plc2", "beta", "Plant.Counter")
        assert counter2.nodeid.NamespaceIndex == plc2_ns
        assert (await counter2.read_data_value()).StatusCode.is_good()
    finally:
        await safe_disconnect(client)


# --- events (EventNotifier objects, incl. the upstream's Server object) ----------------------


@sync
async def test_events_of_upstream_nodes_pass_through(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_overrides(upstream("plc1", a)))
    client = await connect(gw, client_cert)
    try:
        await wait_connected(client, ["plc1"])
        plant = await plant_node(client, "plc1", "alpha", "Plant")
        alarm_type = await plant_node(client, "plc1", "alpha", "PlantAlarmType")
        assert ua.EventNotifier.SubscribeToEvents in await plant.read_event_notifier()
        # the upstream's own Server object, in its mapped namespace
        up_ns0 = await client.get_namespace_index("plc1/http://opcfoundation.org/UA/")
        up_server = client.get_node(ua.NodeId(ua.ObjectIds.Server, up_ns0))
        assert (await up_server.read_browse_name()).Name == "Server"

        on_plant, on_up_server, on_plant_base = EventCollector(), EventCollector(), EventCollector()
        sub = await client.create_subscription(50, on_plant)
        sub_s = await client.create_subscription(50, on_up_server)
        sub_b = await client.create_subscription(50, on_plant_base)
        # the select clauses (incl. the custom Level field) come from browsing the type through
        # fxgate; OfType(PlantAlarmType) needs the upstream's event type in the gateway's type tree
        await sub.subscribe_events(plant, alarm_type, evfilter=await of_type_filter(alarm_type))
        await sub_s.subscribe_events(up_server, alarm_type, evfilter=await of_type_filter(alarm_type))
        # two clients' items on one node share one upstream item; this one takes every event
        await sub_b.subscribe_events(plant)
        await asyncio.sleep(0.5)
        assert on_plant.events == [] and on_up_server.events == []

        raise_alarm = await plant_node(client, "plc1", "alpha", "Plant.RaiseAlarm")
        await plant.call_method(raise_alarm, ua.Variant(7, ua.VariantType.Int32))

        ev = await on_plant.wait(lambda e: getattr(e, "Level", None) == 7)
        assert ev.Message.Text == "alarm 7"
        assert ev.Severity == 500
        assert ev.SourceName == "Plant"
        assert ev.SourceNode == plant.nodeid, "NodeIds inside events are mapped to the gateway's namespaces"
        assert ev.EventType == alarm_type.nodeid
        ev_s = await on_up_server.wait(lambda e: getattr(e, "Level", None) == 7)
        assert ev_s.EventId == ev.EventId and ev_s.Message.Text == "alarm 7"
        ev_b = await on_plant_base.wait(lambda e: e.Message.Text == "alarm 7")
        assert ev_b.EventType == alarm_type.nodeid and ev_b.Time == ev.Time
        await asyncio.sleep(0.5)
        assert len(on_plant.events) == 1 and len(on_up_server.events) == 1, (on_plant.events, on_up_server.events)

        # a where clause that does not match: no event (the filter is applied by the gateway)
        on_other = EventCollector()
        sub_o = await client.create_subscription(50, on_other)
        audit = client.get_node(ua.ObjectIds.AuditEventType)
        await sub_o.subscribe_events(plant, audit, evfilter=await of_type_filter(audit))
        await plant.call_method(raise_alarm, ua.Variant(8, ua.VariantType.Int32))
        await on_plant.wait(lambda e: getattr(e, "Level", None) == 8)
        await asyncio.sleep(0.5)
        assert on_other.events == [], on_other.events

        # the upstream is lost and back: the same subscription delivers events again
        a.kill()
        a.restart()
        await wait_connected(client, ["plc1"], timeout=20)
        deadline = time.monotonic() + 10
        while True:
            try:
                await plant.call_method(raise_alarm, ua.Variant(9, ua.VariantType.Int32))
                await on_plant.wait(lambda e: getattr(e, "Level", None) == 9, timeout=1)
                break
            except (AssertionError, ua.UaStatusCodeError):
                if time.monotonic() > deadline:
                    raise
        for s in (sub, sub_s, sub_b, sub_o):
            await s.delete()
    finally:
        await safe_disconnect(client)


# --- bad input: unreachable, wrong credentials, garbage, closed mid-request --------------------


class BadPeer:
    """A TCP server that is not an OPC UA server: `mode` "garbage" answers every connection with
    bytes that are no OPC UA message; "close" reads the client's Hello and closes."""

    def __init__(self, mode: str):
        import socket
        import threading

        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                conn.settimeout(2)
                conn.recv(4096)
                if self.mode == "garbage":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + bytes(range(256)) * 4)
            except OSError:
                pass
            finally:
                conn.close()

    def stop(self) -> None:
        self._stop = True
        self.sock.close()


@sync
async def test_bad_upstreams_get_clear_errors_and_spare_the_rest(gateway_factory, client_cert, peers):
    from fxgate_testlib import free_port

    good = peers("ua", "alpha")
    locked = peers("ua", "beta", user="plant:right-pw")
    garbage, closing = BadPeer("garbage"), BadPeer("close")
    dead_port = free_port()
    try:
        gw = gateway_factory.start(gateway_overrides(
            upstream("good", good),
            upstream("login", locked, username="plant", password="right-pw"),
            upstream("wronglogin", locked, username="plant", password="wrong-pw"),
            {"name": "dead", "endpoint_url": f"opc.tcp://127.0.0.1:{dead_port}/", "reconnect_min_ms": 200,
             "reconnect_max_ms": 1000},
            {"name": "garbage", "endpoint_url": garbage.url, "reconnect_min_ms": 200, "reconnect_max_ms": 1000},
            {"name": "closing", "endpoint_url": closing.url, "reconnect_min_ms": 200, "reconnect_max_ms": 1000},
        ))
        client = await connect(gw, client_cert)
        try:
            await wait_connected(client, ["good", "login"])
            agg = await client.get_namespace_index(AGG_NS)

            async def diag(name: str, var: str):
                return await client.get_node(ua.NodeId(f"fxgate/Upstreams/{name}/{var}", agg)).read_value()

            expected = {
                "wronglogin": "refused the user name",
                "dead": "not reachable",
                "garbage": "did not answer as an OPC UA server",
                "closing": "did not answer as an OPC UA server",
            }
            deadline = time.monotonic() + 20
            errors: dict[str, str] = {}
            while time.monotonic() < deadline:
                errors = {n: await diag(n, "LastError") for n in expected}
                if all(errors[n] and hint in errors[n] for n, hint in expected.items()):
                    break
                await asyncio.sleep(0.3)
            for n, hint in expected.items():
                assert errors[n] and hint in errors[n], (n, errors)
                assert await diag(n, "State") != "Connected", n
            assert "endpoint" in errors["dead"] or str(dead_port) in errors["dead"], errors["dead"]
            # The errors show after the first attempt; the retry follows after the back-off (200 ms+).
            retried = time.monotonic() + 10
            while not (garbage.connections >= 2 and closing.connections >= 2) and time.monotonic() < retried:
                await asyncio.sleep(0.1)
            assert garbage.connections >= 2 and closing.connections >= 2, \
                f"they are retried with back-off: {garbage.connections}, {closing.connections}"
            # the logged-in upstream works, as does everything else
            counter = await plant_node(client, "login", "beta", "Plant.Counter")
            assert (await counter.read_data_value()).StatusCode.is_good()
            assert (await (await plant_node(client, "good", "alpha", "Plant.Counter")).read_data_value()).StatusCode.is_good()
            demo = await client.get_namespace_index("urn:fxgate:tags")
            assert (await client.get_node(ua.NodeId("Demo/Sine", demo)).read_data_value()).StatusCode.is_good()
            # nodes of the failed upstreams: the same plant namespace key of `wronglogin` was never
            # served, so its nodes are unknown; its folder exists and browses empty
            folder = client.get_node(ua.NodeId("wronglogin", agg))
            assert await folder.get_children() == []
            assert gw.proc.poll() is None, "the gateway is still running"
            text = gw.stderr_text
            assert "wronglogin" in text and "garbage" in text and "closing" in text
        finally:
            await safe_disconnect(client)
    finally:
        garbage.stop()
        closing.stop()


@sync
async def test_deadband_and_monitoring_mode_per_client_on_a_shared_item(gateway_factory, client_cert, peers):
    async with two_clients(gateway_factory, client_cert, peers) as (gw, c1, c2):
        t1 = await plant_node(c1, "plc1", "alpha", "Plant.Temperature")
        t2 = c2.get_node(t1.nodeid)
        await t1.write_value(ua.Variant(20.0, ua.VariantType.Double))

        banded, plain = Collector(), Collector()
        sub1 = await c1.create_subscription(50, banded)
        sub2 = await c2.create_subscription(50, plain)
        await sub1.deadband_monitor(t1, 5.0)  # absolute deadband 5
        await sub2.subscribe_data_change(t2)

        async def settle(*collectors, want):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not all(c.values and c.values[-1] == want for c in collectors):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)

        await settle(banded, plain, want=20.0)
        for v in (21.0, 22.0, 30.0):
            await t1.write_value(ua.Variant(v, ua.VariantType.Double))
            await asyncio.sleep(0.3)
        await settle(banded, plain, want=30.0)
        assert plain.values == [20.0, 21.0, 22.0, 30.0], plain.values
        assert banded.values == [20.0, 30.0], "the deadband applies to its own client only"

        # one shared upstream item; disabling one client's item does not stop the other's
        mi = await c1.get_node(ua.NodeId("fxgate/Upstreams/plc1/MonitoredItems", await c1.get_namespace_index(AGG_NS))).read_value()
        assert mi == 1
        await sub2.set_monitoring_mode(ua.MonitoringMode.Disabled)
        await t1.write_value(ua.Variant(40.0, ua.VariantType.Double))
        await settle(banded, want=40.0)
        assert banded.values[-1] == 40.0 and plain.values[-1] == 30.0, (banded.values, plain.values)
        await sub2.set_monitoring_mode(ua.MonitoringMode.Reporting)
        await t1.write_value(ua.Variant(41.0, ua.VariantType.Double))
        await settle(plain, want=41.0)
        assert plain.values[-1] == 41.0, plain.values
        await sub1.delete()
        await sub2.delete()
