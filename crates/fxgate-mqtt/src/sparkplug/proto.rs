//! The Sparkplug B payload (Eclipse Sparkplug 3.0 §6.4, `org.eclipse.tahu.protobuf.Payload`,
//! protobuf 2 syntax) as prost messages: the parts an edge node sends and reads. Field
//! numbers and types follow the specification's `sparkplug_b.proto`; DataSet, Template,
//! MetaData and the extension values are not used by fxgate and are skipped when decoding.

/// A Sparkplug B payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Payload {
    /// Milliseconds since the epoch when the message was sent.
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// Sequence number, 0..=255.
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
    /// Schema UUID.
    #[prost(string, optional, tag = "4")]
    pub uuid: Option<String>,
    /// A body in place of the metrics.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub body: Option<Vec<u8>>,
}

/// One metric.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Name (in births; data messages use the alias).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Alias, defined in the birth.
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    /// When the value was taken, ms since the epoch.
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    /// [`DataType`] as a number.
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    /// A value from the past (store-and-forward), not the current one.
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    /// Not to be stored as a tag.
    #[prost(bool, optional, tag = "6")]
    pub is_transient: Option<bool>,
    /// No value.
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    /// Properties (engineering units, ranges, quality).
    #[prost(message, optional, tag = "9")]
    pub properties: Option<PropertySet>,
    /// The value.
    #[prost(oneof = "MetricValue", tags = "10, 11, 12, 13, 14, 15, 16")]
    pub value: Option<MetricValue>,
}

/// A metric's value.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MetricValue {
    /// Int8/16/32 (two's complement in 32 bits), UInt8/16/32.
    #[prost(uint32, tag = "10")]
    IntValue(u32),
    /// Int64 (two's complement), UInt64, DateTime (ms).
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
    /// String, Text, UUID.
    #[prost(string, tag = "15")]
    StringValue(String),
    /// Bytes, File.
    #[prost(bytes, tag = "16")]
    BytesValue(Vec<u8>),
}

/// Named property values of a metric.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PropertySet {
    /// The names.
    #[prost(string, repeated, tag = "1")]
    pub keys: Vec<String>,
    /// The values, in the order of the names.
    #[prost(message, repeated, tag = "2")]
    pub values: Vec<PropertyValue>,
}

/// A property's value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PropertyValue {
    /// [`DataType`] as a number.
    #[prost(uint32, optional, tag = "1")]
    pub r#type: Option<u32>,
    /// No value.
    #[prost(bool, optional, tag = "2")]
    pub is_null: Option<bool>,
    /// The value.
    #[prost(oneof = "PropertyValueKind", tags = "3, 4, 5, 6, 7, 8")]
    pub value: Option<PropertyValueKind>,
}

/// A property's value.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum PropertyValueKind {
    /// 32-bit integers.
    #[prost(uint32, tag = "3")]
    IntValue(u32),
    /// 64-bit integers.
    #[prost(uint64, tag = "4")]
    LongValue(u64),
    /// Float.
    #[prost(float, tag = "5")]
    FloatValue(f32),
    /// Double.
    #[prost(double, tag = "6")]
    DoubleValue(f64),
    /// Boolean.
    #[prost(bool, tag = "7")]
    BooleanValue(bool),
    /// String.
    #[prost(string, tag = "8")]
    StringValue(String),
}

/// The Sparkplug B data types (§6.4.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DataType {
    /// 8-bit signed.
    Int8 = 1,
    /// 16-bit signed.
    Int16 = 2,
    /// 32-bit signed.
    Int32 = 3,
    /// 64-bit signed.
    Int64 = 4,
    /// 8-bit unsigned.
    UInt8 = 5,
    /// 16-bit unsigned.
    UInt16 = 6,
    /// 32-bit unsigned.
    UInt32 = 7,
    /// 64-bit unsigned.
    UInt64 = 8,
    /// 32-bit float.
    Float = 9,
    /// 64-bit float.
    Double = 10,
    /// Boolean.
    Boolean = 11,
    /// UTF-8 text.
    String = 12,
    /// ms since the epoch.
    DateTime = 13,
}
