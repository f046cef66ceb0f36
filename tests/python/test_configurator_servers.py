"""The configurator's Servers page (seed 000 §4.6, issue 17): aggregated servers added, changed and
removed at run time against a real asyncua upstream (ua_upstream.py), seen by an OPC UA client
(asyncua) browsing the gateway, and in the configuration file. An invalid change is refused with
its field named and the file left as it was; a `read` user and a request without its CSRF token
change nothing. One run goes through the page in Debian's chromium (Selenium)."""

from __future__ import annotations

import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from aggregation_support import peers, sync, wait_connected  # noqa: F401 (fixture)
from configurator_support import post_json
from fxgate_testlib import connect, hash_password, safe_disconnect
from modbus_peers import fxgate_log, no_panic
from test_configurator import Browser
from test_configurator_browser import browser, hashes, login, shot, wait  # noqa: F401 (fixtures)

ADMIN_PW = "adm1n pw"
READER_PW = "reader-pw"


def gateway(factory, hashes_):
    return factory.start({
        "server": {"accept_all_certificates": True, "anonymous_roles": ["read"]},
        "users": [{"name": "admin", "password_hash": hash_password(ADMIN_PW), "roles": ["read", "configure"]},
                  {"name": "reader", "password_hash": hashes_["reader"], "roles": ["read"]}],
    })


def post(b: Browser, body: dict, csrf: str | None):
    return post_json(b, "/ui/api/servers", body, csrf)


def server_form(peer, name: str = "plc9", **extra) -> dict:
    form = {"name": name, "endpoint_url": peer.url, "security_policy": "Basic256Sha256",
            "security_mode": "SignAndEncrypt", "username": "", "password": "", "enabled": True,
            "accept_all_server_certificates": True}
    form.update(extra)
    return form


def state_of(b: Browser, name: str, want: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, s = b.api("/ui/api/servers")
        assert status == 200, s
        entry = next((x for x in s["servers"] if x["name"] == name), None)
        if entry is not None and entry["state"] == want:
            return entry
        assert time.monotonic() < deadline, f"{name} never {want}: {s}"
        time.sleep(0.2)


async def folders(gw, cert) -> set[str]:
    client = await connect(gw, cert)
    try:
        children = await client.nodes.objects.get_children()
        return {(await c.read_browse_name()).Name for c in children}
    finally:
        await safe_disconnect(client)


@sync
async def test_add_change_and_remove_a_server_at_run_time(gateway_factory, client_cert, hashes, peers):
    peer = peers("ua", "alpha")
    gw = gateway(gateway_factory, hashes)
    before = gw.config_path.read_text()
    admin = Browser(gw.http_port)
    assert admin.login("admin", ADMIN_PW)[0] == 303
    csrf = admin.csrf()
    status, s = admin.api("/ui/api/servers")
    assert (status, s["available"], s["servers"], s["may_configure"]) == (200, True, [], True), s
    assert "Basic256Sha256" in s["policies"] and s["modes"] == ["None", "Sign", "SignAndEncrypt"]

    # Refused without the token, by a reader, and for an invalid field: nothing is written.
    assert post(admin, {"action": "add", "server": server_form(peer)}, None)[0] == 403
    reader = Browser(gw.http_port)
    assert reader.login("reader", READER_PW)[0] == 303
    status, r = post(reader, {"action": "add", "server": server_form(peer)}, reader.csrf())
    assert status == 403 and "configure" in r["error"], r
    status, r = post(admin, {"action": "add", "server": server_form(peer, endpoint_url="http://nope")}, csrf)
    assert (status, r["ok"], r["field"]) == (400, False, "endpoint_url"), r
    status, r = post(admin, {"action": "add", "server": server_form(peer, name="../../etc")}, csrf)
    assert (status, r["ok"], r["field"]) == (400, False, "name"), r
    status, r = post(admin, {"action": "add", "server": server_form(peer, security_mode="Encrypt")}, csrf)
    assert (status, r["field"]) == (400, "security_mode"), r
    assert gw.config_path.read_text() == before

    # Added: in the file, connected, and its folder is there for an OPC UA client.
    status, r = post(admin, {"action": "add", "server": server_form(peer)}, csrf)
    assert (status, r["ok"]) == (200, True), r
    text = gw.config_path.read_text()
    assert "[[upstream]]" in text and 'name = "plc9"' in text and peer.url in text
    entry = state_of(admin, "plc9", "Connected")
    ups = admin.api("/ui/api/overview")[1]["upstreams"]
    assert [(u["name"], u["state"], u["url"]) for u in ups] == [("plc9", "Connected", peer.url)], ups
    assert entry["has_password"] is False and "password" not in entry
    assert "plc9" in await folders(gw, client_cert)
    client = await connect(gw, client_cert)
    try:
        await wait_connected(client, ["plc9"])
    finally:
        await safe_disconnect(client)
    assert post(admin, {"action": "add", "server": server_form(peer)}, csrf)[0] == 409, "the same name twice"

    # Changed: disabled, written in place, and the session ends.
    status, r = post(admin, {"action": "change", "name": "plc9", "server": server_form(peer, enabled=False)}, csrf)
    assert (status, r["ok"]) == (200, True), r
    assert "enabled = false" in gw.config_path.read_text()
    state_of(admin, "plc9", "Disconnected")
    assert [u["state"] for u in admin.api("/ui/api/overview")[1]["upstreams"]] == ["disabled"]
    status, r = post(admin, {"action": "change", "name": "plc9", "server": server_form(peer, name="plc10")}, csrf)
    assert (status, r["ok"]) == (200, True), r
    state_of(admin, "plc10", "Connected")
    text = gw.config_path.read_text()
    assert 'name = "plc10"' in text and 'name = "plc9"' not in text and text.count("[[upstream]]") == 1
    assert "plc10" in await folders(gw, client_cert)

    # Removed: gone from the file, the list and the address space.
    status, r = post(admin, {"action": "remove", "name": "plc10"}, csrf)
    assert (status, r["ok"]) == (200, True), r
    assert "[[upstream]]" not in gw.config_path.read_text()
    assert admin.api("/ui/api/servers")[1]["servers"] == []
    assert "plc10" not in await folders(gw, client_cert)
    assert post(admin, {"action": "remove", "name": "plc10"}, csrf)[0] == 404
    log = fxgate_log(gw)
    assert "user=admin" in log and "aggregated server added" in log and "aggregated server removed" in log, log[-3000:]
    no_panic(gw)


def test_add_a_server_in_the_browser(gateway_factory, client_cert, hashes, peers, browser):
    peer = peers("ua", "alpha")
    gw = gateway(gateway_factory, hashes)
    base = f"http://127.0.0.1:{gw.http_port}"
    login(browser, base, "admin", ADMIN_PW)
    wait(browser, lambda d: "/ui/overview" in d.current_url)
    browser.get(base + "/ui/servers")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#srv-policy option")) > 3)
    browser.find_element(By.ID, "srv-name").send_keys("plc7")
    browser.find_element(By.ID, "srv-url").send_keys("opc.tcp://bad host")
    browser.find_element(By.ID, "srv-save").click()
    err = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, '[data-error-for="endpoint_url"]').text or None)
    assert "endpoint_url" in err, err
    url = browser.find_element(By.ID, "srv-url")
    url.clear()
    url.send_keys(peer.url)
    Select(browser.find_element(By.ID, "srv-mode")).select_by_value("SignAndEncrypt")
    browser.find_element(By.ID, "srv-accept").click()
    browser.find_element(By.ID, "srv-save").click()
    state = wait(browser, lambda d: next((c for c in d.find_elements(By.CSS_SELECTOR, 'td.state[data-server="plc7"]')
                                          if c.text == "Connected"), None), timeout=20)
    assert "Good" in state.get_attribute("class")
    assert browser.find_element(By.CSS_SELECTOR, '[data-error-for="endpoint_url"]').text == ""
    shot(browser, "servers")
    assert 'name = "plc7"' in gw.config_path.read_text()
    browser.find_element(By.CSS_SELECTOR, 'button[data-remove="plc7"]').click()
    browser.switch_to.alert.accept()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, 'td.state[data-server="plc7"]'))
    assert "[[upstream]]" not in gw.config_path.read_text()
    no_panic(gw)

