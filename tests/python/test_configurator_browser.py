"""The configurator in a real browser: Debian's chromium, headless, driven by Selenium (no browser
download; scripts/test installs chromium and chromium-driver). Log in (a wrong password first), see the
Overview with its warnings and components, see the Demo tags change on the Tags page, write a setpoint
as a `write` user (an asyncua client reads it back), see no write control as a `read` user, log out.
Screenshots of the pages go to docs/screenshots/ when FXGATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from fxgate_testlib import hash_password, read_value, status_name
from modbus_peers import fxgate_log, no_panic

READER_PW = "reader-pw"
WRITER_PW = "wr1ter pw!"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def hashes():
    return {"reader": hash_password(READER_PW), "writer": hash_password(WRITER_PW)}


@pytest.fixture
def browser():
    chromium = "/usr/bin/chromium"
    driver = "/usr/bin/chromedriver"
    assert os.access(chromium, os.X_OK) and os.access(driver, os.X_OK), "scripts/test installs chromium and chromium-driver"
    o = Options()
    o.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service(driver), options=o)
    d.set_page_load_timeout(30)
    yield d
    d.quit()


def wait(d, cond, timeout: float = 10):
    return WebDriverWait(d, timeout).until(cond)


def shot(d, name: str) -> None:
    if os.environ.get("FXGATE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(SHOTS / f"{name}.png"))


def login(d, base: str, user: str, password: str) -> None:
    d.get(base + "/ui/login")
    d.find_element(By.ID, "user").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.ID, "login").click()


def value_of(d, tag: str) -> str:
    cells = d.find_elements(By.CSS_SELECTOR, f'td.value[data-tag="{tag}"]')
    return cells[0].text if cells else ""


def test_log_in_watch_tags_write_and_log_out(gateway_factory, client_cert, hashes, browser):
    gw = gateway_factory.start({"users": [{"name": "reader", "password_hash": hashes["reader"], "roles": ["read"]},
                                          {"name": "writer", "password_hash": hashes["writer"], "roles": ["read", "write"]}]})
    base = f"http://127.0.0.1:{gw.http_port}"
    d = browser

    # A wrong password: the page says so, no session.
    login(d, base, "writer", "wrong")
    assert wait(d, ec.presence_of_element_located((By.ID, "message"))).text == "unknown user or wrong password"
    assert d.get_cookie("fxgate_session") is None
    shot(d, "login")

    # The right one: the Overview, filled by its script.
    login(d, base, "writer", WRITER_PW)
    wait(d, ec.url_contains("/ui/overview"))
    wait(d, lambda d: d.find_element(By.ID, "version").text != "")
    assert d.find_element(By.ID, "who").text == "writer"
    components = wait(d, lambda d: [r.text for r in d.find_elements(By.CSS_SELECTOR, "#components tbody tr")] or None)
    assert any("opcua_server" in r and "healthy" in r for r in components), components
    endpoints = [li.text for li in d.find_elements(By.CSS_SELECTOR, "#endpoints li")]
    assert any("Basic256Sha256 SignAndEncrypt" in e for e in endpoints), endpoints
    cookie = d.get_cookie("fxgate_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert d.execute_script("return document.cookie") == "", "the session cookie is not readable by scripts"
    shot(d, "overview")

    # Tags: Demo values move on the page without a reload.
    d.find_element(By.LINK_TEXT, "Tags").click()
    wait(d, lambda d: value_of(d, "Demo/Counter") != "")
    first = value_of(d, "Demo/Counter")
    wait(d, lambda d: value_of(d, "Demo/Counter") not in ("", first), 8)
    assert "Good" in d.find_element(By.CSS_SELECTOR, 'td.value[data-tag="Demo/Sine"]').find_element(By.XPATH, "..").text
    shot(d, "tags")

    # Write the setpoint from the page; an OPC UA client reads it back.
    box = d.find_element(By.CSS_SELECTOR, 'input[data-tag="Demo/Setpoint"]')
    box.send_keys("21.5")
    d.find_element(By.CSS_SELECTOR, 'button[data-tag="Demo/Setpoint"]').click()
    assert wait(d, lambda d: d.find_element(By.ID, "write-result").text or None) == "Demo/Setpoint: Good"
    wait(d, lambda d: value_of(d, "Demo/Setpoint") == "21.5")

    assert read_value(gw, client_cert, "Setpoint") == 21.5

    # The Logs page shows the write with the user's name; the level filter narrows it.
    d.find_element(By.LINK_TEXT, "Logs").click()
    wait(d, lambda d: "configurator write" in d.find_element(By.ID, "logs").text)
    assert "user=writer" in d.find_element(By.ID, "logs").text
    shot(d, "logs")
    from selenium.webdriver.support.ui import Select
    Select(d.find_element(By.ID, "level")).select_by_value("error")
    wait(d, lambda d: "configurator write" not in d.find_element(By.ID, "logs").text)

    # Log out: back to the login page, and the pages need a login again.
    d.find_element(By.ID, "logout").click()
    wait(d, ec.url_contains("/ui/login"))
    d.get(base + "/ui/tags")
    wait(d, ec.url_contains("/ui/login"))

    # A reader sees the values but no write control.
    login(d, base, "reader", READER_PW)
    wait(d, ec.url_contains("/ui/overview"))
    d.get(base + "/ui/tags")
    wait(d, lambda d: value_of(d, "Demo/Setpoint") == "21.5")
    time.sleep(0.3)
    assert d.find_elements(By.CSS_SELECTOR, 'input[data-tag="Demo/Setpoint"]') == []
    # The refused login answered 401 on purpose (its page says why); anything else is a fault.
    severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"
              and not ("/ui/login" in e["message"] and "401" in e["message"])]
    assert not severe, "\n".join(severe)
    no_panic(gw)


def test_an_untrusted_client_is_trusted_from_the_certificates_page(gateway_factory, fresh_client_cert, hashes, browser):
    """accept_all_certificates off: an OPC UA client with an unknown certificate is refused and its
    certificate filed in rejected/; an admin (configure) trusts it on the Certificates page; the
    client connects. A reader sees the list but no buttons, and the API refuses a reader's trust."""
    gw = gateway_factory.start({"server": {"accept_all_certificates": False},
                                "users": [{"name": "admin", "password_hash": hashes["writer"], "roles": ["read", "configure"]},
                                          {"name": "reader", "password_hash": hashes["reader"], "roles": ["read"]}]})
    base = f"http://127.0.0.1:{gw.http_port}"
    thumb = fresh_client_cert.thumbprint
    with pytest.raises(Exception) as refused:
        read_value(gw, fresh_client_cert, "Sine")
    assert status_name(refused.value) in {"BadCertificateUntrusted", "BadSecurityChecksFailed"}, refused.value

    d = browser
    login(d, base, "reader", READER_PW)
    wait(d, ec.url_contains("/ui/overview"))
    d.get(base + "/ui/certificates")
    row = wait(d, lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#certificates tbody tr") if thumb in r.text] or None, 15)[0]
    assert "rejected" in row.text and "server" in row.text, row.text
    assert d.find_elements(By.CSS_SELECTOR, "button[data-thumbprint]") == [], "a reader gets no trust buttons"
    d.find_element(By.ID, "logout").click()
    wait(d, ec.url_contains("/ui/login"))

    login(d, base, "admin", WRITER_PW)
    wait(d, ec.url_contains("/ui/overview"))
    d.get(base + "/ui/certificates")
    button = wait(d, ec.element_to_be_clickable((By.CSS_SELECTOR, f'button[data-thumbprint="{thumb}"][data-action="trust"]')))
    shot(d, "certificates")
    button.click()
    assert wait(d, lambda d: d.find_element(By.ID, "cert-result").text or None) == f"{thumb} trusted"
    wait(d, lambda d: any(thumb in r.text and "trusted" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#certificates tbody tr")))
    assert isinstance(read_value(gw, fresh_client_cert, "Sine"), float), "the client connects once trusted"
    # The Users page: add an operator from the form; it appears, and it can log in over OPC UA.
    d.get(base + "/ui/users")
    wait(d, lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#users tbody tr") if "admin" in r.text] or None)
    d.find_element(By.ID, "new-name").send_keys("op")
    d.find_element(By.ID, "new-password").send_keys("operator-pw1")
    roles = d.find_element(By.ID, "new-roles")
    roles.clear()
    roles.send_keys("read, write")
    d.find_element(By.ID, "add-user").click()
    assert wait(d, lambda d: d.find_element(By.ID, "users-result").text or None) == "`op` added"
    wait(d, lambda d: any(r.text.startswith("op") for r in d.find_elements(By.CSS_SELECTOR, "#users tbody tr")))
    shot(d, "users")

    # The General page: anonymous off; an anonymous OPC UA session is refused at once.
    d.get(base + "/ui/general")
    wait(d, ec.element_located_to_be_selected((By.ID, "anonymous")))
    d.find_element(By.ID, "anonymous").click()
    d.find_element(By.ID, "save-general").click()
    assert wait(d, lambda d: d.find_element(By.ID, "general-result").text or None) == "anonymous access off"
    shot(d, "general")
    with pytest.raises(Exception):
        read_value(gw, fresh_client_cert, "Sine")
    assert read_value(gw, fresh_client_cert, "Sine", username="op", password="operator-pw1") is not None
    assert "configurator: certificate trusted" in fxgate_log(gw) and "user=admin" in fxgate_log(gw)
    no_panic(gw)
