"""Self-check of the upstream peers (upstream_peers.py): each server is started as its own
process and checked with a direct asyncua client - no gateway involved. If these fail, the
aggregation tests that use the peers cannot be trusted."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from asyncua import Client, ua
from cryptography import x509

from fxgate_testlib import EventCollector, connect, safe_disconnect, status_name
from upstream_peers import NODE_NS_URI, start_node_upstream, start_ua_upstream, ua_namespaces

B256 = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"
NONE = "http://opcfoundation.org/UA/SecurityPolicy#None"
PLANT_VARS = ("Counter", "Temperature", "Setpoint", "Name", "NodeRef", "Status", "Mode")


def run(coro, timeout: float = 60):
    """Every test body is bounded, whatever the client does."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def alpha():
    """The default peer: secure (Basic256Sha256 SignAndEncrypt only), anonymous, plant first."""
    peer = start_ua_upstream("alpha")
    yield peer
    assert peer.stop() == 0, f"alpha did not exit cleanly on SIGTERM; log {peer.log_path}:\n{peer.log_text}"


@pytest.fixture
def peers():
    started = []
    yield started
    for p in started:
        p.stop()


class Plant:
    """A session on a ua_upstream peer with its plant / extra namespace indexes."""

    def __init__(self, client: Client, name: str, ns: list[str]):
        self.client = client
        plant_uri, extra_uri = ua_namespaces(name)
        self.ns_array = ns
        self.p = ns.index(plant_uri)
        self.e = ns.index(extra_uri)

    def node(self, ident: str):
        return self.client.get_node(ua.NodeId(ident, self.p))

    def var(self, name: str):
        return self.node(f"Plant.{name}")


async def open_plant(peer, cert, name: str, **kw) -> Plant:
    client = await connect(peer.url, cert, **kw)
    try:
        return Plant(client, name, await client.get_namespace_array())
    except BaseException:
        await safe_disconnect(client)
        raise


# ------------------------------------------------------------------------------------------
# asyncua peer
# ------------------------------------------------------------------------------------------


def test_ua_endpoints_and_identity(alpha, client_cert):
    async def body():
        client = Client(alpha.url, timeout=10)
        eps = await client.connect_and_get_server_endpoints()
        assert {(ep.SecurityPolicyUri, ep.SecurityMode) for ep in eps} == {
            (B256, ua.MessageSecurityMode.SignAndEncrypt)}
        assert all(ep.EndpointUrl == alpha.url for ep in eps)
        assert {ep.Server.ApplicationUri for ep in eps} == {"urn:fxgate-test:alpha"}
        assert all(ep.ServerCertificate for ep in eps)
        tokens = {t.TokenType for ep in eps for t in ep.UserIdentityTokens}
        assert tokens == {ua.UserTokenType.Anonymous}

        # a None/None session is refused: only the secure endpoint exists
        with pytest.raises(Exception):
            await connect(alpha.url, None, policy=None, timeout=5)

    run(body())


def test_ua_address_space_values(alpha, client_cert):
    async def body():
        pl = await open_plant(alpha, client_cert, "alpha")
        try:
            assert pl.ns_array[1] == "urn:fxgate-test:alpha"
            assert pl.p < pl.e, f"default order must register plant first: {pl.ns_array}"
            plant = pl.node("Plant")
            assert await plant.read_browse_name() == ua.QualifiedName("Plant", pl.p)
            assert (await pl.client.nodes.objects.get_child(f"{pl.p}:Plant")).nodeid == plant.nodeid
            children = {(await c.read_browse_name()).Name: c.nodeid for c in await plant.get_children()}
            for name in (*PLANT_VARS, "Add", "Fail", "RaiseAlarm"):
                assert children.get(name) == ua.NodeId(f"Plant.{name}", pl.p), (name, children)

            async def dv(name):
                return await pl.var(name).read_data_value()

            c1 = await dv("Counter")
            assert c1.Value.VariantType == ua.VariantType.Int32
            t = await dv("Temperature")
            assert (t.Value.Value, t.Value.VariantType) == (20.5, ua.VariantType.Double)
            name = await dv("Name")
            assert (name.Value.Value, name.Value.VariantType) == ("line A", ua.VariantType.String)
            ref = await dv("NodeRef")
            assert ref.Value.VariantType == ua.VariantType.NodeId
            assert ref.Value.Value == ua.NodeId("Plant.Temperature", pl.p)
            mode = await dv("Mode")
            assert (mode.Value.Value, mode.Value.VariantType) == (1, ua.VariantType.Int32)
            assert await pl.var("Mode").read_data_type() == ua.NodeId("OperatingMode", pl.e)
            assert await pl.var("Status").read_data_type() == ua.NodeId("StatusInfo", pl.e)
            # without the type definitions the structure arrives as an undecoded ExtensionObject
            # whose encoding id lives in the extra namespace
            raw = (await dv("Status")).Value.Value
            assert isinstance(raw, ua.ExtensionObject) and raw.TypeId.NamespaceIndex == pl.e, raw

            await asyncio.sleep(0.5)
            c2 = await dv("Counter")
            assert c2.Value.Value >= c1.Value.Value + 2, (c1, c2)

            # access levels: Counter / NodeRef read-only, the others writable; Setpoint historized
            for var, writable in (("Counter", False), ("NodeRef", False), ("Temperature", True),
                                  ("Setpoint", True), ("Name", True), ("Status", True), ("Mode", True)):
                al = await pl.var(var).get_access_level()
                assert (ua.AccessLevel.CurrentWrite in al) == writable, (var, al)
            assert ua.AccessLevel.HistoryRead in await pl.var("Setpoint").get_access_level()
            assert await pl.var("Setpoint").read_attribute(ua.AttributeIds.Historizing)
        finally:
            await safe_disconnect(pl.client)

    run(body())


def test_ua_write(alpha, client_cert):
    async def body():
        pl = await open_plant(alpha, client_cert, "alpha")
        try:
            temp = pl.var("Temperature")
            await temp.write_value(ua.Variant(42.25, ua.VariantType.Double))
            assert await temp.read_value() == 42.25
            await temp.write_value(ua.Variant(20.5, ua.VariantType.Double))
            await pl.var("Name").write_value(ua.Variant("line B", ua.VariantType.String))
            assert await pl.var("Name").read_value() == "line B"
            await pl.var("Name").write_value(ua.Variant("line A", ua.VariantType.String))
            with pytest.raises(ua.UaStatusCodeError) as err:
                await pl.var("Counter").write_value(ua.Variant(5, ua.VariantType.Int32))
            assert status_name(err.value) == "BadUserAccessDenied", err.value
        finally:
            await safe_disconnect(pl.client)

    run(body())


def test_ua_methods(alpha, client_cert):
    async def body():
        pl = await open_plant(alpha, client_cert, "alpha")
        try:
            plant = pl.node("Plant")
            res = await plant.call_method(ua.NodeId("Plant.Add", pl.p), ua.Variant(2, ua.VariantType.Int32),
                                          ua.Variant(40, ua.VariantType.Int32))
            assert res == 42
            res = await plant.call_method(ua.NodeId("Plant.Add", pl.p), ua.Variant(-7, ua.VariantType.Int32),
                                          ua.Variant(3, ua.VariantType.Int32))
            assert res == -4
            with pytest.raises(ua.UaStatusCodeError) as err:
                await plant.call_method(ua.NodeId("Plant.Fail", pl.p))
            assert status_name(err.value) == "BadInvalidArgument", err.value
        finally:
            await safe_disconnect(pl.client)

    run(body())


def test_ua_custom_struct_and_enum(alpha, client_cert):
    async def body():
        pl = await open_plant(alpha, client_cert, "alpha")
        try:
            await pl.client.load_data_type_definitions()
            status = pl.var("Status")
            val = await status.read_value()
            assert (val.Code, val.Text, val.Ok) == (7, "ready", True), val
            assert type(val).__name__ == "StatusInfo"
            assert ua.OperatingMode.Auto == 1 and ua.OperatingMode.Manual == 0

            # writable: a new value round-trips, then the original is restored
            new = ua.StatusInfo(Code=9, Text="busy", Ok=False)
            await status.write_value(ua.Variant(new, ua.VariantType.ExtensionObject))
            back = await status.read_value()
            assert (back.Code, back.Text, back.Ok) == (9, "busy", False)
            await status.write_value(ua.Variant(val, ua.VariantType.ExtensionObject))
            assert (await status.read_value()).Code == 7
        finally:
            await safe_disconnect(pl.client)

    run(body())


def test_ua_events(alpha, client_cert):
    async def body():
        pl = await open_plant(alpha, client_cert, "alpha")
        try:
            plant = pl.node("Plant")
            notifier = await plant.read_event_notifier()
            assert ua.EventNotifier.SubscribeToEvents in notifier
            notified = await pl.client.nodes.server.get_referenced_nodes(ua.ObjectIds.HasNotifier, ua.BrowseDirection.Forward)
            assert plant.nodeid in [n.nodeid for n in notified]
            alarm_type = pl.node("PlantAlarmType")
            assert (await alarm_type.read_browse_name()) == ua.QualifiedName("PlantAlarmType", pl.p)

            on_plant, on_server = EventCollector(), EventCollector()
            sub_p = await pl.client.create_subscription(50, on_plant)
            sub_s = await pl.client.create_subscription(50, on_server)
            await sub_p.subscribe_events(plant, alarm_type)
            await sub_s.subscribe_events(pl.client.nodes.server, alarm_type)
            await asyncio.sleep(0.3)
            assert on_plant.events == [], "events must only come from RaiseAlarm"

            await plant.call_method(ua.NodeId("Plant.RaiseAlarm", pl.p), ua.Variant(3, ua.VariantType.Int32))

            def is3(ev):
                return ev.Level == 3

            ev = await on_plant.wait(is3)
            assert ev.Message.Text == "alarm 3"
            assert ev.Severity == 500
            assert ev.SourceNode == plant.nodeid
            assert ev.SourceName == "Plant"
            assert ev.EventType == alarm_type.nodeid
            ev_s = await on_server.wait(is3)
            assert ev_s.Message.Text == "alarm 3" and ev_s.EventId == ev.EventId

            await asyncio.sleep(0.5)
            assert len(on_plant.events) == 1 and len(on_server.events) == 1, (on_plant.events, on_server.events)
            await sub_p.delete()
            await sub_s.delete()
        finally:
            await safe_disconnect(pl.client)

    run(body())


def test_ua_history(alpha, client_cert):
    async def body():
        pl = await open_plant(alpha, client_cert, "alpha")
        try:
            sp = pl.var("Setpoint")
            start = datetime.now(timezone.utc) - timedelta(seconds=1)
            await sp.write_value(ua.Variant(2.5, ua.VariantType.Double))
            await asyncio.sleep(0.3)
            await sp.write_value(ua.Variant(3.75, ua.VariantType.Double))
            await asyncio.sleep(0.5)
            hist = await sp.read_raw_history(start, datetime.now(timezone.utc) + timedelta(seconds=10))
            values = [dv.Value.Value for dv in hist]
            assert values[-2:] == [2.5, 3.75], values
            # everything since start (the initial 1.0 may be older than `start`): only our writes
            assert all(v in (1.0, 2.5, 3.75) for v in values), values
            # the whole history, oldest first, starts with the initial value
            full = await sp.read_raw_history(datetime(2000, 1, 1, tzinfo=timezone.utc),
                                             datetime.now(timezone.utc) + timedelta(seconds=10))
            assert [dv.Value.Value for dv in full][:1] == [1.0], full
        finally:
            await safe_disconnect(pl.client)

    run(body())


def test_ua_uri_order_and_restart(peers):
    """--uri-order extra,plant swaps the namespace indexes; restart() keeps the port and can
    change the order back; kill() makes the server vanish."""

    async def indexes(peer) -> tuple[int, int, list[str]]:
        pl = await open_plant(peer, None, "beta", policy=None)
        try:
            # the string NodeIds do not depend on the order
            assert await pl.var("Temperature").read_value() == 20.5
            assert await pl.var("NodeRef").read_value() == ua.NodeId("Plant.Temperature", pl.p)
            assert await pl.var("Status").read_data_type() == ua.NodeId("StatusInfo", pl.e)
            await pl.client.load_data_type_definitions()
            assert (await pl.var("Status").read_value()).Text == "ready"
            return pl.p, pl.e, pl.ns_array
        finally:
            await safe_disconnect(pl.client)

    peer = start_ua_upstream("beta", uri_order="extra,plant", security="none")
    peers.append(peer)
    p, e, ns = run(indexes(peer))
    assert ns[1] == "urn:fxgate-test:beta"
    assert (e, p) == (2, 3), ns

    port = peer.port
    peer.restart(uri_order="plant,extra")
    assert peer.port == port
    p, e, ns = run(indexes(peer))
    assert (p, e) == (2, 3), ns

    peer.kill()
    assert peer.proc.returncode == -9

    async def refused():
        with pytest.raises(Exception):
            await connect(peer.url, None, policy=None, timeout=3)

    run(refused())
    peer.restart(uri_order="extra,plant")
    p, e, ns = run(indexes(peer))
    assert (e, p) == (2, 3), ns
    assert peer.stop() == 0


def test_ua_user(peers, client_cert):
    peer = start_ua_upstream("gamma", user="op:s3cret")
    peers.append(peer)

    async def body():
        client = Client(peer.url, timeout=10)
        eps = await client.connect_and_get_server_endpoints()
        assert {t.TokenType for ep in eps for t in ep.UserIdentityTokens} == {ua.UserTokenType.UserName}

        with pytest.raises(Exception) as anon:
            await connect(peer.url, client_cert, timeout=5)
        assert status_name(anon.value) in ("BadIdentityTokenRejected", "BadUserAccessDenied"), repr(anon.value)

        with pytest.raises(ua.UaStatusCodeError) as wrong:
            await connect(peer.url, client_cert, username="op", password="nope", timeout=5)
        assert status_name(wrong.value) == "BadUserAccessDenied", wrong.value

        pl_client = await connect(peer.url, client_cert, username="op", password="s3cret")
        try:
            ns = await pl_client.get_namespace_index("urn:fxgate-test:gamma:plant")
            temp = pl_client.get_node(ua.NodeId("Plant.Temperature", ns))
            assert await temp.read_value() == 20.5
            await temp.write_value(ua.Variant(21.0, ua.VariantType.Double))
            assert await temp.read_value() == 21.0
        finally:
            await safe_disconnect(pl_client)

    run(body())

    # a restart keeps the generated certificate (it lives in the peer's --cert-dir)
    async def server_cert():
        return (await Client(peer.url, timeout=10).connect_and_get_server_endpoints())[0].ServerCertificate

    before = run(server_cert())
    peer.restart()
    assert run(server_cert()) == before


def test_ua_security_none(peers):
    peer = start_ua_upstream("delta", security="none")
    peers.append(peer)

    async def body():
        client = Client(peer.url, timeout=10)
        eps = await client.connect_and_get_server_endpoints()
        assert {(ep.SecurityPolicyUri, ep.SecurityMode) for ep in eps} == {(NONE, ua.MessageSecurityMode.None_)}
        c = await connect(peer.url, None, policy=None)
        try:
            ns = await c.get_namespace_index("urn:fxgate-test:delta:plant")
            assert await c.get_node(ua.NodeId("Plant.Name", ns)).read_value() == "line A"
        finally:
            await safe_disconnect(c)

    run(body())


def test_ua_policies_and_new_certificate(peers, client_cert):
    """policies= sets the offered secure endpoints; restart(policies=..., cert_dir=...) changes
    them and the certificate (a new key pair, same URI and host names) on the same port."""
    peer = start_ua_upstream("epsilon", policies=["Basic256Sha256_Sign"])
    peers.append(peer)
    aes128 = "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep"
    aes256 = "http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss"
    sign, sign_encrypt = ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt

    async def endpoints():
        eps = await Client(peer.url, timeout=10).connect_and_get_server_endpoints()
        assert len({ep.ServerCertificate for ep in eps}) == 1
        return {(ep.SecurityPolicyUri, ep.SecurityMode) for ep in eps}, eps[0].ServerCertificate

    async def temperature(policy: str, mode: str):
        c = await connect(peer.url, client_cert, policy=policy, mode=mode)
        try:
            ns = await c.get_namespace_index("urn:fxgate-test:epsilon:plant")
            return await c.get_node(ua.NodeId("Plant.Temperature", ns)).read_value()
        finally:
            await safe_disconnect(c)

    eps, cert1 = run(endpoints())
    assert eps == {(B256, sign)}
    assert cert1 == peer.cert_path.read_bytes()
    assert run(temperature("Basic256Sha256", "Sign")) == 20.5

    port = peer.port
    peer.restart(policies="Aes128Sha256RsaOaep_Sign,Aes256Sha256RsaPss_SignAndEncrypt",
                 cert_dir=peer.workdir / "cert-2")
    assert peer.port == port
    eps, cert2 = run(endpoints())
    assert eps == {(aes128, sign), (aes256, sign_encrypt)}
    assert cert2 != cert1 and cert2 == peer.cert_path.read_bytes()
    c1, c2 = x509.load_der_x509_certificate(cert1), x509.load_der_x509_certificate(cert2)
    assert c1.public_key().public_numbers() != c2.public_key().public_numbers()
    san = lambda c: c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value  # noqa: E731
    assert c1.subject == c2.subject and set(san(c1)) == set(san(c2))
    assert run(temperature("Aes128_Sha256_RsaOaep", "Sign")) == 20.5

    # no policies: the default Basic256Sha256 / SignAndEncrypt again, the certificate kept
    peer.restart(policies=None)
    eps, cert3 = run(endpoints())
    assert eps == {(B256, sign_encrypt)} and cert3 == cert2


# ------------------------------------------------------------------------------------------
# node-opcua peer
# ------------------------------------------------------------------------------------------


def test_node_peer(peers, client_cert):
    peer = start_node_upstream()
    peers.append(peer)

    async def check(client: Client) -> None:
        ns = await client.get_namespace_index(NODE_NS_URI)
        machine = client.get_node(ua.NodeId("Machine", ns))
        assert await machine.read_browse_name() == ua.QualifiedName("Machine", ns)
        assert (await client.nodes.objects.get_child(f"{ns}:Machine")).nodeid == machine.nodeid
        speed = client.get_node(ua.NodeId("Machine.Speed", ns))
        dv = await speed.read_data_value()
        assert dv.Value.VariantType == ua.VariantType.Double
        await speed.write_value(ua.Variant(7.25, ua.VariantType.Double))
        assert await speed.read_value() == 7.25
        await speed.write_value(ua.Variant(3.5, ua.VariantType.Double))

        ticks = client.get_node(ua.NodeId("Machine.Ticks", ns))
        t1 = await ticks.read_data_value()
        assert t1.Value.VariantType == ua.VariantType.UInt32
        await asyncio.sleep(0.5)
        t2 = await ticks.read_value()
        assert t2 >= t1.Value.Value + 2, (t1, t2)

        res = await machine.call_method(ua.NodeId("Machine.Multiply", ns), ua.Variant(2.5, ua.VariantType.Double),
                                        ua.Variant(4.0, ua.VariantType.Double))
        assert res == 10.0

    async def body():
        client = Client(peer.url, timeout=10)
        eps = await client.connect_and_get_server_endpoints()
        modes = {(ep.SecurityPolicyUri, ep.SecurityMode) for ep in eps}
        assert modes == {(NONE, ua.MessageSecurityMode.None_), (B256, ua.MessageSecurityMode.SignAndEncrypt)}, modes
        assert all(ep.EndpointUrl.rstrip("/") == peer.url.rstrip("/") for ep in eps), [ep.EndpointUrl for ep in eps]

        c = await connect(peer.url, None, policy=None)
        try:
            ns = await c.get_namespace_index(NODE_NS_URI)
            assert await c.get_node(ua.NodeId("Machine.Speed", ns)).read_value() == 3.5
            await check(c)
        finally:
            await safe_disconnect(c)
        # the unknown client certificate is accepted automatically
        c = await connect(peer.url, client_cert)
        try:
            await check(c)
        finally:
            await safe_disconnect(c)

    run(body())

    # a crash and a restart on the same port (same PKI, so the same server certificate)
    cert_before = run(Client(peer.url, timeout=10).connect_and_get_server_endpoints())[0].ServerCertificate
    peer.kill()
    port = peer.port
    peer.restart()
    assert peer.port == port and peer.starts == 2

    async def after_restart():
        eps = await Client(peer.url, timeout=10).connect_and_get_server_endpoints()
        assert eps[0].ServerCertificate == cert_before
        c = await connect(peer.url, client_cert)
        try:
            ns = await c.get_namespace_index(NODE_NS_URI)
            assert await c.get_node(ua.NodeId("Machine.Speed", ns)).read_value() == 3.5
        finally:
            await safe_disconnect(c)

    run(after_restart())
    assert peer.stop() == 0, peer.log_text
