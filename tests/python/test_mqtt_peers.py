"""Self-test of the MQTT test peers (mqtt_peers.py) without fxgate: the mosquitto broker plain,
TLS (CA, required client certificates), TLS-PSK (mosquitto_pub/mosquitto_sub and `openssl
s_client -psk`: Python 3.11's ssl has no PSK), a password file refusing a login, kill/stop and
restart on the same port, a persistent session across a graceful restart, a bridged pair, and the
SNI-recording TLS terminator. If these fail, test_mqtt.py's failures say nothing about fxgate."""

from __future__ import annotations

import subprocess

import pytest

from fxgate_testlib import free_ports
from modbus_peers import make_pki
from mqtt_peers import (
    BrokerPsk,
    BrokerTls,
    MosquittoSub,
    MqttPeers,
    Publisher,
    SniTerminator,
    bridged_pair,
    wait_bridged,
    mosquitto_pub,
    psk_args,
    publish,
    tls_context,
    try_connect,
)

PSK = BrokerPsk(identity="gw1", key_hex="00112233445566778899aabbccddeeff", hint="fxgate-test")


@pytest.fixture
def mq(tmp_path):
    peers = MqttPeers(tmp_path)
    yield peers
    peers.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("mqtt-peers-pki"))


def test_plain_pub_sub_qos_and_retained(mq):
    port, = free_ports(1)
    broker = mq.broker(port)
    sub = mq.subscriber(port, ["a/#", "b/+"], qos=1)
    publish(port, "a/x", b"hello", qos=1)
    publish(port, "b/y", "21.5", qos=0)
    publish(port, "b/y/z", "not matched", qos=1)
    publish(port, "a/q2", b"\x00\x01binary", qos=2)
    sub.wait_for(lambda ms: len(ms) >= 3, 5, "three messages")
    got = {(m.topic, m.payload, m.retain) for m in sub.messages}
    assert got == {("a/x", b"hello", False), ("b/y", b"21.5", False), ("a/q2", b"\x00\x01binary", False)}, got
    assert {m.topic: m.qos for m in sub.messages} == {"a/x": 1, "b/y": 0, "a/q2": 1}  # min(pub, sub QoS)
    # retained: a later subscriber gets the last retained value with the retain flag
    publish(port, "r/t", "old", retain=True)
    publish(port, "r/t", "new", retain=True)
    late = mq.subscriber(port, "r/#")
    m = late.wait_message(lambda m: m.topic == "r/t", 5, "the retained message")
    assert (m.payload, m.retain) == (b"new", True)
    # a live subscriber gets it without the flag
    live = sub.wait_message(lambda m: m.topic == "b/y" and m.payload == b"21.5", 1)
    assert not live.retain
    # the broker's log names every client with its protocol, clean flag and keep-alive
    assert f"as {sub.client_id} (p2, c1, k30)" in broker.log


def test_mqtt5_subscriber_and_publisher(mq):
    port, = free_ports(1)
    broker = mq.broker(port)
    sub = mq.subscriber(port, "v5/#", version="5")
    p = mq.publisher(port, version="5")
    p.publish("v5/a", "x", qos=2)
    sub.wait_message(lambda m: m.topic == "v5/a" and m.payload == b"x", 5)
    assert f"as {sub.client_id} (p5, c1, k30)" in broker.log


def test_tls_with_ca_and_required_client_certificate(mq, pki):
    port, req_port = free_ports(2)
    mq.broker(port, name="tls", mode="tls", tls=BrokerTls(pki.server_cert, pki.server_key))
    ctx = tls_context(pki.ca, check_hostname=True)  # the server cert has SAN 127.0.0.1 and localhost
    sub = mq.subscriber(port, "t/#", ctx)
    publish(port, "t/1", "over tls", tls=tls_context(pki.ca))
    sub.wait_message(lambda m: m.payload == b"over tls", 5)
    # an untrusted CA: the handshake fails, no CONNACK
    with pytest.raises(Exception):
        try_connect(port, tls=tls_context(pki.other_ca), timeout=2)

    mq.broker(req_port, name="tls-req", mode="tls",
              tls=BrokerTls(pki.server_cert, pki.server_key, ca=pki.ca, require_certificate=True))
    rc = try_connect(req_port, tls=tls_context(pki.ca, pki.client_cert, pki.client_key))
    assert not rc.is_failure, rc
    with pytest.raises(Exception):
        try_connect(req_port, tls=tls_context(pki.ca), timeout=2)  # no client certificate


def test_psk_listener(mq):
    psk_port, plain_port = free_ports(2)
    broker = mq.broker(psk_port, name="psk", mode="psk", psk=PSK, plain_port=plain_port)
    # openssl s_client completes a PSK handshake (TLS 1.2 and 1.3) with the broker's key
    for version in ("-tls1_2", "-tls1_3"):
        res = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{psk_port}", "-psk", PSK.key_hex,
                              "-psk_identity", PSK.identity, version], input=b"", capture_output=True, timeout=15)
        out = res.stdout.decode() + res.stderr.decode()
        assert "Cipher is" in out and "Cipher is (NONE)" not in out, out
    # a wrong key fails
    res = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{psk_port}", "-psk", "ff" * 16,
                          "-psk_identity", PSK.identity, "-tls1_2"], input=b"", capture_output=True, timeout=15)
    assert "Cipher is (NONE)" in res.stdout.decode() + res.stderr.decode() or res.returncode != 0
    # MQTT over PSK with mosquitto_sub / mosquitto_pub; the plain listener of the same broker sees it
    plain_sub = mq.subscriber(plain_port, "psk/#")
    msub = mq.add(MosquittoSub(psk_port, "psk/#", *psk_args(PSK)))
    broker.wait_log(f"Sending SUBACK to {msub.client_id}", 5)
    r = mosquitto_pub(psk_port, "psk/x", "via psk", *psk_args(PSK))
    assert r.returncode == 0, r.stderr.decode()
    msub.wait_text("psk/x via psk", 5)
    plain_sub.wait_message(lambda m: m.topic == "psk/x" and m.payload == b"via psk", 5)
    # and the other direction: paho on the plain listener -> mosquitto_sub over PSK
    publish(plain_port, "psk/y", "from plain")
    msub.wait_text("psk/y from plain", 5)
    bad = mosquitto_pub(psk_port, "psk/z", "x", "--psk", "ff" * 16, "--psk-identity", PSK.identity)
    assert bad.returncode != 0


def test_password_file_refuses_wrong_credentials(mq):
    port, = free_ports(1)
    mq.broker(port, name="auth", passwords={"fxgate": "right-pw", "other": "x"})
    assert not try_connect(port, "fxgate", "right-pw").is_failure
    for version in ("3.1.1", "5"):
        wrong = try_connect(port, "fxgate", "wrong-pw", version=version)
        anon = try_connect(port, version=version)
        # mosquitto 2.0 answers a wrong password with "not authorised" (3.1.1 return code 5; v5 0x87)
        assert wrong.is_failure and wrong.value == 135 and str(wrong) == "Not authorized", (version, wrong)
        assert anon.is_failure and anon.value == 135, (version, anon)
    with pytest.raises(AssertionError, match="refused"):
        Publisher(port, username="fxgate", password="nope")


def test_kill_stop_and_restart_on_the_same_port(mq):
    port, = free_ports(1)
    broker = mq.broker(port)
    sub = mq.subscriber(port, "k/#")
    publish(port, "k/1", "before")
    sub.wait_message(lambda m: m.payload == b"before", 5)
    broker.kill()
    assert not broker.running
    with pytest.raises(Exception):
        publish(port, "k/2", "down", timeout=1)
    broker.start()
    assert broker.port == port and broker.starts == 2
    sub.wait_subscribed(10, count=2)  # paho reconnected and subscribed again
    publish(port, "k/3", "after kill")
    sub.wait_message(lambda m: m.payload == b"after kill", 5)
    broker.restart(graceful=True)
    sub.wait_subscribed(10, count=3)
    publish(port, "k/4", "after stop")
    sub.wait_message(lambda m: m.payload == b"after stop", 5)
    assert [m.payload for m in sub.messages] == [b"before", b"after kill", b"after stop"]


def test_persistent_session_survives_a_graceful_restart(mq):
    """What test_mqtt's store-and-forward test relies on: with persistence, a clean_session=false
    subscriber's subscription and the QoS 1 messages queued for it while it is offline survive a
    graceful broker restart."""
    port, = free_ports(1)
    broker = mq.broker(port, name="persist", persistence=True)
    sub = mq.subscriber(port, "p/#", client_id="persistent-sub", clean=False)
    publish(port, "p/1", "1")
    sub.wait_message(lambda m: m.payload == b"1", 5)
    sub.close()
    broker.restart(graceful=True)
    for i in range(2, 6):
        publish(port, f"p/{i}", str(i))  # queued for the offline subscriber
    again = mq.subscriber(port, "p/#", client_id="persistent-sub", clean=False)
    again.wait_for(lambda ms: len(ms) >= 4, 5, "the queued messages")
    assert [m.payload for m in again.messages] == [b"2", b"3", b"4", b"5"]
    assert again.session_present[0] is True


def test_bridged_pair(mq, tmp_path):
    pa, pb = free_ports(2)
    a, b = bridged_pair(tmp_path / "bridge", pa, pb)
    mq.add(b).start()
    mq.add(a).start()
    b.wait_log("as broker-a.a-to-b", 10)  # mosquitto names the bridge client <hostname>.<connection>
    sub_b = mq.subscriber(pb, ["x/#", "bridge/#"])
    sub_a = mq.subscriber(pa, "x/#")
    # the bridge subscribes on B right after connecting: publish probes until one crosses
    wait_bridged(pa, sub_b)
    publish(pa, "x/a2b", "from A")
    publish(pb, "x/b2a", "from B")
    sub_b.wait_message(lambda m: m.topic == "x/a2b" and m.payload == b"from A", 5)
    sub_a.wait_message(lambda m: m.topic == "x/b2a" and m.payload == b"from B", 5)
    # no loop: each message arrives once on each side
    assert len(sub_b.on("x/a2b")) == 1 and len(sub_a.on("x/b2a")) == 1


def test_sni_terminator_records_the_server_name(mq, pki):
    plain, tls_port = free_ports(2)
    mq.broker(plain)
    term = mq.add(SniTerminator(tls_port, plain, pki.server_cert, pki.server_key))
    sub = mq.subscriber(plain, "s/#")
    p = Publisher(tls_port, tls_context(pki.ca, check_hostname=True), host="localhost")
    try:
        p.publish("s/1", "through the terminator")
    finally:
        p.close()
    sub.wait_message(lambda m: m.payload == b"through the terminator", 5)
    assert try_connect(tls_port, tls=tls_context(pki.ca)).value == 0  # by address: no SNI
    assert term.server_names == ["localhost", None], term.server_names
    assert term.handshakes == 2 and not term.errors, term.errors
