//! Trusted X.509 user certificates (`pki-user/`).

use std::path::{Path, PathBuf};

use opcua::crypto::Thumbprint;
use tracing::{debug, warn};

use crate::certfile::{cert_files, common_name, read_cert};
use crate::layout::USER_PKI;

/// A trusted X.509 user certificate from `pki-user/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCert {
    /// SHA-1 thumbprint of the DER certificate, lowercase hex (40 digits).
    pub thumbprint: String,
    /// Subject distinguished name, e.g. `CN=alice,O=plant`.
    pub subject: String,
    /// Subject common name (empty if the subject has none).
    pub common_name: String,
    /// The file it was read from.
    pub path: PathBuf,
}

/// A thumbprint as lowercase hex (40 digits).
#[must_use]
pub fn thumbprint_hex(t: &Thumbprint) -> String {
    t.as_hex_string().to_ascii_lowercase()
}

/// Reads the user certificates in `<data_dir>/pki-user/` (`*.der`, `*.pem`; not recursive).
///
/// Unreadable files are logged at warn and skipped; a missing or unlistable directory yields
/// an empty list (logged). A certificate present in several files is returned once (first
/// file by name). Sorted by file path.
#[must_use]
pub fn user_certificates(data_dir: &Path) -> Vec<UserCert> {
    let dir = data_dir.join(USER_PKI);
    let files = match cert_files(&dir) {
        Ok(files) => files,
        Err(e) => {
            warn!("no user certificates: {e}");
            return Vec::new();
        }
    };
    let mut certs: Vec<UserCert> = Vec::with_capacity(files.len());
    for path in files {
        let cert = match read_cert(&path) {
            Ok(cert) => cert,
            Err(e) => {
                warn!("skipping user certificate: {e}");
                continue;
            }
        };
        let thumbprint = thumbprint_hex(&cert.thumbprint());
        if let Some(first) = certs.iter().find(|c| c.thumbprint == thumbprint) {
            debug!(
                "{} duplicates user certificate {}",
                path.display(),
                first.path.display()
            );
            continue;
        }
        certs.push(UserCert {
            thumbprint,
            subject: cert.subject_name(),
            common_name: common_name(&cert),
            path,
        });
    }
    certs
}
