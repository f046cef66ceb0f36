//! TLS for lines, with OpenSSL (rustls has no pre-shared keys).
//!
//! Seed 002: TLS is on when partner certificates and/or our certificate and key are
//! configured, or else when a pre-shared key is; certificate-based TLS takes precedence.
//! Partner certificates are the CAs (or peer certificates) the other side's certificate
//! must chain to; the host name is not matched against the certificate (field devices
//! are mostly reached by IP address and their certificates rarely name it). The name of
//! the host is sent as SNI when the line was configured with a name, never for an IP
//! address.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fxgate_config::TlsConfig;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{Ssl, SslConnector, SslContext, SslContextBuilder, SslMethod, SslVerifyMode, SslVersion};
use openssl::error::ErrorStack;
use openssl::x509::{X509VerifyResult, X509};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::error::LineError;
use crate::stream::LineStream;

/// A prepared TLS configuration of one line.
#[derive(Clone)]
pub struct LineTls {
    client: Option<SslConnector>,
    server: Option<Arc<SslContext>>,
    /// Whether peer verification was switched off (logged at every connection).
    pub unverified: bool,
    /// `certificates` or `psk`, for logs.
    pub kind: &'static str,
}

impl std::fmt::Debug for LineTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LineTls({})", self.kind)
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> LineError {
    LineError::TlsConfig(format!("{what}: {e}"))
}

fn read(path: &Path) -> Result<Vec<u8>, LineError> {
    std::fs::read(path).map_err(|e| err(&format!("cannot read {}", path.display()), e))
}

fn load_key(cfg: &TlsConfig, config_dir: &Path) -> Result<PKey<Private>, LineError> {
    let path = fxgate_config::expand_appdir(&cfg.my_key, config_dir);
    let pem = read(&path)?;
    let key = if cfg.my_key_password.is_empty() {
        PKey::private_key_from_pem(&pem)
    } else {
        PKey::private_key_from_pem_passphrase(&pem, cfg.my_key_password.as_bytes())
    };
    key.map_err(|e| err(&format!("cannot load the key {} (wrong my_key_password?)", path.display()), e))
}

fn load_certificates(builder: &mut SslContextBuilder, cfg: &TlsConfig, config_dir: &Path, server: bool) -> Result<(), LineError> {
    let partners = cfg.partner_certificate_paths(config_dir);
    for p in &partners {
        let pem = read(p)?;
        let certs = X509::stack_from_pem(&pem)
            .or_else(|_| X509::from_der(&pem).map(|c| vec![c]))
            .map_err(|e| err(&format!("{} holds no certificate", p.display()), e))?;
        if certs.is_empty() {
            return Err(err(&p.display().to_string(), "holds no certificate"));
        }
        for c in certs {
            builder
                .cert_store_mut()
                .add_cert(c)
                .map_err(|e| err(&format!("cannot trust {}", p.display()), e))?;
        }
    }
    if !cfg.my_certificate.is_empty() {
        let path = fxgate_config::expand_appdir(&cfg.my_certificate, config_dir);
        builder
            .set_certificate_chain_file(&path)
            .map_err(|e| err(&format!("cannot load the certificate {}", path.display()), e))?;
        let key = load_key(cfg, config_dir)?;
        builder.set_private_key(&key).map_err(|e| err("cannot use my_key", e))?;
        builder
            .check_private_key()
            .map_err(|e| err("my_key does not belong to my_certificate", e))?;
    }
    let mode = if cfg.disable_peer_verification {
        SslVerifyMode::NONE
    } else if server {
        // A server verifies clients only when partner certificates say whom to trust.
        if partners.is_empty() {
            SslVerifyMode::NONE
        } else {
            SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT
        }
    } else {
        SslVerifyMode::PEER
    };
    builder.set_verify(mode);
    Ok(())
}

fn psk_key(cfg: &TlsConfig) -> Result<Vec<u8>, LineError> {
    hex::decode(&cfg.pre_shared_key).map_err(|e| err("pre_shared_key is not hex", e))
}

fn common(builder: &mut SslContextBuilder, cfg: &TlsConfig) -> Result<(), LineError> {
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| err("min version", e))?;
    if !cfg.ciphers.is_empty() {
        builder
            .set_cipher_list(&cfg.ciphers)
            .map_err(|e| err(&format!("cipher list `{}`", cfg.ciphers), e))?;
    }
    Ok(())
}

impl LineTls {
    /// Prepares the TLS side of a line; `None` when the line has no TLS. `config_dir` is the
    /// config file's directory (`#APPDIR#`).
    pub fn new(cfg: Option<&TlsConfig>, config_dir: &Path, server: bool) -> Result<Option<Self>, LineError> {
        let Some(cfg) = cfg.filter(|c| c.enabled()) else {
            return Ok(None);
        };
        let method = if server { SslMethod::tls_server() } else { SslMethod::tls_client() };
        let kind = if cfg.uses_certificates() { "certificates" } else { "psk" };
        let unverified = cfg.disable_peer_verification;
        if server {
            let mut b = SslContext::builder(method).map_err(|e| err("OpenSSL", e))?;
            common(&mut b, cfg)?;
            if cfg.uses_certificates() {
                load_certificates(&mut b, cfg, config_dir, true)?;
            } else {
                let key = psk_key(cfg)?;
                let identity = cfg.psk_identity.clone();
                if cfg.ciphers.is_empty() {
                    b.set_cipher_list("PSK:DHEPSK:ECDHEPSK:!NULL").map_err(|e| err("PSK ciphers", e))?;
                }
                b.set_psk_server_callback(move |_ssl, client_identity, out| {
                    if !identity.is_empty() && client_identity != Some(identity.as_bytes()) {
                        return Ok(0);
                    }
                    let n = key.len().min(out.len());
                    out[..n].copy_from_slice(&key[..n]);
                    Ok(n)
                });
            }
            return Ok(Some(Self {
                client: None,
                server: Some(Arc::new(b.build())),
                unverified,
                kind,
            }));
        }
        let mut b = SslConnector::builder(method).map_err(|e| err("OpenSSL", e))?;
        common(&mut b, cfg)?;
        if cfg.uses_certificates() {
            load_certificates(&mut b, cfg, config_dir, false)?;
        } else {
            let key = psk_key(cfg)?;
            let identity = cfg.psk_identity.clone().into_bytes();
            if cfg.ciphers.is_empty() {
                b.set_cipher_list("PSK:DHEPSK:ECDHEPSK:!NULL").map_err(|e| err("PSK ciphers", e))?;
            }
            b.set_verify(SslVerifyMode::NONE);
            set_psk_client(&mut b, identity, key);
        }
        Ok(Some(Self {
            client: Some(b.build()),
            server: None,
            unverified,
            kind,
        }))
    }

    /// Runs the client handshake over `tcp`. `sni` is the host name to send, if any.
    pub async fn connect(&self, tcp: TcpStream, sni: Option<&str>, peer: &str, timeout: Duration) -> Result<LineStream, LineError> {
        let hs = |reason: String| LineError::Handshake { peer: peer.to_string(), reason };
        let connector = self.client.as_ref().ok_or_else(|| hs("not a client TLS configuration".into()))?;
        let mut conf = connector.configure().map_err(|e| hs(e.to_string()))?;
        conf.set_verify_hostname(false);
        conf.set_use_server_name_indication(sni.is_some());
        let ssl = conf.into_ssl(sni.unwrap_or("")).map_err(|e| hs(e.to_string()))?;
        handshake(ssl, tcp, false, timeout).await.map_err(|e| hs(e.to_string()))
    }

    /// Runs the server handshake over an accepted `tcp`.
    pub async fn accept(&self, tcp: TcpStream, peer: &str, timeout: Duration) -> Result<LineStream, LineError> {
        let hs = |reason: String| LineError::Handshake { peer: peer.to_string(), reason };
        let ctx = self.server.as_ref().ok_or_else(|| hs("not a server TLS configuration".into()))?;
        let ssl = Ssl::new(ctx).map_err(|e| hs(e.to_string()))?;
        handshake(ssl, tcp, true, timeout).await.map_err(|e| hs(e.to_string()))
    }
}

/// Makes a client context answer a PSK server with `identity` (sent NUL-terminated) and `key`.
pub fn set_psk_client(b: &mut SslContextBuilder, identity: Vec<u8>, key: Vec<u8>) {
    b.set_psk_client_callback(move |_ssl, _hint, id_out, key_out| {
        if identity.len() + 1 > id_out.len() || key.len() > key_out.len() {
            return Ok(0);
        }
        id_out[..identity.len()].copy_from_slice(&identity);
        id_out[identity.len()] = 0;
        key_out[..key.len()].copy_from_slice(&key);
        Ok(key.len())
    });
}

/// Why a TLS handshake over an open TCP connection failed; the reason of
/// [`LineError::Handshake`].
#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    /// The TLS stream could not be set up over the connection.
    #[error(transparent)]
    Setup(ErrorStack),
    /// The peer did not complete the handshake in time.
    #[error("no handshake within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The handshake failed (e.g. wrong pre-shared key, no common protocol version).
    #[error(transparent)]
    Failed(openssl::ssl::Error),
    /// The handshake failed because certificate verification (RFC 5280 path validation)
    /// did not succeed.
    #[error("{error} (certificate: {})", .verify.error_string())]
    Certificate {
        /// OpenSSL's error.
        error: openssl::ssl::Error,
        /// The verification result.
        verify: X509VerifyResult,
    },
}

async fn handshake(ssl: Ssl, tcp: TcpStream, server: bool, timeout: Duration) -> Result<LineStream, HandshakeError> {
    let mut stream = SslStream::new(ssl, tcp).map_err(HandshakeError::Setup)?;
    let fut = async {
        let mut pinned = std::pin::Pin::new(&mut stream);
        if server {
            pinned.as_mut().accept().await
        } else {
            pinned.as_mut().connect().await
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(HandshakeError::Timeout(timeout)),
        Ok(Err(error)) => {
            let verify = stream.ssl().verify_result();
            if verify != X509VerifyResult::OK {
                Err(HandshakeError::Certificate { error, verify })
            } else {
                Err(HandshakeError::Failed(error))
            }
        }
        Ok(Ok(())) => Ok(LineStream::Tls(Box::new(stream))),
    }
}
