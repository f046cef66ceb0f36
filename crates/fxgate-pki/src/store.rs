//! Listing the certificate stores and moving peer certificates between trusted and rejected.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use opcua::crypto::{CertificateStore, X509};
use tracing::{debug, info};

use crate::certfile::{
    cert_files, cert_format, not_after_string, not_before_string, read_cert, CertFormat,
};
use crate::layout::{ensure_dir, CLIENT_PKI, REJECTED_DIR, SERVER_PKI, TRUSTED_DIR, USER_PKI};
use crate::user_certs::thumbprint_hex;
use crate::x509text::issuer_of_der;
use crate::PkiError;

/// Minimum number of hex digits of a thumbprint prefix.
const MIN_PREFIX_LEN: usize = 4;
/// Hex digits of a full SHA-1 thumbprint.
const THUMBPRINT_HEX_LEN: usize = 40;

/// One of the certificate stores in the data dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Store {
    /// `pki/`: the server's application PKI (peers are OPC UA clients).
    Server,
    /// `pki-client/`: the PKI of upstream (client) connections (peers are OPC UA servers).
    Client,
    /// `pki-user/`: trusted X.509 user certificates.
    User,
}

impl Store {
    /// The store's directory name below the data dir (`pki`, `pki-client`, `pki-user`).
    pub fn dir_name(self) -> &'static str {
        match self {
            Store::Server => SERVER_PKI,
            Store::Client => CLIENT_PKI,
            Store::User => USER_PKI,
        }
    }

    /// Short lowercase label: `server`, `client` or `user`.
    pub fn label(self) -> &'static str {
        match self {
            Store::Server => "server",
            Store::Client => "client",
            Store::User => "user",
        }
    }

    /// The store of a [`label`](Self::label) (`server`, `client`, `user`), if it is one.
    pub fn from_label(label: &str) -> Option<Store> {
        Store::ALL.into_iter().find(|s| s.label() == label)
    }

    /// The three stores, in listing order.
    pub const ALL: [Store; 3] = [Store::Server, Store::Client, Store::User];

    /// The directory of the store below the data dir.
    pub(crate) fn dir(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.dir_name())
    }

    /// The states a certificate can have in this store (a user certificate is trusted by its file
    /// in `pki-user/`, or filed in `pki-user/rejected/` by the chain check at a login).
    pub(crate) fn states(self) -> &'static [TrustState] {
        match self {
            Store::User => &[TrustState::Trusted, TrustState::Rejected],
            Store::Server | Store::Client => &[TrustState::Trusted, TrustState::Rejected],
        }
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.label())
    }
}

/// Whether a certificate is in a store's trusted or rejected directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrustState {
    /// In `trusted/` (for user certificates: directly in `pki-user/`).
    Trusted,
    /// In `rejected/`.
    Rejected,
}

impl TrustState {
    /// Short lowercase label: `trusted` or `rejected`.
    pub fn label(self) -> &'static str {
        match self {
            TrustState::Trusted => "trusted",
            TrustState::Rejected => "rejected",
        }
    }

    /// The sub-directory of a PKI dir holding certificates in this state.
    fn dir_name(self) -> &'static str {
        match self {
            TrustState::Trusted => TRUSTED_DIR,
            TrustState::Rejected => REJECTED_DIR,
        }
    }
}

impl fmt::Display for TrustState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.label())
    }
}

/// A certificate file found by [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEntry {
    /// The store it is in.
    pub store: Store,
    /// Trusted or rejected.
    pub state: TrustState,
    /// The certificate file.
    pub path: PathBuf,
    /// Subject distinguished name, or `<unreadable: reason>` when the file cannot be parsed.
    pub subject: String,
    /// Issuer distinguished name (the subject again for a self-signed certificate); empty
    /// when unreadable.
    pub issuer: String,
    /// SHA-1 thumbprint, lowercase hex; empty when unreadable.
    pub thumbprint: String,
    /// Start of validity, `YYYY-MM-DDTHH:MM:SSZ`; empty when unreadable.
    pub not_before: String,
    /// End of validity, `YYYY-MM-DDTHH:MM:SSZ`; empty when unreadable.
    pub not_after: String,
}

impl CertEntry {
    /// A column header line aligned with the `Display` output of entries.
    pub fn header() -> String {
        format!(
            "{:<6}  {:<8}  {:<40}  {:<20}  {:<20}  {}  {}",
            "STORE", "STATE", "THUMBPRINT", "NOT BEFORE", "NOT AFTER", "SUBJECT", "FILE"
        )
    }
}

impl fmt::Display for CertEntry {
    /// One line: store, state, thumbprint, validity, subject and file, in aligned columns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{:<6}  {:<8}  {:<40}  {:<20}  {:<20}  {}  {}",
            self.store,
            self.state,
            or_dash(&self.thumbprint),
            or_dash(&self.not_before),
            or_dash(&self.not_after),
            self.subject,
            self.path.display()
        )
    }
}

/// The directory of certificates of `store` in `state`.
pub(crate) fn state_dir(data_dir: &Path, store: Store, state: TrustState) -> PathBuf {
    match store {
        Store::User if state == TrustState::Trusted => data_dir.join(USER_PKI),
        Store::User | Store::Server | Store::Client => store.dir(data_dir).join(state.dir_name()),
    }
}

/// Lists the trusted and rejected certificates of `pki/` and `pki-client/`, and the user
/// certificates in `pki-user/` (trusted) and `pki-user/rejected/`; `.der` and `.pem` files, sorted by store, state
/// and file name. Missing directories are skipped.
///
/// A file that cannot be read or parsed is listed with subject `<unreadable: reason>` and
/// empty thumbprint and dates rather than failing the listing; only a directory that exists
/// but cannot be listed is an error.
pub fn list(data_dir: &Path) -> Result<Vec<CertEntry>, PkiError> {
    let places = Store::ALL
        .into_iter()
        .flat_map(|store| store.states().iter().map(move |state| (store, *state)));
    let mut entries = Vec::new();
    for (store, state) in places {
        for path in cert_files(&state_dir(data_dir, store, state))? {
            let entry = match read_cert(&path) {
                Ok(cert) => CertEntry {
                    store,
                    state,
                    subject: cert.subject_name(),
                    issuer: cert
                        .to_der()
                        .map_or_else(|_| String::new(), |der| issuer_of_der(&der)),
                    thumbprint: thumbprint_hex(&cert.thumbprint()),
                    not_before: not_before_string(&cert),
                    not_after: not_after_string(&cert),
                    path,
                },
                Err(e) => CertEntry {
                    store,
                    state,
                    subject: format!("<unreadable: {}>", short_reason(&e)),
                    issuer: String::new(),
                    thumbprint: String::new(),
                    not_before: String::new(),
                    not_after: String::new(),
                    path,
                },
            };
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// The reason of a read/parse error without the path (the entry shows the path already).
fn short_reason(e: &PkiError) -> String {
    match e {
        PkiError::Read { source, .. } => source.to_string(),
        PkiError::InvalidCertificate { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Trusts the peer certificate whose thumbprint starts with `thumbprint_prefix`
/// (case-insensitive hex, at least 4 digits) in `pki/` and `pki-client/`.
///
/// In each store holding it, a rejected copy is moved to `trusted/` under the name
/// async-opcua looks for (`<CN> [<thumbprint hex>].der`, `.pem` files are converted to DER)
/// and other copies of it in that store are removed. A certificate already trusted under
/// that name is left alone (idempotent). Returns the trusted file of each store holding it.
///
/// Errors: [`PkiError::BadPrefix`], [`PkiError::NoMatch`], [`PkiError::Ambiguous`] (prefix
/// matches certificates with different thumbprints; nothing is changed), or an I/O error.
pub fn trust(data_dir: &Path, thumbprint_prefix: &str) -> Result<Vec<PathBuf>, PkiError> {
    set_state(data_dir, thumbprint_prefix, TrustState::Trusted)
}

/// Rejects the peer certificate whose thumbprint starts with `thumbprint_prefix`: the
/// reverse of [`trust`] (trusted → rejected), with the same matching rules and errors.
pub fn reject(data_dir: &Path, thumbprint_prefix: &str) -> Result<Vec<PathBuf>, PkiError> {
    set_state(data_dir, thumbprint_prefix, TrustState::Rejected)
}

/// A parsed peer certificate file.
struct Found {
    store: Store,
    path: PathBuf,
    cert: X509,
    thumbprint: String,
}

/// Moves every copy of the certificate selected by `prefix` into the `target` directory.
fn set_state(data_dir: &Path, prefix: &str, target: TrustState) -> Result<Vec<PathBuf>, PkiError> {
    let wanted = normalize_prefix(prefix)?;
    let mut found = Vec::new();
    for store in [Store::Server, Store::Client] {
        for state in [TrustState::Trusted, TrustState::Rejected] {
            for path in cert_files(&state_dir(data_dir, store, state))? {
                match read_cert(&path) {
                    Ok(cert) => found.push(Found {
                        store,
                        thumbprint: thumbprint_hex(&cert.thumbprint()),
                        path,
                        cert,
                    }),
                    Err(e) => debug!("ignoring {e}"),
                }
            }
        }
    }
    let thumbprint =
        select_thumbprint(found.iter().map(|f| f.thumbprint.as_str()), &wanted, prefix)?;
    let mut placed = Vec::new();
    for store in [Store::Server, Store::Client] {
        let copies: Vec<&Found> = found
            .iter()
            .filter(|f| f.store == store && f.thumbprint == thumbprint)
            .collect();
        if let Some(first) = copies.first() {
            placed.push(place(data_dir, store, target, &first.cert, &copies)?);
        }
    }
    Ok(placed)
}

/// Lowercase hex prefix, or `BadPrefix`.
fn normalize_prefix(prefix: &str) -> Result<String, PkiError> {
    let trimmed = prefix.trim();
    let bad = |reason: &str| PkiError::BadPrefix {
        prefix: prefix.to_string(),
        reason: reason.to_string(),
    };
    if !trimmed.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("only hex digits 0-9 and a-f are allowed"));
    }
    if trimmed.len() < MIN_PREFIX_LEN {
        return Err(bad("at least 4 hex digits are needed"));
    }
    if trimmed.len() > THUMBPRINT_HEX_LEN {
        return Err(bad("longer than a thumbprint (40 hex digits)"));
    }
    Ok(trimmed.to_ascii_lowercase())
}

/// The single distinct thumbprint starting with `wanted`, or `NoMatch` / `Ambiguous`.
fn select_thumbprint<'a>(
    thumbprints: impl Iterator<Item = &'a str>,
    wanted: &str,
    prefix: &str,
) -> Result<String, PkiError> {
    let matching: BTreeSet<&str> = thumbprints.filter(|t| t.starts_with(wanted)).collect();
    let mut iter = matching.iter();
    match (iter.next(), iter.next()) {
        (None, _) => Err(PkiError::NoMatch {
            prefix: prefix.to_string(),
        }),
        (Some(only), None) => Ok((*only).to_string()),
        (Some(_), Some(_)) => Err(PkiError::Ambiguous {
            prefix: prefix.to_string(),
            candidates: matching.iter().map(|t| (*t).to_string()).collect(),
        }),
    }
}

/// Puts `cert` (present in `store` as `copies`) into the `target` directory under its
/// canonical file name, removing the other copies. Returns the canonical path.
fn place(
    data_dir: &Path,
    store: Store,
    target: TrustState,
    cert: &X509,
    copies: &[&Found],
) -> Result<PathBuf, PkiError> {
    let dest_dir = state_dir(data_dir, store, target);
    ensure_dir(&dest_dir, false)?;
    let dest = dest_dir.join(CertificateStore::cert_file_name(cert));
    let mut kept: Option<&Path> = None;
    if copies.iter().any(|c| c.path == dest) {
        kept = Some(&dest);
    } else if let Some(src) = copies
        .iter()
        .find(|c| cert_format(&c.path) == Some(CertFormat::Der))
    {
        std::fs::rename(&src.path, &dest).map_err(|source| PkiError::Move {
            from: src.path.clone(),
            to: dest.clone(),
            source,
        })?;
        info!("{store}: {} -> {}", src.path.display(), dest.display());
        kept = Some(&src.path);
    } else {
        let source_path = copies
            .first()
            .map(|c| c.path.as_path())
            .unwrap_or(dest.as_path());
        let der = cert.to_der().map_err(|_| PkiError::InvalidCertificate {
            path: source_path.to_path_buf(),
            reason: "cannot encode as DER".to_string(),
        })?;
        write_atomic(&dest, &der)?;
        info!(
            "{store}: {} -> {} (as DER)",
            source_path.display(),
            dest.display()
        );
    }
    for copy in copies {
        if copy.path != dest && Some(copy.path.as_path()) != kept {
            std::fs::remove_file(&copy.path).map_err(|source| PkiError::Remove {
                path: copy.path.clone(),
                source,
            })?;
            info!("{store}: removed {} (now {})", copy.path.display(), target);
        }
    }
    Ok(dest)
}

/// Writes `bytes` to a temporary file next to `dest` and renames it into place.
pub(crate) fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|source| PkiError::Write {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, dest).map_err(|source| PkiError::Move {
        from: tmp.clone(),
        to: dest.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_validated_and_lowercased() {
        assert_eq!(
            normalize_prefix(" ABcd12 ").ok(),
            Some("abcd12".to_string())
        );
        for bad in [
            "abc",
            "",
            "xyz1",
            "ab:cd:ef",
            "0123456789012345678901234567890123456789a",
        ] {
            assert!(
                matches!(normalize_prefix(bad), Err(PkiError::BadPrefix { .. })),
                "{bad:?} should be a bad prefix"
            );
        }
    }

    #[test]
    fn thumbprint_selection() {
        let thumbs = ["abcd0001", "abcd0002", "abcd0001", "ffff0000"];
        let pick = |p: &str| select_thumbprint(thumbs.iter().copied(), p, p);
        assert_eq!(pick("abcd0001").ok(), Some("abcd0001".to_string()));
        assert_eq!(pick("ffff").ok(), Some("ffff0000".to_string()));
        match pick("abcd") {
            Err(PkiError::Ambiguous { candidates, .. }) => {
                assert_eq!(candidates, vec!["abcd0001", "abcd0002"])
            }
            other => panic!("expected Ambiguous, got {other:?}"),
        }
        assert!(matches!(pick("1234"), Err(PkiError::NoMatch { .. })));
    }

    #[test]
    fn display_is_aligned_with_header() {
        let entry = CertEntry {
            store: Store::User,
            state: TrustState::Trusted,
            path: PathBuf::from("pki-user/x.pem"),
            subject: "<unreadable: bad>".to_string(),
            issuer: String::new(),
            thumbprint: String::new(),
            not_before: String::new(),
            not_after: String::new(),
        };
        let line = entry.to_string();
        let header = CertEntry::header();
        assert!(line.starts_with("user    trusted   -  "));
        assert_eq!(line.find("<unreadable"), header.find("SUBJECT"));
    }
}
