//! Directory layout of the PKI directories inside the data dir.

use std::path::{Path, PathBuf};

use crate::PkiError;

/// Directory (relative to the data dir) of the server application PKI.
pub const SERVER_PKI: &str = "pki";
/// Directory (relative to the data dir) of the client PKI, used for upstream connections.
pub const CLIENT_PKI: &str = "pki-client";
/// Directory (relative to the data dir) of the trusted X.509 user certificates.
pub const USER_PKI: &str = "pki-user";

/// Own certificate, relative to a PKI dir (as async-opcua's `CertificateStore` reads it).
pub(crate) const OWN_CERT: &str = "own/cert.der";
/// Own private key, relative to a PKI dir (as async-opcua's `CertificateStore` reads it).
pub(crate) const OWN_KEY: &str = "private/private.pem";
/// Sub-directory of trusted peer certificates.
pub(crate) const TRUSTED_DIR: &str = "trusted";
/// Sub-directory of rejected peer certificates.
pub(crate) const REJECTED_DIR: &str = "rejected";

/// Creates `pki/{own,private,trusted,rejected}`, `pki-client/{own,private,trusted,rejected}`
/// and `pki-user/` below `data_dir` (and `data_dir` itself) if missing.
///
/// On unix the `private` directories are (re)set to mode 0700.
pub fn ensure_layout(data_dir: &Path) -> Result<(), PkiError> {
    for pki in [SERVER_PKI, CLIENT_PKI] {
        ensure_pki_dirs(&data_dir.join(pki))?;
    }
    ensure_dir(&data_dir.join(USER_PKI), false)
}

/// Creates `own`, `private` (mode 0700 on unix), `trusted` and `rejected` below `pki_dir`.
pub(crate) fn ensure_pki_dirs(pki_dir: &Path) -> Result<(), PkiError> {
    ensure_dir(&pki_dir.join("own"), false)?;
    ensure_dir(&pki_dir.join("private"), true)?;
    ensure_dir(&pki_dir.join(TRUSTED_DIR), false)?;
    ensure_dir(&pki_dir.join(REJECTED_DIR), false)
}

/// Creates `path` (and its parents); with `private`, restricts it to its owner on unix.
pub(crate) fn ensure_dir(path: &Path, private: bool) -> Result<(), PkiError> {
    std::fs::create_dir_all(path).map_err(|source| PkiError::CreateDir {
        path: path.to_path_buf(),
        source,
    })?;
    if private {
        set_mode(path, 0o700)?;
    }
    Ok(())
}

/// Sets the unix permission bits of `path`; a no-op elsewhere.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), PkiError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(
            |source| PkiError::Permissions {
                path: path.to_path_buf(),
                source,
            },
        )?;
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
    }
    Ok(())
}

/// `<pki_dir>/own/cert.der`.
pub fn own_cert_path(pki_dir: &Path) -> PathBuf {
    pki_dir.join(OWN_CERT)
}

/// `<pki_dir>/private/private.pem`.
pub fn own_key_path(pki_dir: &Path) -> PathBuf {
    pki_dir.join(OWN_KEY)
}
