//! The DA-style item API (OPC 10000-8 A.4, the COM UA Proxy direction) on fxgate's HTTP
//! listener: DA clients and DA-minded engineers browse branches and items, read VQTs with
//! DA qualities and canonical types, read item properties and write — for every node of
//! the gateway's address space.
//!
//! The API is a client of the gateway's own OPC UA server (over loopback, Basic256Sha256
//! SignAndEncrypt), logged in as the HTTP user: the server's users, roles and access
//! levels apply unchanged, and its answers are mapped to DA with [`fxgate_da`].
//! `GET /da/subscribe` runs a DA group (a subscription) over a WebSocket.

#![warn(missing_docs)]

mod group;
mod handlers;
mod json;
mod ns_map;
mod sessions;

pub use handlers::router;
pub use ns_map::ComAlias;
pub use sessions::{ClientError, InternalClient, SessionError, TrustError};
