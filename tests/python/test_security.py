"""Security policies, GetEndpoints and the application-certificate trust list."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from asyncua import Client, ua
from cryptography import x509

from fxgate_testlib import (
    DEPRECATED_POLICIES,
    NONE_POLICY_URI,
    POLICY_URI_PREFIX,
    SECURE_POLICIES,
    connect,
    read_dv,
    run_cli,
    safe_disconnect,
    status_name,
)

MODES = ["Sign", "SignAndEncrypt"]


def _endpoint_set(endpoints) -> set[tuple[str, str]]:
    return {(ep.SecurityPolicyUri.removeprefix(POLICY_URI_PREFIX), ep.SecurityMode.name) for ep in endpoints}


async def _get_endpoints(url: str):
    return await Client(url, timeout=10).connect_and_get_server_endpoints()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("policy", list(SECURE_POLICIES))
def test_connect_each_secure_policy(shared_gateway, client_cert, policy, mode):
    async def main():
        client = await connect(shared_gateway, client_cert, policy=policy, mode=mode)
        try:
            assert client.security_policy.URI == POLICY_URI_PREFIX + policy
            assert client.security_policy.Mode == getattr(ua.MessageSecurityMode, mode)
            dv = await read_dv(client, "Sine")
            assert dv.StatusCode.is_good()
            assert isinstance(dv.Value.Value, float)
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_get_endpoints_default(shared_gateway):
    endpoints = asyncio.run(_get_endpoints(shared_gateway.url))
    got = _endpoint_set(endpoints)
    expected = {(p, m) for p in SECURE_POLICIES for m in MODES}
    assert expected <= got, f"missing endpoints {expected - got}; got {sorted(got)}"
    policies = {p for p, _ in got}
    assert "None" not in policies, f"None endpoint offered although allow_none = false: {sorted(got)}"
    for dep in DEPRECATED_POLICIES:
        assert dep not in policies, f"{dep} offered although allow_deprecated = false: {sorted(got)}"
    for ep in endpoints:
        assert ep.ServerCertificate, f"endpoint {ep.SecurityPolicyUri} has no server certificate"
        assert ep.EndpointUrl.endswith(f":{shared_gateway.port}/"), ep.EndpointUrl
        assert ep.SecurityMode != ua.MessageSecurityMode.None_
    # All endpoints carry the same (the gateway's own) certificate, the one in pki/own/cert.der.
    own = (shared_gateway.data_dir / "pki" / "own" / "cert.der").read_bytes()
    assert {bytes(ep.ServerCertificate) for ep in endpoints} == {own}
    # ApplicationUri urn:<hostname>:fxgate, also the certificate's SubjectAltName URI (Part 6 §6.2.2)
    app_uri = f"urn:{socket.gethostname()}:fxgate"
    for ep in endpoints:
        assert ep.Server.ApplicationUri == app_uri, ep.Server.ApplicationUri
        assert ep.Server.ApplicationType == ua.ApplicationType.Server
        # anonymous = true by default
        assert ua.UserTokenType.Anonymous in {t.TokenType for t in ep.UserIdentityTokens}
    san = x509.load_der_x509_certificate(own).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert app_uri in san.value.get_values_for_type(x509.UniformResourceIdentifier)
    # SignAndEncrypt ranks above Sign for the same policy
    level = {(ep.SecurityPolicyUri, ep.SecurityMode): ep.SecurityLevel for ep in endpoints}
    for p in SECURE_POLICIES:
        uri = POLICY_URI_PREFIX + p
        assert level[(uri, ua.MessageSecurityMode.SignAndEncrypt)] > level[(uri, ua.MessageSecurityMode.Sign)]


def test_get_endpoints_allow_none(gateway_factory):
    gw = gateway_factory.start({"server": {"allow_none": True}})
    endpoints = asyncio.run(_get_endpoints(gw.url))
    got = _endpoint_set(endpoints)
    assert ("None", "None_") in got, f"allow_none = true but no None endpoint: {sorted(got)}"
    assert {(p, m) for p in SECURE_POLICIES for m in MODES} <= got
    for dep in DEPRECATED_POLICIES:
        assert dep not in {p for p, _ in got}

    async def read_over_none():
        client = await connect(gw, None, policy=None)
        try:
            assert client.security_policy.URI == NONE_POLICY_URI
            dv = await read_dv(client, "Counter")
            assert dv.StatusCode.is_good() and dv.Value.VariantType == ua.VariantType.UInt32
        finally:
            await safe_disconnect(client)

    asyncio.run(read_over_none())


def test_get_endpoints_allow_deprecated(gateway_factory, client_cert):
    gw = gateway_factory.start({"server": {"allow_deprecated": True}})
    endpoints = asyncio.run(_get_endpoints(gw.url))
    got = _endpoint_set(endpoints)
    for dep in DEPRECATED_POLICIES:
        for mode in MODES:
            assert (dep, mode) in got, f"allow_deprecated = true but no {dep}/{mode} endpoint: {sorted(got)}"
    assert "None" not in {p for p, _ in got}

    async def read_over(policy):
        client = await connect(gw, client_cert, policy=policy, mode="SignAndEncrypt")
        try:
            assert client.security_policy.URI == POLICY_URI_PREFIX + policy
            dv = await read_dv(client, "Sine")
            assert dv.StatusCode.is_good()
        finally:
            await safe_disconnect(client)

    for dep in DEPRECATED_POLICIES:
        asyncio.run(read_over(dep))


def _files_with(directory, thumbprint: str) -> list:
    if not directory.is_dir():
        return []
    return [p for p in directory.iterdir() if thumbprint in p.name.lower()]


def test_untrusted_certificate_rejected_then_trusted_via_cli(gateway_factory, fresh_client_cert):
    gw = gateway_factory.start({"server": {"accept_all_certificates": False}})
    thumb = fresh_client_cert.thumbprint
    prefix = thumb[:8]
    pki = gw.data_dir / "pki"

    async def attempt():
        client = None
        try:
            client = await connect(gw, fresh_client_cert)
            return await read_dv(client, "Sine")
        finally:
            await safe_disconnect(client)

    # 1. the unknown certificate is refused ...
    with pytest.raises(Exception) as excinfo:
        asyncio.run(attempt())
    err = excinfo.value
    name = status_name(err)
    # (async-opcua refuses it at CreateSession with BadCertificateUntrusted; a refusal at
    # OpenSecureChannel would be BadSecurityChecksFailed)
    assert name in {"BadCertificateUntrusted", "BadSecurityChecksFailed"}, (
        f"unexpected failure for an untrusted certificate: {type(err).__name__}: {err}"
    )

    # 2. ... and lands in pki/rejected/ as "<CN> [<thumbprint>].der"
    deadline = time.monotonic() + 10
    while not _files_with(pki / "rejected", thumb) and time.monotonic() < deadline:
        time.sleep(0.2)
    rejected = _files_with(pki / "rejected", thumb)
    assert rejected, f"no file with thumbprint {thumb} in {pki / 'rejected'}: {list((pki / 'rejected').iterdir())}"
    assert rejected[0].read_bytes() == fresh_client_cert.der or rejected[0].suffix != ".der"

    # 3. `pki list` shows it
    res = run_cli("pki", "list", "--data-dir", str(gw.data_dir))
    out = res.stdout.decode() + res.stderr.decode()
    assert res.returncode == 0, out
    assert prefix in out.lower(), f"`pki list` does not show {prefix}:\n{out}"

    # 4. `pki trust <prefix>` moves it to trusted/
    res = run_cli("pki", "trust", prefix, "--data-dir", str(gw.data_dir))
    assert res.returncode == 0, res.stderr.decode()
    assert _files_with(pki / "trusted", thumb), f"trusted/ has no {thumb}: {list((pki / 'trusted').iterdir())}"
    assert not _files_with(pki / "rejected", thumb), "certificate still in rejected/ after `pki trust`"

    # 5. the next connect succeeds. No restart: the running gateway must pick up the trust-list
    #    change made by the CLI (async-opcua looks the certificate up in trusted/ on each
    #    CreateSession). Verified against the gateway: no restart is needed.
    dv = asyncio.run(attempt())
    assert dv.StatusCode.is_good()
    assert gw.proc.poll() is None and gw.starts == 1

    # 6. `pki reject <prefix>` revokes it again.
    res = run_cli("pki", "reject", prefix, "--data-dir", str(gw.data_dir))
    assert res.returncode == 0, res.stderr.decode()
    assert _files_with(pki / "rejected", thumb) and not _files_with(pki / "trusted", thumb)
    with pytest.raises(Exception):
        asyncio.run(attempt())


def test_pki_trust_unknown_prefix_fails(gateway_factory):
    gw = gateway_factory.start()
    res = run_cli("pki", "trust", "deadbeef", "--data-dir", str(gw.data_dir))
    assert res.returncode != 0, "trusting a thumbprint prefix that matches nothing must fail"
    assert "deadbeef" in (res.stderr.decode() + res.stdout.decode()).lower()
