//! fxgate's configuration: one TOML file, validated fully before anything starts.
//! Every error names the file, the line and the field.

#![warn(missing_docs)]

mod device;
mod error;
mod fx;
mod fx_cm;
mod line;
pub mod modbus;
mod locate;
mod model;
pub mod persist;
mod simulator;
mod upstream;
mod validate;
mod validate_fx;
mod validate_fx_cm;
mod validate_io;
mod validate_upstream;
mod validate_ws;
mod websocket;

use std::path::{Path, PathBuf};

pub use device::{DeviceConfig, ModbusServerConfig, ModbusTagConfig, PollGroupConfig, Protocol, ServerMapConfig};
pub use error::{ConfigError, Invalid};
pub use fx::{parse_fx_version, AssetConfig, AutomationComponentConfig, FunctionalEntityConfig, FxConfig};
pub use fx_cm::{
    is_portable_node_id, parse_portable_node_id, AssetVerificationConfig, AssetVerificationModeConfig, ConnectionConfig,
    ConnectionManagerConfig, ConnectionSetConfig, EndpointConfig, EndpointModeConfig, ExpectedAssetResultConfig,
    NodeValueConfig, PathElementConfig, PortableNodeIdText, ScalarConfig,
};
pub use websocket::{glob_match, JwtAlgorithm, JwtConfig, WebSocketConfig, WsEncoding, WsTlsConfig};
pub use line::{expand_appdir, split_hosts, BackupConfig, LineConfig, LineMode, TlsConfig};
pub use model::{Config, HttpConfig, LogConfig, Role, ServerConfig, UserConfig};
pub use persist::{add_upstream, remove_upstream, PersistError};
pub use simulator::{SimTagConfig, SimulatorConfig, TagType, Waveform};
pub use upstream::{UpstreamConfig, UpstreamMode, UpstreamPolicy};
pub use validate::{check_hash, check_name};

use locate::Locator;

/// The configuration used when `fxgate run` is given no file.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// Name shown for the embedded default in messages.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded default config>";

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
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

/// The embedded default configuration.
pub fn default_config() -> Result<Config, Vec<ConfigError>> {
    parse(DEFAULT_CONFIG, Path::new(DEFAULT_CONFIG_NAME), Path::new("."))
}

/// Parses and validates `text`, which came from `file`; relative paths in it are
/// resolved against `base_dir`.
pub fn parse(text: &str, file: &Path, base_dir: &Path) -> Result<Config, Vec<ConfigError>> {
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
    let config: Config = match toml::from_str(text) {
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
    let problems = validate::validate(&config, base_dir);
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
pub fn resolve(base_dir: &Path, p: &str) -> PathBuf {
    base_dir.join(p)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fx_remote;
