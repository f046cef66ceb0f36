"""DA item API over HTTP (docs/interfaces.md, "DA item API"; OPC 10000-8 A.4, the Proxy direction):
browse, item read with properties, batch read, write with the rights of the gateway's own OPC UA
server, HTTP Basic authentication. HTTP via the stdlib only; one cross-check with asyncua."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import pytest

from fxgate_testlib import PLANT_SIMULATOR as PLANT
from fxgate_testlib import (
    TAGS_NS_URI,
    GatewayFactory,
    connect,
    demo_simulator,
    hash_password,
    read_dv,
    safe_disconnect,
)

DEMO_ITEMS = {"Sine", "Ramp", "Toggle", "Counter", "Text", "Setpoint"}
READER_PW = "reader-pw"
WRITER_PW = "wr1ter pw!"


RFC3339_UTC = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|\+00:00)$"
)


# --------------------------------------------------------------------------------------------
# HTTP helpers (stdlib only)
# --------------------------------------------------------------------------------------------


def http(gw, method: str, path: str, body=None, auth: tuple[str, str] | None = None, timeout: float = 15):
    """(status, parsed JSON body) of a request to the gateway's HTTP listener; error statuses too."""
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    req = urllib.request.Request(gw.http_base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        raise AssertionError(f"{method} {path}: HTTP {status} body is not JSON: {raw[:500]!r}") from None
    return status, parsed


def item_path(item_id: str, properties: bool = False) -> str:
    return "/da/items/" + urllib.parse.quote(item_id, safe="") + ("?properties=1" if properties else "")


def get_item(gw, item_id: str, properties: bool = False, auth=None) -> dict:
    status, body = http(gw, "GET", item_path(item_id, properties), auth=auth)
    assert status == 200, f"GET {item_id}: HTTP {status} {body}"
    return body


def write(gw, items: list[dict], auth=None) -> list[dict]:
    status, body = http(gw, "POST", "/da/write", {"items": items}, auth=auth)
    assert status == 200, f"POST /da/write: HTTP {status} {body}"
    results = body["results"]
    assert [r["item_id"] for r in results] == [i["item_id"] for i in items], results
    return results


def parse_rfc3339_utc(ts: str) -> datetime:
    m = RFC3339_UTC.match(ts)
    assert m, f"timestamp {ts!r} is not RFC 3339 UTC"
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    return datetime(y, mo, d, h, mi, s, int(frac), tzinfo=timezone.utc)


def tags_ns_index(gw, cert, **login) -> int:
    async def main():
        client = await connect(gw, cert, **login)
        try:
            return await client.get_namespace_index(TAGS_NS_URI)
        finally:
            await safe_disconnect(client)

    return asyncio.run(main())


def assert_good_item(res: dict, item_id: str, canonical_type: str) -> None:
    assert res["item_id"] == item_id, res
    assert res["error"] == "S_OK", res
    assert res["quality"] == 192, res
    assert res["quality_text"].startswith("Good"), res
    assert res["canonical_type"] == canonical_type, res
    age = abs((datetime.now(timezone.utc) - parse_rfc3339_utc(res["timestamp"])).total_seconds())
    assert age <= 10, f"timestamp {res['timestamp']} is {age:.1f} s away from now"


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_ns(shared_gateway, client_cert) -> int:
    return tags_ns_index(shared_gateway, client_cert)


def ids(ns: int) -> dict[str, str]:
    demo = f"ns-{ns};s-Demo"
    return {"Demo": demo, **{name: f"{demo}/{name}" for name in DEMO_ITEMS}, "Nope": f"{demo}/Nope"}


@pytest.fixture(scope="module")
def plant_gateway(tmp_path_factory):
    factory = GatewayFactory(tmp_path_factory.mktemp("da-plant"))
    gw = factory.start({"simulator": [demo_simulator(), PLANT]})
    yield gw
    factory.stop_all()


@pytest.fixture(scope="module")
def hashes():
    return {"reader": hash_password(READER_PW), "writer": hash_password(WRITER_PW)}


def users_config(hashes, anonymous=True) -> dict:
    return {
        "server": {"anonymous": anonymous},
        "users": [
            {"name": "reader", "password_hash": hashes["reader"], "roles": ["read"]},
            {"name": "writer", "password_hash": hashes["writer"], "roles": ["read", "write"]},
        ],
    }


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_browse_objects_and_demo_branch(shared_gateway, demo_ns):
    i = ids(demo_ns)
    status, root = http(shared_gateway, "GET", "/da/browse")
    assert status == 200, root
    assert root["branch"] == "i-85", root
    demo = [b for b in root["branches"] if b["name"] == "Demo"]
    assert len(demo) == 1 and demo[0]["item_id"] == i["Demo"], root["branches"]
    assert re.fullmatch(r"ns-\d+;s-Demo", demo[0]["item_id"])
    assert all(it["name"] != "Demo" for it in root["items"]), root["items"]

    status, body = http(shared_gateway, "GET", "/da/browse?branch=" + urllib.parse.quote(i["Demo"], safe=""))
    assert status == 200, body
    assert body["branch"] == i["Demo"], body
    assert body["branches"] == [], body
    got = {it["name"]: it["item_id"] for it in body["items"]}
    assert got == {name: i[name] for name in DEMO_ITEMS}, body["items"]
    assert len(body["items"]) == len(DEMO_ITEMS), body["items"]


def test_read_item(shared_gateway, demo_ns):
    sine = ids(demo_ns)["Sine"]
    first = get_item(shared_gateway, sine)
    assert_good_item(first, sine, "VT_R8")
    assert isinstance(first["value"], float), first
    assert -1.0 <= first["value"] <= 1.0, first  # default amplitude 1.0
    assert "properties" not in first, first
    time.sleep(1.5)
    second = get_item(shared_gateway, sine)
    assert_good_item(second, sine, "VT_R8")
    assert second["value"] != first["value"], (first, second)
    assert parse_rfc3339_utc(second["timestamp"]) > parse_rfc3339_utc(first["timestamp"]), (first, second)


def test_item_properties(plant_gateway, client_cert):
    ns = tags_ns_index(plant_gateway, client_cert)

    def props(name: str) -> dict[int, dict]:
        item_id = f"ns-{ns};s-Plant/{name}"
        res = get_item(plant_gateway, item_id, properties=True)
        assert res["item_id"] == item_id and res["error"] == "S_OK" and res["quality"] == 192, res
        by_id = {p["id"]: p for p in res["properties"]}
        assert len(by_id) == len(res["properties"]), f"duplicate property ids: {res['properties']}"
        for p in res["properties"]:
            assert set(p) >= {"id", "name", "type", "value"}, p
            assert isinstance(p["name"], str) and p["name"], p
        return res, by_id

    res, temp = props("Temp")
    assert res["canonical_type"] == "VT_R8", res
    assert 40.0 <= res["value"] <= 60.0, res
    assert temp[1]["value"] == 5, temp[1]  # VT_R8
    assert temp[5]["value"] == 1, temp[5]  # OPC_READABLE, not writable
    assert temp[7]["value"] == 1, temp[7]  # OPC_ANALOG
    assert temp[100]["value"] == "°C", temp[100]
    assert temp[102]["value"] == 100.0, temp[102]
    assert temp[103]["value"] == 0.0, temp[103]
    assert temp[104]["value"] == 150.0, temp[104]
    assert temp[105]["value"] == -50.0, temp[105]

    res, pump = props("Pump")
    assert res["canonical_type"] == "VT_BOOL", res
    assert isinstance(res["value"], bool), res
    assert pump[1]["value"] == 11, pump[1]  # VT_BOOL
    assert pump[106]["value"] == "Running", pump[106]  # Close label <- TrueState
    assert pump[107]["value"] == "Stopped", pump[107]  # Open label <- FalseState

    res, mode = props("Mode")
    assert res["canonical_type"] == "VT_I4", res
    assert mode[1]["value"] == 3, mode[1]  # VT_I4
    assert mode[7]["value"] == 2, mode[7]  # OPC_ENUMERATED
    assert mode[8]["value"] == ["Stop", "Run", "Fault"], mode[8]


def test_read_batch_and_errors(shared_gateway, demo_ns):
    i = ids(demo_ns)
    items = [i["Sine"], i["Counter"], i["Nope"], "ns-2;x-bad"]
    status, body = http(shared_gateway, "POST", "/da/read", {"items": items})
    assert status == 200, body
    res = body["results"]
    assert [r["item_id"] for r in res] == items, res
    assert_good_item(res[0], i["Sine"], "VT_R8")
    assert isinstance(res[0]["value"], float), res[0]
    assert_good_item(res[1], i["Counter"], "VT_UI4")
    assert isinstance(res[1]["value"], int) and not isinstance(res[1]["value"], bool), res[1]
    assert res[2]["error"] == "OPC_E_UNKNOWNITEMID", res[2]
    assert res[3]["error"] == "OPC_E_INVALIDITEMID", res[3]

    status, body = http(shared_gateway, "GET", item_path(i["Nope"]))
    assert status == 404, body
    assert body["error"] == "OPC_E_UNKNOWNITEMID", body

    status, body = http(shared_gateway, "GET", item_path("ns-2;x-bad"))
    assert status == 400, body
    assert body["error"] == "OPC_E_INVALIDITEMID", body


def test_write_rights(gateway_factory, client_cert, hashes):
    gw = gateway_factory.start(users_config(hashes, anonymous=True))
    i = ids(tags_ns_index(gw, client_cert))
    writer, reader = ("writer", WRITER_PW), ("reader", READER_PW)

    # writer: Setpoint accepted, Sine is read-only
    res = write(gw, [{"item_id": i["Setpoint"], "value": 42.5}, {"item_id": i["Sine"], "value": 1.0}], auth=writer)
    assert res[0]["error"] == "S_OK", res
    assert res[1]["error"] == "OPC_E_BADRIGHTS", res
    sp = get_item(gw, i["Setpoint"], auth=writer)
    assert sp["value"] == 42.5 and sp["error"] == "S_OK" and sp["canonical_type"] == "VT_R8", sp

    # independent client sees the HTTP write
    async def ua_read():
        client = await connect(gw, client_cert, username="writer", password=WRITER_PW)
        try:
            return (await read_dv(client, "Setpoint")).Value.Value
        finally:
            await safe_disconnect(client)

    assert asyncio.run(ua_read()) == 42.5

    # reader: no write role
    res = write(gw, [{"item_id": i["Setpoint"], "value": 7.0}], auth=reader)
    assert res[0]["error"] == "E_ACCESSDENIED", res
    assert get_item(gw, i["Setpoint"], auth=reader)["value"] == 42.5

    # anonymous (anonymous_roles = ["read"]): no write either, but reading works
    res = write(gw, [{"item_id": i["Setpoint"], "value": 8.0}])
    assert res[0]["error"] == "E_ACCESSDENIED", res
    assert get_item(gw, i["Setpoint"])["value"] == 42.5

    # wrong password: login refused
    status, body = http(gw, "POST", "/da/write", {"items": [{"item_id": i["Setpoint"], "value": 9.0}]},
                        auth=("writer", "wrong"))
    assert status == 401, body
    assert body["error"] == "E_ACCESSDENIED", body
    status, body = http(gw, "GET", item_path(i["Setpoint"]), auth=("writer", "wrong"))
    assert status == 401, body
    assert body["error"] == "E_ACCESSDENIED", body

    # wrong type / unknown item
    res = write(gw, [{"item_id": i["Setpoint"], "value": "abc"}, {"item_id": i["Nope"], "value": 1.0}], auth=writer)
    assert res[0]["error"] == "OPC_E_BADTYPE", res
    assert res[1]["error"] == "OPC_E_UNKNOWNITEMID", res
    assert get_item(gw, i["Setpoint"], auth=writer)["value"] == 42.5


def test_anonymous_disabled(gateway_factory, client_cert, hashes):
    gw = gateway_factory.start(users_config(hashes, anonymous=False))
    i = ids(tags_ns_index(gw, client_cert, username="reader", password=READER_PW))

    for method, path, body in (
        ("GET", "/da/browse", None),
        ("GET", item_path(i["Sine"]), None),
        ("POST", "/da/read", {"items": [i["Sine"]]}),
    ):
        status, resp = http(gw, method, path, body)
        assert status == 401, f"{method} {path} without credentials: HTTP {status} {resp}"
        assert resp["error"] == "E_ACCESSDENIED", resp

    res = get_item(gw, i["Sine"], auth=("reader", READER_PW))
    assert_good_item(res, i["Sine"], "VT_R8")


def test_login_refusals_say_why_and_are_counted(gateway_factory, shared_gateway, client_cert, hashes):
    """An unknown user and a wrong password get the same answer (nothing tells which names exist);
    /metrics counts each by reason; no users at all, or anonymous disabled, are named as such."""
    gw = gateway_factory.start(users_config(hashes, anonymous=False))
    i = ids(tags_ns_index(gw, client_cert, username="reader", password=READER_PW))
    answers = []
    for auth in (("writer", "wrong"), ("nobody", WRITER_PW)):
        status, body = http(gw, "GET", item_path(i["Sine"]), auth=auth)
        assert status == 401 and body["error"] == "E_ACCESSDENIED", body
        answers.append(body["detail"])
    assert answers[0] == answers[1] == "login refused: unknown user or wrong password (BadIdentityTokenRejected)", answers
    status, body = http(gw, "GET", item_path(i["Sine"]))
    assert status == 401 and "anonymous access is disabled" in body["detail"], body
    with urllib.request.urlopen(gw.http_base + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    for reason in ("wrong_password", "unknown_user"):
        m = re.search(rf'^fxgate_opcua_login_failures_total\{{reason="{reason}"\}} (\d+)', text, re.M)
        assert m and int(m.group(1)) >= 1, f"{reason} not counted:\n" + "\n".join(l for l in text.splitlines() if "login" in l)
    # A gateway without [[users]] (the embedded default's Demo set-up) says so.
    status, body = http(shared_gateway, "GET", "/da/browse", auth=("operator", "change-me"))
    assert status == 401 and "this gateway has no users to log in as" in body["detail"], body


# --------------------------------------------------------------------------------------------
# Groups over WebSocket (A.4.5), with the `websockets` client
# --------------------------------------------------------------------------------------------


def ws_url(gw) -> str:
    return gw.http_base.replace("http://", "ws://") + "/da/subscribe"


async def collect(ws, seconds: float) -> list[dict]:
    """Every message that arrives within `seconds`."""
    out, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except asyncio.TimeoutError:
            break
    return out


def test_group_pushes_vqts(shared_gateway, demo_ns):
    import websockets

    i = ids(demo_ns)

    async def main():
        async with websockets.connect(ws_url(shared_gateway)) as ws:
            items = [i["Sine"], i["Setpoint"], f"ns-{demo_ns};s-Demo/Nope", "ns-2;x-bad"]
            await ws.send(json.dumps({"items": items, "update_rate_ms": 200}))
            group = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert group["type"] == "group"
            assert [r["error"] for r in group["items"]] == [
                "S_OK", "S_OK", "OPC_E_UNKNOWNITEMID", "OPC_E_INVALIDITEMID"
            ], group
            assert group["update_rate_ms"] == 200
            msgs = await collect(ws, 4.0)
        sine = [m for m in msgs if m["item_id"] == i["Sine"]]
        setpoint = [m for m in msgs if m["item_id"] == i["Setpoint"]]
        assert all(m["type"] == "data" and m["quality"] == 192 and m["error"] == "S_OK" for m in msgs), msgs
        assert len(sine) >= 3, msgs  # the Demo simulator moves every 500 ms
        assert len({m["value"] for m in sine}) == len(sine), "every push is a change"
        assert len(setpoint) == 1, "a constant item reports its current value once"
        stamps = [parse_rfc3339_utc(m["timestamp"]) for m in sine]
        assert stamps == sorted(stamps)

    asyncio.run(main())


def test_group_percent_deadband_applies_to_analog_items(plant_gateway, client_cert):
    """Temp (EURange 0..100) moves 40..60: a 50 % deadband passes only its first value;
    Mode has no EURange, so the deadband does not apply and it keeps reporting (A.4.5)."""
    import websockets

    ns = tags_ns_index(plant_gateway, client_cert)
    temp, mode = f"ns-{ns};s-Plant/Temp", f"ns-{ns};s-Plant/Mode"

    async def main():
        async with websockets.connect(ws_url(plant_gateway)) as ws:
            await ws.send(json.dumps({"items": [temp, mode], "update_rate_ms": 100, "percent_deadband": 50.0}))
            group = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert [r["error"] for r in group["items"]] == ["S_OK", "S_OK"], group
            msgs = await collect(ws, 3.0)
        temps = [m for m in msgs if m["item_id"] == temp]
        modes = [m for m in msgs if m["item_id"] == mode]
        assert len(temps) == 1, f"50 % deadband let Temp changes through: {temps}"
        assert 40.0 <= temps[0]["value"] <= 60.0
        assert len(modes) >= 5, modes

    asyncio.run(main())


def test_group_rejects_a_bad_request(shared_gateway):
    import websockets

    async def main():
        async with websockets.connect(ws_url(shared_gateway)) as ws:
            await ws.send("not json")
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply["type"] == "error" and reply["error"] == "E_INVALIDARG", reply
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)

    asyncio.run(main())


def test_group_needs_a_login_when_anonymous_is_off(gateway_factory, hashes):
    import websockets

    gw = gateway_factory.start(users_config(hashes, anonymous=False))

    async def main():
        with pytest.raises(websockets.InvalidStatus) as ei:
            async with websockets.connect(ws_url(gw)):
                pass
        assert ei.value.response.status_code == 401
        token = base64.b64encode(f"reader:{READER_PW}".encode()).decode()
        async with websockets.connect(ws_url(gw), additional_headers={"Authorization": f"Basic {token}"}) as ws:
            await ws.send(json.dumps({"items": ["ns-2;s-Demo/Counter"], "update_rate_ms": 200}))
            group = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert group["items"][0]["error"] == "S_OK", group
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["quality"] == 192 and isinstance(first["value"], int)

    asyncio.run(main())


def test_item_ids_use_the_persisted_namespace_table(gateway_factory):
    """ItemIDs carry indexes of <data-dir>/namespaces.toml, which is only appended to (A.4.2.3):
    with two retired namespaces already in the table, the tags namespace gets index 4, not the
    server's 2, and keeps it across a restart."""

    def seed(data_dir):
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "namespaces.toml").write_text(
            'namespaces = ["http://opcfoundation.org/UA/", "urn:retired:a", "urn:retired:b"]\n'
        )

    gw = gateway_factory.start(data_dir_setup=seed)
    listing = http(gw, "GET", "/da/browse")[1]
    demo = next(b for b in listing["branches"] if b["name"] == "Demo")
    assert demo["item_id"] == "ns-4;s-Demo", demo
    ok = get_item(gw, "ns-4;s-Demo/Sine")
    assert ok["error"] == "S_OK" and ok["quality"] == 192, ok
    # index 2 is urn:retired:b in the table: not a namespace of this server
    gone = http(gw, "POST", "/da/read", {"items": ["ns-2;s-Demo/Sine"]})[1]["results"][0]
    assert gone["error"] == "OPC_E_UNKNOWNITEMID", gone
    table = (gw.data_dir / "namespaces.toml").read_text()
    uris = [line.strip().strip('",') for line in table.splitlines() if line.strip().startswith('"')]
    assert uris[:3] == ["http://opcfoundation.org/UA/", "urn:retired:a", "urn:retired:b"], table
    assert uris[4] == "urn:fxgate:tags", table

    gw.restart()
    listing = http(gw, "GET", "/da/browse")[1]
    assert next(b for b in listing["branches"] if b["name"] == "Demo")["item_id"] == "ns-4;s-Demo"
