"""TLS on lines (seed 002 "TLS - Certificates" / "TLS pre shared key") against real peers:
a pymodbus TLS device, `openssl s_server` / `openssl s_client`, Python's ssl module, and asyncua
reading the line state tags. Contract: docs/interfaces.md, "Lines and Modbus"."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time

import pytest
from pymodbus.client import ModbusTlsClient

from fxgate_testlib import free_ports
from modbus_peers import (
    ModbusExceptionResponse,
    Opc,
    PeerSet,
    RawTcpPeer,
    client_ssl_context,
    create_gateway,
    encrypt_key_openssl,
    fxgate_log,
    is_good,
    make_pki,
    mb_read_registers,
    no_panic,
    parse_register_response,
    read_registers_request,
    s_client_modbus,
    s_server,
    show,
    start_gateway,
)

PSK = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
WRONG_PSK = "0badc0de0badc0de0badc0de0badc0de"
HANDSHAKE_ERROR = re.compile(r"handshake|tls|ssl", re.I)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def peers():
    ps = PeerSet()
    yield ps
    ps.close()


def pki_files(pki) -> dict:
    """Copied next to the config file (#APPDIR#)."""
    return {"ca.pem": pki.ca, "client.pem": pki.client_cert, "client.key": pki.client_key,
            "server.pem": pki.server_cert, "server.key": pki.server_key}


CLIENT_CERT_TLS = {"partner_certificates": "#APPDIR#/ca.pem", "my_certificate": "#APPDIR#/client.pem",
                   "my_key": "#APPDIR#/client.key"}


def client_line(name: str, host: str, port: int, tls: dict, **kw) -> dict:
    return {"name": name, "mode": "client", "host": host, "port": port, "connect_timeout_ms": 2000,
            "reconnect_delay_ms": 300, "reconnect_max_ms": 1000, **kw, "tls": tls}


def modbus_device(name: str, line: str, poll_ms: int = 200, timeout_ms: int = 1000) -> dict:
    return {"name": name, "line": line, "protocol": "modbus", "unit_id": 1, "poll_ms": poll_ms,
            "timeout_ms": timeout_ms, "tags": [{"name": "V", "address": "hr:0", "type": "uint16"}]}


def plc_simulator(level: int = 1234) -> dict:
    return {"name": "Plc", "interval_ms": 100, "tags": [
        {"name": "Level", "type": "Int16", "waveform": "constant", "initial": level, "writable": True}]}


def server_map() -> list[dict]:
    return [{"name": "mbs", "line": "north", "map": [{"tag": "Plc/Level", "address": "hr:0", "type": "int16"}]}]


def run(coro):
    return asyncio.run(coro)


async def never_connected(opc: Opc, line: str, seconds: float, device: str | None = None) -> dict:
    """Samples the line (and the device's tag V) for `seconds`: never Connected, never Good."""
    end = time.monotonic() + seconds
    states = set()
    st = None
    while time.monotonic() < end:
        st = await opc.line(line)
        states.add(st["State"])
        assert st["State"] != "Connected", f"line {line} connected: {st}"
        if device:
            dv = await opc.read(device, "V")
            assert not is_good(dv), f"{device}/V Good over a refused TLS line: {show(dv)}"
        await asyncio.sleep(0.05)
    assert states, "no sample"
    return st


# ----------------------------------------------------------------------------------------------
# 1. client line with certificates
# ----------------------------------------------------------------------------------------------


def test_client_line_certificates_to_tls_device(gateway_factory, client_cert, peers, pki):
    (port,) = free_ports(1)
    dev = peers.device({"hr": {0: [4242]}}, port, name="tls-device",
                       tls={"cert": str(pki.server_cert), "key": str(pki.server_key), "ca": str(pki.ca)})
    # two partner certificates (the right CA second); a PSK as well, which certificates override
    tls = dict(CLIENT_CERT_TLS, partner_certificates="#APPDIR#/other_ca.pem, #APPDIR#/ca.pem", pre_shared_key=PSK)
    files = dict(pki_files(pki), **{"other_ca.pem": pki.other_ca})
    gw = start_gateway(gateway_factory, lines=[client_line("tlsplc", "127.0.0.1", port, tls)],
                       devices=[modbus_device("Boiler", "tlsplc")], files=files)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Boiler", "V", lambda dv: is_good(dv) and dv.Value.Value == 4242, 15,
                           "value over TLS with a client certificate")
            st = await opc.wait_line("tlsplc", lambda s: s["State"] == "Connected", 5)
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{port}", st
            dev.set("hr", 0, [4243])
            await opc.wait("Boiler", "V", lambda dv: is_good(dv) and dv.Value.Value == 4243, 5, "changed value")
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_client_line_refuses_untrusted_server_certificate(gateway_factory, client_cert, peers, pki):
    (port,) = free_ports(1)
    # the device's certificate is signed by a CA the line does not trust
    peers.device({"hr": {0: [4242]}}, port, name="rogue-device",
                 tls={"cert": str(pki.other_server_cert), "key": str(pki.other_server_key), "ca": None})
    gw = start_gateway(gateway_factory, lines=[client_line("tlsplc", "127.0.0.1", port, CLIENT_CERT_TLS)],
                       devices=[modbus_device("Boiler", "tlsplc")], files=pki_files(pki))

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await opc.wait_line("tlsplc", lambda s: s["LastError"] != "", 10, "a LastError")
            st = await never_connected(opc, "tlsplc", 3.0, device="Boiler")
            assert re.search(r"certificate|verif", st["LastError"], re.I), f"LastError names the certificate: {st}"
        finally:
            await opc.close()

    run(main())
    no_panic(gw)

    # the emergency switch: no verification, loudly logged
    tls = dict(CLIENT_CERT_TLS, disable_peer_verification=True)
    gw2 = start_gateway(gateway_factory, lines=[client_line("tlsplc", "127.0.0.1", port, tls)],
                        devices=[modbus_device("Boiler", "tlsplc")], files=pki_files(pki))

    async def main2():
        opc = await Opc.connect(gw2, client_cert)
        try:
            await opc.wait("Boiler", "V", lambda dv: is_good(dv) and dv.Value.Value == 4242, 15,
                           "value with disable_peer_verification")
        finally:
            await opc.close()

    run(main2())
    log = fxgate_log(gw2)
    assert re.search(r"(WARN|ERROR).*(verification.{0,40}disabled|disabled?.{0,40}verification)", log, re.I), \
        f"disable_peer_verification is logged loudly:\n{log}"
    no_panic(gw2)


def test_client_line_sni_and_client_certificate_seen_by_s_server(gateway_factory, client_cert, peers, pki):
    pa, pb = free_ports(2)
    common = ["-cert", str(pki.server_cert), "-key", str(pki.server_key), "-CAfile", str(pki.ca),
              "-Verify", "1", "-verify_return_error",
              # -servername makes s_server print the SNI it receives ("Hostname in TLS extension")
              "-servername", "localhost", "-cert2", str(pki.server_cert), "-key2", str(pki.server_key)]
    named = peers.add(s_server(pa, common, name="s_server(localhost)"))
    by_ip = peers.add(s_server(pb, common, name="s_server(127.0.0.1)"))
    gw = start_gateway(
        gateway_factory,
        lines=[client_line("named", "localhost", pa, CLIENT_CERT_TLS), client_line("ip", "127.0.0.1", pb, CLIENT_CERT_TLS)],
        # s_server does not speak Modbus: a long timeout keeps each TLS connection up a while
        devices=[modbus_device("NamedDev", "named", poll_ms=500, timeout_ms=4000),
                 modbus_device("IpDev", "ip", poll_ms=500, timeout_ms=4000)],
        files=pki_files(pki),
    )
    named.wait_for(r"CIPHER is", 15)
    by_ip.wait_for(r"CIPHER is", 15)
    # client certificate presented and verified against the CA
    named.wait_for(r"subject=.*fxgate-test-client", 5)
    by_ip.wait_for(r"subject=.*fxgate-test-client", 5)
    # SNI: the name for a line configured with a name, none for an IP address
    named.wait_for(r'Hostname in TLS extension: "localhost"', 5)
    assert "Hostname in TLS extension" not in by_ip.text, by_ip.text

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            # the handshake completed, so the line counts as connected until Modbus times out
            await opc.wait_line("named", lambda s: s["State"] == "Connected", 10)
            await opc.wait_line("ip", lambda s: s["State"] == "Connected", 10)
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_client_line_cipher_list(gateway_factory, client_cert, peers, pki):
    (port,) = free_ports(1)
    srv = peers.add(s_server(port, ["-cert", str(pki.server_cert), "-key", str(pki.server_key), "-tls1_2"],
                             name="s_server(tls1.2)"))
    tls = {"partner_certificates": "#APPDIR#/ca.pem", "ciphers": "ECDHE-RSA-AES128-GCM-SHA256"}
    gw = start_gateway(gateway_factory, lines=[client_line("c", "127.0.0.1", port, tls)],
                       devices=[modbus_device("Dev", "c", poll_ms=500, timeout_ms=4000)], files=pki_files(pki))
    m = srv.wait_for(r"CIPHER is (\S+)", 15)
    assert m.group(1) == "ECDHE-RSA-AES128-GCM-SHA256", srv.text
    shared = srv.wait_for(r"Shared ciphers:(\S+)", 5).group(1)
    # TLS 1.3 suites (TLS_*) are not governed by the cipher list; of the TLS <= 1.2 ones only ours
    tls12 = [c for c in shared.split(":") if not c.startswith("TLS_")]
    assert tls12 == ["ECDHE-RSA-AES128-GCM-SHA256"], f"the line offered only its cipher list: {shared}"
    no_panic(gw)


def test_tls_handshake_counts_against_connect_timeout(gateway_factory, client_cert, peers, pki):
    """connect_timeout_ms covers "TCP connect + TLS handshake": a peer that accepts the TCP
    connection but never answers the ClientHello must not hold the line."""
    peer = peers.add(RawTcpPeer("silent"))
    gw = start_gateway(gateway_factory,
                       lines=[client_line("mute", "127.0.0.1", peer.port, CLIENT_CERT_TLS, connect_timeout_ms=500)],
                       devices=[modbus_device("Dev", "mute")], files=pki_files(pki))

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            t0 = time.monotonic()
            st = await opc.wait_line("mute", lambda s: s["LastError"] != "", 10, "a LastError")
            assert HANDSHAKE_ERROR.search(st["LastError"]), st
            while peer.connections < 3 and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.1)
            assert peer.connections >= 3, f"the line gave up or hangs: {peer.connections} connections in 10 s"
            await never_connected(opc, "mute", 1.0, device="Dev")
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 2. client line with a pre-shared key
# ----------------------------------------------------------------------------------------------


def test_psk_client_line_connects(gateway_factory, client_cert, peers):
    (port,) = free_ports(1)
    srv = peers.add(s_server(port, ["-nocert", "-psk", PSK, "-psk_identity", "fxgate"], name="s_server(psk)"))
    gw = start_gateway(gateway_factory,
                       lines=[client_line("psk", "127.0.0.1", port, {"pre_shared_key": PSK, "psk_identity": "fxgate"})],
                       devices=[modbus_device("Dev", "psk", poll_ms=500, timeout_ms=4000)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await opc.wait_line("psk", lambda s: s["State"] == "Connected", 10, "Connected over PSK")
            assert st["ActiveDevice"] == f"primary 127.0.0.1:{port}", st
        finally:
            await opc.close()

    run(main())
    # s_server saw a completed PSK handshake with the expected identity (a wrong one fails it)
    m = srv.wait_for(r"CIPHER is (\S+)", 5)
    assert "PSK" in m.group(1) or m.group(1).startswith("TLS_"), m.group(0)
    assert not re.search(r"alert|handshake failure|bad record mac", srv.text, re.I), srv.text
    no_panic(gw)


def test_psk_client_line_wrong_key_is_refused(gateway_factory, client_cert, peers):
    (port,) = free_ports(1)
    srv = peers.add(s_server(port, ["-nocert", "-psk", WRONG_PSK, "-psk_identity", "fxgate"], name="s_server(psk)"))
    gw = start_gateway(gateway_factory,
                       lines=[client_line("psk", "127.0.0.1", port, {"pre_shared_key": PSK, "psk_identity": "fxgate"})],
                       devices=[modbus_device("Dev", "psk", poll_ms=500, timeout_ms=4000)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("psk", lambda s: s["LastError"] != "", 10, "a LastError")
            st = await never_connected(opc, "psk", 3.0, device="Dev")
            assert HANDSHAKE_ERROR.search(st["LastError"]), f"LastError names the TLS handshake: {st}"
            assert st["ReconnectCount"] >= 1, st
        finally:
            await opc.close()

    run(main())
    assert "CIPHER is" not in srv.text, srv.text
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 3. server line with TLS
# ----------------------------------------------------------------------------------------------


def test_tls_server_line_with_psk(gateway_factory):
    (port,) = free_ports(1)
    gw = start_gateway(
        gateway_factory, {"simulator": [plc_simulator(1234)]},
        lines=[{"name": "north", "mode": "server", "host": "127.0.0.1", "port": port,
                "tls": {"pre_shared_key": PSK, "psk_identity": "fxgate"}}],
        modbus_servers=server_map(),
    )
    request = read_registers_request(0, 1, tid=7)
    for version in ([], ["-tls1_2"]):
        data, rc, err = s_client_modbus(port, request, ["-psk", PSK, "-psk_identity", "fxgate", *version])
        assert data, f"no Modbus answer over PSK TLS {version or 'default'} (rc {rc}): {err}"
        assert parse_register_response(data, 1) == [1234], data
        assert data[:2] == b"\x00\x07"
    for args, what in ((["-psk", WRONG_PSK, "-psk_identity", "fxgate"], "wrong key"),
                       (["-psk", PSK, "-psk_identity", "intruder"], "wrong identity"),
                       (["-psk", WRONG_PSK, "-psk_identity", "fxgate", "-tls1_2"], "wrong key, TLS 1.2")):
        data, rc, err = s_client_modbus(port, request, args, timeout=4)
        assert data == b"", f"{what}: got an answer {data!r}"
        assert rc not in (None, 0) or re.search(r"alert|error", err, re.I), f"{what}: s_client rc {rc}: {err}"
    # plain TCP is not answered either
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(request)
        s.settimeout(3)
        try:
            reply = s.recv(100)
        except (socket.timeout, ConnectionError):
            reply = b""
        assert not reply.startswith(b"\x00\x07\x00\x00"), f"plain Modbus answered on a TLS line: {reply!r}"
    assert gw.proc.poll() is None
    no_panic(gw)


def test_tls_server_line_psk_any_identity(gateway_factory):
    (port,) = free_ports(1)
    gw = start_gateway(
        gateway_factory, {"simulator": [plc_simulator(99)]},
        lines=[{"name": "north", "mode": "server", "host": "127.0.0.1", "port": port,
                "tls": {"pre_shared_key": PSK, "psk_identity": ""}}],
        modbus_servers=server_map(),
    )
    for identity in ("fxgate", "somebody-else"):
        data, rc, err = s_client_modbus(port, read_registers_request(0, 1), ["-psk", PSK, "-psk_identity", identity])
        assert data and parse_register_response(data, 1) == [99], f"identity {identity!r}: rc {rc}: {err}"
    data, rc, err = s_client_modbus(port, read_registers_request(0, 1), ["-psk", WRONG_PSK, "-psk_identity", "x"],
                                    timeout=4)
    assert data == b"", data
    no_panic(gw)


def _tls_modbus_read(port: int, ctx: ssl.SSLContext) -> list[int]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            return mb_read_registers(s, 0, 1)


def test_tls_server_line_with_certificates(gateway_factory, client_cert, pki):
    (port,) = free_ports(1)
    gw = start_gateway(
        gateway_factory, {"simulator": [plc_simulator(1234)]},
        lines=[{"name": "north", "mode": "server", "host": "127.0.0.1", "port": port,
                "tls": {"my_certificate": "#APPDIR#/server.pem", "my_key": "#APPDIR#/server.key",
                        "partner_certificates": "#APPDIR#/ca.pem"}}],
        modbus_servers=server_map(), files=pki_files(pki),
    )
    # pymodbus TLS client with a client certificate of the trusted CA (and verifying the server)
    client = ModbusTlsClient("127.0.0.1", port=port, sslctx=client_ssl_context(pki, pki.client_cert, pki.client_key),
                             timeout=5, retries=0)
    try:
        assert client.connect(), "TLS connect with a trusted client certificate"
        r = client.read_holding_registers(0, count=1, device_id=1)
        assert not r.isError() and r.registers == [1234], r

        async def state():
            opc = await Opc.connect(gw, client_cert)
            try:
                st = await opc.wait_line("north", lambda s: s["State"] == "Connected", 5)
                assert "127.0.0.1" in st["ActiveDevice"], st
            finally:
                await opc.close()

        run(state())
    finally:
        client.close()
    assert _tls_modbus_read(port, client_ssl_context(pki, pki.client_cert, pki.client_key)) == [1234]

    # no client certificate / one of an untrusted CA: refused (during the handshake or on the
    # first read, TLS 1.3 reports a refused client certificate after the client's handshake)
    for what, ctx in (("no client certificate", client_ssl_context(pki)),
                      ("untrusted client certificate",
                       client_ssl_context(pki, pki.other_client_cert, pki.other_client_key))):
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)) as ei:
            _tls_modbus_read(port, ctx)
        assert not isinstance(ei.value, ModbusExceptionResponse), f"{what}: {ei.value!r}"
    assert gw.proc.poll() is None
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# 4. encrypted private key
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_format", ["pkcs8", "traditional"])
def test_encrypted_key_with_password(gateway_factory, client_cert, peers, pki, tmp_path, key_format):
    (port,) = free_ports(1)
    protected = encrypt_key_openssl(pki.client_key, tmp_path / "client_protected.key", "s3cret pw",
                                    traditional=key_format == "traditional")
    head = protected.read_text()
    assert ("ENCRYPTED" in head.splitlines()[0]) or ("Proc-Type: 4,ENCRYPTED" in head), head[:200]
    peers.device({"hr": {0: [777]}}, port, name="tls-device",
                 tls={"cert": str(pki.server_cert), "key": str(pki.server_key), "ca": str(pki.ca)})
    tls = {"partner_certificates": "#APPDIR#/ca.pem", "my_certificate": "#APPDIR#/client.pem",
           "my_key": "#APPDIR#/client_protected.key", "my_key_password": "s3cret pw"}
    files = dict(pki_files(pki), **{"client_protected.key": protected})
    gw = start_gateway(gateway_factory, lines=[client_line("tlsplc", "127.0.0.1", port, tls)],
                       devices=[modbus_device("Boiler", "tlsplc")], files=files)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait("Boiler", "V", lambda dv: is_good(dv) and dv.Value.Value == 777, 15,
                           "value with the encrypted key")
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_encrypted_key_with_wrong_password_never_connects(gateway_factory, client_cert, peers, pki, tmp_path):
    (port,) = free_ports(1)
    protected = encrypt_key_openssl(pki.client_key, tmp_path / "client_protected.key", "s3cret pw")
    peers.device({"hr": {0: [777]}}, port, name="tls-device",
                 tls={"cert": str(pki.server_cert), "key": str(pki.server_key), "ca": str(pki.ca)})
    tls = {"partner_certificates": "#APPDIR#/ca.pem", "my_certificate": "#APPDIR#/client.pem",
           "my_key": "#APPDIR#/client_protected.key", "my_key_password": "not the password"}
    files = dict(pki_files(pki), **{"client_protected.key": protected})
    gw = create_gateway(gateway_factory, lines=[client_line("tlsplc", "127.0.0.1", port, tls)],
                        devices=[modbus_device("Boiler", "tlsplc")], files=files)
    try:
        gw.start(timeout=30)
    except RuntimeError as e:
        # refusing to start is fine, if it says why
        assert gw.proc.poll() not in (None, 0), str(e)
        assert re.search(r"my_key|\bkey\b", fxgate_log(gw), re.I), fxgate_log(gw)
        return

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await opc.wait_line("tlsplc", lambda s: s["LastError"] != "" or s["State"] == "Stopped", 10,
                                     "the key problem reported")
            st = await never_connected(opc, "tlsplc", 2.0, device="Boiler")
            assert re.search(r"key|password", st["LastError"], re.I), st
        finally:
            await opc.close()

    run(main())
    no_panic(gw)
