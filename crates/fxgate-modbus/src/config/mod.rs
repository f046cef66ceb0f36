//! `[[device]]`: a field device on a client line, polled by its protocol, and
//! `[[modbus_server]]`: a Modbus TCP server on a server line that exposes tags of the store.

use serde::{Deserialize, Serialize};

use fxgate_core::TagType;

pub mod address;
pub(crate) mod validate;

use address::{Encoding, ModbusType, Order};

/// The protocols a device can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Modbus TCP client (the device is the Modbus server).
    Modbus,
}

impl Protocol {
    /// Who claims a client line for devices of this protocol.
    pub fn client_owner(self) -> &'static str {
        match self {
            Protocol::Modbus => "Modbus client",
        }
    }
}

/// One device; its tags appear under `Objects/<name>`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Device (folder) name.
    pub name: String,
    /// The `[[line]]` it is reached on.
    pub line: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// Modbus unit identifier (slave id).
    #[serde(default = "default_unit")]
    pub unit_id: u8,
    /// Milliseconds to wait for a response before the connection is taken as lost.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Poll interval of tags without a `group`, in ms.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Most registers read in one request (the protocol allows 125).
    #[serde(default = "default_max_registers")]
    pub max_registers: u16,
    /// Most bits read in one request (the protocol allows 2000).
    #[serde(default = "default_max_bits")]
    pub max_bits: u16,
    /// Unused registers (or bits) a request may span to join two blocks.
    #[serde(default)]
    pub max_gap: u16,
    /// Poll groups with their own interval.
    #[serde(default)]
    pub group: Vec<PollGroupConfig>,
    /// The tags.
    #[serde(default)]
    pub tag: Vec<ModbusTagConfig>,
}

fn default_unit() -> u8 {
    1
}
fn default_timeout_ms() -> u64 {
    1000
}
fn default_poll_ms() -> u64 {
    1000
}
fn default_max_registers() -> u16 {
    125
}
fn default_max_bits() -> u16 {
    2000
}

/// A poll group: its tags are read together every `interval_ms`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PollGroupConfig {
    /// Group name, referred to by tags.
    pub name: String,
    /// Poll interval in ms.
    pub interval_ms: u64,
}

/// One Modbus tag (or `count` of them at consecutive addresses).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModbusTagConfig {
    /// Tag name; with `count > 1` the tags are `<name>0` … `<name><count-1>`.
    pub name: String,
    /// Where it lives: `hr:100`, `ir:5`, `coil:3`, `di:0`, `hr:10.3`, or Modicon `40101`.
    pub address: String,
    /// Wire type.
    #[serde(rename = "type")]
    pub data_type: ModbusType,
    /// Register order of multi-register values.
    #[serde(default)]
    pub word_order: Order,
    /// Byte order inside each register.
    #[serde(default)]
    pub byte_order: Order,
    /// Registers of a string.
    #[serde(default)]
    pub length: u16,
    /// `value = raw * scale + offset` (then the tag is a Double).
    #[serde(default = "one_f")]
    pub scale: f64,
    /// See `scale`.
    #[serde(default)]
    pub offset: f64,
    /// Whether clients with the `write` role may write it (coils and holding registers).
    #[serde(default)]
    pub writable: bool,
    /// Poll group; empty: the device's `poll_ms`.
    #[serde(default)]
    pub group: String,
    /// Number of tags this entry makes, each at the next address.
    #[serde(default = "one")]
    pub count: u32,
    /// Description shown on the node.
    #[serde(default)]
    pub description: String,
    /// Engineering units (AnalogItem with `eu_low`/`eu_high`).
    #[serde(default)]
    pub eu_units: Option<String>,
    /// Low end of EURange.
    #[serde(default)]
    pub eu_low: Option<f64>,
    /// High end of EURange.
    #[serde(default)]
    pub eu_high: Option<f64>,
    /// Low end of InstrumentRange.
    #[serde(default)]
    pub instrument_low: Option<f64>,
    /// High end of InstrumentRange.
    #[serde(default)]
    pub instrument_high: Option<f64>,
    /// Label of `false` (TwoStateDiscrete).
    #[serde(default)]
    pub open_label: Option<String>,
    /// Label of `true`.
    #[serde(default)]
    pub close_label: Option<String>,
    /// Names of the values 0, 1, 2, … (MultiStateDiscrete).
    #[serde(default)]
    pub enum_strings: Vec<String>,
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}

impl ModbusTagConfig {
    /// The encoding of the entry.
    pub fn encoding(&self) -> Encoding {
        Encoding {
            data_type: self.data_type,
            word_order: self.word_order,
            byte_order: self.byte_order,
            length: self.length,
            scale: self.scale,
            offset: self.offset,
        }
    }

    /// The tag names this entry expands to.
    pub fn names(&self) -> Vec<String> {
        if self.count <= 1 {
            vec![self.name.clone()]
        } else {
            (0..self.count).map(|i| format!("{}{i}", self.name)).collect()
        }
    }

    /// Registers (or bits) between two consecutive tags of a `count` entry.
    pub fn stride(&self) -> u16 {
        self.data_type.registers(self.length).max(1)
    }

    /// DA-style metadata; `scan_rate_ms` is the tag's poll interval.
    pub fn meta(&self, scan_rate_ms: f64) -> fxgate_core::TagMeta {
        fxgate_core::TagMeta {
            eu_units: self.eu_units.clone(),
            eu_range: self.eu_low.zip(self.eu_high),
            instrument_range: self.instrument_low.zip(self.instrument_high),
            open_label: self.open_label.clone(),
            close_label: self.close_label.clone(),
            enum_strings: self.enum_strings.clone(),
            scan_rate_ms: Some(scan_rate_ms),
        }
    }

    /// The OPC UA type of the tag: scaled numbers are Double.
    pub fn tag_type(&self) -> TagType {
        use TagType as T;
        if self.data_type.is_numeric() && self.encoding().is_scaled() {
            return T::Double;
        }
        match self.data_type {
            ModbusType::Bool => T::Boolean,
            ModbusType::Int16 => T::Int16,
            ModbusType::Uint16 => T::UInt16,
            ModbusType::Int32 => T::Int32,
            ModbusType::Uint32 => T::UInt32,
            ModbusType::Float32 => T::Float,
            ModbusType::Int64 => T::Int64,
            ModbusType::Uint64 => T::UInt64,
            ModbusType::Float64 => T::Double,
            ModbusType::String => T::String,
        }
    }
}

/// A Modbus TCP server exposing tags of the store.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModbusServerConfig {
    /// Name, for logs and health.
    pub name: String,
    /// The server-mode `[[line]]` it listens on.
    pub line: String,
    /// Unit ids answered; empty: every unit id.
    #[serde(default)]
    pub unit_ids: Vec<u8>,
    /// Answer reads of a tag whose quality is not Good with the last value (true) or
    /// with exception 0x0B "gateway target device failed to respond" (false).
    #[serde(default)]
    pub serve_bad_values: bool,
    /// The mapped tags.
    #[serde(default)]
    pub map: Vec<ServerMapConfig>,
}

/// One tag of the store mapped into the server's tables.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerMapConfig {
    /// The tag's path, `<source>/<tag>` (e.g. `Demo/Sine`).
    pub tag: String,
    /// Where it appears (`hr:0`, `ir:0`, `coil:0`, `di:0`, Modicon `40001`, …).
    pub address: String,
    /// Wire type.
    #[serde(rename = "type")]
    pub data_type: ModbusType,
    /// Register order.
    #[serde(default)]
    pub word_order: Order,
    /// Byte order inside each register.
    #[serde(default)]
    pub byte_order: Order,
    /// Registers of a string.
    #[serde(default)]
    pub length: u16,
    /// `value = raw * scale + offset`; the server sends `raw = (value - offset) / scale`.
    #[serde(default = "one_f")]
    pub scale: f64,
    /// See `scale`.
    #[serde(default)]
    pub offset: f64,
}

impl ServerMapConfig {
    /// The encoding of the mapping.
    pub fn encoding(&self) -> Encoding {
        Encoding {
            data_type: self.data_type,
            word_order: self.word_order,
            byte_order: self.byte_order,
            length: self.length,
            scale: self.scale,
            offset: self.offset,
        }
    }
}
