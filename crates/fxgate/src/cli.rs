//! Command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// fxgate — an industrial OPC UA gateway.
#[derive(Debug, Parser)]
#[command(name = "fxgate", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (on the embedded default configuration unless --config is given).
    Run {
        /// Configuration file (TOML).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Data directory: PKI, logs.
        #[arg(long, default_value = "./fxgate-data")]
        data_dir: PathBuf,
    },
    /// Validate a configuration file fully and report every error with file, line and field.
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
    /// Manage the certificate trust lists.
    Pki {
        /// What to do.
        #[command(subcommand)]
        action: PkiAction,
        /// Data directory.
        #[arg(long, default_value = "./fxgate-data", global = true)]
        data_dir: PathBuf,
    },
    /// Print the embedded default configuration: a starting point for `--config` (the
    /// service install writes it to /etc/fxgate/fxgate.toml).
    DefaultConfig,
    /// Manage users.
    Users {
        /// What to do.
        #[command(subcommand)]
        action: UsersAction,
    },
}

/// `fxgate pki …`
#[derive(Debug, Subcommand)]
pub enum PkiAction {
    /// List trusted and rejected certificates with subject, thumbprint and validity.
    List,
    /// Move a rejected certificate to the trusted folder.
    Trust {
        /// The first hex digits (at least 4) of the certificate's SHA-1 thumbprint.
        thumbprint: String,
    },
    /// Move a trusted certificate to the rejected folder.
    Reject {
        /// The first hex digits (at least 4) of the certificate's SHA-1 thumbprint.
        thumbprint: String,
    },
    /// Add an intermediate CA certificate (DER or PEM): used to build the chains of peer
    /// certificates, not trusted itself. Trusted CAs go in `<store>/trusted/`.
    AddIssuer {
        /// The certificate file.
        file: PathBuf,
        /// The store: `server` (pki/, clients of the OPC UA server) or `client` (pki-client/,
        /// upstream servers).
        #[arg(long, default_value = "server")]
        store: String,
    },
    /// Add a certificate revocation list (DER or PEM) to a store's `crl/`.
    AddCrl {
        /// The CRL file.
        file: PathBuf,
        /// The store: `server`, `client` or `user`.
        #[arg(long, default_value = "server")]
        store: String,
    },
}

/// `fxgate users …`
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Read a password from standard input and print its argon2id hash for `password_hash`.
    Hash,
    /// Add a user to a configuration file: the password is read from standard input and
    /// stored as its argon2id hash; the file is validated as a whole and written atomically.
    Add {
        /// The user name.
        name: String,
        /// Its roles, comma-separated: read, write, configure, connection_admin, security_admin.
        #[arg(long, default_value = "read", value_delimiter = ',')]
        roles: Vec<String>,
        /// The configuration file (made with `fxgate default-config > FILE`).
        #[arg(long)]
        config: PathBuf,
    },
    /// Remove a user from a configuration file.
    Remove {
        /// The user name.
        name: String,
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// List the users of a configuration file with their roles (never their hashes).
    List {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}
