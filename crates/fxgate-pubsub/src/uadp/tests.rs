//! Round trips, hand-checked bytes, and bad input.

use opcua::types::{ContextOwned, DataTypeId, DataValue, DateTime, StatusCode, Variant};
use proptest::prelude::*;

use super::*;

fn key_frame(encoding: FieldEncoding, values: Vec<Variant>) -> DataSetMessage {
    let payload = match encoding {
        FieldEncoding::RawData => {
            let ctx = ContextOwned::default();
            let mut body = Vec::new();
            for (i, v) in values.iter().enumerate() {
                encode_raw_field(i, v, &ctx.context(), &mut body).expect("raw");
            }
            Payload::Raw(body)
        }
        FieldEncoding::DataValue => Payload::Fields(
            values
                .into_iter()
                .map(|v| DataValue {
                    value: Some(v),
                    status: Some(StatusCode::UncertainLastUsableValue),
                    source_timestamp: Some(DateTime::from(133_000_000_000_000_000i64)),
                    ..Default::default()
                })
                .collect(),
        ),
        FieldEncoding::Variant => Payload::Fields(values.into_iter().map(DataValue::value_only).collect()),
    };
    DataSetMessage {
        valid: true,
        encoding,
        kind: MessageKind::KeyFrame,
        sequence_number: Some(7),
        timestamp: Some(DateTime::from(133_000_000_000_000_123i64)),
        picoseconds: None,
        status: Some(0x8031),
        config_major: Some(1),
        config_minor: Some(2),
        payload,
    }
}

fn periodic(publisher_id: PublisherId, messages: Vec<DataSetMessage>) -> NetworkMessage {
    NetworkMessage {
        publisher_id: Some(publisher_id),
        data_set_class_id: None,
        group: Some(GroupHeader {
            writer_group_id: Some(100),
            group_version: Some(0x1234_5678),
            network_message_number: Some(1),
            sequence_number: Some(65535),
        }),
        writer_ids: Some((1..=messages.len() as u16).collect()),
        timestamp: None,
        picoseconds: None,
        messages,
    }
}

fn values() -> Vec<Variant> {
    vec![
        Variant::Double(1.5),
        Variant::Int32(-7),
        Variant::Boolean(true),
        Variant::String("Ω text".into()),
        Variant::UInt64(u64::MAX),
        Variant::Float(0.25),
    ]
}

fn round_trip(m: &NetworkMessage) -> NetworkMessage {
    let ctx = ContextOwned::default();
    let mut out = Vec::new();
    encode(m, &ctx.context(), &mut out).expect("encode");
    decode(&out, &ctx.context()).expect("decode")
}

#[test]
fn every_encoding_and_publisher_id_type_round_trips() {
    let ids = [
        PublisherId::Byte(3),
        PublisherId::UInt16(1001),
        PublisherId::UInt32(70_000),
        PublisherId::UInt64(1 << 40),
        PublisherId::String("plc-1".into()),
    ];
    for id in ids {
        for e in [FieldEncoding::Variant, FieldEncoding::RawData, FieldEncoding::DataValue] {
            let m = periodic(id.clone(), vec![key_frame(e, values()), key_frame(e, vec![Variant::Double(2.0)])]);
            assert_eq!(round_trip(&m), m, "{id} {e:?}");
            let one = periodic(id.clone(), vec![key_frame(e, values())]);
            assert_eq!(round_trip(&one), one, "{id} {e:?} single");
        }
    }
}

#[test]
fn raw_fields_decode_with_their_types() {
    let m = key_frame(FieldEncoding::RawData, values());
    let Payload::Raw(body) = &m.payload else { panic!("raw") };
    let types = [DataTypeId::Double, DataTypeId::Int32, DataTypeId::Boolean, DataTypeId::String, DataTypeId::UInt64, DataTypeId::Float];
    let ctx = ContextOwned::default();
    assert_eq!(decode_raw_fields(body, &types, &ctx.context()).expect("decode"), values());
    // One type too few: bytes are left; one too many: the body ends inside it.
    assert!(matches!(decode_raw_fields(body, &types[..5], &ctx.context()), Err(RawError::Trailing(4))));
    let mut more = types.to_vec();
    more.push(DataTypeId::Double);
    assert!(matches!(decode_raw_fields(body, &more, &ctx.context()), Err(RawError::Field { index: 6, .. })));
    // Arrays and structures are not raw.
    let arr = Variant::from(vec![1.0f64, 2.0]);
    assert!(matches!(encode_raw_field(0, &arr, &ctx.context(), &mut Vec::new()), Err(RawError::NotRaw { index: 0, .. })));
}

#[test]
fn headers_have_the_part_14_layout() {
    // UADP-Periodic-Fixed: UADPFlags 0xF1, ExtendedFlags1 0x01 (UInt16 PublisherId),
    // GroupFlags 0x0F, payload header, one Variant key frame with a timestamp.
    let mut dsm = key_frame(FieldEncoding::Variant, vec![Variant::Double(1.0)]);
    dsm.status = None;
    dsm.config_major = None;
    dsm.config_minor = None;
    let m = periodic(PublisherId::UInt16(0x0203), vec![dsm]);
    let ctx = ContextOwned::default();
    let mut out = Vec::new();
    encode(&m, &ctx.context(), &mut out).expect("encode");
    let head = [
        0xF1, 0x01, 0x03, 0x02, // flags, ext1, PublisherId 0x0203
        0x0F, 100, 0, 0x78, 0x56, 0x34, 0x12, 1, 0, 0xFF, 0xFF, // group header
        1, 1, 0, // payload header: 1 writer, id 1
        0x89, 0x10, 7, 0, // DataSetFlags1 (valid, seq, flags2), DataSetFlags2 (key frame, timestamp), seq 7
    ];
    assert_eq!(&out[..head.len()], &head);
    let rest = &out[head.len() + 8..]; // after the timestamp
    assert_eq!(rest, &[1, 0, 11, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F]); // FieldCount 1, Double 1.0
}

#[test]
fn keep_alive_and_delta_frames_round_trip() {
    let ka = DataSetMessage {
        valid: true,
        encoding: FieldEncoding::Variant,
        kind: MessageKind::KeepAlive,
        sequence_number: Some(1),
        timestamp: None,
        picoseconds: None,
        status: None,
        config_major: None,
        config_minor: None,
        payload: Payload::None,
    };
    let delta = DataSetMessage {
        kind: MessageKind::DeltaFrame,
        payload: Payload::Delta(vec![(3, DataValue::value_only(Variant::Int16(-2)))]),
        ..ka.clone()
    };
    let m = periodic(PublisherId::UInt32(9), vec![ka, delta]);
    assert_eq!(round_trip(&m), m);
}

#[test]
fn every_truncation_is_an_error() {
    let ctx = ContextOwned::default();
    for e in [FieldEncoding::Variant, FieldEncoding::DataValue] {
        let m = periodic(PublisherId::String("p".into()), vec![key_frame(e, values()), key_frame(e, values())]);
        let mut out = Vec::new();
        encode(&m, &ctx.context(), &mut out).expect("encode");
        for n in 0..out.len() {
            assert!(decode(&out[..n], &ctx.context()).is_err(), "{e:?}: {n} of {} bytes decoded", out.len());
        }
    }
}

#[test]
fn reserved_and_unsupported_flags_are_refused() {
    let ctx = ContextOwned::default();
    let c = ctx.context();
    assert_eq!(decode(&[0x02], &c), Err(UadpError::Version(2)));
    assert!(matches!(decode(&[0x91, 0x05, 0], &c), Err(UadpError::Invalid { what: "PublisherId type", .. })));
    assert!(matches!(decode(&[0x81, 0x10], &c), Err(UadpError::Unsupported(_))));
    assert!(matches!(decode(&[0x81, 0x80, 0x01], &c), Err(UadpError::Unsupported(_))));
    // Field encoding 11.
    assert!(matches!(decode(&[0x01, 0x07], &c), Err(UadpError::Invalid { what: "DataSetFlags1", .. })));
    // A payload header with Count 0.
    assert!(matches!(decode(&[0x41, 0], &c), Err(UadpError::Invalid { what: "payload header", .. })));
    // A FieldCount far above what follows does not allocate for it.
    assert!(decode(&[0x01, 0x01, 0xFF, 0xFF], &c).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn any_bytes_decode_or_fail_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let ctx = ContextOwned::default();
        let _ = decode(&data, &ctx.context());
    }

    #[test]
    fn valid_prefixes_with_random_tails_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..64), enc in 0u8..3) {
        let ctx = ContextOwned::default();
        let mut data = vec![0xF1, 0x01, 0x03, 0x02, 0x0F, 100, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0x89 | (enc << 1), 0x10];
        data.extend_from_slice(&tail);
        if let Ok(m) = decode(&data, &ctx.context()) {
            if let Some(Payload::Raw(body)) = m.messages.first().map(|d| &d.payload) {
                let _ = decode_raw_fields(body, &[DataTypeId::Double, DataTypeId::String], &ctx.context());
            }
        }
    }
}

/// A datagram of one Variant key frame whose one field is an ExtensionObject with binary
/// encoding id `encoding` (ns=0) and `body`.
fn structure_datagram(encoding: u16, body: &[u8]) -> Vec<u8> {
    let mut d = vec![0x01, 0x01, 0x01, 0x00]; // no headers; DataSetFlags1 valid; FieldCount 1
    d.extend_from_slice(&[22u8, 0x01, 0x00]); // Variant ExtensionObject, four-byte NodeId ns=0
    d.extend_from_slice(&encoding.to_le_bytes());
    d.push(1); // binary body
    d.extend_from_slice(&(body.len() as i32).to_le_bytes());
    d.extend_from_slice(body);
    d
}

#[test]
fn no_structure_decoder_runs_on_a_datagram() {
    // A Range (binary encoding i=886): async-opcua's own context decodes it, the wire context
    // refuses the field (no type loader) instead of running a structure decoder.
    let mut range = Vec::new();
    range.extend_from_slice(&1.0f64.to_le_bytes());
    range.extend_from_slice(&2.0f64.to_le_bytes());
    let d = structure_datagram(886, &range);
    assert!(decode(&d, &ContextOwned::default().context()).is_ok(), "the default context decodes a Range");
    let wire = wire_context();
    assert!(matches!(decode(&d, &wire.context()), Err(UadpError::Value { .. })));
    // An Argument (i=298) claiming ValueRank 2^31 - 1, which async-opcua's decoder would pad
    // with 8 GiB of dimensions: refused the same way, nothing allocated.
    let mut arg = Vec::new();
    arg.extend_from_slice(&(-1i32).to_le_bytes()); // Name: null
    arg.extend_from_slice(&[0, 0]); // DataType: two-byte NodeId i=0
    arg.extend_from_slice(&i32::MAX.to_le_bytes()); // ValueRank
    arg.extend_from_slice(&(-1i32).to_le_bytes()); // ArrayDimensions: null
    arg.push(0); // Description: empty
    assert!(matches!(decode(&structure_datagram(298, &arg), &wire.context()), Err(UadpError::Value { .. })));
}
