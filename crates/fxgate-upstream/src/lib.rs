//! Aggregation of upstream OPC UA servers (seed 000 §4.1, §4.6, §4.8): each configured
//! upstream is a folder under `Objects` whose content is passed through to the upstream by a
//! forwarding node manager — nothing is copied into the tag store. Namespaces get stable
//! gateway indexes from the persisted, append-only namespace table.

#![warn(missing_docs)]

mod admin;
pub mod aggregator;
pub mod cache;
pub mod commissioning;
pub mod config;
pub mod component;
pub mod configure;
pub mod events;
pub mod items;
pub mod local;
pub mod mapping;
pub mod metrics;
pub mod names;
mod plugin;
pub mod node_manager;
pub mod standard_calls;
pub mod upstream;

pub use aggregator::Aggregator;
pub use config::{UpstreamConfig, UpstreamMode, UpstreamPolicy, Upstreams};
pub use component::AggregatorComponent;
pub use metrics::UpstreamMetrics;
pub use names::{SharedTable, UpstreamNamespaces};
pub use node_manager::{forward_node_manager, AGGREGATION_NAMESPACE};
pub use standard_calls::upstream_calls;
