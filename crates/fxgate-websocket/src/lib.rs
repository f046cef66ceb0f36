//! The northbound WebSocket client (seed 001: Beckhoff TF6770 `FB_IotWebSocketClient`).
//!
//! fxgate streams changes of selected tags to a WebSocket server and takes commands back:
//! - [`client`]: the connection loop, publishing, commands, keep-alive, reconnects;
//! - [`handshake`]: the opening handshake with the subprotocol check;
//! - [`tls`]: `ST_IotSocketTls` on OpenSSL (CA, client cert, CRL, ciphers, version, PSK);
//! - [`jwt`]: the bearer token of the handshake;
//! - [`message`]: the messages (tag changes, commands, answers) as JSON/CBOR;
//! - [`status`]: `ETcIotWebSocketStatus`, state tags and metrics;
//! - [`error`]: the client's failures, each with its `ETcIotWebSocketStatus`.
//!
//! Tag selection, value encoding and the store-and-forward buffer are `fxgate_forward`'s,
//! shared with the other northbound clients.

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod error;
pub mod handshake;
pub mod jwt;
pub mod message;
pub mod status;
pub mod tls;

pub use client::WebSocketSink;
pub use config::{JwtAlgorithm, JwtConfig, WebSocketConfig, Websockets, WsEncoding, WsTlsConfig};
pub use error::{ConnectError, ConnectionError, HandshakeError, StartError, TlsConfigError, TlsError, WsError};
pub use status::{WsMetrics, WsStatus, WsState};

impl fxgate_plugin::Protocol for Websockets {
    /// One client per `[[websocket]]`; the WebSocket metrics are registered once.
    fn build(&self, _key: &str, cx: &mut fxgate_plugin::BuildContext<'_>) -> Result<(), fxgate_core::BuildError> {
        let metrics = WsMetrics::default();
        metrics.register(cx.metrics);
        for ws in self.iter() {
            let sink = WebSocketSink::new(ws.clone(), cx.users, cx.config_dir.to_path_buf(), metrics.clone());
            cx.add_component(Box::new(sink));
        }
        Ok(())
    }
}
