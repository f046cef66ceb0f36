"""HTTPS on the HTTP listener ([http] tls): with the gateway's application certificate (the default)
or a configured one; /healthz, /metrics, the DA item API with HTTP Basic and its WebSocket group
(wss://) over TLS; plain HTTP refused on that port; plain HTTP beyond loopback refused by the
configuration unless allow_plain says so. Clients: Python's ssl/urllib (the server certificate
verified, host name included), `websockets`, and the openssl CLI."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from fxgate_testlib import free_ports, run_cli
from modbus_peers import fxgate_log, make_pki, no_panic
from test_da_api import WRITER_PW, hashes, ids, tags_ns_index, users_config  # noqa: F401 - hashes: a fixture


def https_base(gw) -> str:
    return f"https://localhost:{gw.http_port}"


def trusting(cert_pem: bytes | str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=cert_pem.decode() if isinstance(cert_pem, bytes) else cert_pem)
    ctx.check_hostname = True
    return ctx


def app_cert_context(gw) -> ssl.SSLContext:
    der = (gw.data_dir / "pki" / "own" / "cert.der").read_bytes()
    return trusting(ssl.DER_cert_to_PEM_cert(der))


def request(url: str, ctx: ssl.SSLContext, method: str = "GET", body=None, auth=None):
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=15, context=ctx) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_https_with_the_application_certificate(gateway_factory, client_cert, hashes):  # noqa: F811
    gw = gateway_factory.start({**users_config(hashes), "http": {"listen": f"127.0.0.1:{free_ports(1)[0]}", "tls": True}})
    ctx = app_cert_context(gw)
    status, body = request(https_base(gw) + "/healthz", ctx)
    assert (status, body) == (200, "ok\n")
    status, body = request(https_base(gw) + "/metrics", ctx)
    assert status == 200 and "fxgate_tags" in body

    # The TLS session: 1.2 or 1.3, the application certificate presented.
    with socket.create_connection(("127.0.0.1", gw.http_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3"), tls.version()
            assert tls.getpeercert(binary_form=True) == (gw.data_dir / "pki" / "own" / "cert.der").read_bytes()

    # The DA API with HTTP Basic, now encrypted: a write with the writer's rights.
    i = ids(tags_ns_index(gw, client_cert))
    status, body = request(https_base(gw) + "/da/write", ctx, "POST", {"items": [{"item_id": i["Setpoint"], "value": 12.5}]},
                           auth=("writer", WRITER_PW))
    assert status == 200 and json.loads(body)["results"][0]["error"] == "S_OK", body

    # The DA group over wss:// (an upgraded connection through the TLS loop).
    import websockets

    async def group():
        url = f"wss://localhost:{gw.http_port}/da/subscribe"
        async with websockets.connect(url, ssl=ctx) as ws:
            await ws.send(json.dumps({"items": [i["Sine"]], "update_rate_ms": 200}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            data = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return first, data

    first, data = asyncio.run(group())
    assert first["type"] == "group" and first["items"][0]["error"] == "S_OK", first
    assert data["type"] == "data" and data["item_id"] == i["Sine"] and data["quality"] == 192, data

    # Plain HTTP on the HTTPS port gets no HTTP answer.
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.http_port}/healthz", timeout=5) as resp:
            raise AssertionError(f"plain HTTP answered {resp.status}")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        # A reset, an EOF, or a TLS alert that is no status line: anything but an HTTP answer.
        assert not isinstance(exc, urllib.error.HTTPError), exc
    # A client that does not trust the certificate is refused by its own check.
    try:
        request(https_base(gw) + "/healthz", ssl.create_default_context())
        raise AssertionError("an untrusted self-signed certificate was accepted")
    except urllib.error.URLError as exc:
        assert isinstance(exc.reason, ssl.SSLCertVerificationError), exc
    assert "HTTPS listener for /healthz, /metrics and /da" in fxgate_log(gw)
    no_panic(gw)


def test_https_with_a_configured_certificate_and_openssl(gateway_factory, tmp_path):
    pki = make_pki(tmp_path / "pki")
    port, = free_ports(1)
    gw = gateway_factory.create({"http": {"listen": f"127.0.0.1:{port}", "tls": True,
                                          "certificate": "https.pem", "private_key": "https.key"}})
    gw.config_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(pki.server_cert, gw.config_path.parent / "https.pem")
    shutil.copy(pki.server_key, gw.config_path.parent / "https.key")
    gw.start()
    status, _ = request(https_base(gw) + "/healthz", trusting(Path(pki.ca).read_text()))
    assert status == 200
    # openssl s_client verifies the chain to the test CA and the host name.
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                          "-verify_hostname", "localhost", "-CAfile", str(pki.ca), "-verify_return_error", "-brief", "-ign_eof"],
                         input=b"GET /healthz HTTP/1.0\r\n\r\n", capture_output=True, timeout=20)
    text = out.stdout.decode(errors="replace") + out.stderr.decode(errors="replace")
    answer = out.stdout.decode(errors="replace")
    assert out.returncode == 0 and "Verification: OK" in text, text
    assert answer.startswith("HTTP/1.") and " 200 " in answer.splitlines()[0] and answer.endswith("\r\n\r\nok\n"), answer
    # TLS 1.1 and older are not offered.
    old = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_1", "-brief"],
                         input=b"", capture_output=True, timeout=20)
    assert old.returncode != 0, old.stdout.decode(errors="replace")
    assert "https.pem" in fxgate_log(gw)
    no_panic(gw)


def test_plain_http_beyond_loopback_needs_allow_plain(gateway_factory, tmp_path):
    port, = free_ports(1)
    gw = gateway_factory.create({"http": {"listen": f"0.0.0.0:{port}"}})
    gw.write_config()
    res = run_cli("check-config", str(gw.config_path))
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert "field `http.listen`" in err and "http.tls = true" in err, err
    # allowed explicitly: it starts, and says what it means.
    gw2 = gateway_factory.start({"http": {"listen": f"0.0.0.0:{free_ports(1)[0]}", "allow_plain": True}})
    assert "plain HTTP listener beyond loopback" in fxgate_log(gw2)
    # certificate without tls, and a key without its certificate
    gw3 = gateway_factory.create({"http": {"listen": f"127.0.0.1:{port}", "private_key": "k.pem"}})
    gw3.write_config()
    res = run_cli("check-config", str(gw3.config_path))
    err = res.stderr.decode()
    assert res.returncode == 2 and "field `http.private_key`: applies with http.tls = true" in err, err
    assert "field `http.certificate`: needed with http.private_key" in err, err
