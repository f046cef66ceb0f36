//! `[[line]]`: TCP lines to field devices (seed 002, D2000 "TCP/IP-TCP" and
//! "TCP/IP-TCP Redundant"). A line is the transport; the one protocol whose section claims
//! it rides on it.

use serde::{Deserialize, Serialize};

/// Whether the line connects out or listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LineMode {
    /// Connect to the device(s) in `host` (and `backup`).
    #[default]
    Client,
    /// Listen on `host` (`*`/`ALL`: every IPv4 interface, `[*]`/`[ALL]`: every IPv6 one).
    Server,
}

/// One line.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// Line name (shown under `Objects/fxgate/Lines/<name>`).
    pub name: String,
    /// Client or server.
    #[serde(default)]
    pub mode: LineMode,
    /// Client: up to 8 addresses or names separated by `,` or `;`, tried in turn.
    /// Server: the interface address to listen on, or `*`/`ALL`/`[*]`/`[ALL]`.
    pub host: String,
    /// TCP port (of the device, or to listen on).
    pub port: u16,
    /// The backup device of a redundant line.
    #[serde(default)]
    pub backup: Option<BackupConfig>,
    /// Milliseconds to wait for a TCP connection (and TLS handshake).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Milliseconds between connection rounds once every address failed (doubling up
    /// to `reconnect_max_ms`); `reconnect_delay_ms` is accepted as its old name.
    #[serde(default = "default_reconnect_ms", alias = "reconnect_delay_ms")]
    pub reconnect_min_ms: u64,
    /// Upper bound of the reconnect back-off.
    #[serde(default = "default_reconnect_max_ms")]
    pub reconnect_max_ms: u64,
    /// The share of each reconnect delay taken off at random (0 to 1), so that lines do not
    /// reconnect in lock-step.
    #[serde(default = "default_reconnect_jitter")]
    pub reconnect_jitter: f64,
    /// TLS ("TLS - Certificates" and "TLS pre shared key" of the seed).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

impl LineConfig {
    /// The line's reconnect back-off.
    pub fn backoff(&self) -> fxgate_core::BackoffSettings {
        fxgate_core::BackoffSettings::from_millis(self.reconnect_min_ms, self.reconnect_max_ms).with_jitter(self.reconnect_jitter)
    }
}

fn default_connect_timeout_ms() -> u64 {
    3000
}
fn default_reconnect_ms() -> u64 {
    1000
}
fn default_reconnect_jitter() -> f64 {
    fxgate_core::BackoffSettings::DEFAULT_JITTER
}
fn default_reconnect_max_ms() -> u64 {
    30_000
}

/// The backup device of a redundant line.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Address(es) or name(s) of the backup device, like `host`.
    pub host: String,
    /// Its TCP port.
    pub port: u16,
    /// When false the line works as a plain line, without redundancy.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// TLS on a line. It is on when `partner_certificates` and/or `my_certificate`/`my_key`
/// are set, or else when `pre_shared_key` is set; certificates take precedence over PSK.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Trusted CA/peer certificates (PEM), comma-separated; `#APPDIR#` is the config
    /// file's directory.
    pub partner_certificates: String,
    /// Our certificate (PEM; may hold the chain).
    pub my_certificate: String,
    /// Our private key (PEM, may be encrypted with `my_key_password`).
    pub my_key: String,
    /// Password of an encrypted `my_key`.
    pub my_key_password: String,
    /// Pre-shared key, in hex.
    pub pre_shared_key: String,
    /// PSK identity sent by a client / expected by a server.
    pub psk_identity: String,
    /// OpenSSL cipher list for TLS ≤ 1.2 (empty: OpenSSL's default).
    pub ciphers: String,
    /// Emergency switch (the seed's `/DC`): do not verify the peer. Logged loudly.
    pub disable_peer_verification: bool,
}

impl TlsConfig {
    /// Whether certificate-based TLS is configured.
    pub fn uses_certificates(&self) -> bool {
        !self.partner_certificates.trim().is_empty() || !self.my_certificate.is_empty() || !self.my_key.is_empty()
    }

    /// Whether any TLS is configured.
    pub fn enabled(&self) -> bool {
        self.uses_certificates() || !self.pre_shared_key.is_empty()
    }

    /// The partner certificate paths, `#APPDIR#` expanded to `config_dir`.
    pub fn partner_certificate_paths(&self, config_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        self.partner_certificates
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|p| expand_appdir(p, config_dir))
            .collect()
    }
}

/// Expands `#APPDIR#` in a configured path and resolves it against `config_dir`.
pub fn expand_appdir(p: &str, config_dir: &std::path::Path) -> std::path::PathBuf {
    let config_dir = if config_dir.as_os_str().is_empty() { std::path::Path::new(".") } else { config_dir };
    let config_dir = std::path::absolute(config_dir).unwrap_or_else(|_| config_dir.to_path_buf());
    let dir = config_dir.to_string_lossy();
    config_dir.join(p.replace("#APPDIR#", &dir))
}

/// Splits a `host` list: up to 8 entries separated by `,` or `;`, spaces allowed.
pub fn split_hosts(host: &str) -> Vec<String> {
    host.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
