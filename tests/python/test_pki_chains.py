"""CA-issued client certificates (issue 18 §1, OPC 10000-4 §6.1.3): a plant CA hierarchy made
here with `cryptography` (root CA → intermediate → leaves, CRLs for both CAs). The root is in
`pki/trusted/`, the intermediate in `pki/issuers/`, the CRLs in `pki/crl/`.

A leaf of the trusted CA connects with asyncua (Basic256Sha256, SignAndEncrypt). Each failed
check is answered with its own status code in an ERR message: asserted on the wire with a raw
Hello + OpenSecureChannel carrying the certificate (the check runs on the OPN's plaintext
header, before anything else), and asyncua's own connection attempt must fail too."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import socket
import struct
from pathlib import Path

import pytest
from asyncua import ua
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fxgate_testlib import CertPair, connect, read_dv, safe_disconnect
from hostile_peers import POLICY_B256S256, UaRaw, hel, opn
from modbus_peers import http_get

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


class Ca:
    """A certificate authority: certificate, key, and the serials it has revoked."""

    def __init__(self, cn: str, parent: "Ca | None" = None):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fxgate tests"),
                               x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        issuer = parent or self
        b = (x509.CertificateBuilder().subject_name(self.name)
             .issuer_name(issuer.name if parent else self.name)
             .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(NOW - DAY).not_valid_after(NOW + 3650 * DAY)
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False))
        if parent:
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                                critical=False)
        self.cert = b.sign((parent or self).key, hashes.SHA256())
        self.revoked: list[int] = []

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def crl(self) -> bytes:
        b = (x509.CertificateRevocationListBuilder().issuer_name(self.name)
             .last_update(NOW - DAY).next_update(NOW + 30 * DAY))
        for serial in self.revoked:
            b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                          .revocation_date(NOW - DAY).build())
        return b.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def leaf(self, directory: Path, app_uri: str, *, not_before=None, not_after=None, key_name: str = "key.pem",
             cert_name: str = "cert.der",
             eku=(ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH)) -> CertPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fxgate tests"),
                          x509.NameAttribute(NameOID.COMMON_NAME, directory.name)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(self.name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(not_before or NOW - DAY).not_valid_after(not_after or NOW + 365 * DAY)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                             data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
                .add_extension(x509.SubjectAlternativeName([
                    x509.UniformResourceIdentifier(app_uri), x509.DNSName(socket.gethostname()),
                    x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        directory.mkdir(parents=True, exist_ok=True)
        (directory / cert_name).write_bytes(cert.public_bytes(serialization.Encoding.DER))
        (directory / key_name).write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.TraditionalOpenSSL,
                                                             serialization.NoEncryption()))
        return CertPair(cert=directory / cert_name, key=directory / key_name, app_uri=app_uri)


def install(data_dir: Path, root: Ca, issuers: list[Ca], crls: list[Ca]) -> None:
    pki = data_dir / "pki"
    for d in ("trusted", "issuers", "crl"):
        (pki / d).mkdir(parents=True, exist_ok=True)
    (pki / "trusted" / "plant-root.der").write_bytes(root.der)
    for i, ca in enumerate(issuers):
        (pki / "issuers" / f"issuer{i}.der").write_bytes(ca.der)
    for ca in crls:
        (pki / "crl" / f"{hashlib.sha1(ca.der).hexdigest()}.crl").write_bytes(ca.crl())


def opn_status(port: int, url: str, cert: bytes) -> str:
    """The status an OpenSecureChannel carrying `cert` is refused with ('' if not by an ERR)."""

    async def main():
        c = await UaRaw.open(port)
        try:
            await c.send(hel(url))
            ack = await c.recv(5)
            assert isinstance(ack, tuple) and ack[0] == b"ACK", ack
            await c.send(opn(1, 1, policy=POLICY_B256S256, cert=cert, mode=3, nonce=b"\x00" * 32))
            r = await c.recv(5)
            if isinstance(r, tuple) and r[0] == b"ERR":
                return ua.StatusCode(struct.unpack("<I", r[2][:4])[0]).name
            return ""
        finally:
            await c.close()

    return asyncio.run(main())


def session_reads(gw, cert: CertPair) -> object:
    async def main():
        client = await connect(gw, cert)
        try:
            return (await read_dv(client, "Counter")).StatusCode
        finally:
            await safe_disconnect(client)

    return asyncio.run(main())


def session_refused(gw, cert: CertPair) -> str:
    try:
        session_reads(gw, cert)
    except Exception as e:  # noqa: BLE001 - whatever asyncua raises, the session must not open
        return repr(e)
    raise AssertionError(f"a session opened with {cert.cert.parent.name}")


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    d = tmp_path_factory.mktemp("plant-ca")
    root = Ca("Plant Root CA")
    inter = Ca("Plant Issuing CA", root)
    stray = Ca("Plant Other Issuing CA", root)  # not in issuers/: chains are incomplete
    nocrl = Ca("Plant CA Without CRL", root)  # in issuers/, but no CRL
    leaves = {
        "good": inter.leaf(d / "good", "urn:fxgate-tests:plant:good"),
        "expired": inter.leaf(d / "expired", "urn:fxgate-tests:plant:expired", not_before=NOW - 20 * DAY,
                              not_after=NOW - 10 * DAY),
        "future": inter.leaf(d / "future", "urn:fxgate-tests:plant:future", not_before=NOW + 10 * DAY,
                             not_after=NOW + 20 * DAY),
        "revoked": inter.leaf(d / "revoked", "urn:fxgate-tests:plant:revoked"),
        "stray": stray.leaf(d / "stray", "urn:fxgate-tests:plant:stray"),
        "nocrl": nocrl.leaf(d / "nocrl", "urn:fxgate-tests:plant:nocrl"),
        "later-revoked": inter.leaf(d / "later-revoked", "urn:fxgate-tests:plant:later"),
        # a server's certificate (serverAuth only) presented by a client
        "server-only": inter.leaf(d / "server-only", "urn:fxgate-tests:plant:server-only",
                                  eku=(ExtendedKeyUsageOID.SERVER_AUTH,)),
    }
    inter.revoked.append(leaves["revoked"].x509().serial_number)
    return {"root": root, "inter": inter, "stray": stray, "nocrl": nocrl, "leaves": leaves}


@pytest.fixture
def gw(gateway_factory, plant):
    p = plant
    return gateway_factory.start(
        {"server": {"anonymous": True, "anonymous_roles": ["read"], "accept_all_certificates": False}},
        data_dir_setup=lambda dd: install(dd, p["root"], [p["inter"], p["nocrl"]], [p["root"], p["inter"]]))


def test_a_leaf_of_the_trusted_ca_connects(gw, plant):
    good = plant["leaves"]["good"]
    assert session_reads(gw, good).is_good()
    trusted = gw.data_dir / "pki" / "trusted"
    placed = [f for f in trusted.iterdir() if f.read_bytes() == good.der]
    assert placed, f"the validated certificate is not in trusted/: {sorted(f.name for f in trusted.iterdir())}"
    assert good.thumbprint in (gw.data_dir / "pki" / "ca-accepted.txt").read_text()
    assert "certificate refused" not in gw.stderr_text


@pytest.mark.parametrize("name, status", [
    ("expired", "BadCertificateTimeInvalid"),
    ("future", "BadCertificateTimeInvalid"),
    ("revoked", "BadCertificateRevoked"),
    ("stray", "BadCertificateChainIncomplete"),
    ("nocrl", "BadCertificateRevocationUnknown"),
    ("server-only", "BadCertificateUseNotAllowed"),
])
def test_each_failed_check_has_its_status_code(gw, plant, name, status):
    leaf = plant["leaves"][name]
    assert opn_status(gw.port, gw.url, leaf.der) == status
    session_refused(gw, leaf)
    rejected = gw.data_dir / "pki" / "rejected"
    assert any(f.read_bytes() == leaf.der for f in rejected.iterdir()), "the refused certificate is filed in rejected/"
    trusted = gw.data_dir / "pki" / "trusted"
    assert not any(f.read_bytes() == leaf.der for f in trusted.iterdir())
    assert status in gw.stderr_text
    metrics = http_get(gw, "/metrics")[1]
    counted = f'fxgate_opcua_refused_certificates_total{{status="{status}"}}'
    assert any(line.startswith(counted) and float(line.split()[-1]) >= 1 for line in metrics.splitlines()), \
        [line for line in metrics.splitlines() if "refused_certificates" in line]


def test_a_sent_intermediate_completes_the_chain(gw, plant):
    """The SenderCertificate may carry the chain: the leaf followed by its issuer."""
    stray = plant["leaves"]["stray"]
    # The stray CA has no CRL yet: with its certificate sent, the chain builds and stops there.
    assert opn_status(gw.port, gw.url, stray.der + plant["stray"].der) == "BadCertificateRevocationUnknown"


def test_rejected_is_a_record_and_trust_follows_the_ca(gw, plant):
    """Refused while its issuer is unknown; accepted once the issuer (and its CRL) are added,
    and its copy leaves rejected/. Revoked later: refused, and out of trusted/ again."""
    stray, pki = plant["leaves"]["stray"], gw.data_dir / "pki"
    assert opn_status(gw.port, gw.url, stray.der) == "BadCertificateChainIncomplete"
    assert any(f.read_bytes() == stray.der for f in (pki / "rejected").iterdir())
    (pki / "issuers" / "stray.der").write_bytes(plant["stray"].der)
    (pki / "crl" / "stray.crl").write_bytes(plant["stray"].crl())
    assert session_reads(gw, stray).is_good()
    assert not any(f.read_bytes() == stray.der for f in (pki / "rejected").iterdir()), "still in rejected/"

    later = plant["leaves"]["later-revoked"]
    assert session_reads(gw, later).is_good()
    inter = plant["inter"]
    inter.revoked.append(later.x509().serial_number)
    try:
        (pki / "crl" / f"{hashlib.sha1(inter.der).hexdigest()}.crl").write_bytes(inter.crl())
        assert opn_status(gw.port, gw.url, later.der) == "BadCertificateRevoked"
        session_refused(gw, later)
        assert not any(f.read_bytes() == later.der for f in (pki / "trusted").iterdir()), "a revoked one stays trusted"
    finally:
        inter.revoked.remove(later.x509().serial_number)


def test_pki_cli_adds_issuers_and_crls_and_lists_chains(plant, tmp_path):
    """`fxgate pki add-issuer`, `add-crl` and `list` (which shows each certificate's chain state)."""
    from fxgate_testlib import run_cli

    def cli(*args: str):
        r = run_cli("pki", "--data-dir", str(data), *args)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    p, data = plant, tmp_path / "data"
    pki = data / "pki"
    (pki / "trusted").mkdir(parents=True)
    (pki / "rejected").mkdir(parents=True)
    (pki / "trusted" / "plant-root.der").write_bytes(p["root"].der)
    (pki / "trusted" / "good.der").write_bytes(p["leaves"]["good"].der)
    (pki / "rejected" / "revoked.der").write_bytes(p["leaves"]["revoked"].der)
    files = {"inter.der": p["inter"].der, "root.crl": p["root"].crl(), "inter.crl": p["inter"].crl()}
    for name, data_bytes in files.items():
        (tmp_path / name).write_bytes(data_bytes)

    rc, out, err = cli("list")
    assert rc == 0, err
    assert "chain refused: BadCertificateChainIncomplete" in out, out

    rc, out, err = cli("add-issuer", str(tmp_path / "inter.der"))
    assert rc == 0 and "issuer added" in out, out + err
    rc, out, err = cli("add-issuer", str(tmp_path / "root.crl"))
    assert rc != 0 and "not a certificate" in err, err
    for crl in ("root.crl", "inter.crl"):
        rc, out, err = cli("add-crl", str(tmp_path / crl))
        assert rc == 0 and "CRL added" in out, out + err

    rc, listing, err = cli("list")
    assert rc == 0, err
    lines = listing.splitlines()

    def state_of(thumbprint: str) -> str:
        i = next(i for i, line in enumerate(lines) if thumbprint in line)
        return lines[i + 1].strip()

    assert state_of(p["leaves"]["good"].thumbprint).startswith("chain valid"), listing
    assert state_of(p["leaves"]["revoked"].thumbprint).startswith("chain refused: BadCertificateRevoked"), listing
    assert state_of(hashlib.sha1(p["root"].der).hexdigest()) == "self-signed", listing
    assert sum("  issuer    " in line for line in lines) == 1 and sum("  crl       " in line for line in lines) == 2, listing


def test_upstream_server_chains(gateway_factory, plant, client_cert, tmp_path):
    """The aggregation judges a CA-issued upstream certificate the same way (pki-client/): a
    valid chain connects, a revoked one is refused with the reason in LastError and filed."""
    from aggregation_support import Diag, upstream
    from upstream_peers import start_ua_upstream

    p = plant
    good_dir, revoked_dir = tmp_path / "up-good", tmp_path / "up-revoked"
    p["inter"].leaf(good_dir, "urn:fxgate-test:good", key_name="server_key.pem", cert_name="server_cert.der")
    revoked = p["inter"].leaf(revoked_dir, "urn:fxgate-test:bad", key_name="server_key.pem",
                              cert_name="server_cert.der")
    p["inter"].revoked.append(revoked.x509().serial_number)
    peers = [start_ua_upstream("good", cert_dir=good_dir), start_ua_upstream("bad", cert_dir=revoked_dir)]
    try:
        def setup(dd: Path) -> None:
            install(dd, p["root"], [p["inter"]], [p["root"], p["inter"]])  # the server's own store, unused here
            (dd / "pki").rename(dd / "pki-client")

        gw = gateway_factory.start({
            "server": {"accept_all_certificates": True, "anonymous_roles": ["read", "write"]},
            "upstream": [upstream(name, peer, accept_all_server_certificates=False)
                         for name, peer in zip(("good", "bad"), peers)],
        }, data_dir_setup=setup)

        async def main():
            client = await connect(gw, client_cert)
            try:
                await (await Diag.of(client, "good")).wait_connected(30)
                err = await (await Diag.of(client, "bad")).wait_error(
                    lambda e: "BadCertificateRevoked" in e, 30, "the revoked upstream refused")
                assert "pki-client" in err, err
            finally:
                await safe_disconnect(client)

        asyncio.run(main())
        pki = gw.data_dir / "pki-client"
        assert any(f.read_bytes() == revoked.der for f in (pki / "rejected").iterdir())
        assert any(f.read_bytes() == (good_dir / "server_cert.der").read_bytes() for f in (pki / "trusted").iterdir())
    finally:
        p["inter"].revoked.remove(revoked.x509().serial_number)
        for peer in peers:
            peer.stop()


def test_user_certificate_chains(gateway_factory, client_cert, tmp_path):
    """X.509 user certificates a CA issued: one held in pki-user/ whose chain validates (its CA
    among pki-user's files, the CA's CRL in pki-user/crl/) logs in; a revoked one is refused and
    filed in pki-user/rejected/; the check is made at every login, so a later revocation counts."""
    users_ca = Ca("Plant Users CA")
    alice = users_ca.leaf(tmp_path / "alice", "urn:fxgate-tests:user:alice")
    mallory = users_ca.leaf(tmp_path / "mallory", "urn:fxgate-tests:user:mallory")
    users_ca.revoked.append(mallory.x509().serial_number)

    def setup(dd: Path) -> None:
        user = dd / "pki-user"
        (user / "crl").mkdir(parents=True)
        (user / "plant-users-ca.der").write_bytes(users_ca.der)
        (user / "alice.der").write_bytes(alice.der)
        (user / "mallory.der").write_bytes(mallory.der)
        (user / "crl" / "users.crl").write_bytes(users_ca.crl())

    gw = gateway_factory.start({"server": {"anonymous": True, "anonymous_roles": ["read"],
                                           "accept_all_certificates": True}}, data_dir_setup=setup)

    async def login(user: CertPair) -> str:
        client = None
        try:
            client = await connect(gw, client_cert, user_cert=user)
            assert (await read_dv(client, "Counter")).StatusCode.is_good()
            return "Good"
        except ua.UaStatusCodeError as e:
            return ua.StatusCode(e.code).name
        finally:
            await safe_disconnect(client)

    assert asyncio.run(login(alice)) == "Good"
    assert asyncio.run(login(mallory)) == "BadIdentityTokenRejected"
    rejected = gw.data_dir / "pki-user" / "rejected"
    assert [f.read_bytes() for f in rejected.iterdir()] == [mallory.der]

    users_ca.revoked.append(alice.x509().serial_number)
    (gw.data_dir / "pki-user" / "crl" / "users.crl").write_bytes(users_ca.crl())
    assert asyncio.run(login(alice)) == "BadIdentityTokenRejected"
    assert sorted(f.read_bytes() for f in rejected.iterdir()) == sorted([mallory.der, alice.der])

    # `fxgate pki list` shows the refused user certificates as rejected, with the chain's verdict.
    from fxgate_testlib import run_cli

    r = run_cli("pki", "--data-dir", str(gw.data_dir), "list")
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().splitlines()
    for user in (alice, mallory):
        i = next(i for i, line in enumerate(lines) if user.thumbprint in line and "rejected" in line)
        assert lines[i].split()[:2] == ["user", "rejected"], lines[i]
        assert lines[i + 1].strip().startswith("chain refused: BadCertificateRevoked"), lines[i + 1]
