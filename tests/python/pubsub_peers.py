"""OPC UA PubSub (UDP-UADP) peers for the tests: asyncua 2.1's own PubSub stack run WITHOUT an
OPC UA server (self-test: test_pubsub_peers.py).

* ``start_publisher`` - a ``PubSub`` with one UDP-UADP ``PubSubConnection`` (UInt16
  PublisherId) sending unicast to ``destination``, one ``WriterGroup`` and one
  ``DataSetWriter`` over a ``PublishedDataSet`` whose source is asyncua's
  ``PubSubDataSourceDict``; the returned ``Publisher`` changes values with ``set``.
* ``start_subscriber`` - a ``PubSub`` with a connection listening on ``listen``, one
  ``ReaderGroup`` and one ``DataSetReader`` whose SubscribedDataSet is a callback object:
  ``on_values(list[ua.DataValue])`` is called for every DataSetMessage that matches the
  PublisherId / WriterGroupId / DataSetWriterId. The returned ``Subscriber`` knows its bound
  ``address`` (listen on port 0 to get a free one).

Both run inside the caller's asyncio loop (tests are sync functions: wrap in ``asyncio.run``).
asyncua's PubSub needs no server: without an information model it keeps its states in memory,
so no UadpNetworkMessage-over-plain-socket fallback was necessary. Workarounds for asyncua 2.1,
all kept in ``_Connection``:

* ``UdpSettings.from_cfg`` binds every connection's socket to the PORT of its URL (designed for
  multicast groups with SO_REUSEADDR): a unicast publisher would take the port of the receiver
  it sends to. The socket settings are replaced after construction by ``_UdpSettings``: the
  publisher binds an ephemeral port, the subscriber exactly ``listen``, for unicast without
  SO_REUSEADDR (so a busy port is an error), and the socket is closed when bind fails
  (asyncua's ``create_socket`` leaks it). Multicast destinations use asyncua's own code.
* ``PubSub.start`` runs the connections in ``asyncio.wait`` and drops their exceptions (a bind
  failure would go unnoticed); ``_Connection.start`` records it and the helpers re-raise it.
* ``PubSubConnection.stop`` awaits the reader/writer tasks it just cancelled, so it raises
  CancelledError before closing its transport; ``_Connection.stop`` swallows exactly that
  (not a cancellation of the caller) and closes the socket itself.
* The PublisherId must be a UInt16 (or Byte/UInt32): asyncua sends UInt64 ids with the
  reserved type bits 0b110 (see uadp_reference's "asyncua 2.1 deviations").
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import socket
from ipaddress import ip_address
from collections.abc import Callable
from datetime import datetime, timezone

from asyncua import ua
from asyncua.pubsub import (
    DataSetField,
    DataSetMeta,
    DataSetReader,
    DataSetWriter,
    PubSub,
    PubSubConnection,
    PublishedDataSet,
    ReaderGroup,
    UdpSettings,
    WriterGroup,
)

VT = ua.VariantType
ENCODINGS = ("variant", "datavalue", "raw")
_names = itertools.count(1)
log = logging.getLogger("pubsub_peers")

_DEFAULTS = {VT.Boolean: False, VT.String: "", VT.Float: 0.0, VT.Double: 0.0,
             VT.DateTime: datetime(2000, 1, 1, tzinfo=timezone.utc)}


def default_value(vt: VT):
    """The initial value of a field before ``Publisher.set`` (0 for the integer types)."""
    return _DEFAULTS.get(vt, 0)


def publisher_id_variant(publisher_id) -> ua.Variant:
    """A PublisherId as asyncua's connection and readers want it: int -> UInt16 Variant."""
    if isinstance(publisher_id, ua.Variant):
        return publisher_id
    if isinstance(publisher_id, bool) or not isinstance(publisher_id, int) or not 0 <= publisher_id <= 0xFFFF:
        raise ValueError(f"PublisherId must be a UInt16 (asyncua's UInt64 encoding is wrong): {publisher_id!r}")
    return ua.Variant(ua.UInt16(publisher_id), VT.UInt16)


def _meta(name: str, fields: list[tuple[str, VT]]) -> DataSetMeta:
    """DataSetMeta with one scalar field per (name, VariantType)."""
    return DataSetMeta.Create(name, dataset_fields=[DataSetField.CreateScalar(f, vt) for f, vt in fields])


class _UdpSettings(UdpSettings):
    """UdpSettings binding exactly ``Adapter`` ((None, port): any address) for unicast."""

    def create_socket(self):
        """(socket, send address, bound address), like asyncua's, but bound as documented above."""
        family, type_, proto, _, addr = socket.getaddrinfo(self.Addr[0], self.Addr[1], 0, socket.SOCK_DGRAM)[0]
        if ip_address(addr[0]).is_multicast:
            return super().create_socket()
        host = self.Adapter[0] or ("::" if family == socket.AF_INET6 else "0.0.0.0")
        sock = socket.socket(family, type_, proto)
        try:
            sock.setblocking(False)
            sock.bind((host, self.Adapter[1]))
        except BaseException:
            sock.close()
            raise
        return sock, addr, sock.getsockname()


class _Connection(PubSubConnection):
    """asyncua PubSubConnection with the workarounds listed in the module docstring."""

    start_error: BaseException | None = None

    def bind_to(self, settings: UdpSettings) -> None:
        """Replace the socket settings derived from the URL (must happen before start)."""
        self._network_settings = settings

    async def start(self) -> None:
        """asyncua's start, keeping its exception in ``start_error`` (PubSub.start would drop it)."""
        try:
            await super().start()
        except Exception as exc:  # noqa: BLE001 - re-raised by the helper after PubSub.start
            self.start_error = exc

    async def stop(self) -> None:
        """asyncua's stop, then close the transport it leaves open."""
        try:
            await super().stop()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being cancelled: not asyncua's own re-await
        finally:
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            self._protocol = None

    def local_address(self) -> tuple[str, int] | None:
        """The (host, port) the connection's socket is bound to, None before start."""
        if self._transport is None:
            return None
        return self._transport.get_extra_info("sockname")[:2]


async def _start(ps: PubSub, con: _Connection) -> None:
    """Add ``con`` to ``ps`` and start it; raise RuntimeError when the connection failed."""
    await ps.add_connection(con)
    await ps.start()
    if con.start_error is not None or con._transport is None:
        await ps.stop()
        raise RuntimeError(f"asyncua PubSubConnection did not start: {con.start_error!r}") from con.start_error


class Publisher:
    """Handle of a running asyncua publisher (see ``start_publisher``)."""

    def __init__(self, ps: PubSub, con: _Connection, pds: PublishedDataSet, fields: list[tuple[str, VT]]):
        self.pubsub = ps
        self.connection = con
        self.dataset = pds
        self.types = dict(fields)
        self._values = pds.get_source().datasources.setdefault(pds.dataset.Name, {})

    @property
    def address(self) -> tuple[str, int] | None:
        """Local (host, port) the publisher sends from."""
        return self.connection.local_address()

    def set(self, name: str, value, status: int | None = None,
            source_timestamp: datetime | None = None) -> None:
        """Publish ``value`` (Python value of the field's type, or a ua.Variant / ua.DataValue)
        for field ``name`` from the next publishing cycle on. ``status`` is a full StatusCode
        (UInt32; for Variant/RawData encodings the worst one goes into the message header)."""
        if name not in self.types:
            raise KeyError(f"unknown field {name!r}; fields: {list(self.types)}")
        if isinstance(value, ua.DataValue):
            dv = value
        else:
            variant = value if isinstance(value, ua.Variant) else ua.Variant(value, self.types[name])
            dv = ua.DataValue(variant, ua.StatusCode(ua.UInt32(status or 0)), SourceTimestamp=source_timestamp)
        self._values[name] = dv

    def get(self, name: str) -> ua.DataValue:
        """The DataValue currently published for ``name``."""
        return self._values[name]

    async def stop(self) -> None:
        """Stop publishing and close the socket."""
        await self.pubsub.stop()  # _Connection.stop closes the socket


async def start_publisher(destination: tuple[str, int], publisher_id: int, writer_group_id: int,
                          data_set_writer_id: int, fields: list[tuple[str, VT]], interval_ms: int,
                          encoding: str = "variant", initial: dict | None = None) -> Publisher:
    """Start an asyncua publisher sending a key frame for ``fields`` every ``interval_ms`` to
    ``destination`` (unicast or multicast host, port).

    NetworkMessages carry PublisherId (UInt16), a GroupHeader (WriterGroupId, GroupVersion 0,
    NetworkMessageNumber 1, SequenceNumber) and a payload header; the DataSetMessage has a
    SequenceNumber and, for ``encoding`` "variant" / "raw", Status and Timestamp ("datavalue":
    every field a DataValue with StatusCode, Source/ServerTimestamp when set). Fields start
    at ``initial`` or ``default_value`` of their type."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, not {encoding!r}")
    n = next(_names)
    pds = PublishedDataSet.Create(f"PDS{n}", _meta(f"PDS{n}", fields))
    writer = DataSetWriter.new_uadp(f"Writer{n}", pds.get_name(), ua.UInt16(data_set_writer_id),
                                    datavalue=encoding == "datavalue", raw=encoding == "raw")
    group = WriterGroup.new_uadp(f"WriterGroup{n}", ua.UInt16(writer_group_id),
                                 publishing_interval=ua.Duration(interval_ms), writer=[writer])
    settings = _UdpSettings(Addr=tuple(destination), Adapter=(None, 0), Reuse=False)
    con = _Connection.udp_uadp(f"PubCon{n}", publisher_id_variant(publisher_id), settings,
                               writer_groups=[group])
    con.bind_to(settings)
    ps = PubSub.new()
    await ps.add_published_dataset(pds)
    pub = Publisher(ps, con, pds, fields)
    for name, vt in fields:
        pub.set(name, (initial or {}).get(name, default_value(vt)))
    await _start(ps, con)
    return pub


class _Callback:
    """SubscribedDataSet for DataSetReader: forwards the DataValues of every DataSetMessage."""

    def __init__(self, on_values: Callable[[list[ua.DataValue]], object]):
        self.on_values = on_values
        self.states: list[ua.PubSubState] = []

    async def on_dataset_received(self, meta, fields) -> None:
        """Called by DataSetReader with DataSetValues: pass their DataValues on."""
        result = self.on_values([f.Value for f in fields])
        if inspect.isawaitable(result):
            await result

    async def on_state_change(self, meta, state) -> None:
        """Record the reader's PubSubState changes (Operational, Disabled, ...)."""
        self.states.append(state)


class Subscriber:
    """Handle of a running asyncua subscriber (see ``start_subscriber``)."""

    def __init__(self, ps: PubSub, con: _Connection, reader: DataSetReader, callback: _Callback):
        self.pubsub = ps
        self.connection = con
        self.reader = reader
        self.callback = callback

    @property
    def address(self) -> tuple[str, int] | None:
        """The (host, port) the subscriber listens on."""
        return self.connection.local_address()

    async def stop(self) -> None:
        """Stop the reader and close the socket."""
        await self.pubsub.stop()  # _Connection.stop closes the socket


async def start_subscriber(listen: tuple[str, int], publisher_id, writer_group_id: int,
                           data_set_writer_id: int, fields: list[tuple[str, VT]],
                           on_values: Callable[[list[ua.DataValue]], object]) -> Subscriber:
    """Start an asyncua subscriber bound to ``listen`` (port 0: a free port, see
    ``Subscriber.address``).

    ``on_values`` (plain function or coroutine function) gets one ua.DataValue per field, in
    ``fields`` order, for every matching DataSetMessage: Variant key frames give the header's
    Status (as StatusCode) and Timestamp (as ServerTimestamp), DataValue ones the DataValues
    as sent; delta frames only the fields they carry. asyncua's matching rules apply:
    ``publisher_id`` (UInt16, or a ua.Variant) must equal the message's; WriterGroupId and
    DataSetWriterId 0 are wildcards; a message without payload header goes to readers whose
    DataSetWriterId is 0. Undecodable datagrams are logged by asyncua and dropped."""
    n = next(_names)
    callback = _Callback(on_values)
    reader = DataSetReader.new(publisher_id_variant(publisher_id), ua.UInt16(writer_group_id),
                               ua.UInt16(data_set_writer_id), meta=_meta(f"SDS{n}", fields),
                               name=f"Reader{n}", enabled=True, subscribed=callback)
    group = ReaderGroup.new(f"ReaderGroup{n}", reader=[reader], enable=True)
    settings = _UdpSettings(Addr=tuple(listen), Adapter=tuple(listen), Reuse=False)
    con = _Connection.udp_uadp(f"SubCon{n}", ua.Variant(ua.UInt16(0), VT.UInt16), settings,
                               reader_groups=[group])
    con.bind_to(settings)
    ps = PubSub.new()
    await _start(ps, con)
    return Subscriber(ps, con, reader, callback)
