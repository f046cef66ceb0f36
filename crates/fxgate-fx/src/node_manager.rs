//! The FX node manager: serves the FX namespaces (types and instances) from an in-memory
//! address space and executes the FX methods.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use fxgate_config::FxConfig;
use fxgate_core::TagStore;
use opcua::nodes::NodeType;
use opcua::server::address_space::AddressSpace;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{InMemoryNodeManager, InMemoryNodeManagerBuilder, InMemoryNodeManagerImpl};
use opcua::server::node_manager::{MethodCall, NodeManagerBuilder, RequestContext, ServerContext};
use opcua::sync::RwLock;
use opcua::types::{
    DataEncoding, NamespaceMap, NodeId, NumericRange, StatusCode, TimestampsToReturn, Variant, VariantScalarTypeId,
};

use crate::compare::{ExpectedNodeValue, NodeLookup};
use crate::model::{self, Model};
use crate::namespaces::{FxNamespaces, ALL};
use crate::{args, verify, verify_asset};

/// The node manager type as the server holds it.
pub type FxNodeManager = InMemoryNodeManager<FxNodeManagerImpl>;

/// The FX instance namespace index, once the node manager is built (for the access checks
/// of [`needs_connection_admin`]).
static INSTANCES_NS: OnceLock<u16> = OnceLock::new();

/// Whether calling `method` needs the ConnectionAdmin (or configure) role: EstablishConnections
/// and CloseConnections of the FX AutomationComponents (OPC 10000-81 §5.9).
pub fn needs_connection_admin(method: &NodeId) -> bool {
    let Some(ns) = INSTANCES_NS.get() else { return false };
    if method.namespace != *ns {
        return false;
    }
    match &method.identifier {
        opcua::types::Identifier::String(s) => {
            let s = s.as_ref();
            s.ends_with("/EstablishConnections") || s.ends_with("/CloseConnections")
        }
        _ => false,
    }
}

/// Serves the FX model.
pub struct FxNodeManagerImpl {
    model: Arc<Model>,
    store: Arc<TagStore>,
    tags_ns: u16,
    namespaces: Vec<NamespaceMetadata>,
}

/// Builds the FX node manager for `cfg`. `wanted` are the indexes of the FX namespaces in the
/// persisted namespace table: each is registered at that index when it is free in the server
/// (so that upstream namespaces, which take their table indexes, never collide with them).
/// `tags_namespace` is the URI of the tag nodes.
pub fn fx_node_manager(
    cfg: FxConfig,
    store: Arc<TagStore>,
    wanted: FxNamespaces,
    tags_namespace: &'static str,
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
        let _ = INSTANCES_NS.set(ns.instances);
        if let Err(e) = crate::types::add_types(space, &ns) {
            tracing::error!(error = %e, "FX type model");
        }
        let model = model::build(space, ns, &cfg, &store, tags_ns);
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
        FxNodeManagerImpl { model: Arc::new(model), store, tags_ns, namespaces }
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
    /// What the server has at `e.node`: an FX node, or a tag of the tag store.
    fn lookup(&self, space: &AddressSpace, e: &ExpectedNodeValue) -> NodeLookup {
        let node = &e.node;
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
                arg_ok(a.first().and_then(args::enum_value).is_some()),
                arg_ok(a.get(1).and_then(args::key_value_pairs).is_some()),
                arg_ok(a.get(2).map_or(Some(Vec::new()), args::node_value_pairs).is_some()),
            ];
            call.set_argument_error(results);
            return;
        };
        let lookup = |e: &ExpectedNodeValue| self.lookup(space, e);
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
        let lookup = |e: &ExpectedNodeValue| self.lookup(space, e);
        let v = verify::verify(&expected, &lookup);
        call.set_status(v.status);
        if let Some(result) = v.result {
            call.set_outputs(vec![Variant::Int32(result as i32), Variant::from(v.errors)]);
        }
    }
}

fn arg_ok(ok: bool) -> StatusCode {
    if ok {
        StatusCode::Good
    } else {
        StatusCode::BadTypeMismatch
    }
}

#[async_trait]
impl InMemoryNodeManagerImpl for FxNodeManagerImpl {
    async fn init(&self, _address_space: &mut AddressSpace, _context: ServerContext) {}

    fn name(&self) -> &str {
        "fxgate-fx"
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
            let method = call.method_id().clone();
            let space = address_space.read();
            if let Some((_, asset)) = self.model.asset(&method).filter(|(_, a)| a.verify == method) {
                self.verify_asset(&space, call, asset);
            } else if self.model.entity(&method).is_some_and(|(_, e)| e.verify == method) {
                self.verify(&space, call);
            } else if self.model.component(&method).is_some() {
                call.set_status(StatusCode::BadNotImplemented);
            } else {
                call.set_status(StatusCode::BadMethodInvalid);
            }
        }
        Ok(())
    }
}
