//! Certificate revocation lists kept in a store's `crl/` directory (`pki/crl/`,
//! `pki-client/crl/`, `pki-user/crl/`), as DER files named `<id>.crl`, the id being the
//! SHA-1 of the DER (40 lowercase hex digits).
//!
//! The OPC UA server checks the chains of its clients' certificates against those in `pki/crl/`
//! ([`crate::chain`]); the upstream connections and user certificates do not consult theirs
//! yet (issue 18).

use std::path::{Path, PathBuf};

use openssl::x509::X509Crl;
use tracing::info;

use crate::certfile::files_where;
use crate::layout::ensure_dir;
use crate::store::{write_atomic, Store};
use crate::upload::{check_size, Unreadable};
use crate::x509text::{dn_string, is_certificate, looks_pem, sha1_hex, time_string};
use crate::PkiError;

/// The sub-directory of a store that holds its CRLs.
pub const CRL_DIR: &str = "crl";

/// What fxgate does with stored CRLs today, for pages and answers that list them.
pub const CRL_NOTE: &str =
    "checked for the OPC UA server's client certificates (pki/crl/); stored only for upstream servers and users (issue 18)";

/// A CRL found by [`list_crls`] or stored by [`add_crl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// The store it is in.
    pub store: Store,
    /// The CRL file.
    pub path: PathBuf,
    /// The SHA-1 of its DER, lowercase hex (of the file's bytes when unreadable): what
    /// [`delete_crl`](crate::delete_crl) takes.
    pub id: String,
    /// Issuer distinguished name, or `<unreadable: reason>` when the file cannot be parsed.
    pub issuer: String,
    /// When it was issued, `YYYY-MM-DDTHH:MM:SSZ`; empty when unreadable.
    pub this_update: String,
    /// When the next one is due, `YYYY-MM-DDTHH:MM:SSZ`; empty when it names none or is
    /// unreadable.
    pub next_update: String,
    /// How many serial numbers it revokes.
    pub revoked: usize,
}

impl CrlEntry {
    /// The entry of a parsed CRL.
    fn of(store: Store, path: PathBuf, id: String, crl: &X509Crl) -> Self {
        Self {
            store,
            path,
            id,
            issuer: dn_string(crl.issuer_name()),
            this_update: time_string(crl.last_update()),
            next_update: crl.next_update().map(time_string).unwrap_or_default(),
            revoked: crl.get_revoked().map_or(0, |r| r.len()),
        }
    }
}

/// Why [`add_crl`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum AddCrlError {
    /// The file is larger than [`MAX_UPLOAD_BYTES`](crate::MAX_UPLOAD_BYTES).
    #[error("the file has {size} bytes, more than the {max} a CRL upload may have")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a CRL in DER or PEM.
    #[error("not a CRL: {reason}")]
    NotACrl {
        /// What it is instead, or why it cannot be read.
        reason: String,
    },
    /// The CRL could not be written.
    #[error(transparent)]
    Store(#[from] PkiError),
}

/// Parses a CRL from DER or PEM bytes into the CRL and its DER.
fn parse_crl(bytes: &[u8]) -> Result<(X509Crl, Vec<u8>), Unreadable> {
    let pem = looks_pem(bytes);
    let crl = if pem {
        X509Crl::from_pem(bytes).map_err(|_| Unreadable::NoPemBlock("X509 CRL"))?
    } else {
        X509Crl::from_der(bytes).map_err(|_| Unreadable::NotDer("CRL"))?
    };
    let der = crl.to_der().map_err(|_| Unreadable::Encoding)?;
    if !pem && der != bytes {
        return Err(Unreadable::NotCanonical);
    }
    Ok((crl, der))
}

/// Stores a CRL given as DER or PEM in `store`'s `crl/` directory as `<id>.crl` (DER), after
/// parsing it; nothing is written when it does not parse. Storing the same CRL again is
/// harmless. Returns its entry.
pub fn add_crl(data_dir: &Path, store: Store, bytes: &[u8]) -> Result<CrlEntry, AddCrlError> {
    check_size(bytes).map_err(|(size, max)| AddCrlError::TooLarge { size, max })?;
    let (crl, der) = parse_crl(bytes).map_err(|reason| {
        let reason = if is_certificate(bytes) {
            "this is a certificate (upload it as a certificate)".to_string()
        } else {
            reason.to_string()
        };
        AddCrlError::NotACrl { reason }
    })?;
    let id = sha1_hex(&der);
    let dir = crl_dir(data_dir, store);
    ensure_dir(&dir, false)?;
    let path = dir.join(format!("{id}.crl"));
    write_atomic(&path, &der)?;
    info!("{store}: stored CRL {}", path.display());
    Ok(CrlEntry::of(store, path, id, &crl))
}

/// `<data_dir>/<store>/crl`.
fn crl_dir(data_dir: &Path, store: Store) -> PathBuf {
    store.dir(data_dir).join(CRL_DIR)
}

/// The `.crl` files (regular files) of `store`'s `crl/` directory, sorted; none when it is
/// missing.
fn crl_files(data_dir: &Path, store: Store) -> Result<Vec<PathBuf>, PkiError> {
    files_where(&crl_dir(data_dir, store), |path| {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("crl"))
    })
}

/// Reads one CRL file into its entry (an unreadable one as `<unreadable: reason>`).
fn read_entry(store: Store, path: PathBuf) -> CrlEntry {
    let unreadable = |path: PathBuf, id: String, reason: String| CrlEntry {
        store,
        path,
        id,
        issuer: format!("<unreadable: {reason}>"),
        this_update: String::new(),
        next_update: String::new(),
        revoked: 0,
    };
    match std::fs::read(&path) {
        Ok(bytes) => match parse_crl(&bytes) {
            Ok((crl, der)) => CrlEntry::of(store, path, sha1_hex(&der), &crl),
            Err(reason) => unreadable(path, sha1_hex(&bytes), reason.to_string()),
        },
        Err(e) => unreadable(path, String::new(), e.to_string()),
    }
}

/// The CRLs of `store` with their ids.
pub(crate) fn crl_files_with_ids(
    data_dir: &Path,
    store: Store,
) -> Result<Vec<(PathBuf, String)>, PkiError> {
    Ok(crl_files(data_dir, store)?
        .into_iter()
        .map(|path| {
            let e = read_entry(store, path);
            (e.path, e.id)
        })
        .collect())
}

/// Lists the CRLs in the `crl/` directories of `pki/`, `pki-client/` and `pki-user/`, by
/// store and file name. A file that cannot be read or parsed is listed with issuer
/// `<unreadable: reason>`; only a directory that exists but cannot be listed is an error.
pub fn list_crls(data_dir: &Path) -> Result<Vec<CrlEntry>, PkiError> {
    let mut entries = Vec::new();
    for store in Store::ALL {
        for path in crl_files(data_dir, store)? {
            entries.push(read_entry(store, path));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delete_crl;
    use crate::testutil::{self_signed, CRL_ID, CRL_PEM};

    #[test]
    fn a_crl_is_stored_as_der_named_by_its_id_and_listed() {
        let data = tempfile::tempdir().expect("tempdir");
        let added = add_crl(data.path(), Store::Server, CRL_PEM.as_bytes()).expect("added");
        let expected = CrlEntry {
            store: Store::Server,
            path: data.path().join("pki/crl").join(format!("{CRL_ID}.crl")),
            id: CRL_ID.to_string(),
            issuer: "CN=Test CA,O=fxgate tests,C=DE".to_string(),
            this_update: "2026-12-06T04:57:38Z".to_string(),
            next_update: "2027-01-05T04:57:38Z".to_string(),
            revoked: 2,
        };
        assert_eq!(added, expected);
        let der = std::fs::read(&added.path).expect("written");
        assert_eq!(crate::x509text::sha1_hex(&der), CRL_ID);
        // The DER again, into another store: the same id.
        let user = add_crl(data.path(), Store::User, &der).expect("DER added");
        assert_eq!(
            user.path,
            data.path()
                .join("pki-user/crl")
                .join(format!("{CRL_ID}.crl"))
        );
        std::fs::write(data.path().join("pki-client/crl.txt"), b"ignored").ok();
        std::fs::create_dir_all(data.path().join("pki-client/crl")).expect("dir");
        std::fs::write(data.path().join("pki-client/crl/broken.crl"), b"junk").expect("junk");
        let listed = list_crls(data.path()).expect("listed");
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0], expected);
        assert_eq!(listed[1].store, Store::Client);
        assert!(
            listed[1].issuer.starts_with("<unreadable: "),
            "{:?}",
            listed[1]
        );
        assert_eq!(listed[2].store, Store::User);
        // A user certificate store's CRL directory is not a certificate.
        assert!(crate::list(data.path()).expect("list").is_empty());

        // The unreadable one is deleted by the id it is listed with.
        let broken_id = listed[1].id.clone();
        assert_eq!(
            delete_crl(data.path(), None, &broken_id)
                .expect("deleted")
                .len(),
            1
        );
        assert_eq!(
            delete_crl(data.path(), None, CRL_ID)
                .expect("deleted")
                .len(),
            2
        );
        assert!(list_crls(data.path()).expect("listed").is_empty());
    }

    #[test]
    fn not_a_crl_writes_nothing() {
        let data = tempfile::tempdir().expect("tempdir");
        let (der, _) = self_signed("a certificate");
        let cases: [(&[u8], &str); 3] = [
            (&der, "this is a certificate"),
            (b"garbage", "not a DER X.509 CRL"),
            (
                b"-----BEGIN X509 CRL-----\n!!\n-----END X509 CRL-----\n",
                "PEM",
            ),
        ];
        for (bytes, why) in cases {
            match add_crl(data.path(), Store::Client, bytes) {
                Err(e @ AddCrlError::NotACrl { .. }) => {
                    assert!(e.to_string().contains(why), "{e} should say {why}")
                }
                other => panic!("expected NotACrl ({why}), got {other:?}"),
            }
        }
        let big = vec![0u8; crate::MAX_UPLOAD_BYTES + 1];
        assert!(matches!(
            add_crl(data.path(), Store::Client, &big),
            Err(AddCrlError::TooLarge { .. })
        ));
        assert!(!data.path().join("pki-client").exists(), "nothing written");
    }
}
