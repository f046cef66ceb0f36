"""Soak and chaos scenarios (issue 18 §3): the same code runs short in the test suite
(`test_soak.py`) and long on demand (`bench/soak.sh`, results in bench/README.md).

Each scenario starts its own peers and gateway, runs its faults, and returns a `Result`: the
figures it measured and the list of requirements it saw broken (empty when all held). Nothing
here is mocked: the upstreams are async-opcua servers (`peer-server`), the Modbus devices
pymodbus, the WebSocket server Python `websockets`, and what fxgate delivered is observed by an
OPC UA client (`fxgate-load --scenario watch`, one JSON report line per 100 ms) or by the
WebSocket server itself.

- `aggregation`: two upstreams with N monitored items each through fxgate; upstream "a" is
  killed (SIGKILL) and restarted `cycles` times at random intervals. Each time its items must
  turn BadNoCommunication within 5 s and Good within 5 s of its return, while upstream "b"'s
  items never go Bad and lose no update (SourceTimestamp gaps, Overflow bits, missing
  NotificationMessages); fxgate's RSS after the last cycle within 5 % of that after the first.
- `modbus`: primary and backup devices of one line killed and restarted `flaps` times in
  random order, one of them always up; the tags may be Bad for at most one poll plus 2 s.
- `websocket`: 1,000 changes/s to a WebSocket server that is away `outages` times for
  `outage_s`: nothing lost, order kept. Then fxgate is killed with SIGKILL, once mid-stream and
  once while the server is away: after the restart everything spilled before the kill is sent,
  and the changes lost (made before the kill, never delivered) span a bounded window.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from fxgate_testlib import GatewayFactory, TAGS_NS_URI, free_port, free_ports, fxgate_bin, wait_port_bindable  # noqa: E402


@dataclass
class Mode:
    """How long and how large each scenario runs."""

    name: str
    agg_items: int
    agg_cycles: int
    agg_up_s: tuple[float, float]
    agg_down_s: tuple[float, float]
    modbus_flaps: int
    ws_outages: int
    ws_outage_s: float


SHORT = Mode("short", agg_items=1000, agg_cycles=3, agg_up_s=(2, 4), agg_down_s=(1, 3), modbus_flaps=8,
             ws_outages=2, ws_outage_s=5)
LONG = Mode("long", agg_items=10_000, agg_cycles=20, agg_up_s=(4, 12), agg_down_s=(2, 10), modbus_flaps=50,
            ws_outages=5, ws_outage_s=60)

UPSTREAM_INTERVAL_MS = 1000  # how often every upstream variable changes
BAD_WITHIN_S = 5.0  # an upstream lost: its items BadNoCommunication within this
GOOD_WITHIN_S = 5.0  # an upstream back: its items Good within this
RSS_DRIFT = 0.05  # RSS after the last aggregation cycle against after the first
MODBUS_POLL_MS = 200
MODBUS_BAD_MAX_S = MODBUS_POLL_MS / 1000 + 2.0
WS_PUBLISH_MS = 100
WS_CHANGES_PER_S = 1000
# A SIGKILL may lose the changes of the message being collected (one publish interval) and the
# time to hand it to the buffer; this bound is the requirement's number of milliseconds.
WS_KILL_LOSS_MAX_MS = WS_PUBLISH_MS + 400


class SoakFailure(AssertionError):
    """A scenario could not go on (a peer did not start, a state never came)."""


@dataclass
class Result:
    """What a scenario measured (`figures`) and the requirements it saw broken."""

    scenario: str
    figures: dict = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> None:
        if not ok:
            self.violations.append(text)


def bin_dir() -> Path:
    """Where fxgate is, and with it peer-server and fxgate-load (same cargo profile)."""
    return Path(fxgate_bin()).parent


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SoakFailure(f"no VmRSS for pid {pid}")


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Proc:
    """A child process whose output lines are kept; `ready` is a text it prints when ready."""

    def __init__(self, name: str, cmd: list[str], ready: str | None):
        self.name, self.cmd, self.ready = name, cmd, ready
        self.proc: subprocess.Popen | None = None
        self.out: list[str] = []
        self.err: list[str] = []
        self.on_line: Callable[[str], None] | None = None

    def start(self, timeout: float = 30.0) -> float:
        """Starts it; returns the time.time() at which it said it was ready."""
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        proc, ready_at = self.proc, []

        def pump(stream, sink, is_err):
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace")
                if self.ready and self.ready in line and not ready_at:
                    ready_at.append(time.time())
                if not is_err and self.on_line is not None:
                    self.on_line(line)
                else:
                    sink.append(line)
            stream.close()

        threading.Thread(target=pump, args=(proc.stdout, self.out, False), daemon=True).start()
        threading.Thread(target=pump, args=(proc.stderr, self.err, True), daemon=True).start()
        if self.ready is None:
            return time.time()
        deadline = time.monotonic() + timeout
        while not ready_at:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SoakFailure(f"{self.name} did not start: {''.join(self.err[-20:])}")
            time.sleep(0.02)
        return ready_at[0]

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Watch:
    """`fxgate-load --scenario watch` on a gateway: its report lines as they come, each with the
    per-group keys `<label>.good`, `.bad`, `.nocomm`, `.unseen`, `.gap_updates`, `.overflow`, ..."""

    def __init__(self, url: str, groups: list[tuple[str, int, float, str]], work: Path):
        cmd = [str(bin_dir() / "fxgate-load"), "--url", url, "--scenario", "watch", "--duration-s", "1000000",
               "--report-ms", "100", "--sampling-ms", "0", "--publishing-ms", "100", "--queue-size", "100",
               "--pki-dir", str(work / "watch-pki"), "--threads", "1"]
        for label, count, interval, prefix in groups:
            cmd += ["--group", f"{label},{count},{interval},{prefix}"]
        self.lines: list[dict] = []
        self.lock = threading.Lock()
        self.proc = Proc("fxgate-load watch", cmd, None)
        self.proc.on_line = self._line

    def _line(self, raw: str) -> None:
        try:
            d = json.loads(raw)
        except ValueError:
            self.proc.err.append(raw)
            return
        with self.lock:
            self.lines.append(d)

    def start(self) -> "Watch":
        self.proc.start()
        return self

    def last(self) -> dict:
        with self.lock:
            return dict(self.lines[-1]) if self.lines else {}

    def since(self, t: float) -> list[dict]:
        with self.lock:
            return [d for d in self.lines if d["t"] >= t]

    def wait(self, pred: Callable[[dict], bool], timeout: float, what: str, after: float | None = None) -> float:
        """Waits for a report line made at or after `after` (default: now) that satisfies `pred`;
        returns that line's time (time.time())."""
        after = time.time() if after is None else after
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            with self.lock:
                new = self.lines[seen:]
                seen = len(self.lines)
            for d in new:
                if d["t"] >= after and pred(d):
                    return d["t"]
            if self.proc.proc is not None and self.proc.proc.poll() is not None:
                raise SoakFailure(f"the watching client exited: {''.join(self.proc.err[-20:])}")
            if time.monotonic() > deadline:
                raise SoakFailure(f"{what}: not within {timeout:.0f} s; last report {self.last()}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()


def all_good(label: str, n: int) -> Callable[[dict], bool]:
    return lambda d: d.get(f"{label}.good") == n


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def _stats(xs: list[float]) -> dict:
    return {"n": len(xs), "p50": round(percentile(xs, 50), 3), "max": round(max(xs, default=0.0), 3)}


# ----------------------------------------------------------------------------------------------
# Aggregation
# ----------------------------------------------------------------------------------------------


def fresh(work: Path) -> Path:
    """The scenario's directory, emptied: a gateway must not find what an earlier run left."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def aggregation(work: Path, mode: Mode, rng: random.Random) -> Result:
    res = Result("aggregation")
    work = fresh(work)
    n = mode.agg_items
    ports = free_ports(2)
    peers = {}
    for name, port in zip("ab", ports):
        peers[name] = Proc(f"upstream {name}", [
            str(bin_dir() / "peer-server"), "--host", "127.0.0.1", "--port", str(port), "--tags", str(n),
            "--interval-ms", str(UPSTREAM_INTERVAL_MS), "--pki-dir", str(work / f"peer-{name}-pki"),
        ], "peer-server ready")
    factory = GatewayFactory(work / "agg")
    gw = factory.create({
        "server": {"allow_none": True, "anonymous": True, "anonymous_roles": ["read"],
                   "accept_all_certificates": True},
        "log": {"level": "warn,fxgate::topology=info,fxgate_upstream=info"},
        "simulator": [],
        "upstream": [{"name": name, "endpoint_url": f"opc.tcp://127.0.0.1:{port}/", "security_policy": "None",
                      "security_mode": "None", "accept_all_server_certificates": True,
                      "reconnect_min_ms": 200, "reconnect_max_ms": 1000} for name, port in zip("ab", ports)],
    })
    watch = None
    try:
        for p in peers.values():
            p.start()
        gw.start()
        groups = [(name, n, UPSTREAM_INTERVAL_MS, f"nsu={name}/urn:fxgate-bench:peer;s=Demo/T") for name in "ab"]
        watch = Watch(gw.url, groups, work).start()
        watch.wait(lambda d: all_good("a", n)(d) and all_good("b", n)(d), 60, "every item Good at the start")
        t_steady = time.time()
        to_bad, to_good, rss = [], [], []
        for cycle in range(1, mode.agg_cycles + 1):
            time.sleep(rng.uniform(*mode.agg_up_s))
            t_kill = time.time()
            peers["a"].kill()
            t_bad = watch.wait(lambda d: d.get("a.nocomm") == n, 30, f"cycle {cycle}: a's items BadNoCommunication",
                               after=t_kill)
            to_bad.append(t_bad - t_kill)
            time.sleep(rng.uniform(*mode.agg_down_s))
            wait_port_bindable(ports[0])
            t_back = peers["a"].start()
            t_good = watch.wait(all_good("a", n), 60, f"cycle {cycle}: a's items Good again",
                                after=t_back)
            to_good.append(t_good - t_back)
            time.sleep(1.0)
            rss.append(rss_kb(gw.proc.pid))
            log(f"aggregation cycle {cycle}: Bad after {to_bad[-1]:.2f} s, Good {to_good[-1]:.2f} s after the "
                f"upstream's return, RSS {rss[-1] / 1024:.1f} MiB")
        last = watch.last()
        during = watch.since(t_steady)
        b_worst = max((d["b.bad"] + d["b.uncertain"] + d["b.unseen"] for d in during), default=0)
        res.figures.update({
            "items_per_upstream": n, "cycles": mode.agg_cycles, "upstream_interval_ms": UPSTREAM_INTERVAL_MS,
            "to_bad_s": _stats(to_bad), "to_good_s": _stats(to_good),
            "rss_mib_first": round(rss[0] / 1024, 1), "rss_mib_last": round(rss[-1] / 1024, 1),
            "rss_drift": round(rss[-1] / rss[0] - 1, 4),
            "b_notifications": last["b.notifications"], "b_gap_updates": last["b.gap_updates"],
            "b_overflow": last["b.overflow"], "b_worst_not_good": b_worst,
            "seq_missing": last["seq_missing"], "status_changes": last["status_changes"],
        })
        res.check(max(to_bad) <= BAD_WITHIN_S, f"a's items took {max(to_bad):.2f} s to turn BadNoCommunication (≤ {BAD_WITHIN_S} s)")
        res.check(max(to_good) <= GOOD_WITHIN_S, f"a's items took {max(to_good):.2f} s to turn Good again (≤ {GOOD_WITHIN_S} s)")
        res.check(b_worst == 0, f"b's items were not all Good while a was killed and restarted ({b_worst} at worst)")
        res.check(last["b.gap_updates"] == 0 and last["b.overflow"] == 0,
                  f"b lost updates: {last['b.gap_updates']} SourceTimestamp gaps, {last['b.overflow']} overflows")
        expected = n * (last["t"] - t_steady) * 1000 / UPSTREAM_INTERVAL_MS
        res.figures["b_expected_notifications"] = round(expected)
        res.check(last["seq_missing"] == 0, f"{last['seq_missing']} NotificationMessages never arrived")
        res.check(rss[-1] <= rss[0] * (1 + RSS_DRIFT),
                  f"RSS grew from {rss[0]} kB after cycle 1 to {rss[-1]} kB after cycle {len(rss)} (> {RSS_DRIFT:.0%})")
    finally:
        if watch is not None:
            watch.stop()
        factory.stop_all()
        for p in peers.values():
            p.kill()
    return res


# ----------------------------------------------------------------------------------------------
# Modbus primary / backup flapping
# ----------------------------------------------------------------------------------------------


def modbus(work: Path, mode: Mode, rng: random.Random) -> Result:
    from modbus_peers import ModbusDevice, create_gateway, http_get, metrics_value

    res = Result("modbus")
    work = fresh(work)
    regs = 10
    p1, p2 = free_ports(2)
    layout = {"hr": {0: [100 + i for i in range(regs)]}}
    devs = {"primary": ModbusDevice(layout, p1, name="primary"), "backup": ModbusDevice(layout, p2, name="backup")}
    factory = GatewayFactory(work / "modbus")
    line = {"name": "flap", "mode": "client", "host": "127.0.0.1", "port": p1, "connect_timeout_ms": 1000,
            "reconnect_delay_ms": 200, "reconnect_max_ms": 1000,
            "backup": {"host": "127.0.0.1", "port": p2, "enabled": True}}
    device = {"name": "Flap", "line": "flap", "protocol": "modbus", "unit_id": 1, "timeout_ms": 500,
              "poll_ms": MODBUS_POLL_MS,
              "tags": [{"name": f"R{i}", "address": f"hr:{i}", "type": "uint16"} for i in range(regs)]}
    gw = create_gateway(factory, {
        "server": {"allow_none": True, "anonymous": True, "anonymous_roles": ["read"],
                   "accept_all_certificates": True},
        "log": {"level": "warn,fxgate::topology=info"}, "simulator": [],
    }, lines=[line], devices=[device])
    watch = None
    try:
        for d in devs.values():
            d.start()
        gw.start()
        watch = Watch(gw.url, [("m", regs, 0, f"nsu={TAGS_NS_URI};s=Flap/R")], work).start()
        watch.wait(all_good("m", regs), 30, "the Modbus tags Good at the start")
        t0 = time.time()
        for flap in range(mode.modbus_flaps):
            victim = devs[rng.choice(["primary", "backup"])]
            victim.kill()
            time.sleep(rng.uniform(0.3, 2.5))
            victim.start()
            time.sleep(rng.uniform(0.3, 2.0))
        watch.wait(all_good("m", regs), 10, "the Modbus tags Good at the end")
        episodes, start = [], None
        for d in watch.since(t0):
            not_good = d["m.bad"] + d["m.uncertain"] + d["m.unseen"]
            if not_good and start is None:
                start = d["t"]
            elif not not_good and start is not None:
                episodes.append(d["t"] - start)
                start = None
        metrics = http_get(gw, "/metrics")[1]
        connections = metrics_value(metrics, "fxgate_line_connections_total", "flap")
        res.figures.update({"flaps": mode.modbus_flaps, "poll_ms": MODBUS_POLL_MS, "line_connections": connections,
                            "bad_episodes": len(episodes), "bad_s": _stats(episodes),
                            "duration_s": round(time.time() - t0, 1)})
        log(f"modbus: {mode.modbus_flaps} flaps, {len(episodes)} Bad episodes, longest {max(episodes, default=0):.2f} s")
        # Every kill of the device in use makes the line connect again (to the other one).
        res.check((connections or 0) >= 2, f"the line connected {connections} times: the flaps did not reach it")
        res.check(max(episodes, default=0.0) <= MODBUS_BAD_MAX_S,
                  f"the tags stayed Bad {max(episodes, default=0.0):.2f} s with a device up (≤ {MODBUS_BAD_MAX_S:.1f} s)")
    finally:
        if watch is not None:
            watch.stop()
        factory.stop_all()
        for d in devs.values():
            d.kill()
    return res


# ----------------------------------------------------------------------------------------------
# WebSocket: outages, then SIGKILL
# ----------------------------------------------------------------------------------------------


def _rfc3339(s: str) -> float:
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _changes(messages: list[dict], since: float = 0.0, before: float = float("inf")) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(value, source time)] in seq order, of the changes made from `since` to `before`."""
    out: dict[str, list[tuple[int, float]]] = {}
    for m in messages:
        for v in m["values"]:
            st = _rfc3339(v["st"])
            if since <= st < before:
                out.setdefault(v["tag"], []).append((v["v"], st))
    return out


def _gaps(changes: dict[str, list[tuple[int, float]]]) -> list[str]:
    out = []
    for tag, xs in changes.items():
        vals = [v for v, _ in xs]
        bad = [(a, b) for a, b in zip(vals, vals[1:]) if b != a + 1]
        if bad:
            out.append(f"{tag}: {len(bad)} breaks, first {bad[:3]}")
    return out


def websocket(work: Path, mode: Mode, rng: random.Random) -> Result:
    from ws_peers import WsPeer

    res = Result("websocket")
    work = fresh(work)
    port = free_port()
    peer = WsPeer(port, name="soak", auto_ack=True).start()
    factory = GatewayFactory(work / "ws")
    tags = 10
    gw = factory.create({
        "log": {"level": "warn,fxgate::topology=info"},
        "simulator": [{"name": "Soak", "interval_ms": tags * 1000 // WS_CHANGES_PER_S, "tags": [
            {"name": "C", "type": "UInt32", "waveform": "counter", "count": tags}]}],
        "websocket": [{"name": "soak", "url": f"ws://127.0.0.1:{port}/soak", "tags": ["Soak/*"],
                       "publish_interval_ms": WS_PUBLISH_MS, "require_ack": True, "buffer_memory_bytes": 0,
                       "reconnect_min_ms": 200, "reconnect_max_ms": 1000, "connect_response_timeout": 5}],
    })

    def by_seq() -> list[dict]:
        out: dict[int, dict] = {}
        for d in peer.data("/soak"):
            prev = out.setdefault(d["seq"], d)
            res.check(prev == d, f"seq {d['seq']} received twice with different content")
        return [out[s] for s in sorted(out)]

    def caught_up(after: float) -> bool:
        msgs = peer.data("/soak")
        return bool(msgs) and max(_rfc3339(v["st"]) for v in msgs[-1]["values"]) > after

    try:
        run_start = time.time()
        gw.start()
        target = time.time() + 0.5
        peer.wait(lambda: caught_up(target), 20, "streaming")
        outages = []
        for i in range(mode.ws_outages):
            time.sleep(rng.uniform(1, 3))
            peer.stop(abort=True)
            time.sleep(mode.ws_outage_s)
            t_back = time.time()
            peer.start()
            peer.wait(lambda: caught_up(t_back + 1.0), 60 + mode.ws_outage_s, f"outage {i + 1}: caught up")
            outages.append(round(time.time() - t_back, 2))
            log(f"websocket outage {i + 1}: {mode.ws_outage_s:.0f} s away, caught up after {outages[-1]:.2f} s")
        msgs = by_seq()
        seqs = [m["seq"] for m in msgs]
        missing_seq = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        changes = _changes(msgs)
        gaps = _gaps(changes)
        res.figures.update({"outages": mode.ws_outages, "outage_s": mode.ws_outage_s,
                            "changes_per_s": WS_CHANGES_PER_S, "catch_up_s": outages,
                            "messages": len(msgs), "changes": sum(len(v) for v in changes.values()),
                            "missing_seq": len(missing_seq), "value_gaps": len(gaps)})
        res.check(not missing_seq, f"outages: seqs never received: {missing_seq[:10]}")
        res.check(not gaps, f"outages: changes lost or out of order: {gaps[:3]}")

        # SIGKILL: mid-stream, then while the server is away.
        windows = []
        for case in ("mid-stream", "server away"):
            if case == "server away":
                peer.stop(abort=True)
                time.sleep(3.0)
            n_before = len(peer.data("/soak"))
            t_kill = time.time()
            gw.proc.kill()
            gw.proc.wait(timeout=10)
            killed_run, run_start = run_start, time.time()
            gw.start()
            if not peer.running:
                peer.start()
            target = time.time() + 0.5
            peer.wait(lambda: caught_up(target), 60, f"{case}: streaming after the restart")
            msgs = by_seq()
            before = _changes(msgs, since=killed_run, before=t_kill)
            gaps = _gaps(before)
            last = max((st for xs in before.values() for _, st in xs), default=0.0)
            window_ms = (t_kill - last) * 1000
            windows.append(round(window_ms, 1))
            resent = len(peer.data("/soak")) - n_before
            log(f"websocket SIGKILL {case}: changes lost over the last {window_ms:.0f} ms before the kill; "
                f"{resent} messages after the restart")
            res.check(not gaps, f"SIGKILL {case}: changes made before the kill missing: {gaps[:3]}")
            res.check(window_ms <= WS_KILL_LOSS_MAX_MS,
                      f"SIGKILL {case}: the changes of the last {window_ms:.0f} ms before the kill were lost "
                      f"(≤ {WS_KILL_LOSS_MAX_MS} ms)")
        res.figures["kill_loss_window_ms"] = windows
        seqs = [m["seq"] for m in by_seq()]
        missing_seq = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        res.check(not missing_seq, f"after the kills: seqs never received: {missing_seq[:10]}")

        # For the record, not a requirement: the default buffer_memory_bytes (4 MiB) keeps
        # messages in memory first, so a kill while the server is away loses what it held.
        gw.stop()
        del gw.config["websocket"][0]["buffer_memory_bytes"]
        run_start = time.time()
        gw.start()
        target = time.time() + 0.5
        peer.wait(lambda: caught_up(target), 30, "default buffer: streaming")
        peer.stop(abort=True)
        time.sleep(3.0)
        t_kill = time.time()
        gw.proc.kill()
        gw.proc.wait(timeout=10)
        gw.start()
        peer.start()
        target = time.time() + 0.5
        peer.wait(lambda: caught_up(target), 60, "default buffer: streaming after the restart")
        before = _changes(by_seq(), since=run_start, before=t_kill)
        last = max((st for xs in before.values() for _, st in xs), default=run_start)
        res.figures["kill_loss_window_ms_default_buffer_server_away"] = round((t_kill - last) * 1000, 1)
    finally:
        # The raw messages, for a look after a broken run.
        with open(work / "messages.jsonl", "w") as f:
            for d in peer.data("/soak"):
                f.write(json.dumps(d) + "\n")
        factory.stop_all()
        peer.close()
    return res


SCENARIOS = {"aggregation": aggregation, "modbus": modbus, "websocket": websocket}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["short", "long"], default="long")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FXGATE_SOAK_SEED", "18")))
    ap.add_argument("--work", type=Path, required=True, help="directory for the gateways' files")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    ap.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = ap.parse_args()
    mode = SHORT if args.mode == "short" else LONG
    results = []
    for name in args.scenarios:
        log(f"{name} ({mode.name}, seed {args.seed})")
        t = time.monotonic()
        try:
            r = SCENARIOS[name](args.work / name, mode, random.Random(args.seed))
        except SoakFailure as e:
            r = Result(name, violations=[f"could not finish: {e}"])
        r.figures["wall_s"] = round(time.monotonic() - t, 1)
        results.append(r)
        log(f"{name}: {json.dumps(r.figures)}; {'OK' if not r.violations else 'BROKEN: ' + '; '.join(r.violations)}")
    doc = {"mode": mode.name, "seed": args.seed, "results": [r.__dict__ for r in results]}
    if args.out:
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if any(r.violations for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
