//! The certificate check of the chunk guard ([`crate::chunk_guard`]): the sender certificate of
//! every OpenSecureChannel request is in plaintext (the asymmetric security header, OPC 10000-6
//! §6.7.2), so the guard judges it before async-opcua does: a CA-issued certificate whose chain
//! validates is put where async-opcua finds it trusted, a refused one is answered with the
//! status code of the failed check ([`fxgate_pki::judge_peer_certificate`]).
//!
//! Why in front of async-opcua: its 0.19 `CertificateStore` trusts certificate files by exact
//! name only, with no chain, no CRL and no hook to add them.

use std::path::PathBuf;
use std::sync::Arc;

use fxgate_pki::{judge_peer_certificate, PeerDecision, PeerRole};

/// Where the server's PKI is (`<data-dir>/pki`), and the last certificate judged on a
/// connection (a channel renewal sends the same one again).
#[derive(Clone)]
pub struct OpnCheck {
    pki_dir: Arc<PathBuf>,
}

/// What the check says of an OPN chunk.
#[derive(Debug)]
pub enum OpnVerdict {
    /// Forward it.
    Pass,
    /// Refuse the connection with this status code and reason.
    Refuse(u32, String),
}

impl OpnCheck {
    /// The check against the PKI in `pki_dir`.
    pub fn new(pki_dir: PathBuf) -> Self {
        Self { pki_dir: Arc::new(pki_dir) }
    }

    /// Judges the OPN chunk `chunk` (header included); `last` is the sender certificate judged
    /// last on this connection, updated here.
    pub async fn judge(&self, chunk: &[u8], last: &mut Option<Vec<u8>>) -> OpnVerdict {
        let Some(sender) = sender_certificate(chunk) else { return OpnVerdict::Pass };
        if last.as_deref() == Some(sender) {
            return OpnVerdict::Pass;
        }
        let sent = sender.to_vec();
        let dir = self.pki_dir.clone();
        let judged = tokio::task::spawn_blocking(move || judge_peer_certificate(&dir, &sent, PeerRole::Client)).await;
        *last = Some(sender.to_vec());
        match judged {
            Ok(Ok(PeerDecision::Forward)) => OpnVerdict::Pass,
            Ok(Ok(PeerDecision::Refuse(r))) => OpnVerdict::Refuse(r.status.bits(), format!("{}: {}", r.status, r.reason)),
            // Not certificates, or OpenSSL failed: async-opcua judges the bytes as before.
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "OPN sender certificate not judged");
                OpnVerdict::Pass
            }
            Err(e) => {
                tracing::warn!(error = %e, "the certificate check failed to run");
                OpnVerdict::Pass
            }
        }
    }
}

/// The SenderCertificate of an OPN chunk with a security policy other than None.
pub fn sender_certificate(chunk: &[u8]) -> Option<&[u8]> {
    // header (8), SecureChannelId (4), SecurityPolicyUri (String), SenderCertificate (ByteString)
    let mut at = 12;
    let uri = read_bytes(chunk, &mut at)?;
    if uri.is_empty() || uri.ends_with(b"#None") {
        return None;
    }
    let cert = read_bytes(chunk, &mut at)?;
    (!cert.is_empty()).then_some(cert)
}

/// An OPC UA String / ByteString at `*at` (Int32 length, -1 for null, then the bytes).
fn read_bytes<'a>(b: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len = i32::from_le_bytes(b.get(*at..*at + 4)?.try_into().ok()?);
    *at += 4;
    if len <= 0 {
        return Some(&[]);
    }
    let end = at.checked_add(len as usize)?;
    let out = b.get(*at..end)?;
    *at = end;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opn(uri: &[u8], cert: Option<&[u8]>) -> Vec<u8> {
        let mut c = b"OPNF\0\0\0\0".to_vec();
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&(uri.len() as i32).to_le_bytes());
        c.extend_from_slice(uri);
        match cert {
            Some(d) => {
                c.extend_from_slice(&(d.len() as i32).to_le_bytes());
                c.extend_from_slice(d);
            }
            None => c.extend_from_slice(&(-1i32).to_le_bytes()),
        }
        c.extend_from_slice(&(-1i32).to_le_bytes());
        c
    }

    #[test]
    fn the_sender_certificate_is_found_only_with_security() {
        let uri = b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
        assert_eq!(sender_certificate(&opn(uri, Some(b"\x30\x03abc"))), Some(&b"\x30\x03abc"[..]));
        assert_eq!(sender_certificate(&opn(uri, None)), None);
        assert_eq!(sender_certificate(&opn(b"http://opcfoundation.org/UA/SecurityPolicy#None", Some(b"x"))), None);
        // Truncated or lying lengths: nothing, never a panic.
        let full = opn(uri, Some(b"\x30\x03abc"));
        for cut in 0..full.len() {
            let _ = sender_certificate(&full[..cut]);
        }
        let mut lying = opn(uri, Some(b"abc"));
        let at = 12 + 4 + uri.len();
        lying[at..at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
        assert_eq!(sender_certificate(&lying), None);
    }
}
