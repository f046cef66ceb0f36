//! The FX node manager: serves the FX namespaces (types and instances) from an in-memory
//! address space and executes the FX methods.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use crate::config::FxConfig;
use fxgate_core::TagStore;
use opcua::nodes::NodeType;
use opcua::server::address_space::AddressSpace;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{InMemoryNodeManager, InMemoryNodeManagerBuilder, InMemoryNodeManagerImpl};
use opcua::nodes::DefaultTypeTree;
use opcua::server::node_manager::{MethodCall, NodeManagerBuilder, NodeManagersRef, RequestContext, ServerContext};
use opcua::server::SubscriptionCache;
use opcua::sync::RwLock;
use opcua::types::{
    AttributeId, DataEncoding, DateTime, NamespaceMap, NodeId, NumericRange,
    StatusCode, TimestampsToReturn, Variant, VariantScalarTypeId,
};

use crate::cm::ConnectionManager;
use crate::compare::{ExpectedNodeValue, NodeLookup};
use crate::endpoints::Endpoint;
use crate::model::{self, Model};
use crate::namespaces::{FxNamespaces, ALL};
use crate::{args, establish, health, verify, verify_asset};

/// The node manager type as the server holds it.
pub type FxNodeManager = InMemoryNodeManager<FxNodeManagerImpl>;

/// The methods that need the ConnectionAdmin (or configure) role, known once the node
/// manager is built: EstablishConnections and CloseConnections of the FX
/// AutomationComponents (OPC 10000-81 §5.9), the ControlGroups' Establish-, Release- and
/// ReassignControl (§6.5.3–5) and the ConnectionManager's
/// ProcessConnectionConfigurationSets (§6.7.5). One per server, held by its FX extension.
#[derive(Debug, Default)]
pub struct AdminMethods {
    instances_ns: OnceLock<u16>,
    /// ProcessConnectionConfigurationSets, EditConnectionConfigurationSets, and the
    /// ConnectionManagerConfiguration file's Open and CloseAndUpdate.
    cm_methods: OnceLock<Vec<NodeId>>,
}

impl AdminMethods {
    /// Whether calling `method` needs the ConnectionAdmin (or configure) role.
    pub fn needs_connection_admin(&self, method: &NodeId) -> bool {
        if self.cm_methods.get().is_some_and(|m| m.contains(method)) {
            return true;
        }
        let Some(ns) = self.instances_ns.get() else { return false };
        if method.namespace != *ns {
            return false;
        }
        match &method.identifier {
            // `<component>/EstablishConnections`: component names contain no `/`
            opcua::types::Identifier::String(s) => {
                let s = s.as_ref();
                let control = ["/EstablishControl", "/ReleaseControl", "/ReassignControl"];
                matches!(s.split_once('/'), Some((ac, "EstablishConnections" | "CloseConnections")) if !ac.is_empty())
                    || ((s.starts_with("ConnectionManager/") || s.contains("/ControlGroups/")) && s.ends_with("/Lock/BreakLock"))
                    || (s.contains("/ControlGroups/") && control.iter().any(|m| s.ends_with(m)))
            }
            _ => false,
        }
    }
}

/// What other plug-ins offer FX through the build context.
#[derive(Clone)]
pub struct FxServices {
    /// The upstream servers (when aggregation is configured).
    pub aggregator: Option<fxgate_plugin::SharedUpstreamLinks>,
    /// The slot the PubSub plug-in fills with the ids ReserveCommunicationIdsCmd hands out.
    pub pubsub_ids: fxgate_plugin::FxPubSubSlot,
    /// Where FX keeps state across restarts (`<data dir>/fx`).
    pub state_dir: std::path::PathBuf,
}

/// Serves the FX model.
pub struct FxNodeManagerImpl {
    model: Arc<Model>,
    store: Arc<TagStore>,
    tags_ns: u16,
    namespaces: Vec<NamespaceMetadata>,
    endpoints: parking_lot::Mutex<Vec<Endpoint>>,
    subscriptions: OnceLock<Arc<SubscriptionCache>>,
    aggregator: Option<fxgate_plugin::SharedUpstreamLinks>,
    /// The PubSub ids ReserveCommunicationIdsCmd hands out, once the PubSub plug-in filled it.
    pubsub_ids: fxgate_plugin::FxPubSubSlot,
    endpoint_url: String,
    cm: Option<ConnectionManager>,
    /// Who controls which ControlGroup (also the store's write guard).
    control: Arc<crate::control::ControlState>,
    node_managers: OnceLock<NodeManagersRef>,
    type_tree: OnceLock<Arc<RwLock<DefaultTypeTree>>>,
}

/// Builds the FX node manager for `cfg`. `wanted` are the indexes of the FX namespaces in the
/// persisted namespace table: each is registered at that index when it is free in the server
/// (so that upstream namespaces, which take their table indexes, never collide with them).
/// `tags_namespace` is the URI of the tag nodes; `services.aggregator` holds the upstream servers a
/// component may stand for and the ConnectionManager may call; `endpoint_url` is this
/// server's URL (the RelatedEndpoint Address upstream components are told); `admin` learns
/// which methods need the ConnectionAdmin role.
pub fn fx_node_manager(
    cfg: FxConfig,
    store: Arc<TagStore>,
    services: FxServices,
    wanted: FxNamespaces,
    tags_namespace: &'static str,
    endpoint_url: String,
    admin: Arc<AdminMethods>,
) -> impl NodeManagerBuilder {
    InMemoryNodeManagerBuilder::new(move |context: ServerContext, space: &mut AddressSpace| {
        let (ns, tags_ns) = {
            let mut tree = context.type_tree.write();
            let ns = register(tree.namespaces_mut(), wanted);
            let tags_ns = tree.namespaces().get_index(tags_namespace).unwrap_or(u16::MAX);
            (ns, tags_ns)
        };
        for uri in ALL {
            if let Some(i) = ns.index_of(uri) {
                space.add_namespace(uri, i);
            }
        }
        let _ = admin.instances_ns.set(ns.instances);
        if let Err(e) = crate::types::add_types(space, &ns) {
            tracing::error!(error = %e, "FX type model");
        }
        let model = model::build(space, ns, &cfg, &store, tags_ns);
        let kept = crate::cm::persist::Store::new(&services.state_dir);
        let cm = cfg.connection_manager.as_ref().map(|c| crate::cm::build(space, &model, c, Some(kept.clone())));
        let control = Arc::new(crate::control::ControlState::new(&model));
        if !control.is_empty() && !store.set_write_guard(control.clone()) {
            tracing::error!("FX ControlGroups: another write guard is installed; locks are not enforced");
        }
        if let Some(cm) = &cm {
            let file = cm.file.methods.iter().filter(|(_, m)| matches!(m, crate::cm::file::nodes::Method::Open | crate::cm::file::nodes::Method::CloseAndUpdate));
            let methods = [cm.process.clone(), cm.edit.clone()].into_iter().chain(file.map(|(n, _)| n.clone())).collect();
            let _ = admin.cm_methods.set(methods);
        }
        let namespaces = ALL
            .iter()
            .filter_map(|uri| {
                ns.index_of(uri).map(|i| NamespaceMetadata {
                    namespace_uri: uri.to_string(),
                    namespace_index: i,
                    ..Default::default()
                })
            })
            .collect();
        FxNodeManagerImpl {
            model: Arc::new(model),
            store,
            tags_ns,
            namespaces,
            endpoints: parking_lot::Mutex::new(Vec::new()),
            subscriptions: OnceLock::new(),
            aggregator: services.aggregator.clone(),
            pubsub_ids: services.pubsub_ids.clone(),
            endpoint_url: endpoint_url.clone(),
            cm,
            control,
            node_managers: OnceLock::new(),
            type_tree: OnceLock::new(),
        }
    })
}

/// Puts the FX namespaces into the server's namespace map, each at its wanted index when that
/// is free, else after the last one; returns the indexes used.
fn register(map: &mut NamespaceMap, wanted: FxNamespaces) -> FxNamespaces {
    let mut known = map.known_namespaces().clone();
    let mut place = |uri: &str, want: u16| -> u16 {
        if let Some(i) = known.get(uri) {
            return *i;
        }
        let taken = known.values().any(|i| *i == want);
        let i = if taken || want == 0 {
            let i = known.values().max().copied().unwrap_or(0).saturating_add(1);
            tracing::warn!(namespace = uri, wanted = want, used = i, "FX namespace index taken in the server; using another");
            i
        } else {
            want
        };
        known.insert(uri.to_string(), i);
        i
    };
    let ns = FxNamespaces {
        data: place(crate::namespaces::FX_DATA, wanted.data),
        ac: place(crate::namespaces::FX_AC, wanted.ac),
        cm: place(crate::namespaces::FX_CM, wanted.cm),
        di: place(crate::namespaces::DI, wanted.di),
        instances: place(crate::namespaces::FX_INSTANCES, wanted.instances),
    };
    *map = NamespaceMap::new_full(known);
    ns
}

impl FxNodeManagerImpl {
    /// The FX model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The tag store.
    pub fn store(&self) -> &TagStore {
        &self.store
    }

    /// The ConnectionManager, if `[fx.connection_manager]` is configured.
    pub fn connection_manager(&self) -> Option<&ConnectionManager> {
        self.cm.as_ref()
    }

    /// Who controls which ControlGroup.
    pub fn control(&self) -> &crate::control::ControlState {
        &self.control
    }

    /// The upstream servers (when aggregation is configured).
    pub fn aggregator(&self) -> Option<&fxgate_plugin::SharedUpstreamLinks> {
        self.aggregator.as_ref()
    }

    /// The PubSub runtime of ReserveCommunicationIds-, SetCommunicationConfiguration- and
    /// EnableCommunicationCmd, if a `[[pubsub]]` connection has `fx = true`.
    pub fn pubsub(&self) -> Option<&fxgate_plugin::SharedFxPubSub> {
        self.pubsub_ids.0.get()
    }

    /// This server's endpoint URL.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    /// The namespace index of the tag nodes.
    pub fn tags_namespace(&self) -> u16 {
        self.tags_ns
    }

    /// The server's subscriptions (for data changes and events), once the server runs.
    pub fn subscriptions(&self) -> Option<&Arc<SubscriptionCache>> {
        self.subscriptions.get()
    }

    /// The server's type tree, once the server runs.
    pub fn type_tree(&self) -> Option<&Arc<RwLock<DefaultTypeTree>>> {
        self.type_tree.get()
    }

    /// This node manager as the server holds it (for work that outlives a request).
    pub fn handle(&self) -> Option<Arc<FxNodeManager>> {
        self.node_managers.get()?.get_of_type::<FxNodeManager>()
    }

    /// The ConnectionEndpoints that exist.
    pub fn endpoints(&self) -> &parking_lot::Mutex<Vec<Endpoint>> {
        &self.endpoints
    }

    /// Removes endpoint `node` (CloseConnections with Remove=TRUE semantics: its readers and
    /// writers no other endpoint uses, its locks, its nodes and registry entry) and updates its
    /// component's health.
    pub fn remove_endpoint(&self, space: &RwLock<AddressSpace>, node: &NodeId) {
        crate::communication::close(self, std::slice::from_ref(node), true);
        crate::control::calls::release_endpoint(self, space, node);
        let mut registry = self.endpoints.lock();
        let Some(i) = registry.iter().position(|e| &e.node == node) else { return };
        let e = registry.remove(i);
        let mut space = space.write();
        crate::endpoints::remove(&mut space, &e);
        self.update_health(&mut space, &registry, e.component);
        tracing::info!(endpoint = %e.node, "FX ConnectionEndpoint removed");
    }

    /// CloseConnections with Remove=FALSE on endpoint `node`: its readers and writers no other
    /// endpoint uses are disabled and its locks released.
    pub fn disable_endpoint(&self, space: &RwLock<AddressSpace>, node: &NodeId) {
        crate::communication::close(self, std::slice::from_ref(node), false);
        crate::control::calls::release_endpoint(self, space, node);
        crate::communication::status::refresh(self, space);
    }

    /// Sets the DeviceHealth of component `c`'s Assets to FAILURE (`failed`) or NORMAL, and the
    /// component's aggregated health.
    pub fn set_device_failure(&self, space: &RwLock<AddressSpace>, c: usize, failed: bool) {
        let Some(component) = self.model.components.get(c) else { return };
        let value = if failed { health::device::FAILURE } else { health::device::NORMAL };
        let registry = self.endpoints.lock();
        let mut space = space.write();
        let values = component.assets.iter().map(|a| (a.device_health.clone(), Variant::Int32(value))).collect();
        self.set_values(&mut space, values);
        self.update_health(&mut space, &registry, c);
    }

    /// Recomputes CommHealth and OperationalHealth of the entities of component `c`, its
    /// AggregatedHealth, and notifies the monitored items of the values that changed.
    pub fn update_health(&self, space: &mut AddressSpace, registry: &[Endpoint], c: usize) {
        let Some(component) = self.model.components.get(c) else { return };
        let mut values = Vec::new();
        let mut aggregated_operational = 0u32;
        for fe in &component.entities {
            let comm = health::comm_health(registry.iter().filter(|e| e.entity == fe.node).map(|e| e.status));
            let operational = health::operational_health(comm);
            aggregated_operational |= operational;
            values.push((fe.comm_health.clone(), Variant::UInt16(comm)));
            values.push((fe.operational_health.clone(), Variant::UInt32(operational)));
        }
        let devices: Vec<i32> = component
            .assets
            .iter()
            .map(|a| match self.value_of(space, &a.device_health) {
                Variant::Int32(d) => d,
                _ => health::device::NORMAL,
            })
            .collect();
        let device = health::aggregated_device_health(devices);
        values.push((component.aggregated_device_health.clone(), Variant::UInt16(device)));
        values.push((component.aggregated_operational_health.clone(), Variant::UInt32(aggregated_operational)));
        values.push((component.aggregated_health.clone(), crate::values::aggregated_health(device, aggregated_operational)));
        self.set_values(space, values);
    }

    /// The value of variable `node` in `space` (Empty if none).
    fn value_of(&self, space: &AddressSpace, node: &NodeId) -> Variant {
        match space.find(node) {
            Some(NodeType::Variable(v)) => v
                .value(TimestampsToReturn::Neither, &NumericRange::None, &DataEncoding::Binary, 0.0)
                .value
                .unwrap_or_default(),
            _ => Variant::Empty,
        }
    }

    /// Sets variable values that differ from the current ones and notifies their monitored items.
    pub(crate) fn set_values(&self, space: &mut AddressSpace, values: Vec<(NodeId, Variant)>) {
        let now = DateTime::now();
        let mut changed = Vec::new();
        for (id, value) in values {
            if self.value_of(space, &id) == value {
                continue;
            }
            if let Some(NodeType::Variable(v)) = space.find_mut(&id) {
                let _ = v.set_value_direct(value, StatusCode::Good, &now, &now);
                changed.push(id);
            }
        }
        if let Some(subs) = self.subscriptions.get() {
            subs.maybe_notify(changed.iter().map(|id| (id, AttributeId::Value)), |id, attribute, range, encoding| {
                space.find(id)?.as_node().get_attribute(TimestampsToReturn::Both, attribute, range, encoding)
            });
        }
    }

    /// Whether `node` exists (an FX node or a tag of the tag store).
    pub fn exists(&self, space: &AddressSpace, node: &NodeId) -> bool {
        self.lookup(space, node) != NodeLookup::Missing
    }

    /// What the server has at `node`: an FX node, or a tag of the tag store.
    pub fn lookup(&self, space: &AddressSpace, node: &NodeId) -> NodeLookup {
        if node.namespace == self.tags_ns {
            if let opcua::types::Identifier::String(path) = &node.identifier {
                if let Some(id) = self.store.id_of(path.as_ref()) {
                    let value = self.store.get(id).map(|v| v.value).unwrap_or_default();
                    let scalar = self.store.def(id).and_then(|d| VariantScalarTypeId::try_from(&NodeId::from(d.data_type)).ok());
                    return NodeLookup::Variable { value, scalar };
                }
            }
        }
        match space.find(node) {
            None => NodeLookup::Missing,
            Some(NodeType::Variable(v)) => {
                let value = v
                    .value(TimestampsToReturn::Neither, &NumericRange::None, &DataEncoding::Binary, 0.0)
                    .value
                    .unwrap_or_default();
                NodeLookup::Variable { value, scalar: VariantScalarTypeId::try_from(&v.data_type()).ok() }
            }
            Some(_) => NodeLookup::NotVariable,
        }
    }

    fn verify_asset(&self, space: &AddressSpace, call: &mut MethodCall, asset: &model::Asset) {
        let a = call.arguments();
        let (Some(mode), Some(expected), Some(additional)) = (
            a.first().and_then(args::enum_value),
            a.get(1).and_then(args::key_value_pairs),
            a.get(2).map_or(Some(Vec::new()), args::node_value_pairs),
        ) else {
            let results = vec![
                args::type_result(a.first().and_then(args::enum_value).is_some()),
                args::type_result(a.get(1).and_then(args::key_value_pairs).is_some()),
                args::type_result(a.get(2).map_or(Some(Vec::new()), args::node_value_pairs).is_some()),
            ];
            call.set_argument_error(results);
            return;
        };
        let lookup = |e: &ExpectedNodeValue| self.lookup(space, &e.node);
        let v = verify_asset::verify_asset(mode, &expected, &additional, &asset.nameplate, &self.model.names, &lookup);
        call.set_status(v.status);
        if let Some(result) = v.result {
            call.set_outputs(vec![
                Variant::Int32(result as i32),
                Variant::from(v.errors),
                Variant::from(v.additional_errors),
            ]);
        }
    }

    fn verify(&self, space: &AddressSpace, call: &mut MethodCall) {
        let Some(expected) = call.arguments().first().and_then(args::node_value_pairs) else {
            call.set_argument_error(vec![StatusCode::BadTypeMismatch]);
            return;
        };
        let lookup = |e: &ExpectedNodeValue| self.lookup(space, &e.node);
        let v = verify::verify(&expected, &lookup);
        call.set_status(v.status);
        if let Some(result) = v.result {
            call.set_outputs(vec![Variant::Int32(result as i32), Variant::from(v.errors)]);
        }
    }
}

impl FxNodeManagerImpl {
    async fn establish(&self, space: &RwLock<AddressSpace>, call: &mut MethodCall, component: usize, caller: fxgate_core::Caller) {
        let req = match establish::Request::decode(call.arguments()) {
            Ok(r) => r,
            Err(results) => {
                call.set_argument_error(results);
                return;
            }
        };
        let host = crate::host::ComponentHost { nm: self, space, component, caller };
        let out = establish::establish(&host, &req).await;
        call.set_status(out.status);
        if out.status.is_bad() {
            return;
        }
        let reserve = crate::values::object_array(out.reserve_results());
        call.set_outputs(vec![
            crate::values::structure_array(out.assets),
            crate::values::structure_array(out.endpoints),
            reserve,
            crate::values::structure_array(out.communication),
        ]);
    }

    /// CloseConnections (§6.2.5): the endpoints' readers and writers that no other endpoint
    /// uses are disabled, or with Remove deleted with the endpoints.
    fn close(&self, space: &RwLock<AddressSpace>, call: &mut MethodCall, component: usize) {
        let a = call.arguments();
        let (Some(ids), Some(Variant::Boolean(remove))) = (a.first().and_then(args::node_ids), a.get(1)) else {
            let ok = |b: bool| if b { StatusCode::Good } else { StatusCode::BadTypeMismatch };
            call.set_argument_error(vec![ok(a.first().and_then(args::node_ids).is_some()), ok(matches!(a.get(1), Some(Variant::Boolean(_))))]);
            return;
        };
        let remove = *remove;
        let Some(c) = self.model.components.get(component) else { return };
        let results: Vec<StatusCode> = ids
            .iter()
            .map(|id| {
                if id.is_null() {
                    return StatusCode::BadNodeIdInvalid;
                }
                let ours = self.endpoints.lock().iter().any(|e| &e.node == id && e.belongs_to(c));
                if ours {
                    if remove {
                        self.remove_endpoint(space, id);
                    } else {
                        self.disable_endpoint(space, id);
                    }
                    return StatusCode::Good;
                }
                if self.exists(&space.read(), id) {
                    StatusCode::BadInvalidArgument
                } else {
                    StatusCode::BadNodeIdUnknown
                }
            })
            .collect();
        let status = if results.iter().all(|r| r.is_good()) { StatusCode::Good } else { StatusCode::Uncertain };
        call.set_status(status);
        call.set_outputs(vec![Variant::from(results)]);
    }
}


#[async_trait]
impl InMemoryNodeManagerImpl for FxNodeManagerImpl {
    fn name(&self) -> &str {
        "fxgate-fx"
    }

    fn namespaces(&self) -> Vec<NamespaceMetadata> {
        self.namespaces.clone()
    }

    async fn init(&self, _address_space: &mut AddressSpace, context: ServerContext) {
        let _ = self.subscriptions.set(context.subscriptions.clone());
        let _ = self.node_managers.set(context.node_managers.clone());
        let _ = self.type_tree.set(context.type_tree.clone());
        if let Some(rt) = self.pubsub() {
            crate::communication::status::spawn(context.node_managers.clone(), rt.changes());
        }
        if self.cm.is_some() || !self.control.is_empty() {
            // DI Locks time out: the sets' edit Locks (also when the editing session ends) and
            // the ControlGroups' Locks
            let node_managers = context.node_managers.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let Some(nm) = node_managers.get_of_type::<FxNodeManager>() else { return };
                    if let Some(cm) = nm.inner().connection_manager() {
                        crate::cm::edit::expire(nm.inner(), nm.address_space(), cm.max_inactive_lock_time);
                    }
                    crate::control::locks::expire(nm.inner(), nm.address_space());
                }
            });
        }
        let sources = crate::device_health::SourceTags::new(&self.model, &self.store, self.aggregator.clone());
        if sources.is_empty() {
            return;
        }
        let polled = sources.with_upstreams();
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        let mut rx = self.store.subscribe();
        let store = self.store.clone();
        let node_managers = context.node_managers.clone();
        tokio::spawn(async move {
            // the state before the first change: sources may be down from the start
            let mut failed = vec![false; sources.len()];
            let mut pending: Vec<usize> = (0..sources.len()).collect();
            loop {
                let Some(nm) = node_managers.get_of_type::<FxNodeManager>() else { return };
                for c in pending.drain(..) {
                    let now = sources.failed(&store, c);
                    if now != failed[c] {
                        failed[c] = now;
                        nm.inner().set_device_failure(nm.address_space(), c, now);
                    }
                }
                drop(nm);
                tokio::select! {
                    r = rx.recv() => match r {
                        Ok(batch) => pending = sources.touched(&batch),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => pending = (0..sources.len()).collect(),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    // upstream states are polled (the aggregation has no change stream for them)
                    _ = tick.tick(), if !polled.is_empty() => pending = polled.clone(),
                }
            }
        });
    }

    /// Writes to FX nodes: only the editable variables of a set its session edits
    /// ([`crate::cm::edit_write`]).
    async fn write(
        &self,
        context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        nodes_to_write: &mut [&mut opcua::server::node_manager::WriteNode],
    ) -> Result<(), StatusCode> {
        let owner = crate::cm::file::handles::Owner::of(context);
        for n in nodes_to_write.iter_mut() {
            let status = crate::cm::edit_write::write(self, address_space, &owner, n.value());
            n.set_status(status);
        }
        Ok(())
    }

    async fn call(
        &self,
        context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        methods_to_call: &mut [&mut &mut MethodCall],
    ) -> Result<(), StatusCode> {
        let caller = fxgate_opcua_server::tags::caller(context);
        for call in methods_to_call {
            let method = call.method_id().clone();
            if let Some((g, m)) = crate::control::calls::find(self, &method) {
                crate::control::calls::call(self, address_space, call, g, m, &caller);
                continue;
            }
            if let Some((g, list, op)) = crate::control::locks::find(self, &method) {
                crate::control::locks::call(self, address_space, call, g, list, op, &caller);
                continue;
            }
            if let Some((_, asset)) = self.model.asset(&method).filter(|(_, a)| a.verify == method) {
                self.verify_asset(&address_space.read(), call, asset);
            } else if self.model.entity(&method).is_some_and(|(_, e)| e.verify == method) {
                self.verify(&address_space.read(), call);
            } else if let Some(c) = self.model.components.iter().position(|c| c.establish == method) {
                self.establish(address_space, call, c, caller.clone()).await;
            } else if let Some(c) = self.model.components.iter().position(|c| c.close == method) {
                self.close(address_space, call, c);
            } else if self.cm.as_ref().is_some_and(|cm| cm.process == method) {
                crate::cm::process::call(self, address_space, call);
            } else if self.cm.as_ref().is_some_and(|cm| cm.edit == method) {
                crate::cm::edit::call(self, address_space, call, &crate::cm::file::handles::Owner::of(context));
            } else if let Some(m) = self.cm.as_ref().and_then(|cm| cm.file.method(&method)) {
                crate::cm::file::call(self, address_space, call, context, m).await;
            } else if self.cm.as_ref().is_some_and(|cm| cm.is_lock_method(&method)) {
                crate::cm::edit::lock_call(self, address_space, call, &crate::cm::file::handles::Owner::of(context), &method);
            } else {
                call.set_status(StatusCode::BadMethodInvalid);
            }
        }
        Ok(())
    }
}
