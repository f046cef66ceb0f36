//! TLS of a WebSocket client (`ST_IotSocketTls`) with OpenSSL: CA, client certificate and
//! (encrypted) key, CRL, cipher string, exact TLS version, PSK, or no server check.
//! The server's host name is verified against its certificate and sent as SNI when the
//! URL names a host (not for an IP address).

use std::path::Path;
use std::time::Duration;

use crate::config::WsTlsConfig;
use openssl::pkey::PKey;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509Crl, X509VerifyResult, X509};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::status::WsStatus;

/// A failure with its `ETcIotWebSocketStatus`.
#[derive(Debug, Clone)]
pub struct WsError {
    /// The status.
    pub status: WsStatus,
    /// What happened.
    pub message: String,
}

impl WsError {
    /// A failure.
    pub fn new(status: WsStatus, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

impl std::fmt::Display for WsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

fn read(path: &Path, status: WsStatus) -> Result<Vec<u8>, WsError> {
    std::fs::read(path).map_err(|e| WsError::new(status, format!("cannot read {}: {e}", path.display())))
}

/// Builds the connector; errors carry the TLS_* status of the seed.
pub fn connector(cfg: &WsTlsConfig, app_dir: &Path) -> Result<SslConnector, WsError> {
    let setup = |e: openssl::error::ErrorStack| WsError::new(WsStatus::TLS_SETUP, e.to_string());
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(setup)?;
    let version = match cfg.version.as_str() {
        "" | "tls1.2" => SslVersion::TLS1_2,
        "tls1.3" => SslVersion::TLS1_3,
        other => return Err(WsError::new(WsStatus::TLS_VERSION_INVALID, format!("unknown version `{other}`"))),
    };
    b.set_min_proto_version(Some(version)).map_err(setup)?;
    b.set_max_proto_version(Some(version)).map_err(setup)?;
    if !cfg.ciphers.is_empty() {
        b.set_cipher_list(&cfg.ciphers)
            .map_err(|e| WsError::new(WsStatus::TLS_CIPHER_INVALID, format!("`{}`: {e}", cfg.ciphers)))?;
    }
    if !cfg.ca.is_empty() || !cfg.crl.is_empty() {
        let mut store = X509StoreBuilder::new().map_err(setup)?;
        if !cfg.ca.is_empty() {
            let pem = read(&fxgate_config::expand_appdir(&cfg.ca, app_dir), WsStatus::TLS_CA_INVALID)?;
            let certs = X509::stack_from_pem(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .or_else(|| X509::from_der(&pem).ok().map(|c| vec![c]))
                .ok_or_else(|| WsError::new(WsStatus::TLS_CA_INVALID, format!("{} holds no certificate", cfg.ca)))?;
            for c in certs {
                store.add_cert(c).map_err(|e| WsError::new(WsStatus::TLS_CA_INVALID, e.to_string()))?;
            }
        } else {
            store.set_default_paths().map_err(setup)?;
        }
        if !cfg.crl.is_empty() {
            let raw = read(&fxgate_config::expand_appdir(&cfg.crl, app_dir), WsStatus::TLS_CRL_INVALID)?;
            let crl = X509Crl::from_pem(&raw)
                .or_else(|_| X509Crl::from_der(&raw))
                .map_err(|e| WsError::new(WsStatus::TLS_CRL_INVALID, format!("{}: {e}", cfg.crl)))?;
            add_crl(&mut store, crl)?;
            store
                .set_flags(X509VerifyFlags::CRL_CHECK)
                .map_err(|e| WsError::new(WsStatus::TLS_CRL_INVALID, e.to_string()))?;
        }
        b.set_verify_cert_store(store.build()).map_err(setup)?;
    }
    if !cfg.cert.is_empty() {
        let path = fxgate_config::expand_appdir(&cfg.cert, app_dir);
        b.set_certificate_chain_file(&path)
            .map_err(|e| WsError::new(WsStatus::TLS_CERT_INVALID, format!("{}: {e}", path.display())))?;
        let pem = read(&fxgate_config::expand_appdir(&cfg.key_file, app_dir), WsStatus::TLS_KEY_INVALID)?;
        let key = if cfg.key_password.is_empty() {
            PKey::private_key_from_pem(&pem)
        } else {
            PKey::private_key_from_pem_passphrase(&pem, cfg.key_password.as_bytes())
        }
        .map_err(|e| WsError::new(WsStatus::TLS_KEY_INVALID, format!("{} (wrong key_password?): {e}", cfg.key_file)))?;
        b.set_private_key(&key).map_err(|e| WsError::new(WsStatus::TLS_KEY_INVALID, e.to_string()))?;
        b.check_private_key()
            .map_err(|e| WsError::new(WsStatus::TLS_KEY_INVALID, format!("key does not match cert: {e}")))?;
    }
    if !cfg.psk_key.is_empty() {
        let key = hex::decode(&cfg.psk_key).map_err(|e| WsError::new(WsStatus::TLS_PSK_INVALID, e.to_string()))?;
        let identity = cfg.psk_identity.clone().into_bytes();
        if cfg.ciphers.is_empty() && version == SslVersion::TLS1_2 {
            b.set_cipher_list("PSK:DHEPSK:ECDHEPSK:!NULL").map_err(setup)?;
        }
        fxgate_lines::tls::set_psk_client(&mut b, identity, key);
    }
    let psk_only = !cfg.psk_key.is_empty() && cfg.ca.is_empty();
    if cfg.no_server_cert_check || psk_only {
        b.set_verify(SslVerifyMode::NONE);
    }
    Ok(b.build())
}

extern "C" {
    // In libcrypto (linked through openssl-sys), but not bound by it.
    fn X509_STORE_add_crl(store: *mut openssl_sys::X509_STORE, crl: *mut openssl_sys::X509_CRL) -> std::os::raw::c_int;
}

fn add_crl(store: &mut X509StoreBuilder, crl: X509Crl) -> Result<(), WsError> {
    // X509StoreBuilder has no add_crl in the safe API; go through the raw store.
    // SAFETY: X509_STORE_add_crl takes its own reference to the CRL; `crl` stays owned by us
    // and is freed when dropped, and the store pointer is valid for the builder's lifetime.
    use foreign_types::ForeignType;
    let ok = unsafe { X509_STORE_add_crl(store.as_ptr(), crl.as_ptr()) };
    if ok == 1 {
        Ok(())
    } else {
        Err(WsError::new(WsStatus::TLS_CRL_INVALID, "the CRL could not be added"))
    }
}

/// The client handshake; `host` is the URL's host (SNI and name check when it is a name).
pub async fn connect(
    connector: &SslConnector,
    tcp: TcpStream,
    host: &str,
    verify: bool,
    timeout: Duration,
) -> Result<SslStream<TcpStream>, WsError> {
    let is_name = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_err();
    let mut conf = connector.configure().map_err(|e| WsError::new(WsStatus::TLS_SETUP, e.to_string()))?;
    conf.set_use_server_name_indication(is_name);
    conf.set_verify_hostname(is_name && verify);
    let ssl = if is_name {
        conf.into_ssl(host)
    } else {
        // An IP address: check it against the certificate's IP SANs.
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        let mut ssl = conf.into_ssl("").map_err(|e| WsError::new(WsStatus::TLS_SETUP, e.to_string()))?;
        if verify {
            ssl.param_mut()
                .set_ip(ip.parse().map_err(|_| WsError::new(WsStatus::TLS_SETUP, "bad IP"))?)
                .map_err(|e| WsError::new(WsStatus::TLS_SETUP, e.to_string()))?;
        }
        Ok(ssl)
    }
    .map_err(|e| WsError::new(WsStatus::TLS_SETUP, e.to_string()))?;
    let mut stream = SslStream::new(ssl, tcp).map_err(|e| WsError::new(WsStatus::TLS_SETUP, e.to_string()))?;
    let r = tokio::time::timeout(timeout, std::pin::Pin::new(&mut stream).connect()).await;
    match r {
        Err(_) => Err(WsError::new(WsStatus::CONNECT_RES_TIMEOUT, "no TLS handshake in time")),
        Ok(Ok(())) => Ok(stream),
        Ok(Err(e)) => {
            let v = stream.ssl().verify_result();
            Err(classify(v, &e.to_string()))
        }
    }
}

/// The status of a failed handshake.
fn classify(v: X509VerifyResult, err: &str) -> WsError {
    if v == X509VerifyResult::OK {
        return WsError::new(WsStatus::TLS_HANDSHAKE_FAIL, err);
    }
    let text = v.error_string();
    let status = match v.as_raw() {
        10 => WsStatus::TLS_CERT_EXPIRED,      // X509_V_ERR_CERT_HAS_EXPIRED
        62 | 64 => WsStatus::TLS_CN_MISMATCH, // HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
        _ => WsStatus::TLS_VERIFY_FAIL,
    };
    WsError::new(status, format!("{text} ({err})"))
}
