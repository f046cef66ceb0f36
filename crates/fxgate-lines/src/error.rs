//! Errors of the line layer.

/// Why a line could not be set up or a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// A host name did not resolve.
    #[error("cannot resolve `{host}`: {source}")]
    Resolve {
        /// The name.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// TCP connect failed or timed out.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The address tried.
        addr: String,
        /// What happened.
        reason: String,
    },
    /// The TLS handshake failed (e.g. untrusted certificate, wrong pre-shared key).
    #[error("TLS handshake with {peer} failed: {reason}")]
    Handshake {
        /// The peer.
        peer: String,
        /// OpenSSL's reason.
        reason: String,
    },
    /// The TLS configuration could not be loaded.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
}
