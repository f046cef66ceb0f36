//! Run-time administration of the aggregated OPC UA servers (seed 000 §4.6, "Configured UA
//! Servers" with plus, minus and Apply): what the aggregation offers and the configurator
//! calls, so that neither crate depends on the other. A change is written to the
//! configuration file (validated as a whole, atomically) before it is applied.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// An aggregated server as the configurator shows it. Its password is never shown: only
/// whether one is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerEntry {
    /// The configured settings.
    pub spec: ServerSpec,
    /// Whether a password is configured.
    pub has_password: bool,
    /// Connecting, Connected or Disconnected.
    pub state: String,
    /// The last error, empty if none.
    pub last_error: String,
    /// Sessions lost or refused since the start.
    pub reconnects: u64,
}

/// The settings of an aggregated server the configurator edits. Settings it does not show
/// (a user certificate, an alias, timeouts) are kept as they are when a server is changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerSpec {
    /// The folder name under `Objects`.
    pub name: String,
    /// `opc.tcp://host:port[/path]`.
    pub endpoint_url: String,
    /// The security policy's short name (e.g. `Basic256Sha256`, `None`).
    pub security_policy: String,
    /// `None`, `Sign` or `SignAndEncrypt`.
    pub security_mode: String,
    /// The user name for the session; empty: anonymous.
    pub username: String,
    /// The password: `None` keeps the configured one (a change), `Some("")` clears it.
    pub password: Option<String>,
    /// Whether the gateway connects to it.
    pub enabled: bool,
    /// Whether every server certificate is accepted (commissioning).
    pub accept_all_server_certificates: bool,
}

/// Why a change of the aggregated servers was not made; nothing was written or applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The gateway runs on the embedded default: there is no file a change could survive in.
    #[error("the gateway runs without a configuration file (started without --config): changes could not survive a restart")]
    NoConfigFile,
    /// A server of that name exists already.
    #[error("a server named `{0}` exists already")]
    Exists(String),
    /// No server of that name.
    #[error("no server named `{0}`")]
    NotFound(String),
    /// A field's value is not accepted; `field` names it (e.g. `endpoint_url`).
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// What is wrong, as `fxgate check-config` says it.
        message: String,
    },
    /// The file could not be written or the change applied.
    #[error("{0}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The future of an administration call.
pub type AdminFuture<'a> = Pin<Box<dyn Future<Output = Result<(), AdminError>> + Send + 'a>>;

/// The aggregated servers, administered at run time.
pub trait ServerAdmin: Send + Sync {
    /// The servers, by name.
    fn servers(&self) -> Vec<ServerEntry>;
    /// The security policies and modes a server may use (short names).
    fn choices(&self) -> (Vec<&'static str>, Vec<&'static str>);
    /// Adds a server: written to the file, then connected.
    fn add(&self, spec: ServerSpec) -> AdminFuture<'_>;
    /// Changes the server named `name` (possibly renaming it): written, then reconnected.
    fn change<'a>(&'a self, name: &'a str, spec: ServerSpec) -> AdminFuture<'a>;
    /// Removes a server: written, then disconnected; its folder disappears.
    fn remove<'a>(&'a self, name: &'a str) -> AdminFuture<'a>;
}

/// The service the aggregation offers.
pub type SharedServerAdmin = Arc<dyn ServerAdmin>;
