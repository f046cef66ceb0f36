//! The PubSub information model as an extension of the OPC UA server: the configured
//! connections below `Server/PublishSubscribe` (OPC 10000-14 §9.1), in namespace
//! [`NAMESPACE`]. Each `Status/State` follows the runtime through the status tags of the tag
//! store (`fxgate/PubSub/<connection>/State`, `…/<reader>/State`), so the model reads the store
//! like any sink and the runtime knows nothing of it.

mod build;
mod counters;
mod runtime;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use opcua::nodes::NodeType;
use opcua::server::address_space::AddressSpace;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{InMemoryNodeManager, InMemoryNodeManagerBuilder, InMemoryNodeManagerImpl};
use opcua::server::node_manager::{MethodCall, RequestContext, ServerContext};
use opcua::server::SubscriptionCache;
use opcua::sync::RwLock;
use opcua::types::{AttributeId, DataEncoding, DateTime, NodeId, NumericRange, StatusCode, TimestampsToReturn, Variant};

use fxgate_core::{SharedNamespaceTable, TagId, TagStore};
use fxgate_opcua_server::extension::{BoxedNodeManagerBuilder, ExtensionContext, ServerExtension};

use fxgate_config::Role;

use crate::config::PubSubConfig;
use crate::control::{Controls, SwitchError};
pub use build::{state, UDP_UADP};

/// The namespace of the model's instances.
pub const NAMESPACE: &str = fxgate_plugin::PUBSUB_MODEL_NAMESPACE;

/// The model of the configured connections, as a server extension.
pub struct PubSubModel {
    /// The runtime of the connection with `fx = true`, whose objects the model shows too.
    pub runtime: Option<Arc<crate::fx::FxRuntime>>,
    /// The connections.
    pub list: Vec<PubSubConfig>,
    /// The persisted namespace table (for the namespace's index).
    pub table: SharedNamespaceTable,
    /// The Enable/Disable switches the Status methods flip.
    pub controls: Arc<Controls>,
}

/// Enable and Disable change the configuration, Reset the diagnostics: the `configure` role.
const SWITCH_ROLES: &[Role] = &[Role::Configure];
/// Below the connection OPC UA FX uses, the objects FX makes are also the ConnectionAdmin's
/// (OPC 10000-81 §5.9), who enables and disables them through EstablishConnections.
const FX_SWITCH_ROLES: &[Role] = &[Role::Configure, Role::ConnectionAdmin];

impl ServerExtension for PubSubModel {
    fn name(&self) -> &str {
        "OPC UA PubSub model"
    }

    fn namespaces(&self) -> Vec<String> {
        vec![NAMESPACE.to_string()]
    }

    fn method_roles(&self, method: &NodeId) -> Option<&'static [Role]> {
        let opcua::types::Identifier::String(s) = &method.identifier else { return None };
        let s = s.as_ref();
        if method.namespace == 0 {
            return None;
        }
        // Reset of a connection's Diagnostics clears figures others rely on: `configure` too
        if s.ends_with("/Diagnostics/Reset") {
            return Some(SWITCH_ROLES);
        }
        if !(s.ends_with("/Status/Enable") || s.ends_with("/Status/Disable")) {
            return None;
        }
        let fx_object = self.runtime.as_ref().is_some_and(|rt| {
            s.strip_prefix(rt.name()).and_then(|rest| rest.strip_prefix('/')).is_some_and(|rest| !rest.starts_with("Status/"))
        });
        Some(if fx_object { FX_SWITCH_ROLES } else { SWITCH_ROLES })
    }

    fn node_managers(&self, cx: &ExtensionContext) -> Vec<BoxedNodeManagerBuilder> {
        let wanted = self.table.lock().ok().and_then(|t| t.index_of(NAMESPACE)).unwrap_or(0);
        let list = self.list.clone();
        let store = cx.store.clone();
        let tags_namespace = cx.tags_namespace;
        let controls = self.controls.clone();
        let runtime = self.runtime.clone();
        vec![Box::new(InMemoryNodeManagerBuilder::new(move |context: ServerContext, space: &mut AddressSpace| {
            let (ns, tags_ns) = {
                let mut tree = context.type_tree.write();
                let map = tree.namespaces_mut();
                let ns = match map.known_namespaces().get(NAMESPACE) {
                    Some(i) => *i,
                    None => {
                        let mut known = map.known_namespaces().clone();
                        let taken = wanted == 0 || known.values().any(|i| *i == wanted);
                        let i = if taken { known.values().max().copied().unwrap_or(0).saturating_add(1) } else { wanted };
                        known.insert(NAMESPACE.to_string(), i);
                        *map = opcua::types::NamespaceMap::new_full(known);
                        i
                    }
                };
                (ns, tree.namespaces().get_index(tags_namespace).unwrap_or(u16::MAX))
            };
            space.add_namespace(NAMESPACE, ns);
            let built = build::build(space, ns, tags_ns, &list);
            let states = built.states.into_iter().filter_map(|s| store.id_of(&s.tag).map(|id| (id, s.node))).collect();
            let counters = built
                .counters
                .into_iter()
                .map(|c| counters::Counter::new(c.node, c.first_change, c.tags.iter().filter_map(|t| store.id_of(t)).collect(), c.reset))
                .collect();
            ModelManager {
                namespaces: vec![NamespaceMetadata { namespace_uri: NAMESPACE.to_string(), namespace_index: ns, ..Default::default() }],
                store: store.clone(),
                states,
                counters,
                fixed: built.fixed,
                methods: built.methods,
                controls: controls.clone(),
                subscriptions: OnceLock::new(),
                runtime: runtime.clone(),
                shown: parking_lot::Mutex::new(runtime::Shown::default()),
                ns,
                tags_ns,
            }
        }))]
    }
}

/// The model's node manager: the built nodes, and the State variables it keeps current.
struct ModelManager {
    namespaces: Vec<NamespaceMetadata>,
    store: Arc<TagStore>,
    /// (status tag, State variable).
    states: Vec<(TagId, NodeId)>,
    /// Diagnostics counters: each the sum of its status tags since its last Reset.
    counters: Vec<counters::Counter>,
    /// States set from the switches.
    fixed: Vec<build::FixedState>,
    /// Enable/Disable methods: (method, switch path, on).
    methods: Vec<(NodeId, String, bool)>,
    controls: Arc<Controls>,
    subscriptions: OnceLock<Arc<SubscriptionCache>>,
    runtime: Option<Arc<crate::fx::FxRuntime>>,
    shown: parking_lot::Mutex<runtime::Shown>,
    ns: u16,
    tags_ns: u16,
}

/// PubSubState of a status text.
fn state_of(v: &Variant) -> i32 {
    match v {
        Variant::String(s) => match s.as_ref() {
            "Operational" => state::OPERATIONAL,
            "Error" => state::ERROR,
            "PreOperational" => state::PRE_OPERATIONAL,
            "Disabled" => state::DISABLED,
            _ => state::ERROR,
        },
        _ => state::PRE_OPERATIONAL,
    }
}

impl ModelManager {
    fn apply(&self, space: &mut AddressSpace, changed: &[(TagId, Variant)]) {
        let values = changed
            .iter()
            .flat_map(|(id, text)| self.states.iter().filter(move |(t, _)| t == id).map(move |(_, node)| (node.clone(), state_of(text))))
            .collect();
        self.set_states(space, values);
        let counters = self
            .counters
            .iter()
            .filter(|c| changed.iter().any(|(id, _)| c.tags.contains(id)))
            .flat_map(|c| c.values(&self.store))
            .collect();
        self.set_values(space, counters);
    }

    /// The States of writer groups and writers from the switches: own switch off → Disabled,
    /// one above off → Paused.
    fn apply_fixed(&self, space: &mut AddressSpace) {
        let values = self
            .fixed
            .iter()
            .map(|f| {
                let s = if f.own.as_deref().and_then(|p| self.controls.own(p)) == Some(false) {
                    state::DISABLED
                } else if f.parents.iter().any(|p| self.controls.own(p) == Some(false)) {
                    state::PAUSED
                } else {
                    state::OPERATIONAL
                };
                (f.node.clone(), s)
            })
            .collect();
        self.set_states(space, values);
    }

    fn set_states(&self, space: &mut AddressSpace, values: Vec<(NodeId, i32)>) {
        self.set_values(space, values.into_iter().map(|(n, s)| (n, Variant::Int32(s))).collect());
    }

    fn set_values(&self, space: &mut AddressSpace, values: Vec<(NodeId, Variant)>) {
        let now = DateTime::now();
        let mut notify = Vec::new();
        for (node, value) in values {
            if let Some(NodeType::Variable(v)) = space.find_mut(&node) {
                let same = v.value(TimestampsToReturn::Neither, &NumericRange::None, &DataEncoding::Binary, 0.0).value.as_ref() == Some(&value);
                if !same {
                    let _ = v.set_value_direct(value, StatusCode::Good, &now, &now);
                    notify.push(node);
                }
            }
        }
        if let Some(subs) = self.subscriptions.get() {
            subs.maybe_notify(notify.iter().map(|id| (id, AttributeId::Value)), |id, attribute, range, encoding| {
                space.find(id)?.as_node().get_attribute(TimestampsToReturn::Both, attribute, range, encoding)
            });
        }
    }
}

#[async_trait]
impl InMemoryNodeManagerImpl for ModelManager {
    fn name(&self) -> &str {
        "fxgate-pubsub-model"
    }

    fn namespaces(&self) -> Vec<NamespaceMetadata> {
        self.namespaces.clone()
    }

    async fn call(
        &self,
        _context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        methods_to_call: &mut [&mut &mut MethodCall],
    ) -> Result<(), StatusCode> {
        for call in methods_to_call {
            let reset: Vec<&counters::Counter> = self.counters.iter().filter(|c| &c.reset == call.method_id()).collect();
            if !reset.is_empty() {
                let values = reset.iter().flat_map(|c| c.reset(&self.store)).collect();
                self.set_values(&mut address_space.write(), values);
                tracing::info!(method = %call.method_id(), "PubSub diagnostics reset by a client");
                call.set_status(StatusCode::Good);
                continue;
            }
            let found = self
                .methods
                .iter()
                .find(|(m, _, _)| m == call.method_id())
                .map(|(_, p, on)| (p.clone(), *on))
                .or_else(|| self.shown.lock().method(call.method_id()));
            let Some((path, on)) = found else {
                call.set_status(StatusCode::BadMethodInvalid);
                continue;
            };
            let (path, on) = (&path, &on);
            let status = match self.controls.set(path, *on) {
                Ok(()) => {
                    tracing::info!(item = %path, "PubSub {} by a client", if *on { "enabled" } else { "disabled" });
                    StatusCode::Good
                }
                Err(SwitchError::AlreadySo) => StatusCode::BadInvalidState,
                Err(SwitchError::Unknown) => StatusCode::BadNodeIdUnknown,
            };
            call.set_status(status);
        }
        let mut space = address_space.write();
        self.apply_fixed(&mut space);
        if let Some(rt) = &self.runtime {
            let values = self.shown.lock().reconcile(&mut space, self.ns, self.tags_ns, &self.store, rt);
            self.set_states(&mut space, values);
        }
        Ok(())
    }

    async fn init(&self, _address_space: &mut AddressSpace, context: ServerContext) {
        let _ = self.subscriptions.set(context.subscriptions.clone());
        if let Some(rt) = self.runtime.clone() {
            let node_managers = context.node_managers.clone();
            let mut changes = rt.board().subscribe();
            tokio::spawn(async move {
                loop {
                    if changes.changed().await.is_err() {
                        return;
                    }
                    let Some(nm) = node_managers.get_of_type::<InMemoryNodeManager<ModelManager>>() else { return };
                    let m = nm.inner();
                    let mut space = nm.address_space().write();
                    let values = m.shown.lock().reconcile(&mut space, m.ns, m.tags_ns, &m.store, &rt);
                    m.set_states(&mut space, values);
                }
            });
        }
        if self.states.is_empty() && self.counters.is_empty() {
            return;
        }
        let mut watched: Vec<TagId> = self.states.iter().map(|(t, _)| *t).collect();
        watched.extend(self.counters.iter().flat_map(|c| c.tags.iter().copied()));
        watched.sort_unstable();
        watched.dedup();
        // One flag per tag: every change of the store passes here.
        let mut is_watched = vec![false; self.store.len()];
        for &t in &watched {
            if let Some(f) = is_watched.get_mut(t as usize) {
                *f = true;
            }
        }
        let store = self.store.clone();
        let node_managers = context.node_managers.clone();
        let mut rx = store.subscribe();
        tokio::spawn(async move {
            // The states before the first change.
            let mut pending: Vec<(TagId, Variant)> = watched.iter().filter_map(|&t| store.get(t).map(|v| (t, v.value))).collect();
            loop {
                if !pending.is_empty() {
                    let Some(nm) = node_managers.get_of_type::<InMemoryNodeManager<ModelManager>>() else { return };
                    let mut space = nm.address_space().write();
                    nm.inner().apply(&mut space, &pending);
                    pending.clear();
                }
                match rx.recv().await {
                    Ok(batch) => pending.extend(
                        batch.iter().filter(|(id, _)| is_watched.get(*id as usize).copied().unwrap_or(false)).map(|(id, v)| (*id, v.value.clone())),
                    ),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        pending = watched.iter().filter_map(|&t| store.get(t).map(|v| (t, v.value))).collect();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}
