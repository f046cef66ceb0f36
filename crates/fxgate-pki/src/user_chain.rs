//! The chain check of X.509 user certificates (issue 18 §1): a user certificate the store
//! knows (a file in `pki-user/`) that a CA issued is checked like a client's, against the CAs
//! and CRLs of `pki-user/` (its flat files, `trusted/`, `issuers/`, `crl/`), at every login.
//! A revoked, expired or otherwise refused one is refused and filed in `pki-user/rejected/`.
//!
//! A certificate that is in no file cannot be checked: async-opcua 0.19 hands the
//! authenticator only its thumbprint (`ServerInfo::authenticate_x509_identity_token`).

use std::path::Path;

use opcua::crypto::CertificateStore;
use openssl::x509::X509;
use opcua::types::StatusCode;

use crate::ca_trust::file_rejected;
use crate::chain::{verify_chain, ChainError, ChainRefusal, ChainVerdict, PeerRole};
use crate::layout::USER_PKI;
use crate::user_certs::{user_certificates, UserCert};

/// What the chain check says of a user certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCertCheck {
    /// No file of `pki-user/` holds it: not checked.
    NotInStore,
    /// Self-signed, or its chain validates, or only its issuer is missing (it is trusted by
    /// its own file, as before CA support): the store's certificate.
    Accepted(UserCert),
    /// Refused; a copy is filed in `pki-user/rejected/`.
    Refused(ChainRefusal),
}

/// Checks the user certificate of SHA-1 thumbprint `thumbprint` (lowercase hex) that a login
/// presented, if a file of `<data_dir>/pki-user/` holds it.
pub fn check_user_certificate(data_dir: &Path, thumbprint: &str) -> Result<UserCertCheck, ChainError> {
    let Some(known) = user_certificates(data_dir).into_iter().find(|c| c.thumbprint == thumbprint) else {
        return Ok(UserCertCheck::NotInStore);
    };
    let bytes = std::fs::read(&known.path).map_err(|_| ChainError::NotCertificates)?;
    let cert = X509::from_der(&bytes).or_else(|_| X509::from_pem(&bytes)).map_err(|_| ChainError::NotCertificates)?;
    let store = data_dir.join(USER_PKI);
    match verify_chain(&store, std::slice::from_ref(&cert), PeerRole::User)? {
        ChainVerdict::SelfSigned | ChainVerdict::Trusted => Ok(UserCertCheck::Accepted(known)),
        ChainVerdict::Refused(r) if matches!(r.status, StatusCode::BadCertificateChainIncomplete | StatusCode::BadCertificateUntrusted) => {
            Ok(UserCertCheck::Accepted(known))
        }
        ChainVerdict::Refused(r) => {
            let der = cert.to_der()?;
            if let Ok(ua) = opcua::crypto::X509::from_der(&der) {
                file_rejected(&store, &CertificateStore::cert_file_name(&ua), &der);
            }
            tracing::warn!(subject = %known.subject, status = %r.status, reason = %r.reason, "user certificate refused: its chain does not validate");
            Ok(UserCertCheck::Refused(r))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::REJECTED_DIR;
    use crate::testutil::{ca_cert, rsa_key};
    use crate::x509text::sha1_hex;

    #[test]
    fn known_user_certificates_are_checked_and_refused_ones_filed() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join(USER_PKI);
        std::fs::create_dir_all(&store).unwrap();
        let (k1, k2) = (rsa_key(), rsa_key());
        let ca = ca_cert("users ca", &k1, None, true);
        let user = ca_cert("alice", &k2, Some((&ca, &k1)), false);
        let der = user.to_der().unwrap();
        let thumb = sha1_hex(&der);
        assert_eq!(check_user_certificate(dir.path(), &thumb).unwrap(), UserCertCheck::NotInStore);
        std::fs::write(store.join("alice.der"), &der).unwrap();
        // Only its issuer is missing: trusted by its own file.
        assert!(matches!(check_user_certificate(dir.path(), &thumb).unwrap(), UserCertCheck::Accepted(c) if c.thumbprint == thumb));
        // Its CA is there, without a CRL: refused and filed.
        std::fs::write(store.join("users-ca.der"), ca.to_der().unwrap()).unwrap();
        match check_user_certificate(dir.path(), &thumb).unwrap() {
            UserCertCheck::Refused(r) => assert_eq!(r.status, StatusCode::BadCertificateRevocationUnknown),
            other => panic!("not refused: {other:?}"),
        }
        assert_eq!(std::fs::read_dir(store.join(REJECTED_DIR)).unwrap().count(), 1);
    }
}
