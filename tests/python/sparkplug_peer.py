"""A Sparkplug B host application for the tests: the Sparkplug B protobuf module generated from the
official `sparkplug_b.proto` (Eclipse Tahu, package org.eclipse.tahu.protobuf) as the maintained PyPI
package `pysparkplug` ships it (`pysparkplug/_protobuf/sparkplug_b_pb2.py`, loaded by file path: the
package itself wants paho-mqtt < 2, the tests use 2.x), decoding what a paho-mqtt subscriber saw,
and the host's own messages: STATE (Sparkplug 3.0 JSON, retained) and NCMD/DCMD payloads."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import pathlib
import time
from dataclasses import dataclass

NS = "spBv1.0"
# Sparkplug B datatypes (§6.4.16)
INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME = range(1, 14)


def _load_pb2():
    dist = importlib.metadata.distribution("pysparkplug")
    files = [f for f in (dist.files or []) if str(f).endswith("sparkplug_b_pb2.py")]
    assert files, "pysparkplug has no sparkplug_b_pb2.py (scripts/test installs pysparkplug)"
    spec = importlib.util.spec_from_file_location("sparkplug_b_pb2", pathlib.Path(dist.locate_file(files[0])))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pb = _load_pb2()


@dataclass
class Spb:
    """One Sparkplug message a subscriber received."""
    topic: str
    kind: str            # NBIRTH, DDATA, ...
    device: str | None
    payload: object      # pb.Payload
    t: float             # receive time (time.monotonic(), as mqtt_peers.Msg)

    @property
    def seq(self) -> int | None:
        return self.payload.seq if self.payload.HasField("seq") else None

    def metric(self, name: str):
        for m in self.payload.metrics:
            if m.name == name:
                return m
        raise AssertionError(f"{self.topic}: no metric {name!r} in {[m.name for m in self.payload.metrics]}")


def decode(msg) -> Spb | None:
    """A paho message (mqtt_peers.Msg) an edge node published on spBv1.0/<group>/<TYPE>/<node>[/<device>]
    as Spb; None for STATE and for the host's own NCMD/DCMD."""
    parts = msg.topic.split("/")
    if len(parts) < 4 or parts[0] != NS or parts[1] == "STATE" or parts[2] in ("NCMD", "DCMD"):
        return None
    p = pb.Payload.FromString(msg.payload)
    return Spb(msg.topic, parts[2], parts[4] if len(parts) > 4 else None, p, msg.t)


def decoded(sub) -> list[Spb]:
    return [d for d in (decode(m) for m in sub.messages) if d is not None]


def value(m):
    """A metric's value (None when is_null)."""
    kind = m.WhichOneof("value")
    return None if kind is None else getattr(m, kind)


def properties(m) -> dict:
    return {k: value(v) for k, v in zip(m.properties.keys, m.properties.values)}


def state(online: bool) -> str:
    return json.dumps({"online": online, "timestamp": int(time.time() * 1000)})


def command(metrics: list[tuple[str | None, int | None, str, object]]) -> bytes:
    """An NCMD/DCMD payload: (name, alias, oneof field, value) per metric."""
    p = pb.Payload()
    p.timestamp = int(time.time() * 1000)
    for name, alias, field, v in metrics:
        m = p.metrics.add()
        if name is not None:
            m.name = name
        if alias is not None:
            m.alias = alias
        m.timestamp = p.timestamp
        setattr(m, field, v)
    return p.SerializeToString()
