//! The configuration file as a whole: the gateway's own sections (`[server]`, `[[users]]`,
//! `[http]`, `[log]`, `[[line]]`) plus the protocol sections the registry lists. The
//! registry defines the file's type with [`config_file!`](crate::config_file); this crate
//! parses and validates any such type without knowing its protocols.

use crate::line::LineConfig;
use crate::model::{HttpConfig, LogConfig, ServerConfig, UserConfig};
use crate::section::Section;

/// Parses and validates a whole configuration text (`text` from `file`, relative paths
/// against `config_dir`) as the registry's file type: what a run-time change checks before it
/// is written back.
pub type CheckText = fn(text: &str, file: &std::path::Path, config_dir: &std::path::Path) -> Result<(), Vec<crate::ConfigError>>;

/// The gateway's own sections, borrowed from a configuration file.
#[derive(Debug, Clone, Copy)]
pub struct GatewayRef<'a> {
    /// `[server]`.
    pub server: &'a ServerConfig,
    /// `[[users]]`.
    pub users: &'a [UserConfig],
    /// `[http]`.
    pub http: &'a HttpConfig,
    /// `[log]`.
    pub log: &'a LogConfig,
    /// `[[line]]`.
    pub line: &'a [LineConfig],
}

/// A configuration file type: the gateway's sections plus protocol sections.
pub trait ConfigFile: serde::de::DeserializeOwned {
    /// The gateway's own sections.
    fn gateway(&self) -> GatewayRef<'_>;

    /// The protocol sections with their top-level keys, in registry order.
    fn sections(&self) -> Vec<(&'static str, &dyn Section)>;
}

/// Defines a configuration file type: the gateway's own sections plus the listed
/// protocol sections, each `key: Type` with a doc comment. The type implements
/// [`ConfigFile`], `Default`, `Clone`, serde and `PartialEq`.
#[macro_export]
macro_rules! config_file {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $( $(#[$fmeta:meta])* $key:ident : $ty:ty ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        $vis struct $name {
            /// The northbound OPC UA server.
            pub server: $crate::ServerConfig,
            /// Users who may log in with a password or a certificate.
            pub users: Vec<$crate::UserConfig>,
            /// The HTTP listener for health and metrics.
            pub http: $crate::HttpConfig,
            /// Logging.
            pub log: $crate::LogConfig,
            /// TCP lines to field devices (client) or for field clients (server).
            pub line: Vec<$crate::LineConfig>,
            $( $(#[$fmeta])* pub $key: $ty, )*
        }

        impl $crate::ConfigFile for $name {
            fn gateway(&self) -> $crate::GatewayRef<'_> {
                $crate::GatewayRef {
                    server: &self.server,
                    users: &self.users,
                    http: &self.http,
                    log: &self.log,
                    line: &self.line,
                }
            }

            fn sections(&self) -> Vec<(&'static str, &dyn $crate::Section)> {
                vec![$( (stringify!($key), &self.$key as &dyn $crate::Section) ),*]
            }
        }
    };
}

config_file! {
    /// A configuration file with the gateway's own sections only (no protocol): what the
    /// OPC UA server and its tests need.
    pub struct Gateway {}
}
