//! Test helpers: certificates made with OpenSSL, a CRL made with `openssl ca -gencrl`.

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};

/// A CRL of `C=DE, O=fxgate tests, CN=Test CA` revoking serials 0x1001 and 0x1002, issued
/// 2026-12-06T04:57:38Z, next update 2027-01-05T04:57:38Z.
pub(crate) const CRL_PEM: &str = "-----BEGIN X509 CRL-----
MIIBuzCBpAIBATANBgkqhkiG9w0BAQsFADA2MQswCQYDVQQGEwJERTEVMBMGA1UE
CgwMZnhnYXRlIHRlc3RzMRAwDgYDVQQDDAdUZXN0IENBFw0yNjEyMDYwNDU3Mzha
Fw0yNzAxMDUwNDU3MzhaMCowEwICEAEXDTI0MDEwMTAwMDAwMFowEwICEAIXDTI0
MDEwMTAwMDAwMFqgDjAMMAoGA1UdFAQDAgEBMA0GCSqGSIb3DQEBCwUAA4IBAQBz
J1ifjr3Hs4d9jKit0csftYFAqFdd8iVgnLdOGOwxhNgqQiQR1iDmw03cWVTxSFVh
NzcHL2giicPMYf2iOzvhVFq/5HKxRaXXvWfGhIu2t+e89VnSLb0sluHhX5IHdexD
zwAeSPAEFpn2QgUrR/hskpNQXGSLxeTNUJPrnzUHNXebvonZCbv8QHHpDTMw0A3H
5vLyHHCiocI40TpDTaLvU50c4/sm8vrBdtcl9Z8tdOtErRu9ocTXm5Qm/2NEl3QL
RTGM+Xut3Axx+S34IxJnr37b8TGpq+wCY8womiY4n3wCtOf7gRElJS2SGDVE+gdv
ygI8wZ4hc0qH7M1JwW/q
-----END X509 CRL-----
";

/// The id (SHA-1 of the DER) of [`CRL_PEM`].
pub(crate) const CRL_ID: &str = "37230b51034491d95d716bad5516c4989f18b1e5";

/// A self-signed certificate with subject `O=fxgate tests, CN=<cn>`, as (DER, PEM).
pub(crate) fn self_signed(cn: &str) -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("O", "fxgate tests").expect("O");
    name.append_entry_by_text("CN", cn).expect("CN");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("version");
    let serial = BigNum::from_u32(42)
        .and_then(|n| n.to_asn1_integer())
        .expect("serial");
    b.set_serial_number(&serial).expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(&name).expect("issuer");
    b.set_pubkey(&key).expect("key");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("now"))
        .expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(30).expect("later"))
        .expect("na");
    b.sign(&key, MessageDigest::sha256()).expect("sign");
    let cert = b.build();
    (cert.to_der().expect("der"), cert.to_pem().expect("pem"))
}

/// A fresh 2048-bit RSA key.
pub(crate) fn rsa_key() -> openssl::pkey::PKey<openssl::pkey::Private> {
    PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey")
}

/// A certificate for `cn`, signed by `issuer` (itself when `None`), a CA or not.
pub(crate) fn ca_cert(
    cn: &str,
    own: &openssl::pkey::PKey<openssl::pkey::Private>,
    issuer: Option<(&openssl::x509::X509, &openssl::pkey::PKey<openssl::pkey::Private>)>,
    ca: bool,
) -> openssl::x509::X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("CN");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("version");
    b.set_serial_number(&BigNum::from_u32(7).and_then(|n| n.to_asn1_integer()).expect("serial")).expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name())).expect("issuer");
    b.set_pubkey(own).expect("key");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("now")).expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(30).expect("later")).expect("na");
    if ca {
        let bc = openssl::x509::extension::BasicConstraints::new().critical().ca().build().expect("bc");
        b.append_extension(bc).expect("bc");
    }
    b.sign(issuer.map_or(own, |(_, k)| k), MessageDigest::sha256()).expect("sign");
    b.build()
}
