//! `[[upstream]]`: upstream OPC UA servers the gateway connects to as a client and
//! aggregates; each one is shown as a folder `Objects/<name>` of the gateway's server.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod persist;
mod validate;

/// `[[upstream]]`: the upstream OPC UA servers (aggregation).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Upstreams(pub Vec<UpstreamConfig>);

impl std::ops::Deref for Upstreams {
    type Target = Vec<UpstreamConfig>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl PartialEq<Vec<UpstreamConfig>> for Upstreams {
    fn eq(&self, other: &Vec<UpstreamConfig>) -> bool {
        &self.0 == other
    }
}

impl fxgate_config::Section for Upstreams {
    fn declare(&self, key: &str, known: &mut fxgate_config::Known) {
        for (i, u) in self.0.iter().enumerate() {
            known.source(&u.name, format!("{key}[{i}].name"));
            known.server(&u.name);
        }
    }

    fn validate(&self, key: &str, cx: &mut fxgate_config::Check<'_>) {
        let (config_dir, known) = (cx.config_dir, cx.known);
        validate::validate(key, &self.0, known, config_dir, cx.errs());
    }
}

/// The security policy used towards an upstream server (config names as in the OPC UA
/// specification; the deprecated Basic128Rsa15 and Basic256 are accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
pub enum UpstreamPolicy {
    /// No security (unsigned, unencrypted); needs `security_mode = "None"`.
    None,
    /// Basic128Rsa15 (deprecated).
    Basic128Rsa15,
    /// Basic256 (deprecated).
    Basic256,
    /// Basic256Sha256.
    #[default]
    Basic256Sha256,
    /// Aes128_Sha256_RsaOaep.
    #[serde(rename = "Aes128_Sha256_RsaOaep")]
    Aes128Sha256RsaOaep,
    /// Aes256_Sha256_RsaPss.
    #[serde(rename = "Aes256_Sha256_RsaPss")]
    Aes256Sha256RsaPss,
}

impl UpstreamPolicy {
    /// The name used in the configuration file, e.g. `Aes128_Sha256_RsaOaep`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Basic128Rsa15 => "Basic128Rsa15",
            Self::Basic256 => "Basic256",
            Self::Basic256Sha256 => "Basic256Sha256",
            Self::Aes128Sha256RsaOaep => "Aes128_Sha256_RsaOaep",
            Self::Aes256Sha256RsaPss => "Aes256_Sha256_RsaPss",
        }
    }

    /// The policy's URI, `http://opcfoundation.org/UA/SecurityPolicy#<Name>`.
    pub fn uri(&self) -> &'static str {
        match self {
            Self::None => "http://opcfoundation.org/UA/SecurityPolicy#None",
            Self::Basic128Rsa15 => "http://opcfoundation.org/UA/SecurityPolicy#Basic128Rsa15",
            Self::Basic256 => "http://opcfoundation.org/UA/SecurityPolicy#Basic256",
            Self::Basic256Sha256 => "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
            Self::Aes128Sha256RsaOaep => "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep",
            Self::Aes256Sha256RsaPss => "http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss",
        }
    }

    /// Every policy.
    pub const ALL: [UpstreamPolicy; 6] = [
        Self::None,
        Self::Basic128Rsa15,
        Self::Basic256,
        Self::Basic256Sha256,
        Self::Aes128Sha256RsaOaep,
        Self::Aes256Sha256RsaPss,
    ];

    /// The policy named `s`: its configuration name or its URI.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s || p.uri() == s)
    }

    /// Whether the OPC Foundation has deprecated the policy (Basic128Rsa15, Basic256).
    pub fn is_deprecated(&self) -> bool {
        matches!(self, Self::Basic128Rsa15 | Self::Basic256)
    }
}

impl fmt::Display for UpstreamPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The message security mode used towards an upstream server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
pub enum UpstreamMode {
    /// No security; needs `security_policy = "None"`.
    None,
    /// Messages are signed.
    Sign,
    /// Messages are signed and encrypted.
    #[default]
    SignAndEncrypt,
}

impl UpstreamMode {
    /// The mode named `s` (`None`, `Sign`, `SignAndEncrypt`).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Sign, Self::SignAndEncrypt].into_iter().find(|m| m.name() == s)
    }

    /// The name used in the configuration file, e.g. `SignAndEncrypt`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Sign => "Sign",
            Self::SignAndEncrypt => "SignAndEncrypt",
        }
    }
}

impl fmt::Display for UpstreamMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One upstream OPC UA server.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Folder name under `Objects` (required): 1 to 64 of `A-Z a-z 0-9 _ . -`, not `fxgate`
    /// or `Server`, unique among upstreams regardless of case.
    pub name: String,
    /// `opc.tcp://host:port[/path]` of the server (required).
    pub endpoint_url: String,
    /// Security policy.
    pub security_policy: UpstreamPolicy,
    /// Message security mode.
    pub security_mode: UpstreamMode,
    /// User name; empty: anonymous (or `user_certificate`).
    pub username: String,
    /// Password of `username`.
    pub password: String,
    /// User certificate (DER or PEM) to log in with; relative to the config file's
    /// directory (`#APPDIR#` is that directory); empty: none.
    pub user_certificate: String,
    /// Private key (PEM) of `user_certificate`, resolved the same way.
    pub user_private_key: String,
    /// When false the upstream is configured but not connected.
    pub enabled: bool,
    /// ComAlias (seed 000 §4.8) of one upstream namespace: DA ItemIDs of its string NodeIds
    /// are `<alias>.<identifier>`. 1 to 32 of `A-Z a-z 0-9 _`, unique among upstreams
    /// regardless of case, not an ItemID type prefix (`ns`, `i`, `s`, `g`, `b`); empty: none.
    pub alias: String,
    /// The upstream namespace URI that `alias` stands for (required with `alias`, empty
    /// without).
    pub alias_namespace: String,
    /// Trust every server certificate (commissioning only; logged loudly).
    pub accept_all_server_certificates: bool,
    /// Publishing interval of the subscriptions on the server, in ms.
    pub publishing_interval_ms: u64,
    /// Timeout of each request, in ms.
    pub request_timeout_ms: u64,
    /// First reconnect delay in ms (doubling up to `reconnect_max_ms`).
    pub reconnect_min_ms: u64,
    /// Largest reconnect delay in ms.
    pub reconnect_max_ms: u64,
    /// The share of each reconnect delay taken off at random (0 to 1).
    pub reconnect_jitter: f64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            endpoint_url: String::new(),
            security_policy: UpstreamPolicy::default(),
            security_mode: UpstreamMode::default(),
            username: String::new(),
            password: String::new(),
            user_certificate: String::new(),
            user_private_key: String::new(),
            enabled: true,
            alias: String::new(),
            alias_namespace: String::new(),
            accept_all_server_certificates: false,
            publishing_interval_ms: 100,
            request_timeout_ms: 5000,
            reconnect_min_ms: 500,
            reconnect_max_ms: 10_000,
            reconnect_jitter: fxgate_core::BackoffSettings::DEFAULT_JITTER,
        }
    }
}

/// Like the derived `Debug`, but the password is never printed.
impl fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let password = if self.password.is_empty() { "" } else { "***" };
        f.debug_struct("UpstreamConfig")
            .field("name", &self.name)
            .field("endpoint_url", &self.endpoint_url)
            .field("security_policy", &self.security_policy)
            .field("security_mode", &self.security_mode)
            .field("username", &self.username)
            .field("password", &password)
            .field("user_certificate", &self.user_certificate)
            .field("user_private_key", &self.user_private_key)
            .field("enabled", &self.enabled)
            .field("alias", &self.alias)
            .field("alias_namespace", &self.alias_namespace)
            .field("accept_all_server_certificates", &self.accept_all_server_certificates)
            .field("publishing_interval_ms", &self.publishing_interval_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("reconnect_min_ms", &self.reconnect_min_ms)
            .field("reconnect_max_ms", &self.reconnect_max_ms)
            .field("reconnect_jitter", &self.reconnect_jitter)
            .finish()
    }
}

impl UpstreamConfig {
    /// The user certificate's file, resolved against the config file's directory
    /// `config_dir`; `None` when no user certificate is configured.
    pub fn user_certificate_path(&self, config_dir: &Path) -> Option<PathBuf> {
        (!self.user_certificate.is_empty()).then(|| fxgate_config::expand_appdir(&self.user_certificate, config_dir))
    }

    /// The user private key's file, resolved like [`Self::user_certificate_path`].
    pub fn user_private_key_path(&self, config_dir: &Path) -> Option<PathBuf> {
        (!self.user_private_key.is_empty()).then(|| fxgate_config::expand_appdir(&self.user_private_key, config_dir))
    }
}
