//! Decoding of NetworkMessages: every read is checked against what is left.

use std::io::Cursor;

use opcua::types::{BinaryDecodable, Context, DataValue, DateTime, Variant};

use super::{DataSetMessage, FieldEncoding, GroupHeader, MessageKind, NetworkMessage, Payload, PublisherId, UadpError, UADP_VERSION};

/// A reader over a datagram whose reads fail with [`UadpError::Truncated`].
struct In<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], UadpError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(UadpError::Truncated { what })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, UadpError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, UadpError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, UadpError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, UadpError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(a))
    }
    fn datetime(&mut self, what: &'static str) -> Result<DateTime, UadpError> {
        let ticks = self.u64(what)? as i64;
        Ok(if ticks == 0 { DateTime::null() } else { DateTime::from(ticks) })
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }
}

/// Decodes one datagram.
pub fn decode(datagram: &[u8], ctx: &Context<'_>) -> Result<NetworkMessage, UadpError> {
    let mut r = In { buf: datagram, pos: 0 };
    let flags = r.u8("UADPFlags")?;
    if flags & 0x0f != UADP_VERSION {
        return Err(UadpError::Version(flags & 0x0f));
    }
    let ext1 = if flags & 0x80 != 0 { r.u8("ExtendedFlags1")? } else { 0 };
    let ext2 = if ext1 & 0x80 != 0 { r.u8("ExtendedFlags2")? } else { 0 };
    if ext1 & 0x10 != 0 {
        return Err(UadpError::Unsupported("security (signed or encrypted NetworkMessages)"));
    }
    if ext2 & 0x01 != 0 {
        return Err(UadpError::Unsupported("chunked NetworkMessages"));
    }
    if ext2 & 0x1c != 0 {
        return Err(UadpError::Unsupported("discovery NetworkMessages"));
    }
    let mut msg = NetworkMessage::default();
    if flags & 0x10 != 0 {
        msg.publisher_id = Some(match ext1 & 0x07 {
            0 => PublisherId::Byte(r.u8("PublisherId")?),
            1 => PublisherId::UInt16(r.u16("PublisherId")?),
            2 => PublisherId::UInt32(r.u32("PublisherId")?),
            3 => PublisherId::UInt64(r.u64("PublisherId")?),
            4 => {
                let len = r.u32("PublisherId length")? as i32;
                if len < 0 {
                    return Err(UadpError::Invalid { what: "PublisherId", detail: "a null String".into() });
                }
                let b = r.take(len as usize, "PublisherId")?;
                let s = std::str::from_utf8(b).map_err(|e| UadpError::Invalid { what: "PublisherId", detail: e.to_string() })?;
                PublisherId::String(s.to_string())
            }
            t => return Err(UadpError::Invalid { what: "PublisherId type", detail: format!("{t:#05b} is reserved") }),
        });
    }
    if ext1 & 0x08 != 0 {
        let mut g = [0u8; 16];
        g.copy_from_slice(r.take(16, "DataSetClassId")?);
        msg.data_set_class_id = Some(g);
    }
    if flags & 0x20 != 0 {
        let gf = r.u8("GroupFlags")?;
        let mut g = GroupHeader::default();
        if gf & 1 != 0 {
            g.writer_group_id = Some(r.u16("WriterGroupId")?);
        }
        if gf & 2 != 0 {
            g.group_version = Some(r.u32("GroupVersion")?);
        }
        if gf & 4 != 0 {
            g.network_message_number = Some(r.u16("NetworkMessageNumber")?);
        }
        if gf & 8 != 0 {
            g.sequence_number = Some(r.u16("SequenceNumber")?);
        }
        msg.group = Some(g);
    }
    if flags & 0x40 != 0 {
        let count = r.u8("payload header Count")?;
        let ids = (0..count).map(|_| r.u16("DataSetWriterId")).collect::<Result<Vec<_>, _>>()?;
        msg.writer_ids = Some(ids);
    }
    if ext1 & 0x20 != 0 {
        msg.timestamp = Some(r.datetime("Timestamp")?);
    }
    if ext1 & 0x40 != 0 {
        msg.picoseconds = Some(r.u16("PicoSeconds")?);
    }
    if ext2 & 0x02 != 0 {
        // Promoted fields: a size in bytes, then Variants; they repeat fields of the one
        // DataSetMessage, so they are skipped.
        let size = r.u16("PromotedFields size")?;
        r.take(size as usize, "PromotedFields")?;
    }
    let count = msg.writer_ids.as_ref().map_or(1, Vec::len);
    if count == 0 {
        return Err(UadpError::Invalid { what: "payload header", detail: "Count is 0".into() });
    }
    if count == 1 {
        let body = r.rest();
        msg.messages.push(decode_data_set_message(body, ctx)?);
    } else {
        let sizes = (0..count).map(|_| r.u16("Sizes")).collect::<Result<Vec<_>, _>>()?;
        for size in sizes {
            let body = r.take(size as usize, "DataSetMessage")?;
            msg.messages.push(decode_data_set_message(body, ctx)?);
        }
        if r.left() != 0 {
            return Err(UadpError::Invalid { what: "payload", detail: format!("{} bytes after the last DataSetMessage", r.left()) });
        }
    }
    Ok(msg)
}

/// Decodes one DataSetMessage that is exactly `body`.
fn decode_data_set_message(body: &[u8], ctx: &Context<'_>) -> Result<DataSetMessage, UadpError> {
    let mut r = In { buf: body, pos: 0 };
    let f1 = r.u8("DataSetFlags1")?;
    let f2 = if f1 & 0x80 != 0 { r.u8("DataSetFlags2")? } else { 0 };
    let encoding = match (f1 >> 1) & 3 {
        0 => FieldEncoding::Variant,
        1 => FieldEncoding::RawData,
        2 => FieldEncoding::DataValue,
        _ => return Err(UadpError::Invalid { what: "DataSetFlags1", detail: "field encoding 11 is reserved".into() }),
    };
    let kind = match f2 & 0x0f {
        0 => MessageKind::KeyFrame,
        1 => MessageKind::DeltaFrame,
        2 => MessageKind::Event,
        3 => MessageKind::KeepAlive,
        t => return Err(UadpError::Invalid { what: "DataSetFlags2", detail: format!("message type {t} is reserved") }),
    };
    let sequence_number = (f1 & 0x08 != 0).then(|| r.u16("DataSetMessageSequenceNumber")).transpose()?;
    let timestamp = (f2 & 0x10 != 0).then(|| r.datetime("DataSetMessage Timestamp")).transpose()?;
    let picoseconds = (f2 & 0x20 != 0).then(|| r.u16("DataSetMessage PicoSeconds")).transpose()?;
    let status = (f1 & 0x10 != 0).then(|| r.u16("DataSetMessage Status")).transpose()?;
    let config_major = (f1 & 0x20 != 0).then(|| r.u32("ConfigurationVersionMajor")).transpose()?;
    let config_minor = (f1 & 0x40 != 0).then(|| r.u32("ConfigurationVersionMinor")).transpose()?;
    let rest = r.rest();
    let payload = match (kind, encoding) {
        (MessageKind::KeepAlive, _) => Payload::None,
        (MessageKind::KeyFrame | MessageKind::DeltaFrame, FieldEncoding::RawData) => Payload::Raw(rest.to_vec()),
        (MessageKind::Event, FieldEncoding::RawData) => {
            return Err(UadpError::Invalid { what: "DataSetMessage", detail: "an event with RawData fields".into() })
        }
        (MessageKind::DeltaFrame, e) => decode_fields(rest, e, true, ctx).map(Payload::Delta)?,
        (_, e) => decode_fields(rest, e, false, ctx).map(|f| Payload::Fields(f.into_iter().map(|(_, v)| v).collect()))?,
    };
    Ok(DataSetMessage {
        valid: f1 & 1 != 0,
        encoding,
        kind,
        sequence_number,
        timestamp,
        picoseconds,
        status,
        config_major,
        config_minor,
        payload,
    })
}

/// FieldCount, then the fields (each with its index for a delta frame); nothing may be left.
fn decode_fields(body: &[u8], e: FieldEncoding, delta: bool, ctx: &Context<'_>) -> Result<Vec<(u16, DataValue)>, UadpError> {
    let mut r = In { buf: body, pos: 0 };
    let count = r.u16("FieldCount")?;
    let mut cur = Cursor::new(r.rest());
    // Each field takes at least one byte: a count above what is left is a lie, not a reason
    // to reserve memory for it.
    let mut fields = Vec::with_capacity((count as usize).min(body.len()));
    for i in 0..count {
        let index = if delta {
            let mut b = [0u8; 2];
            std::io::Read::read_exact(&mut cur, &mut b).map_err(|_| UadpError::Truncated { what: "FieldIndex" })?;
            u16::from_le_bytes(b)
        } else {
            i
        };
        let v = match e {
            FieldEncoding::DataValue => DataValue::decode(&mut cur, ctx),
            _ => Variant::decode(&mut cur, ctx).map(DataValue::value_only),
        }
        .map_err(|err| UadpError::Value { what: "DataSet field", status: err.status() })?;
        fields.push((index, v));
    }
    let left = cur.get_ref().len() - (cur.position() as usize).min(cur.get_ref().len());
    if left != 0 {
        return Err(UadpError::Invalid { what: "DataSetMessage", detail: format!("{left} bytes after the last field") });
    }
    Ok(fields)
}
