//! The error type of this crate.

use std::io;
use std::path::PathBuf;

/// Errors from certificate store management and password hashing.
///
/// Every variant caused by a file or directory names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A directory could not be created.
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The permissions of a file or directory could not be set.
    #[error("cannot set permissions of {path}: {source}")]
    Permissions {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A directory could not be listed.
    #[error("cannot list directory {path}: {source}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be moved (renamed).
    #[error("cannot move {from} to {to}: {source}")]
    Move {
        /// The file being moved.
        from: PathBuf,
        /// The destination.
        to: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be removed.
    #[error("cannot remove {path}: {source}")]
    Remove {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A file does not hold a usable certificate.
    #[error("{path}: not a valid certificate: {reason}")]
    InvalidCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate and key pair could not be created.
    #[error("cannot create certificate {path}: {reason}")]
    CreateCertificate {
        /// The certificate file that was to be written.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No certificate in the trusted or rejected directories matches a thumbprint prefix.
    #[error("no certificate in pki/ or pki-client/ matches thumbprint prefix `{prefix}`")]
    NoMatch {
        /// The prefix as given.
        prefix: String,
    },
    /// A thumbprint prefix matches certificates with different thumbprints.
    #[error("thumbprint prefix `{prefix}` is ambiguous, it matches {}", candidates.join(", "))]
    Ambiguous {
        /// The prefix as given.
        prefix: String,
        /// The full (lowercase hex) thumbprints it matches, sorted.
        candidates: Vec<String>,
    },
    /// A thumbprint prefix is too short, too long or not hexadecimal.
    #[error("bad thumbprint prefix `{prefix}`: {reason}")]
    BadPrefix {
        /// The prefix as given.
        prefix: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A password could not be hashed.
    #[error("cannot hash password: {reason}")]
    PasswordHash {
        /// What went wrong.
        reason: String,
    },
}
