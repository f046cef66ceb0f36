//! `[[iec104_device]]`: a controlled station (RTU) reached on a client line, and
//! `[[iec104_server]]`: fxgate as a controlled station for masters on a server line.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use fxgate_core::TagType;

pub mod types;
pub(crate) mod validate;

pub use types::{CommandType, MonitorType};

/// The link-layer parameters of IEC 60870-5-104 §5.2 and §9.6 (defaults: k 12, w 8, t0
/// 30 s, t1 15 s, t2 10 s, t3 20 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkParams {
    /// Most I-frames sent and not yet acknowledged.
    pub k: u16,
    /// I-frames received after which an acknowledgement is sent at the latest.
    pub w: u16,
    /// Connection establishment timeout.
    pub t0: Duration,
    /// Timeout of a sent frame's acknowledgement (I-frame, STARTDT/STOPDT/TESTFR).
    pub t1: Duration,
    /// Longest wait before acknowledging received I-frames.
    pub t2: Duration,
    /// Idle time after which a TESTFR is sent.
    pub t3: Duration,
}

impl Default for LinkParams {
    fn default() -> Self {
        Self {
            k: 12,
            w: 8,
            t0: Duration::from_secs(30),
            t1: Duration::from_secs(15),
            t2: Duration::from_secs(10),
            t3: Duration::from_secs(20),
        }
    }
}

macro_rules! link_fields {
    ($($(#[$m:meta])* pub struct $name:ident { $($body:tt)* })*) => {$(
        $(#[$m])*
        pub struct $name {
            /// Most unacknowledged I-frames sent (1..=32767).
            #[serde(default = "default_k")]
            pub k: u16,
            /// I-frames received before an acknowledgement at the latest (1..=k, at most ⅔ k recommended).
            #[serde(default = "default_w")]
            pub w: u16,
            /// Connection establishment timeout, ms.
            #[serde(default = "default_t0")]
            pub t0_ms: u64,
            /// Acknowledgement timeout of sent frames, ms.
            #[serde(default = "default_t1")]
            pub t1_ms: u64,
            /// Acknowledgement delay for received I-frames, ms (less than t1).
            #[serde(default = "default_t2")]
            pub t2_ms: u64,
            /// Idle time before a TESTFR, ms.
            #[serde(default = "default_t3")]
            pub t3_ms: u64,
            $($body)*
        }

        impl $name {
            /// Its link parameters.
            pub fn link(&self) -> LinkParams {
                LinkParams {
                    k: self.k,
                    w: self.w,
                    t0: Duration::from_millis(self.t0_ms),
                    t1: Duration::from_millis(self.t1_ms),
                    t2: Duration::from_millis(self.t2_ms),
                    t3: Duration::from_millis(self.t3_ms),
                }
            }
        }
    )*};
}

link_fields! {
    /// One controlled station; its tags appear under `Objects/<name>`.
    #[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct Iec104DeviceConfig {
        /// Device (folder) name.
        pub name: String,
        /// The client `[[line]]` it is reached on. On a redundant line fxgate keeps a
        /// connection to the primary and to the backup station (parallel policy).
        pub line: String,
        /// Common address (CA) of the station's ASDUs, 1..=65534.
        #[serde(default = "default_ca")]
        pub common_address: u16,
        /// Originator address fxgate sends in its ASDUs.
        #[serde(default)]
        pub originator_address: u8,
        /// Period of the general interrogation (C_IC_NA_1), ms; 0 = only after connecting.
        #[serde(default)]
        pub gi_interval_ms: u64,
        /// Period of the counter interrogation (C_CI_NA_1), ms; 0 = never.
        #[serde(default)]
        pub ci_interval_ms: u64,
        /// Send a clock synchronisation (C_CS_NA_1) after connecting.
        #[serde(default = "yes")]
        pub clock_sync: bool,
        /// Period of the clock synchronisation, ms; 0 = only after connecting.
        #[serde(default)]
        pub clock_sync_interval_ms: u64,
        /// The tags.
        #[serde(default, alias = "tags")]
        pub tag: Vec<Iec104TagConfig>,
    }

    /// fxgate as a controlled station on a server line.
    #[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct Iec104ServerConfig {
        /// Server name (log lines, metrics).
        pub name: String,
        /// The server `[[line]]` it listens on.
        pub line: String,
        /// Common address (CA) of its ASDUs, 1..=65534.
        #[serde(default = "default_ca")]
        pub common_address: u16,
        /// Most connections at once.
        #[serde(default = "default_max_connections")]
        pub max_connections: usize,
        /// IP addresses of the masters allowed to connect; empty = any.
        #[serde(default)]
        pub allowed_masters: Vec<String>,
        /// Events kept per redundancy group while no connection of the group is active.
        #[serde(default = "default_event_queue")]
        pub event_queue: usize,
        /// Redundancy groups (IEC 60870-5-104 ed. 2 §10.3); none = one group for every master.
        #[serde(default, alias = "groups")]
        pub group: Vec<RedundancyGroupConfig>,
        /// The tags it exposes.
        #[serde(default)]
        pub map: Vec<Iec104MapConfig>,
    }
}

/// One tag of a controlled station: a monitored point (`ioa` + `type`), a command
/// (`command` on `command_ioa`), or both.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Iec104TagConfig {
    /// Tag name under the device.
    pub name: String,
    /// Information object address of the monitored point (1..=16777215).
    #[serde(default)]
    pub ioa: Option<u32>,
    /// Monitor type family (`M_SP`, `M_DP`, …); its plain and time-tagged variants land here.
    #[serde(default, rename = "type")]
    pub monitor: Option<MonitorType>,
    /// Command type sent when the tag is written over OPC UA; the tag is then writable.
    #[serde(default)]
    pub command: Option<CommandType>,
    /// IOA of the command; defaults to `ioa`.
    #[serde(default)]
    pub command_ioa: Option<u32>,
    /// Select before operate: a select, its ACT_CON, then the execute.
    #[serde(default)]
    pub select_before_operate: bool,
    /// Send the time-tagged variant (C_…_TA_1) with a CP56Time2a.
    #[serde(default)]
    pub time_tagged: bool,
    /// Qualifier of command (QU, 0..=31) or of set-point command (QL, 0..=127).
    #[serde(default)]
    pub qualifier: u8,
    /// Description (the node's Description attribute).
    #[serde(default)]
    pub description: String,
}

impl Iec104TagConfig {
    /// The tag's OPC UA type: the monitor family's, else the command's.
    pub fn tag_type(&self) -> TagType {
        match (self.monitor, self.command) {
            (Some(m), _) => m.tag_type(),
            (None, Some(c)) => c.tag_type(),
            (None, None) => TagType::Boolean,
        }
    }

    /// The IOA commands go to.
    pub fn command_address(&self) -> Option<u32> {
        self.command.and(self.command_ioa.or(self.ioa))
    }
}

/// A redundancy group of masters: one connection of the group is active at a time.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedundancyGroupConfig {
    /// Group name.
    pub name: String,
    /// IP addresses of the group's masters; empty = every master not in another group.
    #[serde(default)]
    pub masters: Vec<String>,
}

/// One tag of the store exposed by an IEC 104 server.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Iec104MapConfig {
    /// The tag, `source/name` as under `Objects`.
    pub tag: String,
    /// Information object address.
    pub ioa: u32,
    /// Monitor type family it is sent as.
    #[serde(rename = "type")]
    pub monitor: MonitorType,
    /// The command a master may send to write the tag.
    #[serde(default)]
    pub command: Option<CommandType>,
    /// IOA of that command; defaults to `ioa`.
    #[serde(default)]
    pub command_ioa: Option<u32>,
}

impl Iec104MapConfig {
    /// The IOA commands arrive on.
    pub fn command_address(&self) -> Option<u32> {
        self.command.map(|_| self.command_ioa.unwrap_or(self.ioa))
    }
}

fn default_ca() -> u16 {
    1
}
fn default_k() -> u16 {
    12
}
fn default_w() -> u16 {
    8
}
fn default_t0() -> u64 {
    30_000
}
fn default_t1() -> u64 {
    15_000
}
fn default_t2() -> u64 {
    10_000
}
fn default_t3() -> u64 {
    20_000
}
fn default_max_connections() -> usize {
    4
}
fn default_event_queue() -> usize {
    10_000
}
fn yes() -> bool {
    true
}
