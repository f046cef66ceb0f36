//! TLS of a WebSocket client (seed 001 §4.3.1 transport security, §5.1.1.8 `ST_IotSocketTls`)
//! with OpenSSL: CA, client certificate and (encrypted) key, CRL, cipher string, exact TLS
//! version, PSK (§4.3.1.3), or no server check.
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

use crate::error::{TlsConfigError, TlsError};

/// Builds the connector (seed 001 §5.1.1.8 `ST_IotSocketTls`).
pub fn connector(cfg: &WsTlsConfig, config_dir: &Path) -> Result<SslConnector, TlsConfigError> {
    let setup = TlsConfigError::Setup;
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(setup)?;
    let version = match cfg.version.as_str() {
        "" | "tls1.2" => SslVersion::TLS1_2,
        "tls1.3" => SslVersion::TLS1_3,
        other => return Err(TlsConfigError::Version(other.to_string())),
    };
    b.set_min_proto_version(Some(version)).map_err(setup)?;
    b.set_max_proto_version(Some(version)).map_err(setup)?;
    if !cfg.ciphers.is_empty() {
        b.set_cipher_list(&cfg.ciphers)
            .map_err(|source| TlsConfigError::Ciphers { ciphers: cfg.ciphers.clone(), source })?;
    }
    if !cfg.ca.is_empty() || !cfg.crl.is_empty() {
        let mut store = X509StoreBuilder::new().map_err(setup)?;
        if !cfg.ca.is_empty() {
            let path = fxgate_config::expand_appdir(&cfg.ca, config_dir);
            let pem = std::fs::read(&path).map_err(|source| TlsConfigError::CaRead { path, source })?;
            let certs = X509::stack_from_pem(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .or_else(|| X509::from_der(&pem).ok().map(|c| vec![c]))
                .ok_or_else(|| TlsConfigError::CaEmpty { file: cfg.ca.clone() })?;
            for c in certs {
                store.add_cert(c).map_err(TlsConfigError::CaAdd)?;
            }
        } else {
            store.set_default_paths().map_err(setup)?;
        }
        if !cfg.crl.is_empty() {
            let path = fxgate_config::expand_appdir(&cfg.crl, config_dir);
            let raw = std::fs::read(&path).map_err(|source| TlsConfigError::CrlRead { path, source })?;
            let crl = X509Crl::from_pem(&raw)
                .or_else(|_| X509Crl::from_der(&raw))
                .map_err(|source| TlsConfigError::Crl { file: cfg.crl.clone(), source })?;
            add_crl(&mut store, crl)?;
            store.set_flags(X509VerifyFlags::CRL_CHECK).map_err(TlsConfigError::CrlCheck)?;
        }
        b.set_verify_cert_store(store.build()).map_err(setup)?;
    }
    if !cfg.cert.is_empty() {
        let path = fxgate_config::expand_appdir(&cfg.cert, config_dir);
        if let Err(source) = b.set_certificate_chain_file(&path) {
            return Err(TlsConfigError::Cert { path, source });
        }
        let path = fxgate_config::expand_appdir(&cfg.key_file, config_dir);
        let pem = std::fs::read(&path).map_err(|source| TlsConfigError::KeyRead { path, source })?;
        let key = if cfg.key_password.is_empty() {
            PKey::private_key_from_pem(&pem)
        } else {
            PKey::private_key_from_pem_passphrase(&pem, cfg.key_password.as_bytes())
        }
        .map_err(|source| TlsConfigError::Key { file: cfg.key_file.clone(), source })?;
        b.set_private_key(&key).map_err(TlsConfigError::KeyUse)?;
        b.check_private_key().map_err(TlsConfigError::KeyMismatch)?;
    }
    if !cfg.psk_key.is_empty() {
        let key = hex::decode(&cfg.psk_key).map_err(TlsConfigError::Psk)?;
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

fn add_crl(store: &mut X509StoreBuilder, crl: X509Crl) -> Result<(), TlsConfigError> {
    // X509StoreBuilder has no add_crl in the safe API; go through the raw store.
    // SAFETY: X509_STORE_add_crl takes its own reference to the CRL; `crl` stays owned by us
    // and is freed when dropped, and the store pointer is valid for the builder's lifetime.
    use foreign_types::ForeignType;
    let ok = unsafe { X509_STORE_add_crl(store.as_ptr(), crl.as_ptr()) };
    if ok == 1 {
        Ok(())
    } else {
        Err(TlsConfigError::CrlAdd)
    }
}

/// The client handshake; `host` is the URL's host (SNI and name check when it is a name).
pub async fn connect(
    connector: &SslConnector,
    tcp: TcpStream,
    host: &str,
    verify: bool,
    timeout: Duration,
) -> Result<SslStream<TcpStream>, TlsError> {
    let is_name = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_err();
    let mut conf = connector.configure().map_err(TlsError::Setup)?;
    conf.set_use_server_name_indication(is_name);
    conf.set_verify_hostname(is_name && verify);
    let ssl = if is_name {
        conf.into_ssl(host)
    } else {
        // An IP address: check it against the certificate's IP SANs.
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        let mut ssl = conf.into_ssl("").map_err(TlsError::Setup)?;
        if verify {
            ssl.param_mut().set_ip(ip.parse().map_err(|_| TlsError::BadIp)?).map_err(TlsError::Setup)?;
        }
        Ok(ssl)
    }
    .map_err(TlsError::Setup)?;
    let mut stream = SslStream::new(ssl, tcp).map_err(TlsError::Setup)?;
    let r = tokio::time::timeout(timeout, std::pin::Pin::new(&mut stream).connect()).await;
    match r {
        Err(_) => Err(TlsError::Timeout),
        Ok(Ok(())) => Ok(stream),
        Ok(Err(e)) => Err(classify(stream.ssl().verify_result(), e)),
    }
}

/// Why a handshake failed: the server's certificate (OpenSSL's verification result), or not.
fn classify(v: X509VerifyResult, source: openssl::ssl::Error) -> TlsError {
    if v == X509VerifyResult::OK {
        return TlsError::Handshake(source);
    }
    let reason = v.error_string().to_string();
    match v.as_raw() {
        10 => TlsError::CertExpired { reason, source },       // X509_V_ERR_CERT_HAS_EXPIRED
        62 | 64 => TlsError::NameMismatch { reason, source }, // HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
        _ => TlsError::Verify { reason, source },
    }
}
