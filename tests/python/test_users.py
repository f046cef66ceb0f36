"""User authentication (username/password, X.509 user certificates) and write authorization."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from asyncua import ua
from cryptography.hazmat.primitives.serialization import Encoding

from fxgate_testlib import connect, hash_password, make_cert, read_dv, safe_disconnect, status_name, tag_node

REFUSED_LOGIN = {"BadIdentityTokenRejected", "BadIdentityTokenInvalid", "BadUserAccessDenied"}


@pytest.fixture(scope="module")
def hashes():
    return {"reader": hash_password("reader-pw"), "writer": hash_password("wr1ter pw!")}


def users_config(hashes, anonymous=True):
    return {
        "server": {"anonymous": anonymous},
        "users": [
            {"name": "reader", "password_hash": hashes["reader"], "roles": ["read"]},
            {"name": "writer", "password_hash": hashes["writer"], "roles": ["read", "write"]},
        ],
    }


def test_users_hash_cli_is_salted_argon2id():
    a, b = hash_password("pw"), hash_password("pw")
    assert a.startswith("$argon2id$") and b.startswith("$argon2id$")
    assert a != b, "two hashes of the same password must differ (random salt)"


async def _expect_refused(coro_factory):
    client = None
    try:
        client = await coro_factory()
    except ua.UaStatusCodeError as exc:
        return status_name(exc)
    finally:
        await safe_disconnect(client)
    raise AssertionError("login unexpectedly succeeded")


def test_username_login(gateway_factory, client_cert, hashes):
    gw = gateway_factory.start(users_config(hashes, anonymous=False))

    async def main():
        # correct password -> session that can read
        client = await connect(gw, client_cert, username="reader", password="reader-pw")
        try:
            dv = await read_dv(client, "Sine")
            assert dv.StatusCode.is_good() and isinstance(dv.Value.Value, float)
        finally:
            await safe_disconnect(client)

        # password with spaces/punctuation (hash made from stdin without newline)
        client = await connect(gw, client_cert, username="writer", password="wr1ter pw!")
        await safe_disconnect(client)

        # wrong password
        name = await _expect_refused(lambda: connect(gw, client_cert, username="reader", password="wrong"))
        assert name in REFUSED_LOGIN, f"wrong password refused with {name}"
        # unknown user
        name = await _expect_refused(lambda: connect(gw, client_cert, username="nobody", password="reader-pw"))
        assert name in REFUSED_LOGIN, f"unknown user refused with {name}"
        # anonymous refused when anonymous = false
        name = await _expect_refused(lambda: connect(gw, client_cert))
        assert name in REFUSED_LOGIN, f"anonymous refused with {name}"

    asyncio.run(main())


def test_anonymous_endpoint_tokens_follow_config(gateway_factory, client_cert, hashes):
    """With anonymous = false the endpoints must not advertise an Anonymous user token policy."""
    gw = gateway_factory.start(users_config(hashes, anonymous=False))

    async def main():
        client = await connect(gw, client_cert, username="reader", password="reader-pw")
        try:
            endpoints = await client.get_endpoints()
        finally:
            await safe_disconnect(client)
        for ep in endpoints:
            kinds = {t.TokenType for t in ep.UserIdentityTokens}
            assert ua.UserTokenType.Anonymous not in kinds, f"{ep.SecurityPolicyUri}: {kinds}"
            assert ua.UserTokenType.UserName in kinds

    asyncio.run(main())


def test_write_requires_write_role(gateway_factory, client_cert, hashes):
    gw = gateway_factory.start(users_config(hashes, anonymous=True))

    async def write(client, value):
        node = await tag_node(client, "Setpoint")
        await node.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double)))

    async def main():
        # reader: BadUserAccessDenied
        client = await connect(gw, client_cert, username="reader", password="reader-pw")
        try:
            before = (await read_dv(client, "Setpoint")).Value.Value
            with pytest.raises(ua.UaStatusCodeError) as ei:
                await write(client, 13.25)
            assert status_name(ei.value) == "BadUserAccessDenied", ei.value
            assert (await read_dv(client, "Setpoint")).Value.Value == before
        finally:
            await safe_disconnect(client)

        # anonymous (anonymous_roles = ["read"]): refused as well
        client = await connect(gw, client_cert)
        try:
            with pytest.raises(ua.UaStatusCodeError) as ei:
                await write(client, 7.0)
            assert status_name(ei.value) == "BadUserAccessDenied", ei.value
        finally:
            await safe_disconnect(client)

        # writer: accepted and read back, also by another session
        client = await connect(gw, client_cert, username="writer", password="wr1ter pw!")
        try:
            await write(client, 42.5)
            dv = await read_dv(client, "Setpoint")
            assert dv.Value.Value == 42.5 and dv.Value.VariantType == ua.VariantType.Double
            # a non-writable tag stays read-only even for a writer
            sine = await tag_node(client, "Sine")
            with pytest.raises(ua.UaStatusCodeError) as ei:
                await sine.write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
            assert status_name(ei.value) == "BadNotWritable", ei.value
        finally:
            await safe_disconnect(client)

        client = await connect(gw, client_cert)
        try:
            assert (await read_dv(client, "Setpoint")).Value.Value == 42.5
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_x509_user_certificate_login(gateway_factory, client_cert, hashes, tmp_path):
    trusted_user = make_cert(tmp_path / "user-trusted", "urn:fxgate-tests:user:alice")
    mapped_user = make_cert(tmp_path / "user-mapped", "urn:fxgate-tests:user:bob")
    stranger = make_cert(tmp_path / "user-stranger", "urn:fxgate-tests:user:mallory")

    def setup(data_dir):
        user_pki = data_dir / "pki-user"
        user_pki.mkdir(parents=True)
        shutil.copy(trusted_user.cert, user_pki / "alice.der")
        # PEM is accepted too
        (user_pki / "bob.pem").write_text(
            mapped_user.x509().public_bytes(Encoding.PEM).decode()
        )

    cfg = users_config(hashes, anonymous=False)
    cfg["users"].append(
        {
            "name": "bob",
            "password_hash": hash_password("bob-pw"),
            "roles": ["read", "write"],
            "certificate_thumbprint": mapped_user.thumbprint,
        }
    )
    gw = gateway_factory.start(cfg, data_dir_setup=setup)

    async def main():
        # trusted in pki-user/, no [[users]] entry -> certificate_roles = ["read"]
        client = await connect(gw, client_cert, user_cert=trusted_user)
        try:
            dv = await read_dv(client, "Counter")
            assert dv.StatusCode.is_good()
            node = await tag_node(client, "Setpoint")
            with pytest.raises(ua.UaStatusCodeError) as ei:
                await node.write_value(ua.DataValue(ua.Variant(1.5, ua.VariantType.Double)))
            assert status_name(ei.value) == "BadUserAccessDenied"
        finally:
            await safe_disconnect(client)

        # mapped via certificate_thumbprint to a user with write
        client = await connect(gw, client_cert, user_cert=mapped_user)
        try:
            node = await tag_node(client, "Setpoint")
            await node.write_value(ua.DataValue(ua.Variant(-3.5, ua.VariantType.Double)))
            assert (await read_dv(client, "Setpoint")).Value.Value == -3.5
        finally:
            await safe_disconnect(client)

        # not in pki-user/ -> refused
        name = await _expect_refused(lambda: connect(gw, client_cert, user_cert=stranger))
        assert name in REFUSED_LOGIN | {"BadCertificateUntrusted", "BadSecurityChecksFailed"}, name

    asyncio.run(main())
