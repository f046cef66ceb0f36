//! Certificates and CRLs read with OpenSSL: their names, times and digests as text, in the
//! forms the rest of the crate shows (RFC 4514 names like async-opcua's subjects, UTC times
//! `YYYY-MM-DDTHH:MM:SSZ`, lowercase hex digests).

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::x509::{X509Crl, X509NameRef, X509};

use crate::certfile::TIME_FORMAT;

/// Whether `bytes` look like PEM (a `-----BEGIN` line) rather than DER.
pub(crate) fn looks_pem(bytes: &[u8]) -> bool {
    bytes.windows(10).any(|w| w == b"-----BEGIN")
}

/// Whether `bytes` parse as a certificate (DER or PEM): to tell a user who uploaded one as a
/// CRL what it is.
pub(crate) fn is_certificate(bytes: &[u8]) -> bool {
    X509::from_der(bytes).is_ok() || X509::from_pem(bytes).is_ok()
}

/// Whether `bytes` parse as a CRL (DER or PEM): to tell a user who uploaded one as a
/// certificate what it is.
pub(crate) fn is_crl(bytes: &[u8]) -> bool {
    X509Crl::from_der(bytes).is_ok() || X509Crl::from_pem(bytes).is_ok()
}

/// A distinguished name as RFC 4514 text, the last RDN first (`CN=plant,O=acme,C=DE`), as
/// async-opcua shows a certificate's subject.
pub(crate) fn dn_string(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|entry| {
            let key = entry
                .object()
                .nid()
                .short_name()
                .map(str::to_ascii_uppercase)
                .unwrap_or_else(|_| entry.object().to_string());
            let value = match entry.data().to_string() {
                Ok(s) => escape_value(&s),
                Err(_) => format!("#{}", hex(entry.data().as_slice())),
            };
            format!("{key}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(",")
}

/// An attribute value escaped as RFC 4514 asks (and as async-opcua's subjects are).
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\x00'..='\x1f' | '\x7f' => out.push_str(&format!("\\{:02x}", c as u8)),
            _ => out.push(c),
        }
    }
    out
}

/// An ASN.1 time as `YYYY-MM-DDTHH:MM:SSZ` (UTC), or `?` when it cannot be read.
pub(crate) fn time_string(t: &Asn1TimeRef) -> String {
    unix_seconds(t)
        .and_then(|s| opcua::types::DateTimeUtc::from_timestamp(s, 0))
        .map_or_else(|| "?".to_string(), |t| t.format(TIME_FORMAT).to_string())
}

/// Seconds since 1970 of an ASN.1 time.
fn unix_seconds(t: &Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    Some(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

/// The SHA-1 digest of `bytes` as 40 lowercase hex digits (a thumbprint, or a CRL's id).
pub(crate) fn sha1_hex(bytes: &[u8]) -> String {
    hex(&openssl::sha::sha1(bytes))
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The issuer of a certificate (given as DER) as RFC 4514 text; empty when OpenSSL cannot
/// read it.
pub(crate) fn issuer_of_der(der: &[u8]) -> String {
    X509::from_der(der).map_or_else(|_| String::new(), |c| dn_string(c.issuer_name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::x509::X509NameBuilder;

    #[test]
    fn names_are_rfc4514_last_rdn_first_and_escaped() {
        let mut b = X509NameBuilder::new().expect("builder");
        b.append_entry_by_text("C", "DE").expect("C");
        b.append_entry_by_text("O", "Acme, Inc.").expect("O");
        b.append_entry_by_text("CN", " plant+1").expect("CN");
        let name = b.build();
        assert_eq!(dn_string(&name), "CN=\\ plant\\+1,O=Acme\\, Inc.,C=DE");
    }

    #[test]
    fn times_are_utc_iso() {
        let t = Asn1Time::from_unix(1_700_000_000).expect("time");
        assert_eq!(time_string(&t), "2023-11-14T22:13:20Z");
        let early = Asn1Time::from_str("19991231235959Z").expect("time");
        assert_eq!(time_string(&early), "1999-12-31T23:59:59Z");
    }

    #[test]
    fn digests_and_pem_detection() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert!(looks_pem(b"junk\n-----BEGIN X509 CRL-----\n"));
        assert!(!looks_pem(b"\x30\x82\x01\x00"));
        assert!(!is_certificate(b"not a certificate") && !is_crl(b"not a crl"));
    }
}
