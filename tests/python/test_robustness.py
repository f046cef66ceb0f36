"""Occupied ports and hostile bytes on the OPC UA port."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time

import pytest

from fxgate_testlib import connect, free_port, read_dv, safe_disconnect


@pytest.mark.parametrize("which", ["opcua", "http"])
def test_occupied_port_exits_with_clear_message(gateway_factory, which):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    try:
        if which == "opcua":
            gw = gateway_factory.create({"server": {"port": busy, "endpoint_url": f"opc.tcp://127.0.0.1:{busy}/"}})
        else:
            gw = gateway_factory.create({"http": {"listen": f"127.0.0.1:{busy}"}})
        gw.spawn()
        try:
            rc = gw.wait_exit(timeout=30)
        except Exception:  # noqa: BLE001
            raise AssertionError(f"fxgate kept running with its {which} port {busy} occupied") from None
        err = gw.stderr_text
        assert rc != 0, f"exit code 0 although the {which} port was busy"
        assert str(busy) in err, f"stderr does not name port {busy}:\n{err}"
        assert "fxgate ready" not in err
        low = err.lower()
        assert "in use" in low or "address" in low or "bind" in low, err
    finally:
        blocker.close()


def _hel(endpoint: str, receive_buffer=65536, send_buffer=65536, max_message=0, max_chunks=0) -> bytes:
    url = endpoint.encode()
    body = struct.pack("<IIIIII", 0, receive_buffer, send_buffer, max_message, max_chunks, len(url)) + url
    return b"HELF" + struct.pack("<I", 8 + len(body)) + body


async def _raw(port: int, payload: bytes, hold: float = 0.0, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        if hold:
            await asyncio.sleep(hold)
        data = b""
        if read:
            try:
                data = await asyncio.wait_for(reader.read(4096), 3)
            except (asyncio.TimeoutError, ConnectionError):
                pass
        return data
    except ConnectionError:
        return b""
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:  # noqa: BLE001
            pass


def test_garbage_does_not_disturb_session(shared_gateway, client_cert):
    port = shared_gateway.port

    async def attacker(log: list):
        hel = _hel(shared_gateway.url)
        attacks = [
            ("random 64 KiB", os.urandom(65536), 0.0),
            ("truncated HEL, held open", hel[: len(hel) // 2], 2.0),
            ("HEL header only", hel[:8], 0.5),
            ("HEL claiming 4 GiB", b"HELF" + struct.pack("<I", 0xFFFFFFF0) + hel[8:], 0.5),
            ("HEL with zero buffers", _hel(shared_gateway.url, 0, 0), 0.5),
            ("valid HEL + garbage MSG", hel + b"MSGF" + struct.pack("<I", 1000) + os.urandom(992), 0.5),
            ("valid HEL + OPN with random body", hel + b"OPNF" + struct.pack("<I", 300) + os.urandom(292), 0.5),
            ("CLO without channel", b"CLOF" + struct.pack("<I", 16) + os.urandom(8), 0.2),
            ("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0.2),
        ]
        for name, payload, hold in attacks:
            await _raw(port, payload, hold)
            log.append(name)
        # a burst of connections that open and close immediately
        await asyncio.gather(*(_raw(port, os.urandom(64), read=False) for _ in range(50)))
        log.append("50 short connections")

    async def main():
        client = await connect(shared_gateway, client_cert)
        try:
            done: list[str] = []
            task = asyncio.create_task(attacker(done))
            reads = 0
            last_counter = None
            t0 = time.monotonic()
            while not task.done() or time.monotonic() - t0 < 3:
                dv = await asyncio.wait_for(read_dv(client, "Counter"), 5)
                assert dv.StatusCode.is_good(), f"read failed during attack after {done}: {dv.StatusCode}"
                if last_counter is not None:
                    assert dv.Value.Value >= last_counter
                last_counter = dv.Value.Value
                reads += 1
                await asyncio.sleep(0.05)
                assert time.monotonic() - t0 < 60, "attack did not finish in 60 s"
            await task  # re-raise attacker errors
            assert reads > 20, reads
            assert len(done) == 10
        finally:
            await safe_disconnect(client)

        # the server still accepts new sessions afterwards
        client = await connect(shared_gateway, client_cert)
        try:
            assert (await read_dv(client, "Sine")).StatusCode.is_good()
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
    assert shared_gateway.proc.poll() is None, "gateway died"


def test_unreachable_discovery_server_is_logged_not_fatal(gateway_factory, client_cert):
    """register_with_lds pointing nowhere: failures are logged and retried, the server serves."""
    dead = free_port()  # nothing listens here
    gw = gateway_factory.start(
        {"server": {"register_with_lds": f"opc.tcp://127.0.0.1:{dead}/", "register_interval_s": 5}}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and gw.stderr_text.count("discovery registration failed") < 2:
        time.sleep(0.5)
    assert gw.stderr_text.count("discovery registration failed") >= 2, (
        "expected at least two logged, retried registration failures:\n" + gw.stderr_text[-3000:]
    )
    assert gw.proc.poll() is None, "gateway stopped because the discovery server was unreachable"

    async def main():
        client = await connect(gw, client_cert)
        try:
            assert (await read_dv(client, "Sine")).StatusCode.is_good()
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
