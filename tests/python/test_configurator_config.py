"""The configurator's Config page (issue 17): download the configuration with its secrets hidden,
upload one that is checked (TOML, then check-config's validation, errors with line and field, a
diff) before it is applied, written atomically with a .bak, users applied at once, and a restart
from the page for the rest (the same process id: the gateway re-executes itself). A broken upload
changes nothing, in plain requests and in Debian's chromium through the page's file input."""

from __future__ import annotations

import json

from selenium.webdriver.common.by import By

from configurator_support import logged_in_after_restart
from fxgate_testlib import hash_password
from modbus_peers import fxgate_log, no_panic
from test_configurator import Browser
from test_configurator_browser import browser, hashes, login, shot, wait  # noqa: F401 (fixtures)

ADMIN_PW = "adm1n pw"
READER_PW = "reader-pw"


def gateway(factory, hashes_):
    return factory.start({
        "users": [{"name": "admin", "password_hash": hash_password(ADMIN_PW), "roles": ["read", "configure"]},
                  {"name": "reader", "password_hash": hashes_["reader"], "roles": ["read"]}],
    })


def post(b: Browser, path: str, text: str | bytes, csrf: str | None):
    h = {"Content-Type": "application/toml"}
    if csrf is not None:
        h["x-csrf-token"] = csrf
    body = text.encode() if isinstance(text, str) else text
    status, _, data = b.request("POST", path, body, h)
    return status, json.loads(data)


def admin_session(gw) -> tuple[Browser, str]:
    b = Browser(gw.http_port)
    assert b.login("admin", ADMIN_PW)[0] == 303
    return b, b.csrf()


def test_download_hides_secrets_and_a_bad_upload_changes_nothing(gateway_factory, hashes):
    gw = gateway(gateway_factory, hashes)
    original = gw.config_path.read_bytes()
    b, csrf = admin_session(gw)
    status, headers, text = b.request("GET", "/ui/api/config/download")
    assert status == 200 and headers["content-type"].startswith("application/toml")
    assert 'attachment; filename="fxgate.toml"' == headers["content-disposition"]
    assert "$argon2id" not in text and text.count('password_hash = "(hidden)"') == 2, text
    status, shown = b.api("/ui/api/config")
    assert status == 200 and shown["text"] == text and shown["file"] == str(gw.config_path)

    reader = Browser(gw.http_port)
    assert reader.login("reader", READER_PW)[0] == 303
    assert reader.request("GET", "/ui/api/config/download")[0] == 403
    assert post(reader, "/ui/api/config/apply", text, reader.csrf())[0] == 403
    assert post(b, "/ui/api/config/apply", text, None)[0] == 403

    # Not TOML: the line is named. Not valid: the field is named. A hidden value with nothing
    # behind it is refused. Not UTF-8 and too large are refused. Nothing is written.
    status, r = post(b, "/ui/api/config/check", text.replace("[server]", "[server", 1), csrf)
    assert status == 400 and r["ok"] is False and r["errors"][0]["line"] > 0 and "TOML" in r["errors"][0]["message"], r
    bad_port = text.replace(f"port = {gw.port}", 'port = "high"', 1)
    assert bad_port != text
    for path in ("/ui/api/config/check", "/ui/api/config/apply"):
        status, r = post(b, path, bad_port, csrf)
        assert status == 400 and any(e["field"] == "server.port" for e in r["errors"]), r
        assert any(d["op"] == "+" and "high" in d["text"] for d in r["diff"]), r["diff"]
    new_user = text + '\n[[users]]\nname = "eve"\npassword_hash = "(hidden)"\nroles = ["read"]\n'
    status, r = post(b, "/ui/api/config/apply", new_user, csrf)
    assert status == 400 and "users[2].password_hash" in r["errors"][0]["message"], r
    assert post(b, "/ui/api/config/apply", b"\xff\xfe[server]", csrf)[0] == 400
    assert post(b, "/ui/api/config/apply", "#" * (1 << 20 + 1), csrf)[0] == 413
    assert gw.config_path.read_bytes() == original
    assert not gw.config_path.with_name("fxgate.toml.bak").exists()
    no_panic(gw)


def test_apply_users_at_once_and_restart_for_the_rest(gateway_factory, hashes):
    gw = gateway(gateway_factory, hashes)
    b, csrf = admin_session(gw)
    _, _, text = b.request("GET", "/ui/api/config/download")
    original = gw.config_path.read_text()

    # A new user and the reader's roles changed: applied at once; the hidden hashes come back.
    changed = text + f'\n[[users]]\nname = "eve"\npassword_hash = "{hash_password("eve pw 1")}"\nroles = ["read", "write"]\n'
    status, r = post(b, "/ui/api/config/check", changed, csrf)
    assert (status, r["ok"], r["sections"], r["restart_needed"]) == (200, True, ["users"], False), r
    assert any(d["op"] == "+" and 'name = "eve"' in d["text"] for d in r["diff"]), r["diff"]
    assert gw.config_path.read_text() == original, "a check writes nothing"
    status, r = post(b, "/ui/api/config/apply", changed, csrf)
    assert (status, r["ok"], r["restart_needed"]) == (200, True, False), r
    written = gw.config_path.read_text()
    assert "(hidden)" not in written and written.count("$argon2id") == 3
    assert gw.config_path.with_name("fxgate.toml.bak").read_text() == original
    eve = Browser(gw.http_port)
    assert eve.login("eve", "eve pw 1")[0] == 303, "a new user logs in at once"
    assert Browser(gw.http_port).login("admin", ADMIN_PW)[0] == 303, "the hidden hash was kept"

    # A new simulated tag needs a restart: the page says so and restarts the same process.
    pid = gw.proc.pid
    _, _, text = b.request("GET", "/ui/api/config/download")
    assert "Setpoint" in text
    renamed = text.replace('"Setpoint"', '"Setpoint2"', 1)
    status, r = post(b, "/ui/api/config/apply", renamed, csrf)
    assert (status, r["ok"], r["restart_needed"]) == (200, True, True) and "simulator" in r["sections"], r
    status, r = post(b, "/ui/api/restart", "", csrf)
    assert (status, r["ok"]) == (202, True), r
    again = logged_in_after_restart(gw, "admin", ADMIN_PW)
    status, t = again.api("/ui/api/tags?prefix=Demo/Setpoint")
    assert status == 200, t
    assert [x["tag"] for x in t["tags"]] == ["Demo/Setpoint2"], t
    assert gw.proc.poll() is None and gw.proc.pid == pid
    log = fxgate_log(gw)
    assert "restart asked" in log and "user=admin" in log and log.count("fxgate ready") == 2, log[-3000:]
    assert b.api("/ui/api/overview")[0] == 401, "sessions end with the process"
    no_panic(gw)


def test_a_broken_upload_in_the_browser(gateway_factory, hashes, browser, tmp_path):
    gw = gateway(gateway_factory, hashes)
    original = gw.config_path.read_bytes()
    base = f"http://127.0.0.1:{gw.http_port}"
    login(browser, base, "admin", ADMIN_PW)
    wait(browser, lambda d: "/ui/overview" in d.current_url)
    browser.get(base + "/ui/config")
    wait(browser, lambda d: "[server]" in d.find_element(By.ID, "config-text").text)
    assert "$argon2id" not in browser.page_source
    broken = tmp_path / "broken.toml"
    broken.write_text(gw.config_path.read_text().replace(f"port = {gw.port}", "port = 70000", 1))
    browser.find_element(By.ID, "config-upload").send_keys(str(broken))
    browser.find_element(By.ID, "config-check").click()
    item = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#config-errors li")), None))
    assert item.get_attribute("data-field") == "server.port" and "port" in item.text, item.text
    diff = browser.find_element(By.ID, "config-diff").text
    assert "+ port = 70000" in diff and "$argon2id" not in diff and "password_hash" not in diff, diff
    assert browser.find_element(By.ID, "config-apply").get_attribute("disabled") is not None
    shot(browser, "config")
    assert gw.config_path.read_bytes() == original
    no_panic(gw)
