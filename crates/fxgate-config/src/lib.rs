//! fxgate's configuration: one TOML file, validated fully before anything starts.
//! Every error names the file, the line and the field.

#![warn(missing_docs)]

pub mod checks;
mod error;
mod file;
mod gateway;
mod line;
mod locate;
pub mod meta;
mod model;
pub mod persist;
pub mod redact;
mod section;
pub mod udp_url;
pub mod users;
mod validate;

use std::path::{Path, PathBuf};

pub use checks::{check_hash, check_name};
pub use error::{ConfigError, Invalid};
pub use file::{CheckText, ConfigFile, Gateway, GatewayRef};
pub use line::{expand_appdir, split_hosts, BackupConfig, LineConfig, LineMode, TlsConfig};
pub use model::{HttpConfig, LogConfig, Role, ServerConfig, UserConfig};
pub use users::UserDirectory;
pub use section::{Check, Claim, Claims, DeclaredSource, Known, Resource, Section};
pub use fxgate_core::TagType;

use locate::Locator;

/// Name shown for the embedded default configuration in messages.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded default config>";

/// Reads, parses and validates a configuration file.
pub fn load<C: ConfigFile>(path: &Path) -> Result<C, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the file: {e}"),
        }]
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, path, base)
}

/// Parses and validates `text`, which came from `file`; relative paths in it are
/// resolved against `config_dir`.
pub fn parse<C: ConfigFile>(text: &str, file: &Path, config_dir: &Path) -> Result<C, Vec<ConfigError>> {
    let locator = Locator::new(text);
    let at = |offset: Option<usize>, field: String, message: String| {
        let (line, column) = offset.map(|o| locator.line_col(o)).unwrap_or((0, 0));
        ConfigError {
            file: file.to_path_buf(),
            line,
            column,
            field,
            message,
        }
    };
    let config: C = match toml::from_str(text) {
        Ok(c) => c,
        Err(e) => {
            let offset = e.span().map(|s| s.start);
            let field = offset
                .and_then(|o| locator.field_at(o))
                .unwrap_or_default()
                .to_string();
            // toml's messages may span lines, and some syntax errors come with none at all.
            let message = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let message = if message.is_empty() {
                "invalid TOML: a value is missing or malformed here".to_string()
            } else {
                message
            };
            return Err(vec![at(offset, field, message)]);
        }
    };
    let problems = validate::validate(&config, config_dir);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems
            .into_iter()
            .map(|p| at(locator.offset_of(&p.field), p.field, p.message))
            .collect())
    }
}

/// Resolves a path from the configuration against the directory of the file it came from.
pub fn resolve(config_dir: &Path, p: &str) -> PathBuf {
    config_dir.join(p)
}



/// The 1-based line and column of byte `offset` in `text` (for errors found in a TOML text
/// outside [`parse`], e.g. when a run-time change edits the file).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    Locator::new(text).line_col(offset)
}
