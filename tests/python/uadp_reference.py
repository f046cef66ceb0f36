"""Independent UADP NetworkMessage decoder and encoder (OPC UA Part 14 v1.05, 7.2.4).

Written from the Part 14 layout tables (and Part 6 5.2 for the built-in types), not from
any other implementation, so tests can check fxgate and asyncua against it. Stdlib only.

Wire layout (all integers little-endian)
========================================
NetworkMessage (7.2.4.4.2)::

    UADPFlags       Byte   bits 0-3 UADPVersion (=1), 4 PublisherId, 5 GroupHeader,
                           6 PayloadHeader, 7 ExtendedFlags1
    ExtendedFlags1  Byte   bits 0-2 PublisherId type (000 Byte, 001 UInt16, 010 UInt32,
                           011 UInt64, 100 String), 3 DataSetClassId, 4 Security,
                           5 Timestamp, 6 PicoSeconds, 7 ExtendedFlags2
    ExtendedFlags2  Byte   bit 0 Chunk, 1 PromotedFields, bits 2-4 NetworkMessage type
                           (000 DataSetMessage payload, 001 discovery request, 010 response)
    PublisherId     per ExtendedFlags1 type
    DataSetClassId  Guid (16 bytes)
    GroupHeader     GroupFlags Byte (bit 0 WriterGroupId UInt16, 1 GroupVersion UInt32,
                    2 NetworkMessageNumber UInt16, 3 SequenceNumber UInt16), then the fields
    PayloadHeader   Count Byte, DataSetWriterIds UInt16[Count]
    Timestamp       DateTime;  PicoSeconds UInt16
    PromotedFields  Size UInt16 (in BYTES), then Variants filling exactly Size bytes
    Payload         Sizes UInt16[Count] (only when a payload header has Count > 1),
                    then the DataSetMessages

DataSetMessage (7.2.4.5)::

    DataSetFlags1   bit 0 valid, bits 1-2 field encoding (00 Variant, 01 RawData,
                    10 DataValue, 11 reserved), 3 SequenceNumber, 4 Status,
                    5 ConfigurationVersionMajor, 6 ConfigurationVersionMinor, 7 DataSetFlags2
    DataSetFlags2   bits 0-3 type (0 KeyFrame, 1 DeltaFrame, 2 Event, 3 KeepAlive),
                    4 Timestamp, 5 PicoSeconds
    then SequenceNumber UInt16, Timestamp DateTime, PicoSeconds UInt16, Status UInt16,
    ConfigurationVersionMajor UInt32, ConfigurationVersionMinor UInt32, then the body:
    key frame / event: FieldCount UInt16 + fields (Variant, DataValue) or the raw fields
    back to back with NO count (RawData); delta frame: FieldCount UInt16 +
    (FieldIndex UInt16, field) pairs; keep-alive: nothing.

Decoder policy (strict on purpose, it is a reference): UADPVersion must be 1; reserved bits
(GroupFlags 4-7, ExtendedFlags2 5-7, DataSetFlags2 6-7, DataValue mask 6-7) are rejected;
security, chunks and discovery messages raise UadpError; a payload header Count of 0, Sizes
that disagree with the decoded DataSetMessages and bytes after the last DataSetMessage are
errors. Without a payload header the payload is taken as ONE DataSetMessage (its writer id is
unknown; ``raw_types[0]`` is then used for RawData). Every malformed input raises
``UadpError`` (a ValueError), never IndexError/struct.error.

asyncua 2.1 deviations
======================
Found by reading ``asyncua/pubsub/uadp.py`` and ``asyncua/ua/ua_binary.py`` and confirmed by
tests/python/test_uadp_reference.py:

1. UInt64 PublisherId: asyncua writes PublisherId type bits 0b110 (reserved) instead of 0b011.
   Its decoder tests the String bit first, so it reads its OWN UInt64 ids as a String, and
   it reads a conforming 0b011 UInt64 id as a UInt16 (wrong length, the rest misparsed).
2. PromotedFields Size: asyncua writes (and reads) the NUMBER of Variants, Part 14 says the
   size in bytes of the promoted fields.
3. DataValue field order: asyncua serializes the DataValue dataclass in attribute order
   Value, Status, SourceTimestamp, ServerTimestamp, SourcePicoseconds, ServerPicoseconds;
   Part 6 puts SourcePicoseconds right after SourceTimestamp. The mask bits are right, so
   the two agree unless SourcePicoseconds is present together with a ServerTimestamp or
   ServerPicoseconds.
4. Field encoding 11 (reserved) is read as RawData instead of being rejected; DataSetFlags2
   type Event (0010) is decoded as a Variant/DataValue key frame; reserved types (>= 4) are
   not rejected either.
5. The Security bit is ignored on decode (the SecurityHeader is then parsed as payload);
   UADPVersion is not checked.
6. Sizes are read but not used to delimit DataSetMessages, and trailing bytes are ignored.
7. The WriterGroup's NetworkMessage SequenceNumber wraps with ``% 0xFFFF`` (65534 -> 0,
   65535 is never sent); DataSetMessage sequence numbers run 1..65535 (0 is never sent).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


class UadpError(ValueError):
    """A datagram (or a message to encode) violates the UADP layout."""


# --------------------------------------------------------------------------------------------
# Built-in types (Part 6 5.1.2 type ids)
# --------------------------------------------------------------------------------------------

BUILTIN_IDS: dict[str, int] = {
    "Boolean": 1, "SByte": 2, "Byte": 3, "Int16": 4, "UInt16": 5, "Int32": 6, "UInt32": 7,
    "Int64": 8, "UInt64": 9, "Float": 10, "Double": 11, "String": 12, "DateTime": 13,
    "StatusCode": 19,
}
BUILTIN_NAMES: dict[int, str] = {v: k for k, v in BUILTIN_IDS.items()}

# Fixed-size built-ins: type id -> struct format (Boolean and DateTime get special handling).
_FIXED_FMT: dict[int, str] = {1: "<B", 2: "<b", 3: "<B", 4: "<h", 5: "<H", 6: "<i", 7: "<I",
                              8: "<q", 9: "<Q", 10: "<f", 11: "<d", 13: "<q", 19: "<I"}

PUBLISHER_ID_TYPES: dict[str, int] = {"Byte": 0, "UInt16": 1, "UInt32": 2, "UInt64": 3, "String": 4}
_PUBLISHER_ID_FMT: dict[str, str] = {"Byte": "<B", "UInt16": "<H", "UInt32": "<I", "UInt64": "<Q"}
FIELD_ENCODINGS: tuple[str, ...] = ("Variant", "RawData", "DataValue")
MESSAGE_TYPES: tuple[str, ...] = ("KeyFrame", "DeltaFrame", "Event", "KeepAlive")

_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=timezone.utc)
_MAX_DATETIME = datetime.max.replace(tzinfo=timezone.utc)
_MAX_TICKS = (_MAX_DATETIME - _EPOCH_1601) // timedelta(microseconds=1) * 10


def ticks_to_datetime(ticks: int) -> datetime | None:
    """DateTime ticks (100 ns since 1601-01-01 UTC) -> aware datetime; 0 (null) and earlier -> None.

    Values past 9999-12-31 (Part 6: encoded as Int64 max) map to ``datetime.max`` in UTC."""
    if ticks <= 0:
        return None
    if ticks >= _MAX_TICKS:
        return _MAX_DATETIME
    return _EPOCH_1601 + timedelta(microseconds=ticks // 10)


def datetime_to_ticks(value: datetime | None) -> int:
    """Aware (or naive = UTC) datetime -> DateTime ticks; None -> 0 (null)."""
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if value <= _EPOCH_1601:
        return 0
    return (value - _EPOCH_1601) // timedelta(microseconds=1) * 10


# --------------------------------------------------------------------------------------------
# Byte reader with bounds checks
# --------------------------------------------------------------------------------------------

class _Reader:
    """Cursor over ``data[pos:end]``; every read checks the bound and names what it read."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        """Read ``data`` from ``pos`` up to ``end`` (default: its length)."""
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def remaining(self) -> int:
        """Bytes left before the end bound."""
        return self.end - self.pos

    def take(self, n: int, what: str) -> bytes:
        """The next n bytes; UadpError("truncated: ...") when fewer are left."""
        if n < 0 or self.pos + n > self.end:
            raise UadpError(f"truncated: {what} needs {n} bytes at offset {self.pos}, "
                            f"{self.remaining()} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str):
        """Read one value of struct format ``fmt``."""
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def u8(self, what: str) -> int:
        """Read a Byte."""
        return self.unpack("<B", what)

    def u16(self, what: str) -> int:
        """Read a UInt16."""
        return self.unpack("<H", what)

    def u32(self, what: str) -> int:
        """Read a UInt32."""
        return self.unpack("<I", what)

    def sub(self, n: int, what: str) -> "_Reader":
        """A reader over the next n bytes (which this reader then skips)."""
        start = self.pos
        self.take(n, what)
        return _Reader(self.data, start, start + n)


# --------------------------------------------------------------------------------------------
# Built-in values, Variant, DataValue
# --------------------------------------------------------------------------------------------

def _read_string(r: _Reader, what: str) -> str | None:
    """UA String: Int32 byte length (-1 = null) + UTF-8."""
    n = r.unpack("<i", f"{what} length")
    if n == -1:
        return None
    if n < -1:
        raise UadpError(f"invalid {what} length {n}")
    raw = r.take(n, what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UadpError(f"{what} is not valid UTF-8: {exc}") from None


def _write_string(value: str | None) -> bytes:
    """Encode a UA String (None -> null, length -1)."""
    if value is None:
        return struct.pack("<i", -1)
    raw = value.encode("utf-8")
    return struct.pack("<i", len(raw)) + raw


def _type_id(type_: int | str) -> int:
    """Built-in type name or id -> supported type id (UadpError otherwise)."""
    tid = BUILTIN_IDS.get(type_) if isinstance(type_, str) else type_
    if tid not in BUILTIN_NAMES:
        raise UadpError(f"unsupported built-in type {type_!r}")
    return tid


def read_builtin(r: _Reader, type_: int | str):
    """Decode one scalar of a supported built-in type (id or name)."""
    tid = _type_id(type_)
    name = BUILTIN_NAMES[tid]
    if tid == 12:
        return _read_string(r, "String")
    value = r.unpack(_FIXED_FMT[tid], name)
    if tid == 1:
        return value != 0
    if tid == 13:
        return ticks_to_datetime(value)
    return value


def write_builtin(type_: int | str, value) -> bytes:
    """Encode one scalar of a supported built-in type (id or name)."""
    tid = _type_id(type_)
    if tid == 12:
        return _write_string(value)
    if tid == 1:
        return b"\x01" if value else b"\x00"
    if tid == 13:
        value = datetime_to_ticks(value)
    try:
        return struct.pack(_FIXED_FMT[tid], value)
    except (struct.error, TypeError) as exc:
        raise UadpError(f"cannot encode {value!r} as {BUILTIN_NAMES[tid]}: {exc}") from None


def read_variant(r: _Reader) -> tuple[int, object]:
    """Decode a Variant -> (builtin_type_id, value); arrays give a list, null gives (0, None).

    ArrayDimensions (mask bit 0x40) are accepted when their product equals the length; the
    value is then the flat list."""
    mask = r.u8("Variant encoding mask")
    tid = mask & 0x3F
    is_array = bool(mask & 0x80)
    has_dims = bool(mask & 0x40)
    if tid == 0:
        if mask != 0:
            raise UadpError(f"null Variant with array bits set (mask 0x{mask:02x})")
        return (0, None)
    if tid not in BUILTIN_NAMES:
        raise UadpError(f"unsupported Variant type id {tid}")
    if not is_array:
        if has_dims:
            raise UadpError("Variant has ArrayDimensions but no array flag")
        return (tid, read_builtin(r, tid))
    n = r.unpack("<i", "Variant array length")
    if n < -1:
        raise UadpError(f"invalid Variant array length {n}")
    if n > r.remaining():  # every element takes at least one byte
        raise UadpError(f"truncated: Variant array of {n} elements, {r.remaining()} bytes left")
    values = None if n == -1 else [read_builtin(r, tid) for _ in range(n)]
    if has_dims:
        ndims = r.unpack("<i", "ArrayDimensions length")
        if ndims < 1 or ndims * 4 > r.remaining():
            raise UadpError(f"invalid ArrayDimensions length {ndims}")
        product = 1
        for _ in range(ndims):
            dim = r.unpack("<i", "ArrayDimensions entry")
            if dim < 0:
                raise UadpError(f"negative array dimension {dim}")
            product *= dim
        if product != max(n, 0):
            raise UadpError(f"ArrayDimensions product {product} != array length {n}")
    return (tid, values)


def write_variant(variant: tuple[int | str, object] | None) -> bytes:
    """Encode (type, value) as a Variant; a list value is a one-dimensional array.

    ``None``, ``(0, None)`` or a type of 0 encode the null Variant (mask 0)."""
    if variant is None:
        return b"\x00"
    type_, value = variant
    if type_ in (0, None, "Null"):
        return b"\x00"
    tid = _type_id(type_)
    if isinstance(value, (list, tuple)):
        body = b"".join(write_builtin(tid, v) for v in value)
        return struct.pack("<Bi", tid | 0x80, len(value)) + body
    return struct.pack("<B", tid) + write_builtin(tid, value)


DATAVALUE_KEYS = ("value", "status", "source_timestamp", "source_picoseconds",
                  "server_timestamp", "server_picoseconds")


def read_datavalue(r: _Reader) -> dict:
    """Decode a DataValue -> dict with all DATAVALUE_KEYS (absent parts are None).

    Wire order (Part 6 5.2.2.17): Value, Status, SourceTimestamp, SourcePicoseconds,
    ServerTimestamp, ServerPicoseconds; mask 0x01 value, 0x02 status, 0x04 source ts,
    0x08 server ts, 0x10 source ps, 0x20 server ps."""
    mask = r.u8("DataValue encoding mask")
    if mask & 0xC0:
        raise UadpError(f"reserved DataValue mask bits set (0x{mask:02x})")
    dv = dict.fromkeys(DATAVALUE_KEYS)
    if mask & 0x01:
        dv["value"] = read_variant(r)
    if mask & 0x02:
        dv["status"] = r.u32("DataValue StatusCode")
    if mask & 0x04:
        dv["source_timestamp"] = ticks_to_datetime(r.unpack("<q", "DataValue SourceTimestamp"))
    if mask & 0x10:
        dv["source_picoseconds"] = r.u16("DataValue SourcePicoseconds")
    if mask & 0x08:
        dv["server_timestamp"] = ticks_to_datetime(r.unpack("<q", "DataValue ServerTimestamp"))
    if mask & 0x20:
        dv["server_picoseconds"] = r.u16("DataValue ServerPicoseconds")
    return dv


def write_datavalue(dv: dict) -> bytes:
    """Encode a DataValue dict (keys of DATAVALUE_KEYS; missing or None = absent).

    A timestamp part is present when its key is not None (so a null DateTime cannot be sent
    as present; that is what "absent" means anyway)."""
    get = dv.get
    mask = 0
    out = [b""]
    if get("value") is not None:
        mask |= 0x01
        out.append(write_variant(get("value")))
    if get("status") is not None:
        mask |= 0x02
        out.append(write_builtin(7, get("status")))
    if get("source_timestamp") is not None:
        mask |= 0x04
        out.append(write_builtin(13, get("source_timestamp")))
    if get("source_picoseconds") is not None:
        mask |= 0x10
        out.append(write_builtin(5, get("source_picoseconds")))
    if get("server_timestamp") is not None:
        mask |= 0x08
        out.append(write_builtin(13, get("server_timestamp")))
    if get("server_picoseconds") is not None:
        mask |= 0x20
        out.append(write_builtin(5, get("server_picoseconds")))
    out[0] = struct.pack("<B", mask)
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

@dataclass
class DataSetMessage:
    """One DataSetMessage (7.2.4.5).

    ``fields``: Variant encoding -> (builtin_type_id, value); DataValue encoding -> dicts
    (see read_datavalue); RawData -> plain values of ``raw_types``. For delta frames
    ``field_indices`` holds the FieldIndex of each entry of ``fields``. RawData whose types
    are unknown keeps its undecoded body in ``raw`` (for a delta frame including its
    FieldCount) and ``fields`` stays empty; encode writes ``raw`` back verbatim. ``status`` is the
    UInt16 high word of a StatusCode. ``flags1``/``flags2`` are filled by decode (flags2 None
    when absent) and ignored by encode, which derives the flags from the other attributes."""

    valid: bool = True
    field_encoding: str = "Variant"
    message_type: str = "KeyFrame"
    sequence_number: int | None = None
    timestamp: datetime | None = None
    picoseconds: int | None = None
    status: int | None = None
    config_major: int | None = None
    config_minor: int | None = None
    fields: list = field(default_factory=list)
    field_indices: list[int] | None = None
    raw_types: list[str] | None = None
    raw: bytes | None = None
    flags1: int | None = None
    flags2: int | None = None


@dataclass
class NetworkMessage:
    """A UADP NetworkMessage with a DataSetMessage payload (7.2.4.4).

    Group header fields are None when absent (the GroupHeader is sent when any is set);
    ``dataset_writer_ids`` is the payload header (None = no payload header). The raw flag
    bytes are filled by decode (None when absent) and ignored by encode."""

    version: int = 1
    publisher_id: int | str | None = None
    publisher_id_type: str | None = None
    dataset_class_id: uuid.UUID | None = None
    writer_group_id: int | None = None
    group_version: int | None = None
    network_message_number: int | None = None
    sequence_number: int | None = None
    dataset_writer_ids: list[int] | None = None
    timestamp: datetime | None = None
    picoseconds: int | None = None
    promoted_fields: list[tuple[int, object]] | None = None
    promoted_fields_size: int | None = None
    messages: list[DataSetMessage] = field(default_factory=list)
    uadp_flags: int | None = None
    ext_flags1: int | None = None
    ext_flags2: int | None = None
    group_flags: int | None = None


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

def _decode_raw_field(r: _Reader, types: list[str], index: int):
    """Decode RawData field ``index`` with its type from ``types``."""
    if index >= len(types):
        raise UadpError(f"RawData field index {index} beyond the {len(types)} known types")
    return read_builtin(r, types[index])


def _decode_dataset_message(r: _Reader, raw_types: list[str] | None) -> DataSetMessage:
    """Decode one DataSetMessage occupying exactly the bytes of ``r``."""
    m = DataSetMessage(fields=[])
    m.flags1 = f1 = r.u8("DataSetFlags1")
    f2 = 0
    if f1 & 0x80:
        m.flags2 = f2 = r.u8("DataSetFlags2")
        if f2 & 0xC0:
            raise UadpError(f"reserved DataSetFlags2 bits set (0x{f2:02x})")
    m.valid = bool(f1 & 0x01)
    enc = (f1 >> 1) & 0x03
    if enc == 3:
        raise UadpError("reserved DataSetMessage field encoding 11")
    m.field_encoding = FIELD_ENCODINGS[enc]
    mtype = f2 & 0x0F
    if mtype >= len(MESSAGE_TYPES):
        raise UadpError(f"reserved DataSetMessage type {mtype}")
    m.message_type = MESSAGE_TYPES[mtype]
    if f1 & 0x08:
        m.sequence_number = r.u16("DataSetMessage SequenceNumber")
    if f2 & 0x10:
        m.timestamp = ticks_to_datetime(r.unpack("<q", "DataSetMessage Timestamp"))
    if f2 & 0x20:
        m.picoseconds = r.u16("DataSetMessage PicoSeconds")
    if f1 & 0x10:
        m.status = r.u16("DataSetMessage Status")
    if f1 & 0x20:
        m.config_major = r.u32("ConfigurationVersionMajor")
    if f1 & 0x40:
        m.config_minor = r.u32("ConfigurationVersionMinor")

    if m.message_type == "KeepAlive":
        return m
    if m.field_encoding == "Variant":
        read_field = read_variant
    elif m.field_encoding == "DataValue":
        read_field = read_datavalue
    else:
        read_field = None
        m.raw_types = list(raw_types) if raw_types is not None else None

    if m.message_type == "DeltaFrame":
        if read_field is None and raw_types is None:  # keep FieldCount + pairs undecoded
            m.raw = r.take(r.remaining(), "RawData delta frame")
            return m
        count = r.u16("DeltaFrame FieldCount")
        m.field_indices = []
        for _ in range(count):
            idx = r.u16("DeltaFrame FieldIndex")
            m.field_indices.append(idx)
            m.fields.append(read_field(r) if read_field else _decode_raw_field(r, raw_types, idx))
        return m

    if read_field is not None:  # key frame or event, self-describing
        count = r.u16("FieldCount")
        if count > r.remaining():  # every field takes at least one byte
            raise UadpError(f"truncated: FieldCount {count} with {r.remaining()} bytes left")
        m.fields = [read_field(r) for _ in range(count)]
    elif raw_types is None:
        m.raw = r.take(r.remaining(), "RawData")
    else:
        m.fields = [_decode_raw_field(r, raw_types, i) for i in range(len(raw_types))]
    return m


def _decode(data: bytes, raw_types: dict[int, list[str]]) -> NetworkMessage:
    """decode() without the safety net: header, extended header, then the payload."""
    r = _Reader(data)
    msg = NetworkMessage(messages=[])
    msg.uadp_flags = flags = r.u8("UADPFlags")
    msg.version = flags & 0x0F
    if msg.version != 1:
        raise UadpError(f"unsupported UADPVersion {msg.version}")
    ext1 = ext2 = 0
    if flags & 0x80:
        msg.ext_flags1 = ext1 = r.u8("ExtendedFlags1")
        if ext1 & 0x80:
            msg.ext_flags2 = ext2 = r.u8("ExtendedFlags2")
    if ext1 & 0x10:
        raise UadpError("security not supported")
    if ext2 & 0x01:
        raise UadpError("chunked NetworkMessages not supported")
    if ext2 & 0xE0:
        raise UadpError(f"reserved ExtendedFlags2 bits set (0x{ext2:02x})")
    nm_type = (ext2 >> 2) & 0x07
    if nm_type == 1 or nm_type == 2:
        raise UadpError("discovery NetworkMessages not supported")
    if nm_type != 0:
        raise UadpError(f"reserved NetworkMessage type {nm_type}")

    id_bits = ext1 & 0x07
    if flags & 0x10:
        names = {v: k for k, v in PUBLISHER_ID_TYPES.items()}
        if id_bits not in names:
            raise UadpError(f"reserved PublisherId type {id_bits:03b}")
        msg.publisher_id_type = names[id_bits]
        if msg.publisher_id_type == "String":
            msg.publisher_id = _read_string(r, "PublisherId")
        else:
            msg.publisher_id = r.unpack(_PUBLISHER_ID_FMT[msg.publisher_id_type], "PublisherId")
    if ext1 & 0x08:
        msg.dataset_class_id = uuid.UUID(bytes_le=r.take(16, "DataSetClassId"))
    if flags & 0x20:
        msg.group_flags = g = r.u8("GroupFlags")
        if g & 0xF0:
            raise UadpError(f"reserved GroupFlags bits set (0x{g:02x})")
        if g & 0x01:
            msg.writer_group_id = r.u16("WriterGroupId")
        if g & 0x02:
            msg.group_version = r.u32("GroupVersion")
        if g & 0x04:
            msg.network_message_number = r.u16("NetworkMessageNumber")
        if g & 0x08:
            msg.sequence_number = r.u16("SequenceNumber")
    if flags & 0x40:
        count = r.u8("PayloadHeader Count")
        if count == 0:
            raise UadpError("payload header Count is 0 (a NetworkMessage carries at least one DataSetMessage)")
        msg.dataset_writer_ids = [r.u16("DataSetWriterId") for _ in range(count)]
    if ext1 & 0x20:
        msg.timestamp = ticks_to_datetime(r.unpack("<q", "NetworkMessage Timestamp"))
    if ext1 & 0x40:
        msg.picoseconds = r.u16("NetworkMessage PicoSeconds")
    if ext2 & 0x02:
        msg.promoted_fields_size = size = r.u16("PromotedFields Size")
        pr = r.sub(size, "PromotedFields")
        msg.promoted_fields = []
        while pr.remaining():
            msg.promoted_fields.append(read_variant(pr))

    ids = msg.dataset_writer_ids
    if ids is not None and len(ids) > 1:
        sizes = [r.u16("DataSetMessage size") for _ in ids]
        readers = [r.sub(size, f"DataSetMessage {i} (Sizes[{i}]={size})") for i, size in enumerate(sizes)]
    else:
        readers = [r.sub(r.remaining(), "DataSetMessage")]
    if r.remaining():
        raise UadpError(f"{r.remaining()} trailing bytes after the last DataSetMessage")
    for i, dr in enumerate(readers):
        writer_id = ids[i] if ids is not None else 0
        m = _decode_dataset_message(dr, raw_types.get(writer_id))
        if dr.remaining():
            raise UadpError(f"DataSetMessage {i}: {dr.remaining()} bytes left over after its fields")
        msg.messages.append(m)
    if msg.promoted_fields is not None and len(msg.messages) != 1:
        raise UadpError("PromotedFields require exactly one DataSetMessage")
    return msg


def decode(datagram: bytes, raw_types: dict[int, list[str]] | None = None) -> NetworkMessage:
    """Decode one UADP datagram.

    ``raw_types`` maps DataSetWriterId -> built-in type names of its RawData fields (key 0
    when there is no payload header); RawData of other writers stays in ``DataSetMessage.raw``.
    Raises UadpError on any truncated, reserved or unsupported content."""
    try:
        return _decode(bytes(datagram), raw_types or {})
    except UadpError:
        raise
    except (struct.error, IndexError, OverflowError, UnicodeDecodeError) as exc:  # safety net
        raise UadpError(f"malformed datagram ({type(exc).__name__}: {exc})") from exc


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------

def _u(fmt: str, value, what: str) -> bytes:
    """struct.pack that raises UadpError naming the field when the value does not fit."""
    try:
        return struct.pack(fmt, value)
    except (struct.error, TypeError) as exc:
        raise UadpError(f"cannot encode {what}={value!r}: {exc}") from None


def encode_dataset_message(m: DataSetMessage) -> bytes:
    """Encode one DataSetMessage; the flags are derived from which attributes are set."""
    if m.field_encoding not in FIELD_ENCODINGS:
        raise UadpError(f"unknown field encoding {m.field_encoding!r}")
    if m.message_type not in MESSAGE_TYPES:
        raise UadpError(f"unknown message type {m.message_type!r}")
    f1 = (0x01 if m.valid else 0) | (FIELD_ENCODINGS.index(m.field_encoding) << 1)
    f2 = MESSAGE_TYPES.index(m.message_type)
    if m.sequence_number is not None:
        f1 |= 0x08
    if m.status is not None:
        f1 |= 0x10
    if m.config_major is not None:
        f1 |= 0x20
    if m.config_minor is not None:
        f1 |= 0x40
    if m.timestamp is not None:
        f2 |= 0x10
    if m.picoseconds is not None:
        f2 |= 0x20
    out = []
    if f2:
        out.append(bytes((f1 | 0x80, f2)))
    else:
        out.append(bytes((f1,)))
    if m.sequence_number is not None:
        out.append(_u("<H", m.sequence_number, "DataSetMessage SequenceNumber"))
    if m.timestamp is not None:
        out.append(write_builtin(13, m.timestamp))
    if m.picoseconds is not None:
        out.append(_u("<H", m.picoseconds, "DataSetMessage PicoSeconds"))
    if m.status is not None:
        out.append(_u("<H", m.status, "DataSetMessage Status"))
    if m.config_major is not None:
        out.append(_u("<I", m.config_major, "ConfigurationVersionMajor"))
    if m.config_minor is not None:
        out.append(_u("<I", m.config_minor, "ConfigurationVersionMinor"))
    if m.message_type == "KeepAlive":
        return b"".join(out)

    def write_field(i: int, value) -> bytes:
        """Encode field i in the message's field encoding."""
        if m.field_encoding == "Variant":
            return write_variant(value)
        if m.field_encoding == "DataValue":
            return write_datavalue(value)
        if m.raw_types is None or i >= len(m.raw_types):
            raise UadpError(f"RawData field {i} has no type in raw_types")
        return write_builtin(m.raw_types[i], value)

    if m.message_type == "DeltaFrame":
        if m.field_encoding == "RawData" and m.raw is not None:
            return b"".join(out) + m.raw
        indices = m.field_indices if m.field_indices is not None else list(range(len(m.fields)))
        if len(indices) != len(m.fields):
            raise UadpError("field_indices and fields differ in length")
        out.append(_u("<H", len(m.fields), "FieldCount"))
        for idx, value in zip(indices, m.fields):
            out.append(_u("<H", idx, "FieldIndex"))
            out.append(write_field(idx, value))
        return b"".join(out)
    if m.field_encoding == "RawData":
        if m.raw is not None:
            out.append(m.raw)
        else:
            out.extend(write_field(i, v) for i, v in enumerate(m.fields))
        return b"".join(out)
    out.append(_u("<H", len(m.fields), "FieldCount"))
    out.extend(write_field(i, v) for i, v in enumerate(m.fields))
    return b"".join(out)


def _infer_publisher_id_type(pid) -> str:
    """Smallest PublisherId type holding ``pid`` (used when publisher_id_type is None)."""
    if isinstance(pid, str):
        return "String"
    for name, limit in (("Byte", 0xFF), ("UInt16", 0xFFFF), ("UInt32", 0xFFFFFFFF)):
        if 0 <= pid <= limit:
            return name
    return "UInt64"


def encode(msg: NetworkMessage) -> bytes:
    """Encode a NetworkMessage (no security, no chunking) with the layout ``decode`` reads.

    ExtendedFlags1/2 are only sent when needed; PromotedFields Size is the byte size of the
    encoded Variants; Sizes are written when the payload header has more than one writer."""
    if not msg.messages:
        raise UadpError("a NetworkMessage needs at least one DataSetMessage")
    if not 0 <= msg.version <= 15:
        raise UadpError(f"UADPVersion {msg.version} does not fit 4 bits")
    flags, ext1, ext2 = msg.version, 0, 0
    head: list[bytes] = []
    if msg.publisher_id is not None or msg.publisher_id_type == "String":
        ptype = msg.publisher_id_type or _infer_publisher_id_type(msg.publisher_id)
        if ptype not in PUBLISHER_ID_TYPES:
            raise UadpError(f"unknown PublisherId type {ptype!r}")
        flags |= 0x10
        ext1 |= PUBLISHER_ID_TYPES[ptype]
        if ptype == "String":
            head.append(_write_string(msg.publisher_id))
        else:
            head.append(_u(_PUBLISHER_ID_FMT[ptype], msg.publisher_id, "PublisherId"))
    if msg.dataset_class_id is not None:
        ext1 |= 0x08
        head.append(msg.dataset_class_id.bytes_le)
    group = (msg.writer_group_id, msg.group_version, msg.network_message_number, msg.sequence_number)
    if any(v is not None for v in group):
        flags |= 0x20
        gflags = sum(1 << i for i, v in enumerate(group) if v is not None)
        head.append(bytes((gflags,)))
        for fmt, v, what in zip(("<H", "<I", "<H", "<H"), group,
                                ("WriterGroupId", "GroupVersion", "NetworkMessageNumber", "SequenceNumber")):
            if v is not None:
                head.append(_u(fmt, v, what))
    ids = msg.dataset_writer_ids
    if ids is not None:
        if len(ids) != len(msg.messages):
            raise UadpError(f"{len(ids)} DataSetWriterIds for {len(msg.messages)} DataSetMessages")
        flags |= 0x40
        head.append(_u("<B", len(ids), "PayloadHeader Count"))
        head.extend(_u("<H", i, "DataSetWriterId") for i in ids)
    if msg.timestamp is not None:
        ext1 |= 0x20
        head.append(write_builtin(13, msg.timestamp))
    if msg.picoseconds is not None:
        ext1 |= 0x40
        head.append(_u("<H", msg.picoseconds, "PicoSeconds"))
    if msg.promoted_fields is not None:
        if len(msg.messages) != 1:
            raise UadpError("PromotedFields require exactly one DataSetMessage")
        ext2 |= 0x02
        promoted = b"".join(write_variant(v) for v in msg.promoted_fields)
        head.append(_u("<H", len(promoted), "PromotedFields Size") + promoted)
    if ext2:
        ext1 |= 0x80
    if ext1:
        flags |= 0x80
    prefix = bytes([flags] + ([ext1] if ext1 else []) + ([ext2] if ext2 else []))
    bodies = [encode_dataset_message(m) for m in msg.messages]
    sizes = b""
    if ids is not None and len(ids) > 1:
        sizes = b"".join(_u("<H", len(b), "DataSetMessage size") for b in bodies)
    return prefix + b"".join(head) + sizes + b"".join(bodies)


def encode_key_frame(publisher_id, publisher_id_type: str | None, writer_group_id: int | None,
                     group_version: int | None, network_message_number: int | None,
                     sequence_number: int | None, writers: list[tuple[int, DataSetMessage]],
                     *, timestamp: datetime | None = None) -> bytes:
    """Encode a NetworkMessage with a GroupHeader and a payload header listing ``writers``.

    ``writers`` is a list of (DataSetWriterId, DataSetMessage); every message must be a key
    frame. None group fields are omitted."""
    for wid, m in writers:
        if m.message_type != "KeyFrame":
            raise UadpError(f"writer {wid}: {m.message_type} is not a key frame")
    return encode(NetworkMessage(
        publisher_id=publisher_id, publisher_id_type=publisher_id_type,
        writer_group_id=writer_group_id, group_version=group_version,
        network_message_number=network_message_number, sequence_number=sequence_number,
        dataset_writer_ids=[wid for wid, _ in writers], timestamp=timestamp,
        messages=[m for _, m in writers]))


if __name__ == "__main__":  # smoke check; the real tests are in test_uadp_reference.py
    _m = DataSetMessage(sequence_number=1, fields=[(11, 1.5), (12, "x")])
    _d = decode(encode_key_frame(7, "UInt16", 1, 2, 1, 3, [(10, _m), (11, _m)]))
    assert _d.publisher_id == 7 and _d.messages[1].fields == [(11, 1.5), (12, "x")], _d
    print("ok")
