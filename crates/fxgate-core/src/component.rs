//! The shape every source and sink has (after Vector's `SourceConfig::build` /
//! `SinkConfig::build`): a config value that builds a running task plus a health probe.
//!
//! Sources are built in two steps because the store's shape is fixed: first
//! [`Component::declare`] adds the tags they own to the [`TagStoreBuilder`], then
//! [`Component::build`] starts them against the finished store. Sinks declare nothing.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::store::{StoreError, TagStore, TagStoreBuilder};
use crate::tag::TagId;
use crate::write::WriteReceiver;

/// What a component's task returns when it stops on its own.
pub type ComponentResult = Result<(), RunError>;

/// A live health probe: `Ok` when healthy, `Err(reason)` otherwise. Served on `/healthz`.
pub type HealthCheck = Arc<dyn Fn() -> Result<(), Unhealthy> + Send + Sync>;

/// Why a component is not healthy, as shown on `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhealthy(pub String);

impl std::fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unhealthy {}

/// A component could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Its tags could not be added to the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// It could not listen on its address.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// `host:port` (and the config field).
        address: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The component's own reason, a typed error of its protocol.
    #[error(transparent)]
    Protocol(Box<dyn std::error::Error + Send + Sync>),
}

impl BuildError {
    /// Wraps a protocol's own typed build error.
    pub fn protocol(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Protocol(Box::new(e))
    }
}

/// A component's task ended with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The component's own reason, a typed error of its protocol.
    #[error(transparent)]
    Protocol(Box<dyn std::error::Error + Send + Sync>),
    /// A task of the component panicked or was aborted.
    #[error("a task of the component ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl RunError {
    /// Wraps a protocol's own typed run-time error.
    pub fn protocol(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Protocol(Box::new(e))
    }
}

/// A started component.
pub struct RunningComponent {
    /// The task; it ends when the shutdown token is cancelled (Ok) or on a fatal error.
    pub task: BoxFuture<'static, ComponentResult>,
    /// Its health probe.
    pub health: HealthCheck,
}

/// What a component gets when it is built.
pub struct ComponentContext {
    /// The finished store.
    pub store: Arc<TagStore>,
    /// Ids of the tags this component declared, in declaration order.
    pub tags: Vec<TagId>,
    /// Writes to this component's tags, if it registered as a writer.
    pub writes: Option<WriteReceiver>,
    /// Cancelled when the gateway shuts down.
    pub shutdown: CancellationToken,
    /// The gateway's data directory.
    pub data_dir: PathBuf,
}

/// Tags and write handler a source declared.
#[derive(Default)]
pub struct Declared {
    /// Ids of the declared tags, in order.
    pub tags: Vec<TagId>,
    /// The write receiver, if the source accepts writes.
    pub writes: Option<WriteReceiver>,
}

/// A source or sink, built from its configuration.
pub trait Component: Send {
    /// Kind of the component, for logs (`opcua_server`, a protocol's name, …).
    fn kind(&self) -> &'static str;

    /// Its configured name.
    fn name(&self) -> String;

    /// Declares the tags the component owns (sources) — sinks keep the default.
    fn declare(&self, _store: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        Ok(Declared::default())
    }

    /// Starts the component. Errors here stop the gateway with the message.
    fn build(
        self: Box<Self>,
        cx: ComponentContext,
    ) -> BoxFuture<'static, Result<RunningComponent, BuildError>>;
}
