//! `[[websocket]]`: the northbound WebSocket client (seed 001, Beckhoff TF6770
//! `FB_IotWebSocketClient` with `ST_IotSocketTls`), streaming tag changes to a server
//! and taking commands back.

use serde::{Deserialize, Serialize};

mod validate;

/// `[[websocket]]`: the northbound WebSocket clients.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Websockets(pub Vec<WebSocketConfig>);

impl std::ops::Deref for Websockets {
    type Target = Vec<WebSocketConfig>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl fxgate_config::Section for Websockets {
    fn validate(&self, _key: &str, cx: &mut fxgate_config::Check<'_>) {
        let (users, config_dir) = (cx.users, cx.config_dir);
        validate::validate(&self.0, users, config_dir, cx.errs());
    }
}

/// How outgoing messages are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WsEncoding {
    /// JSON text messages.
    #[default]
    Json,
    /// CBOR binary messages (same structure).
    Cbor,
}

/// One WebSocket client.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebSocketConfig {
    /// Name (state under `Objects/fxgate/WebSockets/<name>`).
    pub name: String,
    /// `ws://host[:port]/path` or `wss://…` (default ports 80 / 443).
    pub url: String,
    /// Subprotocol offered in `Sec-WebSocket-Protocol`; the server must choose it.
    #[serde(default)]
    pub subprotocol: String,
    /// `Origin` header; empty: none.
    #[serde(default)]
    pub origin: String,
    /// Offer permessage-deflate (RFC 7692).
    #[serde(default)]
    pub per_message_deflate: bool,
    /// Send pings when the server is silent.
    #[serde(default = "yes")]
    pub keep_alive: bool,
    /// Seconds without anything received before a ping.
    #[serde(default = "thirty")]
    pub keep_alive_interval: u64,
    /// Seconds to wait for the answer to a ping before closing.
    #[serde(default = "ten")]
    pub keep_alive_close_timeout: u64,
    /// Seconds to wait for the TCP/TLS connection and the handshake response.
    #[serde(default = "ten")]
    pub connect_response_timeout: u64,
    /// Largest frame accepted from the server, in bytes.
    #[serde(default = "frame_default")]
    pub max_recv_frame_size: u64,
    /// Largest message accepted from the server, in bytes.
    #[serde(default = "msg_default")]
    pub max_recv_message_size: u64,
    /// Largest frame sent; larger messages are fragmented.
    #[serde(default = "send_default")]
    pub max_send_frame_size: u64,
    /// Browse-path globs of the tags to stream (`Demo/*`, `*/Temp?`, `**` for all).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Milliseconds over which changes are collected into one message.
    #[serde(default = "publish_default")]
    pub publish_interval_ms: u64,
    /// JSON text or CBOR binary.
    #[serde(default)]
    pub encoding: WsEncoding,
    /// The `[[users]]` entry whose roles apply to commands from the server; empty: writes refused.
    #[serde(default)]
    pub user: String,
    /// Keep each message until the server acknowledges it (`{"op":"ack","seq":N}`).
    #[serde(default)]
    pub require_ack: bool,
    /// Bound of the store-and-forward buffer (memory and disk), in bytes.
    #[serde(default = "buffer_default")]
    pub buffer_max_bytes: u64,
    /// Part of the buffer kept in memory before it spills to `<data-dir>/websocket/<name>/`.
    #[serde(default = "memory_default")]
    pub buffer_memory_bytes: u64,
    /// When the buffer's disk part is forced out (`fsync`): absent = never by fxgate (a killed
    /// process loses nothing written, a power loss what the kernel had not written out), 0 =
    /// after every message, N = at most N ms after a message was written.
    #[serde(default)]
    pub buffer_fsync_ms: Option<u64>,
    /// First reconnect delay in ms (doubling up to `reconnect_max_ms`).
    #[serde(default = "reconnect_default")]
    pub reconnect_min_ms: u64,
    /// Largest reconnect delay in ms.
    #[serde(default = "reconnect_max_default")]
    pub reconnect_max_ms: u64,
    /// The share of each reconnect delay taken off at random (0 to 1).
    #[serde(default = "jitter_default")]
    pub reconnect_jitter: f64,
    /// TLS (`ST_IotSocketTls`).
    #[serde(default)]
    pub tls: Option<WsTlsConfig>,
    /// A JSON Web Token sent as `Authorization: Bearer` in the handshake.
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
}

fn yes() -> bool {
    true
}
fn thirty() -> u64 {
    30
}
fn ten() -> u64 {
    10
}
fn frame_default() -> u64 {
    0x10000
}
fn msg_default() -> u64 {
    0x100000
}
fn send_default() -> u64 {
    0x4000
}
fn publish_default() -> u64 {
    100
}
fn buffer_default() -> u64 {
    64 * 1024 * 1024
}
fn memory_default() -> u64 {
    4 * 1024 * 1024
}
fn reconnect_default() -> u64 {
    1000
}
fn reconnect_max_default() -> u64 {
    60_000
}
fn jitter_default() -> f64 {
    fxgate_core::BackoffSettings::DEFAULT_JITTER
}

/// TLS of a WebSocket client (`ST_IotSocketTls`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WsTlsConfig {
    /// CA certificate(s) (PEM) that sign the server's certificate.
    pub ca: String,
    /// Client certificate (PEM).
    pub cert: String,
    /// Client key (PEM).
    pub key_file: String,
    /// Password of an encrypted `key_file`.
    pub key_password: String,
    /// Certificate revocation list (PEM or DER).
    pub crl: String,
    /// OpenSSL cipher string (TLS ≤ 1.2).
    pub ciphers: String,
    /// `tls1.2` (default) or `tls1.3`.
    pub version: String,
    /// Do not verify the server's certificate (commissioning only; logged loudly).
    pub no_server_cert_check: bool,
    /// PSK identity.
    pub psk_identity: String,
    /// PSK in hex.
    pub psk_key: String,
}

/// How the JWT is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with `secret`.
    HS256,
    /// RSA-SHA256 with the PEM key in `key_file`.
    RS256,
}

/// A JSON Web Token (RFC 7519), made fresh at every connection.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Signing algorithm.
    pub algorithm: JwtAlgorithm,
    /// HS256 secret.
    #[serde(default)]
    pub secret: String,
    /// RS256 private key (PEM).
    #[serde(default)]
    pub key_file: String,
    /// `iss` claim.
    #[serde(default)]
    pub iss: String,
    /// `sub` claim.
    #[serde(default)]
    pub sub: String,
    /// Seconds until `exp`.
    #[serde(default = "hour")]
    pub exp_s: u64,
}

fn hour() -> u64 {
    3600
}

#[cfg(test)]
mod tests {
    /// The `tags` globs as the client matches them (`fxgate_forward::TagFilter`).
    fn glob_match(pattern: &str, path: &str) -> bool {
        fxgate_forward::TagFilter::new([pattern]).is_ok_and(|f| f.is_match(path))
    }

    #[test]
    fn globs() {
        assert!(glob_match("Demo/*", "Demo/Sine"));
        assert!(!glob_match("Demo/*", "Demo/a/b"));
        assert!(glob_match("**", "fxgate/Lines/plc/State"));
        assert!(glob_match("*/Temp?", "Boiler/Temp1"));
        assert!(!glob_match("*/Temp?", "Boiler/Temp"));
        assert!(glob_match("Demo/Sine", "Demo/Sine"));
        assert!(!glob_match("Demo/Sine", "Demo/Sine2"));
    }
}
