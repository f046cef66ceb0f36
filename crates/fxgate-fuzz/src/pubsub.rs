//! OPC UA PubSub: a UDP datagram as fxgate's PubSub readers receive it, decoded as a UADP
//! NetworkMessage; what decodes is encoded again, and that encoding must keep the message
//! (decoding and encoding it once more gives the same message). RawData bodies are decoded with a few
//! field layouts, as readers with those fields would.

use opcua::types::{DataTypeId, Variant};

use fxgate_pubsub::uadp::{decode, decode_raw_delta, decode_raw_fields, encode, MessageKind, Payload};

/// Decodes `data` as a datagram.
pub fn datagram(data: &[u8]) {
    let ctx = fxgate_pubsub::uadp::wire_context();
    let c = ctx.context();
    let Ok(msg) = decode(data, &c) else { return };
    for m in &msg.messages {
        if let Payload::Raw(body) = &m.payload {
            for types in LAYOUTS {
                if m.kind == MessageKind::DeltaFrame {
                    let _ = decode_raw_delta(body, types, &c);
                } else {
                    let _ = decode_raw_fields(body, types, &c);
                }
            }
        }
    }
    // async-opcua's Variant codec is lenient where this codec is strict: it reads an unknown
    // type id as Empty, and writes an array it read without dimensions with them. Its
    // re-encoding of such fields is its own; the round trip is checked for the rest.
    if msg.messages.iter().any(|m| match &m.payload {
        Payload::Fields(f) => f.iter().any(|d| irregular(d.value.as_ref())),
        Payload::Delta(f) => f.iter().any(|(_, d)| irregular(d.value.as_ref())),
        _ => false,
    }) {
        return;
    }
    let mut once = Vec::new();
    if encode(&msg, &c, &mut once).is_err() {
        return;
    }
    let again = match decode(&once, &c) {
        Ok(m) => m,
        Err(e) => panic!("fxgate's own encoding of a decoded datagram does not decode: {e}"),
    };
    let mut twice = Vec::new();
    if let Err(e) = encode(&again, &c, &mut twice) {
        panic!("a datagram that encoded once does not encode again: {e}");
    }
    // Compared as decoded (Debug, so that NaN equals NaN): async-opcua's DateTime encoding
    // writes the end of time as Int64 max before a decode and as its tick count after it, so
    // the bytes of a value inside a field may differ while the message is the same.
    let thrice = match decode(&twice, &c) {
        Ok(m) => m,
        Err(e) => panic!("a re-encoded datagram does not decode: {e}"),
    };
    assert_eq!(format!("{again:?}"), format!("{thrice:?}"), "encoding does not keep the message");
}

/// A field value async-opcua may encode differently from how it came: an array, or Empty (an
/// unknown type id reads as Empty).
fn irregular(v: Option<&Variant>) -> bool {
    matches!(v, None | Some(Variant::Empty | Variant::Array(_)))
}

const LAYOUTS: &[&[DataTypeId]] = &[
    &[DataTypeId::Double],
    &[DataTypeId::Boolean, DataTypeId::Int32, DataTypeId::String],
    &[DataTypeId::UInt64, DataTypeId::Float, DataTypeId::DateTime, DataTypeId::StatusCode],
];
