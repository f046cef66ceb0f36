//! The sets as the file shows them (Open with Read): each set's configuration as a
//! ConnectionConfigurationSetConfDataType, with the file's own namespace table.
//!
//! - ServerAddresses: `Local` (empty Address: this server) and one per upstream, named as the
//!   `[[upstream]]` and carrying its endpoint URL.
//! - One AutomationComponentConfiguration per component, named as the component, with its
//!   asset verifications.
//! - Endpoints: FunctionalEntityNode, variables and node-value pairs as NodeIds (tags in the
//!   tag namespace) or browse paths; Mode and a configured RelatedEndpoint in
//!   EndpointProperties (fxgate namespace).
//! - A connection's PubSub flows: one PubSubCommunicationFlowConfiguration per publishing end,
//!   its Address the other end's receive address, with one SubscriberConfiguration.

use opcua::types::{
    ExtensionObject, KeyValuePair, MessageSecurityMode, NetworkAddressUrlDataType, NodeId, QualifiedName,
    ReferenceTypeId, RelativePath, RelativePathElement, UAString, Variant,
};

use super::codec::Content;
use crate::cm::resolve::configured_entity;
use crate::config::cm::{
    is_portable_node_id, parse_portable_node_id, ConnectionSetConfig, EndpointConfig,
    EndpointModeConfig, NodeValueConfig, PathElementConfig,
};
use crate::namespaces::{FX_AC, FX_CM, FX_DATA, FX_INSTANCES};
use crate::node_manager::FxNodeManagerImpl;
use crate::types::def::Ns;
use crate::types::ids::ac;
use crate::types::{
    AddressSelectionDataType, AssetVerificationConfDataType,
    AutomationComponentConfigurationConfDataType, ConnectionConfigurationConfDataType,
    ConnectionConfigurationSetConfDataType, ConnectionEndpointConfigurationConfDataType, NodeIdentifier,
    NodeIdentifierValuePair, PortableNodeIdentifier, PubSubCommunicationFlowConfigurationConfDataType,
    ServerAddressConfDataType, SubscriberConfigurationConfDataType,
};

/// The file's namespace table as it is built (index 1 = first entry).
#[derive(Debug, Default)]
pub struct Table {
    /// The URIs.
    pub uris: Vec<String>,
}

impl Table {
    /// The index of `uri` (0 for OPC UA), added if new.
    pub fn index(&mut self, uri: &str) -> u16 {
        if uri == crate::cm::file::codec::OPC_UA {
            return 0;
        }
        match self.uris.iter().position(|u| u == uri) {
            Some(i) => u16::try_from(i + 1).unwrap_or(u16::MAX),
            None => {
                self.uris.push(uri.to_string());
                u16::try_from(self.uris.len()).unwrap_or(u16::MAX)
            }
        }
    }
}

/// The key of the EndpointProperties fxgate writes: its namespace and name.
pub const MODE: &str = "Mode";
/// EndpointProperties key: RelatedEndpoint.Address of an endpoint without endpoint2.
pub const RELATED_ADDRESS: &str = "RelatedAddress";
/// EndpointProperties key: RelatedEndpoint.ConnectionEndpointName of such an endpoint.
pub const RELATED_ENDPOINT: &str = "RelatedEndpoint";

/// The URI of the tag nodes' namespace.
pub fn tags_uri(nm: &FxNodeManagerImpl) -> String {
    let Some(types) = nm.type_tree() else { return String::new() };
    let types = types.read();
    let index = nm.tags_namespace();
    types.namespaces().known_namespaces().iter().find(|(_, i)| **i == index).map(|(u, _)| u.clone()).unwrap_or_default()
}

/// The file content for every set. The file's Namespaces are the server's NamespaceArray
/// (without index 0), so its indexes are the server's: a client decodes the Body with the
/// structure definitions it loaded from the server.
pub fn content(nm: &FxNodeManagerImpl) -> Content {
    let mut t = Table::default();
    if let Some(types) = nm.type_tree() {
        let mut server: Vec<(u16, String)> = types.read().namespaces().known_namespaces().iter().map(|(u, i)| (*i, u.clone())).collect();
        server.sort();
        let mut next = 1u16;
        for (i, uri) in server.into_iter().filter(|(i, _)| *i > 0) {
            // a gap in the server's table gets a placeholder, so that the indexes stay equal
            while next < i {
                t.uris.push(format!("urn:fxgate:unused:{next}"));
                next += 1;
            }
            t.uris.push(uri);
            next = i + 1;
        }
    }
    for uri in [FX_CM, FX_DATA, FX_AC, FX_INSTANCES] {
        t.index(uri);
    }
    let tags = tags_uri(nm);
    let sets = nm
        .connection_manager()
        .map(|cm| cm.sets.read().clone())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let version = s.runtime.lock().version;
            set(nm, &mut t, &tags, &s.config, version)
        })
        .collect();
    Content { namespaces: t.uris, sets }
}

/// One set.
pub fn set(nm: &FxNodeManagerImpl, t: &mut Table, tags: &str, cfg: &ConnectionSetConfig, version: u32) -> ConnectionConfigurationSetConfDataType {
    let ends = cfg.connection.iter().flat_map(|c| std::iter::once(&c.endpoint1).chain(c.endpoint2.as_ref()));
    let mut servers: Vec<String> = vec![String::new()];
    let mut acs: Vec<(String, String)> = Vec::new();
    let pairs = ends
        .map(|e| (e.server.clone(), e.automation_component.clone()))
        .chain(cfg.asset_verification.iter().map(|a| (String::new(), a.automation_component.clone())));
    for (server, ac) in pairs {
        if !servers.contains(&server) {
            servers.push(server.clone());
        }
        if !acs.contains(&(server.clone(), ac.clone())) {
            acs.push((server, ac));
        }
    }
    let server_addresses = servers
        .iter()
        .map(|s| ServerAddressConfDataType {
            browse_name: if s.is_empty() { "Local".into() } else { s.as_str().into() },
            address: match s.as_str() {
                "" => UAString::from(""),
                up => nm.aggregator().and_then(|a| a.link(up)).map(|l| UAString::from(l.endpoint_url)).unwrap_or_default(),
            },
            security_mode: MessageSecurityMode::None,
            ..Default::default()
        })
        .collect();
    let automation_components = acs
        .iter()
        .map(|(server, ac)| {
            let assets = cfg.asset_verification.iter().filter(|a| server.is_empty() && &a.automation_component == ac);
            AutomationComponentConfigurationConfDataType {
                browse_name: ac.as_str().into(),
                automation_component_node: NodeIdentifier::Node(NodeId::new(t.index(FX_INSTANCES), ac.as_str())),
                asset_verification: Some(assets.map(|a| asset(t, a)).collect()),
                communication_model_config: ExtensionObject::null(),
                server_address_index: servers.iter().position(|s| s == server).and_then(|i| i32::try_from(i).ok()).unwrap_or(0),
                ..Default::default()
            }
        })
        .collect();
    let mut flows = Vec::new();
    let mut connections = Vec::new();
    for c in &cfg.connection {
        let ac_index = |e: &EndpointConfig| acs.iter().position(|x| x == &(e.server.clone(), e.automation_component.clone())).and_then(|i| i32::try_from(i).ok()).unwrap_or(0);
        let mut e1 = endpoint(t, tags, &c.endpoint1, ac_index(&c.endpoint1));
        let mut e2 = c.endpoint2.as_ref().map(|e| endpoint(t, tags, e, ac_index(e)));
        if let (Some(p), Some(end2), Some(cfg2)) = (&c.pubsub, e2.as_mut(), c.endpoint2.as_ref()) {
            let publishes = |m: EndpointModeConfig| m != EndpointModeConfig::Subscriber;
            let pairs = [(&c.endpoint1, cfg2, true), (cfg2, &c.endpoint1, false)];
            for (from, to, one) in pairs {
                if !publishes(from.mode) || to.mode == EndpointModeConfig::Publisher {
                    continue;
                }
                let k = i32::try_from(flows.len()).unwrap_or(0);
                flows.push(flow(&format!("{}/{}", c.name, if one { "Endpoint1" } else { "Endpoint2" }), &to.address, p));
                let (out, inn) = if one { (&mut e1, &mut *end2) } else { (&mut *end2, &mut e1) };
                out.outbound_flow_index = Some(k);
                inn.inbound_flow_index.get_or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(k);
            }
        }
        connections.push(ConnectionConfigurationConfDataType {
            browse_name: c.name.as_str().into(),
            endpoint1: e1,
            endpoint2: e2,
            connection_properties: None,
        });
    }
    ConnectionConfigurationSetConfDataType {
        browse_name: cfg.name.as_str().into(),
        connection_configuration_set_folder: (!cfg.folder.is_empty()).then(|| cfg.folder.iter().map(|f| UAString::from(f.as_str())).collect()),
        connections: Some(connections),
        communication_flows: Some(flows.into_iter().map(ExtensionObject::from_message).collect()),
        server_addresses: Some(server_addresses),
        automation_component_configurations: Some(automation_components),
        rollback_on_error: cfg.rollback_on_error,
        security_key_server: Default::default(),
        version,
        connection_configuration_set_properties: None,
    }
}

/// A flow with destination `to` and its one SubscriberConfiguration.
fn flow(name: &str, to: &str, p: &crate::config::cm::PubSubFlowConfig) -> PubSubCommunicationFlowConfigurationConfDataType {
    let address = AddressSelectionDataType {
        address: ExtensionObject::from_message(NetworkAddressUrlDataType { url: to.into(), ..Default::default() }),
        address_selection: None,
        address_modify: false,
    };
    PubSubCommunicationFlowConfigurationConfDataType {
        browse_name: name.into(),
        address: Some(address),
        transport_profile_uri: Some(fxgate_plugin::UDP_UADP.into()),
        publishing_interval: Some(p.publishing_interval_ms as f64),
        subscriber_configurations: Some(Some(vec![SubscriberConfigurationConfDataType {
            browse_name: format!("{name}/Subscriber").into(),
            message_receive_timeout: p.message_receive_timeout_ms as f64,
            ..Default::default()
        }])),
        ..Default::default()
    }
}

/// A path of BrowseNames followed over hierarchical references.
fn path(t: &mut Table, elements: &[PathElementConfig]) -> NodeIdentifier {
    let elements = elements
        .iter()
        .map(|p| RelativePathElement {
            reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
            is_inverse: false,
            include_subtypes: true,
            target_name: QualifiedName::new(if p.namespace.is_empty() { 1 } else { t.index(&p.namespace) }, p.name.as_str()),
        })
        .collect();
    NodeIdentifier::IdentifierBrowsePath(RelativePath { elements: Some(elements) })
}

/// A node text (tag path or portable NodeId) as a NodeId of the file.
fn node_text(t: &mut Table, tags: &str, text: &str) -> NodeIdentifier {
    if is_portable_node_id(text) {
        if let Ok(p) = parse_portable_node_id(text) {
            if let Ok(mut id) = format!("ns=0;{}", p.identifier).parse::<NodeId>() {
                id.namespace = if p.namespace.is_empty() { 1 } else { t.index(&p.namespace) };
                return NodeIdentifier::Node(id);
            }
        }
    }
    NodeIdentifier::Node(NodeId::new(t.index(tags), text))
}

fn pairs(t: &mut Table, tags: &str, list: &[NodeValueConfig]) -> Option<Option<Vec<NodeIdentifierValuePair>>> {
    (!list.is_empty()).then(|| Some(list.iter().map(|nv| NodeIdentifierValuePair { key: node_text(t, tags, &nv.node), array_index: None, value: crate::cm::plan::typed(&nv.value, None) }).collect()))
}

fn property(t: &mut Table, name: &str, value: Variant) -> KeyValuePair {
    KeyValuePair { key: QualifiedName::new(t.index(Ns::Fxgate.uri()), name), value }
}

/// One endpoint configuration.
fn endpoint(t: &mut Table, tags: &str, e: &EndpointConfig, ac_index: i32) -> ConnectionEndpointConfigurationConfDataType {
    let fe = match configured_entity(e) {
        PortableNodeIdentifier::IdentifierBrowsePath(_) => path(t, &e.functional_entity_path),
        PortableNodeIdentifier::Node(p) => {
            let mut id = p.identifier.clone();
            id.namespace = t.index(p.namespace_uri.as_ref());
            NodeIdentifier::Node(id)
        }
        _ => NodeIdentifier::Null,
    };
    let vars = |t: &mut Table, list: &[String], paths: &[Vec<PathElementConfig>]| -> Option<Option<Vec<NodeIdentifier>>> {
        let mut out: Vec<NodeIdentifier> = list.iter().map(|x| NodeIdentifier::Node(NodeId::new(t.index(tags), x.as_str()))).collect();
        out.extend(paths.iter().map(|p| path(t, p)));
        (!out.is_empty()).then_some(Some(out))
    };
    let mode = match e.mode {
        EndpointModeConfig::PublisherSubscriber => 1,
        EndpointModeConfig::Publisher => 2,
        EndpointModeConfig::Subscriber => 3,
    };
    let mut properties = vec![property(t, MODE, Variant::Int32(mode))];
    if !e.related_endpoint.is_empty() || !e.related_address.is_empty() {
        properties.push(property(t, RELATED_ADDRESS, Variant::String(e.related_address.as_str().into())));
        properties.push(property(t, RELATED_ENDPOINT, Variant::String(e.related_endpoint.as_str().into())));
    }
    ConnectionEndpointConfigurationConfDataType {
        functional_entity_node: fe,
        name: e.name.as_str().into(),
        connection_endpoint_type_id: NodeId::new(t.index(FX_AC), ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE),
        input_variable_ids: vars(t, &e.inputs, &e.input_paths),
        output_variable_ids: vars(t, &e.outputs, &e.output_paths),
        is_persistent: false,
        cleanup_timeout: e.cleanup_timeout,
        is_preconfigured: false,
        expected_verification_variables: pairs(t, tags, &e.expected_verification),
        configuration_data: pairs(t, tags, &e.configuration_data),
        endpoint_properties: Some(Some(properties)),
        automation_component_index: ac_index,
        ..Default::default()
    }
}

/// One asset verification.
fn asset(t: &mut Table, a: &crate::config::cm::AssetVerificationConfig) -> AssetVerificationConfDataType {
    let asset = NodeIdentifier::Node(NodeId::new(t.index(FX_INSTANCES), format!("{}/Assets/{}", a.automation_component, a.asset)));
    let variables = a
        .variables
        .iter()
        .map(|(k, v)| NodeIdentifierValuePair {
            key: NodeIdentifier::Node(NodeId::new(t.index(FX_INSTANCES), format!("{}/Assets/{}/{k}", a.automation_component, a.asset))),
            array_index: None,
            value: crate::cm::plan::typed(v, None),
        })
        .collect();
    AssetVerificationConfDataType {
        asset_to_verify: asset,
        verification_mode: crate::cm::plan::mode(a.mode),
        expected_verification_result: crate::cm::plan::expected(a.expected_result),
        expected_verification_variables: Some(variables),
        expected_additional_verification_variables: None,
        asset_properties: None,
    }
}
