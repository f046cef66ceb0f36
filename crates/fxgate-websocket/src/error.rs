//! The client's failures, one enum per operation, each failure with the
//! `ETcIotWebSocketStatus` it reports (seed 001 §5.2.1) in the `State`/`StateCode` tags:
//! - [`TlsConfigError`]: `ST_IotSocketTls` (§5.1.1.8) turned into a TLS client, at start;
//! - [`TlsError`]: the TLS handshake of a connection attempt;
//! - [`HandshakeError`]: the opening handshake (RFC 6455 §4.1, §5.1.1.1 `CheckProtocol`);
//! - [`ConnectError`]: a whole connection attempt (DNS, TCP, TLS, JWT, handshake);
//! - [`ConnectionError`]: why an open connection ended;
//! - [`WsError`]: any of them, as the client reports it;
//! - [`StartError`]: why the client could not start (the gateway stops with it).
//!
//! The statuses are assigned in one place, the `From<&…> for WsState` impls below.
//! The `Display` text of each failure is what the `LastError` tag shows.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use openssl::error::ErrorStack;
use yawc::WebSocketError;

use crate::jwt::JwtError;
use crate::status::WsState;

/// `ST_IotSocketTls` (seed 001 §5.1.1.8) cannot be turned into a TLS client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// OpenSSL refused a setting that does not come from a file (`TLS_SETUP`).
    #[error("{0}")]
    Setup(#[source] ErrorStack),
    /// `version` is neither `tls1.2` nor `tls1.3` (`TLS_VERSION_INVALID`).
    #[error("unknown version `{0}`")]
    Version(String),
    /// OpenSSL accepts none of `ciphers` (`TLS_CIPHER_INVALID`).
    #[error("`{ciphers}`: {source}")]
    Ciphers {
        /// The cipher string.
        ciphers: String,
        /// Why.
        #[source]
        source: ErrorStack,
    },
    /// The `ca` file cannot be read (`TLS_CA_INVALID`).
    #[error("cannot read {}: {source}", path.display())]
    CaRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `ca` file holds no certificate, PEM or DER (`TLS_CA_INVALID`).
    #[error("{file} holds no certificate")]
    CaEmpty {
        /// The file as configured.
        file: String,
    },
    /// A CA certificate cannot be added to the trust store (`TLS_CA_INVALID`).
    #[error("{0}")]
    CaAdd(#[source] ErrorStack),
    /// The `crl` file cannot be read (`TLS_CRL_INVALID`).
    #[error("cannot read {}: {source}", path.display())]
    CrlRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `crl` file holds no CRL, PEM or DER (`TLS_CRL_INVALID`).
    #[error("{file}: {source}")]
    Crl {
        /// The file as configured.
        file: String,
        /// Why.
        #[source]
        source: ErrorStack,
    },
    /// The CRL cannot be added to the trust store (`TLS_CRL_INVALID`).
    #[error("the CRL could not be added")]
    CrlAdd,
    /// CRL checking cannot be turned on (`TLS_CRL_INVALID`).
    #[error("{0}")]
    CrlCheck(#[source] ErrorStack),
    /// The `cert` file is no certificate chain (`TLS_CERT_INVALID`).
    #[error("{}: {source}", path.display())]
    Cert {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ErrorStack,
    },
    /// The `key_file` cannot be read (`TLS_KEY_INVALID`).
    #[error("cannot read {}: {source}", path.display())]
    KeyRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `key_file` holds no private key, or `key_password` is wrong (`TLS_KEY_INVALID`).
    #[error("{file} (wrong key_password?): {source}")]
    Key {
        /// The file as configured.
        file: String,
        /// Why.
        #[source]
        source: ErrorStack,
    },
    /// OpenSSL refused the private key (`TLS_KEY_INVALID`).
    #[error("{0}")]
    KeyUse(#[source] ErrorStack),
    /// The private key is not the certificate's (`TLS_KEY_INVALID`).
    #[error("key does not match cert: {0}")]
    KeyMismatch(#[source] ErrorStack),
    /// `psk_key` is not hex (`TLS_PSK_INVALID`).
    #[error("{0}")]
    Psk(#[source] hex::FromHexError),
}

/// The TLS handshake of a connection attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The connection's TLS state cannot be set up (`TLS_SETUP`).
    #[error("{0}")]
    Setup(#[source] ErrorStack),
    /// The server's host is not an IP address after all (`TLS_SETUP`).
    #[error("bad IP")]
    BadIp,
    /// No handshake within `connect_response_timeout` (`CONNECT_RES_TIMEOUT`).
    #[error("no TLS handshake in time")]
    Timeout,
    /// The handshake failed, the server's certificate was not the reason
    /// (`TLS_HANDSHAKE_FAIL`).
    #[error("{0}")]
    Handshake(#[source] openssl::ssl::Error),
    /// The server's certificate has expired (`TLS_CERT_EXPIRED`).
    #[error("{reason} ({source})")]
    CertExpired {
        /// OpenSSL's verification result.
        reason: String,
        /// The handshake's error.
        #[source]
        source: openssl::ssl::Error,
    },
    /// The server's certificate is not for the host name or IP address of the URL
    /// (`TLS_CN_MISMATCH`).
    #[error("{reason} ({source})")]
    NameMismatch {
        /// OpenSSL's verification result.
        reason: String,
        /// The handshake's error.
        #[source]
        source: openssl::ssl::Error,
    },
    /// The server's certificate is not trusted (`TLS_VERIFY_FAIL`): unknown CA, revoked, ….
    #[error("{reason} ({source})")]
    Verify {
        /// OpenSSL's verification result.
        reason: String,
        /// The handshake's error.
        #[source]
        source: openssl::ssl::Error,
    },
}

/// The opening handshake (RFC 6455 §4.1) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// No random bytes for the key (`INTERNAL_ERROR`).
    #[error("{0}")]
    Nonce(#[source] ErrorStack),
    /// The request cannot be sent (`CONNECT_REQ_SEND_ERROR`).
    #[error("{0}")]
    Send(#[source] std::io::Error),
    /// The response header is over 16 KiB (`CONNECT_RES_PARSE_ERROR`).
    #[error("response header over 16 KiB")]
    HeaderTooLong,
    /// The server closed the connection before the end of the response header
    /// (`CONNECT_RES_INVALID`).
    #[error("connection closed during the handshake")]
    Closed,
    /// Reading the response failed (`SOCK_CONN_LOST`).
    #[error("{0}")]
    Read(#[source] std::io::Error),
    /// The response is not HTTP/1.x (`CONNECT_RES_PARSE_ERROR`).
    #[error("not an HTTP response: `{0}`")]
    NotHttp(String),
    /// The status is not 101 Switching Protocols (`CONNECT_RES_INVALID_STATUS`).
    #[error("server answered `{0}`")]
    Status(String),
    /// A header line without a colon (`CONNECT_RES_PARSE_ERROR`).
    #[error("bad header line `{0}`")]
    HeaderLine(String),
    /// `Upgrade: websocket` or `Connection: Upgrade` is missing (`CONNECT_RES_INVALID`).
    #[error("missing Upgrade: websocket / Connection: Upgrade")]
    NotUpgrade,
    /// No `Sec-WebSocket-Accept` (`CONNECT_RES_ACCEPT_INVALID`).
    #[error("no Sec-WebSocket-Accept")]
    NoAccept,
    /// `Sec-WebSocket-Accept` is not the hash of the key (`CONNECT_RES_ACCEPT_INVALID_HASH`).
    #[error("Sec-WebSocket-Accept does not match the key")]
    AcceptMismatch,
    /// The server chose extensions that were not offered (`CONNECT_RES_INVALID_EXTENSION`).
    #[error("server chose extensions `{0}` that were not offered")]
    Extensions(String),
    /// The server chose another subprotocol than the one offered, or one when none was
    /// (`CONNECT_RES_REJECT`, seed 001 §5.1.1.1 `CheckProtocol`).
    #[error("subprotocol `{chosen}` chosen by the server, `{offered}` offered")]
    Subprotocol {
        /// What the server chose (empty: none).
        chosen: String,
        /// What was offered (empty: none).
        offered: String,
    },
}

/// A connection attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The host name cannot be resolved (`SOCK_NOT_FOUND`).
    #[error("{host}: {source}")]
    Resolve {
        /// The URL's host.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host name resolved to no address (`SOCK_NOT_FOUND`).
    #[error("{host} resolved to no address")]
    NoAddress {
        /// The URL's host.
        host: String,
    },
    /// The server refused the TCP connection (`SOCK_CONN_REFUSED`).
    #[error("{addr}: {source}")]
    Refused {
        /// The address tried last.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server's host or network cannot be reached (`SOCK_CONN_HOSTUNREACH`).
    #[error("{addr}: {source}")]
    Unreachable {
        /// The address tried last.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection failed otherwise (`SOCK_CONN_FAILED`).
    #[error("{addr}: {source}")]
    Tcp {
        /// The address tried last.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No TCP connection within `connect_response_timeout` (`SOCK_CONN_TIMEOUT`).
    #[error("{addr}: no connection within {timeout:?}")]
    TcpTimeout {
        /// The address tried last.
        addr: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed (its own status).
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// No JWT could be made (`INTERNAL_ERROR`).
    #[error("jwt: {0}")]
    Token(#[source] JwtError),
    /// The opening handshake failed (its own status).
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// No handshake response within `connect_response_timeout` (`CONNECT_RES_TIMEOUT`).
    #[error("no handshake response within {0:?}")]
    HandshakeTimeout(Duration),
    /// The agreed extensions cannot be set up (`CONNECT_RES_INVALID_EXTENSION`).
    #[error("{0}")]
    Extensions(#[source] WebSocketError),
}

impl ConnectError {
    /// The TCP connection to `addr` failed with `source`.
    pub fn tcp(addr: SocketAddr, source: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match source.kind() {
            K::ConnectionRefused => Self::Refused { addr, source },
            K::HostUnreachable | K::NetworkUnreachable => Self::Unreachable { addr, source },
            _ => Self::Tcp { addr, source },
        }
    }
}

/// Why an open connection ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The server closed the connection with `code` (RFC 6455 §7.4) (`SOCK_CONN_LOST`).
    #[error("server closed the connection ({code} {reason})")]
    Closed {
        /// The close code (1005 when the close frame had none).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// A frame or message from the server over `max_recv_frame_size` /
    /// `max_recv_message_size`; the client closes with 1009 (`INVALID_MSG_SIZE`).
    #[error("{0}")]
    TooBig(#[source] WebSocketError),
    /// A compressed message cannot be inflated (`DECOMPRESS_ERROR`).
    #[error("{0}")]
    Decompress(#[source] WebSocketError),
    /// The connection broke (`SOCK_CONN_LOST`).
    #[error("{0}")]
    Lost(#[source] WebSocketError),
    /// The server broke the WebSocket protocol (`PROTOCOL_ERROR`).
    #[error("{0}")]
    Protocol(#[source] WebSocketError),
    /// No answer to a ping within `keep_alive_close_timeout` s (`KEEP_ALIVE_TIMEOUT`).
    #[error("no answer to a ping within {0} s")]
    KeepAliveTimeout(u64),
}

impl From<WebSocketError> for ConnectionError {
    fn from(e: WebSocketError) -> Self {
        match &e {
            WebSocketError::FrameTooLarge => Self::TooBig(e),
            WebSocketError::CompressionNotSupported => Self::Decompress(e),
            WebSocketError::IoError(io) if is_inflate_error(io) => Self::Decompress(e),
            WebSocketError::IoError(_) | WebSocketError::ConnectionClosed => Self::Lost(e),
            _ => Self::Protocol(e),
        }
    }
}

/// yawc reports a failed inflate (RFC 7692 §6.2) as an I/O error.
fn is_inflate_error(io: &std::io::Error) -> bool {
    let text = io.to_string().to_lowercase();
    text.contains("inflat") || text.contains("deflate")
}

impl ConnectionError {
    /// The close code (RFC 6455 §7.4.1) of the close that ended the connection, if any: the
    /// server's, or 1009 (message too big) when the client closed for [`Self::TooBig`].
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Closed { code, .. } => Some(*code),
            Self::TooBig(_) => Some(1009),
            _ => None,
        }
    }
}

/// A failure of the client, as it reports it in its state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The TLS settings cannot be used.
    #[error(transparent)]
    TlsConfig(#[from] TlsConfigError),
    /// A connection attempt failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// An open connection ended.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The task of a connection attempt died (`INTERNAL_ERROR`).
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The client could not start; the gateway stops with this.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `url` is no URL.
    #[error("url: {0}")]
    Url(#[from] url::ParseError),
    /// The TLS settings cannot be used (shown with their status, e.g. `TLS_CA_INVALID: …`).
    #[error("{status}: {0}", status = WsState::from(.0).name())]
    Tls(#[from] TlsConfigError),
    /// The JWT key or secret cannot be used.
    #[error("jwt: {0}")]
    Jwt(#[from] JwtError),
    /// A `tags` glob cannot be compiled.
    #[error("tags: {0}")]
    Tags(#[from] fxgate_forward::PatternError),
}

impl From<&TlsConfigError> for WsState {
    fn from(e: &TlsConfigError) -> Self {
        use TlsConfigError as E;
        match e {
            E::Setup(_) => Self::TLS_SETUP,
            E::Version(_) => Self::TLS_VERSION_INVALID,
            E::Ciphers { .. } => Self::TLS_CIPHER_INVALID,
            E::CaRead { .. } | E::CaEmpty { .. } | E::CaAdd(_) => Self::TLS_CA_INVALID,
            E::CrlRead { .. } | E::Crl { .. } | E::CrlAdd | E::CrlCheck(_) => Self::TLS_CRL_INVALID,
            E::Cert { .. } => Self::TLS_CERT_INVALID,
            E::KeyRead { .. } | E::Key { .. } | E::KeyUse(_) | E::KeyMismatch(_) => Self::TLS_KEY_INVALID,
            E::Psk(_) => Self::TLS_PSK_INVALID,
        }
    }
}

impl From<&TlsError> for WsState {
    fn from(e: &TlsError) -> Self {
        match e {
            TlsError::Setup(_) | TlsError::BadIp => Self::TLS_SETUP,
            TlsError::Timeout => Self::CONNECT_RES_TIMEOUT,
            TlsError::Handshake(_) => Self::TLS_HANDSHAKE_FAIL,
            TlsError::CertExpired { .. } => Self::TLS_CERT_EXPIRED,
            TlsError::NameMismatch { .. } => Self::TLS_CN_MISMATCH,
            TlsError::Verify { .. } => Self::TLS_VERIFY_FAIL,
        }
    }
}

impl From<&HandshakeError> for WsState {
    fn from(e: &HandshakeError) -> Self {
        use HandshakeError as E;
        match e {
            E::Nonce(_) => Self::INTERNAL_ERROR,
            E::Send(_) => Self::CONNECT_REQ_SEND_ERROR,
            E::HeaderTooLong | E::NotHttp(_) | E::HeaderLine(_) => Self::CONNECT_RES_PARSE_ERROR,
            E::Closed | E::NotUpgrade => Self::CONNECT_RES_INVALID,
            E::Read(_) => Self::SOCK_CONN_LOST,
            E::Status(_) => Self::CONNECT_RES_INVALID_STATUS,
            E::NoAccept => Self::CONNECT_RES_ACCEPT_INVALID,
            E::AcceptMismatch => Self::CONNECT_RES_ACCEPT_INVALID_HASH,
            E::Extensions(_) => Self::CONNECT_RES_INVALID_EXTENSION,
            E::Subprotocol { .. } => Self::CONNECT_RES_REJECT,
        }
    }
}

impl From<&ConnectError> for WsState {
    fn from(e: &ConnectError) -> Self {
        use ConnectError as E;
        match e {
            E::Resolve { .. } | E::NoAddress { .. } => Self::SOCK_NOT_FOUND,
            E::Refused { .. } => Self::SOCK_CONN_REFUSED,
            E::Unreachable { .. } => Self::SOCK_CONN_HOSTUNREACH,
            E::Tcp { .. } => Self::SOCK_CONN_FAILED,
            E::TcpTimeout { .. } => Self::SOCK_CONN_TIMEOUT,
            E::Tls(e) => e.into(),
            E::Token(_) => Self::INTERNAL_ERROR,
            E::Handshake(e) => e.into(),
            E::HandshakeTimeout(_) => Self::CONNECT_RES_TIMEOUT,
            E::Extensions(_) => Self::CONNECT_RES_INVALID_EXTENSION,
        }
    }
}

impl From<&ConnectionError> for WsState {
    fn from(e: &ConnectionError) -> Self {
        use ConnectionError as E;
        match e {
            E::Closed { .. } | E::Lost(_) => Self::SOCK_CONN_LOST,
            E::TooBig(_) => Self::INVALID_MSG_SIZE,
            E::Decompress(_) => Self::DECOMPRESS_ERROR,
            E::Protocol(_) => Self::PROTOCOL_ERROR,
            E::KeepAliveTimeout(_) => Self::KEEP_ALIVE_TIMEOUT,
        }
    }
}

impl From<&WsError> for WsState {
    fn from(e: &WsError) -> Self {
        match e {
            WsError::TlsConfig(e) => e.into(),
            WsError::Connect(e) => e.into(),
            WsError::Connection(e) => e.into(),
            WsError::Task(_) => Self::INTERNAL_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> ErrorStack {
        ErrorStack::get()
    }

    fn io() -> std::io::Error {
        std::io::Error::other("x")
    }

    fn ssl() -> openssl::ssl::Error {
        openssl::ssl::Error::from(stack())
    }

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 1))
    }

    fn join_error() -> tokio::task::JoinError {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let h = tokio::spawn(std::future::pending::<()>());
            h.abort();
            h.await.unwrap_err()
        })
    }

    /// Every failure and the number of its `ETcIotWebSocketStatus` (seed 001 §5.2.1).
    #[test]
    fn every_failure_reports_its_status() {
        let path = PathBuf::from("f.pem");
        let tls = |e: TlsConfigError| WsError::from(e);
        let connect = |e: ConnectError| WsError::from(e);
        let tls_hs = |e: TlsError| WsError::from(ConnectError::from(e));
        let hs = |e: HandshakeError| WsError::from(ConnectError::from(e));
        let ended = |e: ConnectionError| WsError::from(e);
        let ws_io = |m: &str| WebSocketError::IoError(std::io::Error::other(m.to_string()));
        let cases: Vec<(WsError, i32)> = vec![
            (tls(TlsConfigError::Setup(stack())), 24),
            (tls(TlsConfigError::Version("tls9".into())), 27),
            (tls(TlsConfigError::Ciphers { ciphers: "X".into(), source: stack() }), 26),
            (tls(TlsConfigError::CaRead { path: path.clone(), source: io() }), 20),
            (tls(TlsConfigError::CaEmpty { file: "f".into() }), 20),
            (tls(TlsConfigError::CaAdd(stack())), 20),
            (tls(TlsConfigError::CrlRead { path: path.clone(), source: io() }), 30),
            (tls(TlsConfigError::Crl { file: "f".into(), source: stack() }), 30),
            (tls(TlsConfigError::CrlAdd), 30),
            (tls(TlsConfigError::CrlCheck(stack())), 30),
            (tls(TlsConfigError::Cert { path: path.clone(), source: stack() }), 21),
            (tls(TlsConfigError::KeyRead { path: path.clone(), source: io() }), 22),
            (tls(TlsConfigError::Key { file: "f".into(), source: stack() }), 22),
            (tls(TlsConfigError::KeyUse(stack())), 22),
            (tls(TlsConfigError::KeyMismatch(stack())), 22),
            (tls(TlsConfigError::Psk(hex::FromHexError::OddLength)), 28),
            (connect(ConnectError::Resolve { host: "h".into(), source: io() }), 6),
            (connect(ConnectError::NoAddress { host: "h".into() }), 6),
            (connect(ConnectError::Refused { addr: addr(), source: io() }), 5),
            (connect(ConnectError::Unreachable { addr: addr(), source: io() }), 39),
            (connect(ConnectError::Tcp { addr: addr(), source: io() }), 37),
            (connect(ConnectError::TcpTimeout { addr: addr(), timeout: Duration::from_secs(1) }), 38),
            (tls_hs(TlsError::Setup(stack())), 24),
            (tls_hs(TlsError::BadIp), 24),
            (tls_hs(TlsError::Timeout), 1010),
            (tls_hs(TlsError::Handshake(ssl())), 25),
            (tls_hs(TlsError::CertExpired { reason: "r".into(), source: ssl() }), 40),
            (tls_hs(TlsError::NameMismatch { reason: "r".into(), source: ssl() }), 41),
            (tls_hs(TlsError::Verify { reason: "r".into(), source: ssl() }), 23),
            (connect(ConnectError::Token(JwtError::Sign(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into()))), 1000),
            (hs(HandshakeError::Nonce(stack())), 1000),
            (hs(HandshakeError::Send(io())), 1002),
            (hs(HandshakeError::HeaderTooLong), 1003),
            (hs(HandshakeError::Closed), 1004),
            (hs(HandshakeError::Read(io())), 7),
            (hs(HandshakeError::NotHttp("x".into())), 1003),
            (hs(HandshakeError::Status("HTTP/1.1 403".into())), 1005),
            (hs(HandshakeError::HeaderLine("x".into())), 1003),
            (hs(HandshakeError::NotUpgrade), 1004),
            (hs(HandshakeError::NoAccept), 1006),
            (hs(HandshakeError::AcceptMismatch), 1007),
            (hs(HandshakeError::Extensions("x".into())), 1008),
            (hs(HandshakeError::Subprotocol { chosen: "a".into(), offered: "b".into() }), 1009),
            (connect(ConnectError::HandshakeTimeout(Duration::from_secs(1))), 1010),
            (connect(ConnectError::Extensions(WebSocketError::InvalidFragment)), 1008),
            (ended(ConnectionError::Closed { code: 1001, reason: String::new() }), 7),
            (ended(ConnectionError::TooBig(WebSocketError::FrameTooLarge)), 1013),
            (ended(ConnectionError::Decompress(WebSocketError::CompressionNotSupported)), 1016),
            (ended(ConnectionError::Lost(WebSocketError::ConnectionClosed)), 7),
            (ended(ConnectionError::Protocol(WebSocketError::InvalidFragment)), 1014),
            (ended(ConnectionError::KeepAliveTimeout(10)), 1011),
            (WsError::Task(join_error()), 1000),
            // yawc's errors sorted as before the enums: by kind, and inflate failures by text.
            (ended(WebSocketError::FrameTooLarge.into()), 1013),
            (ended(WebSocketError::CompressionNotSupported.into()), 1016),
            (ended(ws_io("inflate: corrupt deflate stream").into()), 1016),
            (ended(ws_io("broken pipe").into()), 7),
            (ended(WebSocketError::ConnectionClosed.into()), 7),
            (ended(WebSocketError::InvalidUTF8.into()), 1014),
            // TCP failures by kind.
            (connect(ConnectError::tcp(addr(), std::io::ErrorKind::ConnectionRefused.into())), 5),
            (connect(ConnectError::tcp(addr(), std::io::ErrorKind::HostUnreachable.into())), 39),
            (connect(ConnectError::tcp(addr(), std::io::ErrorKind::NetworkUnreachable.into())), 39),
            (connect(ConnectError::tcp(addr(), std::io::ErrorKind::ConnectionReset.into())), 37),
        ];
        for (e, code) in &cases {
            assert_eq!(WsState::from(e).code(), *code, "{e:?}");
        }
    }

    #[test]
    fn close_codes_and_texts() {
        let closed = ConnectionError::Closed { code: 1001, reason: "bye".into() };
        assert_eq!((closed.close_code(), closed.to_string()), (Some(1001), "server closed the connection (1001 bye)".into()));
        assert_eq!(ConnectionError::TooBig(WebSocketError::FrameTooLarge).close_code(), Some(1009));
        assert_eq!(ConnectionError::KeepAliveTimeout(10).close_code(), None);
        assert_eq!(
            StartError::from(TlsConfigError::CaEmpty { file: "ca.pem".into() }).to_string(),
            "TLS_CA_INVALID: ca.pem holds no certificate"
        );
        assert_eq!(
            WsError::from(ConnectError::from(HandshakeError::Subprotocol { chosen: String::new(), offered: "p".into() })).to_string(),
            "subprotocol `` chosen by the server, `p` offered"
        );
    }
}
