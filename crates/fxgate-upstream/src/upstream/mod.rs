//! One upstream OPC UA server: its session, kept alive by a supervisor that reconnects
//! with back-off, and the batched services the forwarding node manager calls.
//!
//! Each connection is a new session: the endpoints are fetched afresh (so a changed server
//! certificate or endpoint list is seen at once, unlike the stale endpoint cache of seed 000
//! §5.1), the NamespaceArray is read and mapped, and every shared monitored item is created
//! again. async-opcua's own in-session reconnect is disabled (`session_retry_limit(0)`),
//! which also avoids its lost Publish requests after a reconnect.
//!
//! The parts: `status` (state and diagnostics), `settings` (the client and the user
//! identity), `supervisor` (the reconnect loop), `connect` (one connection attempt),
//! `endpoint` (choosing the endpoint), `certificate` (the gateway's own checks of the
//! upstream's certificate), `prepare` (namespaces, types and the subscription of a new
//! session), `structure` (what is browsed at connect) and `monitored` (the shared monitored
//! items on the upstream).

mod certificate;
mod connect;
mod endpoint;
mod monitored;
mod notifications;
mod prepare;
mod settings;
mod status;
mod structure;
mod supervisor;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::config::UpstreamConfig;
use opcua::client::Session;
use opcua::server::MonitoredItemHandle;
use opcua::types::{AttributeId, DataValue, DateTime, NodeId, ReferenceDescription, StatusCode};
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::events::{EventFields, ForwardedEvent};
use crate::items::Registry;
use crate::mapping::{KnownTypes, NsMapping};
use crate::names::UpstreamNamespaces;

pub use certificate::CertificateError;
pub use connect::ConnectError;
pub use endpoint::NoMatchingEndpoint;
pub use prepare::PrepareError;
pub use settings::{ClientError, ClientSettings, IdentityError};
pub use status::{is_comm_error, service_failure, State, Status};
pub(crate) use structure::all_references;
pub use structure::map_reference;

/// A live session and how its namespaces map.
#[derive(Clone)]
pub struct Live {
    /// The session.
    pub session: Arc<Session>,
    /// Namespace mapping of this session.
    pub map: Arc<NsMapping>,
    /// The upstream subscription holding the shared items.
    pub subscription_id: u32,
    /// Standard type (gateway id) → upstream subtypes of it, as browse results.
    pub subtypes: Arc<std::collections::HashMap<NodeId, Vec<ReferenceDescription>>>,
    /// The fields selected from the upstream's events.
    pub events: Arc<EventFields>,
    /// Set when the upstream refused the StatusValueTimestamp DataChangeFilter: its value
    /// items are then made without a filter.
    pub no_stamps: Arc<AtomicBool>,
}

/// A value change for the downstream monitored items that share one upstream item: node and
/// attribute (gateway ids), the value, and those items' handles.
pub type ItemChange = (NodeId, AttributeId, DataValue, Arc<[MonitoredItemHandle]>);

/// Where an upstream reports value changes and state changes.
pub trait Notify: Send + Sync {
    /// Values of monitored nodes changed (gateway ids): for every monitored item on them.
    fn values(&self, changes: Vec<(NodeId, AttributeId, DataValue)>);
    /// Values of shared items changed: for the items each change names
    /// (`fxgate_opcua_server::live_items`).
    fn item_values(&self, changes: Vec<ItemChange>);
    /// The upstream's status changed.
    fn status(&self, upstream: &str, status: &Status, monitored_items: usize);
    /// Events of a node with EventNotifier items (gateway id).
    fn events(&self, node: &NodeId, events: Vec<ForwardedEvent>);
    /// The upstream's own event types (gateway ids), found at connect.
    fn event_types(&self, types: crate::events::EventTypes);
}

/// One upstream server.
pub struct Upstream {
    /// Its name (the folder under Objects).
    pub name: String,
    /// Its configuration.
    pub config: UpstreamConfig,
    /// Gateway NodeId of its folder.
    pub folder: NodeId,
    settings: ClientSettings,
    names: Arc<UpstreamNamespaces>,
    known: KnownTypes,
    live: RwLock<Option<Live>>,
    status: Mutex<Status>,
    /// Values and browse results.
    pub cache: Cache,
    /// Shared monitored items.
    pub items: Registry,
    notify: OnceLock<Arc<dyn Notify>>,
    shutdown: CancellationToken,
    /// Removed at run time (RemoveServer): reports nothing any more.
    removed: AtomicBool,
}

impl Upstream {
    /// A not yet connected upstream.
    pub fn new(
        config: UpstreamConfig,
        folder: NodeId,
        settings: ClientSettings,
        names: Arc<UpstreamNamespaces>,
        known: KnownTypes,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        names.serve_known(&config.name);
        Arc::new(Self {
            name: config.name.clone(),
            config,
            folder,
            settings,
            names,
            known,
            live: RwLock::new(None),
            status: Mutex::new(Status {
                state: State::Disconnected,
                last_error: String::new(),
                reconnects: 0,
            }),
            cache: Cache::default(),
            items: Registry::default(),
            notify: OnceLock::new(),
            shutdown,
            removed: AtomicBool::new(false),
        })
    }

    /// Sets where changes are reported (once).
    pub fn set_notify(&self, n: Arc<dyn Notify>) {
        let _ = self.notify.set(n);
    }

    /// The live session, if connected.
    pub fn live(&self) -> Option<Live> {
        self.live.read().clone()
    }

    /// Current diagnostics.
    pub fn status(&self) -> Status {
        self.status.lock().clone()
    }

    /// Stops the supervisor (the upstream is being removed or the gateway stops).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Removes the upstream for good (RemoveServer): stops the supervisor, and every
    /// monitored value of it turns Bad_NodeIdUnknown, since its nodes no longer exist.
    /// Nothing is reported about it afterwards.
    pub fn retire(&self) {
        if self.removed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.shutdown.cancel();
        let now = DateTime::now();
        self.notify_items(|_, _| DataValue {
            status: Some(StatusCode::BadNodeIdUnknown),
            server_timestamp: Some(now),
            ..Default::default()
        });
    }

    /// Reports `f(node, attribute)` for every shared data monitored item (event items have
    /// no value to turn Bad).
    fn notify_items(&self, mut f: impl FnMut(&NodeId, AttributeId) -> DataValue) {
        let changes: Vec<_> = self
            .items
            .all()
            .into_iter()
            .filter(|s| s.key.1 != AttributeId::EventNotifier)
            .map(|s| {
                let (node, attr) = s.key;
                let dv = f(&node, attr);
                (node, attr, dv)
            })
            .collect();
        if let Some(n) = self.notify.get() {
            if !changes.is_empty() {
                n.values(changes);
            }
        }
    }

    fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    fn set_status(&self, f: impl FnOnce(&mut Status)) {
        if self.is_removed() {
            return;
        }
        let s = {
            let mut g = self.status.lock();
            f(&mut g);
            g.clone()
        };
        if let Some(n) = self.notify.get() {
            n.status(&self.name, &s, self.items.live());
        }
    }

    /// Re-reports the status (after the monitored-item count changed).
    pub fn report(&self) {
        self.set_status(|_| {});
    }
}
