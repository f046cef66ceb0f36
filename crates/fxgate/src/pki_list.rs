//! `fxgate pki list`, `add-issuer` and `add-crl`: the stores with the chain state of every
//! certificate, their intermediate CAs and CRLs (issue 18 §1).

use std::path::{Path, PathBuf};

use fxgate_pki::{AddCertError, AddCrlError, PkiError, Store};

/// Why a `fxgate pki` command failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiCommandError {
    /// Reading or changing a store failed.
    #[error(transparent)]
    Store(#[from] PkiError),
    /// The file is not a certificate that can be added.
    #[error(transparent)]
    Certificate(#[from] AddCertError),
    /// The file is not a CRL that can be added.
    #[error(transparent)]
    Crl(#[from] AddCrlError),
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--store` names no store.
    #[error("unknown store {0:?} (server, client or user)")]
    UnknownStore(String),
}

fn store_of(label: &str) -> Result<Store, PkiCommandError> {
    Store::from_label(label).ok_or_else(|| PkiCommandError::UnknownStore(label.to_owned()))
}

fn read(file: &Path) -> Result<Vec<u8>, PkiCommandError> {
    std::fs::read(file).map_err(|source| PkiCommandError::Read { path: file.to_path_buf(), source })
}

/// Prints every certificate with its chain state, then the intermediate CAs and the CRLs.
pub fn print(data_dir: &Path) -> Result<(), PkiCommandError> {
    let entries = fxgate_pki::list(data_dir)?;
    if entries.is_empty() {
        println!("no certificates under {}", data_dir.display());
    }
    for e in &entries {
        println!("{e}");
        println!("        {}", fxgate_pki::chain_state(data_dir, e.store, &e.path));
    }
    for store in Store::ALL {
        let dir = data_dir.join(store.dir_name()).join(fxgate_pki::ISSUERS_DIR);
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for f in files {
            println!("{store:<6}  issuer    {}", f.display());
        }
    }
    for c in fxgate_pki::list_crls(data_dir)? {
        println!("{:<6}  crl       {}  issuer {}  next update {}  {} revoked", c.store, c.path.display(), c.issuer, c.next_update, c.revoked);
    }
    Ok(())
}

/// `fxgate pki add-issuer FILE --store S`.
pub fn add_issuer(data_dir: &Path, file: &Path, store: &str) -> Result<(), PkiCommandError> {
    let path = fxgate_pki::add_issuer(data_dir, store_of(store)?, &read(file)?)?;
    println!("issuer added: {}", path.display());
    Ok(())
}

/// `fxgate pki add-crl FILE --store S`.
pub fn add_crl(data_dir: &Path, file: &Path, store: &str) -> Result<(), PkiCommandError> {
    let c = fxgate_pki::add_crl(data_dir, store_of(store)?, &read(file)?)?;
    println!("CRL added: {} (issuer {}, {} revoked)", c.path.display(), c.issuer, c.revoked);
    Ok(())
}
