"""The configurator's Endpoints page (seed 000 §4.7, §4.9.2): every endpoint with whether it is
offered; the None and deprecated switches (with the seed's advice) written to [server] and applied
by the Restart the page offers. Before the restart a None-policy client is refused; after it, it
connects, the page lists None as offered and the Overview warns about it. An invalid endpoint URL is
refused with its field named and nothing written; a `read` user changes nothing."""

from __future__ import annotations

from configurator_support import logged_in_after_restart, post_json
from aggregation_support import sync
from fxgate_testlib import connect, hash_password, safe_disconnect
from modbus_peers import no_panic
from test_configurator import Browser
from test_configurator_browser import hashes  # noqa: F401 (fixture)

ADMIN_PW = "adm1n pw"
READER_PW = "reader-pw"


def offered(b: Browser) -> dict[str, bool]:
    status, e = b.api("/ui/api/endpoints")
    assert status == 200, e
    return {f'{x["policy"]} {x["mode"]}': x["offered"] for x in e["endpoints"]}


async def none_connects(gw) -> bool:
    try:
        client = await connect(gw, None, policy=None, mode="None")
    except Exception:  # noqa: BLE001 (refused in any way: no None endpoint)
        return False
    await safe_disconnect(client)
    return True


@sync
async def test_none_is_offered_after_the_restart(gateway_factory, hashes):
    gw = gateway_factory.start({
        "server": {"allow_none": False, "allow_deprecated": False},
        "users": [{"name": "admin", "password_hash": hash_password(ADMIN_PW), "roles": ["read", "configure"]},
                  {"name": "reader", "password_hash": hashes["reader"], "roles": ["read"]}],
    })
    b = Browser(gw.http_port)
    assert b.login("admin", ADMIN_PW)[0] == 303
    csrf = b.csrf()
    status, e = b.api("/ui/api/endpoints")
    assert "strongly advise against" in e["advice"] and e["settings"]["port"] == gw.port, e
    o = offered(b)
    assert o["Basic256Sha256 SignAndEncrypt"] and o["Aes256_Sha256_RsaPss Sign"], o
    assert o["None None"] is False and o["Basic128Rsa15 Sign"] is False and o["Basic256 SignAndEncrypt"] is False, o
    assert not await none_connects(gw)

    form = {"host": "0.0.0.0", "port": gw.port, "endpoint_url": "", "allow_none": True, "allow_deprecated": False}
    before = gw.config_path.read_text()
    reader = Browser(gw.http_port)
    assert reader.login("reader", READER_PW)[0] == 303
    assert post_json(reader, "/ui/api/endpoints", form, reader.csrf())[0] == 403
    assert post_json(b, "/ui/api/endpoints", form, None)[0] == 403
    status, r = post_json(b, "/ui/api/endpoints", dict(form, endpoint_url="http://nope"), csrf)
    assert (status, r["ok"], r["field"]) == (400, False, "endpoint_url"), r
    assert gw.config_path.read_text() == before

    status, r = post_json(b, "/ui/api/endpoints", form, csrf)
    assert (status, r["ok"], r["restart_needed"]) == (200, True, True), r
    assert "allow_none = true" in gw.config_path.read_text()
    assert offered(b)["None None"] is False, "nothing changes before the restart"
    assert not await none_connects(gw)
    assert any("endpoints" in p for p in b.api("/ui/api/overview")[1]["restart_pending"])

    assert post_json(b, "/ui/api/restart", {}, csrf)[0] == 202
    again = logged_in_after_restart(gw, "admin", ADMIN_PW)
    assert offered(again)["None None"] is True
    assert await none_connects(gw)
    o = again.api("/ui/api/overview")[1]
    assert o["restart_pending"] == [] and any("None security policy" in w for w in o["warnings"]), o
    no_panic(gw)
