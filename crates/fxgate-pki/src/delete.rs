//! Deleting a certificate or a CRL from the stores, chosen by its whole thumbprint (a CRL by
//! its id, the SHA-1 of its DER), never by a path.

use std::path::{Path, PathBuf};

use tracing::{debug, info};

use crate::certfile::{cert_files, read_cert};
use crate::crl::crl_files_with_ids;
use crate::store::{state_dir, Store};
use crate::user_certs::thumbprint_hex;
use crate::PkiError;

/// Hex digits of a full SHA-1 thumbprint.
const THUMBPRINT_HEX_LEN: usize = 40;

/// Why [`delete`] or [`delete_crl`] did nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// The thumbprint (or CRL id) is not 40 hex digits.
    #[error("`{given}` is not a thumbprint: 40 hex digits are needed")]
    BadThumbprint {
        /// What was given.
        given: String,
    },
    /// Nothing in the stores searched has this thumbprint (or CRL id).
    #[error("no {what} with thumbprint {thumbprint} in {stores}")]
    NoMatch {
        /// `certificate` or `CRL`.
        what: &'static str,
        /// The thumbprint, lowercase.
        thumbprint: String,
        /// The stores searched, e.g. `pki/, pki-client/, pki-user/`.
        stores: String,
    },
    /// A store could not be read or a file not removed.
    #[error(transparent)]
    Store(#[from] PkiError),
}

/// A whole thumbprint (40 hex digits, surrounding blanks ignored) in lowercase.
pub(crate) fn full_thumbprint(given: &str) -> Result<String, DeleteError> {
    let t = given.trim();
    if t.len() == THUMBPRINT_HEX_LEN && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(DeleteError::BadThumbprint {
            given: given.to_string(),
        })
    }
}

/// The stores `store` names: that one, or all three.
fn stores(store: Option<Store>) -> Vec<Store> {
    store.map_or_else(|| Store::ALL.to_vec(), |s| vec![s])
}

/// `pki/, pki-client/` for the error message.
fn store_names(stores: &[Store]) -> String {
    stores
        .iter()
        .map(|s| format!("{}/", s.dir_name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The certificate files of `store` (trusted and rejected) whose thumbprint is `thumbprint`
/// (lowercase hex). Unreadable files are skipped.
pub(crate) fn copies_in(
    data_dir: &Path,
    store: Store,
    thumbprint: &str,
) -> Result<Vec<PathBuf>, PkiError> {
    let mut found = Vec::new();
    for state in store.states() {
        for path in cert_files(&state_dir(data_dir, store, *state))? {
            match read_cert(&path) {
                Ok(cert) if thumbprint_hex(&cert.thumbprint()) == thumbprint => found.push(path),
                Ok(_) => {}
                Err(e) => debug!("ignoring {e}"),
            }
        }
    }
    Ok(found)
}

/// Removes `files`, logging each.
fn remove_all(files: &[PathBuf]) -> Result<(), PkiError> {
    for path in files {
        std::fs::remove_file(path).map_err(|source| PkiError::Remove {
            path: path.clone(),
            source,
        })?;
        info!("removed {}", path.display());
    }
    Ok(())
}

/// Deletes the certificate whose whole thumbprint is `thumbprint` (40 hex digits, any case)
/// from `store`, or from all three stores when `None`: every file of it, trusted or rejected.
/// Returns the files removed. A peer presenting it again is then unknown (async-opcua files
/// it in `rejected/`), and a user certificate no longer logs in.
///
/// Errors: [`DeleteError::BadThumbprint`], [`DeleteError::NoMatch`] (nothing removed), or a
/// store error.
pub fn delete(
    data_dir: &Path,
    store: Option<Store>,
    thumbprint: &str,
) -> Result<Vec<PathBuf>, DeleteError> {
    let wanted = full_thumbprint(thumbprint)?;
    let searched = stores(store);
    let mut files = Vec::new();
    for s in &searched {
        files.extend(copies_in(data_dir, *s, &wanted)?);
    }
    finish(files, "certificate", wanted, &searched)
}

/// Deletes the CRL whose id (the SHA-1 of its DER, 40 hex digits) is `id` from `store`'s
/// `crl/` directory, or from those of all three stores when `None`. Returns the files
/// removed. Errors as [`delete`].
pub fn delete_crl(
    data_dir: &Path,
    store: Option<Store>,
    id: &str,
) -> Result<Vec<PathBuf>, DeleteError> {
    let wanted = full_thumbprint(id)?;
    let searched = stores(store);
    let mut files = Vec::new();
    for s in &searched {
        for (path, crl_id) in crl_files_with_ids(data_dir, *s)? {
            if crl_id == wanted {
                files.push(path);
            }
        }
    }
    finish(files, "CRL", wanted, &searched)
}

/// Removes `files`, or says that there are none.
fn finish(
    files: Vec<PathBuf>,
    what: &'static str,
    thumbprint: String,
    searched: &[Store],
) -> Result<Vec<PathBuf>, DeleteError> {
    if files.is_empty() {
        return Err(DeleteError::NoMatch {
            what,
            thumbprint,
            stores: store_names(searched),
        });
    }
    remove_all(&files)?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_thumbprints_are_taken() {
        let t = "AB".repeat(20);
        assert_eq!(
            full_thumbprint(&format!(" {t} ")).ok(),
            Some("ab".repeat(20))
        );
        for bad in [
            "abcd",
            "",
            &"g".repeat(40),
            &"a".repeat(41),
            "../../etc/passwd",
        ] {
            assert!(
                matches!(full_thumbprint(bad), Err(DeleteError::BadThumbprint { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn nothing_to_delete_is_no_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = "0".repeat(40);
        match delete(dir.path(), None, &t) {
            Err(e @ DeleteError::NoMatch { .. }) => {
                assert_eq!(
                    e.to_string(),
                    format!("no certificate with thumbprint {t} in pki/, pki-client/, pki-user/")
                )
            }
            other => panic!("expected NoMatch, got {other:?}"),
        }
        assert!(matches!(
            delete_crl(dir.path(), Some(Store::User), &t),
            Err(DeleteError::NoMatch { what: "CRL", .. })
        ));
    }
}
