"""GDS push management of the gateway's own server (OPC 10000-12 §7.10), through an asyncua client:
the TrustList of the DefaultApplicationGroup (Open/Read/Write/CloseAndUpdate, AddCertificate,
RemoveCertificate), GetRejectedList, and the certificate rotation CreateSigningRequest →
UpdateCertificate → ApplyChanges (the gateway restarts itself with the new certificate).

Every method needs a user with the `security_admin` role on a SignAndEncrypt channel. The admin's
application certificate (the session's `client_cert`) is trusted by the test setup (in pki/trusted/
under async-opcua's file name, accept_all_certificates = false). A CA trusted through the TrustList
comes with its CRL (fxgate's chain check needs one for every CA of a chain)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import os
import time

import pytest
from asyncua import Client, ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary
from cryptography import x509
from cryptography.hazmat.primitives import hashes as crypto_hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aggregation_support import of_type_filter
from fxgate_testlib import CertPair, EventCollector, connect, hash_password, safe_disconnect, status_name
from test_pki_chains import Ca, opn_status, session_refused

ADMIN, ADMIN_PW = "secadmin", "s3curity admin!"
CONFIGURER, CONFIGURER_PW = "configurer", "c0nfigure pw"

# Namespace 0 nodes (OPC 10000-12 / asyncua's ua.ObjectIds)
SERVER_CONFIGURATION = 12637
CREATE_SIGNING_REQUEST = 12737
UPDATE_CERTIFICATE = 13737
APPLY_CHANGES = 12740
GET_REJECTED_LIST = 12777
DEFAULT_APPLICATION_GROUP = 14156
RSA_SHA256_APPLICATION_CERTIFICATE_TYPE = 12560
TRUST_LIST = 12642
TL_SIZE, TL_OPEN_COUNT = 12643, 12646
TL_OPEN, TL_CLOSE, TL_READ, TL_WRITE = 12647, 12650, 12652, 12655
TL_GET_POSITION, TL_SET_POSITION, TL_OPEN_WITH_MASKS = 12657, 12660, 12663
TL_CLOSE_AND_UPDATE, TL_ADD_CERTIFICATE, TL_REMOVE_CERTIFICATE = 12666, 12668, 12670
CURRENT_TIME = 2258
TRUST_LIST_UPDATED_AUDIT = 12561  # TrustListUpdatedAuditEventType
CERTIFICATE_UPDATED_AUDIT = 12620  # CertificateUpdatedAuditEventType

MODE_READ, MODE_WRITE_ERASE = 1, 6  # OpenFileMode: Read; Write | EraseExisting
ALL_LISTS = 15  # TrustListMasks: TrustedCertificates | TrustedCrls | IssuerCertificates | IssuerCrls
CHUNK = 512  # small, so that a list of one certificate takes several Reads/Writes

NOW = datetime.datetime.now(datetime.timezone.utc)


# --------------------------------------------------------------------------------------------
# Typed arguments
# --------------------------------------------------------------------------------------------


def _typed(kind: ua.VariantType):
    return lambda x: ua.Variant(x, kind)


_byte = _typed(ua.VariantType.Byte)
_u32 = _typed(ua.VariantType.UInt32)
_i32 = _typed(ua.VariantType.Int32)
_u64 = _typed(ua.VariantType.UInt64)
_bool = _typed(ua.VariantType.Boolean)
_str = _typed(ua.VariantType.String)
_bytes = _typed(ua.VariantType.ByteString)


def _bytes_list(xs: list[bytes]) -> ua.Variant:
    return ua.Variant(list(xs), ua.VariantType.ByteString, is_array=True)


def _nodeid(x: ua.NodeId) -> ua.Variant:
    return ua.Variant(x, ua.VariantType.NodeId)


NULL_ID = _nodeid(ua.NodeId())


async def expect_bad(code: int, awaitable) -> None:
    """`awaitable` (a method call) must fail with exactly the status `code`."""
    with pytest.raises(ua.UaStatusCodeError) as ei:
        await awaitable
    assert ei.value.code == code, f"expected {ua.StatusCode(code).name}, got {status_name(ei.value)} ({ei.value!r})"


# --------------------------------------------------------------------------------------------
# Gateway, sessions
# --------------------------------------------------------------------------------------------


def opcua_store_name(der: bytes) -> str:
    """The file name async-opcua looks a certificate up by in trusted/: `CN=<cn> [<thumbprint>].der`."""
    cn = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    return f"CN={cn.strip()} [{hashlib.sha1(der).hexdigest()}].der".replace("/", "")


@pytest.fixture(scope="module")
def hashes():
    return {ADMIN: hash_password(ADMIN_PW), CONFIGURER: hash_password(CONFIGURER_PW)}


def gds_config(hashes) -> dict:
    return {
        "server": {"accept_all_certificates": False, "anonymous": True, "anonymous_roles": ["read"]},
        "users": [
            {"name": ADMIN, "password_hash": hashes[ADMIN], "roles": ["read", "security_admin"]},
            {"name": CONFIGURER, "password_hash": hashes[CONFIGURER], "roles": ["read", "write", "configure"]},
        ],
    }


@pytest.fixture
def gw(gateway_factory, hashes, client_cert):
    def trust_admin_client(data_dir):
        trusted = data_dir / "pki" / "trusted"
        trusted.mkdir(parents=True, exist_ok=True)
        (trusted / opcua_store_name(client_cert.der)).write_bytes(client_cert.der)

    return gateway_factory.start(gds_config(hashes), data_dir_setup=trust_admin_client)


async def admin_session(gw, cert: CertPair, mode: str = "SignAndEncrypt") -> Client:
    return await connect(gw, cert, mode=mode, username=ADMIN, password=ADMIN_PW)


def read_current_time(gw, cert: CertPair, **login) -> datetime.datetime:
    """Server_ServerStatus_CurrentTime as a fresh secure session (anonymous unless `login`) reads it."""

    async def main():
        client = await connect(gw, cert, **login)
        try:
            dv = await client.get_node(ua.NodeId(CURRENT_TIME)).read_data_value()
            assert dv.StatusCode.is_good(), dv.StatusCode
            assert isinstance(dv.Value.Value, datetime.datetime), dv.Value
            return dv.Value.Value
        finally:
            await safe_disconnect(client)

    return asyncio.run(main())


async def child_by_name(node, name: str):
    for c in await node.get_children():
        if (await c.read_browse_name()).Name == name:
            return c
    raise AssertionError(f"{node} has no child {name!r}")


# --------------------------------------------------------------------------------------------
# TrustList file access
# --------------------------------------------------------------------------------------------


def trust_list(client: Client):
    return client.get_node(ua.NodeId(TRUST_LIST))


def server_configuration(client: Client):
    return client.get_node(ua.NodeId(SERVER_CONFIGURATION))


async def tl_read_to_end(client: Client, handle: int, chunk: int = CHUNK) -> bytes:
    out = b""
    for _ in range(10_000):
        part = await trust_list(client).call_method(ua.NodeId(TL_READ), _u32(handle), _i32(chunk))
        if not part:
            return out
        assert len(part) <= chunk, f"Read returned {len(part)} bytes for a length of {chunk}"
        out += bytes(part)
    raise AssertionError("the trust list never reached its end")


async def read_trust_list(client: Client, masks: int | None = None) -> tuple[bytes, ua.TrustListDataType]:
    """Open (for reading, or OpenWithMasks), Read to the end, Close: the bytes and their decoding."""
    tl = trust_list(client)
    if masks is None:
        handle = await tl.call_method(ua.NodeId(TL_OPEN), _byte(MODE_READ))
    else:
        handle = await tl.call_method(ua.NodeId(TL_OPEN_WITH_MASKS), _u32(masks))
    try:
        data = await tl_read_to_end(client, handle)
    finally:
        await tl.call_method(ua.NodeId(TL_CLOSE), _u32(handle))
    return data, decode(data)


def decode(data: bytes) -> ua.TrustListDataType:
    tl = struct_from_binary(ua.TrustListDataType, Buffer(data))
    for f in ("TrustedCertificates", "TrustedCrls", "IssuerCertificates", "IssuerCrls"):
        setattr(tl, f, [bytes(x) for x in (getattr(tl, f) or [])])
    return tl


async def tl_write_all(client: Client, handle: int, data: bytes, chunk: int = CHUNK) -> None:
    for i in range(0, len(data), chunk):
        await trust_list(client).call_method(ua.NodeId(TL_WRITE), _u32(handle), _bytes(data[i:i + chunk]))


async def rejected_list(client: Client) -> list[bytes]:
    got = await server_configuration(client).call_method(ua.NodeId(GET_REJECTED_LIST))
    return [bytes(x) for x in (got or [])]


# --------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------


async def audit_events(client: Client, event_type: int) -> EventCollector:
    """Collects the events of `event_type` the Server object reports to `client`."""
    events = EventCollector()
    sub = await client.create_subscription(50, events)
    evtype = client.get_node(ua.NodeId(event_type))
    # a queue, so that calls made within one publishing interval each keep their event
    await sub.subscribe_events(client.nodes.server, evtype, evfilter=await of_type_filter(evtype), queuesize=100)
    return events


def audited(method: int, user: str, status: str):
    """A predicate on audit events: `method` called by `user` with outcome `status`."""
    def pred(ev) -> bool:
        return (ev.MethodId == ua.NodeId(method) and ev.ClientUserId == user
                and ua.StatusCode(ev.StatusCodeId.value).name == status and ev.Status == (status == "Good")
                and ev.SourceNode == ua.NodeId(SERVER_CONFIGURATION))
    return pred


def first_der(blob: bytes) -> bytes:
    """The first DER element of `blob` (a ServerCertificate may be the certificate followed by its chain)."""
    blob = bytes(blob)
    if blob[1] & 0x80:
        n = blob[1] & 0x7F
        return blob[:2 + n + int.from_bytes(blob[2:2 + n], "big")]
    return blob[:2 + blob[1]]


def spki(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def issue_server_cert(ca: Ca, subject: x509.Name, public_key, san: x509.SubjectAlternativeName) -> bytes:
    """An application instance certificate for `public_key`, signed by `ca` (DER)."""
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.name)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(hours=1)).not_valid_after(NOW + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                         data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(san, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
            .sign(ca.key, crypto_hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def san_of(obj) -> x509.SubjectAlternativeName:
    return obj.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_trust_list_read(gw, client_cert):
    async def main():
        client = await admin_session(gw, client_cert)
        try:
            tl = trust_list(client)
            size_node, count_node = client.get_node(ua.NodeId(TL_SIZE)), client.get_node(ua.NodeId(TL_OPEN_COUNT))
            assert await count_node.read_value() == 0
            for method in (TL_OPEN, CREATE_SIGNING_REQUEST):
                dv = await client.get_node(ua.NodeId(method)).read_attribute(ua.AttributeIds.UserExecutable)
                assert dv.Value.Value is True, method

            await expect_bad(ua.StatusCodes.BadInvalidArgument, tl.call_method(ua.NodeId(TL_OPEN), _byte(2)))

            handle = await tl.call_method(ua.NodeId(TL_OPEN), _byte(MODE_READ))
            try:
                assert await count_node.read_value() == 1
                data = await tl_read_to_end(client, handle)
                assert len(data) > CHUNK, "the list (with a certificate) takes more than one Read"
                assert await tl.call_method(ua.NodeId(TL_GET_POSITION), _u32(handle)) == len(data)
                await tl.call_method(ua.NodeId(TL_SET_POSITION), _u32(handle), _u64(0))
                again = await tl.call_method(ua.NodeId(TL_READ), _u32(handle), _i32(CHUNK))
                assert bytes(again) == data[:CHUNK], "SetPosition(0) reads from the start again"
            finally:
                await tl.call_method(ua.NodeId(TL_CLOSE), _u32(handle))
            assert await count_node.read_value() == 0

            full = decode(data)
            assert full.SpecifiedLists == ALL_LISTS
            assert client_cert.der in full.TrustedCertificates, \
                [x509.load_der_x509_certificate(c).subject.rfc4514_string() for c in full.TrustedCertificates]
            size = await size_node.read_value()
            assert size == len(data), f"Size {size} != {len(data)} bytes read"

            # Only the trusted certificates
            _, masked = await read_trust_list(client, masks=1)
            assert masked.SpecifiedLists == 1
            assert sorted(masked.TrustedCertificates) == sorted(full.TrustedCertificates)
            assert masked.TrustedCrls == masked.IssuerCertificates == masked.IssuerCrls == []
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_trust_list_write_adds_a_ca(gw, client_cert, tmp_path):
    ca = Ca("GDS Push Test CA")
    crl = ca.crl()
    leaf = ca.leaf(tmp_path / "gds-leaf", "urn:fxgate-tests:gds:leaf")

    # Not trusted yet: its issuer is unknown.
    assert opn_status(gw.port, gw.url, leaf.der) == "BadCertificateChainIncomplete"
    session_refused(gw, leaf)

    async def write_ca():
        client = await admin_session(gw, client_cert)
        try:
            audit = await audit_events(client, TRUST_LIST_UPDATED_AUDIT)
            tl = trust_list(client)
            _, before = await read_trust_list(client)
            new = ua.TrustListDataType(
                SpecifiedLists=ALL_LISTS,
                TrustedCertificates=before.TrustedCertificates + [ca.der],
                TrustedCrls=before.TrustedCrls + [crl],
                IssuerCertificates=before.IssuerCertificates,
                IssuerCrls=before.IssuerCrls,
            )
            data = struct_to_binary(new)
            handle = await tl.call_method(ua.NodeId(TL_OPEN), _byte(MODE_WRITE_ERASE))
            try:
                await expect_bad(ua.StatusCodes.BadInvalidState,
                                 tl.call_method(ua.NodeId(TL_ADD_CERTIFICATE), _bytes(ca.der), _bool(True)))
                await tl_write_all(client, handle, data)
            except BaseException:
                await tl.call_method(ua.NodeId(TL_CLOSE), _u32(handle))
                raise
            apply_required = await tl.call_method(ua.NodeId(TL_CLOSE_AND_UPDATE), _u32(handle))
            assert apply_required is False, apply_required
            ev = await audit.wait(audited(TL_CLOSE_AND_UPDATE, ADMIN, "Good"))
            assert ev.TrustListId == ua.NodeId(TRUST_LIST), ev

            _, after = await read_trust_list(client)
            assert ca.der in after.TrustedCertificates and client_cert.der in after.TrustedCertificates
            assert crl in after.TrustedCrls
        finally:
            await safe_disconnect(client)

    asyncio.run(write_ca())

    # New connections see the new trust at once.
    assert isinstance(read_current_time(gw, leaf), datetime.datetime)

    async def remove_ca():
        client = await admin_session(gw, client_cert)
        try:
            tl = trust_list(client)
            await expect_bad(ua.StatusCodes.BadInvalidArgument,
                             tl.call_method(ua.NodeId(TL_REMOVE_CERTIFICATE), _str("00" * 20), _bool(True)))
            await tl.call_method(ua.NodeId(TL_REMOVE_CERTIFICATE), _str(hashlib.sha1(ca.der).hexdigest()),
                                 _bool(True))
            _, after = await read_trust_list(client)
            assert ca.der not in after.TrustedCertificates
            assert client_cert.der in after.TrustedCertificates
        finally:
            await safe_disconnect(client)

    asyncio.run(remove_ca())

    assert opn_status(gw.port, gw.url, leaf.der) == "BadCertificateChainIncomplete"
    session_refused(gw, leaf)


def test_add_certificate_and_rejected_list(gw, client_cert, fresh_client_cert):
    stranger = fresh_client_cert
    with pytest.raises(Exception) as refused:
        read_current_time(gw, stranger)
    assert status_name(refused.value) in {"BadCertificateUntrusted", "BadSecurityChecksFailed"}, refused.value

    async def main():
        client = await admin_session(gw, client_cert)
        try:
            deadline = time.monotonic() + 5
            rejected = await rejected_list(client)
            while stranger.der not in rejected and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                rejected = await rejected_list(client)
            assert stranger.der in rejected, [hashlib.sha1(c).hexdigest() for c in rejected]
            assert client_cert.der not in rejected

            await trust_list(client).call_method(ua.NodeId(TL_ADD_CERTIFICATE), _bytes(stranger.der), _bool(True))
            _, now_trusted = await read_trust_list(client)
            assert stranger.der in now_trusted.TrustedCertificates
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
    assert isinstance(read_current_time(gw, stranger), datetime.datetime)


def test_access_needs_security_admin_and_encryption(gw, client_cert):
    denied, insufficient = ua.StatusCodes.BadUserAccessDenied, ua.StatusCodes.BadSecurityModeInsufficient

    def csr_args():
        return (NULL_ID, NULL_ID, _str(""), _bool(False), _bytes(b""))

    async def main():
        # read, write and configure, but not security_admin
        client = await connect(gw, client_cert, username=CONFIGURER, password=CONFIGURER_PW)
        try:
            tl, sc = trust_list(client), server_configuration(client)
            await expect_bad(denied, tl.call_method(ua.NodeId(TL_OPEN), _byte(MODE_READ)))
            await expect_bad(denied, sc.call_method(ua.NodeId(CREATE_SIGNING_REQUEST), *csr_args()))
            await expect_bad(denied, sc.call_method(ua.NodeId(GET_REJECTED_LIST)))
            audit = await audit_events(client, TRUST_LIST_UPDATED_AUDIT)
            await expect_bad(denied, tl.call_method(ua.NodeId(TL_ADD_CERTIFICATE), _bytes(client_cert.der), _bool(True)))
            await audit.wait(audited(TL_ADD_CERTIFICATE, CONFIGURER, "BadUserAccessDenied"))
            # UserExecutable says so before any call
            for method in (TL_OPEN, CREATE_SIGNING_REQUEST):
                dv = await client.get_node(ua.NodeId(method)).read_attribute(ua.AttributeIds.UserExecutable)
                assert dv.Value.Value is False, method
            # the properties are readable with `read`
            assert await client.get_node(ua.NodeId(TL_SIZE)).read_value() > 0
            assert await (await child_by_name(sc, "SupportedPrivateKeyFormats")).read_value() == ["PEM"]
        finally:
            await safe_disconnect(client)

        # anonymous (read only)
        client = await connect(gw, client_cert)
        try:
            await expect_bad(denied, trust_list(client).call_method(ua.NodeId(TL_OPEN), _byte(MODE_READ)))
        finally:
            await safe_disconnect(client)

        # the security admin, over a Sign-only channel
        client = await admin_session(gw, client_cert, mode="Sign")
        try:
            assert client.security_policy.Mode == ua.MessageSecurityMode.Sign
            tl, sc = trust_list(client), server_configuration(client)
            await expect_bad(insufficient, tl.call_method(ua.NodeId(TL_OPEN), _byte(MODE_READ)))
            await expect_bad(insufficient, sc.call_method(ua.NodeId(CREATE_SIGNING_REQUEST), *csr_args()))
            await expect_bad(insufficient, sc.call_method(ua.NodeId(GET_REJECTED_LIST)))
        finally:
            await safe_disconnect(client)

        # the same user over SignAndEncrypt may
        client = await admin_session(gw, client_cert)
        try:
            _, full = await read_trust_list(client)
            assert full.SpecifiedLists == ALL_LISTS
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


async def wait_server_certificate(url: str, der: bytes, timeout: float = 30) -> list[ua.EndpointDescription]:
    """Polls GetEndpoints until every endpoint carries `der` (the gateway restarts meanwhile)."""
    deadline, last = time.monotonic() + timeout, "nothing yet"
    while time.monotonic() < deadline:
        try:
            eps = await asyncio.wait_for(Client(url, timeout=3).connect_and_get_server_endpoints(), 5)
            certs = {bytes(ep.ServerCertificate) for ep in eps}
            if certs == {der}:
                return eps
            last = (f"{len(certs)} distinct certificate(s); each one's leaf is the new one: "
                    f"{[first_der(c) == der for c in certs]}, each is exactly it: {[c == der for c in certs]}")
        except Exception as e:  # noqa: BLE001 - the gateway restarts meanwhile
            last = repr(e)
        await asyncio.sleep(0.3)
    raise AssertionError(f"GetEndpoints did not show the new certificate within {timeout} s; last: {last}")


def test_certificate_rotation(gw, client_cert):
    ca = Ca("GDS Rotation CA")

    async def rotate() -> tuple[bytes, str, bytes]:
        eps = await Client(gw.url, timeout=10).connect_and_get_server_endpoints()
        old_der = first_der(eps[0].ServerCertificate)
        app_uri = eps[0].Server.ApplicationUri
        old = x509.load_der_x509_certificate(old_der)
        assert app_uri in san_of(old).get_values_for_type(x509.UniformResourceIdentifier)

        client = await admin_session(gw, client_cert)
        try:
            audit = await audit_events(client, CERTIFICATE_UPDATED_AUDIT)
            sc = server_configuration(client)
            # a new key needs a nonce of 32 bytes at least
            await expect_bad(ua.StatusCodes.BadInvalidArgument, sc.call_method(
                ua.NodeId(CREATE_SIGNING_REQUEST), NULL_ID, NULL_ID, _str(""), _bool(True), _bytes(os.urandom(8))))

            csr_der = await sc.call_method(ua.NodeId(CREATE_SIGNING_REQUEST), NULL_ID, NULL_ID, _str(""),
                                           _bool(True), _bytes(os.urandom(32)))
            csr = x509.load_der_x509_csr(bytes(csr_der))
            assert csr.is_signature_valid
            assert csr.subject == old.subject, csr.subject.rfc4514_string()
            csr_san = san_of(csr)
            assert app_uri in csr_san.get_values_for_type(x509.UniformResourceIdentifier), csr_san
            old_dns = set(san_of(old).get_values_for_type(x509.DNSName))
            assert old_dns <= set(csr_san.get_values_for_type(x509.DNSName)), (old_dns, csr_san)
            assert spki(csr.public_key()) != spki(old.public_key()), "regeneratePrivateKey: a new key"

            new_der = issue_server_cert(ca, csr.subject, csr.public_key(), csr_san)

            def update(cert: bytes):
                return sc.call_method(ua.NodeId(UPDATE_CERTIFICATE), NULL_ID, NULL_ID, _bytes(cert),
                                      _bytes_list([ca.der]), _str(""), _bytes(b""))

            # Refused: not a certificate; another key than the request's; another ApplicationUri.
            await expect_bad(ua.StatusCodes.BadCertificateInvalid, update(b"not a certificate"))
            other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            await expect_bad(ua.StatusCodes.BadSecurityChecksFailed,
                             update(issue_server_cert(ca, csr.subject, other_key.public_key(), csr_san)))
            wrong_uri = x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier("urn:fxgate-tests:not-this-server")]
                + [x509.DNSName(d) for d in csr_san.get_values_for_type(x509.DNSName)])
            await expect_bad(ua.StatusCodes.BadCertificateUriInvalid,
                             update(issue_server_cert(ca, csr.subject, csr.public_key(), wrong_uri)))

            # The signed one, with the typed group and type ids this time.
            apply_required = await sc.call_method(
                ua.NodeId(UPDATE_CERTIFICATE), _nodeid(ua.NodeId(DEFAULT_APPLICATION_GROUP)),
                _nodeid(ua.NodeId(RSA_SHA256_APPLICATION_CERTIFICATE_TYPE)), _bytes(new_der),
                _bytes_list([ca.der]), _str(""), _bytes(b""))
            assert apply_required is True, apply_required
            await audit.wait(audited(UPDATE_CERTIFICATE, ADMIN, "BadCertificateUriInvalid"))
            ev = await audit.wait(audited(UPDATE_CERTIFICATE, ADMIN, "Good"))
            assert (ev.CertificateGroup, ev.CertificateType) == (
                ua.NodeId(DEFAULT_APPLICATION_GROUP), ua.NodeId(RSA_SHA256_APPLICATION_CERTIFICATE_TYPE)), ev
            assert await sc.call_method(ua.NodeId(APPLY_CHANGES)) is None
        finally:
            await safe_disconnect(client)  # the gateway restarts about 1 s after ApplyChanges
        return old_der, app_uri, new_der

    old_der, app_uri, new_der = asyncio.run(rotate())

    async def after_restart():
        eps = await wait_server_certificate(gw.url, new_der)
        assert {ep.Server.ApplicationUri for ep in eps} == {app_uri}
        client = await admin_session(gw, client_cert)
        try:
            # asyncua took the certificate from the endpoints and CreateSession confirmed it.
            assert client.security_policy.peer_certificate == new_der
            dv = await client.get_node(ua.NodeId(CURRENT_TIME)).read_data_value()
            assert dv.StatusCode.is_good() and isinstance(dv.Value.Value, datetime.datetime)
            sc = server_configuration(client)
            assert await (await child_by_name(sc, "SupportedPrivateKeyFormats")).read_value() == ["PEM"]
            assert await (await child_by_name(sc, "MaxTrustListSize")).read_value() == 1048576
            _, full = await read_trust_list(client)
            assert client_cert.der in full.TrustedCertificates
        finally:
            await safe_disconnect(client)

    asyncio.run(after_restart())
    assert new_der != old_der
    assert gw.proc.poll() is None, "the gateway restarts in place (exec, same pid)"
    assert (gw.data_dir / "pki" / "own" / "cert.der").read_bytes() == new_der
    assert (gw.data_dir / "pki" / "own" / "cert.der.previous").read_bytes() == old_der, "the old certificate is kept"
    key = gw.data_dir / "pki" / "private" / "private.pem"
    assert key.stat().st_mode & 0o077 == 0, "the new key is its owner's only"


def test_node_opcua_push_client(gw, client_cert, tmp_path):
    """node-opcua, a second stack with its own TrustListDataType encoder and decoder: refused at
    first, its certificate is found in GetRejectedList and trusted with AddCertificate (asyncua as
    the admin); then it reads the trust list, writes it back with a CA and its CRL added, and gets
    a signing request. A leaf of that CA then connects, and the request is for the current key."""
    from test_node_interop import NodeProc

    ca = Ca("GDS node-opcua CA")
    (tmp_path / "ca.der").write_bytes(ca.der)
    (tmp_path / "ca.crl").write_bytes(ca.crl())
    leaf = ca.leaf(tmp_path / "node-ca-leaf", "urn:fxgate-tests:gds:node-leaf")
    session_refused(gw, leaf)  # its CA is not trusted yet

    def run_node() -> dict:
        node = NodeProc("gds_client.js", "--url", gw.url, "--pki", str(tmp_path / "node-pki"), "--user", ADMIN,
                        "--password", ADMIN_PW, "--ca", str(tmp_path / "ca.der"), "--crl", str(tmp_path / "ca.crl"))
        return node.result(timeout=100), node

    first, _ = run_node()
    assert not first.get("ok"), "node-opcua's certificate is not trusted yet"

    async def trust_node_client():
        client = await admin_session(gw, client_cert)
        try:
            def is_node(der: bytes) -> bool:
                uris = san_of(x509.load_der_x509_certificate(der)).get_values_for_type(x509.UniformResourceIdentifier)
                return "urn:fxgate-tests:node-client" in uris

            node_certs = [c for c in await rejected_list(client) if is_node(c)]
            assert len(node_certs) == 1, "node-opcua's refused certificate is in GetRejectedList"
            await trust_list(client).call_method(ua.NodeId(TL_ADD_CERTIFICATE), _bytes(node_certs[0]), _bool(True))
        finally:
            await safe_disconnect(client)

    asyncio.run(trust_node_client())
    res, node = run_node()
    assert res.get("ok"), node.dump()

    on_disk = {hashlib.sha1(f.read_bytes()).hexdigest() for f in (gw.data_dir / "pki" / "trusted").glob("*.der")}
    before, after = res["before"], res["after"]
    assert before["specifiedLists"] == ALL_LISTS
    assert set(before["trustedCertificates"]) == on_disk - {hashlib.sha1(ca.der).hexdigest()}, (before, on_disk)
    assert res["applyChangesRequired"] is False
    assert set(after["trustedCertificates"]) == set(before["trustedCertificates"]) | {hashlib.sha1(ca.der).hexdigest()}
    crl_thumb = hashlib.sha1((tmp_path / "ca.crl").read_bytes()).hexdigest()
    assert sorted(after["trustedCrls"]) == sorted(before["trustedCrls"] + [crl_thumb]), after

    csr = x509.load_der_x509_csr(base64.b64decode(res["csr"]))
    assert csr.is_signature_valid
    server_cert = x509.load_der_x509_certificate((gw.data_dir / "pki" / "own" / "cert.der").read_bytes())
    assert spki(csr.public_key()) == spki(server_cert.public_key()), "regeneratePrivateKey false: the current key"

    assert isinstance(read_current_time(gw, leaf), datetime.datetime)
