//! The UADP message mapping of OPC 10000-14 (v1.05, §7.2.4): NetworkMessages carrying
//! DataSetMessages, encoded and decoded without security and without chunking.
//!
//! Written here, not taken from a crate: no maintained Rust crate implements UADP (async-opcua
//! has no PubSub). Values are encoded with async-opcua's own binary encoding of Variant,
//! DataValue and the built-in types, so only the UADP headers are this module's.
//!
//! Bad input never panics: every length is checked against what is left, and every problem
//! is a [`UadpError`].

mod decode;
mod encode;
mod raw;

pub use decode::decode;
pub use encode::{encode, encode_data_set_message, encode_with_bodies};
pub use raw::{decode_raw_delta, decode_raw_fields, encode_raw_field, RawError};

use opcua::types::{ContextOwned, DataValue, DateTime, DecodingOptions, NamespaceMap, TypeLoaderCollection};

/// The context datagrams are decoded (and messages encoded) with: no type loaders, so an
/// ExtensionObject in a field stays an opaque body and no structure decoder runs on bytes
/// anyone on the network can send. async-opcua 0.19's Argument decoder (async-opcua-types
/// `src/argument.rs`, `array_dimensions.resize(expected_rank, 0)`) allocates up to 8 GiB for
/// 30 bytes; with the default context one datagram would abort the gateway (found by the
/// `uadp_datagram` fuzz target).
pub fn wire_context() -> ContextOwned {
    ContextOwned::new(NamespaceMap::new(), TypeLoaderCollection::new_empty(), DecodingOptions::default())
}

/// The UADP version this codec reads and writes (the only one Part 14 defines).
pub const UADP_VERSION: u8 = 1;

/// A PublisherId, with the type it has on the wire (ExtendedFlags1 bits 0–2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PublisherId {
    /// Type 000.
    Byte(u8),
    /// Type 001.
    UInt16(u16),
    /// Type 010.
    UInt32(u32),
    /// Type 011.
    UInt64(u64),
    /// Type 100.
    String(String),
}

impl std::fmt::Display for PublisherId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Byte(v) => write!(f, "{v} (Byte)"),
            Self::UInt16(v) => write!(f, "{v} (UInt16)"),
            Self::UInt32(v) => write!(f, "{v} (UInt32)"),
            Self::UInt64(v) => write!(f, "{v} (UInt64)"),
            Self::String(v) => write!(f, "\"{v}\" (String)"),
        }
    }
}

impl PublisherId {
    /// The id as an OPC UA value of its type (as the information model and FX show it).
    pub fn to_variant(&self) -> opcua::types::Variant {
        use opcua::types::Variant;
        match self {
            Self::Byte(v) => Variant::Byte(*v),
            Self::UInt16(v) => Variant::UInt16(*v),
            Self::UInt32(v) => Variant::UInt32(*v),
            Self::UInt64(v) => Variant::UInt64(*v),
            Self::String(s) => Variant::String(s.as_str().into()),
        }
    }

    /// The id an OPC UA value holds (the five types Part 14 allows; None for anything else).
    pub fn from_variant(v: &opcua::types::Variant) -> Option<Self> {
        use opcua::types::Variant;
        match v {
            Variant::Byte(v) => Some(Self::Byte(*v)),
            Variant::UInt16(v) => Some(Self::UInt16(*v)),
            Variant::UInt32(v) => Some(Self::UInt32(*v)),
            Variant::UInt64(v) => Some(Self::UInt64(*v)),
            Variant::String(s) if !s.is_empty() => Some(Self::String(s.as_ref().to_string())),
            _ => None,
        }
    }
}

/// The group header (Part 14 §7.2.4.4.2, GroupFlags): each field is sent when set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupHeader {
    /// The WriterGroupId.
    pub writer_group_id: Option<u16>,
    /// The GroupVersion (a VersionTime).
    pub group_version: Option<u32>,
    /// The number of this NetworkMessage among those of one publishing cycle (from 1).
    pub network_message_number: Option<u16>,
    /// The writer group's sequence number of NetworkMessages.
    pub sequence_number: Option<u16>,
}

/// How the fields of a DataSetMessage are encoded (DataSetFlags1 bits 1–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldEncoding {
    /// Each field a Variant.
    #[default]
    Variant,
    /// Each field in the raw encoding of its type (the reader must know the types).
    RawData,
    /// Each field a DataValue (value, status and timestamps).
    DataValue,
}

/// The DataSetMessage type (DataSetFlags2 bits 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Every field.
    KeyFrame,
    /// The changed fields with their indexes.
    DeltaFrame,
    /// An event (not produced here; decoded as its fields).
    Event,
    /// No fields: the writer is alive.
    KeepAlive,
}

/// The fields a DataSetMessage carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Key frame or event: every field in order. Variant-encoded fields are DataValues with
    /// only a value.
    Fields(Vec<DataValue>),
    /// Delta frame: (field index, field).
    Delta(Vec<(u16, DataValue)>),
    /// RawData key or delta frame: the undecoded body, which only the reader's field types
    /// can decode ([`decode_raw_fields`]).
    Raw(Vec<u8>),
    /// A keep-alive message.
    None,
}

/// One DataSetMessage (Part 14 §7.2.4.5).
#[derive(Debug, Clone, PartialEq)]
pub struct DataSetMessage {
    /// DataSetFlags1 bit 0: the message is valid (an invalid one is skipped by readers).
    pub valid: bool,
    /// How the fields are encoded.
    pub encoding: FieldEncoding,
    /// The message type.
    pub kind: MessageKind,
    /// The writer's DataSetMessage sequence number.
    pub sequence_number: Option<u16>,
    /// When the DataSet was taken.
    pub timestamp: Option<DateTime>,
    /// Picoseconds of the timestamp.
    pub picoseconds: Option<u16>,
    /// The overall status of the DataSet: the high 16 bits of a StatusCode.
    pub status: Option<u16>,
    /// ConfigurationVersion.MajorVersion of the DataSet's metadata.
    pub config_major: Option<u32>,
    /// ConfigurationVersion.MinorVersion.
    pub config_minor: Option<u32>,
    /// The fields.
    pub payload: Payload,
}

/// One NetworkMessage with a DataSetMessage payload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkMessage {
    /// The publisher, if sent.
    pub publisher_id: Option<PublisherId>,
    /// The DataSetClassId (a Guid), if sent.
    pub data_set_class_id: Option<[u8; 16]>,
    /// The group header, if sent.
    pub group: Option<GroupHeader>,
    /// The payload header: the DataSetWriterId of each DataSetMessage, if sent.
    pub writer_ids: Option<Vec<u16>>,
    /// The NetworkMessage timestamp, if sent.
    pub timestamp: Option<DateTime>,
    /// Its picoseconds, if sent.
    pub picoseconds: Option<u16>,
    /// The DataSetMessages.
    pub messages: Vec<DataSetMessage>,
}

/// Why a datagram could not be decoded or a message encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UadpError {
    /// The datagram ended inside `what`.
    #[error("truncated: the datagram ends inside {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// The UADP version is not 1.
    #[error("UADP version {0} (only 1 is defined)")]
    Version(u8),
    /// A flag combination this codec does not take.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// A field holds an impossible value.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A Variant or DataValue did not decode or encode.
    #[error("{what}: {status}")]
    Value {
        /// Which field.
        what: &'static str,
        /// async-opcua's status for it.
        status: opcua::types::StatusCode,
    },
    /// The message would not fit a datagram's size field.
    #[error("too large: {0} bytes in a field sized by a UInt16")]
    TooLarge(usize),
}

#[cfg(test)]
mod tests;
