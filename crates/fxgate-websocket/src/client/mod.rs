//! The client: one task per `[[websocket]]` (seed 001 §5.1.1 `FB_IotWebSocketClient`) that
//! collects changes of the selected tags, turns them into numbered messages every
//! `publish_interval_ms`, keeps them in the store-and-forward buffer, and sends them whenever
//! a connection is up; commands from the server are answered on the same connection.
//!
//! One concern per file:
//! - `sink`: the component: the configuration in, the client's task and health probe out;
//! - `connect`: one connection attempt: DNS, TCP, TLS, JWT, the opening handshake;
//! - `stream`: the connection's byte stream (bytes counted, closed gracefully);
//! - `run`: the loop that ties the others together, and what is kept at shutdown;
//! - `send`: changes into messages, messages onto the connection;
//! - `commands`: frames from the server: commands (write, read, browse), acks, close;
//! - `keepalive`: pings while the server is silent (§5.1.1 `bKeepAlive`);
//! - `reconnect`: when the next connection attempt is due.

mod commands;
mod connect;
mod keepalive;
mod reconnect;
mod run;
mod send;
mod sink;
mod stream;

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::WebSocketConfig;
use fxgate_core::TagStore;
use fxgate_forward::{Buffer, Collector, Encoding};
use yawc::WebSocket;

pub use sink::WebSocketSink;

use crate::status::WsStatus;

/// A connection after the opening handshake.
type Ws = WebSocket<stream::Counted>;

/// The running client of one `[[websocket]]`.
struct Client {
    cfg: WebSocketConfig,
    encoding: Encoding,
    state: WsStatus,
    store: Arc<TagStore>,
    /// The selected tags and their changes since the last message.
    changes: Collector,
    buffer: Buffer,
    seq: u64,
    may_write: bool,
    connector: connect::Connector,
    bytes_accounted: u64,
    /// The buffer-full warning, at most once per period.
    full_log: fxgate_core::LogLimit,
    /// Where unsent messages and the sequence number are kept across a restart.
    persist: PathBuf,
}
