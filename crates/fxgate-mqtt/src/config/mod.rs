//! `[[mqtt]]`: an MQTT client on a client line (seed 002 "MQTT Client"): one broker, or two
//! independent brokers on a redundant line; topics to tags (`[[mqtt.tag]]`, a source) and
//! tags to topics (`[[mqtt.publish]]`, a sink).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use fxgate_core::TagType;

pub(crate) mod validate;

/// The MQTT protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (protocol level 4).
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    /// MQTT 5.
    #[serde(rename = "5")]
    V5,
}

/// MQTT quality of service, 0 to 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Qos {
    /// At most once.
    AtMostOnce,
    /// At least once (PUBACK).
    AtLeastOnce,
    /// Exactly once (PUBREC, PUBREL, PUBCOMP).
    ExactlyOnce,
}

/// A QoS number other than 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("QoS {0}: give 0, 1 or 2")]
pub struct BadQos(pub u8);

impl TryFrom<u8> for Qos {
    type Error = BadQos;
    fn try_from(v: u8) -> Result<Self, BadQos> {
        match v {
            0 => Ok(Qos::AtMostOnce),
            1 => Ok(Qos::AtLeastOnce),
            2 => Ok(Qos::ExactlyOnce),
            _ => Err(BadQos(v)),
        }
    }
}

impl From<Qos> for u8 {
    fn from(q: Qos) -> u8 {
        q as u8
    }
}

/// How a message's payload carries a tag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    /// The payload text is the value.
    #[default]
    Raw,
    /// A JSON document; the value (and optionally timestamp and quality) at JSON pointers.
    Json,
}

/// How `[[mqtt.publish]]` shapes its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// One message per tag change, on the tag's topic: `{"tag","v","q","st"}`.
    #[default]
    PerTag,
    /// One message per interval on one topic: `{"seq","ts","values":[…]}`.
    Batch,
}

/// One MQTT client.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// Name: the folder of its tags (`Objects/<name>`).
    pub name: String,
    /// The client line it rides on (its `backup`: the second broker).
    pub line: String,
    /// `3.1.1` or `5`.
    #[serde(default)]
    pub version: MqttVersion,
    /// Client identifier; empty: `fxgate-<name>`.
    #[serde(default)]
    pub client_id: String,
    /// Clean session (3.1.1) / clean start (5); false: the broker keeps the session.
    #[serde(default = "yes")]
    pub clean_session: bool,
    /// MQTT 5 with `clean_session = false`: how long the broker keeps the session after the
    /// connection is lost, s (absent: one day; 4294967295: for ever). MQTT 3.1.1 brokers
    /// keep a persistent session until the client connects clean.
    #[serde(default)]
    pub session_expiry_s: Option<u32>,
    /// Keep-alive in seconds (1..=65535).
    #[serde(default = "thirty")]
    pub keep_alive_s: u64,
    /// User name; empty: none.
    #[serde(default)]
    pub username: String,
    /// Password (never logged).
    #[serde(default)]
    pub password: String,
    /// QoS of the subscriptions.
    #[serde(default = "qos1")]
    pub subscribe_qos: Qos,
    /// QoS of what fxgate publishes.
    #[serde(default = "qos1")]
    pub publish_qos: Qos,
    /// Seconds the primary must be connected before publishing moves back to it.
    #[serde(default = "ten")]
    pub fail_back_s: u64,
    /// Retained `online`/`offline` topic with the Last Will; empty: none.
    #[serde(default)]
    pub status_topic: String,
    /// Topic of write requests from MQTT; empty: none.
    #[serde(default)]
    pub request_topic: String,
    /// Topic of the answers to write requests.
    #[serde(default)]
    pub response_topic: String,
    /// The `[[users]]` entry whose roles apply to write requests; empty: refused.
    #[serde(default)]
    pub user: String,
    /// Bound of the store-and-forward buffer, bytes.
    #[serde(default = "buffer_default")]
    pub buffer_max_bytes: u64,
    /// Part of the buffer kept in memory before it spills to disk, bytes.
    #[serde(default = "memory_default")]
    pub buffer_memory_bytes: u64,
    /// When the buffer's disk part is forced out (`fsync`): absent = never by fxgate (a killed
    /// process loses nothing written, a power loss what the kernel had not written out), 0 =
    /// after every message, N = at most N ms after a message was written.
    #[serde(default)]
    pub buffer_fsync_ms: Option<u64>,
    /// Tags fed by topics.
    #[serde(default)]
    pub tag: Vec<MqttTagConfig>,
    /// Tags published to topics.
    #[serde(default)]
    pub publish: Vec<PublishConfig>,
    /// A Sparkplug B edge node.
    #[serde(default)]
    pub sparkplug: Option<SparkplugConfig>,
}

/// The placeholder for the gateway's node name in identifiers and topics.
pub const NODE: &str = "{node}";
/// The Session Expiry Interval of a persistent MQTT 5 session when none is given: one day.
pub const SESSION_EXPIRY_DEFAULT: u32 = 86_400;

/// The gateway's node name: `FXGATE_NODE` if set, else the host name; `/`, `+`, `#` and
/// spaces become `_` (it goes into one topic level).
pub fn node_name() -> String {
    let raw = std::env::var("FXGATE_NODE")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_else(|| "fxgate".into());
    raw.trim().replace(['/', '+', '#', ' '], "_")
}

impl MqttConfig {
    /// The configuration with `{node}` replaced by `node` in the client id, the topics and
    /// the Sparkplug edge node id: one file for every gateway of a site.
    pub fn for_node(&self, node: &str) -> Self {
        let mut c = self.clone();
        let r = |s: &mut String| *s = s.replace(NODE, node);
        r(&mut c.client_id);
        r(&mut c.status_topic);
        r(&mut c.request_topic);
        r(&mut c.response_topic);
        for p in &mut c.publish {
            r(&mut p.topic);
        }
        for t in &mut c.tag {
            r(&mut t.topic);
            r(&mut t.command_topic);
        }
        if let Some(sp) = &mut c.sparkplug {
            r(&mut sp.edge_node_id);
        }
        c
    }

    /// The client identifier sent to the brokers.
    pub fn client_id(&self) -> String {
        if self.client_id.is_empty() {
            format!("fxgate-{}", self.name)
        } else {
            self.client_id.clone()
        }
    }

    /// The keep-alive interval.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.keep_alive_s)
    }

    /// The Session Expiry Interval sent with a persistent MQTT 5 session, s.
    pub fn session_expiry(&self) -> u32 {
        self.session_expiry_s.unwrap_or(SESSION_EXPIRY_DEFAULT)
    }
}

/// `[[mqtt.tag]]`: a tag set by the messages of a topic filter.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MqttTagConfig {
    /// Tag name inside the client's folder.
    pub name: String,
    /// An MQTT topic filter (`+` and `#` allowed).
    pub topic: String,
    /// The tag's data type.
    #[serde(rename = "type")]
    pub tag_type: TagType,
    /// Raw text or JSON.
    #[serde(default)]
    pub payload: PayloadFormat,
    /// JSON pointer of the value; empty: the whole document.
    #[serde(default)]
    pub value_path: String,
    /// JSON pointer of the source timestamp (RFC 3339 text or Unix epoch ms); empty: receive time.
    #[serde(default)]
    pub timestamp_path: String,
    /// JSON pointer of the quality (OPC UA status code number or name); empty: Good.
    #[serde(default)]
    pub quality_path: String,
    /// Milliseconds without a message after which the value is Uncertain_LastUsableValue; 0: never.
    #[serde(default)]
    pub stale_after_ms: u64,
    /// Topic an OPC UA write publishes to; empty: read only.
    #[serde(default)]
    pub command_topic: String,
    /// Free text shown as the node's description.
    #[serde(default)]
    pub description: String,
}

/// `[[mqtt.publish]]`: tags of the store published as JSON.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// Browse-path globs of the tags.
    pub tags: Vec<String>,
    /// Per tag or in batches.
    #[serde(default)]
    pub mode: PublishMode,
    /// Topic template (`{path}`, `{source}`, `{name}`); a fixed topic in batch mode.
    pub topic: String,
    /// Milliseconds over which changes are collected; 0 (per tag): each change at once.
    #[serde(default)]
    pub interval_ms: u64,
    /// Publish retained.
    #[serde(default)]
    pub retain: bool,
}

impl PublishConfig {
    /// The collection interval: batch mode defaults to 100 ms.
    pub fn interval(&self) -> Option<Duration> {
        match (self.mode, self.interval_ms) {
            (PublishMode::Batch, 0) => Some(Duration::from_millis(100)),
            (_, 0) => None,
            (_, ms) => Some(Duration::from_millis(ms)),
        }
    }
}

/// `[mqtt.sparkplug]`: fxgate as a Sparkplug B edge node (Eclipse Sparkplug 3.0): each
/// source of the selected tags is a device, its tags the device's metrics.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SparkplugConfig {
    /// The group (`spBv1.0/<group_id>/…`).
    pub group_id: String,
    /// The edge node's id.
    pub edge_node_id: String,
    /// Browse-path globs of the tags published as metrics.
    pub tags: Vec<String>,
    /// The primary host application's id: publishing waits while its STATE is offline.
    #[serde(default)]
    pub primary_host_id: String,
    /// The `[[users]]` entry whose roles apply to NCMD/DCMD writes; empty: refused.
    #[serde(default)]
    pub user: String,
    /// Milliseconds over which changes are collected into one DDATA; 0: each batch at once.
    #[serde(default)]
    pub interval_ms: u64,
    /// QoS of births and data: 0 as the specification says; 1 keeps messages a lost broker
    /// had not received (store-and-forward across broker failures).
    #[serde(default = "qos0")]
    pub qos: Qos,
}

fn qos0() -> Qos {
    Qos::AtMostOnce
}

fn yes() -> bool {
    true
}
fn thirty() -> u64 {
    30
}
fn ten() -> u64 {
    10
}
fn qos1() -> Qos {
    Qos::AtLeastOnce
}
fn buffer_default() -> u64 {
    64 * 1024 * 1024
}
fn memory_default() -> u64 {
    4 * 1024 * 1024
}
