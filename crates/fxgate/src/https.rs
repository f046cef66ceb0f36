//! HTTPS for the HTTP listener (`[http] tls = true`): an OpenSSL acceptor (TLS 1.2 and 1.3,
//! Mozilla's intermediate cipher list) with the configured certificate, else the OPC UA
//! server's application certificate, and the accept loop that serves the router over it
//! (hyper's HTTP/1 with upgrades, so the DA API's WebSocket works too). `axum::serve` takes
//! plain TCP only, hence this loop.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use fxgate_config::{HttpConfig, ServerConfig};
use fxgate_core::LogLimit;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod};
use openssl::x509::X509;
use tokio::net::TcpListener;
use tokio_openssl::SslStream;
use tokio_util::sync::CancellationToken;

/// How long a client may take for its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTPS certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    /// A file cannot be read.
    #[error("cannot read {path} (http.tls): {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate is neither PEM nor DER X.509.
    #[error("{path} is not an X.509 certificate (PEM or DER) (http.certificate): {source}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// OpenSSL's reason.
        source: ErrorStack,
    },
    /// The key is not a PEM private key (an encrypted one is not supported here).
    #[error("{path} is not an unencrypted PEM private key (http.private_key): {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// OpenSSL's reason.
        source: ErrorStack,
    },
    /// The key does not belong to the certificate, or OpenSSL refused the setup.
    #[error("HTTPS setup with {path}: {source}")]
    Acceptor {
        /// The certificate.
        path: PathBuf,
        /// OpenSSL's reason.
        source: ErrorStack,
    },
}

/// The certificate and key HTTPS uses: `[http]`'s, else `[server]`'s, else the application
/// certificate made in the data directory.
pub fn certificate_files(http: &HttpConfig, server: &ServerConfig, config_dir: &Path, data_dir: &Path) -> (PathBuf, PathBuf) {
    if !http.certificate.is_empty() {
        (config_dir.join(&http.certificate), config_dir.join(&http.private_key))
    } else if !server.certificate.is_empty() {
        (config_dir.join(&server.certificate), config_dir.join(&server.private_key))
    } else {
        let pki = data_dir.join(fxgate_pki::SERVER_PKI);
        (fxgate_pki::own_cert_path(&pki), fxgate_pki::own_key_path(&pki))
    }
}

/// An acceptor for `cert` (PEM or DER) and `key` (PEM).
pub fn acceptor(cert: &Path, key: &Path) -> Result<SslAcceptor, HttpsError> {
    let read = |p: &Path| std::fs::read(p).map_err(|source| HttpsError::Read { path: p.to_path_buf(), source });
    let cert_bytes = read(cert)?;
    let x509 = if cert_bytes.starts_with(b"-----") { X509::from_pem(&cert_bytes) } else { X509::from_der(&cert_bytes) }
        .map_err(|source| HttpsError::Certificate { path: cert.to_path_buf(), source })?;
    let key_bytes = read(key)?;
    let pkey = PKey::private_key_from_pem(&key_bytes)
        .or_else(|e| unwrapped_pem_der(&key_bytes).map_or(Err(e), |der| PKey::private_key_from_der(&der)))
        .map_err(|source| HttpsError::Key { path: key.to_path_buf(), source })?;
    let setup = |source| HttpsError::Acceptor { path: cert.to_path_buf(), source };
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(setup)?;
    b.set_certificate(&x509).map_err(setup)?;
    b.set_private_key(&pkey).map_err(setup)?;
    b.check_private_key().map_err(setup)?;
    Ok(b.build())
}

/// The DER inside a PEM block whose base64 is not broken into lines (the application key
/// as async-opcua writes it: `-----BEGIN PRIVATE KEY-----MIIE…-----END PRIVATE KEY-----`),
/// which OpenSSL's PEM reader refuses.
fn unwrapped_pem_der(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let body = text.split_once("-----BEGIN ")?.1.split_once("-----")?.1;
    let b64: String = body.split_once("-----END ")?.0.chars().filter(|c| !c.is_whitespace()).collect();
    openssl::base64::decode_block(&b64).ok()
}

/// Accepts TLS connections on `listener` and serves `app` on each until `shutdown`.
pub async fn serve(listener: TcpListener, acceptor: Arc<SslAcceptor>, app: Router, shutdown: CancellationToken) {
    let mut accept_log = LogLimit::default();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: say so, and do not spin.
                    if let Some(held) = accept_log.allow() {
                        tracing::warn!(error = %e, lines_held_back = held, "HTTPS listener: accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (acceptor, app, stop) = (acceptor.clone(), app.clone(), shutdown.clone());
        tokio::spawn(async move {
            let stream = match handshake(&acceptor, tcp).await {
                Ok(s) => s,
                Err(reason) => {
                    tracing::debug!(%peer, %reason, "HTTPS handshake failed");
                    return;
                }
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "HTTPS connection ended with an error");
                },
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                }
            }
        });
    }
}

/// Why a client's TLS handshake did not complete.
#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    /// OpenSSL could not set the connection up.
    #[error("{0}")]
    Setup(#[from] ErrorStack),
    /// The handshake failed (no common protocol or cipher, a plain-HTTP client, …).
    #[error("{0}")]
    Tls(#[from] openssl::ssl::Error),
    /// The client said nothing for too long.
    #[error("no handshake within {0:?}")]
    Timeout(Duration),
}

async fn handshake(acceptor: &SslAcceptor, tcp: tokio::net::TcpStream) -> Result<SslStream<tokio::net::TcpStream>, HandshakeError> {
    let mut stream = SslStream::new(Ssl::new(acceptor.context())?, tcp)?;
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, Pin::new(&mut stream).accept()).await {
        Ok(Ok(())) => Ok(stream),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(HandshakeError::Timeout(HANDSHAKE_TIMEOUT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_on_one_line_is_read() {
        let key = openssl::rsa::Rsa::generate(2048).and_then(PKey::from_rsa).expect("a key");
        let pem = String::from_utf8(key.private_key_to_pem_pkcs8().expect("PEM")).expect("ASCII");
        let one_line: String = pem.lines().collect();
        assert!(PKey::private_key_from_pem(one_line.as_bytes()).is_err(), "OpenSSL refuses it as it is");
        let der = unwrapped_pem_der(one_line.as_bytes()).expect("the DER inside");
        let again = PKey::private_key_from_der(&der).expect("a key");
        assert!(again.public_eq(&key));
        assert_eq!(unwrapped_pem_der(b"not a pem"), None);
    }
}
