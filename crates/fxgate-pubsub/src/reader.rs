//! A DataSetReader: takes the DataSetMessages of one (PublisherId, WriterGroupId,
//! DataSetWriterId), writes their fields into its tags with the publisher's timestamps, and
//! goes to Error (tags Bad_NoCommunication, last value kept) when none came for
//! MessageReceiveTimeout.

use std::net::IpAddr;

use opcua::types::{Context, DataTypeId, DataValue, DateTime, StatusCode, Variant};
use tokio::time::Instant;

use fxgate_core::tag_type::has_type;
use fxgate_core::{TagId, TagType, TagValue};

use crate::uadp::{decode_raw_delta, decode_raw_fields, DataSetMessage, Payload, PublisherId};

/// A reader's state (Part 14 PubSubState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderState {
    /// Nothing received yet.
    PreOperational,
    /// Receiving.
    Operational,
    /// No message for MessageReceiveTimeout.
    Error,
    /// Switched off (Disable): its messages are ignored, its tags Bad_OutOfService.
    Disabled,
}

/// Why a DataSetMessage was not taken.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// It does not decode against the reader's fields (a decode error).
    #[error("reader `{reader}`: {detail}")]
    Fields {
        /// The reader.
        reader: String,
        /// What did not fit.
        detail: String,
    },
    /// Dropped by a filter (counted, not an error of the publisher's encoding).
    #[error("reader `{reader}`: {detail}")]
    Filtered {
        /// The reader.
        reader: String,
        /// Which filter.
        detail: String,
    },
}

/// One reader.
pub struct Reader {
    /// Its name (and folder).
    pub name: String,
    /// The ids it takes.
    pub key: (PublisherId, u16, u16),
    /// The GroupVersion it insists on, if any.
    pub group_version: Option<u32>,
    /// The only host it takes datagrams from, if any.
    pub publisher_address: Option<IpAddr>,
    /// MessageReceiveTimeout.
    pub timeout: std::time::Duration,
    /// Its tags with their configured types, in field order.
    pub fields: Vec<(TagId, TagType)>,
    /// The field types as data types (for RawData).
    pub data_types: Vec<DataTypeId>,
    /// Its state.
    pub state: ReaderState,
    /// When it goes to Error without a message.
    pub deadline: Instant,
    /// The object OPC UA FX knows it by (readers it made at run time).
    pub object: Option<u32>,
    /// The switch of its reader group, if it has one of its own (run-time readers).
    pub group_switch: Option<String>,
    last_sequence: Option<u16>,
}

impl Reader {
    /// A reader waiting for its first message.
    pub fn new(name: String, key: (PublisherId, u16, u16), timeout: std::time::Duration, fields: Vec<(TagId, TagType)>) -> Self {
        let data_types = fields.iter().map(|(_, t)| fxgate_core::tag_type::data_type_id(*t)).collect();
        Self {
            name,
            key,
            group_version: None,
            publisher_address: None,
            timeout,
            fields,
            data_types,
            state: ReaderState::PreOperational,
            deadline: Instant::now() + timeout,
            object: None,
            group_switch: None,
            last_sequence: None,
        }
    }

    /// Checks the filters for a message from `from` with `group_version`.
    pub fn admits(&self, from: IpAddr, group_version: Option<u32>) -> Result<(), Refused> {
        if let Some(a) = self.publisher_address {
            if a != from {
                return Err(self.filtered(format!("a datagram from {from}, not the configured publisher_address {a}")));
            }
        }
        if let (Some(want), got) = (self.group_version, group_version) {
            if got != Some(want) {
                return Err(self.filtered(format!("GroupVersion {got:?}, configured {want}")));
            }
        }
        Ok(())
    }

    fn filtered(&self, detail: String) -> Refused {
        Refused::Filtered { reader: self.name.clone(), detail }
    }

    fn fields_err(&self, detail: String) -> Refused {
        Refused::Fields { reader: self.name.clone(), detail }
    }

    /// Takes one DataSetMessage: the values to store (empty for a keep-alive), or why not.
    /// `sent` is the NetworkMessage's timestamp, if it had one. On success the reader is
    /// Operational again and its deadline moves on.
    pub fn take(&mut self, m: &DataSetMessage, sent: Option<DateTime>, ctx: &Context<'_>) -> Result<Vec<(TagId, TagValue)>, Refused> {
        if !m.valid {
            return Err(self.filtered("a DataSetMessage marked not valid".into()));
        }
        if let (Some(seq), Some(last)) = (m.sequence_number, self.last_sequence) {
            // A repeat or a message overtaken by a newer one: the recent past only, so a
            // publisher that restarted its numbering is taken at once.
            let diff = seq.wrapping_sub(last) as i16;
            if (-100..=0).contains(&diff) && self.state == ReaderState::Operational {
                return Err(self.filtered(format!("sequence number {seq} after {last}")));
            }
        }
        let now = DateTime::now();
        let stamp = m.timestamp.filter(|t| !t.is_null()).or(sent.filter(|t| !t.is_null())).unwrap_or(now);
        let set_status = m.status.map(|s| StatusCode::from(u32::from(s) << 16)).unwrap_or(StatusCode::Good);
        let fields: Vec<(usize, DataValue)> = match &m.payload {
            Payload::None => Vec::new(),
            Payload::Fields(f) => {
                if f.len() != self.fields.len() {
                    return Err(self.fields_err(format!("{} fields, configured {}", f.len(), self.fields.len())));
                }
                f.iter().cloned().enumerate().collect()
            }
            Payload::Delta(f) => {
                if let Some((i, _)) = f.iter().find(|(i, _)| *i as usize >= self.fields.len()) {
                    return Err(self.fields_err(format!("delta field index {i}, configured {} fields", self.fields.len())));
                }
                f.iter().map(|(i, v)| (*i as usize, v.clone())).collect()
            }
            Payload::Raw(body) => {
                let decoded = if m.kind == crate::uadp::MessageKind::DeltaFrame {
                    decode_raw_delta(body, &self.data_types, ctx).map(|v| v.into_iter().map(|(i, v)| (i as usize, v)).collect::<Vec<_>>())
                } else {
                    decode_raw_fields(body, &self.data_types, ctx).map(|v| v.into_iter().enumerate().collect())
                };
                decoded
                    .map_err(|e| self.fields_err(format!("RawData: {e}")))?
                    .into_iter()
                    .map(|(i, v)| (i, DataValue::value_only(v)))
                    .collect()
            }
        };
        if let Some(seq) = m.sequence_number {
            self.last_sequence = Some(seq);
        }
        self.state = ReaderState::Operational;
        self.deadline = Instant::now() + self.timeout;
        Ok(fields
            .into_iter()
            .map(|(i, dv)| {
                let (id, ty) = self.fields[i];
                (id, tag_value(dv, ty, set_status, stamp))
            })
            .collect())
    }

    /// Whether the deadline passed at `now` while the reader was not in Error; it then is.
    pub fn expire(&mut self, now: Instant) -> bool {
        if !matches!(self.state, ReaderState::Error | ReaderState::Disabled) && now >= self.deadline {
            self.state = ReaderState::Error;
            self.last_sequence = None;
            return true;
        }
        false
    }

    /// Switches the reader off, or on again (PreOperational, a fresh timeout).
    pub fn switch(&mut self, on: bool) {
        if on {
            self.state = ReaderState::PreOperational;
            self.deadline = Instant::now() + self.timeout;
        } else {
            self.state = ReaderState::Disabled;
        }
        self.last_sequence = None;
    }

    /// Its tag ids.
    pub fn tag_ids(&self) -> Vec<TagId> {
        self.fields.iter().map(|(id, _)| *id).collect()
    }
}

/// A field as the tag's value: a StatusCode in place of the value is the field's status
/// (the value stays empty, so the store keeps nothing new); a value of another type is
/// converted when OPC UA's conversion rules allow it, else Bad_TypeMismatch.
fn tag_value(dv: DataValue, ty: TagType, set_status: StatusCode, stamp: DateTime) -> TagValue {
    let field_status = dv.status.unwrap_or(set_status);
    let source_timestamp = dv.source_timestamp.filter(|t| !t.is_null()).unwrap_or(stamp);
    let value = dv.value.unwrap_or(Variant::Empty);
    let (value, status) = match value {
        Variant::StatusCode(s) if ty != TagType::UInt32 || s.is_bad() => (Variant::Empty, s),
        v if has_type(ty, &v) => (v, field_status),
        Variant::Empty => (Variant::Empty, if field_status.is_good() { StatusCode::BadNoData } else { field_status }),
        v => {
            let target = fxgate_core::tag_type::data_type_id(ty);
            match opcua::types::VariantScalarTypeId::try_from(target as u32).map(|t| v.convert(t)) {
                Ok(c) if !matches!(c, Variant::Empty) && has_type(ty, &c) => (c, field_status),
                _ => (Variant::Empty, StatusCode::BadTypeMismatch),
            }
        }
    };
    TagValue { value, status, source_timestamp, server_timestamp: DateTime::null() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uadp::{FieldEncoding, MessageKind};
    use opcua::types::ContextOwned;

    fn reader() -> Reader {
        Reader::new("R".into(), (PublisherId::UInt16(1), 1, 1), std::time::Duration::from_millis(100), vec![(10, TagType::Double), (11, TagType::Int32)])
    }

    fn msg(seq: u16, payload: Payload) -> DataSetMessage {
        DataSetMessage {
            valid: true,
            encoding: FieldEncoding::Variant,
            kind: MessageKind::KeyFrame,
            sequence_number: Some(seq),
            timestamp: Some(DateTime::from(133_000_000_000_000_000i64)),
            picoseconds: None,
            status: None,
            config_major: None,
            config_minor: None,
            payload,
        }
    }

    fn fields(a: Variant, b: Variant) -> Payload {
        Payload::Fields(vec![DataValue::value_only(a), DataValue::value_only(b)])
    }

    #[test]
    fn values_statuses_conversions_and_timestamps() {
        let ctx = ContextOwned::default();
        let mut r = reader();
        let got = r.take(&msg(1, fields(Variant::Double(1.5), Variant::Int16(-3))), None, &ctx.context()).expect("taken");
        assert_eq!(r.state, ReaderState::Operational);
        assert_eq!(got[0].1.value, Variant::Double(1.5));
        // An Int16 converts to the Int32 the field is.
        assert_eq!(got[1].1.value, Variant::Int32(-3));
        assert!(got.iter().all(|(_, v)| v.status.is_good() && v.source_timestamp == DateTime::from(133_000_000_000_000_000i64)));
        // A StatusCode in place of a value; a string that is no number.
        let got = r
            .take(&msg(2, fields(Variant::StatusCode(StatusCode::BadSensorFailure), Variant::String("x".into()))), None, &ctx.context())
            .expect("taken");
        assert_eq!((got[0].1.value.clone(), got[0].1.status), (Variant::Empty, StatusCode::BadSensorFailure));
        assert_eq!(got[1].1.status, StatusCode::BadTypeMismatch);
    }

    #[test]
    fn repeats_and_recent_old_messages_are_dropped_a_restart_is_taken() {
        let ctx = ContextOwned::default();
        let mut r = reader();
        let m = |seq| msg(seq, fields(Variant::Double(1.0), Variant::Int32(1)));
        assert!(r.take(&m(500), None, &ctx.context()).is_ok());
        assert!(matches!(r.take(&m(500), None, &ctx.context()), Err(Refused::Filtered { .. })));
        assert!(matches!(r.take(&m(450), None, &ctx.context()), Err(Refused::Filtered { .. })));
        assert!(r.take(&m(501), None, &ctx.context()).is_ok());
        // A publisher that started again from 1.
        assert!(r.take(&m(1), None, &ctx.context()).is_ok());
        // 65535 is just before 1 in serial arithmetic: a recent old one.
        assert!(r.take(&m(65535), None, &ctx.context()).is_err());
        // Wrapping.
        let mut r = reader();
        assert!(r.take(&m(65535), None, &ctx.context()).is_ok());
        assert!(r.take(&m(0), None, &ctx.context()).is_ok());
        assert!(r.take(&m(65535), None, &ctx.context()).is_err());
    }

    #[test]
    fn wrong_shapes_are_refused_and_timeouts_turn_to_error() {
        let ctx = ContextOwned::default();
        let mut r = reader();
        let one = Payload::Fields(vec![DataValue::value_only(Variant::Double(1.0))]);
        assert!(matches!(r.take(&msg(1, one), None, &ctx.context()), Err(Refused::Fields { .. })));
        let delta = Payload::Delta(vec![(5, DataValue::value_only(Variant::Double(1.0)))]);
        assert!(matches!(r.take(&msg(2, delta), None, &ctx.context()), Err(Refused::Fields { .. })));
        let mut raw = msg(3, Payload::Raw(vec![0, 0]));
        raw.encoding = FieldEncoding::RawData;
        assert!(matches!(r.take(&raw, None, &ctx.context()), Err(Refused::Fields { .. })));
        assert_eq!(r.state, ReaderState::PreOperational);
        assert!(r.expire(r.deadline));
        assert_eq!(r.state, ReaderState::Error);
        assert!(!r.expire(r.deadline), "an Error reader does not expire twice");
        let mut ka = msg(4, Payload::None);
        ka.kind = MessageKind::KeepAlive;
        assert_eq!(r.take(&ka, None, &ctx.context()).expect("keep-alive").len(), 0);
        assert_eq!(r.state, ReaderState::Operational);
        assert!(matches!(r.admits("10.0.0.1".parse().unwrap_or_else(|_| unreachable!()), None), Ok(())));
        r.publisher_address = Some("10.0.0.2".parse().unwrap_or_else(|_| unreachable!()));
        r.group_version = Some(7);
        assert!(r.admits("10.0.0.1".parse().unwrap_or_else(|_| unreachable!()), Some(7)).is_err());
        assert!(r.admits("10.0.0.2".parse().unwrap_or_else(|_| unreachable!()), Some(8)).is_err());
        assert!(r.admits("10.0.0.2".parse().unwrap_or_else(|_| unreachable!()), Some(7)).is_ok());
    }
}
