"""The configurator's General page beyond anonymous access (issue 17, seed 000 §4.5): the log level
applied at once and written to [log] (an invalid filter refused with nothing changed), and LDS
registration and reverse connect written to [server], shown as waiting for a restart on every page,
and applied by the Restart the pages offer (the gateway's log then shows the new reverse connect
target and the LDS it tries). A `read` user and a request without the CSRF token change nothing."""

from __future__ import annotations

import time

from aggregation_support import sync
from configurator_support import logged_in_after_restart, post_json
from fxgate_testlib import connect, hash_password, safe_disconnect
from modbus_peers import fxgate_log, no_panic
from test_configurator import Browser
from test_configurator_browser import hashes  # noqa: F401 (fixture)

ADMIN_PW = "adm1n pw"
READER_PW = "reader-pw"


def gateway(factory, hashes_):
    return factory.start({
        "log": {"level": "info"},
        "users": [{"name": "admin", "password_hash": hash_password(ADMIN_PW), "roles": ["read", "configure"]},
                  {"name": "reader", "password_hash": hashes_["reader"], "roles": ["read"]}],
    })


def debug_lines(b: Browser) -> list[str]:
    status, l = b.api("/ui/api/logs?level=debug")
    assert status == 200, l
    return [x for x in l["lines"] if " DEBUG " in x]


@sync
async def test_the_log_level_applies_at_once(gateway_factory, client_cert, hashes):
    gw = gateway(gateway_factory, hashes)
    b = Browser(gw.http_port)
    assert b.login("admin", ADMIN_PW)[0] == 303
    csrf = b.csrf()
    assert b.api("/ui/api/general")[1]["log_level"] == "info"
    client = await connect(gw, client_cert)
    await safe_disconnect(client)
    assert debug_lines(b) == [], "info: no debug lines"

    before = gw.config_path.read_text()
    assert post_json(b, "/ui/api/general/log", {"level": "debug"}, None)[0] == 403
    reader = Browser(gw.http_port)
    assert reader.login("reader", READER_PW)[0] == 303
    status, r = post_json(reader, "/ui/api/general/log", {"level": "debug"}, reader.csrf())
    assert status == 403 and "configure" in r["error"], r
    status, r = post_json(b, "/ui/api/general/log", {"level": "info,=[oops"}, csrf)
    assert (status, r["ok"], r["field"]) == (400, False, "level") and "not a log filter" in r["message"], r
    assert gw.config_path.read_text() == before and b.api("/ui/api/general")[1]["log_level"] == "info"

    status, r = post_json(b, "/ui/api/general/log", {"level": "debug"}, csrf)
    assert (status, r["ok"]) == (200, True), r
    assert 'level = "debug"' in gw.config_path.read_text()
    client = await connect(gw, client_cert)
    await safe_disconnect(client)
    deadline = time.monotonic() + 10
    while not debug_lines(b):
        assert time.monotonic() < deadline, "no debug line after the level became debug"
        time.sleep(0.2)
    assert b.api("/ui/api/general")[1]["log_level"] == "debug"
    assert "log level changed" in fxgate_log(gw) and "user=admin" in fxgate_log(gw)
    no_panic(gw)


def test_discovery_settings_wait_for_a_restart(gateway_factory, hashes):
    gw = gateway(gateway_factory, hashes)
    b = Browser(gw.http_port)
    assert b.login("admin", ADMIN_PW)[0] == 303
    csrf = b.csrf()
    g = b.api("/ui/api/general")[1]
    assert (g["register_with_lds"], g["reverse_connect"], g["restart_pending"]) == ("", [], []), g
    before = gw.config_path.read_text()

    status, r = post_json(b, "/ui/api/general/discovery", {"register_with_lds": "http://lds:4840", "reverse_connect": []}, csrf)
    assert (status, r["ok"], r["field"]) == (400, False, "register_with_lds"), r
    assert gw.config_path.read_text() == before

    lds, client = "opc.tcp://127.0.0.1:4999", "opc.tcp://127.0.0.1:4998"
    status, r = post_json(b, "/ui/api/general/discovery", {"register_with_lds": lds, "reverse_connect": [client]}, csrf)
    assert (status, r["ok"], r["restart_needed"]) == (200, True, True), r
    text = gw.config_path.read_text()
    assert f'register_with_lds = "{lds}"' in text and f'reverse_connect = ["{client}"]' in text
    o = b.api("/ui/api/overview")[1]
    assert len(o["restart_pending"]) == 1 and "register_with_lds" in o["restart_pending"][0], o
    assert "reverse connect target added" not in fxgate_log(gw)

    pid = gw.proc.pid
    status, r = post_json(b, "/ui/api/restart", {}, csrf)
    assert (status, r["ok"]) == (202, True), r
    again = logged_in_after_restart(gw, "admin", ADMIN_PW)
    g = again.api("/ui/api/general")[1]
    assert (g["register_with_lds"], g["reverse_connect"], g["restart_pending"]) == (lds, [client], []), g
    assert gw.proc.pid == pid and gw.proc.poll() is None
    deadline = time.monotonic() + 15
    while not ("reverse connect target added" in fxgate_log(gw) and lds in fxgate_log(gw).split("fxgate ready", 1)[1]):
        assert time.monotonic() < deadline, fxgate_log(gw)[-3000:]
        time.sleep(0.3)
    no_panic(gw)
