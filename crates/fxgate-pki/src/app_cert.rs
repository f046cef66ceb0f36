//! The application instance certificate (`own/cert.der` + `private/private.pem`).

use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use opcua::crypto::{CertificateStore, KeySize, PrivateKey, X509Data, X509};
use tracing::{info, warn};

use crate::certfile::{not_after_string, parse_cert, seconds_until_expiry};
use crate::hostnames::canonical_host;
use crate::layout::{ensure_pki_dirs, own_cert_path, own_key_path, set_mode};
use crate::user_certs::thumbprint_hex;
use crate::PkiError;

/// RSA key size of a created application certificate.
const KEY_BITS: u32 = 2048;
/// Validity of a created application certificate (10 years).
const VALIDITY_DAYS: u32 = 3650;
/// Warn when the application certificate expires sooner than this.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// The application instance certificate of a PKI directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCertificate {
    /// `<pki>/own/cert.der`.
    pub cert_path: PathBuf,
    /// `<pki>/private/private.pem`.
    pub key_path: PathBuf,
    /// SHA-1 thumbprint of the certificate, lowercase hex.
    pub thumbprint: String,
    /// Expiry time, `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    pub not_after: String,
    /// `true` when this call created the certificate, `false` when an existing one was loaded.
    pub created: bool,
}

impl AppCertificate {
    fn of(cert: &X509, cert_path: PathBuf, key_path: PathBuf, created: bool) -> Self {
        Self {
            thumbprint: thumbprint_hex(&cert.thumbprint()),
            not_after: not_after_string(cert),
            cert_path,
            key_path,
            created,
        }
    }
}

/// Loads the application instance certificate of `pki_dir`, creating it if needed.
///
/// If `own/cert.der` and `private/private.pem` exist, parse and belong together, they are
/// returned as they are (logged at info with thumbprint and expiry; a warning when the
/// certificate expires within 30 days or its first SAN URI differs from `app_uri`).
///
/// Otherwise a self-signed RSA 2048 certificate valid for 10 years is created: CN `app_name`,
/// O `fxgate`, subject alternative names `app_uri` (URI) followed by every entry of `hosts`
/// (IP addresses as IP, anything else as DNS; de-duplicated; wildcard addresses skipped).
/// Unusable existing files are kept as `cert.der.bak` / `private.pem.bak`. The key file gets
/// mode 0600 on unix. An I/O error reading existing files (other than "not found") is returned
/// rather than replacing them.
pub fn ensure_application_certificate(
    pki_dir: &Path,
    app_name: &str,
    app_uri: &str,
    hosts: &[String],
) -> Result<AppCertificate, PkiError> {
    ensure_pki_dirs(pki_dir)?;
    let cert_path = own_cert_path(pki_dir);
    let key_path = own_key_path(pki_dir);

    if cert_path.exists() || key_path.exists() {
        match load_existing(&cert_path, &key_path)? {
            Ok(cert) => {
                restrict_key_file(&key_path)?;
                let app_cert = AppCertificate::of(&cert, cert_path, key_path, false);
                info!(
                    thumbprint = %app_cert.thumbprint,
                    not_after = %app_cert.not_after,
                    "loaded application certificate {}",
                    app_cert.cert_path.display()
                );
                check_loaded(&cert, &app_cert, app_uri);
                return Ok(app_cert);
            }
            Err(reason) => {
                warn!(
                    "application certificate {} / key {} unusable ({reason}); creating a new one",
                    cert_path.display(),
                    key_path.display()
                );
                backup(&cert_path)?;
                backup(&key_path)?;
            }
        }
    }

    let cert = create(&cert_path, &key_path, app_name, app_uri, hosts)?;
    let app_cert = AppCertificate::of(&cert, cert_path, key_path, true);
    info!(
        thumbprint = %app_cert.thumbprint,
        not_after = %app_cert.not_after,
        "created self-signed application certificate {}",
        app_cert.cert_path.display()
    );
    Ok(app_cert)
}

/// Why existing certificate and key files are not used (and are replaced by new ones).
#[derive(Debug, thiserror::Error)]
enum UnusableFiles {
    /// One of the two files does not exist.
    #[error("{} is missing", .0.display())]
    Missing(PathBuf),
    /// The certificate file does not hold a certificate.
    #[error(transparent)]
    Certificate(PkiError),
    /// The key file does not hold a PEM RSA private key.
    #[error("{} is not a PEM RSA private key", .0.display())]
    NotAKey(PathBuf),
    /// The key is not the certificate's: a signature made with it does not verify.
    #[error("{} does not belong to {}", .key.display(), .cert.display())]
    Mismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
}

/// Reads an existing certificate and key. Outer error: I/O failure that must not be papered
/// over; inner error: the files are missing, unparsable or do not belong together.
fn load_existing(cert_path: &Path, key_path: &Path) -> Result<Result<X509, UnusableFiles>, PkiError> {
    let Some(cert_bytes) = read_optional(cert_path)? else {
        return Ok(Err(UnusableFiles::Missing(cert_path.to_path_buf())));
    };
    let Some(key_bytes) = read_optional(key_path)? else {
        return Ok(Err(UnusableFiles::Missing(key_path.to_path_buf())));
    };
    let cert = match parse_cert(cert_path, &cert_bytes) {
        Ok(cert) => cert,
        Err(e) => return Ok(Err(UnusableFiles::Certificate(e))),
    };
    let key = match PrivateKey::from_pem(&key_bytes) {
        Ok(key) => key,
        Err(_) => return Ok(Err(UnusableFiles::NotAKey(key_path.to_path_buf()))),
    };
    if !key_matches_cert(&key, &cert) {
        return Ok(Err(UnusableFiles::Mismatch {
            key: key_path.to_path_buf(),
            cert: cert_path.to_path_buf(),
        }));
    }
    Ok(Ok(cert))
}

/// File contents, `None` when the file does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, PkiError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Signs a probe with the key and verifies it with the certificate's public key.
fn key_matches_cert(key: &PrivateKey, cert: &X509) -> bool {
    let Ok(public_key) = cert.public_key() else {
        return false;
    };
    if public_key.size() != key.size() {
        return false;
    }
    let probe = b"fxgate key/certificate match probe";
    let mut signature = vec![0u8; key.size()];
    if key.sign_sha256(probe, &mut signature).is_err() {
        return false;
    }
    matches!(public_key.verify_sha256(probe, &signature), Ok(true))
}

/// Warnings about a loaded certificate: near expiry, application URI mismatch.
fn check_loaded(cert: &X509, app_cert: &AppCertificate, app_uri: &str) {
    match seconds_until_expiry(cert) {
        Some(secs) if secs < 0 => warn!(
            "application certificate {} expired at {}; delete it and {} to create a new one",
            app_cert.cert_path.display(),
            app_cert.not_after,
            app_cert.key_path.display()
        ),
        Some(secs) if secs < EXPIRY_WARNING_DAYS * 86_400 => warn!(
            "application certificate {} expires in {} days ({})",
            app_cert.cert_path.display(),
            secs / 86_400,
            app_cert.not_after
        ),
        Some(_) => {}
        None => warn!(
            "application certificate {} has an unreadable validity period",
            app_cert.cert_path.display()
        ),
    }
    if cert.is_application_uri_valid(app_uri).is_err() {
        warn!(
            "application certificate {} does not carry the application URI {app_uri} as its \
             first subject alternative name; clients may reject it (delete it and {} to create \
             a new one)",
            app_cert.cert_path.display(),
            app_cert.key_path.display()
        );
    }
}

/// Tightens an existing key file to mode 0600 on unix.
fn restrict_key_file(key_path: &Path) -> Result<(), PkiError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(key_path).map_err(|source| PkiError::Read {
            path: key_path.to_path_buf(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            info!("restricting {} to mode 0600", key_path.display());
            set_mode(key_path, 0o600)?;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = key_path;
    }
    Ok(())
}

/// Renames `path` to `path.bak` if it exists.
fn backup(path: &Path) -> Result<(), PkiError> {
    if !path.exists() {
        return Ok(());
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    let to = PathBuf::from(name);
    std::fs::rename(path, &to).map_err(|source| PkiError::Move {
        from: path.to_path_buf(),
        to: to.clone(),
        source,
    })?;
    warn!("kept the old {} as {}", path.display(), to.display());
    Ok(())
}

/// Creates and writes a new self-signed certificate and key.
fn create(
    cert_path: &Path,
    key_path: &Path,
    app_name: &str,
    app_uri: &str,
    hosts: &[String],
) -> Result<X509, PkiError> {
    let data = x509_data(app_name, app_uri, hosts);
    // Create the key file owner-only before async-opcua writes into it (it truncates, keeping the mode).
    precreate_private_file(key_path)?;
    let (cert, _key) = CertificateStore::create_certificate_and_key(
        &data, true, cert_path, key_path,
    )
    .map_err(|reason| PkiError::CreateCertificate {
        path: cert_path.to_path_buf(),
        reason,
    })?;
    set_mode(key_path, 0o600)?;
    Ok(cert)
}

/// Creates (or truncates) `path` with mode 0600 on unix.
fn precreate_private_file(path: &Path) -> Result<(), PkiError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(())
}

/// The certificate description: CN, O and subject alternative names.
fn x509_data(app_name: &str, app_uri: &str, hosts: &[String]) -> X509Data {
    let mut alt_host_names = X509Data::alt_host_names(app_uri, None, false, false, false);
    for host in san_hosts(app_uri, hosts) {
        alt_host_names.add_address(host);
    }
    let app_name = app_name.trim();
    let common_name = if app_name.is_empty() {
        "fxgate"
    } else {
        app_name
    };
    X509Data {
        key_size: KEY_BITS,
        common_name: escape_dn_value(common_name),
        organization: "fxgate".to_string(),
        organizational_unit: String::new(),
        country: String::new(),
        state: String::new(),
        alt_host_names,
        certificate_duration_days: VALIDITY_DAYS,
    }
}

/// `hosts` trimmed, IPs canonical, wildcards/empties dropped, case-insensitively de-duplicated.
fn san_hosts(app_uri: &str, hosts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(hosts.len());
    for host in hosts {
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host == app_uri {
            continue;
        }
        if matches!(host.parse::<IpAddr>(), Ok(ip) if ip.is_unspecified()) {
            continue;
        }
        let host = canonical_host(host);
        if !out.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            out.push(host);
        }
    }
    out
}

/// Escapes the RFC 4514 special characters of a distinguished name attribute value.
fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The gateway's client certificate in `<data-dir>/pki-client`, made on first use: the
/// identity of every OPC UA client inside the gateway (the DA API's client of the gateway's
/// own server, the sessions with upstream servers). Returns it with its application URI.
pub fn ensure_client_certificate(data_dir: &Path) -> Result<(AppCertificate, String), PkiError> {
    let uri = format!("urn:{}:fxgate:client", crate::machine_hostname());
    let cert = ensure_application_certificate(
        &data_dir.join(crate::CLIENT_PKI),
        "fxgate client",
        &uri,
        &["localhost".to_string(), "127.0.0.1".to_string()],
    )?;
    Ok((cert, uri))
}

/// The host of an `opc.tcp://host:port/path` URL (brackets of an IPv6 address removed).
pub fn url_host(url: &str) -> String {
    let rest = url.trim_start_matches("opc.tcp://");
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((h, _)) => h.trim_matches(['[', ']']).to_string(),
        None => authority.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_hosts_are_deduplicated_and_canonical() {
        let hosts: Vec<String> = [
            "plc-gw",
            "PLC-GW",
            "127.0.0.1",
            "0.0.0.0",
            "::",
            "",
            "[::1]",
            "0:0:0:0:0:0:0:1",
            "urn:x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            san_hosts("urn:x", &hosts),
            vec!["plc-gw", "127.0.0.1", "::1"]
        );
    }

    #[test]
    fn dn_values_are_escaped() {
        assert_eq!(escape_dn_value("a,b=c"), "a\\,b\\=c");
        assert_eq!(escape_dn_value("fxgate"), "fxgate");
    }

    #[test]
    fn url_host_strips_scheme_port_path_and_brackets() {
        assert_eq!(super::url_host("opc.tcp://plc1:4840/a/b"), "plc1");
        assert_eq!(super::url_host("opc.tcp://[::1]:4840/"), "::1");
        assert_eq!(super::url_host("opc.tcp://10.0.0.5"), "10.0.0.5");
    }
}
