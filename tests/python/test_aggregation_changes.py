"""An upstream that comes back changed (issue 3: "A changed upstream server certificate or
endpoint list is detected and re-read automatically (the stale endpoint cache of seed §5.1 must
not happen)"), end to end with real asyncua upstreams (ua_upstream.py via upstream_peers.py):

* a trusted upstream restarts with a new key pair and certificate (same application URI and
  host names): the gateway refuses it - never Connected, LastError says the certificate is not
  trusted, the new certificate is filed in pki-client/rejected, values are Bad_NoCommunication
  (also from the cache) - and once the file is moved to pki-client/trusted it reconnects by
  itself and the client's subscription gets Good values again;
* the upstream restarts with another endpoint set (same URL): without the configured
  security_policy / security_mode the gateway reports the missing endpoint, from the endpoint
  list it just read, and keeps trying; with it back it connects again;
* with accept_all_server_certificates = true a new certificate is simply used (the old one is
  not cached anywhere in the session set-up).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

from asyncua import ua
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from aggregation_support import Collector, Diag, code_name, plant_node, sync, wait_for
from fxgate_testlib import connect, safe_disconnect


def gateway_config(peer, **upstream_extra) -> dict:
    up = {
        "name": "plc1",
        "endpoint_url": peer.url,
        "reconnect_min_ms": 200,
        "reconnect_max_ms": 1000,
    }
    up.update(upstream_extra)
    return {
        "server": {"accept_all_certificates": True, "anonymous_roles": ["read", "write"]},
        "upstream": [up],
    }


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def der_files(directory: Path) -> dict[str, Path]:
    """SHA1 of the certificate -> file, for every *.der in directory."""
    if not directory.is_dir():
        return {}
    return {sha1(f.read_bytes()): f for f in directory.glob("*.der")}


async def watch_plant(client):
    """plc1's Plant.Counter and Plant.Temperature (20.5, read once), and a subscription on the
    Counter that has delivered 3 Good values: (counter, temperature, collector, subscription)."""
    counter = await plant_node(client, "plc1", "alpha", "Plant.Counter")
    temperature = await plant_node(client, "plc1", "alpha", "Plant.Temperature")
    assert (await read_raw(client, temperature)).Value.Value == 20.5
    coll = Collector()
    sub = await client.create_subscription(100, coll)
    await sub.subscribe_data_change(counter)
    t0 = time.monotonic()
    await wait_for(lambda: len(coll.good_since(t0)) >= 3, 10, "Good Counter values through the gateway")
    return counter, temperature, coll, sub


async def read_raw(client, node, max_age: float = 0) -> ua.DataValue:
    """A Read whose bad status comes back as the DataValue (not as an exception)."""
    rv = ua.ReadValueId()
    rv.NodeId = node.nodeid
    rv.AttributeId = ua.AttributeIds.Value
    params = ua.ReadParameters()
    params.NodesToRead = [rv]
    params.MaxAge = max_age
    return (await client.uaclient.read(params))[0]


async def assert_no_communication(client, node) -> None:
    """Read through the gateway: Bad_NoCommunication, both fresh (maxAge 0) and allowing the
    cache (maxAge 60 s) - never a stale Good value."""
    for max_age in (0, 60_000):
        dv = await read_raw(client, node, max_age)
        assert code_name(dv) == "BadNoCommunication", (max_age, dv)


def cert_identity(der: bytes) -> tuple[str, list[str], list[str]]:
    """(subject, SAN URIs, SAN DNS names + addresses) of a certificate."""
    c = x509.load_der_x509_certificate(der)
    san = c.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    uris = sorted(san.get_values_for_type(x509.UniformResourceIdentifier))
    hosts = sorted(san.get_values_for_type(x509.DNSName)) + sorted(str(a) for a in san.get_values_for_type(x509.IPAddress))
    return c.subject.rfc4514_string(), uris, hosts


def restart_with_new_certificate(peer) -> tuple[bytes, bytes]:
    """Restarts the peer with a new key pair and certificate; checks the new certificate has
    the same subject, application URI and host names. Returns (old DER, new DER)."""
    old = peer.cert_path.read_bytes()
    peer.restart(cert_dir=peer.workdir / f"cert-{peer.starts + 1}")
    new = peer.cert_path.read_bytes()
    assert sha1(new) != sha1(old), "the peer must come back with another certificate"
    old_c, new_c = x509.load_der_x509_certificate(old), x509.load_der_x509_certificate(new)
    assert old_c.public_key().public_numbers() != new_c.public_key().public_numbers(), "a new key pair"
    assert cert_identity(new) == cert_identity(old), "same subject, application URI and hosts"
    return old, new


@sync
async def test_changed_certificate_of_a_trusted_upstream_is_refused_until_trusted(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_config(a, accept_all_server_certificates=False))
    rejected = gw.data_dir / "pki-client" / "rejected"
    trusted = gw.data_dir / "pki-client" / "trusted"
    client = await connect(gw, client_cert)
    try:
        diag = await Diag.of(client, "plc1")
        # commissioning: the first certificate is filed in rejected; the operator trusts it
        old_sha = sha1(a.cert_path.read_bytes())
        await wait_for(lambda: old_sha in der_files(rejected), 15, "the upstream's certificate in pki-client/rejected")
        trusted.mkdir(parents=True, exist_ok=True)
        f = der_files(rejected)[old_sha]
        shutil.move(str(f), trusted / f.name)
        await diag.wait_connected(15)
        counter, temperature, coll, sub = await watch_plant(client)

        # the upstream comes back with a new key pair and certificate, same URI and host names
        stopped = time.monotonic()
        _, new_der = restart_with_new_certificate(a)
        new_sha = sha1(new_der)
        assert new_sha not in der_files(trusted)

        # refused, not connected silently: the new certificate lands in rejected ...
        await wait_for(lambda: new_sha in der_files(rejected), 20, "the new certificate in pki-client/rejected")
        # ... and LastError says it is not trusted and how to trust it
        err = await diag.wait_error(lambda e: "trust" in e.lower(), 10, "LastError about the untrusted certificate")
        print(f"LastError with the new certificate: {err}")
        assert "not trusted" in err and "pki-client/rejected" in err and "pki-client/trusted" in err, err
        assert der_files(rejected)[new_sha].name in err, "LastError names the file to move"

        # several further attempts fail the same way, never Connected, values Bad_NoCommunication
        def still_untrusted(snap):
            assert "trust" in snap["LastError"].lower(), snap

        await diag.stays_unconnected(attempts=2, timeout=15, check=still_untrusted)
        await assert_no_communication(client, counter)
        await assert_no_communication(client, temperature)
        lost = coll.after_loss(stopped)
        assert not [dv for dv in lost if dv.StatusCode.is_good()], \
            f"Good values while the upstream's certificate was untrusted: {lost}"
        assert new_sha not in der_files(trusted), "the gateway must not trust a certificate by itself"
        assert sha1(a.cert_path.read_bytes()) == new_sha

        # the operator trusts the new certificate: the gateway reconnects by itself, and the
        # client's subscription (made before the change) delivers Good values again
        f = der_files(rejected)[new_sha]
        shutil.move(str(f), trusted / f.name)
        moved = time.monotonic()
        await diag.wait_connected(15)
        await wait_for(lambda: coll.good_since(moved), 10, "Good values on the same subscription after trusting")
        dv = await read_raw(client, counter)
        assert dv.StatusCode.is_good() and isinstance(dv.Value.Value, int), dv
        assert (await read_raw(client, temperature)).Value.Value == 20.5
        assert new_sha not in der_files(rejected)
        await sub.delete()
    finally:
        await safe_disconnect(client)


@sync
async def test_changed_endpoint_list_is_read_again(gateway_factory, client_cert, peers):
    # the gateway asks for Basic256Sha256 / Sign; the upstream first offers exactly that
    a = peers("ua", "alpha", policies=["Basic256Sha256_Sign"])
    gw = gateway_factory.start(gateway_config(
        a, accept_all_server_certificates=True, security_policy="Basic256Sha256", security_mode="Sign"))
    client = await connect(gw, client_cert)
    try:
        diag = await Diag.of(client, "plc1")
        await diag.wait_connected(20)
        counter, temperature, coll, sub = await watch_plant(client)

        # same URL, another endpoint set: only Aes128_Sha256_RsaOaep / Sign
        stopped = time.monotonic()
        a.restart(policies=["Aes128Sha256RsaOaep_Sign"])
        # LastError names the endpoint that is missing - which the gateway can only know from
        # the endpoint list it read from the restarted upstream - and what is offered instead
        err = await diag.wait_error(lambda e: "Aes128_Sha256_RsaOaep" in e, 20,
                                    "LastError naming the missing endpoint and the offered ones")
        print(f"LastError without the endpoint: {err}")
        assert "Basic256Sha256/Sign" in err, err
        assert "not reachable" not in err, f"a missing endpoint is not an unreachable upstream: {err}"

        def same_error(snap):
            assert "Aes128_Sha256_RsaOaep" in snap["LastError"], snap

        # it keeps trying (back-off), reporting the same, and the gateway process is fine
        await diag.stays_unconnected(attempts=2, timeout=15, check=same_error)
        assert gw.proc.poll() is None, "the gateway must not exit"
        await assert_no_communication(client, counter)
        lost = coll.after_loss(stopped)
        assert not [dv for dv in lost if dv.StatusCode.is_good()], f"Good values without the endpoint: {lost}"
        # the rest of the gateway answers
        tags = await client.get_namespace_index("urn:fxgate:tags")
        assert await client.get_node(ua.NodeId("Demo/Sine", tags)).read_value() is not None

        # the endpoint the gateway wants is offered again (next to the other one): Connected
        # again, the same subscription delivers Good values
        a.restart(policies=["Aes128Sha256RsaOaep_Sign", "Basic256Sha256_Sign"])
        back = time.monotonic()
        await diag.wait_connected(15)
        await wait_for(lambda: coll.good_since(back), 10, "Good values on the same subscription")
        assert (await read_raw(client, temperature)).Value.Value == 20.5
        await sub.delete()
    finally:
        await safe_disconnect(client)


@sync
async def test_changed_certificate_with_accept_all_is_used_at_once(gateway_factory, client_cert, peers):
    a = peers("ua", "alpha")
    gw = gateway_factory.start(gateway_config(a, accept_all_server_certificates=True))
    client = await connect(gw, client_cert)
    try:
        diag = await Diag.of(client, "plc1")
        await diag.wait_connected(20)
        counter = await plant_node(client, "plc1", "alpha", "Plant.Counter")
        coll = Collector()
        sub = await client.create_subscription(100, coll)
        await sub.subscribe_data_change(counter)
        t0 = time.monotonic()
        await wait_for(lambda: len(coll.good_since(t0)) >= 3, 10, "Good Counter values through the gateway")
        reconnects0 = await diag.reconnects()
        old_sha = sha1(a.cert_path.read_bytes())

        # a new key pair: a session set up with the old certificate's public key could not even
        # open the secure channel, so Connected again means the new certificate was read
        _, new_der = restart_with_new_certificate(a)
        back = time.monotonic()
        await diag.wait_connected(15)
        await wait_for(lambda: coll.good_since(back), 10, "Good values on the same subscription")
        assert await diag.reconnects() > reconnects0
        dv = await read_raw(client, counter)
        assert dv.StatusCode.is_good(), dv
        assert not der_files(gw.data_dir / "pki-client" / "rejected"), "nothing is rejected with accept_all"
        # accept_all is for commissioning: neither the old nor the new certificate stays trusted
        trusted = der_files(gw.data_dir / "pki-client" / "trusted")
        assert old_sha not in trusted and sha1(new_der) not in trusted, f"accept_all left trust behind: {trusted}"
        await sub.delete()
    finally:
        await safe_disconnect(client)
