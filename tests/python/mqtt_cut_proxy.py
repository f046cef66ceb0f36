"""A TCP proxy between one MQTT client and a broker that reads the packets going both ways and cuts
the connection at a chosen packet (both sockets closed, that packet not forwarded): the one way to
lose a connection at an exact point of the QoS 2 handshake with a real broker. It records what
went through, per connection, so a test can assert how the client resumed its session."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

from mqtt_peers import shut

HOST = "127.0.0.1"

PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK = 3, 4, 5, 6, 7, 9
UP, DOWN = "up", "down"  # client → broker, broker → client


@dataclass(frozen=True)
class Packet:
    """One MQTT packet as the proxy saw it."""

    conn: int  # which connection (0, 1, ...)
    direction: str  # UP or DOWN
    kind: int  # the packet type (first byte >> 4)
    flags: int  # the first byte's low nibble (PUBLISH: DUP 8, QoS 6, RETAIN 1)
    pkid: int | None  # the packet identifier of PUBLISH (QoS > 0) and PUBACK..PUBCOMP
    cut: bool  # the connection was cut here (not forwarded)

    @property
    def dup(self) -> bool:
        return self.kind == PUBLISH and bool(self.flags & 8)


def split_packets(buf: bytearray) -> list[bytes]:
    """The whole packets at the start of `buf`, taken off it (MQTT §2.2: remaining length varint)."""
    out = []
    while len(buf) >= 2:
        length, mult, i, done = 0, 1, 1, False
        while i < len(buf) and i <= 4:
            b = buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                done = True
                break
        if not done or len(buf) < i + length:
            break
        out.append(bytes(buf[:i + length]))
        del buf[:i + length]
    return out


def _pkid(pkt: bytes) -> int | None:
    kind, flags = pkt[0] >> 4, pkt[0] & 0x0F
    i = 1
    while pkt[i] & 0x80:
        i += 1
    body = pkt[i + 1:]
    if kind in (PUBACK, PUBREC, PUBREL, PUBCOMP) and len(body) >= 2:
        return int.from_bytes(body[:2], "big")
    if kind == PUBLISH and flags & 0x06 and len(body) >= 2:
        tlen = int.from_bytes(body[:2], "big")
        if len(body) >= 4 + tlen:
            return int.from_bytes(body[2 + tlen:4 + tlen], "big")
    return None


class CutProxy:
    """Listens on 127.0.0.1:port, forwards to the broker on 127.0.0.1:broker_port. `cut(direction,
    kind, n)` cuts at the n-th packet of that kind in that direction, counted over every connection
    (each rule once)."""

    def __init__(self, port: int, broker_port: int):
        self.port = port
        self.broker_port = broker_port
        self.packets: list[Packet] = []
        self._rules: list[tuple[str, int, int]] = []
        self._counts: dict[tuple[str, int], int] = {}
        self._conns = 0
        self._lock = threading.Lock()
        self._closed = False
        self._socks: list[socket.socket] = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, port))
        self.lsock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, direction: str, kind: int, n: int) -> None:
        with self._lock:
            self._rules.append((direction, kind, n))

    def seen(self) -> list[Packet]:
        with self._lock:
            return list(self.packets)

    def cuts(self) -> list[Packet]:
        return [p for p in self.seen() if p.cut]

    def most_in_flight(self) -> int:
        """The most QoS 1/2 PUBLISHes from the client the broker had not yet acknowledged (PUBACK,
        or PUBREC/PUBCOMP for QoS 2) at any point, per connection: what a Receive Maximum bounds."""
        most = 0
        open_: dict[int, set[int]] = {}
        for p in self.seen():
            ids = open_.setdefault(p.conn, set())
            if p.direction == UP and p.kind == PUBLISH and p.pkid is not None:
                ids.add(p.pkid)
            elif p.direction == DOWN and p.kind in (PUBACK, PUBCOMP):
                ids.discard(p.pkid)
            most = max(most, len(ids))
        return most

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            try:
                broker = socket.create_connection((HOST, self.broker_port), timeout=5)
            except OSError:
                client.close()
                continue
            broker.settimeout(None)
            with self._lock:
                conn = self._conns
                self._conns += 1
                self._socks += [client, broker]
            threading.Thread(target=self._pump, args=(conn, UP, client, broker), daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, DOWN, broker, client), daemon=True).start()

    def _pump(self, conn: int, direction: str, src: socket.socket, dst: socket.socket) -> None:
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                for pkt in split_packets(buf):
                    kind = pkt[0] >> 4
                    with self._lock:
                        key = (direction, kind)
                        self._counts[key] = self._counts.get(key, 0) + 1
                        rule = (direction, kind, self._counts[key])
                        cut = rule in self._rules
                        if cut:
                            self._rules.remove(rule)
                        self.packets.append(Packet(conn, direction, kind, pkt[0] & 0x0F, _pkid(pkt), cut))
                    if cut:
                        return
                    dst.sendall(pkt)
        except OSError:
            pass
        finally:
            shut(src, dst)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            socks = list(self._socks)
        shut(self.lsock, *socks)
