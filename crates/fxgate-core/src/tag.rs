//! Tag definitions and values.

use opcua::types::{DataTypeId, DateTime, StatusCode, Variant};



/// Index of a tag in the [`TagStore`](crate::TagStore). Stable for the life of the store.
pub type TagId = u32;

/// Whether a sink may write a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMode {
    /// Read only.
    Read,
    /// Readable and writable; writes go to the owning source.
    ReadWrite,
}

/// The static description of a tag, fixed when the store is built.
#[derive(Debug, Clone)]
pub struct TagDef {
    /// Name of the source that owns the tag (the folder it appears in); shared by its tags.
    pub source: std::sync::Arc<str>,
    /// Name of the tag inside its source.
    pub name: String,
    /// OPC UA built-in data type of the value.
    pub data_type: DataTypeId,
    /// Whether writes are accepted.
    pub access: AccessMode,
    /// Free text shown as the node's description.
    pub description: String,
    /// DA-style item metadata (engineering units, ranges, labels, enumerations), shared by
    /// the tags one configuration entry expands to.
    pub meta: Option<std::sync::Arc<TagMeta>>,
}

/// DA-style item metadata (OPC 10000-8 A.3.1): it decides whether a tag is exposed as an
/// AnalogItem, a TwoStateDiscrete, a MultiStateDiscrete or a plain DataItem.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagMeta {
    /// Engineering units, e.g. `°C` (EngineeringUnits, DA property 100).
    pub eu_units: Option<String>,
    /// Normal operating range `(low, high)` (EURange, DA properties 103/102).
    pub eu_range: Option<(f64, f64)>,
    /// Range of the instrument `(low, high)` (InstrumentRange, DA properties 105/104).
    pub instrument_range: Option<(f64, f64)>,
    /// Label of `true` (TrueState, DA "Contact Close Label", 106).
    pub close_label: Option<String>,
    /// Label of `false` (FalseState, DA "Contact Open Label", 107).
    pub open_label: Option<String>,
    /// Names of the values 0, 1, 2, … (EnumStrings, DA EU type Enumerated).
    pub enum_strings: Vec<String>,
    /// How often the source refreshes the value, in ms (MinimumSamplingInterval, DA scan rate).
    pub scan_rate_ms: Option<f64>,
}

impl TagDef {
    /// A read-only tag without description or metadata.
    pub fn new(source: &str, name: &str, data_type: DataTypeId) -> Self {
        Self {
            source: source.into(),
            name: name.into(),
            data_type,
            access: AccessMode::Read,
            description: String::new(),
            meta: None,
        }
    }

    /// `source/name`, the tag's unique path.
    pub fn path(&self) -> String {
        format!("{}/{}", self.source, self.name)
    }
}

/// A value with its quality and timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct TagValue {
    /// The value itself (Empty until the source delivers one).
    pub value: Variant,
    /// OPC UA status (quality) of the value.
    pub status: StatusCode,
    /// When the source says the value was taken.
    pub source_timestamp: DateTime,
    /// When the store received it.
    pub server_timestamp: DateTime,
}

impl TagValue {
    /// The value a tag has before its source delivered anything:
    /// `Bad_WaitingForInitialData`.
    pub fn initial() -> Self {
        let now = DateTime::now();
        Self {
            value: Variant::Empty,
            status: StatusCode::BadWaitingForInitialData,
            source_timestamp: DateTime::null(),
            server_timestamp: now,
        }
    }

    /// A Good value stamped now.
    pub fn good(value: impl Into<Variant>) -> Self {
        let now = DateTime::now();
        Self {
            value: value.into(),
            status: StatusCode::Good,
            source_timestamp: now,
            server_timestamp: now,
        }
    }

    /// Converts to an OPC UA DataValue carrying both timestamps.
    pub fn to_data_value(&self) -> opcua::types::DataValue {
        opcua::types::DataValue {
            value: Some(self.value.clone()),
            status: Some(self.status),
            source_timestamp: Some(self.source_timestamp),
            source_picoseconds: None,
            server_timestamp: Some(self.server_timestamp),
            server_picoseconds: None,
        }
    }
}

/// Keeps only the timestamps a client asked for (`TimestampsToReturn` of Read and
/// CreateMonitoredItems).
pub fn with_timestamps(
    mut dv: opcua::types::DataValue,
    ttr: opcua::types::TimestampsToReturn,
) -> opcua::types::DataValue {
    use opcua::types::TimestampsToReturn as T;
    match ttr {
        T::Source => dv.server_timestamp = None,
        T::Server => dv.source_timestamp = None,
        T::Neither => {
            dv.server_timestamp = None;
            dv.source_timestamp = None;
        }
        _ => {}
    }
    dv
}
