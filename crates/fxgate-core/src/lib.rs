//! Core of fxgate: the tag store that sits between sources (devices, upstream
//! servers) and sinks (the OPC UA server, WebSocket, …), and the
//! component traits that the topology wires together.
//!
//! Data flows `sources → tag store → sinks`; writes flow back from a sink through
//! the store to the source that owns the tag, which accepts or rejects them.

#![warn(missing_docs)]

pub mod admin;
pub mod component;
pub mod kit;
pub mod namespaces;
pub mod tag;
pub mod tag_type;
pub mod store;
mod path_index;
pub mod write;
pub mod write_guard;

pub use admin::{AdminError, AdminFuture, ServerAdmin, ServerEntry, ServerSpec, SharedServerAdmin};
pub use namespaces::{NamespaceError, NamespaceTable, SharedNamespaceTable};
pub use component::{
    BuildError, Component, ComponentContext, ComponentResult, Declared, HealthCheck, RunError, RunningComponent, Unhealthy,
};
pub use kit::backoff::{Backoff, BackoffSettings};
pub use kit::log_limit::LogLimit;
pub use kit::log_ring::{LogLevel, LogRing};
pub use store::{ChangeBatch, StoreError, TagStore, TagStoreBuilder};
pub use tag::{AccessMode, TagDef, TagId, TagMeta, TagValue};
pub use tag_type::TagType;
pub use write::{WriteRequest, WriteReceiver};
pub use write_guard::{Caller, WriteGuard};
