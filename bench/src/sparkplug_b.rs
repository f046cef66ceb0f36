//! The parts of the Sparkplug B payload (`org.eclipse.tahu.protobuf.Payload`, Eclipse Sparkplug
//! 3.0 `sparkplug_b.proto`, protobuf 2 syntax) that `mqtt-sink` reads and `mqtt-push` writes,
//! declared by hand with the official field numbers. Fields not declared here (uuid, body,
//! is_transient, properties, metadata, datasets, templates, bytes values) are skipped by prost
//! when decoding. Included by both binaries with `#[path]`.

/// A Sparkplug B payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Payload {
    /// Milliseconds since the epoch when the message was made.
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// Sequence number, 0..=255 over every message of an edge node's session (NBIRTH = 0).
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
}

/// One metric.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Name (births; data messages use the alias).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Alias defined in the birth.
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    /// Source timestamp, ms since the epoch.
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    /// Data type (10 = Double).
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    /// A value from the past (store-and-forward).
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    /// No value.
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    /// The value.
    #[prost(oneof = "MetricValue", tags = "10, 11, 12, 13, 14, 15")]
    pub value: Option<MetricValue>,
}

/// A metric's value (the variants are named after sparkplug_b.proto's oneof fields).
#[allow(clippy::enum_variant_names)]
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MetricValue {
    /// 8/16/32-bit integers.
    #[prost(uint32, tag = "10")]
    IntValue(u32),
    /// 64-bit integers, DateTime.
    #[prost(uint64, tag = "11")]
    LongValue(u64),
    /// Float.
    #[prost(float, tag = "12")]
    FloatValue(f32),
    /// Double.
    #[prost(double, tag = "13")]
    DoubleValue(f64),
    /// Boolean.
    #[prost(bool, tag = "14")]
    BooleanValue(bool),
    /// String.
    #[prost(string, tag = "15")]
    StringValue(String),
}

/// Sparkplug data type numbers used here.
pub const DATATYPE_INT64: u32 = 4;
pub const DATATYPE_DOUBLE: u32 = 10;
pub const DATATYPE_BOOLEAN: u32 = 11;
