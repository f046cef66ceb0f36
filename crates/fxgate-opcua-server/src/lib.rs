//! fxgate's northbound OPC UA server (seed 000 chapters 3–4): secure endpoints,
//! certificate trust lists, users and roles, and the address space of the tag store.

#![warn(missing_docs)]

pub mod auth;
pub mod capabilities;
pub mod chunk_guard;
pub mod core_calls;
pub mod endpoints;
pub mod extension;
pub mod file_handles;
pub mod items;
pub mod live_items;
pub mod metrics;
pub mod tags;
pub mod opn_check;
mod discovery;
pub mod gds;
mod sink;

pub use core_calls::{CoreDiverter, DiverterBuilder};
pub use metrics::ServerMetrics;
pub use tags::TAG_NAMESPACE;
pub use sink::{application_uri, endpoint_url, OpcUaServerSink};
