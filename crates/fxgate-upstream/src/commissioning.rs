//! `accept_all_server_certificates` is for commissioning: it must not leave trust behind.
//! async-opcua stores every certificate it accepts that way in `pki-client/trusted`, where it
//! would stay trusted after the switch is turned off. [`TrustSnapshot`] notes whether the
//! upstream's certificate was trusted before a connection attempt and removes the file
//! async-opcua added for it afterwards. [`rejected_file`] names the file of a refused
//! certificate, for the operator.

use std::path::{Path, PathBuf};

/// Whether one certificate was in the trusted folder before a connection attempt.
pub struct TrustSnapshot {
    trusted_dir: PathBuf,
    /// `[<sha1 thumbprint>]`, how async-opcua's file names end (before `.der`).
    marker: String,
    was_trusted: bool,
}

impl TrustSnapshot {
    /// Notes whether `certificate` (DER) is in `trusted_dir` now.
    pub fn take(trusted_dir: &Path, certificate: &[u8]) -> Self {
        let marker = format!("[{}]", thumbprint(certificate));
        let was_trusted = !files_with(trusted_dir, &marker).is_empty();
        Self {
            trusted_dir: trusted_dir.to_path_buf(),
            marker,
            was_trusted,
        }
    }

    /// Removes the certificate's file(s) from the trusted folder unless it was there before.
    pub fn restore(&self) {
        if self.was_trusted {
            return;
        }
        for f in files_with(&self.trusted_dir, &self.marker) {
            match std::fs::remove_file(&f) {
                Ok(()) => tracing::debug!(file = %f.display(), "certificate accepted for commissioning only; not kept as trusted"),
                Err(e) => tracing::warn!(file = %f.display(), error = %e, "cannot remove a certificate accepted by accept_all_server_certificates"),
            }
        }
    }
}

/// The file name under which async-opcua filed `certificate` (DER) in `<pki_dir>/rejected`.
pub fn rejected_file(pki_dir: &Path, certificate: &[u8]) -> Option<String> {
    let marker = format!("[{}]", thumbprint(certificate));
    files_with(&pki_dir.join("rejected"), &marker)
        .into_iter()
        .next()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
}

/// SHA-1 thumbprint in lower-case hex, as in async-opcua's file names.
fn thumbprint(certificate: &[u8]) -> String {
    openssl::sha::sha1(certificate).iter().map(|b| format!("{b:02x}")).collect()
}

fn files_with(dir: &Path, marker: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(marker)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_file_added_during_the_attempt_is_removed() {
        let dir = std::env::temp_dir().join(format!("fxgate-commissioning-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let der = b"not really a certificate";
        let thumb = thumbprint(der);
        let file = dir.join(format!("CN=x [{thumb}].der"));
        let snap = TrustSnapshot::take(&dir, der);
        std::fs::write(&file, der).expect("write");
        snap.restore();
        assert!(!file.exists(), "added during the attempt: removed");
        std::fs::write(&file, der).expect("write");
        let snap = TrustSnapshot::take(&dir, der);
        snap.restore();
        assert!(file.exists(), "trusted before: kept");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
