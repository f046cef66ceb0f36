//! Southbound TCP lines (seed 002: D2000 "TCP/IP-TCP" and "TCP/IP-TCP Redundant").
//!
//! A line is the transport a protocol rides on:
//! - [`LineClient`] connects out, trying the configured addresses in turn and, on a
//!   redundant line, switching between the primary and backup device
//!   ([`LineClient::connect`], the *alternating* policy) or keeping one connection per
//!   device ([`LineClient::connect_device`], the *parallel* policy).
//! - [`LineServer`] listens on one interface or on all of them.
//! - Both speak TLS with certificates or a pre-shared key ([`tls`]).
//! - [`LineStatus`] publishes the line's state under `Objects/fxgate/Lines/<name>` and
//!   in `/metrics` ([`LineMetrics`]).

#![warn(missing_docs)]

mod client;
mod error;
mod metrics;
mod server;
mod status;
mod stream;
mod target;
pub mod tls;

pub use client::{Connection, LineClient};
pub use error::LineError;
pub use metrics::LineMetrics;
pub use server::{listen_addr, LineServer, ServerStream};
pub use status::{LineState, LineStatus};
pub use stream::LineStream;
pub use target::{Device, Target};
