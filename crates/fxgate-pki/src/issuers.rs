//! Intermediate CA certificates (`<store>/issuers/`): used to build the chains of peer
//! certificates ([`crate::chain`]), not trusted themselves; and the chain state of the
//! certificates a store holds, for `fxgate pki list`.

use std::path::{Path, PathBuf};

use opcua::crypto::{CertificateStore, X509 as UaX509};
use openssl::x509::X509;
use tracing::info;

use crate::chain::{verify_chain, ChainVerdict, PeerRole};
use crate::layout::ensure_dir;
use crate::store::{write_atomic, Store};
use crate::upload::{check_size, parse_certificate, AddCertError};

/// The sub-directory of a store that holds intermediate CA certificates.
pub const ISSUERS_DIR: &str = "issuers";

/// Adds the CA certificate in `bytes` (DER or PEM, one certificate) to `store`'s `issuers/`
/// as `<CN> [<THUMBPRINT>].der`; returns the file written.
pub fn add_issuer(data_dir: &Path, store: Store, bytes: &[u8]) -> Result<PathBuf, AddCertError> {
    check_size(bytes).map_err(|(size, max)| AddCertError::TooLarge { size, max })?;
    let not_a_cert = |reason: String| AddCertError::NotACertificate { reason };
    let (der, _) = parse_certificate(bytes).map_err(|r| not_a_cert(r.to_string()))?;
    if !X509::from_der(&der).is_ok_and(|c| crate::trust_list::is_ca(&c)) {
        return Err(not_a_cert("not a CA certificate (no basicConstraints CA:TRUE)".to_string()));
    }
    let cert = UaX509::from_der(&der).map_err(|_| not_a_cert("the OPC UA stack cannot read this certificate".to_string()))?;
    let dir = store.dir(data_dir).join(ISSUERS_DIR);
    ensure_dir(&dir, false)?;
    let path = dir.join(CertificateStore::cert_file_name(&cert));
    write_atomic(&path, &der)?;
    info!(path = %path.display(), "intermediate CA added");
    Ok(path)
}

/// The chain state of the certificate file `path` against `store`: `self-signed`, `chain
/// valid`, or `chain refused: <status> (<reason>)`.
pub fn chain_state(data_dir: &Path, store: Store, path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else { return "unreadable".to_string() };
    let Ok(cert) = X509::from_der(&bytes).or_else(|_| X509::from_pem(&bytes)) else { return "unreadable".to_string() };
    // The peers of pki/ are clients; those of pki-client/ servers.
    let role = match store {
        Store::Client => PeerRole::Server,
        Store::Server => PeerRole::Client,
        Store::User => PeerRole::User,
    };
    match verify_chain(&store.dir(data_dir), &[cert], role) {
        Ok(ChainVerdict::SelfSigned) => "self-signed".to_string(),
        Ok(ChainVerdict::Trusted) => "chain valid (issuer trusted, not revoked)".to_string(),
        Ok(ChainVerdict::Refused(r)) => format!("chain refused: {} ({})", r.status, r.reason),
        Err(e) => format!("not checked: {e}"),
    }
}
