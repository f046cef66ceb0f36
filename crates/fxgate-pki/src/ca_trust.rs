//! Trust for CA-issued peer certificates in front of async-opcua's store, which trusts only
//! certificate files by exact name (`trusted/<CN> [<thumbprint>].der`) and checks no chain and
//! no CRL.
//!
//! [`judge_peer_certificate`] decides for the certificate a peer sends, before async-opcua sees
//! it, and leaves the store so that async-opcua agrees:
//! - a chain that validates ([`crate::chain`]): the certificate is placed in `trusted/` under
//!   async-opcua's name, noted in `ca-accepted.txt`, and its copy in `rejected/` is removed
//!   (`rejected/` is a record, not a deny list);
//! - a refused chain: the status code goes back to the peer, the certificate is filed in
//!   `rejected/`, and a copy this module had placed in `trusted/` is removed (its CA was removed,
//!   or it was revoked since). One the operator trusted by its own file stays trusted when only
//!   its issuer is missing (as before CA support);
//! - a self-signed certificate: left to async-opcua, as before.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use opcua::crypto::CertificateStore;
use opcua::types::StatusCode;

use crate::chain::{split_chain, verify_chain, ChainError, ChainRefusal, ChainVerdict, PeerRole};
use crate::layout::{REJECTED_DIR, TRUSTED_DIR};
use crate::store::write_atomic;
use crate::x509text::sha1_hex;

/// The file, in a PKI directory, listing the thumbprints of the certificates placed in
/// `trusted/` because their chain validated (not by the operator).
pub const CA_ACCEPTED: &str = "ca-accepted.txt";

/// At most this many files are kept in `rejected/` by the chain check: a peer can send any
/// certificate before it proves anything, and each refused one would be a file.
pub const MAX_REJECTED_FILES: usize = 1000;

/// What to do with a peer's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerDecision {
    /// Let async-opcua decide (it now finds the certificate trusted, or judges it as before).
    Forward,
    /// Refuse the connection with this status code.
    Refuse(ChainRefusal),
}

/// Judges the certificate bytes a peer sent (its certificate, then any issuers) against the
/// store in `pki_dir` for a peer in `role`, and updates `trusted/` and `rejected/` as the module doc says.
pub fn judge_peer_certificate(pki_dir: &Path, sent: &[u8], role: PeerRole) -> Result<PeerDecision, ChainError> {
    let chain = split_chain(sent)?;
    let Some(leaf) = chain.first() else { return Err(ChainError::NotCertificates) };
    let verdict = verify_chain(pki_dir, &chain, role)?;
    let der = leaf.to_der()?;
    let thumb = sha1_hex(&der);
    let name = match opcua::crypto::X509::from_der(&der) {
        Ok(c) => CertificateStore::cert_file_name(&c),
        Err(_) => return Err(ChainError::NotCertificates),
    };
    let trusted_path = pki_dir.join(TRUSTED_DIR).join(&name);
    let rejected_path = pki_dir.join(REJECTED_DIR).join(&name);
    let mut accepted = read_list(pki_dir);
    match verdict {
        ChainVerdict::SelfSigned => Ok(PeerDecision::Forward),
        ChainVerdict::Trusted => {
            if !trusted_path.exists() {
                write_or_log(&trusted_path, &der);
                if accepted.insert(thumb) {
                    write_list(pki_dir, &accepted);
                }
                tracing::info!(certificate = %name, "a CA-issued certificate's chain validated: trusted");
            }
            if rejected_path.exists() {
                let _ = std::fs::remove_file(&rejected_path);
                tracing::info!(certificate = %name, "removed from rejected/: its chain validates now");
            }
            Ok(PeerDecision::Forward)
        }
        ChainVerdict::Refused(refusal) => {
            let placed_by_us = accepted.contains(&thumb);
            let issuer_missing = matches!(refusal.status, StatusCode::BadCertificateChainIncomplete | StatusCode::BadCertificateUntrusted);
            if trusted_path.exists() && !placed_by_us && issuer_missing {
                return Ok(PeerDecision::Forward);
            }
            if placed_by_us {
                let _ = std::fs::remove_file(&trusted_path);
                accepted.remove(&thumb);
                write_list(pki_dir, &accepted);
            }
            file_rejected(pki_dir, &name, &der);
            tracing::warn!(certificate = %name, status = %refusal.status, reason = %refusal.reason, "certificate refused: its chain does not validate");
            Ok(PeerDecision::Refuse(refusal))
        }
    }
}

/// Files a refused certificate's `der` in `<pki_dir>/rejected/<name>`, unless it is there
/// already or `rejected/` holds [`MAX_REJECTED_FILES`] files.
pub(crate) fn file_rejected(pki_dir: &Path, name: &str, der: &[u8]) {
    let path = pki_dir.join(REJECTED_DIR).join(name);
    if path.exists() {
        return;
    }
    let held = std::fs::read_dir(pki_dir.join(REJECTED_DIR)).map_or(0, |d| d.count());
    if held < MAX_REJECTED_FILES {
        write_or_log(&path, der);
    } else {
        tracing::debug!(certificate = %name, "rejected/ is full: the refused certificate is not filed");
    }
}

fn list_path(pki_dir: &Path) -> PathBuf {
    pki_dir.join(CA_ACCEPTED)
}

/// The thumbprints in `ca-accepted.txt`: the certificates the chain check placed in `trusted/`.
pub(crate) fn read_list(pki_dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(list_path(pki_dir))
        .map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn write_list(pki_dir: &Path, list: &BTreeSet<String>) {
    let text: String = list.iter().map(|t| format!("{t}\n")).collect();
    write_or_log(&list_path(pki_dir), text.as_bytes());
}

fn write_or_log(path: &Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = write_atomic(path, bytes) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write to the certificate store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ca_cert, rsa_key};

    #[test]
    fn refused_certificates_are_filed_up_to_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, k2, k3) = (rsa_key(), rsa_key(), rsa_key());
        let ca = ca_cert("ca", &k1, None, true);
        let first = ca_cert("first", &k2, Some((&ca, &k1)), false).to_der().unwrap();
        let second = ca_cert("second", &k3, Some((&ca, &k1)), false).to_der().unwrap();
        let refused = |d: PeerDecision| matches!(d, PeerDecision::Refuse(r) if r.status == StatusCode::BadCertificateChainIncomplete);
        assert!(refused(judge_peer_certificate(dir.path(), &first, PeerRole::Client).unwrap()));
        let rejected = dir.path().join(REJECTED_DIR);
        assert_eq!(std::fs::read_dir(&rejected).unwrap().count(), 1, "filed");
        for i in 1..MAX_REJECTED_FILES {
            std::fs::write(rejected.join(format!("other{i}.der")), b"x").unwrap();
        }
        assert!(refused(judge_peer_certificate(dir.path(), &second, PeerRole::Client).unwrap()));
        assert_eq!(std::fs::read_dir(&rejected).unwrap().count(), MAX_REJECTED_FILES, "not filed beyond the bound");
    }
}
