//! Reading certificate files (.der / .pem) and formatting their fields.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use opcua::crypto::X509;

use crate::PkiError;

/// Format of a certificate file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertFormat {
    /// Binary DER.
    Der,
    /// PEM (`-----BEGIN CERTIFICATE-----`).
    Pem,
}

/// The certificate format of `path` judged by its extension (case-insensitive), if any.
pub(crate) fn cert_format(path: &Path) -> Option<CertFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "der" => Some(CertFormat::Der),
        "pem" => Some(CertFormat::Pem),
        _ => None,
    }
}

/// Reads and parses a certificate file (.der or .pem).
pub(crate) fn read_cert(path: &Path) -> Result<X509, PkiError> {
    let bytes = std::fs::read(path).map_err(|source| PkiError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_cert(path, &bytes)
}

/// Parses certificate bytes; `path` decides the format and names the file in errors.
pub(crate) fn parse_cert(path: &Path, bytes: &[u8]) -> Result<X509, PkiError> {
    let invalid = |reason: &str| PkiError::InvalidCertificate {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    match cert_format(path) {
        Some(CertFormat::Der) => {
            X509::from_der(bytes).map_err(|_| invalid("not a DER X.509 certificate"))
        }
        Some(CertFormat::Pem) => {
            X509::from_pem(bytes).map_err(|_| invalid("not a PEM X.509 certificate"))
        }
        None => Err(invalid("unsupported extension (expected .der or .pem)")),
    }
}

/// The certificate files (.der / .pem, regular files) directly inside `dir`, sorted.
///
/// A missing directory yields an empty list.
pub(crate) fn cert_files(dir: &Path) -> Result<Vec<PathBuf>, PkiError> {
    files_where(dir, |path| cert_format(path).is_some())
}

/// The regular files directly inside `dir` whose path `keep` accepts, sorted; none when
/// `dir` is missing.
pub(crate) fn files_where(
    dir: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, PkiError> {
    let read_dir_err = |source| PkiError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_dir_err(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_dir_err)?;
        let path = entry.path();
        if keep(&path) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The form of every time this crate shows: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub(crate) const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Not-before time of `cert` as `YYYY-MM-DDTHH:MM:SSZ`, or `?`.
pub(crate) fn not_before_string(cert: &X509) -> String {
    cert.not_before()
        .map_or_else(|_| "?".to_string(), |t| t.format(TIME_FORMAT).to_string())
}

/// Not-after time of `cert` as `YYYY-MM-DDTHH:MM:SSZ`, or `?`.
pub(crate) fn not_after_string(cert: &X509) -> String {
    cert.not_after()
        .map_or_else(|_| "?".to_string(), |t| t.format(TIME_FORMAT).to_string())
}

/// Seconds from now until the certificate expires (negative: expired), if readable.
pub(crate) fn seconds_until_expiry(cert: &X509) -> Option<i64> {
    let not_after = cert.not_after().ok()?.timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(not_after - i64::try_from(now).ok()?)
}

/// The subject common name of `cert` as plain text (async-opcua returns it as `CN=value`,
/// RFC 4514 escaped); empty when the subject has none.
pub(crate) fn common_name(cert: &X509) -> String {
    let Ok(raw) = cert.common_name() else {
        return String::new();
    };
    let value = match raw.split_once('=') {
        Some((attr, value))
            if attr.trim().eq_ignore_ascii_case("CN") || attr.trim() == "2.5.4.3" =>
        {
            value
        }
        _ => raw.as_str(),
    };
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}
