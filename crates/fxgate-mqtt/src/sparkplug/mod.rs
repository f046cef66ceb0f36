//! fxgate as a Sparkplug B edge node (Eclipse Sparkplug 3.0): NBIRTH/DBIRTH with every
//! metric (datatype, alias, properties, current value), NDATA/DDATA by alias, NDEATH as the
//! Last Will with bdSeq, `Node Control/Rebirth`, DCMD writes, and the primary host's STATE.
//!
//! Topics: `spBv1.0/<group>/<TYPE>/<edge node>[/<device>]`. Each source of the selected tags
//! is a device (its name with `/` made `_`), its tags the metrics. Quality travels as the
//! property `Quality` (UInt32): the OPC UA status code, in births and whenever it changes.
//! A device whose metrics are all Bad_NoCommunication (its source is lost) gets a DDEATH; its
//! first value after that comes as a DBIRTH (Sparkplug 3.0 §6.4.6, §6.4.7). While nobody
//! takes the messages (store-and-forward) only DDATA is kept: the births of the next session
//! tell the device state as it is then.
//! The payloads here carry no `seq`: the driver stamps it when a message goes out
//! ([`stamp`]), so that messages kept while no broker or host was there get the sequence of
//! the session that sends them.

mod ddata;
pub mod proto;
mod values;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fxgate_core::{TagId, TagStore, TagValue};
use fxgate_forward::{Collector, Selection, TagFilter};
use opcua::types::{DateTime, StatusCode, Variant};
use prost::Message as _;
use tokio::time::Instant;

use crate::config::{Qos, SparkplugConfig};
use crate::error::SetupError;
use crate::wire::{Message, Will};
use ddata::{DataPayload, Millis};
use proto::{DataType, Metric, MetricValue, Payload, PropertySet, PropertyValue, PropertyValueKind};
pub use values::{metric_value, to_variant};

/// The topic namespace of Sparkplug B.
pub const NAMESPACE: &str = "spBv1.0";
/// The node metric that asks for a rebirth.
pub const REBIRTH: &str = "Node Control/Rebirth";
/// The birth/death sequence metric.
pub const BDSEQ: &str = "bdSeq";
/// The property that carries the OPC UA status code.
pub const QUALITY: &str = "Quality";

/// What an NCMD or DCMD asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Publish the births again.
    Rebirth,
    /// Write these tags.
    Write(Vec<(TagId, Variant)>),
}

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CommandError {
    /// Not a Sparkplug B payload.
    #[error("not a Sparkplug B payload: {0}")]
    Decode(String),
    /// A DCMD for a device the node does not have.
    #[error("no device `{0}`")]
    NoDevice(String),
    /// A metric the node does not have.
    #[error("no metric {0}")]
    NoMetric(String),
    /// A value that does not fit its metric.
    #[error("metric `{0}`: the value does not fit its datatype")]
    BadValue(String),
}

struct Device {
    /// The device id.
    id: String,
    /// Its metrics, with their names.
    metrics: Vec<(TagId, String)>,
    /// How many of its metrics are Bad_NoCommunication now.
    lost: usize,
    /// Whether its last birth or death was a birth.
    alive: bool,
}

impl Device {
    fn all_lost(&self) -> bool {
        !self.metrics.is_empty() && self.lost == self.metrics.len()
    }
}

/// The edge node of one client.
pub struct EdgeNode {
    group: String,
    node: String,
    host: Option<String>,
    qos: Qos,
    devices: Vec<Device>,
    /// The device of each tag, by tag id.
    device_of: Vec<Option<u32>>,
    changes: Collector,
    interval: Option<Duration>,
    due: Option<Instant>,
    /// The quality sent last for each tag, by tag id.
    last_quality: Vec<Option<StatusCode>>,
    store: Arc<TagStore>,
}

impl EdgeNode {
    /// The node of `cfg` over the tags of `store`.
    pub fn new(cfg: &SparkplugConfig, store: Arc<TagStore>) -> Result<Self, SetupError> {
        let selection = Selection::new(&store, &TagFilter::new(&cfg.tags)?);
        let mut devices: Vec<Device> = Vec::new();
        let mut device_of = vec![None; store.len()];
        for id in selection.ids() {
            let Some(def) = store.def(id) else { continue };
            let dev = device_id(&def.source);
            let at = match devices.iter().position(|d| d.id == dev) {
                Some(i) => i,
                None => {
                    devices.push(Device { id: dev, metrics: Vec::new(), lost: 0, alive: true });
                    devices.len() - 1
                }
            };
            devices[at].metrics.push((id, def.name.clone()));
            if let Some(slot) = device_of.get_mut(id as usize) {
                *slot = Some(at as u32);
            }
        }
        if devices.is_empty() {
            tracing::warn!(tags = ?cfg.tags, "Sparkplug: no tag matches; the node has no devices");
        }
        let interval = (cfg.interval_ms > 0).then(|| Duration::from_millis(cfg.interval_ms));
        Ok(Self {
            group: cfg.group_id.clone(),
            node: cfg.edge_node_id.clone(),
            host: (!cfg.primary_host_id.is_empty()).then(|| cfg.primary_host_id.clone()),
            qos: cfg.qos,
            devices,
            device_of,
            changes: Collector::new(selection),
            interval,
            due: interval.map(|i| Instant::now() + i),
            last_quality: vec![None; store.len()],
            store,
        })
    }

    fn topic(&self, kind: &str, device: Option<&str>) -> String {
        match device {
            Some(d) => format!("{NAMESPACE}/{}/{kind}/{}/{d}", self.group, self.node),
            None => format!("{NAMESPACE}/{}/{kind}/{}", self.group, self.node),
        }
    }

    /// The primary host's STATE topic, if publishing waits for it.
    pub fn state_topic(&self) -> Option<String> {
        self.host.as_ref().map(|h| format!("{NAMESPACE}/STATE/{h}"))
    }

    /// What to subscribe to: NCMD, DCMD and the primary host's STATE.
    pub fn filters(&self) -> Vec<String> {
        let mut f = vec![self.topic("NCMD", None), self.topic("DCMD", Some("+"))];
        f.extend(self.state_topic());
        f
    }

    /// The NDEATH topic.
    pub fn death_topic(&self) -> String {
        self.topic("NDEATH", None)
    }

    /// NBIRTH (bdSeq `bd_seq`, the node controls) and a DBIRTH per device with every metric
    /// as it is now, followed by a DDEATH for a device whose source is lost. The payloads have
    /// no `seq` yet.
    pub fn births(&mut self, bd_seq: u64) -> Vec<Message> {
        let now = now_ms();
        let node = vec![bdseq_metric(bd_seq), Metric { name: Some(REBIRTH.into()), timestamp: Some(now), datatype: Some(DataType::Boolean as u32), value: Some(MetricValue::BooleanValue(false)), ..Default::default() }];
        let mut out = vec![self.message("NBIRTH", None, Payload { timestamp: Some(now), metrics: node, ..Default::default() })];
        // What the births carry is sent; changes collected before them are in it.
        let _ = self.changes.take();
        for d in 0..self.devices.len() {
            out.push(self.device_birth(d, now));
            if self.devices[d].all_lost() {
                out.push(self.device_death(d, now));
            }
        }
        out
    }

    /// The DBIRTH of device `d` with every metric as it is now.
    fn device_birth(&mut self, d: usize, now: u64) -> Message {
        let mut metrics = Vec::with_capacity(self.devices[d].metrics.len());
        let store = self.store.clone();
        for i in 0..self.devices[d].metrics.len() {
            let id = self.devices[d].metrics[i].0;
            let Some(def) = store.def(id) else { continue };
            let v = store.get(id).unwrap_or_else(TagValue::initial);
            self.set_quality(id, d, v.status);
            let mut m = data_metric(id, &v, Millis::default().of(&v.source_timestamp), false);
            m.name = Some(self.devices[d].metrics[i].1.clone());
            m.datatype = values::datatype(def.data_type).map(|t| t as u32);
            m.properties = Some(birth_properties(def.meta.as_deref(), v.status));
            metrics.push(m);
        }
        self.devices[d].alive = true;
        let id = self.devices[d].id.clone();
        self.message("DBIRTH", Some(&id), Payload { timestamp: Some(now), metrics, ..Default::default() })
    }

    /// The DDEATH of device `d`.
    fn device_death(&mut self, d: usize, now: u64) -> Message {
        self.devices[d].alive = false;
        let id = self.devices[d].id.clone();
        self.message("DDEATH", Some(&id), Payload { timestamp: Some(now), ..Default::default() })
    }

    /// Records the quality of tag `id` (of device `d`); whether it changed.
    fn set_quality(&mut self, id: TagId, d: usize, status: StatusCode) -> bool {
        let Some(slot) = self.last_quality.get_mut(id as usize) else { return false };
        let before = slot.replace(status);
        if before == Some(status) {
            return false;
        }
        let lost = |s: Option<StatusCode>| s == Some(StatusCode::BadNoCommunication);
        let dev = &mut self.devices[d];
        match (lost(before), lost(Some(status))) {
            (false, true) => dev.lost += 1,
            (true, false) => dev.lost = dev.lost.saturating_sub(1),
            _ => {}
        }
        true
    }

    /// When the next interval ends, if collecting per interval.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Takes a batch of changes from the store.
    pub fn collect(&mut self, batch: &[(TagId, TagValue)]) {
        self.changes.collect(batch);
    }

    /// The DDATA messages due now; `historical` marks their metrics (kept while nobody
    /// takes them: sent later, they are not current values).
    pub fn messages(&mut self, now: Instant, historical: bool, out: &mut Vec<Message>) {
        if let (Some(due), Some(every)) = (self.due, self.interval) {
            if now < due {
                return;
            }
            self.due = Some(if due + every > now { due + every } else { now + every });
        }
        if self.changes.is_empty() {
            return;
        }
        let changes = self.changes.take();
        let mut counts = vec![0usize; self.devices.len()];
        for (id, _) in &changes {
            if let Some(d) = self.device(*id) {
                counts[d] += 1;
            }
        }
        let ts = now_ms();
        let mut per_device: Vec<Option<DataPayload>> = counts.iter().map(|&n| (n > 0).then(|| DataPayload::new(ts, n))).collect();
        let mut millis = Millis::default();
        for (id, v) in &changes {
            let Some(d) = self.device(*id) else { continue };
            let mut m = data_metric(*id, v, millis.of(&v.source_timestamp), historical);
            if self.set_quality(*id, d, v.status) {
                m.properties = Some(quality_only(v.status));
            }
            if let Some(p) = per_device[d].as_mut() {
                p.push(&m);
            }
        }
        for (d, payload) in per_device.into_iter().enumerate() {
            let Some(payload) = payload else { continue };
            let (alive, all_lost) = (self.devices[d].alive, self.devices[d].all_lost());
            if !historical && !alive {
                // Back from a DDEATH: a birth with every metric, not data.
                if !all_lost {
                    out.push(self.device_birth(d, ts));
                }
                continue;
            }
            let topic = self.topic("DDATA", Some(&self.devices[d].id));
            out.push(Message { topic, payload: Bytes::from(payload.into_bytes()), qos: self.qos, retain: false });
            if !historical && all_lost {
                out.push(self.device_death(d, ts));
            }
        }
    }

    /// The device of tag `id`, if it is selected.
    fn device(&self, id: TagId) -> Option<usize> {
        self.device_of.get(id as usize).copied().flatten().map(|d| d as usize)
    }

    fn message(&self, kind: &str, device: Option<&str>, p: Payload) -> Message {
        Message { topic: self.topic(kind, device), payload: Bytes::from(p.encode_to_vec()), qos: self.qos, retain: false }
    }

    /// Whether `topic` is the primary host's STATE.
    pub fn is_state(&self, topic: &str) -> bool {
        self.host.as_ref().is_some_and(|h| topic.strip_prefix(NAMESPACE).and_then(|t| t.strip_prefix("/STATE/")) == Some(h.as_str()))
    }

    /// Whether `topic` is a command to this node.
    pub fn is_command(&self, topic: &str) -> bool {
        topic == self.topic("NCMD", None) || topic.strip_prefix(&self.topic("DCMD", None)).is_some_and(|r| r.starts_with('/'))
    }

    /// An NCMD or DCMD on `topic` (one [`EdgeNode::is_command`] accepted).
    pub fn command(&self, topic: &str, payload: &[u8]) -> Result<Command, CommandError> {
        let p = Payload::decode(payload).map_err(|e| CommandError::Decode(e.to_string()))?;
        let Some(dev) = topic.strip_prefix(&self.topic("DCMD", None)).and_then(|r| r.strip_prefix('/')) else {
            let rebirth = p.metrics.iter().any(|m| m.name.as_deref() == Some(REBIRTH) && m.value == Some(MetricValue::BooleanValue(true)));
            return if rebirth { Ok(Command::Rebirth) } else { Err(CommandError::NoMetric(format!("in NCMD (only `{REBIRTH}` = true)"))) };
        };
        let device = self.devices.iter().find(|d| d.id == dev).ok_or_else(|| CommandError::NoDevice(dev.to_string()))?;
        let mut writes = Vec::new();
        for m in &p.metrics {
            let found = match (m.alias, &m.name) {
                (Some(a), _) => device.metrics.iter().find(|(id, _)| u64::from(*id) + 1 == a),
                (None, Some(n)) => device.metrics.iter().find(|(_, name)| name == n),
                (None, None) => None,
            };
            let label = m.name.clone().unwrap_or_else(|| format!("alias {}", m.alias.unwrap_or(0)));
            let (id, name) = found.ok_or_else(|| CommandError::NoMetric(format!("`{label}` on device `{dev}`")))?;
            let def = self.store.def(*id).ok_or_else(|| CommandError::NoMetric(label.clone()))?;
            let v = m.value.as_ref().and_then(|v| to_variant(v, def.data_type)).ok_or_else(|| CommandError::BadValue(name.clone()))?;
            writes.push((*id, v));
        }
        Ok(Command::Write(writes))
    }
}

/// The NDEATH on `topic` of a session with birth/death sequence `bd_seq`: its Last Will, and
/// what it publishes when it ends cleanly.
pub fn death(topic: &str, bd_seq: u64) -> Will {
    let p = Payload { timestamp: Some(now_ms()), metrics: vec![bdseq_metric(bd_seq)], ..Default::default() };
    Will { topic: topic.to_string(), payload: Bytes::from(p.encode_to_vec()), retain: false }
}

/// Whether a primary host's STATE payload says online: Sparkplug 3.0 JSON
/// `{"online":true,"timestamp":…}`, or the 2.x text `ONLINE`/`OFFLINE`.
pub fn state_online(payload: &[u8]) -> Option<bool> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) {
        return v.get("online").and_then(serde_json::Value::as_bool);
    }
    match std::str::from_utf8(payload).ok()?.trim() {
        "ONLINE" => Some(true),
        "OFFLINE" => Some(false),
        _ => None,
    }
}

/// The payload with its sequence number (field 3) appended: protobuf takes fields in any order.
pub fn stamp(payload: &Bytes, seq: u8) -> Bytes {
    let mut b = Vec::with_capacity(payload.len() + 3);
    b.extend_from_slice(payload);
    b.push(0x18);
    prost::encoding::encode_varint(u64::from(seq), &mut b);
    Bytes::from(b)
}

/// A source's name as a device id (one topic level).
fn device_id(source: &str) -> String {
    source.replace(['/', '+', '#'], "_")
}

fn now_ms() -> u64 {
    u64::try_from(DateTime::now().as_chrono().timestamp_millis()).unwrap_or(0)
}

fn bdseq_metric(bd_seq: u64) -> Metric {
    Metric { name: Some(BDSEQ.into()), timestamp: Some(now_ms()), datatype: Some(DataType::Int64 as u32), value: Some(MetricValue::LongValue(bd_seq)), ..Default::default() }
}

/// A metric by alias (the tag id + 1) with the value and its source timestamp (`timestamp`,
/// ms since the epoch).
fn data_metric(id: TagId, v: &TagValue, timestamp: Option<u64>, historical: bool) -> Metric {
    let value = metric_value(&v.value);
    Metric {
        alias: Some(u64::from(id) + 1),
        timestamp,
        is_historical: historical.then_some(true),
        is_null: value.is_none().then_some(true),
        value,
        ..Default::default()
    }
}

fn prop(key: &str, t: DataType, v: PropertyValueKind, set: &mut PropertySet) {
    set.keys.push(key.into());
    set.values.push(PropertyValue { r#type: Some(t as u32), is_null: None, value: Some(v) });
}

fn quality_only(status: StatusCode) -> PropertySet {
    let mut s = PropertySet::default();
    prop(QUALITY, DataType::UInt32, PropertyValueKind::IntValue(status.bits()), &mut s);
    s
}

/// Quality, engineering units (`engUnit`) and range (`engLow`, `engHigh`), as Ignition
/// names them.
fn birth_properties(meta: Option<&fxgate_core::TagMeta>, status: StatusCode) -> PropertySet {
    let mut s = quality_only(status);
    if let Some(m) = meta {
        if let Some(u) = &m.eu_units {
            prop("engUnit", DataType::String, PropertyValueKind::StringValue(u.clone()), &mut s);
        }
        if let Some((lo, hi)) = m.eu_range {
            prop("engLow", DataType::Double, PropertyValueKind::DoubleValue(lo), &mut s);
            prop("engHigh", DataType::Double, PropertyValueKind::DoubleValue(hi), &mut s);
        }
    }
    s
}

#[cfg(test)]
mod tests;
