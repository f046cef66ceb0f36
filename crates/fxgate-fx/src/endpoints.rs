//! ConnectionEndpoints created by EstablishConnections (OPC 10000-81 §6.6): checking the
//! parameters (Table 12), the nodes in a FunctionalEntity's ConnectionEndpoints folder, and the
//! registry of the endpoints that exist.

use opcua::nodes::{ObjectBuilder, VariableBuilder};
use opcua::server::address_space::AddressSpace;
use opcua::types::{DataTypeId, ExtensionObject, NodeId, QualifiedName, StatusCode, Variant, VariableTypeId};

use crate::health::status;
use crate::model::{Component, Entity};
use crate::namespaces::FxNamespaces;
use crate::types::ids::{ac, data};
use crate::types::{body, PubSubConnectionEndpointParameterDataType, RelatedEndpointDataType};

/// A ConnectionEndpoint that exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Its node.
    pub node: NodeId,
    /// Index of its AutomationComponent in the model.
    pub component: usize,
    /// Its FunctionalEntity.
    pub entity: NodeId,
    /// Its BrowseName.
    pub name: String,
    /// Its Status (ConnectionEndpointStatusEnum).
    pub status: i32,
    /// The nodes made for it, the endpoint's own first.
    pub nodes: Vec<NodeId>,
    /// Mode (PubSubConnectionEndpointModeEnum: 1 PublisherSubscriber, 2 Publisher, 3 Subscriber).
    pub mode: i32,
    /// InputVariables.
    pub inputs: Vec<NodeId>,
    /// OutputVariables.
    pub outputs: Vec<NodeId>,
    /// CleanupTimeout in ms (negative: never).
    pub cleanup_timeout: f64,
    /// RelatedEndpoint.
    pub related: RelatedEndpointDataType,
    /// The DataSetReader it is linked to (ToDataSetReader), once SetCommunicationConfiguration made it.
    pub reader: Option<fxgate_plugin::PubSubObject>,
    /// The DataSetWriter it is linked to (ToDataSetWriter).
    pub writer: Option<fxgate_plugin::PubSubObject>,
    /// When its Status left Operational (the CleanupTimeout runs from then).
    pub left_operational: Option<std::time::Instant>,
    /// Its ToDataSetReader/ToDataSetWriter references: (target in the PubSub model, type).
    pub links: Vec<(NodeId, NodeId)>,
}

/// Checks `parameter` for a new endpoint of `entity` (Table 12); `existing` are all endpoints.
pub fn check(
    parameter: &ExtensionObject,
    ns: &FxNamespaces,
    component: &Component,
    entity: &Entity,
    existing: &[Endpoint],
) -> Result<PubSubConnectionEndpointParameterDataType, StatusCode> {
    let p = body::<PubSubConnectionEndpointParameterDataType>(parameter).map_err(|_| StatusCode::BadInvalidArgument)?;
    let type_id = &p.connection_endpoint_type_id;
    if type_id == &NodeId::new(ns.ac, ac::CONNECTION_ENDPOINT_TYPE) {
        return Err(StatusCode::BadInvalidArgument); // abstract: not a concrete subtype
    }
    if type_id != &NodeId::new(ns.ac, ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE) {
        return Err(StatusCode::BadTypeDefinitionInvalid);
    }
    let name = p.name.as_ref().trim();
    if name.is_empty() || name.contains('/') {
        return Err(StatusCode::BadInvalidArgument);
    }
    if p.is_preconfigured {
        return Err(StatusCode::BadInvalidArgument); // no preconfigured endpoints exist
    }
    if p.is_persistent {
        return Err(StatusCode::BadNotSupported); // SupportsPersistence is FALSE
    }
    let inputs = p.input_variable_ids.as_deref().unwrap_or_default();
    let outputs = p.output_variable_ids.as_deref().unwrap_or_default();
    if inputs.is_empty() && outputs.is_empty() {
        return Err(StatusCode::BadInvalidArgument);
    }
    if !inputs.iter().all(|n| entity.inputs.iter().any(|t| &t.node == n))
        || !outputs.iter().all(|n| entity.outputs.iter().any(|t| &t.node == n))
    {
        return Err(StatusCode::BadInvalidArgument);
    }
    if is_null(&p.related_endpoint) {
        return Err(StatusCode::BadInvalidArgument);
    }
    if existing.iter().any(|e| e.entity == entity.node && e.name == name) {
        return Err(StatusCode::BadBrowseNameDuplicated);
    }
    let count = existing.iter().filter(|e| e.belongs_to(component)).count();
    if component.max_connections > 0 && count >= component.max_connections as usize {
        return Err(StatusCode::BadResourceUnavailable);
    }
    Ok(p.clone())
}

impl Endpoint {
    /// Whether this endpoint is in one of `component`'s FunctionalEntities.
    pub fn belongs_to(&self, component: &Component) -> bool {
        component.entities.iter().any(|e| e.node == self.entity)
    }
}

/// A RelatedEndpoint with neither address nor name nor path is null.
fn is_null(r: &RelatedEndpointDataType) -> bool {
    r.address.is_empty()
        && r.connection_endpoint_name.is_empty()
        && r.connection_endpoint_path.as_ref().is_none_or(|p| p.is_empty())
}

/// Inserts the nodes of a checked endpoint `p` into `entity`'s ConnectionEndpoints folder.
pub fn insert(
    space: &mut AddressSpace,
    ns: &FxNamespaces,
    component: usize,
    entity: &Entity,
    p: &PubSubConnectionEndpointParameterDataType,
) -> Endpoint {
    let name = p.name.as_ref().trim().to_string();
    let base = match &entity.endpoints_folder.identifier {
        opcua::types::Identifier::String(s) => format!("{}/{name}", s.as_ref()),
        other => format!("{other}/{name}"),
    };
    let node = NodeId::new(ns.instances, base.clone());
    ObjectBuilder::new(&node, QualifiedName::new(ns.instances, name.as_str()), name.as_str())
        .has_type_definition(NodeId::new(ns.ac, ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE))
        .insert(space);
    space.insert_reference(&entity.endpoints_folder, &node, NodeId::new(ns.ac, ac::HAS_CONNECTION_ENDPOINT));
    let mut nodes = vec![node.clone()];
    let mut var = |space: &mut AddressSpace, child: &str, dt: NodeId, rank: i32, value: Variant| {
        let id = NodeId::new(ns.instances, format!("{base}/{child}"));
        VariableBuilder::new(&id, QualifiedName::new(ns.ac, child), child)
            .data_type(dt)
            .value_rank(rank)
            .value(value)
            .has_type_definition(VariableTypeId::BaseDataVariableType)
            .component_of(node.clone())
            .insert(space);
        nodes.push(id);
    };
    let ids = |v: &Option<Vec<NodeId>>| Variant::from(v.clone().unwrap_or_default());
    var(space, "Status", NodeId::new(ns.ac, ac::CONNECTION_ENDPOINT_STATUS_ENUM), -1, Variant::Int32(status::INITIAL));
    var(
        space,
        "RelatedEndpoint",
        NodeId::new(ns.data, data::RELATED_ENDPOINT_DATA_TYPE),
        -1,
        ExtensionObject::from_message(p.related_endpoint.clone()).into(),
    );
    var(space, "IsPersistent", DataTypeId::Boolean.into(), -1, p.is_persistent.into());
    var(space, "CleanupTimeout", DataTypeId::Duration.into(), -1, p.cleanup_timeout.into());
    var(space, "InputVariables", DataTypeId::NodeId.into(), 1, ids(&p.input_variable_ids));
    var(space, "OutputVariables", DataTypeId::NodeId.into(), 1, ids(&p.output_variable_ids));
    var(space, "Mode", NodeId::new(ns.data, data::PUB_SUB_CONNECTION_ENDPOINT_MODE_ENUM), -1, Variant::Int32(p.mode as i32));
    Endpoint {
        node,
        component,
        entity: entity.node.clone(),
        name,
        status: status::INITIAL,
        nodes,
        mode: p.mode as i32,
        inputs: p.input_variable_ids.clone().unwrap_or_default(),
        outputs: p.output_variable_ids.clone().unwrap_or_default(),
        cleanup_timeout: p.cleanup_timeout,
        related: p.related_endpoint.clone(),
        reader: None,
        writer: None,
        left_operational: None,
        links: Vec::new(),
    }
}

/// Removes the nodes of `e` and the references to them.
pub fn remove(space: &mut AddressSpace, e: &Endpoint) {
    for n in e.nodes.iter().rev() {
        space.delete(n, true);
    }
}
