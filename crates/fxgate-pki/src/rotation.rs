//! Replacing the application instance certificate (OPC 10000-12 §7.10: CreateSigningRequest,
//! UpdateCertificate, ApplyChanges): a certificate signing request for the current or a new
//! key, the checks a CA-signed certificate must pass before it is taken, and writing it with
//! its key in place of the old pair (kept as `.previous`).

use std::net::IpAddr;
use std::path::Path;

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::x509::extension::{ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509Req, X509ReqBuilder, X509};

use crate::layout::set_mode;
use crate::store::write_atomic;
use crate::PkiError;

/// Why a signing request could not be made or a new certificate is refused.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The subject name is not `K=V` pairs separated by `/` or `,`, or OpenSSL refuses a key.
    #[error("subject name: {0}")]
    Subject(String),
    /// The bytes are not one DER X.509 certificate.
    #[error("not a DER X.509 certificate")]
    NotACertificate,
    /// The private key is not a PEM private key.
    #[error("the private key is not an unencrypted PEM private key")]
    NotAKey,
    /// The certificate's public key is not the key's.
    #[error("the certificate's public key does not belong to the private key")]
    KeyMismatch,
    /// The certificate does not name the server's ApplicationUri.
    #[error("the certificate's subjectAltName has no URI {0}")]
    UriMismatch(String),
    /// The certificate is not valid now.
    #[error("the certificate is not valid now")]
    TimeInvalid,
    /// An issuer certificate given with it is not its issuer, or its signature does not verify.
    #[error("the certificate is not signed by the issuer certificate given with it")]
    NotSignedByIssuer,
    /// OpenSSL failed.
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    /// The files could not be written.
    #[error(transparent)]
    Store(#[from] PkiError),
}

/// A new RSA 2048 key (the size of the self-signed certificate the gateway makes).
pub fn generate_key() -> Result<PKey<Private>, RotationError> {
    Ok(PKey::from_rsa(Rsa::generate(2048)?)?)
}

/// Reads an unencrypted PEM private key (PKCS#8 or PKCS#1). async-opcua writes its PKCS#8 key
/// without line breaks, which OpenSSL's PEM reader refuses: the base64 between the markers is
/// then decoded directly.
pub fn read_private_key(pem: &[u8]) -> Result<PKey<Private>, RotationError> {
    if let Ok(key) = PKey::private_key_from_pem(pem) {
        return Ok(key);
    }
    let text = std::str::from_utf8(pem).map_err(|_| RotationError::NotAKey)?;
    for (label, pkcs8) in [("PRIVATE KEY", true), ("RSA PRIVATE KEY", false)] {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let Some(body) = text.split_once(&begin).and_then(|(_, rest)| rest.split_once(&end)).map(|(b, _)| b) else { continue };
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = openssl::base64::decode_block(&b64).map_err(|_| RotationError::NotAKey)?;
        let key = if pkcs8 { PKey::private_key_from_pkcs8(&der) } else { Rsa::private_key_from_der(&der).and_then(PKey::from_rsa) };
        return key.map_err(|_| RotationError::NotAKey);
    }
    Err(RotationError::NotAKey)
}

/// Parses a subject such as `CN=fxgate/O=Plant/C=DE` (OPC 10000-12 separates with `/`; `,` is
/// taken too).
fn subject_name(text: &str) -> Result<openssl::x509::X509Name, RotationError> {
    let sep = if text.contains('/') { '/' } else { ',' };
    let mut name = X509NameBuilder::new()?;
    let mut any = false;
    for part in text.split(sep).map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(RotationError::Subject(format!("`{part}` is not KEY=VALUE")));
        };
        name.append_entry_by_text(k.trim(), v.trim()).map_err(|_| RotationError::Subject(format!("unknown attribute `{}`", k.trim())))?;
        any = true;
    }
    if !any {
        return Err(RotationError::Subject("empty".to_string()));
    }
    Ok(name.build())
}

/// A DER PKCS#10 request for `key`, with `subject` (or the current certificate's subject)
/// and the current certificate's subjectAltName (ApplicationUri, host names, addresses) and
/// the key usages of an application instance certificate, signed with SHA-256.
pub fn create_signing_request(current: &X509, key: &PKey<Private>, subject: Option<&str>) -> Result<Vec<u8>, RotationError> {
    let mut req = X509ReqBuilder::new()?;
    req.set_version(0)?;
    match subject {
        Some(s) => req.set_subject_name(&*subject_name(s)?)?,
        None => req.set_subject_name(current.subject_name())?,
    }
    req.set_pubkey(key)?;
    let mut extensions = Stack::new()?;
    if let Some(names) = current.subject_alt_names() {
        let mut san = SubjectAlternativeName::new();
        for n in &names {
            if let Some(uri) = n.uri() {
                san.uri(uri);
            } else if let Some(dns) = n.dnsname() {
                san.dns(dns);
            } else if let Some(ip) = n.ipaddress().and_then(ip_text) {
                san.ip(&ip);
            }
        }
        extensions.push(san.build(&req.x509v3_context(None))?)?;
    }
    extensions.push(KeyUsage::new().critical().digital_signature().non_repudiation().key_encipherment().data_encipherment().build()?)?;
    extensions.push(ExtendedKeyUsage::new().server_auth().client_auth().build()?)?;
    req.add_extensions(&extensions)?;
    req.sign(key, MessageDigest::sha256())?;
    let req: X509Req = req.build();
    Ok(req.to_der()?)
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(|b| IpAddr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes).ok().map(|b| IpAddr::from(b).to_string()),
        _ => None,
    }
}

/// Checks a new application certificate before it is taken: one DER certificate, for `key`,
/// naming `application_uri` in its subjectAltName, valid now, and signed by the first of
/// `issuers` when issuers are given.
pub fn check_new_certificate(der: &[u8], key: &PKey<Private>, application_uri: &str, issuers: &[Vec<u8>]) -> Result<X509, RotationError> {
    let cert = X509::from_der(der).map_err(|_| RotationError::NotACertificate)?;
    if cert.to_der().ok().as_deref() != Some(der) {
        return Err(RotationError::NotACertificate);
    }
    if !cert.public_key()?.public_eq(key) {
        return Err(RotationError::KeyMismatch);
    }
    let names_uri = cert.subject_alt_names().is_some_and(|names| names.iter().any(|n| n.uri() == Some(application_uri)));
    if !names_uri {
        return Err(RotationError::UriMismatch(application_uri.to_string()));
    }
    let now = openssl::asn1::Asn1Time::days_from_now(0)?;
    if cert.not_before() > now || cert.not_after() < now {
        return Err(RotationError::TimeInvalid);
    }
    if let Some(first) = issuers.first() {
        let issuer = X509::from_der(first).map_err(|_| RotationError::NotSignedByIssuer)?;
        let signed = issuer.public_key().and_then(|k| cert.verify(&k)).unwrap_or(false);
        if !signed || issuer.issued(&cert) != openssl::x509::X509VerifyResult::OK {
            return Err(RotationError::NotSignedByIssuer);
        }
    }
    Ok(cert)
}

/// Writes `cert` (DER, or PEM when the file is not `.der`) and `key` (PKCS#8 PEM, mode 0600
/// on unix) in place of the current pair, keeping the old files as `<name>.previous`.
pub fn install_certificate(cert_path: &Path, key_path: &Path, cert: &X509, key: &PKey<Private>) -> Result<(), RotationError> {
    let der = cert_path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("der"));
    let cert_bytes = if der { cert.to_der()? } else { cert.to_pem()? };
    let key_bytes = key.private_key_to_pem_pkcs8()?;
    for path in [cert_path, key_path] {
        if path.exists() {
            let mut previous = path.as_os_str().to_owned();
            previous.push(".previous");
            std::fs::copy(path, &previous).map_err(|source| PkiError::Write { path: previous.into(), source })?;
        }
    }
    write_atomic(key_path, &key_bytes)?;
    set_mode(key_path, 0o600)?;
    write_atomic(cert_path, &cert_bytes)?;
    tracing::info!(certificate = %cert_path.display(), "application certificate replaced (the previous one kept as .previous)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ca_cert, rsa_key};
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::x509::X509Builder;

    const URI: &str = "urn:host:fxgate";

    fn current(key: &PKey<Private>) -> X509 {
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap()).unwrap();
        let name = subject_name("CN=fxgate/O=fxgate").unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(10).unwrap()).unwrap();
        let san = SubjectAlternativeName::new().uri(URI).dns("host").ip("127.0.0.1").build(&b.x509v3_context(None, None)).unwrap();
        b.append_extension(san).unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    /// Signs a request as a CA would, copying its extensions.
    fn sign(req_der: &[u8], ca: &X509, ca_key: &PKey<Private>) -> X509 {
        let req = X509Req::from_der(req_der).unwrap();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(8).unwrap().to_asn1_integer().unwrap()).unwrap();
        b.set_subject_name(req.subject_name()).unwrap();
        b.set_issuer_name(ca.subject_name()).unwrap();
        b.set_pubkey(&req.public_key().unwrap()).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(10).unwrap()).unwrap();
        for e in req.extensions().unwrap() {
            b.append_extension(e).unwrap();
        }
        b.sign(ca_key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    #[test]
    fn a_request_is_signed_checked_and_installed() {
        let (old_key, new_key, ca_key) = (rsa_key(), generate_key().unwrap(), rsa_key());
        let now = current(&old_key);
        let ca = ca_cert("plant ca", &ca_key, None, true);
        let req_der = create_signing_request(&now, &new_key, Some("CN=fxgate line 3/O=Plant")).unwrap();
        let req = X509Req::from_der(&req_der).unwrap();
        assert!(req.verify(&req.public_key().unwrap()).unwrap(), "self-signed request");
        assert!(req.public_key().unwrap().public_eq(&new_key));
        let signed = sign(&req_der, &ca, &ca_key);
        let der = signed.to_der().unwrap();
        let issuers = vec![ca.to_der().unwrap()];
        assert!(check_new_certificate(&der, &new_key, URI, &issuers).is_ok());
        assert!(matches!(check_new_certificate(&der, &old_key, URI, &issuers), Err(RotationError::KeyMismatch)));
        assert!(matches!(check_new_certificate(&der, &new_key, "urn:other", &issuers), Err(RotationError::UriMismatch(_))));
        assert!(matches!(check_new_certificate(&der, &new_key, URI, &[now.to_der().unwrap()]), Err(RotationError::NotSignedByIssuer)));
        assert!(matches!(check_new_certificate(b"junk", &new_key, URI, &[]), Err(RotationError::NotACertificate)));

        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.der"), dir.path().join("private.pem"));
        std::fs::write(&cert_path, now.to_der().unwrap()).unwrap();
        std::fs::write(&key_path, old_key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        install_certificate(&cert_path, &key_path, &signed, &new_key).unwrap();
        assert_eq!(std::fs::read(&cert_path).unwrap(), der);
        assert!(read_private_key(&std::fs::read(&key_path).unwrap()).unwrap().public_eq(&new_key));
        assert_eq!(std::fs::read(dir.path().join("cert.der.previous")).unwrap(), now.to_der().unwrap());
    }

    #[test]
    fn keys_without_line_breaks_are_read() {
        let key = rsa_key();
        let pem = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let one_line: String = pem.lines().collect();
        assert!(read_private_key(one_line.as_bytes()).unwrap().public_eq(&key));
        let rsa = String::from_utf8(key.rsa().unwrap().private_key_to_pem().unwrap()).unwrap();
        assert!(read_private_key(rsa.lines().collect::<String>().as_bytes()).unwrap().public_eq(&key));
        assert!(matches!(read_private_key(b"-----BEGIN PRIVATE KEY-----AAAA-----END PRIVATE KEY-----"), Err(RotationError::NotAKey)));
    }

    #[test]
    fn subjects_are_parsed_or_refused() {
        assert!(subject_name("CN=a/O=b/C=DE").is_ok());
        assert!(subject_name("CN=a, O=b").is_ok());
        assert!(matches!(subject_name("CN"), Err(RotationError::Subject(_))));
        assert!(matches!(subject_name("XX=1"), Err(RotationError::Subject(_))));
        assert!(matches!(subject_name(""), Err(RotationError::Subject(_))));
    }
}
