"""Anonymous reads, browsing and subscriptions on the Demo simulator (default security settings:
no None endpoint, accept_all_certificates = true, so the client uses a generated certificate over
Basic256Sha256 / SignAndEncrypt)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

from asyncua import ua

from fxgate_testlib import (
    DEMO_TAGS,
    TAGS_NS_URI,
    connect,
    port_accepts,
    read_dv,
    safe_disconnect,
    status_name,
    tag_node,
    tags_ns,
)


def test_anonymous_read_values_change_and_types(shared_gateway, client_cert):
    async def main():
        client = await connect(shared_gateway, client_cert)
        try:
            first = {name: await read_dv(client, name) for name in DEMO_TAGS}
            for name, (type_name, _) in DEMO_TAGS.items():
                dv = first[name]
                assert dv.StatusCode.is_good(), f"{name}: status {dv.StatusCode}"
                assert dv.Value.VariantType == getattr(ua.VariantType, type_name), (
                    f"Demo/{name} must be {type_name}, got {dv.Value.VariantType.name}"
                )
            assert isinstance(first["Text"].Value.Value, str)
            assert isinstance(first["Sine"].Value.Value, float)
            assert isinstance(first["Toggle"].Value.Value, bool)

            await asyncio.sleep(1.6)
            second = {name: await read_dv(client, name) for name in ("Sine", "Ramp", "Counter")}
            await asyncio.sleep(1.6)
            third = {name: await read_dv(client, name) for name in ("Sine", "Ramp", "Counter")}

            for name in ("Ramp", "Counter"):
                assert second[name].Value.Value != first[name].Value.Value, (
                    f"Demo/{name} did not change in 1.6 s: {first[name].Value.Value}"
                )
            # Counter counts up.
            assert second["Counter"].Value.Value > first["Counter"].Value.Value
            assert third["Counter"].Value.Value > second["Counter"].Value.Value
            # A sine sampled 1.6 s apart can in theory hit the same value twice (symmetric around a
            # peak), so demand a change in at least one of two 1.6 s steps.
            s0, s1, s2 = (d["Sine"].Value.Value for d in (first, second, third))
            assert s0 != s1 or s1 != s2, f"Demo/Sine is stuck at {s0}"
            # Source timestamps move with the value.
            assert second["Counter"].SourceTimestamp is not None
            assert second["Counter"].SourceTimestamp != first["Counter"].SourceTimestamp
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_browse_demo_folder_and_namespace(shared_gateway, client_cert):
    async def main():
        client = await connect(shared_gateway, client_cert)
        try:
            namespaces = await client.get_namespace_array()
            assert TAGS_NS_URI in namespaces, namespaces
            ns = namespaces.index(TAGS_NS_URI)

            objects = client.nodes.objects
            children = await objects.get_children()
            names = {}
            for c in children:
                bn = await c.read_browse_name()
                names[(bn.NamespaceIndex, bn.Name)] = c
            assert (ns, "Demo") in names, f"Objects has no {ns}:Demo: {list(names)}"
            demo = names[(ns, "Demo")]
            assert demo.nodeid == ua.NodeId("Demo", ns), demo.nodeid

            tags = {}
            for child in await demo.get_children():
                bn = await child.read_browse_name()
                tags[bn.Name] = (bn, child)
            assert set(DEMO_TAGS) <= set(tags), f"Demo lists {sorted(tags)}"
            for name in DEMO_TAGS:
                bn, node = tags[name]
                assert bn.NamespaceIndex == ns
                assert node.nodeid == ua.NodeId(f"Demo/{name}", ns)
                assert (await node.read_display_name()).Text == name
                assert await node.read_node_class() == ua.NodeClass.Variable
                # writable = true only for Setpoint
                access = (await node.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value
                can_write = bool(access & ua.AccessLevel.CurrentWrite.mask)
                assert can_write == (name == "Setpoint"), f"Demo/{name} AccessLevel={access}"
                assert access & ua.AccessLevel.CurrentRead.mask
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_subscription_receives_sine_changes(shared_gateway, client_cert):
    class Handler:
        def __init__(self):
            self.values: list[float] = []
            self.changed = asyncio.Event()

        def datachange_notification(self, node, val, data):
            self.values.append(val)
            if len(self.values) >= 4:
                self.changed.set()

    async def main():
        client = await connect(shared_gateway, client_cert)
        try:
            handler = Handler()
            sub = await client.create_subscription(100, handler)
            node = await tag_node(client, "Sine")
            await sub.subscribe_data_change(node)
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(handler.changed.wait(), 20)
            except asyncio.TimeoutError:
                raise AssertionError(
                    f"only {len(handler.values)} Sine notifications in {time.monotonic() - t0:.1f}s: {handler.values}"
                ) from None
            # initial value + at least 3 changes, and the values really differ
            assert len(handler.values) >= 4
            assert len(set(handler.values)) >= 3, handler.values
            assert all(isinstance(v, float) for v in handler.values)
            await sub.delete()
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_nodeids_are_string_ids_in_tags_namespace(shared_gateway, client_cert):
    """Direct NodeId access as documented: ns=<idx of urn:fxgate:tags>;s=Demo/Sine."""

    async def main():
        client = await connect(shared_gateway, client_cert)
        try:
            ns = await tags_ns(client)
            node = client.get_node(f"ns={ns};s=Demo/Sine")
            value = await node.read_value()
            assert isinstance(value, float)
            folder = client.get_node(f"ns={ns};s=Demo")
            assert await folder.read_node_class() == ua.NodeClass.Object
            missing = client.get_node(f"ns={ns};s=Demo/DoesNotExist")
            try:
                await missing.read_value()
            except ua.UaStatusCodeError as exc:
                assert status_name(exc) == "BadNodeIdUnknown", exc
            else:
                raise AssertionError("reading a non-existent tag must fail with BadNodeIdUnknown")
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_data_dir_layout(shared_gateway):
    d = shared_gateway.data_dir
    assert (d / "pki" / "own" / "cert.der").is_file()
    assert (d / "pki" / "private" / "private.pem").is_file()
    assert (d / "pki" / "trusted").is_dir()
    assert (d / "pki" / "rejected").is_dir()
    logs = d / "logs"
    assert logs.is_dir(), "logs/ must exist in the data dir"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        files = [p for p in logs.iterdir() if p.is_file()]
        if any("fxgate ready" in p.read_text(errors="replace") for p in files):
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"no log file in {logs} contains 'fxgate ready': {list(logs.iterdir())}")


def test_embedded_default_config(gateway_factory, client_cert):
    """`fxgate run` without --config serves the documented default: port 48050, HTTP 8480,
    simulator Demo with Sine Ramp Toggle Counter Text Setpoint (the types above)."""
    for port in (48050, 8480):
        assert not port_accepts(port), f"port {port} is already in use on this machine; cannot test the defaults"
    gw = gateway_factory.create_embedded_default()
    gw.start()

    async def main():
        client = await connect("opc.tcp://127.0.0.1:48050/", client_cert)
        try:
            for name, (type_name, _) in DEMO_TAGS.items():
                dv = await read_dv(client, name)
                assert dv.StatusCode.is_good(), f"{name}: {dv.StatusCode}"
                assert dv.Value.VariantType == getattr(ua.VariantType, type_name), (name, dv.Value.VariantType)
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
    with urllib.request.urlopen("http://127.0.0.1:8480/healthz", timeout=5) as resp:
        assert resp.status == 200
    # the DA item API's own secure session works with the relative default data dir too
    with urllib.request.urlopen("http://127.0.0.1:8480/da/items/ns-2%3Bs-Demo%2FSine", timeout=15) as resp:
        body = json.loads(resp.read())
        assert body["error"] == "S_OK" and body["quality"] == 192, body
    assert (gw.data_dir / "pki" / "own" / "cert.der").is_file()
