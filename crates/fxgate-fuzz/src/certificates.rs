//! Certificates a peer sends: the OpenSecureChannel header the chunk guard reads the sender
//! certificate from, and the DER chain in it, judged against a store (issue 18 §1); and the
//! trust list a client writes through GDS push management.

use std::sync::OnceLock;

use fxgate_opcua_server::gds::trust_file::{decode_trust_list, encode_trust_list};
use fxgate_opcua_server::opn_check::sender_certificate;
use fxgate_pki::{split_chain, validate_trust_list, verify_chain, ChainVerdict, PeerRole, TrustListFiles, ALL_LISTS};

/// An empty PKI directory: every CA-issued chain is incomplete there, and nothing is written.
fn empty_store() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| std::env::temp_dir().join(format!("fxgate-fuzz-pki-{}", std::process::id())))
}

/// An OPN chunk as a client sends it. The sender certificate found lies inside the chunk; a
/// chain that parses has its first certificate first, and is never judged trusted by a store
/// that trusts nothing.
pub fn opn(data: &[u8]) {
    let Some(cert) = sender_certificate(data) else { return };
    let start = cert.as_ptr() as usize - data.as_ptr() as usize;
    assert!(start + cert.len() <= data.len(), "the certificate lies outside the chunk");
    let Ok(chain) = split_chain(cert) else { return };
    assert!(!chain.is_empty(), "a chain that parses holds a certificate");
    if let Ok(verdict) = verify_chain(empty_store(), &chain, PeerRole::Client) {
        assert!(verdict != ChainVerdict::Trusted, "a store that trusts nothing trusted a chain");
    }
}

/// A TrustList file as a client writes it (Open(6), Write…, CloseAndUpdate): what decodes
/// names only known lists, encodes back to the same lists, and is checked without a panic;
/// a list that passes the check holds only entries that decode again after a round trip.
pub fn trust_list(data: &[u8]) {
    let Ok((masks, files)) = decode_trust_list(data) else { return };
    assert_eq!(masks & !ALL_LISTS, 0, "unknown SpecifiedLists bits kept");
    let masked = |f: &TrustListFiles| {
        let pick = |bit: u32, v: &Vec<Vec<u8>>| if masks & bit != 0 { v.clone() } else { Vec::new() };
        TrustListFiles {
            trusted_certificates: pick(fxgate_pki::TRUSTED_CERTIFICATES, &f.trusted_certificates),
            trusted_crls: pick(fxgate_pki::TRUSTED_CRLS, &f.trusted_crls),
            issuer_certificates: pick(fxgate_pki::ISSUER_CERTIFICATES, &f.issuer_certificates),
            issuer_crls: pick(fxgate_pki::ISSUER_CRLS, &f.issuer_crls),
        }
    };
    let again = decode_trust_list(&encode_trust_list(files.clone(), masks));
    assert_eq!(again.map(|(m, f)| (m, masked(&f))).ok(), Some((masks, masked(&files))), "the lists do not survive a round trip");
    let _ = validate_trust_list(masks, &files);
}
