//! A WriterGroup: every publishing interval, one key frame per DataSetWriter (a keep-alive
//! for a heartbeat writer), packed into as few NetworkMessages as `max_network_message_size`
//! allows, sent to the group's destination.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opcua::types::{ContextOwned, DataTypeId, DataValue, DateTime, StatusCode, Variant};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use fxgate_core::{LogLimit, TagId, TagStore, TagValue};

use crate::config::{EncodingConfig, WriterGroupConfig};
use crate::status::Counters;
use crate::uadp::{
    encode_data_set_message, encode_raw_field, encode_with_bodies, DataSetMessage, FieldEncoding, GroupHeader, MessageKind,
    NetworkMessage, Payload, PublisherId,
};

/// One DataSetWriter, with its tags resolved.
pub struct Writer {
    /// Its name, for logs.
    pub name: String,
    /// The DataSetWriterId.
    pub id: u16,
    /// Field encoding.
    pub encoding: EncodingConfig,
    /// The tags, in field order, with their types (for RawData defaults).
    pub tags: Vec<(TagId, DataTypeId)>,
    /// Its own switch, if it has one (writers made at run time).
    pub switch: Option<String>,
    sequence: u16,
}

impl Writer {
    /// A writer over `tags`.
    pub fn new(name: String, id: u16, encoding: EncodingConfig, tags: Vec<(TagId, DataTypeId)>) -> Self {
        Self { name, id, encoding, tags, switch: None, sequence: 0 }
    }
}

/// A running writer group.
pub struct WriterGroup {
    /// The group's configuration.
    pub config: WriterGroupConfig,
    /// The connection's PublisherId.
    pub publisher_id: PublisherId,
    /// Its GroupVersion.
    pub group_version: u32,
    /// Where its messages go.
    pub destination: SocketAddr,
    /// Its writers.
    pub writers: Vec<Writer>,
    /// Its switch (Enable/Disable) and the switch's path.
    pub switch: (Arc<crate::control::Controls>, String),
}

/// The GroupVersion of a group without a configured one: derived from its configuration
/// (FNV-1a of its debug form), so it is the same at every start and changes with the
/// configuration, which is what readers check it for.
pub fn derived_version(config: &WriterGroupConfig) -> u32 {
    let text = format!("{config:?}");
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.max(1)
}

impl WriterGroup {
    /// Publishes until `shutdown`.
    pub async fn run(mut self, socket: UdpSocket, store: Arc<TagStore>, counters: Counters, shutdown: CancellationToken) {
        let ctx = crate::uadp::wire_context();
        let mut tick = tokio::time::interval(Duration::from_millis(self.config.publishing_interval_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut sequence: u16 = 0;
        let mut limit = LogLimit::default();
        let mut datagrams: Vec<Vec<u8>> = Vec::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            datagrams.clear();
            if !self.switch.0.enabled(&self.switch.1) {
                continue;
            }
            if let Err(e) = self.cycle(&store, &ctx, &mut sequence, &mut datagrams) {
                counters.failed.inc();
                if let Some(held) = limit.allow() {
                    tracing::warn!(group = %self.config.name, "PubSub writer group: {e} ({held} more not logged)");
                }
            }
            for d in &datagrams {
                match socket.send_to(d, self.destination).await {
                    Ok(_) => {
                        counters.sent.inc();
                    }
                    Err(e) => {
                        counters.failed.inc();
                        if let Some(held) = limit.allow() {
                            tracing::warn!(group = %self.config.name, to = %self.destination, "PubSub send failed: {e} ({held} more not logged)");
                        }
                    }
                }
            }
        }
    }

    /// Encodes one publishing cycle into `out` (one datagram per NetworkMessage).
    fn cycle(&mut self, store: &TagStore, ctx: &ContextOwned, sequence: &mut u16, out: &mut Vec<Vec<u8>>) -> Result<(), CycleError> {
        let c = ctx.context();
        let now = DateTime::now();
        let mut bodies: Vec<(u16, Vec<u8>)> = Vec::with_capacity(self.writers.len());
        let mut oversize = None;
        let controls = &self.switch.0;
        for w in &mut self.writers {
            if w.switch.as_deref().is_some_and(|p| !controls.enabled(p)) {
                continue;
            }
            w.sequence = w.sequence.wrapping_add(1);
            let dsm = data_set_message(w, store, now, &c);
            let mut b = Vec::new();
            encode_data_set_message(&dsm, &c, &mut b).map_err(|e| CycleError::Encode(w.name.clone(), e.to_string()))?;
            // The fixed headers of a NetworkMessage with one writer take at most 40 bytes.
            if b.len() + 40 > self.config.max_network_message_size {
                oversize = Some((w.name.clone(), b.len()));
                continue;
            }
            bodies.push((w.id, b));
        }
        let mut number: u16 = 0;
        let mut start = 0;
        while start < bodies.len() {
            // Take writers while the message fits.
            let mut end = start + 1;
            while end < bodies.len() && end - start < 255 {
                let more = header_len(&self.publisher_id, end - start + 1) + bodies[start..=end].iter().map(|b| b.1.len()).sum::<usize>();
                if more > self.config.max_network_message_size {
                    break;
                }
                end += 1;
            }
            number = number.wrapping_add(1);
            *sequence = sequence.wrapping_add(1);
            let head = NetworkMessage {
                publisher_id: Some(self.publisher_id.clone()),
                group: Some(GroupHeader {
                    writer_group_id: Some(self.config.writer_group_id),
                    group_version: Some(self.group_version),
                    network_message_number: Some(number),
                    sequence_number: Some(*sequence),
                }),
                writer_ids: Some(bodies[start..end].iter().map(|b| b.0).collect()),
                ..Default::default()
            };
            let slices: Vec<&[u8]> = bodies[start..end].iter().map(|b| b.1.as_slice()).collect();
            let mut d = Vec::with_capacity(self.config.max_network_message_size);
            encode_with_bodies(&head, &slices, &mut d).map_err(|e| CycleError::Encode(self.config.name.clone(), e.to_string()))?;
            out.push(d);
            start = end;
        }
        match oversize {
            Some((name, len)) => Err(CycleError::TooLarge(name, len, self.config.max_network_message_size)),
            None => Ok(()),
        }
    }
}

/// The length of a NetworkMessage's headers with `n` writers (Sizes included when n > 1).
fn header_len(p: &PublisherId, n: usize) -> usize {
    let id = match p {
        PublisherId::Byte(_) => 1,
        PublisherId::UInt16(_) => 2,
        PublisherId::UInt32(_) => 4,
        PublisherId::UInt64(_) => 8,
        PublisherId::String(s) => 4 + s.len(),
    };
    2 + id + 11 + 1 + 2 * n + if n > 1 { 2 * n } else { 0 }
}

/// Why a cycle sent less than it should.
#[derive(Debug, thiserror::Error)]
enum CycleError {
    #[error("writer `{0}` could not be encoded: {1}")]
    Encode(String, String),
    #[error("writer `{0}`'s DataSetMessage is {1} bytes, more than max_network_message_size {2} allows: not sent")]
    TooLarge(String, usize, usize),
}

/// The key frame of writer `w` now (a keep-alive for a heartbeat writer).
fn data_set_message(w: &Writer, store: &TagStore, now: DateTime, c: &opcua::types::Context<'_>) -> DataSetMessage {
    let mut m = DataSetMessage {
        valid: true,
        encoding: FieldEncoding::Variant,
        kind: MessageKind::KeyFrame,
        sequence_number: Some(w.sequence),
        timestamp: Some(now),
        picoseconds: None,
        status: None,
        config_major: None,
        config_minor: None,
        payload: Payload::None,
    };
    if w.tags.is_empty() {
        m.kind = MessageKind::KeepAlive;
        return m;
    }
    let values: Vec<TagValue> = w.tags.iter().map(|(id, _)| store.get(*id).unwrap_or_else(TagValue::initial)).collect();
    // The DataSet's status: the worst of its fields.
    let worst = values.iter().map(|v| v.status).max_by_key(|s| severity(*s)).unwrap_or(StatusCode::Good);
    m.status = Some((worst.bits() >> 16) as u16);
    match w.encoding {
        EncodingConfig::Variant => {
            m.payload = Payload::Fields(
                values
                    .into_iter()
                    // Part 14 §7.2.4.5.4: a Bad field carries its StatusCode instead of a value.
                    .map(|v| DataValue::value_only(if v.status.is_bad() { Variant::StatusCode(v.status) } else { v.value }))
                    .collect(),
            );
        }
        EncodingConfig::Datavalue => {
            m.encoding = FieldEncoding::DataValue;
            m.payload = Payload::Fields(
                values
                    .into_iter()
                    .map(|v| DataValue {
                        value: Some(v.value),
                        status: Some(v.status),
                        source_timestamp: Some(v.source_timestamp),
                        ..Default::default()
                    })
                    .collect(),
            );
        }
        EncodingConfig::Raw => {
            m.encoding = FieldEncoding::RawData;
            let mut body = Vec::new();
            for (i, (v, (_, t))) in values.iter().zip(&w.tags).enumerate() {
                if encode_raw_field(i, &v.value, c, &mut body).is_err() {
                    // No value yet (or not of its type): the type's default keeps the layout,
                    // and the DataSet's status says it is Bad.
                    let _ = encode_raw_field(i, &default_of(*t), c, &mut body);
                    if !v.status.is_bad() {
                        m.status = Some((StatusCode::BadTypeMismatch.bits() >> 16) as u16);
                    }
                }
            }
            m.payload = Payload::Raw(body);
        }
    }
    m
}

/// Good < Uncertain < Bad.
fn severity(s: StatusCode) -> u8 {
    if s.is_bad() {
        2
    } else if s.is_uncertain() {
        1
    } else {
        0
    }
}

/// The zero value of a built-in type.
fn default_of(t: DataTypeId) -> Variant {
    match t {
        DataTypeId::Boolean => Variant::Boolean(false),
        DataTypeId::SByte => Variant::SByte(0),
        DataTypeId::Byte => Variant::Byte(0),
        DataTypeId::Int16 => Variant::Int16(0),
        DataTypeId::UInt16 => Variant::UInt16(0),
        DataTypeId::Int32 => Variant::Int32(0),
        DataTypeId::UInt32 => Variant::UInt32(0),
        DataTypeId::Int64 => Variant::Int64(0),
        DataTypeId::UInt64 => Variant::UInt64(0),
        DataTypeId::Float => Variant::Float(0.0),
        DataTypeId::Double => Variant::Double(0.0),
        DataTypeId::DateTime => Variant::DateTime(Box::new(DateTime::null())),
        DataTypeId::StatusCode => Variant::StatusCode(StatusCode::Good),
        _ => Variant::String("".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uadp::decode;
    use fxgate_core::{TagDef, TagStoreBuilder};

    fn group(max: usize, writers: Vec<Writer>) -> WriterGroup {
        let config = WriterGroupConfig {
            name: "G".into(),
            writer_group_id: 7,
            publishing_interval_ms: 10,
            destination: "opc.udp://127.0.0.1:9".into(),
            group_version: None,
            max_network_message_size: max,
            writer: vec![],
        };
        WriterGroup {
            group_version: derived_version(&config),
            config,
            publisher_id: PublisherId::UInt16(1),
            destination: "127.0.0.1:9".parse().unwrap_or_else(|_| unreachable!()),
            writers,
            switch: (crate::control::Controls::new(&[]), "C/G".into()),
        }
    }

    #[test]
    fn writers_that_do_not_fit_one_message_go_into_the_next_of_the_cycle() {
        let mut b = TagStoreBuilder::new();
        let ids: Vec<_> = (0..40).map(|i| b.add_tag(TagDef::new("S", &format!("T{i}"), DataTypeId::Double)).expect("tag")).collect();
        let store = b.build();
        store.update(ids.iter().map(|&id| (id, TagValue::good(1.25f64))).collect());
        // Ten writers of four Doubles: about 60 bytes each as Variant fields.
        let writers = (0..10u16)
            .map(|w| Writer::new(format!("W{w}"), w + 1, EncodingConfig::Variant, ids[w as usize * 4..w as usize * 4 + 4].iter().map(|&id| (id, DataTypeId::Double)).collect()))
            .collect();
        let mut g = group(200, writers);
        let ctx = crate::uadp::wire_context();
        let mut seq = 0;
        let mut out = Vec::new();
        g.cycle(&store, &ctx, &mut seq, &mut out).expect("cycle");
        assert!(out.len() > 1, "one message for everything");
        let mut writer_ids = Vec::new();
        for (n, d) in out.iter().enumerate() {
            assert!(d.len() <= 200, "{} bytes", d.len());
            let m = decode(d, &ctx.context()).expect("decode");
            let gh = m.group.expect("group header");
            assert_eq!(gh.network_message_number, Some(n as u16 + 1));
            assert_eq!(gh.sequence_number, Some(n as u16 + 1));
            writer_ids.extend(m.writer_ids.expect("payload header"));
            for dsm in m.messages {
                let Payload::Fields(f) = dsm.payload else { panic!("fields") };
                assert_eq!(f.len(), 4);
                assert!(f.iter().all(|v| v.value == Some(Variant::Double(1.25))));
            }
        }
        assert_eq!(writer_ids, (1..=10).collect::<Vec<u16>>());
        // A writer larger than the limit is not sent, and the cycle says so.
        let big = Writer::new("Big".into(), 99, EncodingConfig::Variant, ids.iter().map(|&id| (id, DataTypeId::Double)).collect());
        let mut g = group(200, vec![big]);
        out.clear();
        assert!(matches!(g.cycle(&store, &ctx, &mut seq, &mut out), Err(CycleError::TooLarge(..))));
        assert!(out.is_empty());
    }

    #[test]
    fn bad_fields_carry_their_status_and_the_data_set_the_worst() {
        let mut b = TagStoreBuilder::new();
        let a = b.add_tag(TagDef::new("S", "A", DataTypeId::Double)).expect("tag");
        let c = b.add_tag(TagDef::new("S", "C", DataTypeId::Int32)).expect("tag");
        let store = b.build();
        store.update(vec![(a, TagValue::good(2.5f64))]);
        store.set_status(&[c], StatusCode::BadNoCommunication);
        let ctx = crate::uadp::wire_context();
        let mut w = Writer::new("W".into(), 1, EncodingConfig::Variant, vec![(a, DataTypeId::Double), (c, DataTypeId::Int32)]);
        w.sequence = 1;
        let m = data_set_message(&w, &store, DateTime::now(), &ctx.context());
        assert_eq!(m.status, Some((StatusCode::BadNoCommunication.bits() >> 16) as u16));
        let Payload::Fields(f) = &m.payload else { panic!("fields") };
        assert_eq!(f[0].value, Some(Variant::Double(2.5)));
        assert_eq!(f[1].value, Some(Variant::StatusCode(StatusCode::BadNoCommunication)));
        // RawData keeps the layout with the type's zero.
        w.encoding = EncodingConfig::Raw;
        let m = data_set_message(&w, &store, DateTime::now(), &ctx.context());
        let Payload::Raw(body) = &m.payload else { panic!("raw") };
        let back = crate::uadp::decode_raw_fields(body, &[DataTypeId::Double, DataTypeId::Int32], &ctx.context()).expect("raw");
        assert_eq!(back, vec![Variant::Double(2.5), Variant::Int32(0)]);
    }
}
