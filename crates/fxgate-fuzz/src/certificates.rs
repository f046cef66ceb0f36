//! Certificates a peer sends: the OpenSecureChannel header the chunk guard reads the sender
//! certificate from, and the DER chain in it, judged against a store (issue 18 §1).

use std::sync::OnceLock;

use fxgate_opcua_server::opn_check::sender_certificate;
use fxgate_pki::{split_chain, verify_chain, ChainVerdict, PeerRole};

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
