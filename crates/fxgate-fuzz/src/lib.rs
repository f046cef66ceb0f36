//! fxgate's fuzz targets: one function per parser that takes input from outside the gateway
//! (a configuration file, a device, a broker, a server or a client), each taking arbitrary
//! bytes and checking what must hold whatever they are.
//!
//! The functions are shared by two runners:
//! - `fuzz/` (cargo-fuzz, nightly, libFuzzer): `scripts/fuzz [SECONDS]` runs every target,
//!   growing the corpora in `fuzz/corpus/<target>/`;
//! - this crate's tests (stable, in the test suite): every file of `fuzz/corpus/<target>/`
//!   and `fuzz/regressions/<target>/` is replayed through its target.
//!
//! A target panics only on a defect: a panic in the code under test, or a broken invariant
//! (asserted here, with what broke). Inputs that the code refuses are the normal case.

#![warn(missing_docs)]

pub mod certificates;
pub mod config;
pub mod da;
pub mod iec104;
pub mod modbus;
pub mod mqtt;
pub mod pubsub;
mod runtime;
pub mod seeds;
pub mod upstream;
pub mod websocket;

/// The data types a tag can have: what written, subscribed and command values are
/// converted to.
pub const TAG_TYPES: [opcua::types::DataTypeId; 12] = {
    use opcua::types::DataTypeId as T;
    [T::Boolean, T::SByte, T::Byte, T::Int16, T::UInt16, T::Int32, T::UInt32, T::Int64, T::UInt64, T::Float, T::Double, T::String]
};

/// A fuzz target: arbitrary bytes in, a panic only on a defect.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus folder and its cargo-fuzz binary have.
pub const TARGETS: &[(&str, Target)] = &[
    ("config", config::config),
    ("modbus_request", modbus::request),
    ("modbus_response", modbus::response),
    ("websocket_command", websocket::command),
    ("da_item_id", da::item_id),
    ("da_value", da::value),
    ("upstream_value", upstream::value),
    ("iec104_apdu", iec104::apdu),
    ("mqtt_packet", mqtt::packet),
    ("mqtt_payload", mqtt::payload),
    ("sparkplug_payload", mqtt::sparkplug),
    ("opn_certificate", certificates::opn),
    ("trust_list", certificates::trust_list),
    ("uadp_datagram", pubsub::datagram),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
