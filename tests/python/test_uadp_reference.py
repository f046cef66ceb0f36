"""Tests of the independent UADP reference codec (uadp_reference.py): hand-assembled golden
datagrams (so encoder and decoder cannot agree on a shared mistake), encode -> decode round
trips for every field encoding, DataSetMessage type and PublisherId type, interop with
asyncua 2.1's UadpNetworkMessage in both directions (plus tests pinning the asyncua
deviations listed in the uadp_reference docstring), and robustness: every truncation and
thousands of random / mutated datagrams only ever raise UadpError.

No gateway is needed; see test_pubsub_peers.py for how to run without building fxgate."""

from __future__ import annotations

import dataclasses
import random
import struct
import uuid
from datetime import datetime, timezone

import pytest
from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import to_binary
from asyncua.pubsub.uadp import (
    UadpDataSetDataValue,
    UadpDataSetMessageHeader,
    UadpDataSetVariant,
    UadpGroupHeader,
    UadpHeader,
    UadpNetworkMessage,
)

import uadp_reference as ur
from uadp_reference import DataSetMessage, NetworkMessage, UadpError

T1 = datetime(2024, 1, 1, tzinfo=timezone.utc)
T2 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
T1_TICKS = 133485408000000000  # 2024-01-01T00:00:00Z in 100 ns ticks since 1601


def q(v: int) -> bytes:
    """Int64 little-endian (DateTime ticks)."""
    return struct.pack("<q", v)


def strip(msg: NetworkMessage) -> NetworkMessage:
    """Drop what encode derives by itself (raw flag bytes, PromotedFields Size)."""
    msgs = [dataclasses.replace(m, flags1=None, flags2=None) for m in msg.messages]
    return dataclasses.replace(msg, uadp_flags=None, ext_flags1=None, ext_flags2=None,
                               group_flags=None, promoted_fields_size=None, messages=msgs)


def roundtrip(msg: NetworkMessage, raw_types=None) -> NetworkMessage:
    """encode -> decode must give ``msg`` back (modulo derived flags); returns the decoded message."""
    out = ur.decode(ur.encode(msg), raw_types)
    assert strip(out) == strip(msg)
    return out


# ---------------------------------------------------------------------------- golden bytes


def test_golden_datagram_decodes_field_by_field():
    """Hand-assembled datagram: two writers with Sizes, Variant key frame + DataValue delta frame."""
    msg1 = (b"\x19" + b"\x07\x00" + b"\x00\x80" + b"\x02\x00"          # flags1, seq, status, count
            + b"\x0b" + struct.pack("<d", 1.5) + b"\x0c\x02\x00\x00\x00ab")
    msg2 = (b"\x85\x11" + q(T1_TICKS) + b"\x01\x00" + b"\x03\x00"       # DataValue delta, ts, 1 field #3
            + b"\x15" + b"\x06" + struct.pack("<i", -5) + q(T1_TICKS) + b"\x09\x00")
    data = (b"\xf1\x21" + b"\x34\x12"                                   # flags, ext1, PublisherId
            + b"\x0f" + b"\x05\x00" + b"\x04\x03\x02\x01" + b"\x01\x00" + b"\x02\x01"
            + b"\x02\x0a\x00\x0b\x00"                                   # payload header
            + q(T1_TICKS)                                               # network timestamp
            + struct.pack("<HH", len(msg1), len(msg2)) + msg1 + msg2)
    m = ur.decode(data)
    assert (m.version, m.publisher_id, m.publisher_id_type) == (1, 0x1234, "UInt16")
    assert (m.writer_group_id, m.group_version, m.network_message_number, m.sequence_number) == \
        (5, 0x01020304, 1, 0x0102)
    assert (m.uadp_flags, m.ext_flags1, m.ext_flags2, m.group_flags) == (0xF1, 0x21, None, 0x0F)
    assert m.dataset_writer_ids == [10, 11] and m.timestamp == T1 and m.picoseconds is None
    a, b = m.messages
    assert (a.valid, a.field_encoding, a.message_type, a.sequence_number, a.status) == \
        (True, "Variant", "KeyFrame", 7, 0x8000)
    assert a.fields == [(11, 1.5), (12, "ab")] and a.flags2 is None
    assert (b.field_encoding, b.message_type, b.timestamp, b.field_indices) == \
        ("DataValue", "DeltaFrame", T1, [3])
    assert b.fields == [{"value": (6, -5), "status": None, "source_timestamp": T1,
                         "source_picoseconds": 9, "server_timestamp": None, "server_picoseconds": None}]
    assert ur.encode(m) == data  # and the encoder writes exactly the same bytes


def test_golden_datavalue_order_and_raw_data():
    """Part 6 DataValue order with every part present; a RawData key frame without payload header."""
    dv = (b"\x3f" + b"\x01\x01" + struct.pack("<I", 0x80340000) + q(T1_TICKS) + b"\x01\x00"
          + q(T1_TICKS + 10_000_000) + b"\x02\x00")
    assert ur.read_datavalue(ur._Reader(dv)) == {
        "value": (1, True), "status": 0x80340000, "source_timestamp": T1, "source_picoseconds": 1,
        "server_timestamp": datetime(2024, 1, 1, 0, 0, 1, tzinfo=timezone.utc), "server_picoseconds": 2}
    assert ur.write_datavalue(ur.read_datavalue(ur._Reader(dv))) == dv
    # RawData key frame: no FieldCount, fields back to back; no payload header -> raw_types[0]
    raw = b"\x02\x00\x00\x00xy" + struct.pack("<hf", -2, 0.5) + b"\x02"
    data = b"\x01" + b"\x03" + raw
    m = ur.decode(data, {0: ["String", "Int16", "Float", "Boolean"]})
    assert m.dataset_writer_ids is None and m.messages[0].field_encoding == "RawData"
    assert m.messages[0].fields == ["xy", -2, 0.5, True]
    assert ur.decode(data).messages[0].raw == raw  # types unknown: kept as bytes


def test_builtin_scalars_and_arrays():
    """Every supported built-in type as Variant scalar / array, null values, DateTime limits."""
    cases = [(1, False), (2, -128), (3, 255), (4, -32768), (5, 65535), (6, -2**31), (7, 2**32 - 1),
             (8, -2**63), (9, 2**64 - 1), (10, 0.25), (11, -1e300), (12, "ünï"), (12, None), (12, ""),
             (13, T2), (13, None), (19, 0x80000000), (6, [1, -2, 3]), (12, ["a", None]), (11, []),
             (0, None)]
    for v in cases:
        enc = ur.write_variant(v)
        assert ur.read_variant(ur._Reader(enc)) == v, v
    assert ur.write_variant((6, [1, 2])) == b"\x86\x02\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00"
    assert ur.write_variant(("Int32", 7)) == b"\x06\x07\x00\x00\x00"
    # one-dimensional array with ArrayDimensions [2] (mask 0x40) is accepted
    assert ur.read_variant(ur._Reader(b"\xc3\x02\x00\x00\x00\x05\x06\x01\x00\x00\x00\x02\x00\x00\x00")) == (3, [5, 6])
    assert ur.ticks_to_datetime(0) is None and ur.datetime_to_ticks(None) == 0
    assert ur.datetime_to_ticks(T1) == T1_TICKS and ur.ticks_to_datetime(2**63 - 1).year == 9999
    with pytest.raises(UadpError):
        ur.write_variant((3, 256))
    with pytest.raises(UadpError):
        ur.write_variant((14, "guid"))


# ---------------------------------------------------------------------------- round trips

PUBLISHER_IDS = [(None, None), (200, "Byte"), (60000, "UInt16"), (4_000_000_000, "UInt32"),
                 (2**63 + 5, "UInt64"), ("pub-ü", "String"), (None, "String")]
RAW_TYPES = ["Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
             "Float", "Double", "String", "DateTime"]
RAW_VALUES = [True, -3, 250, -300, 65000, -70000, 70000, -2**40, 2**40, 1.5, 2.25, "s", T2]


def sample_fields(encoding: str) -> list:
    """Fields covering the built-in types for a DataSetMessage of ``encoding``."""
    if encoding == "Variant":
        return [(11, 3.5), (6, -7), (12, "hé"), (1, True), (13, T2), (19, 0x00320000), (6, [1, 2]), (0, None)]
    if encoding == "DataValue":
        return [{"value": (11, 1.0)}, {"value": (12, "x"), "status": 0x80000000},
                {"value": (6, 1), "source_timestamp": T1, "source_picoseconds": 3,
                 "server_timestamp": T2, "server_picoseconds": 4}, {"value": (0, None)}, {}]
    return list(RAW_VALUES)


def full_dv(d: dict) -> dict:
    """A DataValue dict with every key (as decode returns it)."""
    return {k: d.get(k) for k in ur.DATAVALUE_KEYS}


@pytest.mark.parametrize("encoding", ur.FIELD_ENCODINGS)
@pytest.mark.parametrize("mtype", ur.MESSAGE_TYPES)
def test_roundtrip_every_encoding_and_message_type(encoding, mtype):
    """Round trip of every field encoding x DataSetMessage type with every optional header field."""
    fields = sample_fields(encoding)
    if encoding == "DataValue":
        fields = [full_dv(f) for f in fields]
    m = DataSetMessage(field_encoding=encoding, message_type=mtype, sequence_number=9,
                       timestamp=T1, picoseconds=12, status=0x8034, config_major=100, config_minor=200)
    if encoding == "RawData":
        m.raw_types = RAW_TYPES
    if mtype == "DeltaFrame":
        m.fields, m.field_indices = fields[1:3], [1, 2]
    elif mtype != "KeepAlive":
        m.fields = fields
    other = DataSetMessage(valid=False, fields=[(3, 1)])
    msg = NetworkMessage(publisher_id=3, publisher_id_type="Byte", writer_group_id=1,
                         dataset_writer_ids=[5, 6], messages=[m, other])
    raw_types = {5: RAW_TYPES}
    if encoding == "RawData" and mtype == "KeepAlive":
        m.raw_types = None
    out = roundtrip(msg, raw_types if m.raw_types else None)
    assert out.messages[0].flags1 & 0x80 and out.messages[1].flags2 is None
    if encoding == "RawData" and mtype != "KeepAlive":  # without types the body stays raw
        kept = ur.decode(ur.encode(msg)).messages[0]
        assert kept.fields == [] and kept.raw and ur.encode(dataclasses.replace(msg, messages=[kept, other])) == ur.encode(msg)


@pytest.mark.parametrize("pid,ptype", PUBLISHER_IDS)
def test_roundtrip_every_publisher_id_type(pid, ptype):
    """Round trip of every PublisherId type, with DataSetClassId, timestamps and PromotedFields."""
    msg = NetworkMessage(publisher_id=pid, publisher_id_type=ptype,
                         dataset_class_id=uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10"),
                         group_version=77, sequence_number=65535, dataset_writer_ids=[1],
                         timestamp=T2, picoseconds=999, promoted_fields=[(6, 5), (12, "p")],
                         messages=[DataSetMessage(fields=[(5, 1)])])
    out = roundtrip(msg)
    assert out.promoted_fields_size == 5 + 6  # in bytes, not a count
    expected_bits = {None: 0, "Byte": 0, "UInt16": 1, "UInt32": 2, "UInt64": 3, "String": 4}[ptype]
    assert out.ext_flags1 & 0x07 == expected_bits and out.ext_flags1 & 0x80 and out.ext_flags2 == 0x02
    assert bool(out.uadp_flags & 0x10) == (ptype is not None)
    bare = NetworkMessage(publisher_id=pid, publisher_id_type=ptype, messages=[DataSetMessage()])
    roundtrip(bare)


def test_minimal_message_has_no_extended_flags_and_encode_key_frame():
    """ExtendedFlags only when needed; encode_key_frame fills group and payload headers."""
    data = ur.encode(NetworkMessage(messages=[DataSetMessage(message_type="KeepAlive")]))
    assert data == b"\x01\x81\x03"
    data = ur.encode_key_frame(0x1234, "UInt16", 5, 6, 1, 42, [(10, DataSetMessage(fields=[(6, 1)])),
                                                              (11, DataSetMessage(fields=[]))])
    m = ur.decode(data)
    assert (m.publisher_id, m.writer_group_id, m.group_version, m.network_message_number,
            m.sequence_number, m.dataset_writer_ids) == (0x1234, 5, 6, 1, 42, [10, 11])
    with pytest.raises(UadpError):
        ur.encode_key_frame(1, "Byte", 1, None, None, None, [(1, DataSetMessage(message_type="DeltaFrame"))])


# ---------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize("data,needle", [
    (b"", "UADPFlags"),
    (b"\x02\x00", "UADPVersion"),
    (b"\x81\x10\x00", "security not supported"),
    (b"\x81\x80\x01\x00", "chunk"),
    (b"\x81\x80\x04\x00", "discovery"),
    (b"\x81\x80\x0c\x00", "reserved NetworkMessage type"),
    (b"\x91\x05\x00\x00", "reserved PublisherId type"),
    (b"\x21\x10\x00", "reserved GroupFlags"),
    (b"\x41\x00", "Count is 0"),
    (b"\x01\x06", "field encoding 11"),
    (b"\x01\x81\x04", "reserved DataSetMessage type"),
    (b"\x01\x01\x00\x00\xff", "left over"),
    (b"\x41\x02\x01\x00\x02\x00\x01\x00\x01\x00\x01\x01\xff", "trailing"),
    (b"\x41\x02\x01\x00\x02\x00\x04\x00\x01\x00\x01\x00\x00\x00\x01", "left over"),
    (b"\x01\x01\x01\x00\x0e", "unsupported Variant type"),
    (b"\x01\x01\x01\x00\x0c\xfe\xff\xff\xff", "invalid String length"),
    (b"\x01\x01\x01\x00\x0c\x01\x00\x00\x00\xff", "UTF-8"),
    (b"\x01\x05\x01\x00\x40", "reserved DataValue"),
])
def test_invalid_datagrams_raise_clear_uadp_errors(data, needle):
    """Each kind of invalid input raises UadpError with a message naming the problem."""
    with pytest.raises(UadpError, match=f"(?i){needle}"):
        ur.decode(data)


def valid_samples() -> list[tuple[bytes, dict | None]]:
    """Valid datagrams covering every construct (RawData only with known types, since raw
    bytes kept undecoded have no length of their own and so cannot reveal a truncation)."""
    out = []
    for enc in ("Variant", "DataValue"):
        for mtype in ur.MESSAGE_TYPES:
            fields = sample_fields(enc)
            m = DataSetMessage(field_encoding=enc, message_type=mtype, sequence_number=1, timestamp=T1,
                               status=0, fields=fields[:2] if mtype != "KeepAlive" else [],
                               field_indices=[0, 4] if mtype == "DeltaFrame" else None)
            for ids in (None, [1], [1, 2]):
                msgs = [m] if ids is None or len(ids) == 1 else [m, DataSetMessage(fields=[(12, "z")])]
                out.append((ur.encode(NetworkMessage(publisher_id="ps", publisher_id_type="String",
                                                     writer_group_id=3, dataset_writer_ids=ids,
                                                     messages=msgs)), None))
    raw = DataSetMessage(field_encoding="RawData", raw_types=RAW_TYPES, fields=list(RAW_VALUES))
    out.append((ur.encode(NetworkMessage(dataset_writer_ids=[4], messages=[raw])), {4: RAW_TYPES}))
    out.append((ur.encode(NetworkMessage(publisher_id=2**40, publisher_id_type="UInt64",
                                         dataset_class_id=uuid.uuid4(), timestamp=T2, picoseconds=1,
                                         promoted_fields=[(6, [1, 2]), (12, "x")],
                                         messages=[DataSetMessage(fields=[(6, 1)])])), None))
    return out


def test_every_truncation_raises_uadp_error():
    """Every proper prefix of every valid sample is rejected."""
    for data, raw_types in valid_samples():
        ur.decode(data, raw_types)
        for n in range(len(data)):
            with pytest.raises(UadpError):
                ur.decode(data[:n], raw_types)


def test_random_and_mutated_bytes_only_raise_uadp_error():
    """Seeded fuzzing: random and mutated datagrams decode or raise UadpError, nothing else."""
    rng = random.Random(20240514)
    seeds = valid_samples()
    decoded = 0
    for i in range(4000):
        if i % 4 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(48)))
            raw_types = {0: RAW_TYPES[:5]}
        else:
            base, raw_types = rng.choice(seeds)
            data = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                op = rng.randrange(3)
                pos = rng.randrange(len(data) + 1)
                if op == 0 and pos < len(data):
                    data[pos] = rng.randrange(256)
                elif op == 1:
                    data[pos:pos] = bytes([rng.randrange(256)])
                else:
                    del data[pos:pos + rng.randrange(1, 4)]
            data = bytes(data)
        try:
            m = ur.decode(data, raw_types)
        except UadpError:
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"decode({data.hex()}) raised {type(exc).__name__}: {exc}")
        decoded += 1
        again = ur.encode(m)  # whatever decodes must re-encode stably
        assert ur.encode(ur.decode(again, raw_types)) == again
    assert decoded > 100  # the mutations must also exercise the successful paths


# ---------------------------------------------------------------------------- asyncua interop


def asyncua_message(publisher_id=None) -> UadpNetworkMessage:
    """asyncua's view of the interop message (UInt16 PublisherId unless given)."""
    def ds(seq, values):
        hdr = UadpDataSetMessageHeader(Valid=True, SequenceNo=ua.UInt16(seq), Timestamp=T2,
                                       Status=ua.UInt16(0x4000))
        return UadpDataSetVariant(hdr, values)
    return UadpNetworkMessage(
        Header=UadpHeader(PublisherId=publisher_id if publisher_id is not None else ua.UInt16(0x1234)),
        GroupHeader=UadpGroupHeader(WriterGroupId=ua.UInt16(5), GroupVersion=ua.UInt32(123456),
                                    NetworkMessageNo=ua.UInt16(1), SequenceNo=ua.UInt16(42)),
        DataSetPayloadHeader=[ua.UInt16(10), ua.UInt16(11)],
        Timestamp=T1,
        Payload=[ds(7, [ua.Variant(1.5, ua.VariantType.Double), ua.Variant(-7, ua.VariantType.Int32),
                        ua.Variant("hé", ua.VariantType.String), ua.Variant(True, ua.VariantType.Boolean)]),
                 ds(8, [ua.Variant(-0.25, ua.VariantType.Double), ua.Variant(2**31 - 1, ua.VariantType.Int32),
                        ua.Variant("", ua.VariantType.String), ua.Variant(False, ua.VariantType.Boolean)])])


def reference_message() -> NetworkMessage:
    """The same message as asyncua_message() in uadp_reference terms."""
    def ds(seq, values):
        return DataSetMessage(sequence_number=seq, timestamp=T2, status=0x4000, fields=values)
    return NetworkMessage(publisher_id=0x1234, publisher_id_type="UInt16", writer_group_id=5,
                          group_version=123456, network_message_number=1, sequence_number=42,
                          dataset_writer_ids=[10, 11], timestamp=T1,
                          messages=[ds(7, [(11, 1.5), (6, -7), (12, "hé"), (1, True)]),
                                    ds(8, [(11, -0.25), (6, 2**31 - 1), (12, ""), (1, False)])])


def test_asyncua_encoding_decodes_in_reference():
    """asyncua to_binary -> reference decode reads every field; re-encoding is byte-identical."""
    data = asyncua_message().to_binary()
    assert strip(ur.decode(data)) == strip(reference_message())
    assert ur.encode(ur.decode(data)) == data  # byte-identical layout


def test_reference_encoding_decodes_in_asyncua():
    """reference encode -> asyncua from_binary reads every field."""
    got = UadpNetworkMessage.from_binary(Buffer(ur.encode(reference_message())))
    want = asyncua_message()
    assert got.Header.PublisherId == 0x1234 and isinstance(got.Header.PublisherId, ua.UInt16)
    assert got.GroupHeader == want.GroupHeader and got.DataSetPayloadHeader == [10, 11]
    assert got.Timestamp == T1 and got.PicoSeconds is None and not got.PromotedFields
    for g, w in zip(got.Payload, want.Payload, strict=True):
        assert isinstance(g, UadpDataSetVariant) and g.Header == w.Header
        assert [(v.VariantType, v.Value) for v in g.Data] == [(v.VariantType, v.Value) for v in w.Data]


def test_datavalue_interop_without_picoseconds():
    """DataValue fields interoperate both ways when no picoseconds are sent."""
    dv = ua.DataValue(ua.Variant(2.5, ua.VariantType.Double), ua.StatusCode(0x80000000),
                      SourceTimestamp=T1, ServerTimestamp=T2)
    am = UadpNetworkMessage(Header=UadpHeader(PublisherId=ua.UInt16(1)), DataSetPayloadHeader=[ua.UInt16(3)],
                            Payload=[UadpDataSetDataValue(UadpDataSetMessageHeader(SequenceNo=ua.UInt16(1)), [dv])])
    want = {"value": (11, 2.5), "status": 0x80000000, "source_timestamp": T1, "source_picoseconds": None,
            "server_timestamp": T2, "server_picoseconds": None}
    assert ur.decode(am.to_binary()).messages[0].fields == [want]
    back = UadpNetworkMessage.from_binary(Buffer(ur.encode(ur.decode(am.to_binary()))))
    assert back.Payload[0].Data == [dv]


# ---------------------------------------------------------------------------- asyncua deviations


def test_deviation_asyncua_uint64_publisher_id_bits():
    """Deviation 1: asyncua's UInt64 PublisherId type bits are 0b110."""
    data = asyncua_message(ua.UInt64(2**40)).to_binary()
    assert data[1] & 0x07 == 0b110  # Part 14: 0b011
    with pytest.raises(UadpError, match="reserved PublisherId type 110"):
        ur.decode(data)
    # asyncua reads its own UInt64 id as a String (here: length 0 from the low 4 bytes) ...
    _, hdr = UadpHeader.from_binary(Buffer(data))
    assert hdr.PublisherId == ""
    # ... and a conforming UInt64 id (bits 011) as a UInt16: only the low two bytes
    ours = ur.encode(dataclasses.replace(reference_message(), publisher_id=2**40 + 7, publisher_id_type="UInt64"))
    assert ours[1] & 0x07 == 0b011
    _, hdr = UadpHeader.from_binary(Buffer(ours))
    assert hdr.PublisherId == 7 and isinstance(hdr.PublisherId, ua.UInt16)


def test_deviation_asyncua_promoted_fields_size_is_a_count():
    """Deviation 2: asyncua writes the PromotedFields count where Part 14 wants a byte size."""
    am = UadpNetworkMessage(Header=UadpHeader(PublisherId=ua.UInt16(1)),
                            PromotedFields=[ua.Variant(1, ua.VariantType.Int32), ua.Variant(2.0, ua.VariantType.Double)],
                            Payload=[UadpDataSetVariant(UadpDataSetMessageHeader(), [])])
    data = am.to_binary()
    assert data[:2] == b"\x91\x81" and data[2] == 0x02 and data[5:7] == b"\x02\x00"  # Size = 2 (count)
    with pytest.raises(UadpError, match="truncated"):
        ur.decode(data)
    ours = ur.encode(NetworkMessage(publisher_id=1, publisher_id_type="UInt16",
                                    promoted_fields=[(6, 1), (11, 2.0)], messages=[DataSetMessage()]))
    assert ours[:5] == data[:5] and ours[5:7] == struct.pack("<H", 5 + 9)  # Size in bytes


def test_deviation_asyncua_datavalue_picoseconds_order():
    """Deviation 3: asyncua puts SourcePicoseconds after ServerTimestamp."""
    dv = ua.DataValue(ua.Variant(1, ua.VariantType.Int32), SourceTimestamp=T1, SourcePicoseconds=7,
                      ServerTimestamp=T2, ServerPicoseconds=9)
    body = to_binary(ua.DataValue, dv)
    # asyncua: Value, Status, SourceTs, ServerTs, SourcePs, ServerPs
    assert body[-20:] == q(ur.datetime_to_ticks(T1)) + q(ur.datetime_to_ticks(T2)) + b"\x07\x00\x09\x00"
    spec = ur.write_datavalue({"value": (6, 1), "status": 0, "source_timestamp": T1, "source_picoseconds": 7,
                               "server_timestamp": T2, "server_picoseconds": 9})
    assert spec[-20:] == q(ur.datetime_to_ticks(T1)) + b"\x07\x00" + q(ur.datetime_to_ticks(T2)) + b"\x09\x00"
    assert ur.read_datavalue(ur._Reader(body))["source_picoseconds"] != 7


def test_deviation_asyncua_accepts_reserved_and_secured_input():
    """Deviations 4/5: asyncua accepts field encoding 11 and ignores the Security flag."""
    # field encoding 11 is read as RawData; the Security flag is ignored
    m = UadpNetworkMessage.from_binary(Buffer(b"\x01\x07abc"))
    assert type(m.Payload[0]).__name__ == "UadpDataSetRaw"
    m = UadpNetworkMessage.from_binary(Buffer(b"\x81\x10\x01\x00\x00"))
    assert isinstance(m.Payload[0], UadpDataSetVariant)
    for data in (b"\x01\x07abc", b"\x81\x10\x01\x00\x00"):
        with pytest.raises(UadpError):
            ur.decode(data)
