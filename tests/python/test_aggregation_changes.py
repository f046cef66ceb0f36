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

import asyncio
import functools
import hashlib
import shutil
import time
from pathlib import Path

from asyncua import ua
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

import pytest

from fxgate_testlib import connect, safe_disconnect
from upstream_peers import start_ua_upstream, ua_namespaces

AGG_NS = "urn:fxgate:aggregation"
TEST_TIMEOUT_S = 90


def sync(fn):
    """Runs an async test body with asyncio.run, bounded (the suite has no async plugin)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_TIMEOUT_S))

    return wrapper


@pytest.fixture
def peers():
    started = []

    def start(name: str, **kw):
        p = start_ua_upstream(name, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


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


def code_name(dv: ua.DataValue) -> str:
    """The name of a DataValue's status code without its info bits: async-opcua's server sets
    the Overflow bit (0x80) when a queue of size 1 drops a value (e.g. the last Good one for
    the Bad_NoCommunication that replaces it)."""
    return ua.StatusCode(dv.StatusCode.value & 0xFFFF0000).name


class Collector:
    """asyncua subscription handler: (NodeId, value, DataValue, monotonic time) per notification."""

    def __init__(self):
        self.changes: list[tuple[ua.NodeId, object, ua.DataValue, float]] = []

    def datachange_notification(self, node, val, data):
        self.changes.append((node.nodeid, val, data.monitored_item.Value, time.monotonic()))

    def since(self, t: float) -> list[ua.DataValue]:
        return [c[2] for c in self.changes if c[3] >= t]

    def good_since(self, t: float) -> list[ua.DataValue]:
        return [dv for dv in self.since(t) if dv.StatusCode.is_good() and dv.Value.Value is not None]

    def after_loss(self, t: float) -> list[ua.DataValue]:
        """The notifications from the first Bad_NoCommunication after t on (asserts there is
        one; a Good one sampled before the loss may still arrive between t and it)."""
        since = self.since(t)
        bad = [i for i, dv in enumerate(since) if code_name(dv) == "BadNoCommunication"]
        assert bad, f"no Bad_NoCommunication notification after the upstream went away: {since}"
        return since[bad[0]:]


async def wait_for(pred, timeout: float, what: str, interval: float = 0.1):
    """Polls pred (sync or async) until it returns something true; that is returned."""
    deadline = time.monotonic() + timeout
    while True:
        r = pred()
        if asyncio.iscoroutine(r):
            r = await r
        if r:
            return r
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


class Diag:
    """The gateway's diagnostics of one upstream: Objects/fxgate/Upstreams/<name>/..."""

    def __init__(self, client, ns: int, name: str):
        self.client = client
        self.ns = ns
        self.name = name

    @classmethod
    async def of(cls, client, name: str) -> "Diag":
        return cls(client, await client.get_namespace_index(AGG_NS), name)

    async def read(self, what: str):
        return await self.client.get_node(ua.NodeId(f"fxgate/Upstreams/{self.name}/{what}", self.ns)).read_value()

    async def state(self) -> str:
        return await self.read("State")

    async def last_error(self) -> str:
        return await self.read("LastError")

    async def reconnects(self) -> int:
        return int(await self.read("ReconnectCount"))

    async def snapshot(self) -> dict:
        return {"State": await self.state(), "LastError": await self.last_error(),
                "ReconnectCount": await self.reconnects()}

    async def wait_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while await self.state() != "Connected":
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name} not Connected within {timeout} s: {await self.snapshot()}")
            await asyncio.sleep(0.1)

    async def wait_error(self, pred, timeout: float, what: str) -> str:
        """Waits until LastError satisfies pred while the upstream is not Connected."""
        deadline = time.monotonic() + timeout
        while True:
            snap = await self.snapshot()
            if snap["State"] != "Connected" and pred(snap["LastError"]):
                return snap["LastError"]
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {snap}")
            await asyncio.sleep(0.1)

    async def stays_unconnected(self, attempts: int, timeout: float, check=None) -> dict:
        """Watches `attempts` more connection attempts (ReconnectCount) fail: the state is never
        Connected meanwhile, and `check(snapshot)` (if given) holds at every poll."""
        start = await self.reconnects()
        deadline = time.monotonic() + timeout
        while True:
            snap = await self.snapshot()
            assert snap["State"] != "Connected", f"{self.name} connected although it must not: {snap}"
            if check is not None:
                check(snap)
            if snap["ReconnectCount"] >= start + attempts:
                return snap
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: fewer than {attempts} further attempts within {timeout} s: {snap}")
            await asyncio.sleep(0.1)


async def plant_node(client, upstream_name: str, peer_name: str, ident: str):
    plant_uri, _ = ua_namespaces(peer_name)
    ns = await client.get_namespace_index(f"{upstream_name}/{plant_uri}")
    return client.get_node(ua.NodeId(ident, ns))


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
    a = peers("alpha")
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
        counter = await plant_node(client, "plc1", "alpha", "Plant.Counter")
        temperature = await plant_node(client, "plc1", "alpha", "Plant.Temperature")
        assert (await read_raw(client, temperature)).Value.Value == 20.5
        coll = Collector()
        sub = await client.create_subscription(100, coll)
        await sub.subscribe_data_change(counter)
        t0 = time.monotonic()
        await wait_for(lambda: len(coll.good_since(t0)) >= 3, 10, "Good Counter values through the gateway")

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
    a = peers("alpha", policies=["Basic256Sha256_Sign"])
    gw = gateway_factory.start(gateway_config(
        a, accept_all_server_certificates=True, security_policy="Basic256Sha256", security_mode="Sign"))
    client = await connect(gw, client_cert)
    try:
        diag = await Diag.of(client, "plc1")
        await diag.wait_connected(20)
        counter = await plant_node(client, "plc1", "alpha", "Plant.Counter")
        temperature = await plant_node(client, "plc1", "alpha", "Plant.Temperature")
        assert (await read_raw(client, temperature)).Value.Value == 20.5
        coll = Collector()
        sub = await client.create_subscription(100, coll)
        await sub.subscribe_data_change(counter)
        t0 = time.monotonic()
        await wait_for(lambda: len(coll.good_since(t0)) >= 3, 10, "Good Counter values through the gateway")

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
    a = peers("alpha")
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

        # a new key pair: a session set up with the old certificate's public key could not even
        # open the secure channel, so Connected again means the new certificate was read
        restart_with_new_certificate(a)
        back = time.monotonic()
        await diag.wait_connected(15)
        await wait_for(lambda: coll.good_since(back), 10, "Good values on the same subscription")
        assert await diag.reconnects() > reconnects0
        dv = await read_raw(client, counter)
        assert dv.StatusCode.is_good(), dv
        assert not der_files(gw.data_dir / "pki-client" / "rejected"), "nothing is rejected with accept_all"
        await sub.delete()
    finally:
        await safe_disconnect(client)
