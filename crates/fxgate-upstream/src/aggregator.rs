//! The set of upstreams and what they share: namespaces, client settings, metrics, and the
//! server's subscriptions that their value changes are pushed into.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::config::UpstreamConfig;
use opcua::server::SubscriptionCache;
use opcua::types::{AttributeId, DataValue, NodeId};
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::configure::ConfigureError;
use crate::events::ForwardedEvent;
use crate::local::{DiagVar, Local};
use crate::mapping::KnownTypes;
use crate::metrics::UpstreamMetrics;
use crate::names::UpstreamNamespaces;
use crate::upstream::{ClientSettings, ItemChange, Notify, State, Status, Upstream};
use fxgate_opcua_server::live_items::notify_items;

/// Everything the node manager needs once the server is built.
pub(crate) struct Bound {
    /// Index of the aggregation namespace.
    pub ns: u16,
    pub known: KnownTypes,
    pub subscriptions: Arc<SubscriptionCache>,
    /// The server's type tree (upstream event types are added to it).
    pub type_tree: Arc<RwLock<opcua::nodes::DefaultTypeTree>>,
}

/// All upstreams of the gateway. Their session tasks run in the task of its
/// [`AggregatorComponent`](crate::AggregatorComponent), which the gateway runs with its other
/// components: an upstream made before that task runs is started when it does.
pub struct Aggregator {
    configs: Vec<UpstreamConfig>,
    upstreams: RwLock<BTreeMap<String, Arc<Upstream>>>,
    /// Upstream namespaces in the persisted table.
    pub names: Arc<UpstreamNamespaces>,
    settings: ClientSettings,
    /// Metrics.
    pub metrics: UpstreamMetrics,
    pub(crate) bound: OnceLock<Bound>,
    shutdown: CancellationToken,
    /// The configuration file run-time changes are written to (none: embedded default).
    config_file: Option<PathBuf>,
    /// Validates the whole file before a change is written.
    check: fxgate_config::CheckText,
    /// Where new upstreams go to have their session task run (by the component's task).
    sessions: mpsc::UnboundedSender<Arc<Upstream>>,
    /// The other end, until the component takes it.
    pub(crate) session_queue: Mutex<Option<mpsc::UnboundedReceiver<Arc<Upstream>>>>,
}

impl Aggregator {
    /// For the configured upstreams; they start when the server's node manager starts.
    /// `config_file` is where AddServer/RemoveServer write their changes (none: the
    /// gateway runs on the embedded default and refuses them), after `check` passed the new text.
    pub fn new(
        configs: Vec<UpstreamConfig>,
        names: Arc<UpstreamNamespaces>,
        settings: ClientSettings,
        metrics: UpstreamMetrics,
        shutdown: CancellationToken,
        config_file: Option<PathBuf>,
        check: fxgate_config::CheckText,
    ) -> Arc<Self> {
        let (sessions, session_queue) = mpsc::unbounded_channel();
        Arc::new(Self {
            configs,
            upstreams: RwLock::new(BTreeMap::new()),
            names,
            settings,
            metrics,
            bound: OnceLock::new(),
            shutdown,
            config_file,
            check,
            sessions,
            session_queue: Mutex::new(Some(session_queue)),
        })
    }

    /// Validates a whole configuration text before a run-time change writes it.
    pub fn check(&self) -> fxgate_config::CheckText {
        self.check
    }

    /// The configuration file run-time changes are written to.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// The upstream whose name is `name` compared without case (names are unique so).
    pub fn find(&self, name: &str) -> Option<Arc<Upstream>> {
        self.upstreams
            .read()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, u)| u.clone())
    }

    /// The upstream called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Upstream>> {
        self.upstreams.read().get(name).cloned()
    }

    /// The upstream whose namespace has gateway index `index`.
    pub fn upstream_of_namespace(&self, index: u16) -> Option<Arc<Upstream>> {
        self.names.with_upstream_of(index, |n| self.get(n)).flatten()
    }

    /// Whether gateway namespace `index` is one of an upstream's (lock-free). A namespace is
    /// served only for an upstream the aggregator has: an upstream serves its namespaces from
    /// the moment it is made, and a removed one stops serving them before it is forgotten.
    pub fn serves_namespace(&self, index: u16) -> bool {
        self.names.is_served(index)
    }

    /// Names of all upstreams, sorted.
    pub fn names(&self) -> Vec<String> {
        self.upstreams.read().keys().cloned().collect()
    }

    /// All upstreams.
    pub fn all(&self) -> Vec<Arc<Upstream>> {
        self.upstreams.read().values().cloned().collect()
    }

    /// The upstream a gateway NodeId belongs to (its namespaces or its folder).
    pub fn upstream_of(&self, id: &NodeId) -> Option<Arc<Upstream>> {
        let bound = self.bound.get()?;
        if id.namespace == bound.ns {
            return match Local::parse(&id_string(id)?, |n| self.get(n).is_some())? {
                Local::UpstreamFolder(n) => self.get(&n),
                _ => None,
            };
        }
        self.upstream_of_namespace(id.namespace)
    }

    /// Called once the server is built: starts every configured upstream.
    pub(crate) fn start(self: &Arc<Self>, bound: Bound) {
        let ns = bound.ns;
        if self.bound.set(bound).is_err() {
            return;
        }
        for cfg in self.configs.clone() {
            self.add(cfg, ns);
        }
    }

    /// Starts an upstream added at run time (AddServer, after it was written to the file).
    pub fn add_running(self: &Arc<Self>, cfg: UpstreamConfig) -> Result<(), ConfigureError> {
        let Some(ns) = self.bound.get().map(|b| b.ns) else {
            return Err(ConfigureError::NotRunning);
        };
        if self.find(&cfg.name).is_some() {
            return Err(ConfigureError::Exists(cfg.name));
        }
        tracing::info!(upstream = %cfg.name, url = %cfg.endpoint_url, "upstream added at run time");
        self.add(cfg, ns);
        self.servers_changed();
        Ok(())
    }

    /// Stops and forgets an upstream removed at run time (RemoveServer); its namespaces stay
    /// in the persisted table but are no longer served.
    pub fn remove_running(&self, name: &str) -> Option<Arc<Upstream>> {
        self.names.unserve(name);
        let up = self.upstreams.write().remove(name)?;
        up.retire();
        let l = UpstreamMetrics::label(&up.name);
        self.metrics.remove(&l);
        tracing::info!(upstream = %up.name, "upstream removed at run time");
        self.servers_changed();
        Some(up)
    }

    /// The value of `Objects/fxgate/Configuration/Servers`.
    pub fn servers_value(&self) -> opcua::types::Variant {
        opcua::types::Variant::from(self.names())
    }

    /// Tells the subscriptions on `Servers` about a change of the set.
    fn servers_changed(&self) {
        let Some(bound) = self.bound.get() else { return };
        let now = opcua::types::DateTime::now();
        let dv = DataValue {
            value: Some(self.servers_value()),
            status: Some(opcua::types::StatusCode::Good),
            source_timestamp: Some(now),
            server_timestamp: Some(now),
            ..Default::default()
        };
        let id = Local::Servers.node_id(bound.ns);
        bound
            .subscriptions
            .notify_data_change(std::iter::once((dv, &id, AttributeId::Value)));
    }

    fn add(self: &Arc<Self>, cfg: UpstreamConfig, ns: u16) {
        let Some(bound) = self.bound.get() else { return };
        let folder = Local::UpstreamFolder(cfg.name.clone()).node_id(ns);
        let up = Upstream::new(
            cfg,
            folder,
            self.settings.clone(),
            self.names.clone(),
            bound.known.clone(),
            self.shutdown.child_token(),
        );
        up.set_notify(Arc::new(ServerNotify {
            subscriptions: bound.subscriptions.clone(),
            type_tree: bound.type_tree.clone(),
            ns,
            metrics: self.metrics.clone(),
        }));
        let l = UpstreamMetrics::label(&up.name);
        let _ = self.metrics.requests.get_or_create(&l);
        let _ = self.metrics.cache_hits.get_or_create(&l);
        up.report();
        self.upstreams.write().insert(up.name.clone(), up.clone());
        if let Err(mpsc::error::SendError(up)) = self.sessions.send(up) {
            tracing::debug!(upstream = %up.name, "upstream session not started: the aggregator has stopped");
        }
    }

    /// Stops every upstream's session (the component's task stops).
    pub(crate) fn stop_sessions(&self) {
        self.shutdown.cancel();
    }
}

/// The string identifier of a NodeId, if it has one.
pub(crate) fn id_string(id: &NodeId) -> Option<String> {
    match &id.identifier {
        opcua::types::Identifier::String(s) => Some(s.as_ref().to_string()),
        _ => None,
    }
}

/// Pushes upstream changes into the server's monitored items and the metrics.
struct ServerNotify {
    subscriptions: Arc<SubscriptionCache>,
    type_tree: Arc<RwLock<opcua::nodes::DefaultTypeTree>>,
    ns: u16,
    metrics: UpstreamMetrics,
}

impl Notify for ServerNotify {
    fn values(&self, changes: Vec<(NodeId, AttributeId, DataValue)>) {
        self.subscriptions
            .notify_data_change(changes.iter().map(|(n, a, dv)| (dv.clone(), n, *a)));
    }

    fn item_values(&self, changes: Vec<ItemChange>) {
        let mut notifier = self.subscriptions.data_notifier();
        for (node, attribute, dv, items) in changes {
            notify_items(&mut notifier, &node, attribute, &items, dv);
        }
    }

    fn event_types(&self, found: crate::events::EventTypes) {
        // parents first: the BFS found them level by level
        let mut tree = self.type_tree.write();
        for (id, parent) in &found.types {
            tree.add_type_node(id, parent, opcua::types::NodeClass::ObjectType);
        }
        for (owner, path, id, class) in &found.fields {
            let path: Vec<&opcua::types::QualifiedName> = path.iter().collect();
            tree.add_type_property(id, owner, &path, *class);
        }
    }

    fn events(&self, node: &NodeId, events: Vec<ForwardedEvent>) {
        self.subscriptions
            .notify_events(events.iter().map(|e| (e as &dyn opcua::nodes::Event, node)));
    }

    fn status(&self, upstream: &str, status: &Status, monitored_items: usize) {
        let l = UpstreamMetrics::label(upstream);
        let connected = status.state == State::Connected;
        self.metrics.connected.get_or_create(&l).set(i64::from(connected));
        self.metrics.state.get_or_create(&l).set(match status.state {
            State::Disconnected => 0,
            State::Connecting => 1,
            State::Connected => 2,
        });
        self.metrics.reconnects.get_or_create(&l).set(status.reconnects as i64);
        self.metrics.monitored_items.get_or_create(&l).set(monitored_items as i64);
        let now = opcua::types::DateTime::now();
        let values: Vec<(DataValue, NodeId)> = DiagVar::ALL
            .into_iter()
            .map(|v| {
                let dv = DataValue {
                    value: Some(v.value(status, monitored_items)),
                    status: Some(opcua::types::StatusCode::Good),
                    source_timestamp: Some(now),
                    server_timestamp: Some(now),
                    ..Default::default()
                };
                (dv, Local::Diag(upstream.to_string(), v).node_id(self.ns))
            })
            .collect();
        self.subscriptions
            .notify_data_change(values.iter().map(|(dv, n)| (dv.clone(), n, AttributeId::Value)));
    }
}
