"""IEC 60870-5-104 peers for bench/run_iec104.sh, built on c104 2.2.1 (lib60870-C).

station: a controlled station with POINTS M_ME_TF_1 points (IOA 1..N) and a C_SE_NB_1 command
    point (IOA 60000, always confirmed). Once a master has started data transfer (and 2 s for its
    GI), it changes RATE values per second, evenly: every 10 ms the next RATE/100 points (round
    robin) get counter values with the current time as CP56, sent spontaneously in batches of 16.
    After WARMUP + DURATION seconds it stops sending and writes JSON: values sent in the window
    and in all, its own CPU (cores) and peak RSS.
master: a controlling station for the same points; counts the information objects of every
    received monitor ASDU (raw callback: one call per APDU, lib60870 decodes); after WARMUP it
    counts for DURATION seconds and writes JSON: objects/s, CPU, RSS. With --commands K it then
    sends K set-point commands (C_SE_NB_1 to IOA 60000) one after another and reports the
    round trip send → positive ACT_CON (c104 returns from transmit() on the confirmation).
"""

import argparse
import datetime as dt
import json
import os
import resource
import sys
import threading
import time

import c104


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def station(a) -> dict:
    server = c104.Server(ip=a.host, port=a.port, tick_rate_ms=50, max_connections=4)
    st = server.add_station(common_address=1)
    points = [st.add_point(io_address=i + 1, type=c104.Type.M_ME_TF_1) for i in range(a.points)]
    cmd = st.add_point(io_address=60000, type=c104.Type.C_SE_NB_1)

    def on_cmd(point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage) -> c104.ResponseState:
        return c104.ResponseState.SUCCESS

    cmd.on_receive(callable=on_cmd)
    server.start()
    deadline = time.monotonic() + a.wait_s
    while server.active_connection_count == 0:
        if time.monotonic() > deadline:
            return {"error": "no master started data transfer"}
        time.sleep(0.05)
    time.sleep(2.0)  # the master's GI
    if a.go:  # the harness says when its baseline count is taken
        while not os.path.exists(a.go):
            if time.monotonic() > deadline:
                return {"error": f"no {a.go}"}
            time.sleep(0.02)
    per_tick = max(1, a.rate // 100)
    start = time.monotonic()
    warm_end = start + a.warmup
    end = warm_end + a.duration
    nxt = 0
    counter = 0
    sent_total = sent_window = 0
    cpu0 = None
    tick = start
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if cpu0 is None and now >= warm_end:
            cpu0, t0 = cpu_s(), now
        stamp = dt.datetime.now(dt.timezone.utc)
        chunk = []
        for _ in range(per_tick):
            p = points[nxt]
            nxt = (nxt + 1) % len(points)
            counter += 1
            p.info = c104.ShortInfo(float(counter), c104.Quality(), stamp)
            chunk.append(p)
            if len(chunk) == 16:
                server.transmit_batch(c104.Batch(c104.Cot.SPONTANEOUS, chunk))
                chunk = []
        if chunk:
            server.transmit_batch(c104.Batch(c104.Cot.SPONTANEOUS, chunk))
        sent_total += per_tick
        if now >= warm_end:
            sent_window += per_tick
        tick += 0.01
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - t0 if cpu0 is not None else 0.0
    out = {"role": "station", "sent_total": sent_total, "sent_window": sent_window, "window_s": elapsed,
           "sent_per_s": sent_window / elapsed if elapsed else 0, "cpu_cores": (cpu_s() - cpu0) / elapsed if elapsed else 0,
           "rss_mib": rss_mib(), "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    with open(a.out, "w") as f:  # before lingering: the harness reads it while the station stays up
        json.dump(out, f)
    time.sleep(a.linger)
    server.stop()
    return out


def master(a) -> dict:
    client = c104.Client(tick_rate_ms=50, command_timeout_ms=5000)
    conn = client.add_connection(ip=a.host, port=a.port, init=c104.Init.ALL)
    st = conn.add_station(common_address=1)
    for i in range(a.points):
        st.add_point(io_address=i + 1, type=c104.Type.M_ME_TF_1)
    cmd = st.add_point(io_address=60000, type=c104.Type.C_SE_NB_1)
    lock = threading.Lock()
    count = [0]

    def on_raw(connection: c104.Connection, data: bytes) -> None:
        if len(data) > 8 and not data[2] & 1 and data[6] in (13, 36) and data[8] & 0x3F == 3:
            with lock:
                count[0] += data[7] & 0x7F

    conn.on_receive_raw(callable=on_raw)
    client.start()
    deadline = time.monotonic() + a.wait_s
    while not conn.is_connected or conn.is_muted:
        if time.monotonic() > deadline:
            return {"error": "not connected"}
        if conn.is_connected:
            # c104 2.2.1 sometimes leaves a connection made right after the peer's listener
            # opened in OPEN_MUTED (no STARTDT): start data transfer explicitly.
            time.sleep(0.5)
            if conn.is_muted:
                conn.unmute()
        time.sleep(0.05)
    time.sleep(a.warmup)
    with lock:
        c0 = count[0]
    cpu0, t0 = cpu_s(), time.monotonic()
    time.sleep(a.duration)
    with lock:
        c1 = count[0]
    elapsed = time.monotonic() - t0
    out = {"role": "master", "received_window": c1 - c0, "window_s": elapsed, "received_per_s": (c1 - c0) / elapsed,
           "cpu_cores": (cpu_s() - cpu0) / elapsed, "rss_mib": rss_mib()}
    if a.commands:
        rtt = []
        for k in range(a.commands):
            cmd.value = c104.Int16(k % 1000)
            t = time.perf_counter()
            ok = cmd.transmit(cause=c104.Cot.ACTIVATION)
            if ok:
                rtt.append((time.perf_counter() - t) * 1e6)
        rtt.sort()
        if rtt:
            out.update({"commands_ok": len(rtt), "rtt_p50_us": rtt[len(rtt) // 2], "rtt_p99_us": rtt[int(len(rtt) * 0.99)], "rtt_max_us": rtt[-1]})
    client.stop()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["station", "master"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--points", type=int, default=10_000)
    p.add_argument("--rate", type=int, default=10_000)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--wait-s", type=float, default=60)
    p.add_argument("--linger", type=float, default=3)
    p.add_argument("--commands", type=int, default=0)
    p.add_argument("--go", help="station: wait for this file before sending")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    out = station(a) if a.role == "station" else master(a)
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(json.dumps(out), file=sys.stderr)


if __name__ == "__main__":
    main()
