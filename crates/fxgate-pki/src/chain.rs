//! Certificate chains (issue 18 §1, OPC 10000-4 §6.1.3): a peer certificate issued by a
//! certificate authority is accepted when its chain builds to a CA the store trusts, each check
//! giving the status code the spec lists for it. OpenSSL's verifier does the work.
//!
//! Where the store's certificates are, below a PKI directory (`pki/`, `pki-client/`):
//! - trust anchors: `trusted/` (the flat directory async-opcua reads) and `trusted/certs/`;
//! - intermediate CAs, used to build chains but not trusted themselves: `issuers/` and
//!   `issuers/certs/`, and the certificates a peer sends after its own;
//! - CRLs: `crl/` (where `fxgate pki add-crl` and the configurator put them), `trusted/crl/`
//!   and `issuers/crl/`, DER or PEM.
//!
//! Every CA in a chain needs a CRL: without one the answer is Bad_CertificateRevocationUnknown
//! (Bad_CertificateIssuerRevocationUnknown above the leaf), as the issue asks.
//!
//! Self-signed certificates are not judged here: they are trusted by their own file in
//! `trusted/`, as async-opcua does it.

use std::path::{Path, PathBuf};

use openssl::ssl::SslFiletype;
use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509PurposeId, X509StoreContext, X509VerifyResult, X509};
use opcua::types::StatusCode;

use crate::certfile::files_where;

/// Why a chain was refused: the status code for the client and the reason for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {reason}")]
pub struct ChainRefusal {
    /// The status code OPC 10000-4 §6.1.3 gives the failed check.
    pub status: StatusCode,
    /// OpenSSL's words, with the depth (0 = the peer's own certificate).
    pub reason: String,
}

/// What the peer is: the certificate's extended key usage must allow it (OPC 10000-6 §6.2.2:
/// clientAuth for a client, serverAuth for a server), and its key usage what TLS asks of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    /// An OPC UA client of fxgate's server (`pki/`).
    Client,
    /// An OPC UA server fxgate connects to (`pki-client/`).
    Server,
    /// A user logging in with an X.509 user token (`pki-user/`): no key-usage purpose is
    /// required, and the store's own flat files (where trusted user certificates and their CAs
    /// are put) are trust anchors too.
    User,
}

/// What a peer certificate is, chain-wise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Self-signed: trusted or not by its own file (not judged here).
    SelfSigned,
    /// Issued by a CA, and its chain builds to a trusted one with every check passed.
    Trusted,
    /// Issued by a CA, and a check failed.
    Refused(ChainRefusal),
}

/// Why a chain could not be judged at all.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The peer's bytes are not DER certificates.
    #[error("the certificate bytes are not DER X.509 certificates")]
    NotCertificates,
    /// OpenSSL failed (out of memory and the like).
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

/// The DER certificates a peer sent: its own first, then any issuers (OPC 10000-6 §6.7.2
/// allows the chain in the SenderCertificate field).
pub fn split_chain(bytes: &[u8]) -> Result<Vec<X509>, ChainError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = der_len(rest).ok_or(ChainError::NotCertificates)?;
        let (one, tail) = rest.split_at(len);
        out.push(X509::from_der(one).map_err(|_| ChainError::NotCertificates)?);
        rest = tail;
    }
    if out.is_empty() {
        return Err(ChainError::NotCertificates);
    }
    Ok(out)
}

/// Length of the DER SEQUENCE at the start of `b`, header included.
fn der_len(b: &[u8]) -> Option<usize> {
    if b.len() < 2 || b[0] != 0x30 {
        return None;
    }
    let (len, header) = match b[1] {
        n if n < 0x80 => (n as usize, 2),
        0x81..=0x84 => {
            let k = (b[1] & 0x7f) as usize;
            let digits = b.get(2..2 + k)?;
            (digits.iter().fold(0usize, |a, d| (a << 8) | *d as usize), 2 + k)
        }
        _ => return None,
    };
    let total = header.checked_add(len)?;
    (total <= b.len()).then_some(total)
}

/// Whether `cert` signed itself.
pub fn is_self_signed(cert: &X509) -> bool {
    let names_match = cert.issuer_name().try_cmp(cert.subject_name()).is_ok_and(|o| o.is_eq());
    names_match && cert.public_key().and_then(|k| cert.verify(&k)).unwrap_or(false)
}

/// Judges the chain `sent` (the peer's certificate first) against the store in `pki_dir`.
pub fn verify_chain(pki_dir: &Path, sent: &[X509], role: PeerRole) -> Result<ChainVerdict, ChainError> {
    let Some(leaf) = sent.first() else { return Err(ChainError::NotCertificates) };
    if is_self_signed(leaf) {
        return Ok(ChainVerdict::SelfSigned);
    }
    let mut builder = X509StoreBuilder::new()?;
    let mut anchors = vec![pki_dir.join("trusted"), pki_dir.join("trusted/certs")];
    if role == PeerRole::User {
        anchors.push(pki_dir.to_path_buf());
    }
    for cert in certs_in(&anchors) {
        // A certificate both trusted and sent is added once.
        let _ = builder.add_cert(cert);
    }
    let crls = crl_files(pki_dir);
    if !crls.is_empty() {
        let lookup = builder.add_lookup(X509Lookup::file())?;
        for path in &crls {
            let Some(p) = path.to_str() else { continue };
            let loaded = lookup.load_crl_file(p, SslFiletype::ASN1).or_else(|_| lookup.load_crl_file(p, SslFiletype::PEM));
            if let Err(e) = loaded {
                tracing::warn!(path = %path.display(), error = %e, "a CRL file cannot be read; ignored");
            }
        }
    }
    builder.set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL)?;
    builder.set_purpose(match role {
        PeerRole::Client => X509PurposeId::SSL_CLIENT,
        PeerRole::Server => X509PurposeId::SSL_SERVER,
        PeerRole::User => X509PurposeId::ANY,
    })?;
    let store = builder.build();
    let mut chain = Stack::new()?;
    for cert in certs_in(&[pki_dir.join("issuers"), pki_dir.join("issuers/certs")]).into_iter().chain(sent.iter().skip(1).cloned()) {
        chain.push(cert)?;
    }
    let mut ctx = X509StoreContext::new()?;
    let outcome = ctx.init(&store, leaf, &chain, |c| {
        let ok = c.verify_cert()?;
        Ok((ok, c.error(), c.error_depth()))
    })?;
    Ok(match outcome {
        (true, _, _) => ChainVerdict::Trusted,
        (false, error, depth) => ChainVerdict::Refused(ChainRefusal {
            status: status_of(error, depth),
            reason: format!("{} (at depth {depth})", error.error_string()),
        }),
    })
}

/// The status code of an OpenSSL verification error at `depth` (0 = the peer's certificate).
fn status_of(error: X509VerifyResult, depth: u32) -> StatusCode {
    use openssl_sys as ffi;
    let leaf = depth == 0;
    let pick = |own: StatusCode, issuer: StatusCode| if leaf { own } else { issuer };
    match error.as_raw() {
        ffi::X509_V_ERR_CERT_HAS_EXPIRED | ffi::X509_V_ERR_CERT_NOT_YET_VALID => {
            pick(StatusCode::BadCertificateTimeInvalid, StatusCode::BadCertificateIssuerTimeInvalid)
        }
        ffi::X509_V_ERR_CERT_REVOKED => pick(StatusCode::BadCertificateRevoked, StatusCode::BadCertificateIssuerRevoked),
        ffi::X509_V_ERR_UNABLE_TO_GET_CRL | ffi::X509_V_ERR_CRL_HAS_EXPIRED | ffi::X509_V_ERR_CRL_NOT_YET_VALID => {
            pick(StatusCode::BadCertificateRevocationUnknown, StatusCode::BadCertificateIssuerRevocationUnknown)
        }
        ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        | ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | ffi::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE => StatusCode::BadCertificateChainIncomplete,
        ffi::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN | ffi::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT => {
            StatusCode::BadCertificateUntrusted
        }
        ffi::X509_V_ERR_INVALID_PURPOSE | ffi::X509_V_ERR_KEYUSAGE_NO_CERTSIGN | ffi::X509_V_ERR_INVALID_CA => {
            pick(StatusCode::BadCertificateUseNotAllowed, StatusCode::BadCertificateIssuerUseNotAllowed)
        }
        _ => StatusCode::BadCertificateInvalid,
    }
}

/// Every certificate in the files (.der / .pem) directly inside `dirs`; unreadable ones are
/// skipped (the listing shows them as such).
fn certs_in(dirs: &[PathBuf]) -> Vec<X509> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(files) = crate::certfile::cert_files(dir) else { continue };
        for f in files {
            let Ok(bytes) = std::fs::read(&f) else { continue };
            let parsed = X509::from_der(&bytes).map(|c| vec![c]).or_else(|_| X509::stack_from_pem(&bytes));
            out.extend(parsed.unwrap_or_default());
        }
    }
    out
}

/// The CRL files of the store.
fn crl_files(pki_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [pki_dir.join(crate::CRL_DIR), pki_dir.join("trusted/crl"), pki_dir.join("issuers/crl")] {
        let is_crl = |p: &Path| p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "crl" | "der" | "pem"));
        out.extend(files_where(&dir, is_crl).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ca_cert as cert, rsa_key as key};

    #[test]
    fn a_sent_chain_is_split_and_garbage_refused() {
        let (k1, k2) = (key(), key());
        let root = cert("root", &k1, None, true);
        let leaf = cert("leaf", &k2, Some((&root, &k1)), false);
        let mut bytes = leaf.to_der().unwrap();
        bytes.extend(root.to_der().unwrap());
        let chain = split_chain(&bytes).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].to_der().unwrap(), leaf.to_der().unwrap());
        assert!(matches!(split_chain(b""), Err(ChainError::NotCertificates)));
        assert!(matches!(split_chain(b"\x30\x82\xff\xff"), Err(ChainError::NotCertificates)));
        for cut in [1, 2, 10, bytes.len() - 1] {
            assert!(split_chain(&bytes[..cut]).is_err() || cut == leaf.to_der().unwrap().len());
        }
    }

    #[test]
    fn verdicts_without_a_complete_store() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, k2) = (key(), key());
        let root = cert("root", &k1, None, true);
        let leaf = cert("leaf", &k2, Some((&root, &k1)), false);
        assert!(is_self_signed(&root) && !is_self_signed(&leaf));
        assert_eq!(verify_chain(dir.path(), std::slice::from_ref(&root), PeerRole::Client).unwrap(), ChainVerdict::SelfSigned);
        let status = |v: ChainVerdict| match v {
            ChainVerdict::Refused(r) => r.status,
            other => panic!("not refused: {other:?}"),
        };
        // The issuer is nowhere.
        assert_eq!(status(verify_chain(dir.path(), std::slice::from_ref(&leaf), PeerRole::Client).unwrap()), StatusCode::BadCertificateChainIncomplete);
        // The issuer is trusted, but has no CRL.
        std::fs::create_dir_all(dir.path().join("trusted")).unwrap();
        std::fs::write(dir.path().join("trusted/root.der"), root.to_der().unwrap()).unwrap();
        assert_eq!(status(verify_chain(dir.path(), &[leaf], PeerRole::Client).unwrap()), StatusCode::BadCertificateRevocationUnknown);
    }
}
