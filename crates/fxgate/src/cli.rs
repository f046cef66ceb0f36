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
}

/// `fxgate users …`
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Read a password from standard input and print its argon2id hash for `password_hash`.
    Hash,
}
