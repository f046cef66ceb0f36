//! The aggregator as a component of the gateway ([`fxgate_core::Component`]): its task runs
//! the session task of every upstream, those configured and those added at run time
//! (`AddServer`), and its health is the connection state of the enabled upstreams.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use fxgate_core::{Component, ComponentContext, RunningComponent, Unhealthy};
use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::aggregator::Aggregator;
use crate::upstream::{State, Upstream};

/// The component that runs the upstream sessions of an [`Aggregator`]. The node managers and
/// FX keep using the aggregator itself.
pub struct AggregatorComponent(pub Arc<Aggregator>);

impl AggregatorComponent {
    /// The component of `aggregator`.
    pub fn new(aggregator: Arc<Aggregator>) -> Self {
        Self(aggregator)
    }
}

/// Why the component could not be built ([`AggregatorComponent`]'s `build`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A component of this aggregator was built before; its task runs the sessions.
    #[error("the upstream sessions are run by another component of this aggregator")]
    AlreadyBuilt,
}

/// Why the component's task failed: one of the session tasks did not end by itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// A session task panicked.
    #[error("upstream `{upstream}`: its session task panicked: {message}")]
    Panicked {
        /// The upstream.
        upstream: String,
        /// The panic's message, if it had one.
        message: String,
    },
    /// A session task was cancelled from outside (the runtime is shutting down).
    #[error("upstream `{upstream}`: its session task was cancelled")]
    Cancelled {
        /// The upstream.
        upstream: String,
    },
}

/// An enabled upstream that is not connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotConnected {
    /// The upstream.
    pub name: String,
    /// Its state.
    pub state: State,
    /// Its last error (empty if none yet).
    pub last_error: String,
}

impl fmt::Display for NotConnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.name, self.state.as_str(), self.last_error)
    }
}

/// Why the aggregator is not healthy ([`Aggregator::health`]); served on `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    /// These enabled upstreams are not connected.
    #[error("{}", join(.0))]
    NotConnected(Vec<NotConnected>),
}

/// The upstreams, `; ` between them.
fn join(down: &[NotConnected]) -> String {
    down.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Aggregator {
    /// Healthy when every enabled upstream is connected (disabled ones do not count).
    pub fn health(&self) -> Result<(), HealthError> {
        let down: Vec<NotConnected> = self
            .all()
            .into_iter()
            .filter(|u| u.config.enabled)
            .filter_map(|u| {
                let s = u.status();
                (s.state != State::Connected).then(|| NotConnected {
                    name: u.name.clone(),
                    state: s.state,
                    last_error: s.last_error,
                })
            })
            .collect();
        if down.is_empty() {
            Ok(())
        } else {
            Err(HealthError::NotConnected(down))
        }
    }
}

impl Component for AggregatorComponent {
    fn kind(&self) -> &'static str {
        "upstreams"
    }

    /// None: there is one aggregator, labelled by its kind alone.
    fn name(&self) -> String {
        String::new()
    }

    fn build(
        self: Box<Self>,
        cx: ComponentContext,
    ) -> BoxFuture<'static, Result<RunningComponent, fxgate_core::BuildError>> {
        let agg = self.0;
        let queue = agg.session_queue.lock().take();
        async move {
            let queue = queue.ok_or_else(|| fxgate_core::BuildError::protocol(BuildError::AlreadyBuilt))?;
            let probe = agg.clone();
            let health = Arc::new(move || probe.health().map_err(|e| Unhealthy(e.to_string())));
            let task = run(agg, queue, cx.shutdown).map(|r| r.map_err(fxgate_core::RunError::protocol)).boxed();
            Ok(RunningComponent { task, health })
        }
        .boxed()
    }
}

/// Runs the session task of every upstream that arrives on `queue` until `shutdown`, then
/// stops them and waits for them to end. A session task that panics stops them all too.
async fn run(
    agg: Arc<Aggregator>,
    mut queue: mpsc::UnboundedReceiver<Arc<Upstream>>,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let mut sessions = JoinSet::new();
    let mut names: HashMap<Id, String> = HashMap::new();
    let mut failed = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(up) = queue.recv() => {
                let name = up.name.clone();
                let handle = sessions.spawn(up.run());
                names.insert(handle.id(), name);
            }
            Some(ended) = sessions.join_next_with_id() => {
                if let Err(e) = ended_well(ended, &mut names) {
                    tracing::error!(error = %e, "upstream session task failed");
                    failed = Some(e);
                    break;
                }
            }
        }
    }
    agg.stop_sessions();
    queue.close();
    while let Some(ended) = sessions.join_next_with_id().await {
        if let Err(e) = ended_well(ended, &mut names) {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Whether a session task ended by itself (the gateway stops, or the upstream was removed or
/// is disabled); forgets its name.
fn ended_well(ended: Result<(Id, ()), JoinError>, names: &mut HashMap<Id, String>) -> Result<(), RunError> {
    match ended {
        Ok((id, ())) => {
            names.remove(&id);
            Ok(())
        }
        Err(e) => {
            let upstream = names.remove(&e.id()).unwrap_or_default();
            if e.is_panic() {
                Err(RunError::Panicked {
                    upstream,
                    message: panic_message(e.into_panic()),
                })
            } else {
                Err(RunError::Cancelled { upstream })
            }
        }
    }
}

/// The message of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map(|s| (*s).to_string()).unwrap_or_default(),
    }
}
