"""The configurator's Certificates page with real HTTP requests (and one real browser): the issuer
column; a certificate uploaded as PEM or DER (made with `openssl req -x509`) is trusted and an OPC UA
client using it connects; garbage, a CRL sent as a certificate and an oversized file are refused with a
clear message and write nothing; a CRL made with `openssl ca -gencrl` is stored and listed with its
issuer and revoked count, with the note of where CRLs are checked (issue 18);
delete of a certificate (gone from the list and the disk; the client is refused again) and of a CRL;
CSRF, roles and thumbprint checks; no private key in any answer."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from configurator_support import post_json
from fxgate_testlib import CertPair, read_value, status_name
from modbus_peers import fxgate_log, no_panic
from test_configurator import READER_PW, WRITER_PW, Browser, hashes  # noqa: F401 (hashes: a fixture)
from test_configurator_browser import browser, login, wait  # noqa: F401 (browser: a fixture)

UPLOAD = "/ui/api/certificates/upload"
CA_SUBJECT = "CN=Test CA,O=fxgate tests,C=DE"


def gateway(gateway_factory, hashes):  # noqa: F811
    """Certificates are checked (accept_all_certificates off); `admin` configures, `reader` reads."""
    return gateway_factory.start({"server": {"accept_all_certificates": False},
                                  "users": [{"name": "admin", "password_hash": hashes["writer"], "roles": ["read", "configure"]},
                                            {"name": "reader", "password_hash": hashes["reader"], "roles": ["read"]}]})


def session(gw, user: str, password: str) -> tuple[Browser, str]:
    b = Browser(gw.http_port)
    assert b.login(user, password)[0] == 303
    return b, b.csrf()


def openssl(*args, cwd: Path | None = None) -> None:
    res = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True)
    assert res.returncode == 0, f"openssl {' '.join(map(str, args))}: {res.stderr.decode()}"


def openssl_client_cert(directory: Path, cn: str) -> tuple[CertPair, bytes]:
    """An RSA-2048 OPC UA client certificate made with `openssl req -x509`: (the pair with its DER
    file, the PEM bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    app_uri = f"urn:fxgate-tests:{cn.replace(' ', '-')}"
    key, pem, der = directory / "key.pem", directory / "cert.pem", directory / "cert.der"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30", "-keyout", key, "-out", pem,
            "-subj", f"/O=fxgate tests/CN={cn}",
            "-addext", f"subjectAltName=URI:{app_uri},DNS:{socket.gethostname()}",
            "-addext", "keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment",
            "-addext", "extendedKeyUsage=clientAuth,serverAuth")
    openssl("x509", "-in", pem, "-outform", "DER", "-out", der)
    return CertPair(cert=der, key=key, app_uri=app_uri), pem.read_bytes()


def openssl_crl(directory: Path) -> tuple[bytes, bytes]:
    """A CA (`C=DE, O=fxgate tests, CN=Test CA`) that issues two certificates, revokes both with
    `openssl ca -revoke` and writes its CRL with `openssl ca -gencrl`: (PEM, DER)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.txt").write_text("")
    (directory / "crlnumber").write_text("01\n")
    (directory / "ca.cnf").write_text(
        "[ca]\ndefault_ca = CA_default\n[CA_default]\n"
        f"database = {directory}/index.txt\ncertificate = {directory}/ca.pem\nprivate_key = {directory}/ca.key\n"
        f"crlnumber = {directory}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout", "ca.key", "-out", "ca.pem",
            "-subj", "/C=DE/O=fxgate tests/CN=Test CA", cwd=directory)
    for serial in ("1001", "1002"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{serial}.key", "-out", f"{serial}.csr",
                "-subj", f"/CN=device {serial}", cwd=directory)
        openssl("x509", "-req", "-in", f"{serial}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", f"0x{serial}",
                "-days", "30", "-out", f"{serial}.pem", cwd=directory)
        openssl("ca", "-config", "ca.cnf", "-revoke", f"{serial}.pem", cwd=directory)
    openssl("ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem", cwd=directory)
    openssl("crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der", cwd=directory)
    return (directory / "crl.pem").read_bytes(), (directory / "crl.der").read_bytes()


def upload(b: Browser, body: bytes, store: str, kind: str, csrf: str | None):
    h = {"Content-Type": "application/octet-stream"}
    if csrf is not None:
        h["x-csrf-token"] = csrf
    status, _, data = b.request("POST", f"{UPLOAD}?store={store}&kind={kind}", body, h)
    return status, json.loads(data)


def listing(b: Browser) -> dict:
    status, _, text = b.request("GET", "/ui/api/certificates")
    assert status == 200, text
    assert "private" not in text and "PRIVATE KEY" not in text, "no answer names or holds a private key"
    return json.loads(text)


def cert_rows(b: Browser, thumbprint: str) -> list[dict]:
    return [c for c in listing(b)["certificates"] if c["thumbprint"] == thumbprint]


def store_files(gw) -> dict[str, bytes]:
    """Every file below the certificate stores, with its bytes (the private key's only by name)."""
    out = {}
    for pki in ("pki", "pki-client", "pki-user"):
        for p in sorted((gw.data_dir / pki).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(gw.data_dir))] = b"" if "private" in p.parts else p.read_bytes()
    return out


def test_uploaded_certificates_are_trusted_and_deleted_ones_refused(gateway_factory, hashes, tmp_path):  # noqa: F811
    gw = gateway(gateway_factory, hashes)
    admin, csrf = session(gw, "admin", WRITER_PW)
    pem_client, pem_bytes = openssl_client_cert(tmp_path / "pem", "pem client")
    der_client, _ = openssl_client_cert(tmp_path / "der", "der client")

    # Unknown: refused, and filed in rejected/ by the server.
    with pytest.raises(Exception) as refused:
        read_value(gw, pem_client, "Sine")
    assert status_name(refused.value) in {"BadCertificateUntrusted", "BadSecurityChecksFailed"}, refused.value
    assert [r["state"] for r in cert_rows(admin, pem_client.thumbprint)] == ["rejected"]

    # The PEM upload trusts it (the rejected copy goes) and the client connects.
    status, r = upload(admin, pem_bytes, "server", "certificate", csrf)
    assert status == 200 and r["ok"] and r["thumbprint"] == pem_client.thumbprint, r
    assert r["message"] == f"CN=pem client,O=fxgate tests trusted in pki/ ({pem_client.thumbprint})"
    rows = cert_rows(admin, pem_client.thumbprint)
    assert [(x["store"], x["state"]) for x in rows] == [("server", "trusted")], rows
    assert rows[0]["issuer"] == rows[0]["subject"] == "CN=pem client,O=fxgate tests", rows
    stored = gw.data_dir / "pki" / "trusted" / f"CN=pem client [{pem_client.thumbprint}].der"
    assert rows[0]["file"] == stored.name and stored.read_bytes() == pem_client.der, "stored as DER under async-opcua's name"
    assert list((gw.data_dir / "pki" / "rejected").iterdir()) == []
    assert isinstance(read_value(gw, pem_client, "Sine"), float)

    # The DER upload: trusted without ever being seen, and the client connects.
    status, r = upload(admin, der_client.der, "server", "certificate", csrf)
    assert status == 200 and r["ok"], r
    assert [(x["state"], x["issuer"]) for x in cert_rows(admin, der_client.thumbprint)] == [("trusted", "CN=der client,O=fxgate tests")]
    assert isinstance(read_value(gw, der_client, "Sine"), float)

    # Delete: gone from the list and the disk; the client is refused again.
    der_file = gw.data_dir / "pki" / "trusted" / f"CN=der client [{der_client.thumbprint}].der"
    assert der_file.exists()
    status, r = post_json(admin, "/ui/api/certificates/delete", {"thumbprint": der_client.thumbprint.upper(), "store": "server"}, csrf)
    assert status == 200 and r["ok"] and r["files"] == [der_file.name], r
    assert r["message"] == f"certificate {der_client.thumbprint} deleted"
    assert cert_rows(admin, der_client.thumbprint) == [] and not der_file.exists()
    with pytest.raises(Exception) as refused:
        read_value(gw, der_client, "Sine")
    assert status_name(refused.value) in {"BadCertificateUntrusted", "BadSecurityChecksFailed"}, refused.value
    assert isinstance(read_value(gw, pem_client, "Sine"), float), "the other one is still trusted"
    # The refused client was filed in rejected/ again: a delete (of any store) removes that copy too,
    # and then nothing of that thumbprint is left.
    assert [x["state"] for x in cert_rows(admin, der_client.thumbprint)] == ["rejected"]
    assert post_json(admin, "/ui/api/certificates/delete", {"thumbprint": der_client.thumbprint}, csrf)[0] == 200
    assert cert_rows(admin, der_client.thumbprint) == []
    status, r = post_json(admin, "/ui/api/certificates/delete", {"thumbprint": der_client.thumbprint}, csrf)
    assert status == 404 and not r["ok"], r

    # A user certificate goes to pki-user/.
    status, r = upload(admin, pem_bytes, "user", "certificate", csrf)
    assert status == 200 and (gw.data_dir / "pki-user" / stored.name).read_bytes() == pem_client.der, r
    assert {x["store"] for x in cert_rows(admin, pem_client.thumbprint)} == {"server", "user"}

    log = fxgate_log(gw)
    assert "configurator: certificate uploaded as trusted" in log and "configurator: certificate deleted" in log
    assert all("user=admin" in line for line in log.splitlines() if "configurator: certificate" in line)
    no_panic(gw)


def test_bad_uploads_write_nothing_and_changes_need_configure_and_csrf(gateway_factory, hashes, tmp_path):  # noqa: F811
    gw = gateway(gateway_factory, hashes)
    admin, csrf = session(gw, "admin", WRITER_PW)
    reader, reader_csrf = session(gw, "reader", READER_PW)
    client, pem = openssl_client_cert(tmp_path / "c", "some client")
    crl_pem, _ = openssl_crl(tmp_path / "ca")
    before_files, before_list = store_files(gw), listing(admin)

    # Not a certificate: 400 with a message that says so; nothing written.
    for body, kind, says in [
        (b"this is not a certificate at all", "certificate", "not a certificate: not a DER X.509 certificate"),
        (b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", "certificate", "not a certificate: a PEM file without a readable CERTIFICATE block"),
        (crl_pem, "certificate", "not a certificate: this is a CRL (upload it as a CRL)"),
        (pem, "crl", "not a CRL: this is a certificate (upload it as a certificate)"),
        (b"garbage", "crl", "not a CRL: not a DER X.509 CRL"),
        (b"", "certificate", "the file is empty"),
    ]:
        status, r = upload(admin, body, "server", kind, csrf)
        assert (status, r["ok"], r["message"]) == (400, False, says), (body[:30], r)
    status, r = upload(admin, b"\x30" * (64 * 1024 + 1), "client", "certificate", csrf)
    assert status == 413 and r["message"] == "a certificate or CRL file is at most 64 kB", r
    for query in ("store=elsewhere&kind=certificate", "store=server&kind=key", "kind=certificate"):
        status, _, data = admin.request("POST", f"{UPLOAD}?{query}", pem, {"x-csrf-token": csrf})
        assert status == 400 and not json.loads(data)["ok"], (query, data)

    # Without the CSRF token, or with another session's: 403.
    assert upload(admin, pem, "server", "certificate", None)[0] == 403
    assert upload(admin, pem, "server", "certificate", reader_csrf)[0] == 403
    assert post_json(admin, "/ui/api/certificates/delete", {"thumbprint": "a" * 40}, None)[0] == 403
    assert post_json(admin, "/ui/api/certificates/crl/delete", {"id": "a" * 40}, None)[0] == 403
    # A reader: 403 even with its own token.
    for status, r in (upload(reader, pem, "server", "certificate", reader_csrf),
                      post_json(reader, "/ui/api/certificates/delete", {"thumbprint": "a" * 40}, reader_csrf),
                      post_json(reader, "/ui/api/certificates/crl/delete", {"id": "a" * 40}, reader_csrf)):
        assert status == 403 and "configure" in r["error"], r
    assert listing(reader)["may_configure"] is False and listing(admin)["may_configure"] is True
    # Not a whole thumbprint: 400; no such one: 404.
    for bad in ("abcd", "g" * 40, "a" * 41, "../../pki/private/private.pem"):
        for path, key in (("/ui/api/certificates/delete", "thumbprint"), ("/ui/api/certificates/crl/delete", "id")):
            status, r = post_json(admin, path, {key: bad}, csrf)
            assert status == 400 and "40 hex digits" in r["message"], (bad, r)
    status, r = post_json(admin, "/ui/api/certificates/delete", {"thumbprint": "0" * 40}, csrf)
    assert status == 404 and r["message"] == f"no certificate with thumbprint {'0' * 40} in pki/, pki-client/, pki-user/", r
    assert post_json(admin, "/ui/api/certificates/delete", {"thumbprint": "0" * 40, "store": "nowhere"}, csrf)[0] == 400

    assert store_files(gw) == before_files, "nothing was written or removed"
    assert listing(admin) == before_list
    with pytest.raises(Exception):
        read_value(gw, client, "Sine")
    no_panic(gw)


def test_a_crl_is_stored_listed_with_the_honest_note_and_deleted(gateway_factory, hashes, tmp_path):  # noqa: F811
    gw = gateway(gateway_factory, hashes)
    admin, csrf = session(gw, "admin", WRITER_PW)
    crl_pem, crl_der = openssl_crl(tmp_path / "ca")
    crl_id = hashlib.sha1(crl_der).hexdigest()
    note = "checked for the OPC UA server's client certificates (pki/crl/); stored only for upstream servers and users (issue 18)"

    status, r = upload(admin, crl_pem, "client", "crl", csrf)
    assert status == 200 and r["ok"] and r["id"] == crl_id and r["note"] == note, r
    assert r["message"] == f"CRL of {CA_SUBJECT} stored in pki-client/crl/ (2 revoked); {note}"
    stored = gw.data_dir / "pki-client" / "crl" / f"{crl_id}.crl"
    assert stored.read_bytes() == crl_der, "stored as DER, named by its SHA-1"
    status, r = upload(admin, crl_der, "server", "crl", csrf)
    assert status == 200 and r["file"] == f"{crl_id}.crl", r

    listed = listing(admin)
    assert listed["crl_note"] == note
    crls = {c["store"]: c for c in listed["crls"]}
    assert set(crls) == {"client", "server"}, listed["crls"]
    c = crls["client"]
    assert (c["issuer"], c["revoked"], c["id"], c["file"]) == (CA_SUBJECT, 2, crl_id, f"{crl_id}.crl"), c
    assert c["this_update"].endswith("Z") and c["next_update"] > c["this_update"], c
    assert not [x for x in listed["certificates"] if x["file"].endswith(".crl") or x["issuer"] == CA_SUBJECT], "a CRL is not a certificate"

    status, r = post_json(admin, "/ui/api/certificates/crl/delete", {"id": crl_id, "store": "client"}, csrf)
    assert status == 200 and r["files"] == [stored.name] and r["message"] == f"CRL {crl_id} deleted", r
    assert not stored.exists() and [c["store"] for c in listing(admin)["crls"]] == ["server"]
    assert post_json(admin, "/ui/api/certificates/crl/delete", {"id": crl_id}, csrf)[0] == 200
    assert listing(admin)["crls"] == []
    log = fxgate_log(gw)
    assert "configurator: CRL stored" in log and "configurator: CRL deleted" in log and "user=admin" in log
    no_panic(gw)


def table(d, table_id: str) -> list[list[str]]:
    """The cells' texts of a table's body, read at once (the page replaces its rows every 2 s)."""
    return d.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(r => [...r.cells].map(c => c.textContent))",
        f"#{table_id} tbody tr")


def test_upload_from_the_page(gateway_factory, hashes, tmp_path, browser):  # noqa: F811
    """An admin picks a file in the page's file input, uploads it, and sees it trusted in the table,
    with its issuer; the CRL section says that CRLs are not checked yet. A reader sees no upload form."""
    gw = gateway(gateway_factory, hashes)
    base = gw.http_base
    client, pem = openssl_client_cert(tmp_path / "c", "page client")
    pem_file = tmp_path / "c" / "cert.pem"
    crl_pem, _ = openssl_crl(tmp_path / "ca")
    d = browser

    login(d, base, "reader", READER_PW)
    wait(d, ec.url_contains("/ui/overview"))
    d.get(base + "/ui/certificates")
    wait(d, lambda d: "issue 18" in d.find_element(By.ID, "crl-note").text)
    assert not d.find_element(By.ID, "upload-form").is_displayed()
    d.find_element(By.ID, "logout").click()
    wait(d, ec.url_contains("/ui/login"))

    login(d, base, "admin", WRITER_PW)
    wait(d, ec.url_contains("/ui/overview"))
    d.get(base + "/ui/certificates")
    wait(d, lambda d: d.find_element(By.ID, "upload-form").is_displayed())
    assert d.find_element(By.ID, "crl-note").text == \
        "CRLs are checked for the OPC UA server's client certificates (pki/crl/); stored only for upstream servers and users (issue 18)."
    assert "Issuer" in d.find_element(By.CSS_SELECTOR, "#certificates thead").text
    d.find_element(By.ID, "upload-file").send_keys(str(pem_file))
    d.find_element(By.ID, "upload").click()
    assert wait(d, lambda d: d.find_element(By.ID, "cert-result").text or None) == \
        f"CN=page client,O=fxgate tests trusted in pki/ ({client.thumbprint})"
    cells = wait(d, lambda d: [r for r in table(d, "certificates") if client.thumbprint in r] or None)[0]
    assert cells[:4] == ["server", "trusted", "CN=page client,O=fxgate tests", "CN=page client,O=fxgate tests"], cells
    assert d.find_elements(By.CSS_SELECTOR, f'button[data-delete="{client.thumbprint}"][data-store="server"]')

    # A CRL through the same form: it shows in the CRL table with its issuer and count.
    (tmp_path / "ca" / "upload.crl").write_bytes(crl_pem)
    d.find_element(By.ID, "upload-file").send_keys(str(tmp_path / "ca" / "upload.crl"))
    Select(d.find_element(By.ID, "upload-kind")).select_by_value("crl")
    Select(d.find_element(By.ID, "upload-store")).select_by_value("client")
    d.find_element(By.ID, "upload").click()
    wait(d, lambda d: "CRL of" in d.find_element(By.ID, "cert-result").text)
    crl_row = wait(d, lambda d: table(d, "crls") or None)[0]
    assert crl_row[:2] == ["client", CA_SUBJECT] and crl_row[4] == "2", crl_row

    assert isinstance(read_value(gw, client, "Sine"), float), "the certificate uploaded from the page is trusted"
    severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, "\n".join(severe)
    no_panic(gw)
