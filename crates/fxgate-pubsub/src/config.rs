//! `[[pubsub]]`: OPC UA PubSub connections over UDP with the UADP encoding (OPC 10000-14),
//! configured statically (Part 14 §6.2: the configuration a PubSubConfiguration file holds).
//!
//! ```toml
//! [[pubsub]]
//! name = "Cell1"                              # status folder Objects/fxgate/PubSub/Cell1
//! publisher_id = 1001                         # this connection's PublisherId
//! listen = "opc.udp://239.0.0.1:4840"         # where its readers receive (unicast or multicast)
//!
//! [[pubsub.writer_group]]
//! name = "ToCell2"
//! writer_group_id = 1
//! publishing_interval_ms = 10
//! destination = "opc.udp://127.0.0.1:4841"
//!
//! [[pubsub.writer_group.writer]]
//! name = "Speeds"
//! data_set_writer_id = 1
//! tags = ["Line1/Speed", "Line1/Running"]
//!
//! [[pubsub.reader]]
//! name = "FromCell2"                           # its tags: Objects/FromCell2/<field>
//! publisher_id = 2002
//! writer_group_id = 1
//! data_set_writer_id = 1
//! fields = [{ name = "Speed", type = "Double" }, { name = "Running", type = "Boolean" }]
//! ```

use serde::{Deserialize, Serialize};

use fxgate_core::TagType;

use crate::uadp::PublisherId;

/// One PubSubConnection (`[[pubsub]]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PubSubConfig {
    /// The connection's name: its status folder is `Objects/fxgate/PubSub/<name>`.
    pub name: String,
    /// This connection's PublisherId, sent in every NetworkMessage of its writer groups: an
    /// integer (of `publisher_id_type`) or a string.
    #[serde(default)]
    pub publisher_id: Option<IdValue>,
    /// The type an integer PublisherId has on the wire: `Byte`, `UInt16` (default), `UInt32`
    /// or `UInt64`.
    #[serde(default)]
    pub publisher_id_type: Option<IdType>,
    /// Where the readers receive: `opc.udp://<address>:<port>`; a multicast group is joined,
    /// another address is bound (`0.0.0.0` for every interface).
    #[serde(default)]
    pub listen: Option<String>,
    /// The local interface address used to join multicast groups and to send to them
    /// (default: the system's choice).
    #[serde(default)]
    pub interface: Option<String>,
    /// The time-to-live of multicast datagrams sent (default 1: this network only).
    #[serde(default = "one_ttl")]
    pub multicast_ttl: u32,
    /// OPC UA FX reserves its PubSub ids on this connection (ReserveCommunicationIdsCmd; at
    /// most one connection, with a `publisher_id`).
    #[serde(default)]
    pub fx: bool,
    /// Writer groups: what this connection publishes.
    #[serde(default)]
    pub writer_group: Vec<WriterGroupConfig>,
    /// DataSetReaders: what this connection subscribes to.
    #[serde(default)]
    pub reader: Vec<ReaderConfig>,
}

fn one_ttl() -> u32 {
    1
}

/// An integer or text id.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum IdValue {
    /// A number; its wire type is the `…_type` field next to it.
    Number(u64),
    /// A text (wire type String).
    Text(String),
}

/// The wire type of an integer PublisherId.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
pub enum IdType {
    /// Byte.
    Byte,
    /// UInt16 (the default).
    #[default]
    UInt16,
    /// UInt32.
    UInt32,
    /// UInt64.
    UInt64,
}

/// Converts a configured id to its wire form; `None` when the number does not fit the type
/// (validation reports that).
pub fn publisher_id(v: &IdValue, t: Option<IdType>) -> Option<PublisherId> {
    match (v, t.unwrap_or_default()) {
        (IdValue::Text(s), _) => Some(PublisherId::String(s.clone())),
        (IdValue::Number(n), IdType::Byte) => u8::try_from(*n).ok().map(PublisherId::Byte),
        (IdValue::Number(n), IdType::UInt16) => u16::try_from(*n).ok().map(PublisherId::UInt16),
        (IdValue::Number(n), IdType::UInt32) => u32::try_from(*n).ok().map(PublisherId::UInt32),
        (IdValue::Number(n), IdType::UInt64) => Some(PublisherId::UInt64(*n)),
    }
}

/// How a writer encodes its fields.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EncodingConfig {
    /// Each field a Variant (self-describing; the default).
    #[default]
    Variant,
    /// Each field in its type's raw encoding (smallest; the reader must know the types).
    Raw,
    /// Each field a DataValue: value, status and source timestamp per field.
    Datavalue,
}

/// A WriterGroup (`[[pubsub.writer_group]]`): NetworkMessages sent every publishing interval.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WriterGroupConfig {
    /// Its name.
    pub name: String,
    /// The WriterGroupId (unique within the connection, not 0).
    pub writer_group_id: u16,
    /// Milliseconds between NetworkMessages (1 to 3,600,000).
    #[serde(default = "default_interval")]
    pub publishing_interval_ms: u64,
    /// Where the NetworkMessages go: `opc.udp://<address>:<port>`, unicast or multicast.
    pub destination: String,
    /// The GroupVersion sent (a VersionTime; default: one derived from the group's
    /// configuration, so it changes when the configuration does).
    #[serde(default)]
    pub group_version: Option<u32>,
    /// The largest NetworkMessage sent, in bytes; writers that do not fit one are sent in
    /// further NetworkMessages of the same cycle (default 1,472: one Ethernet frame).
    #[serde(default = "default_max_size")]
    pub max_network_message_size: usize,
    /// Its DataSetWriters.
    #[serde(default)]
    pub writer: Vec<WriterConfig>,
}

fn default_interval() -> u64 {
    100
}

fn default_max_size() -> usize {
    1472
}

/// A DataSetWriter (`[[pubsub.writer_group.writer]]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WriterConfig {
    /// Its name.
    pub name: String,
    /// The DataSetWriterId (unique within the connection, not 0).
    pub data_set_writer_id: u16,
    /// How the fields are encoded.
    #[serde(default)]
    pub encoding: EncodingConfig,
    /// The published data items: tag paths `<source>/<tag>`, in field order. None: a
    /// heartbeat writer (keep-alive messages only).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A DataSetReader (`[[pubsub.reader]]`): its fields are tags under `Objects/<name>`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReaderConfig {
    /// Its name, and the folder of its tags.
    pub name: String,
    /// The PublisherId it takes messages from.
    pub publisher_id: IdValue,
    /// The wire type of an integer `publisher_id` (default UInt16).
    #[serde(default)]
    pub publisher_id_type: Option<IdType>,
    /// The WriterGroupId it takes messages from.
    pub writer_group_id: u16,
    /// The DataSetWriterId it takes messages from.
    pub data_set_writer_id: u16,
    /// If set, messages with another GroupVersion are dropped (and counted).
    #[serde(default)]
    pub group_version: Option<u32>,
    /// If set, datagrams from other hosts are ignored (and counted).
    #[serde(default)]
    pub publisher_address: Option<String>,
    /// Without a message for this long, the reader is in Error and its tags turn
    /// Bad_NoCommunication (default 1,000 ms; at least one publishing interval).
    #[serde(default = "default_timeout")]
    pub message_receive_timeout_ms: u64,
    /// The DataSet's fields, in order; they become the reader's tags.
    pub fields: Vec<FieldConfig>,
}

fn default_timeout() -> u64 {
    1000
}

/// One field of a reader's DataSet.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The tag name.
    pub name: String,
    /// Its type (RawData fields are decoded with it; other encodings must carry it).
    #[serde(rename = "type")]
    pub data_type: TagType,
    /// The tag's description (shown on its node).
    #[serde(default)]
    pub description: String,
}
