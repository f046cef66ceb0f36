"""The MQTT client's store-and-forward across a kill -9 (docs/interfaces.md, "Store-and-forward"): while no
broker takes its messages the gateway keeps them; messages beyond `buffer_memory_bytes` are in spill segments
on disk, which survive the kill and are sent after the next start. The bound: a kill loses at most what was
held in memory. Measured here with a real broker (mosquitto) and a paho-mqtt subscriber."""

from __future__ import annotations

import json
import time

import pytest

from fxgate_testlib import free_ports
from modbus_peers import no_panic
from mqtt_peers import port_accepts
from test_mqtt import client, fast_sim, line, start_gw
from test_mqtt import mq  # noqa: F401 - fixture

TOPIC = "dur/Fast/Counter"


def counter_config(memory_bytes: int) -> dict:
    return client("dur", "broker", publish=[{"tags": ["Fast/*"], "topic": "dur/{path}"}],
                  publish_qos=1, buffer_memory_bytes=memory_bytes)


@pytest.mark.parametrize("memory_bytes", [0, 2048])
def test_a_kill_loses_at_most_what_was_in_memory(gateway_factory, mq, memory_bytes):  # noqa: F811
    dead_port, port = free_ports(2)
    assert not port_accepts(dead_port)
    # No broker where the gateway looks: everything is kept.
    gw = start_gw(gateway_factory, [line("broker", dead_port)], [counter_config(memory_bytes)],
                  simulators=[fast_sim("Fast", 20)])
    time.sleep(3)
    t_kill = time.time()
    gw.proc.kill()
    gw.proc.wait(10)
    # Restarted on the same data dir, now with a broker and a subscriber.
    mq.broker(port)
    sub = mq.subscriber(port, "dur/#")
    gw.config["line"][0]["port"] = port
    gw.start()
    sub.wait_for(lambda ms: any(json.loads(m.payload)["st"] > iso(t_kill + 0.5) for m in ms if m.topic == TOPIC), 20,
                 "messages of the restarted gateway")
    samples = [json.loads(m.payload) for m in sub.on(TOPIC)]
    # The start-up image before the first value is Bad_WaitingForInitialData with no value: not counted.
    old = sorted({s["v"] for s in samples if isinstance(s["v"], int) and s["st"] < iso(t_kill)})
    # 3 s at 20 ms: about 150 values were made before the kill, each message about 90 bytes.
    produced_at_least = 100
    if memory_bytes == 0:
        assert old, "every message was on disk: they come back"
        missing = sorted(set(range(0, old[-1] + 1)) - set(old))
        assert not missing and len(old) >= produced_at_least, \
            f"with buffer_memory_bytes = 0 a kill loses nothing: missing {missing[:20]} of 0..{old[-1]}"
    else:
        # The first messages were held in memory (≤ memory_bytes) and are lost; everything spilled after them is back.
        assert old, "the spilled messages come back"
        lost = old[0]
        assert 0 < lost <= memory_bytes // 60, f"lost {lost} messages, more than {memory_bytes} bytes of them"
        missing = sorted(set(range(old[0], old[-1] + 1)) - set(old))
        assert not missing, f"spilled messages missing: {missing[:20]}"
        assert old[-1] >= produced_at_least
    print(f"buffer_memory_bytes = {memory_bytes}: {len(old)} messages from before the kill delivered, "
          f"{old[0] if old else 'all'} lost")
    no_panic(gw)


def iso(epoch_s: float) -> str:
    t = time.gmtime(epoch_s)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(epoch_s * 1000) % 1000:03d}Z"
