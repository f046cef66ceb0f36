//! DDATA payloads written metric by metric into one buffer.
//!
//! A `Payload` with its `Vec<Metric>` is 10,000 structures of some 200 bytes for a batch of
//! 10,000 changes, allocated, measured and encoded, then dropped: most of the Sparkplug
//! client's CPU at 100,000 values/s. Here each metric is built on the stack and encoded at
//! once as field 2 of the payload, after the timestamp (field 1): the very bytes prost writes
//! for the whole `Payload` (it encodes fields in number order; the tests compare). The
//! sequence number (field 3) is appended when the message goes out ([`super::stamp`]).

use opcua::types::DateTime;
use prost::encoding::{message, uint64};

use super::proto::Metric;

/// About what a changed Double takes (alias, timestamp, value, framing).
const BYTES_PER_METRIC: usize = 24;

/// A DDATA payload being written.
pub(super) struct DataPayload(Vec<u8>);

impl DataPayload {
    /// A payload stamped `timestamp` (ms since the epoch), sized for `metrics` metrics.
    pub(super) fn new(timestamp: u64, metrics: usize) -> Self {
        let mut buf = Vec::with_capacity(16 + metrics * BYTES_PER_METRIC);
        uint64::encode(1, &timestamp, &mut buf);
        Self(buf)
    }

    /// Appends a metric.
    pub(super) fn push(&mut self, m: &Metric) {
        message::encode(2, m, &mut self.0);
    }

    /// The encoded payload.
    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Source timestamps as milliseconds since the epoch, the last one remembered: the values of
/// one poll or scan share their timestamp.
#[derive(Default)]
pub(super) struct Millis(Option<(DateTime, Option<u64>)>);

impl Millis {
    /// `t` in ms since the epoch; `None` before 1970 (Sparkplug's timestamps are unsigned)
    /// or at the epoch itself (OPC UA's null time).
    pub(super) fn of(&mut self, t: &DateTime) -> Option<u64> {
        match &self.0 {
            Some((last, ms)) if last == t => *ms,
            _ => {
                let ms = u64::try_from(t.as_chrono().timestamp_millis()).ok().filter(|&ms| ms > 0);
                self.0 = Some((*t, ms));
                ms
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparkplug::proto::{DataType, MetricValue, Payload, PropertySet, PropertyValue, PropertyValueKind};
    use prost::Message as _;

    #[test]
    fn the_same_bytes_as_the_whole_payload_encoded() {
        let quality = PropertySet {
            keys: vec!["Quality".into()],
            values: vec![PropertyValue { r#type: Some(DataType::UInt32 as u32), is_null: None, value: Some(PropertyValueKind::IntValue(0x8031_0000)) }],
        };
        let metrics = vec![
            Metric { alias: Some(1), timestamp: Some(1_700_000_000_123), value: Some(MetricValue::DoubleValue(21.5)), ..Default::default() },
            Metric { alias: Some(300), timestamp: None, is_null: Some(true), properties: Some(quality), ..Default::default() },
            Metric { alias: Some(70_000), is_historical: Some(true), value: Some(MetricValue::StringValue("ünï".into())), ..Default::default() },
        ];
        let mut ours = DataPayload::new(1_700_000_000_999, metrics.len());
        for m in &metrics {
            ours.push(m);
        }
        let ours = ours.into_bytes();
        let reference = Payload { timestamp: Some(1_700_000_000_999), metrics: metrics.clone(), ..Default::default() }.encode_to_vec();
        assert_eq!(ours, reference);
        assert_eq!(Payload::decode(ours.as_slice()).ok().map(|p| p.metrics), Some(metrics));
    }

    #[test]
    fn milliseconds_of_timestamps() {
        let mut m = Millis::default();
        let t = DateTime::from(chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap_or_default());
        assert_eq!((m.of(&t), m.of(&t)), (Some(1_700_000_000_123), Some(1_700_000_000_123)));
        assert_eq!(m.of(&DateTime::null()), None, "OPC UA's null time (1601) has no Sparkplug timestamp");
    }
}
