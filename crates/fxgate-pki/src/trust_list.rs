//! A PKI directory's trust list as OPC 10000-12 §7.8.2 sees it: four lists of DER blobs
//! (trusted certificates, trusted CRLs, issuer certificates, issuer CRLs), read from and
//! written to the files that [`crate::chain`] and async-opcua read.
//!
//! Where each list lives, below a PKI directory:
//! - trusted certificates: `trusted/` (where async-opcua looks, `<CN> [<thumbprint>].der`) and
//!   `trusted/certs/`; not the certificates the chain check placed there itself
//!   ([`crate::CA_ACCEPTED`]), which are a cache of its verdicts, not the operator's trust;
//! - trusted CRLs: `trusted/crl/`, and the CRLs of `crl/` not issued by an issuer certificate;
//! - issuer certificates: `issuers/` and `issuers/certs/`;
//! - issuer CRLs: `issuers/crl/`, and the CRLs of `crl/` issued by an issuer certificate.
//!
//! A replaced list is validated whole before any file is touched.

use std::path::{Path, PathBuf};

use opcua::crypto::{CertificateStore, X509 as UaX509};
use openssl::x509::{X509Crl, X509};

use crate::ca_trust::read_list;
use crate::certfile::{cert_files, files_where};
use crate::layout::{ensure_dir, REJECTED_DIR, TRUSTED_DIR};
use crate::store::write_atomic;
use crate::x509text::sha1_hex;
use crate::{PkiError, CA_ACCEPTED, CRL_DIR, ISSUERS_DIR};

/// `SpecifiedLists` bit of the trusted certificates (OPC 10000-12 TrustListMasks).
pub const TRUSTED_CERTIFICATES: u32 = 1;
/// `SpecifiedLists` bit of the trusted CRLs.
pub const TRUSTED_CRLS: u32 = 2;
/// `SpecifiedLists` bit of the issuer certificates.
pub const ISSUER_CERTIFICATES: u32 = 4;
/// `SpecifiedLists` bit of the issuer CRLs.
pub const ISSUER_CRLS: u32 = 8;
/// Every list.
pub const ALL_LISTS: u32 = 15;

/// The four lists, each a list of DER blobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustListFiles {
    /// Trusted certificates (self-signed peers and trusted CAs).
    pub trusted_certificates: Vec<Vec<u8>>,
    /// CRLs of the trusted CAs.
    pub trusted_crls: Vec<Vec<u8>>,
    /// Intermediate CA certificates (chains only, not trusted themselves).
    pub issuer_certificates: Vec<Vec<u8>>,
    /// CRLs of the intermediate CAs.
    pub issuer_crls: Vec<Vec<u8>>,
}

/// Why a trust-list change was refused (nothing was changed) or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TrustListError {
    /// An entry of a certificate list is not one DER X.509 certificate.
    #[error("{list} #{index} is not a DER X.509 certificate")]
    NotACertificate {
        /// The list.
        list: &'static str,
        /// The entry's index in it.
        index: usize,
    },
    /// An entry of a CRL list is not one DER CRL.
    #[error("{list} #{index} is not a DER CRL")]
    NotACrl {
        /// The list.
        list: &'static str,
        /// The entry's index in it.
        index: usize,
    },
    /// An issuer certificate is not a CA certificate.
    #[error("issuer certificate #{index} is not a CA certificate (no basicConstraints CA:TRUE)")]
    NotACa {
        /// The entry's index.
        index: usize,
    },
    /// No certificate of that thumbprint is in that list.
    #[error("no certificate with thumbprint {thumbprint} in the {list}")]
    NotFound {
        /// The thumbprint asked for.
        thumbprint: String,
        /// The list searched.
        list: &'static str,
    },
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] PkiError),
}

const TRUSTED_LIST: &str = "trusted certificates";
const ISSUER_LIST: &str = "issuer certificates";

/// One file of a list: where it is and its DER.
struct Entry {
    path: PathBuf,
    der: Vec<u8>,
}

fn dirs(pki_dir: &Path, trusted: bool) -> [PathBuf; 2] {
    let top = pki_dir.join(if trusted { TRUSTED_DIR } else { ISSUERS_DIR });
    [top.clone(), top.join("certs")]
}

/// The certificates of the trusted (or issuer) list, as files and DER.
fn certificate_entries(pki_dir: &Path, trusted: bool) -> Result<Vec<Entry>, PkiError> {
    let placed = if trusted { read_list(pki_dir) } else { Default::default() };
    let mut out = Vec::new();
    for dir in dirs(pki_dir, trusted) {
        for path in cert_files(&dir)? {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let Ok(cert) = X509::from_der(&bytes).or_else(|_| X509::from_pem(&bytes)) else { continue };
            let Ok(der) = cert.to_der() else { continue };
            if !placed.contains(&sha1_hex(&der)) {
                out.push(Entry { path, der });
            }
        }
    }
    Ok(out)
}

/// The CRLs of the store, each with whether it belongs to the issuer list.
fn crl_entries(pki_dir: &Path) -> Result<Vec<(Entry, bool)>, PkiError> {
    let issuer_subjects: Vec<Vec<u8>> = certificate_entries(pki_dir, false)?
        .iter()
        .filter_map(|e| X509::from_der(&e.der).ok()?.subject_name().to_der().ok())
        .collect();
    let mut out = Vec::new();
    let shared = pki_dir.join(CRL_DIR);
    for (dir, fixed) in [(pki_dir.join("trusted/crl"), Some(false)), (pki_dir.join("issuers/crl"), Some(true)), (shared, None)] {
        let is_crl = |p: &Path| p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "crl" | "der" | "pem"));
        for path in files_where(&dir, is_crl)? {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let Ok(crl) = X509Crl::from_der(&bytes).or_else(|_| X509Crl::from_pem(&bytes)) else { continue };
            let Ok(der) = crl.to_der() else { continue };
            let issuer_list = fixed.unwrap_or_else(|| crl.issuer_name().to_der().is_ok_and(|n| issuer_subjects.contains(&n)));
            out.push((Entry { path, der }, issuer_list));
        }
    }
    Ok(out)
}

/// Reads the four lists of the store in `pki_dir` (unreadable files are left out).
pub fn read_trust_list(pki_dir: &Path) -> Result<TrustListFiles, PkiError> {
    let ders = |v: Vec<Entry>| v.into_iter().map(|e| e.der).collect::<Vec<_>>();
    let crls = crl_entries(pki_dir)?;
    let (issuer_crls, trusted_crls): (Vec<_>, Vec<_>) = crls.into_iter().partition(|(_, issuer)| *issuer);
    Ok(TrustListFiles {
        trusted_certificates: ders(certificate_entries(pki_dir, true)?),
        trusted_crls: trusted_crls.into_iter().map(|(e, _)| e.der).collect(),
        issuer_certificates: ders(certificate_entries(pki_dir, false)?),
        issuer_crls: issuer_crls.into_iter().map(|(e, _)| e.der).collect(),
    })
}

/// Whether `cert` is a CA certificate (basicConstraints CA:TRUE).
pub(crate) fn is_ca(cert: &X509) -> bool {
    cert.to_text().is_ok_and(|t| String::from_utf8_lossy(&t).contains("CA:TRUE"))
}

/// Parses `der` as exactly one DER certificate (async-opcua must read it too).
fn certificate(der: &[u8], list: &'static str, index: usize) -> Result<X509, TrustListError> {
    let bad = || TrustListError::NotACertificate { list, index };
    let cert = X509::from_der(der).map_err(|_| bad())?;
    if cert.to_der().ok().as_deref() != Some(der) || UaX509::from_der(der).is_err() {
        return Err(bad());
    }
    Ok(cert)
}

fn check_crl(der: &[u8], list: &'static str, index: usize) -> Result<(), TrustListError> {
    match X509Crl::from_der(der) {
        Ok(crl) if crl.to_der().ok().as_deref() == Some(der) => Ok(()),
        _ => Err(TrustListError::NotACrl { list, index }),
    }
}

/// Checks the lists `masks` names in `lists`: certificates (one canonical DER each, readable by
/// async-opcua too) and CRLs parse, issuers are CAs. [`replace_trust_list`] does this first.
pub fn validate_trust_list(masks: u32, lists: &TrustListFiles) -> Result<(), TrustListError> {
    if masks & TRUSTED_CERTIFICATES != 0 {
        for (i, der) in lists.trusted_certificates.iter().enumerate() {
            certificate(der, TRUSTED_LIST, i)?;
        }
    }
    if masks & ISSUER_CERTIFICATES != 0 {
        for (i, der) in lists.issuer_certificates.iter().enumerate() {
            if !is_ca(&certificate(der, ISSUER_LIST, i)?) {
                return Err(TrustListError::NotACa { index: i });
            }
        }
    }
    if masks & TRUSTED_CRLS != 0 {
        for (i, der) in lists.trusted_crls.iter().enumerate() {
            check_crl(der, "trusted CRLs", i)?;
        }
    }
    if masks & ISSUER_CRLS != 0 {
        for (i, der) in lists.issuer_crls.iter().enumerate() {
            check_crl(der, "issuer CRLs", i)?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> Result<(), PkiError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(PkiError::Remove { path: path.to_path_buf(), source }),
    }
}

/// Writes a certificate into the trusted (or issuer) list under async-opcua's name; a trusted
/// one's copy in `rejected/` is removed (async-opcua looks there first).
fn write_certificate(pki_dir: &Path, der: &[u8], trusted: bool) -> Result<(), PkiError> {
    let name = match UaX509::from_der(der) {
        Ok(c) => CertificateStore::cert_file_name(&c),
        Err(_) => format!("{}.der", sha1_hex(der)),
    };
    let dir = pki_dir.join(if trusted { TRUSTED_DIR } else { ISSUERS_DIR });
    ensure_dir(&dir, false)?;
    write_atomic(&dir.join(&name), der)?;
    if trusted {
        remove(&pki_dir.join(REJECTED_DIR).join(&name))?;
    }
    Ok(())
}

fn write_crl(pki_dir: &Path, der: &[u8], issuer_list: bool) -> Result<(), PkiError> {
    let dir = pki_dir.join(if issuer_list { "issuers/crl" } else { "trusted/crl" });
    ensure_dir(&dir, false)?;
    write_atomic(&dir.join(format!("{}.crl", sha1_hex(der))), der)
}

/// Replaces the lists `masks` names with those of `lists` (the others are kept), after
/// checking every new entry; nothing is changed when one is refused. Replacing the trusted
/// certificates also forgets the chain check's own placements, which it makes again for the
/// chains that still validate.
pub fn replace_trust_list(pki_dir: &Path, masks: u32, lists: &TrustListFiles) -> Result<(), TrustListError> {
    validate_trust_list(masks, lists)?;
    if masks & TRUSTED_CERTIFICATES != 0 {
        for dir in dirs(pki_dir, true) {
            for path in cert_files(&dir)? {
                remove(&path)?;
            }
        }
        remove(&pki_dir.join(CA_ACCEPTED))?;
        for der in &lists.trusted_certificates {
            write_certificate(pki_dir, der, true)?;
        }
    }
    if masks & ISSUER_CERTIFICATES != 0 {
        for e in certificate_entries(pki_dir, false)? {
            remove(&e.path)?;
        }
    }
    if masks & (TRUSTED_CRLS | ISSUER_CRLS) != 0 {
        for (e, issuer_list) in crl_entries(pki_dir)? {
            let replaced = if issuer_list { masks & ISSUER_CRLS != 0 } else { masks & TRUSTED_CRLS != 0 };
            if replaced {
                remove(&e.path)?;
            }
        }
    }
    if masks & ISSUER_CERTIFICATES != 0 {
        for der in &lists.issuer_certificates {
            write_certificate(pki_dir, der, false)?;
        }
    }
    if masks & TRUSTED_CRLS != 0 {
        for der in &lists.trusted_crls {
            write_crl(pki_dir, der, false)?;
        }
    }
    if masks & ISSUER_CRLS != 0 {
        for der in &lists.issuer_crls {
            write_crl(pki_dir, der, true)?;
        }
    }
    tracing::info!(pki = %pki_dir.display(), lists = masks, "trust list replaced");
    Ok(())
}

/// Adds one certificate to the trusted list (`trusted`) or the issuer list (a CA only).
pub fn add_trust_list_certificate(pki_dir: &Path, der: &[u8], trusted: bool) -> Result<(), TrustListError> {
    let list = if trusted { TRUSTED_LIST } else { ISSUER_LIST };
    let cert = certificate(der, list, 0)?;
    if !trusted && !is_ca(&cert) {
        return Err(TrustListError::NotACa { index: 0 });
    }
    write_certificate(pki_dir, der, trusted)?;
    tracing::info!(pki = %pki_dir.display(), thumbprint = %sha1_hex(der), list, "certificate added to the trust list");
    Ok(())
}

/// Removes the certificate whose SHA-1 thumbprint (hex, any case) is `thumbprint` from the
/// trusted or the issuer list, with the CRLs it issued.
pub fn remove_trust_list_certificate(pki_dir: &Path, thumbprint: &str, trusted: bool) -> Result<(), TrustListError> {
    let list = if trusted { TRUSTED_LIST } else { ISSUER_LIST };
    let wanted = thumbprint.trim().to_ascii_lowercase();
    let found: Vec<Entry> = certificate_entries(pki_dir, trusted)?.into_iter().filter(|e| sha1_hex(&e.der) == wanted).collect();
    if found.is_empty() {
        return Err(TrustListError::NotFound { thumbprint: wanted, list });
    }
    for e in &found {
        remove(&e.path)?;
        let Some(subject) = X509::from_der(&e.der).ok().and_then(|c| c.subject_name().to_der().ok()) else { continue };
        for (crl, _) in crl_entries(pki_dir)? {
            let issued = X509Crl::from_der(&crl.der).ok().and_then(|c| c.issuer_name().to_der().ok()).is_some_and(|n| n == subject);
            if issued {
                remove(&crl.path)?;
            }
        }
    }
    tracing::info!(pki = %pki_dir.display(), thumbprint = %wanted, list, "certificate removed from the trust list");
    Ok(())
}

/// The DER of every certificate filed in `rejected/`.
pub fn rejected_certificates(pki_dir: &Path) -> Result<Vec<Vec<u8>>, PkiError> {
    let mut out = Vec::new();
    for path in cert_files(&pki_dir.join(REJECTED_DIR))? {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        if let Ok(der) = X509::from_der(&bytes).or_else(|_| X509::from_pem(&bytes)).and_then(|c| c.to_der()) {
            out.push(der);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ca_cert, rsa_key};
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::x509::X509CrlBuilder;

    fn crl_of(ca: &X509, key: &openssl::pkey::PKey<openssl::pkey::Private>) -> Vec<u8> {
        let mut b = X509CrlBuilder::new().unwrap();
        b.set_issuer_name(ca.subject_name()).unwrap();
        b.set_last_update(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_next_update(&Asn1Time::days_from_now(30).unwrap()).unwrap();
        // authorityKeyIdentifier { keyIdentifier } and cRLNumber: OpenSSL's builder insists on both.
        let id = ca.subject_key_id().map(|i| i.as_slice().to_vec()).unwrap_or_else(|| vec![1; 20]);
        let mut aki = vec![0x30, id.len() as u8 + 2, 0x80, id.len() as u8];
        aki.extend(&id);
        let oid = openssl::asn1::Asn1Object::from_str("2.5.29.35").unwrap();
        let value = openssl::asn1::Asn1OctetString::new_from_bytes(&aki).unwrap();
        b.append_extension(openssl::x509::X509Extension::new_from_der(&oid, false, &value).unwrap()).unwrap();
        let oid = openssl::asn1::Asn1Object::from_str("2.5.29.20").unwrap();
        let value = openssl::asn1::Asn1OctetString::new_from_bytes(&[2, 1, 1]).unwrap();
        b.append_extension(openssl::x509::X509Extension::new_from_der(&oid, false, &value).unwrap()).unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build().unwrap().to_der().unwrap()
    }

    #[test]
    fn lists_are_replaced_read_back_and_edited() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path();
        let (k1, k2, k3) = (rsa_key(), rsa_key(), rsa_key());
        let root = ca_cert("root", &k1, None, true);
        let inter = ca_cert("inter", &k2, Some((&root, &k1)), true);
        let leaf = ca_cert("leaf", &k3, Some((&inter, &k2)), false);
        let lists = TrustListFiles {
            trusted_certificates: vec![root.to_der().unwrap()],
            trusted_crls: vec![crl_of(&root, &k1)],
            issuer_certificates: vec![inter.to_der().unwrap()],
            issuer_crls: vec![crl_of(&inter, &k2)],
        };
        replace_trust_list(pki, ALL_LISTS, &lists).unwrap();
        assert_eq!(read_trust_list(pki).unwrap(), lists);
        assert_eq!(
            crate::verify_chain(pki, std::slice::from_ref(&leaf), crate::PeerRole::Client).unwrap(),
            crate::ChainVerdict::Trusted,
            "the written lists are the ones the chain check reads"
        );

        // A refused entry changes nothing.
        let bad = TrustListFiles { issuer_certificates: vec![leaf.to_der().unwrap()], ..Default::default() };
        assert!(matches!(replace_trust_list(pki, ISSUER_CERTIFICATES, &bad), Err(TrustListError::NotACa { index: 0 })));
        let garbage = TrustListFiles { trusted_crls: vec![b"no".to_vec()], ..Default::default() };
        assert!(matches!(replace_trust_list(pki, TRUSTED_CRLS, &garbage), Err(TrustListError::NotACrl { .. })));
        assert_eq!(read_trust_list(pki).unwrap(), lists);

        // Only the named lists are replaced.
        replace_trust_list(pki, ISSUER_CRLS, &TrustListFiles::default()).unwrap();
        let now = read_trust_list(pki).unwrap();
        assert!(now.issuer_crls.is_empty());
        assert_eq!(now.trusted_crls, lists.trusted_crls);

        // Removing the root removes its CRL with it.
        let thumb = sha1_hex(&root.to_der().unwrap()).to_uppercase();
        remove_trust_list_certificate(pki, &thumb, true).unwrap();
        let now = read_trust_list(pki).unwrap();
        assert!(now.trusted_certificates.is_empty() && now.trusted_crls.is_empty());
        assert!(matches!(remove_trust_list_certificate(pki, &thumb, true), Err(TrustListError::NotFound { .. })));

        // Adding: an issuer must be a CA; a trusted certificate leaves rejected/.
        assert!(matches!(add_trust_list_certificate(pki, &leaf.to_der().unwrap(), false), Err(TrustListError::NotACa { .. })));
        let name = CertificateStore::cert_file_name(&UaX509::from_der(&leaf.to_der().unwrap()).unwrap());
        std::fs::create_dir_all(pki.join(REJECTED_DIR)).unwrap();
        std::fs::write(pki.join(REJECTED_DIR).join(&name), leaf.to_der().unwrap()).unwrap();
        assert_eq!(rejected_certificates(pki).unwrap(), vec![leaf.to_der().unwrap()]);
        add_trust_list_certificate(pki, &leaf.to_der().unwrap(), true).unwrap();
        assert!(rejected_certificates(pki).unwrap().is_empty());
        assert_eq!(read_trust_list(pki).unwrap().trusted_certificates, vec![leaf.to_der().unwrap()]);
    }

    #[test]
    fn the_chain_checks_own_placements_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path();
        let k = rsa_key();
        let own = ca_cert("placed", &k, None, false);
        let der = own.to_der().unwrap();
        std::fs::create_dir_all(pki.join(TRUSTED_DIR)).unwrap();
        std::fs::write(pki.join(TRUSTED_DIR).join("placed.der"), &der).unwrap();
        std::fs::write(pki.join(CA_ACCEPTED), format!("{}\n", sha1_hex(&der))).unwrap();
        assert!(read_trust_list(pki).unwrap().trusted_certificates.is_empty());
    }
}
