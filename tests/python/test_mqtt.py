"""MQTT client ([[mqtt]] on a client [[line]]) against real brokers: Debian's mosquitto 2.0 in its
own processes (plain, TLS, TLS-PSK, password file, persistence; killed and restarted on the same
port), paho-mqtt 2.x publishers and subscribers, a Python TLS terminator recording SNI, asyncua
reading / writing / subscribing the gateway's tags (Objects/<mqtt name>/<tag>, the line state under
Objects/fxgate/Lines/<line>) and /metrics. Each test asserts what the broker side saw as well as
what fxgate shows. The contract is the "MQTT client" section of the interface spec (docs/interfaces.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import time

import pytest
from asyncua import ua

from fxgate_testlib import demo_simulator, free_ports, hash_password
from modbus_peers import Opc, http_get, is_good, make_pki, no_panic, show
from mqtt_peers import BrokerPsk, BrokerTls, MqttPeers, SniTerminator, tls_context
from mqtt_peers import publish as mqtt_publish

WRITER_PW = "wr1ter pw!"
READER_PW = "r3ader pw!"
VT = ua.VariantType
SC = ua.StatusCodes
PSK = BrokerPsk(identity="gw1", key_hex="00112233445566778899aabbccddeeff", hint="fxgate-test")
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
STATUS_NAME = re.compile(r"^(Good|Uncertain|Bad)(_[A-Za-z0-9]+)?$")


# ----------------------------------------------------------------------------------------------
# fixtures and helpers
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def mq(tmp_path):
    peers = MqttPeers(tmp_path / "mqtt")
    yield peers
    peers.close()


@pytest.fixture(scope="module")
def writer_hash():
    return hash_password(WRITER_PW)


@pytest.fixture(scope="module")
def reader_hash():
    return hash_password(READER_PW)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("mqtt-pki"))


def run(coro):
    return asyncio.run(coro)


def line(name: str, port: int, host: str = "127.0.0.1", **kw) -> dict:
    """A client line with quick reconnects (tests must not wait for the 1 s / 30 s defaults)."""
    return {"name": name, "mode": "client", "host": host, "port": port, "connect_timeout_ms": 1000,
            "reconnect_min_ms": 200, "reconnect_max_ms": 1000, **kw}


def client(name: str, line_name: str, tags=(), publish=(), **kw) -> dict:
    """An [[mqtt]] entry ([[mqtt.tag]] from `tags`, [[mqtt.publish]] from `publish`)."""
    out = {"name": name, "line": line_name, "keep_alive_s": 30, **kw}
    if tags:
        out["tag"] = list(tags)
    if publish:
        out["publish"] = list(publish)
    return out


def fast_sim(name: str = "Fast", interval_ms: int = 50) -> dict:
    return {"name": name, "interval_ms": interval_ms, "tags": [
        {"name": "Counter", "type": "UInt32", "waveform": "counter"}]}


def writer_user(writer_hash: str) -> dict:
    return {"name": "writer", "password_hash": writer_hash, "roles": ["read", "write"]}


def start_gw(factory, lines: list[dict], mqtts: list[dict], *, simulators: list[dict] | None = None,
             users: list[dict] | None = None, files: dict | None = None):
    overrides: dict = {"simulator": simulators if simulators is not None else [demo_simulator(200)],
                       "line": lines, "mqtt": mqtts}
    if users:
        overrides["users"] = users
    gw = factory.create(overrides)
    appdir = gw.config_path.parent
    appdir.mkdir(parents=True, exist_ok=True)
    for name, src in (files or {}).items():  # next to the config file: #APPDIR#
        shutil.copy(src, appdir / name)
    return gw.start()


def ms(t: dt.datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return round(t.timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


def iso_ms(epoch_ms: int, offset_h: int = 0) -> str:
    """RFC 3339 with milliseconds: ...Z, or with a +hh:00 offset."""
    tz = dt.timezone(dt.timedelta(hours=offset_h))
    t = dt.datetime.fromtimestamp(epoch_ms / 1000, tz)
    s = t.strftime("%Y-%m-%dT%H:%M:%S") + f".{epoch_ms % 1000:03d}"
    return s + ("Z" if offset_h == 0 else t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:])


def parse_rfc3339(s) -> dt.datetime:
    assert isinstance(s, str), f"timestamp {s!r} is not a string"
    m = RFC3339.match(s)
    assert m, f"timestamp {s!r} is not RFC 3339 (e.g. 2026-11-21T08:00:00.123Z)"
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tz = m.group(8)
    if tz == "Z":
        tzinfo = dt.timezone.utc
    else:
        sign = 1 if tz[0] == "+" else -1
        tzinfo = dt.timezone(sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    return dt.datetime(y, mo, d, h, mi, sec, micro, tzinfo=tzinfo)


def metric(text: str, name: str, client_name: str) -> float | None:
    m = re.search(rf'^{re.escape(name)}\{{[^}}]*client="{re.escape(client_name)}"[^}}]*\}}\s+([0-9.eE+-]+)\s*$', text, re.M)
    return float(m.group(1)) if m else None


def metrics(gw) -> str:
    status, text = http_get(gw, "/metrics")
    assert status == 200, (status, text[:500])
    return text


def code(dv) -> int:
    return (dv.StatusCode or ua.StatusCode(0)).value


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def json_of(m) -> dict:
    try:
        return json.loads(m.payload)
    except ValueError as e:
        raise AssertionError(f"{m.topic}: payload is not JSON: {m.payload[:300]!r}") from e


def counter_values(sub, topic: str) -> list[tuple[float, int]]:
    """(receive time, v) of every per_tag message on `topic`."""
    return [(m.t, json_of(m)["v"]) for m in sub.on(topic)]


def assert_no_gap(values, what: str) -> None:
    vals = sorted(set(values))
    assert vals, f"{what}: no values"
    missing = sorted(set(range(vals[0], vals[-1] + 1)) - set(vals))
    assert not missing, f"{what}: values missing {missing[:20]} (of {vals[0]}..{vals[-1]})"


def assert_in_order_without_gaps(values: list[int], what: str) -> None:
    """Duplicates (a value sent again) are allowed; leaving them out, the values go up by one."""
    seen, fresh = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            fresh.append(v)
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(fresh, fresh[1:])) if b != a + 1]
    assert not bad, f"{what}: not in order / gaps at {bad[:10]}; values {fresh[:60]}..."


class Changes:
    """asyncua data change handler: (node identifier, DataValue) in arrival order."""

    def __init__(self):
        self.items: list[tuple[str, ua.DataValue]] = []

    def datachange_notification(self, node, val, data):
        self.items.append((node.nodeid.Identifier, data.monitored_item.Value))

    def good_values(self, ident: str) -> list:
        return [dv.Value.Value for i, dv in self.items if i == ident and is_good(dv)]


async def subscribe(opc: Opc, nodes: list[tuple[str, str]]) -> Changes:
    handler = Changes()
    sub = await opc.client.create_subscription(20, handler)
    await sub.subscribe_data_change([opc.node(s, n) for s, n in nodes], queuesize=1000, sampling_interval=0)
    return handler


async def until(pred, timeout: float, what: str, detail=lambda: "", interval: float = 0.02):
    """Polls pred() (quick and non-blocking) without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout}s\n{detail()}")
        await asyncio.sleep(interval)


async def wait_for(sub, pred, timeout: float, what: str):
    """Subscriber.wait_for without blocking the event loop (asyncua's session keeps running)."""
    return await asyncio.to_thread(sub.wait_for, pred, timeout, what)


async def wait_message(sub, pred, timeout: float, what: str):
    return await asyncio.to_thread(sub.wait_message, pred, timeout, what)


async def pub(p, topic: str, payload, **kw) -> None:
    await asyncio.to_thread(p.publish, topic, payload, **kw)


def connected(st: dict) -> bool:
    return st["State"] == "Connected"


# ----------------------------------------------------------------------------------------------
# a. southbound tags: raw and JSON payloads, timestamps, qualities, wildcards, shared topics
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_southbound_raw_and_json_tags(gateway_factory, client_cert, mq, version):
    port, = free_ports(1)
    broker = mq.broker(port)
    tags = [
        {"name": "RawTemp", "topic": "plant/raw/temp", "type": "Double", "payload": "raw"},
        {"name": "RawFlag", "topic": "plant/raw/flag", "type": "Boolean", "payload": "raw"},
        {"name": "RawCount", "topic": "plant/raw/count", "type": "Int32", "payload": "raw"},
        {"name": "RawText", "topic": "plant/raw/text", "type": "String", "payload": "raw"},
        {"name": "JsonTs", "topic": "plant/json/ts", "type": "Double", "payload": "json", "value_path": "/value",
         "timestamp_path": "/ts", "quality_path": "/q"},
        {"name": "Wild", "topic": "site/+/temp", "type": "Double", "payload": "json", "value_path": "/value"},
        {"name": "PairA", "topic": "plant/pair", "type": "Int32", "payload": "json", "value_path": "/a"},
        {"name": "PairB", "topic": "plant/pair", "type": "String", "payload": "json", "value_path": "/b/name"},
        {"name": "Whole", "topic": "plant/whole", "type": "Double", "payload": "json", "value_path": ""},
        {"name": "Deep", "topic": "plant/deep", "type": "UInt16", "payload": "json", "value_path": "/arr/1/x~1y"},
    ]
    gw = start_gw(gateway_factory, [line("broker", port)], [client("plant", "broker", tags, version=version)])
    p = mq.publisher(port)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("broker", connected, 10, "Connected")
            broker.wait_subscribed("fxgate-plant", sorted({t["topic"] for t in tags}))
            dv = await opc.read("plant", "RawTemp")
            assert code(dv) == SC.BadWaitingForInitialData, f"before the first message: {show(dv)}"
            changes = await subscribe(opc, [("plant", "Wild")])

            # raw payloads; without timestamp_path the SourceTimestamp is the receive time
            before = now_ms()
            for topic, payload in (("plant/raw/temp", "21.5"), ("plant/raw/flag", "true"),
                                   ("plant/raw/count", "-42"), ("plant/raw/text", "hello wörld 1")):
                await pub(p, topic, payload)
            expect = {"RawTemp": (21.5, VT.Double), "RawFlag": (True, VT.Boolean), "RawCount": (-42, VT.Int32),
                      "RawText": ("hello wörld 1", VT.String)}
            for name, (value, vt) in expect.items():
                dv = await opc.wait("plant", name, lambda d: is_good(d) and d.Value.Value == value, 5, f"{name}={value!r}")
                assert dv.Value.VariantType == vt, (name, show(dv))
                assert before - 50 <= ms(dv.SourceTimestamp) <= now_ms() + 50, (name, dv.SourceTimestamp, before)
            for payload, value in (("0", False), ("1", True), ("false", False)):
                await pub(p, "plant/raw/flag", payload)
                await opc.wait("plant", "RawFlag", lambda d: d.Value.Value is value, 5, f"RawFlag from {payload!r}")

            # JSON with timestamp_path (RFC 3339 Z, RFC 3339 with offset, epoch ms) and quality_path
            base = now_ms() - 60_000
            cases = [
                ({"value": 1.25, "ts": iso_ms(base), "q": "Good"}, base, SC.Good),
                ({"value": 2.5, "ts": base + 1111, "q": "Bad_SensorFailure"}, base + 1111, SC.BadSensorFailure),
                ({"value": 3.5, "ts": iso_ms(base + 2222, 2), "q": "Uncertain"}, base + 2222, SC.Uncertain),
                ({"value": 4.5, "ts": base + 3333, "q": SC.UncertainEngineeringUnitsExceeded}, base + 3333,
                 SC.UncertainEngineeringUnitsExceeded),
                ({"value": 5.5, "ts": iso_ms(base + 4444), "q": 0}, base + 4444, SC.Good),
            ]
            for doc, ts, status in cases:
                await pub(p, "plant/json/ts", json.dumps(doc))
                dv = await opc.wait("plant", "JsonTs", lambda d: d.SourceTimestamp is not None and ms(d.SourceTimestamp) == ts,
                                    5, f"JsonTs with the payload's time {doc['ts']!r}")
                assert code(dv) == status, (doc, show(dv))
                if status == SC.Good:
                    assert dv.Value.Value == doc["value"], (doc, show(dv))

            # a wildcard filter: one level for +, not two. The unmatched message goes last, then a
            # marker on another topic over the same connection: had it been taken, Wild would show 99.
            await pub(p, "site/a/temp", json.dumps({"value": 1.0}))
            await opc.wait("plant", "Wild", lambda d: is_good(d) and d.Value.Value == 1.0, 5, "Wild=1.0 (site/a/temp)")
            await pub(p, "site/b/temp", json.dumps({"value": 2.0}))
            await opc.wait("plant", "Wild", lambda d: d.Value.Value == 2.0, 5, "Wild=2.0 (site/b/temp)")
            await pub(p, "site/a/b/temp", json.dumps({"value": 99.0}))  # not matched by site/+/temp
            await pub(p, "plant/raw/text", "marker")
            await opc.wait("plant", "RawText", lambda d: d.Value.Value == "marker", 5, "the marker")
            dv = await opc.read("plant", "Wild")
            assert dv.Value.Value == 2.0, f"site/a/b/temp matched site/+/temp: {show(dv)}"
            assert 99.0 not in changes.good_values("plant/Wild"), changes.good_values("plant/Wild")

            # two tags on one topic, different value_path; a whole-document value; an escaped pointer
            await pub(p, "plant/pair", json.dumps({"a": 5, "b": {"name": "five"}}))
            await pub(p, "plant/whole", "12.75")
            await pub(p, "plant/deep", json.dumps({"arr": [{"x/y": 1}, {"x/y": 7}]}))
            for name, value, vt in (("PairA", 5, VT.Int32), ("PairB", "five", VT.String), ("Whole", 12.75, VT.Double),
                                    ("Deep", 7, VT.UInt16)):
                dv = await opc.wait("plant", name, lambda d: is_good(d) and d.Value.Value == value, 5, f"{name}={value!r}")
                assert dv.Value.VariantType == vt, (name, show(dv))
            await pub(p, "plant/pair", json.dumps({"a": 6, "b": {"name": "six"}}))
            await opc.wait("plant", "PairA", lambda d: d.Value.Value == 6, 5, "PairA=6")
            await opc.wait("plant", "PairB", lambda d: d.Value.Value == "six", 5, "PairB=six")
        finally:
            await opc.close()

    run(main())
    # the broker saw: the default client id, the protocol version, a clean session, keep-alive 30 s,
    # subscriptions with subscribe_qos 1 (default)
    log = broker.log
    proto = "p5" if version == "5" else "p2"
    assert re.search(rf"New client connected from 127\.0\.0\.1:\d+ as fxgate-plant \({proto}, c1, k30", log), log[-3000:]
    for filt in ("plant/raw/temp", "site/+/temp", "plant/pair"):
        assert f"\t{filt} (QoS 1)" in log, f"subscription {filt} with QoS 1 not in the broker log"
    # 19 messages matched a subscription: 4 raw, 3 RawFlag, 5 JsonTs, 2 site/+/temp, the marker, 2 on the
    # shared topic (each counted once), plant/whole, plant/deep; site/a/b/temp matched none
    received = metric(metrics(gw), "fxgate_mqtt_messages_received_total", "plant")
    assert received == 19, received
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# b. payloads that do not decode
# ----------------------------------------------------------------------------------------------


def test_malformed_payloads_are_decoding_errors_on_that_tag_only(gateway_factory, client_cert, mq):
    port, = free_ports(1)
    broker = mq.broker(port)
    tags = [
        {"name": "J", "topic": "bad/j", "type": "Double", "payload": "json", "value_path": "/value", "quality_path": "/q"},
        {"name": "R", "topic": "bad/r", "type": "Double", "payload": "raw"},
        {"name": "Ok", "topic": "good/o", "type": "Double", "payload": "json", "value_path": "/value"},
    ]
    gw = start_gw(gateway_factory, [line("broker", port)], [client("plant", "broker", tags)])
    p = mq.publisher(port)
    bad_j = [b"not json {", b'{"other": 1}', b'{"value": {"x": 1}}', b'{"value": "abc"}',
             b'{"value": 4.0, "q": "NoSuchQuality"}']

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("broker", connected, 10, "Connected")
            broker.wait_subscribed("fxgate-plant", ["bad/j", "bad/r", "good/o"])
            await pub(p, "good/o", json.dumps({"value": 3.0}))
            await opc.wait("plant", "Ok", lambda d: is_good(d) and d.Value.Value == 3.0, 5, "Ok=3.0")
            for i, payload in enumerate(bad_j):
                good = float(i + 1)
                await pub(p, "bad/j", json.dumps({"value": good, "q": "Good"}))
                await opc.wait("plant", "J", lambda d: is_good(d) and d.Value.Value == good, 5, f"J={good}")
                await pub(p, "bad/j", payload)
                dv = await opc.wait("plant", "J", lambda d: code(d) == SC.BadDecodingError, 5,
                                    f"Bad_DecodingError after {payload!r}")
                assert dv.Value.Value == good, f"the last value is kept: {show(dv)}"
                dv = await opc.read("plant", "Ok")
                assert is_good(dv) and dv.Value.Value == 3.0, f"another tag is untouched: {show(dv)}"
            await pub(p, "bad/r", "2.0")
            await opc.wait("plant", "R", lambda d: is_good(d) and d.Value.Value == 2.0, 5, "R=2.0")
            await pub(p, "bad/r", "twenty")
            dv = await opc.wait("plant", "R", lambda d: code(d) == SC.BadDecodingError, 5, "R Bad_DecodingError")
            assert dv.Value.Value == 2.0, show(dv)
            await pub(p, "bad/r", "2.5")
            await opc.wait("plant", "R", lambda d: is_good(d) and d.Value.Value == 2.5, 5, "R Good again")
            await pub(p, "good/o", json.dumps({"value": 3.5}))
            await opc.wait("plant", "Ok", lambda d: is_good(d) and d.Value.Value == 3.5, 5, "Ok still taking values")
        finally:
            await opc.close()

    run(main())
    text = metrics(gw)
    assert metric(text, "fxgate_mqtt_decode_errors_total", "plant") == len(bad_j) + 1, \
        [ln for ln in text.splitlines() if ln.startswith("fxgate_mqtt_")]
    assert gw.proc.poll() is None, "fxgate exited"
    assert http_get(gw, "/healthz")[0] == 200
    # a warning at most once per 10 s per topic (5 bad payloads on bad/j within a few seconds)
    warns = [ln for ln in gw.stderr_lines if re.search(r"\bWARN\b", ln) and "bad/j" in ln]
    assert len(warns) == 1, f"warnings about bad/j: {warns}"
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# c. stale_after_ms
# ----------------------------------------------------------------------------------------------


def test_stale_after_ms(gateway_factory, client_cert, mq):
    port, = free_ports(1)
    broker = mq.broker(port)
    tags = [{"name": "S", "topic": "stale/s", "type": "Double", "payload": "raw", "stale_after_ms": 600},
            {"name": "N", "topic": "stale/n", "type": "Double", "payload": "raw"}]
    gw = start_gw(gateway_factory, [line("broker", port)], [client("plant", "broker", tags)])
    p = mq.publisher(port)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("broker", connected, 10, "Connected")
            broker.wait_subscribed("fxgate-plant", ["stale/s", "stale/n"])
            await pub(p, "stale/n", "9.0")
            # messages more often than stale_after_ms: Good all along
            for i in range(5):
                await pub(p, "stale/s", str(1.0 + i))
                await opc.wait("plant", "S", lambda d: is_good(d) and d.Value.Value == 1.0 + i, 5, f"S={1.0 + i}")
                await asyncio.sleep(0.3)
                dv = await opc.read("plant", "S")
                assert is_good(dv), f"S went {show(dv)} 0.3 s after a message (stale_after_ms 600)"
            await pub(p, "stale/s", "1.5")
            t0 = time.monotonic()
            good = await opc.wait("plant", "S", lambda d: is_good(d) and d.Value.Value == 1.5, 5, "S=1.5")
            dv = await opc.wait("plant", "S", lambda d: code(d) == SC.UncertainLastUsableValue, 5,
                                "Uncertain_LastUsableValue")
            elapsed = time.monotonic() - t0
            assert 0.45 <= elapsed <= 2.5, f"stale after {elapsed:.2f} s, stale_after_ms = 600"
            assert dv.Value.Value == 1.5 and ms(dv.SourceTimestamp) == ms(good.SourceTimestamp), \
                f"last value and timestamp kept: {show(dv)} vs {show(good)}"
            dv = await opc.read("plant", "N")
            assert is_good(dv), f"a tag without stale_after_ms stays Good: {show(dv)}"
            await pub(p, "stale/s", "2.5")
            await opc.wait("plant", "S", lambda d: is_good(d) and d.Value.Value == 2.5, 5, "Good with the next message")
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# d. OPC UA writes on tags with a command_topic
# ----------------------------------------------------------------------------------------------


def test_command_topic_writes(gateway_factory, client_cert, mq, writer_hash):
    port, = free_ports(1)
    broker = mq.broker(port)
    tags = [
        {"name": "Cmd", "topic": "cmd/raw/state", "type": "Double", "payload": "raw", "command_topic": "cmd/raw/set"},
        {"name": "JCmd", "topic": "cmd/json/state", "type": "Double", "payload": "json", "value_path": "/value",
         "command_topic": "cmd/json/set"},
        {"name": "ICmd", "topic": "cmd/int/state", "type": "Int32", "payload": "raw", "command_topic": "cmd/int/set"},
        {"name": "BCmd", "topic": "cmd/bool/state", "type": "Boolean", "payload": "raw", "command_topic": "cmd/bool/set"},
        {"name": "RO", "topic": "cmd/ro", "type": "Double", "payload": "raw"},
    ]
    gw = start_gw(gateway_factory, [line("broker", port)], [client("plant", "broker", tags, publish_qos=2)],
                  users=[writer_user(writer_hash)])
    sub = mq.subscriber(port, "cmd/+/set", qos=2)

    async def main():
        opc = await Opc.connect(gw, client_cert, username="writer", password=WRITER_PW)
        anon = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("broker", connected, 10, "Connected")
            res = await opc.write("plant", "Cmd", 12.5, VT.Double)
            assert res.is_good(), res
            # QoS 2 (publish_qos 2): the write answers Good once the broker completed the exchange
            broker.wait_log("Received PUBREL from fxgate-plant", 2)
            m = await wait_message(sub, lambda m: m.topic == "cmd/raw/set", 5, "the raw command")
            assert float(m.payload) == 12.5 and m.qos == 2 and not m.retain, m
            res = await opc.write("plant", "JCmd", 7.25, VT.Double)
            assert res.is_good(), res
            m = await wait_message(sub, lambda m: m.topic == "cmd/json/set", 5, "the json command")
            assert json_of(m) == {"value": 7.25}, m.payload
            res = await opc.write("plant", "ICmd", -3, VT.Int32)
            assert res.is_good(), res
            m = await wait_message(sub, lambda m: m.topic == "cmd/int/set", 5, "the int command")
            assert m.payload == b"-3", m.payload
            res = await opc.write("plant", "BCmd", True, VT.Boolean)
            assert res.is_good(), res
            m = await wait_message(sub, lambda m: m.topic == "cmd/bool/set", 5, "the bool command")
            assert m.payload in (b"true", b"1"), m.payload
            # no command_topic: not writable; a user without the write role: refused; nothing published
            n = len(sub.messages)
            res = await opc.write("plant", "RO", 1.0, VT.Double)
            assert not res.is_good(), res
            res = await anon.write("plant", "Cmd", 99.0, VT.Double)
            assert res.value == SC.BadUserAccessDenied, res
            # no broker: Bad_NoCommunication
            broker.kill()
            await opc.wait_line("broker", lambda s: s["State"] != "Connected", 5, "the loss")
            res = await opc.write("plant", "Cmd", 1.0, VT.Double)
            assert res.value == SC.BadNoCommunication, res
            return n
        finally:
            await anon.close()
            await opc.close()

    n = run(main())
    assert len(sub.messages) >= n and not any(float(m.payload) == 99.0 for m in sub.on("cmd/raw/set")), \
        [m.payload for m in sub.messages]
    assert [m.topic for m in sub.messages[:n]] == ["cmd/raw/set", "cmd/json/set", "cmd/int/set", "cmd/bool/set"]
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# e. northbound publishing: per_tag, retained, batch
# ----------------------------------------------------------------------------------------------


def test_northbound_per_tag_retained_and_batch(gateway_factory, mq):
    port, = free_ports(1)
    mq.broker(port)
    sub = mq.subscriber(port, "fxgate/#")
    publish = [
        {"tags": ["Demo/*"], "mode": "per_tag", "topic": "fxgate/{path}"},
        {"tags": ["Demo/Setpoint", "Demo/Text"], "mode": "per_tag", "topic": "ret/{source}/{name}", "retain": True},
        {"tags": ["Demo/Counter", "Demo/Sine"], "mode": "batch", "topic": "fxgate/batch", "interval_ms": 200},
    ]
    gw = start_gw(gateway_factory, [line("broker", port)], [client("north", "broker", publish=publish)],
                  simulators=[demo_simulator(100)])
    sub.wait_for(lambda ms: len([m for m in ms if m.topic == "fxgate/Demo/Counter"]) >= 20
                 and len([m for m in ms if m.topic == "fxgate/batch"]) >= 8, 15,
                 "20 per_tag Counter messages and 8 batches")
    msgs = sub.messages
    per_tag = [m for m in msgs if m.topic.startswith("fxgate/Demo/")]
    assert {m.topic for m in per_tag} == {f"fxgate/Demo/{t}" for t in ("Sine", "Ramp", "Toggle", "Counter", "Text", "Setpoint")}
    for m in per_tag:
        obj = json_of(m)
        assert set(obj) == {"tag", "v", "q", "st"}, obj
        assert m.topic == f"fxgate/{obj['tag']}" and obj["q"] == "Good" and not m.retain, (m.topic, obj, m.retain)
        parse_rfc3339(obj["st"])
        tag = obj["tag"]
        if tag in ("Demo/Counter", "Demo/Ramp"):
            assert isinstance(obj["v"], int) and not isinstance(obj["v"], bool), obj
        elif tag == "Demo/Toggle":
            assert isinstance(obj["v"], bool), obj
        elif tag == "Demo/Text":
            assert isinstance(obj["v"], str), obj
        else:
            assert is_number(obj["v"]), obj
    counter = [json_of(m)["v"] for m in sub.on("fxgate/Demo/Counter")]
    assert counter == list(range(counter[0], counter[0] + len(counter))), f"per_tag, interval 0: every change: {counter}"

    batches = [json_of(m) for m in sub.on("fxgate/batch")]
    for b in batches:
        assert set(b) == {"seq", "ts", "values"}, b
        parse_rfc3339(b["ts"])
        assert isinstance(b["values"], list) and b["values"], b
        for v in b["values"]:
            assert set(v) == {"tag", "v", "q", "st"} and v["tag"] in ("Demo/Counter", "Demo/Sine") and v["q"] == "Good", v
    seqs = [b["seq"] for b in batches]
    assert all(isinstance(s, int) for s in seqs) and all(a < b for a, b in zip(seqs, seqs[1:])), f"seq increasing: {seqs}"
    in_batches = [v["v"] for b in batches for v in b["values"] if v["tag"] == "Demo/Counter"]
    assert in_batches == sorted(in_batches) and len(set(in_batches)) >= 5, in_batches

    # retain = true: a subscriber that comes later gets the last value of each tag, flagged retained
    late = mq.subscriber(port, "ret/#")
    late.wait_for(lambda ms: {m.topic for m in ms} >= {"ret/Demo/Setpoint", "ret/Demo/Text"}, 5, "the retained values")
    for t in ("ret/Demo/Setpoint", "ret/Demo/Text"):
        m = late.on(t)[0]  # then live changes of Demo/Text follow, not retained
        assert m.retain, f"{m.topic} not retained"
        assert json_of(m)["tag"] == m.topic[len("ret/"):], m.payload
    # the other per_tag topics are not retained: a late subscriber gets nothing until the next change
    late2 = mq.subscriber(port, "fxgate/Demo/Setpoint")
    time.sleep(0.5)  # waiting for the absence of a message (Setpoint is constant)
    assert late2.messages == [], [(m.topic, m.retain) for m in late2.messages]
    text = metrics(gw)
    assert (metric(text, "fxgate_mqtt_messages_published_total", "north") or 0) >= len(msgs), text[-3000:]
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# f. status topic: retained online, Last Will offline, offline at shutdown
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_status_topic_online_will_and_shutdown(gateway_factory, mq, version):
    port, = free_ports(1)
    broker = mq.broker(port)
    live = mq.subscriber(port, "fxgate/plant/status")
    tags = [{"name": "T", "topic": "st/t", "type": "Double", "payload": "raw"}]
    gw = start_gw(gateway_factory, [line("broker", port)],
                  [client("plant", "broker", tags, version=version, status_topic="fxgate/plant/status", keep_alive_s=5)])

    def payloads() -> list[bytes]:
        out = []
        for m in live.messages:
            if not out or out[-1] != m.payload:
                out.append(m.payload)
        return out

    def retained_now(expect: bytes) -> None:
        s = mq.subscriber(port, "fxgate/plant/status")
        m = s.wait_message(lambda m: True, 5, "the retained status")
        assert (m.payload, m.retain) == (expect, True), m
        s.close()

    live.wait_for(lambda ms: payloads() == [b"online"], 10, "online")
    retained_now(b"online")
    gw.proc.kill()  # SIGKILL: the broker publishes the Last Will
    gw.wait_exit(10)
    live.wait_for(lambda ms: payloads() == [b"online", b"offline"], 10, "offline (the will)")
    retained_now(b"offline")
    # the will: "offline" (7 bytes), retained, on the status topic
    assert re.search(r"Will message specified \(7 bytes\) \(r1, q[012]\)\.\n[^\n]*\tfxgate/plant/status\n", broker.log), \
        broker.log[-3000:]
    gw.start()
    live.wait_for(lambda ms: payloads() == [b"online", b"offline", b"online"], 10, "online after the restart")
    retained_now(b"online")
    gw.stop()  # SIGTERM: a clean shutdown
    live.wait_for(lambda ms: payloads() == [b"online", b"offline", b"online", b"offline"], 10, "offline at shutdown")
    retained_now(b"offline")
    proto = "p5" if version == "5" else "p2"
    assert re.search(rf"as fxgate-plant \({proto}, c1, k5", broker.log), broker.log[-3000:]
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# g. request_topic / response_topic writes
# ----------------------------------------------------------------------------------------------


def request_setup(factory, mq, clients: list[tuple[str, str]], users: list[dict]):
    """One broker; per (name, user) a line l_<name> and an [[mqtt]] <name> with request_topic req/<name>,
    response_topic resp/<name> and `user` ("" = none). Returns (gw, request(name, body) -> the answer,
    ready(opc): every line Connected and every request topic subscribed)."""
    port, = free_ports(1)
    broker = mq.broker(port)
    sub = mq.subscriber(port, "resp/#")
    tag = [{"name": "T", "topic": "rq/t", "type": "Double", "payload": "raw"}]
    lines = [line(f"l_{n}", port) for n, _ in clients]
    mqtts = [client(n, f"l_{n}", tag, request_topic=f"req/{n}", response_topic=f"resp/{n}",
                    **({"user": u} if u else {})) for n, u in clients]
    gw = start_gw(factory, lines, mqtts, users=users)
    p = mq.publisher(port)

    async def request(name: str, body: dict) -> dict:
        await pub(p, f"req/{name}", json.dumps(body))
        m = await wait_message(sub, lambda m: m.topic == f"resp/{name}" and json_of(m).get("id") == body["id"], 5,
                               f"the answer to {body}")
        return json_of(m)

    async def ready(opc: Opc) -> None:
        for n, _ in clients:
            await opc.wait_line(f"l_{n}", connected, 10, "Connected")
            broker.wait_subscribed(f"fxgate-{n}", [f"req/{n}"])

    return gw, request, ready


def test_request_response_writes(gateway_factory, client_cert, mq, writer_hash):
    gw, request, ready = request_setup(gateway_factory, mq, [("ops", "writer"), ("anon", "")],
                                       [writer_user(writer_hash)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await ready(opc)
            r = await request("ops", {"id": 1, "tag": "Demo/Setpoint", "v": 42.5})
            assert r == {"id": 1, "tag": "Demo/Setpoint", "status": "Good"}, r
            await opc.wait("Demo", "Setpoint", lambda d: is_good(d) and d.Value.Value == 42.5, 5, "Setpoint=42.5")
            r = await request("anon", {"id": 2, "tag": "Demo/Setpoint", "v": 1.0})
            assert r == {"id": 2, "tag": "Demo/Setpoint", "status": "Bad_UserAccessDenied"}, r
            r = await request("ops", {"id": "four", "tag": "Demo/NoSuchTag", "v": 1.0})
            assert r["id"] == "four" and r["tag"] == "Demo/NoSuchTag", r
            assert r["status"].startswith("Bad_") and STATUS_NAME.match(r["status"]), r
            r = await request("ops", {"id": 5, "tag": "Demo/Sine", "v": 1.0})
            assert r["status"].startswith("Bad_"), f"Demo/Sine is not writable: {r}"
            dv = await opc.read("Demo", "Setpoint")
            assert dv.Value.Value == 42.5, f"refused writes changed nothing: {show(dv)}"
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


def test_request_with_a_user_without_write_role(gateway_factory, client_cert, mq, writer_hash, reader_hash):
    """The spec: `user` "empty or without `write`: Bad_UserAccessDenied" (a valid configuration)."""
    users = [writer_user(writer_hash), {"name": "reader", "password_hash": reader_hash, "roles": ["read"]}]
    gw, request, ready = request_setup(gateway_factory, mq, [("ro", "reader")], users)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await ready(opc)
            r = await request("ro", {"id": "three", "tag": "Demo/Setpoint", "v": 2.0})
            assert r == {"id": "three", "tag": "Demo/Setpoint", "status": "Bad_UserAccessDenied"}, r
            dv = await opc.read("Demo", "Setpoint")
            assert dv.Value.Value == 0.0, f"a refused write changed the value: {show(dv)}"
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# h. two brokers: deduplication, active broker, fail-over and fail-back
# ----------------------------------------------------------------------------------------------


def test_two_brokers_dedup_failover_and_failback(gateway_factory, client_cert, mq):
    p1, p2 = free_ports(2)
    a = mq.broker(p1, name="primary")
    b = mq.broker(p2, name="backup")
    sub_a = mq.subscriber(p1, "out/#")
    sub_b = mq.subscriber(p2, "out/#")
    tags = [
        {"name": "Both", "topic": "both/v", "type": "Int32", "payload": "json", "value_path": "/v", "timestamp_path": "/ts"},
        {"name": "BothRaw", "topic": "both/raw", "type": "Int32", "payload": "raw"},
        {"name": "FromBackup", "topic": "backup/v", "type": "Double", "payload": "raw"},
        {"name": "Marker", "topic": "mark/b", "type": "String", "payload": "raw"},
    ]
    publish = [{"tags": ["Fast/Counter"], "mode": "per_tag", "topic": "out/{path}"}]
    gw = start_gw(gateway_factory, [line("pair", p1, backup={"host": "127.0.0.1", "port": p2})],
                  [client("red", "pair", tags, publish, fail_back_s=2)],
                  simulators=[fast_sim(interval_ms=50)])
    pub_a, pub_b = mq.publisher(p1), mq.publisher(p2)
    topic = "out/Fast/Counter"
    both_up = f"primary 127.0.0.1:{p1} (active), backup 127.0.0.1:{p2} (standby)"

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await opc.wait_line("pair", lambda s: s["ActiveDevice"] == both_up, 10, f"ActiveDevice {both_up!r}")
            assert st["State"] == "Connected", st
            for br in (a, b):
                br.wait_subscribed("fxgate-red", [t["topic"] for t in tags])
            changes = await subscribe(opc, [("red", "Both"), ("red", "BothRaw")])

            # a message from both brokers is taken once (key: topic + timestamp_path, or topic + payload)
            base = now_ms() - 10_000
            docs = [json.dumps({"v": i, "ts": base + i}) for i in (1, 2, 3)]
            for d in docs:
                await pub(pub_a, "both/v", d)
            for raw in ("10", "11"):
                await pub(pub_a, "both/raw", raw)
            await opc.wait("red", "Both", lambda d: d.Value.Value == 3, 5, "Both=3 from the primary")
            await opc.wait("red", "BothRaw", lambda d: d.Value.Value == 11, 5, "BothRaw=11 from the primary")
            dup_before = metric(metrics(gw), "fxgate_mqtt_duplicates_dropped_total", "red") or 0
            for d in docs[:2]:  # the same messages, late, from the backup (older values: taken, they would show)
                await pub(pub_b, "both/v", d)
            await pub(pub_b, "both/raw", "10")
            await pub(pub_b, "mark/b", "m1")  # after the duplicates on the backup's connection
            await opc.wait("red", "Marker", lambda d: d.Value.Value == "m1", 5, "the marker from the backup")
            for name, value in (("Both", 3), ("BothRaw", 11)):
                dv = await opc.read("red", name)
                assert is_good(dv) and dv.Value.Value == value, f"{name}: a duplicate from the backup was taken: {show(dv)}"
            await until(lambda: changes.good_values("red/Both")[-1:] == [3], 2, "the notification of Both=3")
            both = changes.good_values("red/Both")
            raw = changes.good_values("red/BothRaw")
            assert both == sorted(set(both)) and raw == sorted(set(raw)), f"each value once, in order: {both} {raw}"
            dup_after = metric(metrics(gw), "fxgate_mqtt_duplicates_dropped_total", "red") or 0
            assert dup_after - dup_before >= 3, (dup_before, dup_after)

            # a value only the backup has
            await pub(pub_b, "backup/v", "7.5")
            await opc.wait("red", "FromBackup", lambda d: is_good(d) and d.Value.Value == 7.5, 5, "FromBackup=7.5")

            # publishing goes to the primary only
            n_b = len(sub_b.on(topic))
            n_a = len(sub_a.on(topic))
            await wait_for(sub_a, lambda ms: len([m for m in ms if m.topic == topic]) >= n_a + 10, 5, "10 more on the primary")
            assert len(sub_b.on(topic)) == n_b, "the standby broker got data messages"

            # kill the primary: publishing moves to the backup at once, no counter value lost
            a.kill()
            t_kill = time.monotonic()
            first_b = await wait_message(sub_b, lambda m: m.topic == topic and m.t > t_kill, 5, "data on the backup")
            assert first_b.t - t_kill <= 2.0, f"publishing moved to the backup after {first_b.t - t_kill:.2f} s"
            await wait_for(sub_b, lambda ms: len([m for m in ms if m.topic == topic and m.t > t_kill]) >= 10, 5,
                           "10 messages on the backup")
            before = [v for t, v in counter_values(sub_a, topic)][-20:]
            after = [v for t, v in counter_values(sub_b, topic) if t > t_kill]
            assert_no_gap(before + after, "Fast/Counter across the fail-over (primary, then backup)")
            assert min(after) <= max(before) + 1, (before[-3:], after[:3])
            st = await opc.line("pair")
            assert st["State"] == "Connected" and f"backup 127.0.0.1:{p2} (active)" in st["ActiveDevice"] \
                and "primary: connecting" in st["ActiveDevice"], st
            for name in ("FromBackup", "Both", "BothRaw", "Marker"):
                dv = await opc.read("red", name)
                assert is_good(dv), f"{name} with the backup still connected: {show(dv)}"
            await pub(pub_b, "backup/v", "8.5")
            await opc.wait("red", "FromBackup", lambda d: is_good(d) and d.Value.Value == 8.5, 5, "FromBackup=8.5")

            # the primary returns: publishing moves back after fail_back_s = 2
            t_start_wall = time.time()
            a.start()
            sub_a2 = mq.subscriber(p1, "out/#")
            t_restart = time.monotonic()
            standby = f"primary 127.0.0.1:{p1} (standby)"
            await opc.wait_line("pair", lambda s: standby in s["ActiveDevice"], 5, "the primary connected, standing by")
            # when the primary connected: fxgate's SourceTimestamp of that ActiveDevice text (a polled
            # time would be late under load and make the fail-back look early)
            dv = await opc.read("fxgate/Lines/pair", "ActiveDevice")
            t_conn_wall = ms(dv.SourceTimestamp) / 1000 if standby in dv.Value.Value and dv.SourceTimestamp else time.time()
            assert t_conn_wall >= t_start_wall - 0.05, (dv.SourceTimestamp, t_start_wall)
            first_a = await wait_message(sub_a2, lambda m: m.topic == topic, 8, "data on the primary again")
            assert first_a.wall - t_conn_wall >= 1.9, f"fail-back {first_a.wall - t_conn_wall:.2f} s after the primary connected, fail_back_s = 2"
            assert first_a.t - t_restart <= 8.0, f"fail-back {first_a.t - t_restart:.2f} s after the primary's restart"
            st = await opc.wait_line("pair", lambda s: s["ActiveDevice"] == both_up, 3, "primary active again")
            t_back = first_a.t
            await wait_for(sub_a2, lambda ms: len([m for m in ms if m.topic == topic]) >= 10, 5, "10 on the primary")
            on_b = counter_values(sub_b, topic)
            late_b = [v for t, v in on_b if t > t_back + 1.0]
            assert not late_b, f"the backup still got data after the fail-back: {late_b[:10]}"
            b_tail = [v for t, v in on_b if t > t_restart]
            assert b_tail, "the backup published while the primary waited fail_back_s"
            a2 = [v for t, v in counter_values(sub_a2, topic)]
            assert_no_gap(b_tail + a2, "Fast/Counter across the fail-back (backup, then primary)")
        finally:
            await opc.close()

    run(main())
    log = b.log
    assert re.search(r"New client connected from 127\.0\.0\.1:\d+ as fxgate-red ", log), "the same client id on both"
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# i. both brokers down
# ----------------------------------------------------------------------------------------------


def test_both_brokers_down_no_communication(gateway_factory, client_cert, mq):
    p1, p2 = free_ports(2)
    a = mq.broker(p1, name="primary")
    b = mq.broker(p2, name="backup")
    tags = [{"name": "T", "topic": "t/v", "type": "Double", "payload": "raw"},
            {"name": "U", "topic": "t/u", "type": "Double", "payload": "raw"}]
    gw = start_gw(gateway_factory, [line("pair", p1, backup={"host": "127.0.0.1", "port": p2})],
                  [client("red", "pair", tags)])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("pair", lambda s: "(active)" in s["ActiveDevice"] and "(standby)" in s["ActiveDevice"],
                                10, "both brokers")
            for br in (a, b):
                br.wait_subscribed("fxgate-red", ["t/v", "t/u"])
            await asyncio.to_thread(mqtt_publish, p1, "t/v", "1.5")
            good = await opc.wait("red", "T", lambda d: is_good(d) and d.Value.Value == 1.5, 5, "T=1.5")
            a.kill()
            await asyncio.sleep(0.3)
            dv = await opc.read("red", "T")
            assert is_good(dv), f"one broker left: {show(dv)}"
            b.kill()
            dv = await opc.wait("red", "T", lambda d: code(d) == SC.BadNoCommunication, 5, "Bad_NoCommunication")
            assert dv.Value.Value == 1.5 and ms(dv.SourceTimestamp) == ms(good.SourceTimestamp), show(dv)
            dv = await opc.read("red", "U")
            assert not is_good(dv), f"U never had a value: {show(dv)}"
            st = await opc.line("pair")
            assert st["State"] != "Connected", st
            mark = b.log_mark()
            a.start()
            b.start()
            await opc.wait_line("pair", lambda s: "(active)" in s["ActiveDevice"] and "(standby)" in s["ActiveDevice"],
                                10, "both brokers back")
            b.wait_subscribed("fxgate-red", ["t/v"], since=mark)
            dv = await opc.read("red", "T")
            assert code(dv) == SC.BadNoCommunication, f"Good only with the next message: {show(dv)}"
            await asyncio.to_thread(mqtt_publish, p2, "t/v", "2.5")
            await opc.wait("red", "T", lambda d: is_good(d) and d.Value.Value == 2.5, 5, "Good with the next message")
        finally:
            await opc.close()

    run(main())
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# j. store-and-forward while the broker is down
# ----------------------------------------------------------------------------------------------


def test_store_and_forward_across_a_broker_outage(gateway_factory, client_cert, mq):
    """The broker keeps the subscriber's session (persistence, clean_session = false, QoS 1): what
    fxgate sends after the restart reaches the subscriber whether it reconnects first or not."""
    port, = free_ports(1)
    broker = mq.broker(port, persistence=True)
    sub = mq.subscriber(port, "saf/#", client_id="saf-subscriber", clean=False)
    publish = [{"tags": ["Fast/Counter"], "mode": "per_tag", "topic": "saf/{path}"}]
    gw = start_gw(gateway_factory, [line("broker", port)], [client("saf", "broker", publish=publish, publish_qos=1)],
                  simulators=[fast_sim(interval_ms=50)])
    topic = "saf/Fast/Counter"
    outage_s = 10.0

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await wait_for(sub, lambda ms: len(ms) >= 10, 10, "10 counter values before the outage")
            await asyncio.to_thread(broker.stop)
            t_stop = time.monotonic()
            await opc.wait_line("broker", lambda s: s["State"] != "Connected", 5, "the loss")
            buffered = []
            while time.monotonic() < t_stop + outage_s:
                buffered.append(metric(metrics(gw), "fxgate_mqtt_buffered_messages", "saf") or 0)
                await asyncio.sleep(0.5)
            assert buffered[-1] >= 100, f"buffered during a {outage_s} s outage at 20 values/s: {buffered}"
            at_restart = (await opc.read("Fast", "Counter")).Value.Value
            await asyncio.to_thread(broker.start)
            await opc.wait_line("broker", connected, 5, "reconnected")
            await wait_for(sub, lambda ms: any(json_of(m)["v"] >= at_restart + 20 for m in ms if m.topic == topic), 15,
                           "the counter well past the restart")
            await until(lambda: (metric(metrics(gw), "fxgate_mqtt_buffered_messages", "saf") or 0) < 5, 5,
                        "the buffer sent")
            return t_stop, at_restart
        finally:
            await opc.close()

    t_stop, at_restart = run(main())
    values = [json_of(m)["v"] for m in sub.on(topic)]
    assert_in_order_without_gaps(values, "Fast/Counter across the outage")
    assert values[0] < at_restart - 150 and max(values) >= at_restart + 20, (values[:3], at_restart, values[-3:])
    assert len(sub.session_present) >= 2 and sub.session_present[-1] is True, sub.session_present
    text = metrics(gw)
    assert (metric(text, "fxgate_mqtt_dropped_messages_total", "saf") or 0) == 0
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# k. refused credentials
# ----------------------------------------------------------------------------------------------


def test_refused_credentials(gateway_factory, client_cert, mq):
    port, = free_ports(1)
    broker = mq.broker(port, passwords={"fxgate": "right-pw"})
    tags = [{"name": "T", "topic": "auth/t", "type": "Double", "payload": "raw"}]
    gw = start_gw(gateway_factory, [line("l_bad", port), line("l_good", port)],
                  [client("bad", "l_bad", tags, username="fxgate", password="wrong-pw"),
                   client("good", "l_good", tags, username="fxgate", password="right-pw")])

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line("l_good", connected, 10, "the right password connects")
            broker.wait_subscribed("fxgate-good", ["auth/t"])
            p = mq.publisher(port, username="fxgate", password="right-pw")
            await pub(p, "auth/t", "4.5")
            await opc.wait("good", "T", lambda d: is_good(d) and d.Value.Value == 4.5, 5, "good/T=4.5")
            st = await opc.wait_line("l_bad", lambda s: "refused" in s["LastError"], 10, "a refused connection")
            err = st["LastError"].lower()
            assert "not authorized" in err or "bad user name or password" in err, st
            assert st["State"] != "Connected", st
            await opc.wait_line("l_bad", lambda s: s["ReconnectCount"] >= 1, 10, "retries")
            dv = await opc.read("bad", "T")
            assert not is_good(dv), show(dv)
        finally:
            await opc.close()

    run(main())
    # mosquitto refused fxgate-bad (before a client id is accepted it names the client by address)
    assert "Sending CONNACK to 127.0.0.1 (0, 5)" in broker.log, broker.log[-3000:]
    assert "as fxgate-bad" not in broker.log
    assert gw.proc.poll() is None
    no_panic(gw)


# ----------------------------------------------------------------------------------------------
# l. TLS: certificates, PSK, SNI
# ----------------------------------------------------------------------------------------------


def in_and_out(gw, client_cert, mq, broker, port: int, tls=None, line_name: str = "broker"):
    """A value in (published on the broker, read over OPC UA as mqtt/In) and out (Demo/Counter
    published by fxgate on out/Demo/Counter)."""
    sub = mq.subscriber(port, "out/#", tls)
    p = mq.publisher(port, tls)

    async def main():
        opc = await Opc.connect(gw, client_cert)
        try:
            await opc.wait_line(line_name, connected, 10, "Connected")
            broker.wait_subscribed("fxgate-mqtt", ["in/v"])
            await pub(p, "in/v", "6.25")
            await opc.wait("mqtt", "In", lambda d: is_good(d) and d.Value.Value == 6.25, 5, "In=6.25")
            m = await wait_message(sub, lambda m: m.topic == "out/Demo/Counter", 5, "Demo/Counter from fxgate")
            assert json_of(m)["tag"] == "Demo/Counter"
            return await opc.line(line_name)
        finally:
            await opc.close()

    return run(main())


IN_TAG = [{"name": "In", "topic": "in/v", "type": "Double", "payload": "raw"}]
OUT = [{"tags": ["Demo/Counter"], "mode": "per_tag", "topic": "out/{path}"}]


def test_tls_with_partner_certificates(gateway_factory, client_cert, mq, pki):
    port, = free_ports(1)
    broker = mq.broker(port, name="tls", mode="tls", tls=BrokerTls(pki.server_cert, pki.server_key))
    lines = [line("broker", port, tls={"partner_certificates": "#APPDIR#/ca.pem"}),
             line("untrusted", port, tls={"partner_certificates": "#APPDIR#/other_ca.pem"})]
    gw = start_gw(gateway_factory, lines,
                  [client("mqtt", "broker", IN_TAG, OUT), client("nope", "untrusted", IN_TAG)],
                  files={"ca.pem": pki.ca, "other_ca.pem": pki.other_ca})
    in_and_out(gw, client_cert, mq, broker, port, tls_context(pki.ca))

    async def untrusted():
        opc = await Opc.connect(gw, client_cert)
        try:
            st = await opc.wait_line("untrusted", lambda s: s["LastError"] != "", 10, "a TLS error")
            assert st["State"] != "Connected", st
        finally:
            await opc.close()

    run(untrusted())
    assert "as fxgate-mqtt" in broker.log and "as fxgate-nope" not in broker.log
    no_panic(gw)


def test_tls_psk(gateway_factory, client_cert, mq):
    psk_port, plain_port = free_ports(2)
    broker = mq.broker(psk_port, name="psk", mode="psk", psk=PSK, plain_port=plain_port)
    tls = {"pre_shared_key": PSK.key_hex, "psk_identity": PSK.identity}
    gw = start_gw(gateway_factory, [line("broker", psk_port, tls=tls)], [client("mqtt", "broker", IN_TAG, OUT)])
    in_and_out(gw, client_cert, mq, broker, plain_port)  # the test clients use the broker's plain listener
    log = broker.log
    m = re.search(r"New client connected from 127\.0\.0\.1:(\d+) as fxgate-mqtt ", log)
    assert m, log[-3000:]
    assert f"New connection from 127.0.0.1:{m.group(1)} on port {psk_port}." in log, "fxgate came in on the PSK listener"
    no_panic(gw)


def test_tls_sni_host_name(gateway_factory, client_cert, mq, pki):
    plain, tls_port = free_ports(2)
    broker = mq.broker(plain)
    term = mq.add(SniTerminator(tls_port, plain, pki.server_cert, pki.server_key))
    gw = start_gw(gateway_factory, [line("broker", tls_port, host="localhost", tls={"partner_certificates": str(pki.ca)})],
                  [client("mqtt", "broker", IN_TAG, OUT)])
    in_and_out(gw, client_cert, mq, broker, plain)
    assert term.server_names and set(term.server_names) == {"localhost"}, term.server_names
    assert not term.errors, term.errors
    no_panic(gw)
