//! Adding an uploaded certificate to a store as trusted: parsed (DER or PEM) before anything
//! is written, and written the way `fxgate pki trust` leaves it, as DER under the name
//! async-opcua looks for (`<CN> [<THUMBPRINT>].der`). The name is made from the
//! certificate, never taken from the upload.

use std::path::{Path, PathBuf};

use opcua::crypto::{CertificateStore, X509 as UaX509};
use openssl::x509::X509;
use tracing::info;

use crate::delete::copies_in;
use crate::layout::ensure_dir;
use crate::store::{state_dir, write_atomic, Store, TrustState};
use crate::user_certs::thumbprint_hex;
use crate::x509text::{dn_string, is_crl, looks_pem};
use crate::PkiError;

/// The largest certificate or CRL file taken (64 kB).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024;

/// A certificate stored by [`add_certificate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedCert {
    /// The store it was added to.
    pub store: Store,
    /// The trusted file written.
    pub path: PathBuf,
    /// SHA-1 thumbprint, lowercase hex.
    pub thumbprint: String,
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Other files of the same certificate in that store (e.g. a rejected copy) that were
    /// removed, so that it is trusted and nothing else.
    pub replaced: Vec<PathBuf>,
}

/// Why [`add_certificate`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum AddCertError {
    /// The file is larger than [`MAX_UPLOAD_BYTES`].
    #[error("the file has {size} bytes, more than the {max} a certificate upload may have")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not one X.509 certificate in DER or PEM (or async-opcua cannot read it).
    #[error("not a certificate: {reason}")]
    NotACertificate {
        /// What it is instead, or why it cannot be read.
        reason: String,
    },
    /// The certificate could not be written or its old copies removed.
    #[error(transparent)]
    Store(#[from] PkiError),
}

/// `Err((size, max))` when `bytes` exceed [`MAX_UPLOAD_BYTES`].
pub(crate) fn check_size(bytes: &[u8]) -> Result<(), (usize, usize)> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        Err((bytes.len(), MAX_UPLOAD_BYTES))
    } else {
        Ok(())
    }
}

/// Why uploaded bytes are not one certificate or CRL (the reason a refusal gives).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unreadable {
    /// PEM, but no block of that kind could be read.
    #[error("a PEM file without a readable {0} block")]
    NoPemBlock(&'static str),
    /// PEM with several certificates.
    #[error("the PEM file holds {0} certificates: upload one at a time")]
    Several(usize),
    /// Not DER of that kind.
    #[error("not a DER X.509 {0}")]
    NotDer(&'static str),
    /// DER with bytes after it, or not in canonical form.
    #[error("the DER has extra bytes or is not in canonical form")]
    NotCanonical,
    /// OpenSSL could not write it back as DER.
    #[error("cannot be encoded as DER")]
    Encoding,
}

/// The DER of the one certificate in `bytes` (DER, or PEM with one CERTIFICATE block),
/// parsed with OpenSSL, and its issuer.
pub(crate) fn parse_certificate(bytes: &[u8]) -> Result<(Vec<u8>, String), Unreadable> {
    let cert = if looks_pem(bytes) {
        let mut certs = X509::stack_from_pem(bytes).map_err(|_| Unreadable::NoPemBlock("CERTIFICATE"))?;
        match certs.len() {
            0 => return Err(Unreadable::NoPemBlock("CERTIFICATE")),
            1 => certs.remove(0),
            n => return Err(Unreadable::Several(n)),
        }
    } else {
        let cert = X509::from_der(bytes).map_err(|_| Unreadable::NotDer("certificate"))?;
        if cert.to_der().ok().as_deref() != Some(bytes) {
            return Err(Unreadable::NotCanonical);
        }
        cert
    };
    let der = cert.to_der().map_err(|_| Unreadable::Encoding)?;
    Ok((der, dn_string(cert.issuer_name())))
}

/// Adds the certificate in `bytes` (DER or PEM, one certificate, at most
/// [`MAX_UPLOAD_BYTES`]) to `store` as trusted: `trusted/<CN> [<THUMBPRINT>].der` in `pki/`
/// and `pki-client/`, `pki-user/<CN> [<THUMBPRINT>].der` for user certificates. Other files of
/// the same certificate in that store (a rejected copy, a .pem) are removed, so async-opcua,
/// which looks in `rejected/` first, trusts it. Nothing is written when the bytes do not
/// parse, with OpenSSL and with async-opcua's reader. Adding it again is harmless.
pub fn add_certificate(
    data_dir: &Path,
    store: Store,
    bytes: &[u8],
) -> Result<AddedCert, AddCertError> {
    check_size(bytes).map_err(|(size, max)| AddCertError::TooLarge { size, max })?;
    let not_a_cert = |reason: String| AddCertError::NotACertificate { reason };
    let (der, issuer) = parse_certificate(bytes).map_err(|reason| {
        if is_crl(bytes) {
            not_a_cert("this is a CRL (upload it as a CRL)".to_string())
        } else {
            not_a_cert(reason.to_string())
        }
    })?;
    let cert = UaX509::from_der(&der)
        .map_err(|_| not_a_cert("the OPC UA stack cannot read this certificate".to_string()))?;
    let thumbprint = thumbprint_hex(&cert.thumbprint());
    let dir = state_dir(data_dir, store, TrustState::Trusted);
    ensure_dir(&dir, false)?;
    let path = dir.join(CertificateStore::cert_file_name(&cert));
    let replaced: Vec<PathBuf> = copies_in(data_dir, store, &thumbprint)?
        .into_iter()
        .filter(|p| *p != path)
        .collect();
    write_atomic(&path, &der)?;
    for old in &replaced {
        std::fs::remove_file(old).map_err(|source| PkiError::Remove {
            path: old.clone(),
            source,
        })?;
    }
    info!(
        "{store}: trusted {} (uploaded){}",
        path.display(),
        if replaced.is_empty() {
            ""
        } else {
            ", older copies removed"
        }
    );
    Ok(AddedCert {
        store,
        thumbprint,
        subject: cert.subject_name(),
        issuer,
        path,
        replaced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{self_signed, CRL_PEM};
    use crate::{delete, list, reject, DeleteError};

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn pem_and_der_are_trusted_under_the_async_opcua_name() {
        let data = tempfile::tempdir().expect("tempdir");
        let (der, pem) = self_signed("plant client");
        let added = add_certificate(data.path(), Store::Server, &pem).expect("PEM added");
        let thumb = crate::x509text::sha1_hex(&der);
        assert_eq!(added.thumbprint, thumb);
        let name = format!("CN=plant client [{thumb}].der");
        assert_eq!(added.path, data.path().join("pki/trusted").join(&name));
        assert_eq!(
            std::fs::read(&added.path).expect("written"),
            der,
            "stored as the DER"
        );
        assert_eq!(
            added.issuer, added.subject,
            "self-signed: {}",
            added.subject
        );
        assert_eq!(added.subject, "CN=plant client,O=fxgate tests");

        let again = add_certificate(data.path(), Store::Server, &der).expect("DER added");
        assert_eq!(again.path, added.path);
        assert_eq!(names(&data.path().join("pki/trusted")), vec![name.clone()]);

        let user = add_certificate(data.path(), Store::User, &der).expect("user cert");
        assert_eq!(user.path, data.path().join("pki-user").join(&name));
        let listed = list(data.path()).expect("list");
        assert_eq!(listed.len(), 2);
        assert!(
            listed
                .iter()
                .all(|e| e.issuer == "CN=plant client,O=fxgate tests"),
            "{listed:?}"
        );
    }

    #[test]
    fn a_rejected_copy_makes_way_for_the_upload() {
        let data = tempfile::tempdir().expect("tempdir");
        let (der, _) = self_signed("was rejected");
        let added = add_certificate(data.path(), Store::Client, &der).expect("added");
        reject(data.path(), &added.thumbprint).expect("rejected");
        assert!(!added.path.exists());
        let back = add_certificate(data.path(), Store::Client, &der).expect("added again");
        assert_eq!(back.replaced.len(), 1, "{back:?}");
        assert!(names(&data.path().join("pki-client/rejected")).is_empty());
        assert!(back.path.exists());
    }

    #[test]
    fn garbage_a_crl_and_big_files_write_nothing() {
        let data = tempfile::tempdir().expect("tempdir");
        let (der, pem) = self_signed("x");
        let mut trailing = der.clone();
        trailing.extend_from_slice(b"more");
        let two = [pem.clone(), pem].concat();
        let cases: [(&[u8], &str); 5] = [
            (
                b"hello, I am not a certificate",
                "not a DER X.509 certificate",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
                "PEM",
            ),
            (&trailing, "extra bytes"),
            (&two, "2 certificates"),
            (CRL_PEM.as_bytes(), "this is a CRL"),
        ];
        for (bytes, why) in cases {
            match add_certificate(data.path(), Store::Server, bytes) {
                Err(e @ AddCertError::NotACertificate { .. }) => {
                    assert!(e.to_string().contains(why), "{e} should say {why}")
                }
                other => panic!("expected NotACertificate ({why}), got {other:?}"),
            }
        }
        let big = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(matches!(
            add_certificate(data.path(), Store::Server, &big),
            Err(AddCertError::TooLarge { size, max: MAX_UPLOAD_BYTES }) if size == MAX_UPLOAD_BYTES + 1
        ));
        assert!(!data.path().join("pki").exists(), "nothing written");
    }

    #[test]
    fn delete_removes_every_copy_in_the_chosen_stores() {
        let data = tempfile::tempdir().expect("tempdir");
        let (der, _) = self_signed("to delete");
        let a = add_certificate(data.path(), Store::Server, &der).expect("server");
        let b = add_certificate(data.path(), Store::User, &der).expect("user");
        let gone = delete(
            data.path(),
            Some(Store::User),
            &a.thumbprint.to_ascii_uppercase(),
        )
        .expect("deleted");
        assert_eq!(gone, vec![b.path.clone()]);
        assert!(a.path.exists() && !b.path.exists());
        assert!(matches!(
            delete(data.path(), Some(Store::Client), &a.thumbprint),
            Err(DeleteError::NoMatch { .. })
        ));
        assert_eq!(
            delete(data.path(), None, &a.thumbprint).expect("deleted"),
            vec![a.path.clone()]
        );
        assert!(list(data.path()).expect("list").is_empty());
    }
}
