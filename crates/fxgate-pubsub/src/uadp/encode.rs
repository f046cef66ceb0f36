//! Encoding of NetworkMessages and DataSetMessages.

use opcua::types::{BinaryEncodable, Context, DataValue, DateTime};

use super::{DataSetMessage, FieldEncoding, MessageKind, NetworkMessage, Payload, PublisherId, UadpError, UADP_VERSION};

/// Encodes `msg` (a DataSetMessage payload) into `out`, which is cleared first.
pub fn encode(msg: &NetworkMessage, ctx: &Context<'_>, out: &mut Vec<u8>) -> Result<(), UadpError> {
    out.clear();
    write_headers(msg, msg.messages.len(), out)?;
    let mut bodies = Vec::with_capacity(msg.messages.len());
    for m in &msg.messages {
        let mut b = Vec::new();
        encode_data_set_message(m, ctx, &mut b)?;
        bodies.push(b);
    }
    let slices: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    write_payload(msg, &slices, out)
}

/// The NetworkMessage headers, up to the payload (Sizes not included).
fn write_headers(msg: &NetworkMessage, count: usize, out: &mut Vec<u8>) -> Result<(), UadpError> {
    let mut flags = UADP_VERSION;
    let mut ext1 = 0u8;
    if let Some(p) = &msg.publisher_id {
        flags |= 0x10;
        ext1 |= match p {
            PublisherId::Byte(_) => 0,
            PublisherId::UInt16(_) => 1,
            PublisherId::UInt32(_) => 2,
            PublisherId::UInt64(_) => 3,
            PublisherId::String(_) => 4,
        };
    }
    if msg.group.is_some() {
        flags |= 0x20;
    }
    if msg.writer_ids.is_some() {
        flags |= 0x40;
    }
    if msg.data_set_class_id.is_some() {
        ext1 |= 0x08;
    }
    if msg.timestamp.is_some() {
        ext1 |= 0x20;
    }
    if msg.picoseconds.is_some() {
        ext1 |= 0x40;
    }
    // ExtendedFlags1 is sent when it is not all zero (a Byte PublisherId needs none).
    if ext1 != 0 {
        flags |= 0x80;
    }
    out.push(flags);
    if ext1 != 0 {
        out.push(ext1);
    }
    match &msg.publisher_id {
        None => {}
        Some(PublisherId::Byte(v)) => out.push(*v),
        Some(PublisherId::UInt16(v)) => out.extend_from_slice(&v.to_le_bytes()),
        Some(PublisherId::UInt32(v)) => out.extend_from_slice(&v.to_le_bytes()),
        Some(PublisherId::UInt64(v)) => out.extend_from_slice(&v.to_le_bytes()),
        Some(PublisherId::String(s)) => {
            let len = i32::try_from(s.len()).map_err(|_| UadpError::TooLarge(s.len()))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    if let Some(g) = &msg.data_set_class_id {
        out.extend_from_slice(g);
    }
    if let Some(g) = &msg.group {
        let gf = u8::from(g.writer_group_id.is_some())
            | u8::from(g.group_version.is_some()) << 1
            | u8::from(g.network_message_number.is_some()) << 2
            | u8::from(g.sequence_number.is_some()) << 3;
        out.push(gf);
        if let Some(v) = g.writer_group_id {
            out.extend_from_slice(&v.to_le_bytes());
        }
        if let Some(v) = g.group_version {
            out.extend_from_slice(&v.to_le_bytes());
        }
        if let Some(v) = g.network_message_number {
            out.extend_from_slice(&v.to_le_bytes());
        }
        if let Some(v) = g.sequence_number {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(ids) = &msg.writer_ids {
        if ids.len() != count {
            return Err(UadpError::Invalid {
                what: "payload header",
                detail: format!("{} DataSetWriterIds for {count} DataSetMessages", ids.len()),
            });
        }
        let count = u8::try_from(ids.len()).map_err(|_| UadpError::TooLarge(ids.len()))?;
        out.push(count);
        for id in ids {
            out.extend_from_slice(&id.to_le_bytes());
        }
    }
    if let Some(t) = &msg.timestamp {
        put_datetime(out, t);
    }
    if let Some(p) = msg.picoseconds {
        out.extend_from_slice(&p.to_le_bytes());
    }
    Ok(())
}

/// Encodes the headers of `msg` (its `messages` are ignored) followed by DataSetMessages
/// already encoded with [`encode_data_set_message`], one per DataSetWriterId of the payload
/// header. `out` is cleared first.
pub fn encode_with_bodies(msg: &NetworkMessage, bodies: &[&[u8]], out: &mut Vec<u8>) -> Result<(), UadpError> {
    out.clear();
    write_headers(msg, bodies.len(), out)?;
    write_payload(msg, bodies, out)
}

fn write_payload(msg: &NetworkMessage, bodies: &[&[u8]], out: &mut Vec<u8>) -> Result<(), UadpError> {
    if bodies.len() > 1 {
        if msg.writer_ids.is_none() {
            return Err(UadpError::Unsupported("several DataSetMessages without a payload header"));
        }
        for b in bodies {
            let size = u16::try_from(b.len()).map_err(|_| UadpError::TooLarge(b.len()))?;
            out.extend_from_slice(&size.to_le_bytes());
        }
    }
    for b in bodies {
        out.extend_from_slice(b);
    }
    Ok(())
}

/// Appends one DataSetMessage (header and fields) to `out`.
pub fn encode_data_set_message(m: &DataSetMessage, ctx: &Context<'_>, out: &mut Vec<u8>) -> Result<(), UadpError> {
    let enc_bits = match m.encoding {
        FieldEncoding::Variant => 0u8,
        FieldEncoding::RawData => 1,
        FieldEncoding::DataValue => 2,
    };
    let mut f1 = u8::from(m.valid) | enc_bits << 1;
    f1 |= u8::from(m.sequence_number.is_some()) << 3
        | u8::from(m.status.is_some()) << 4
        | u8::from(m.config_major.is_some()) << 5
        | u8::from(m.config_minor.is_some()) << 6;
    let kind = match m.kind {
        MessageKind::KeyFrame => 0u8,
        MessageKind::DeltaFrame => 1,
        MessageKind::Event => 2,
        MessageKind::KeepAlive => 3,
    };
    let f2 = kind | u8::from(m.timestamp.is_some()) << 4 | u8::from(m.picoseconds.is_some()) << 5;
    if f2 != 0 {
        f1 |= 0x80;
    }
    out.push(f1);
    if f2 != 0 {
        out.push(f2);
    }
    if let Some(v) = m.sequence_number {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(t) = &m.timestamp {
        put_datetime(out, t);
    }
    if let Some(v) = m.picoseconds {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(v) = m.status {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(v) = m.config_major {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(v) = m.config_minor {
        out.extend_from_slice(&v.to_le_bytes());
    }
    match (&m.payload, m.kind, m.encoding) {
        (Payload::None, MessageKind::KeepAlive, _) => Ok(()),
        (Payload::Raw(body), MessageKind::KeyFrame | MessageKind::DeltaFrame, FieldEncoding::RawData) => {
            out.extend_from_slice(body);
            Ok(())
        }
        (Payload::Fields(fields), MessageKind::KeyFrame | MessageKind::Event, e) if e != FieldEncoding::RawData => {
            put_count(out, fields.len())?;
            fields.iter().try_for_each(|f| put_field(out, f, e, ctx))
        }
        (Payload::Delta(fields), MessageKind::DeltaFrame, e) if e != FieldEncoding::RawData => {
            put_count(out, fields.len())?;
            fields.iter().try_for_each(|(i, f)| {
                out.extend_from_slice(&i.to_le_bytes());
                put_field(out, f, e, ctx)
            })
        }
        _ => Err(UadpError::Invalid {
            what: "DataSetMessage",
            detail: format!("a {:?} payload does not fit a {:?} with {:?} encoding", payload_name(&m.payload), m.kind, m.encoding),
        }),
    }
}

fn payload_name(p: &Payload) -> &'static str {
    match p {
        Payload::Fields(_) => "fields",
        Payload::Delta(_) => "delta",
        Payload::Raw(_) => "raw",
        Payload::None => "empty",
    }
}

fn put_count(out: &mut Vec<u8>, n: usize) -> Result<(), UadpError> {
    let n = u16::try_from(n).map_err(|_| UadpError::TooLarge(n))?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

fn put_field(out: &mut Vec<u8>, f: &DataValue, e: FieldEncoding, ctx: &Context<'_>) -> Result<(), UadpError> {
    let r = match e {
        FieldEncoding::DataValue => f.encode(out, ctx),
        _ => match &f.value {
            Some(v) => v.encode(out, ctx),
            None => opcua::types::Variant::Empty.encode(out, ctx),
        },
    };
    r.map_err(|e| UadpError::Value { what: "field", status: e.status() })
}

fn put_datetime(out: &mut Vec<u8>, t: &DateTime) {
    // A DateTime is its Int64 ticks since 1601 (0: null, before 1601 too); from the end of
    // 9999 on, Int64 max (Part 6 5.2.2.5), so that what decodes encodes the same again.
    let ticks = match t.checked_ticks() {
        _ if t.is_null() => 0,
        n if n >= DateTime::endtimes_ticks() => i64::MAX,
        n => n,
    };
    out.extend_from_slice(&ticks.to_le_bytes());
}
