//! A written ConnectionConfigurationSetConfDataType as a set's configuration, the same form
//! `[[fx.connection_manager.set]]` takes (the reverse of [`super::from_config`]).
//!
//! - A component is local when its ServerAddress has an empty Address (or this server's URL),
//!   else it is on the `[[upstream]]` named as the ServerAddress.
//! - Nodes: NodeIds in the tag namespace are tag paths, other NodeIds portable NodeIds, browse
//!   paths paths. AliasName identifiers are not supported (no GDS).
//! - Mode: EndpointProperties `Mode`, else the flows (outbound and inbound: PublisherSubscriber),
//!   else the variables.
//! - PubSub: the PublishingInterval of the connection's flows and the MessageReceiveTimeout of
//!   their SubscriberConfiguration; an endpoint receives on the Address of its inbound flow.

use opcua::types::{NetworkAddressUrlDataType, NodeId, RelativePath, Variant};

use super::codec::Content;
use super::from_config::{MODE, RELATED_ADDRESS, RELATED_ENDPOINT};
use crate::config::cm::{
    AssetVerificationConfig, AssetVerificationModeConfig, ConnectionConfig, ConnectionSetConfig, EndpointConfig,
    EndpointModeConfig, ExpectedAssetResultConfig, NodeValueConfig, PathElementConfig, PubSubFlowConfig, ScalarConfig,
};
use crate::namespaces::FX_INSTANCES;
use crate::types::{
    AssetVerificationModeEnum, AssetVerificationResultEnum, AutomationComponentConfigurationConfDataType,
    ConnectionConfigurationSetConfDataType, ConnectionEndpointConfigurationConfDataType, NodeIdentifier,
    NodeIdentifierValuePair, PubSubCommunicationFlowConfigurationConfDataType,
};

/// Why a written set cannot be taken (the element answers Bad_InvalidArgument).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    /// A name is empty or holds `/`.
    #[error("{0}: the name is empty or holds `/`")]
    Name(String),
    /// An index points at no element.
    #[error("{0}: the index points at no element")]
    Index(String),
    /// A namespace index the file's Namespaces do not have.
    #[error("{0}: namespace index {1} is not in the file's Namespaces")]
    Namespace(String, u16),
    /// A node form fxgate cannot use there.
    #[error("{0}: {1}")]
    Unsupported(String, &'static str),
    /// A value that is not a Boolean, number or String.
    #[error("{0}: the value is not a Boolean, number or String")]
    Value(String),
    /// Two connections with one name.
    #[error("connection `{0}` appears twice")]
    Duplicate(String),
}

/// What conversion needs to know: the file, the tag namespace's URI and this server's URL.
pub struct Context<'a> {
    /// The decoded file.
    pub file: &'a Content,
    /// The URI of the tag namespace.
    pub tags: &'a str,
    /// This server's endpoint URL.
    pub own_url: &'a str,
}

fn name_ok(s: &str) -> bool {
    !s.is_empty() && !s.contains('/')
}

impl Context<'_> {
    fn uri(&self, at: &str, i: u16) -> Result<&str, ConvertError> {
        self.file.uri(i).ok_or_else(|| ConvertError::Namespace(at.to_string(), i))
    }

    /// A node as a tag path (tag namespace, string id) or a portable NodeId text.
    fn node_text(&self, at: &str, id: &NodeId) -> Result<String, ConvertError> {
        let uri = self.uri(at, id.namespace)?;
        if uri == self.tags {
            if let opcua::types::Identifier::String(s) = &id.identifier {
                return Ok(s.as_ref().to_string());
            }
        }
        let local = id.identifier.to_string();
        Ok(format!("nsu={uri};{local}"))
    }

    fn path(&self, at: &str, p: &RelativePath) -> Result<Vec<PathElementConfig>, ConvertError> {
        p.elements
            .iter()
            .flatten()
            .map(|e| {
                Ok(PathElementConfig { namespace: self.uri(at, e.target_name.namespace_index)?.to_string(), name: e.target_name.name.as_ref().to_string() })
            })
            .collect()
    }

    fn variables(&self, at: &str, list: &Option<Option<Vec<NodeIdentifier>>>) -> Result<(Vec<String>, Vec<Vec<PathElementConfig>>), ConvertError> {
        let (mut tags, mut paths) = (Vec::new(), Vec::new());
        for v in list.iter().flatten().flatten() {
            match v {
                NodeIdentifier::Node(id) => {
                    let text = self.node_text(at, id)?;
                    if text.starts_with("nsu=") {
                        return Err(ConvertError::Unsupported(at.to_string(), "a variable NodeId must be a tag's (or give a browse path)"));
                    }
                    tags.push(text);
                }
                NodeIdentifier::IdentifierBrowsePath(p) => paths.push(self.path(at, p)?),
                _ => return Err(ConvertError::Unsupported(at.to_string(), "AliasName identifiers are not supported")),
            }
        }
        Ok((tags, paths))
    }

    fn pairs(&self, at: &str, list: &Option<Option<Vec<NodeIdentifierValuePair>>>) -> Result<Vec<NodeValueConfig>, ConvertError> {
        list.iter()
            .flatten()
            .flatten()
            .map(|p| match &p.key {
                NodeIdentifier::Node(id) => Ok(NodeValueConfig { node: self.node_text(at, id)?, value: scalar(at, &p.value)? }),
                _ => Err(ConvertError::Unsupported(at.to_string(), "a node-value pair needs a NodeId")),
            })
            .collect()
    }
}

fn scalar(at: &str, v: &Variant) -> Result<ScalarConfig, ConvertError> {
    Ok(match v {
        Variant::Boolean(b) => ScalarConfig::Bool(*b),
        Variant::SByte(_) | Variant::Byte(_) | Variant::Int16(_) | Variant::UInt16(_) | Variant::Int32(_) | Variant::UInt32(_) | Variant::Int64(_) => {
            match v.cast(opcua::types::VariantScalarTypeId::Int64) {
                Variant::Int64(i) => ScalarConfig::Integer(i),
                _ => return Err(ConvertError::Value(at.to_string())),
            }
        }
        Variant::UInt64(u) => ScalarConfig::Integer(i64::try_from(*u).map_err(|_| ConvertError::Value(at.to_string()))?),
        Variant::Float(f) => ScalarConfig::Float(f64::from(*f)),
        Variant::Double(f) => ScalarConfig::Float(*f),
        Variant::String(s) => ScalarConfig::Text(s.as_ref().to_string()),
        _ => return Err(ConvertError::Value(at.to_string())),
    })
}

/// The set's configuration.
pub fn set(cx: &Context<'_>, s: &ConnectionConfigurationSetConfDataType) -> Result<ConnectionSetConfig, ConvertError> {
    let name = s.browse_name.as_ref().to_string();
    if !name_ok(&name) {
        return Err(ConvertError::Name("BrowseName".into()));
    }
    let folder: Vec<String> = s.connection_configuration_set_folder.iter().flatten().map(|f| f.as_ref().to_string()).collect();
    if folder.iter().any(|f| !name_ok(f)) {
        return Err(ConvertError::Name("ConnectionConfigurationSetFolder".into()));
    }
    let servers = s.server_addresses.clone().unwrap_or_default();
    let acs = s.automation_component_configurations.clone().unwrap_or_default();
    let flows: Vec<Option<PubSubCommunicationFlowConfigurationConfDataType>> =
        s.communication_flows.iter().flatten().map(|o| crate::types::body::<PubSubCommunicationFlowConfigurationConfDataType>(o).ok().cloned()).collect();
    // (server, component name) of each AutomationComponentConfiguration
    let mut components = Vec::new();
    for (i, ac) in acs.iter().enumerate() {
        let at = format!("AutomationComponentConfigurations[{i}]");
        let server = usize::try_from(ac.server_address_index).ok().and_then(|k| servers.get(k)).ok_or_else(|| ConvertError::Index(format!("{at}.ServerAddressIndex")))?;
        let address = server.address.as_ref();
        let server_name = if address.is_empty() || address == cx.own_url { String::new() } else { server.browse_name.as_ref().to_string() };
        let ac_name = component_name(cx, &at, ac)?;
        components.push((server_name, ac_name));
    }
    let mut asset_verification = Vec::new();
    for (i, ac) in acs.iter().enumerate() {
        for (k, a) in ac.asset_verification.iter().flatten().enumerate() {
            let at = format!("AutomationComponentConfigurations[{i}].AssetVerification[{k}]");
            let (server, component) = &components[i];
            if !server.is_empty() {
                return Err(ConvertError::Unsupported(at, "asset verification of an upstream's component is not supported"));
            }
            let variables = a
                .expected_verification_variables
                .iter()
                .flatten()
                .map(|p| Ok((last_name(cx, &at, &p.key)?, scalar(&at, &p.value)?)))
                .collect::<Result<_, ConvertError>>()?;
            asset_verification.push(AssetVerificationConfig {
                automation_component: component.clone(),
                asset: last_name(cx, &at, &a.asset_to_verify)?,
                mode: match a.verification_mode {
                    AssetVerificationModeEnum::AssetCompatibility => AssetVerificationModeConfig::Compatibility,
                    AssetVerificationModeEnum::AssetIdentity => AssetVerificationModeConfig::Identity,
                    AssetVerificationModeEnum::AssetIdentityAndCompatibility => AssetVerificationModeConfig::IdentityAndCompatibility,
                },
                expected_result: match a.expected_verification_result {
                    AssetVerificationResultEnum::Compatible => ExpectedAssetResultConfig::Compatible,
                    AssetVerificationResultEnum::Match => ExpectedAssetResultConfig::Match,
                    _ => return Err(ConvertError::Unsupported(at, "ExpectedVerificationResult must be Match or Compatible")),
                },
                variables,
            });
        }
    }
    let mut connection: Vec<ConnectionConfig> = Vec::new();
    for (j, c) in s.connections.iter().flatten().enumerate() {
        let at = format!("Connections[{j}]");
        let cname = c.browse_name.as_ref().to_string();
        if !name_ok(&cname) {
            return Err(ConvertError::Name(format!("{at}.BrowseName")));
        }
        if connection.iter().any(|x| x.name == cname) {
            return Err(ConvertError::Duplicate(cname));
        }
        let end = |e: &ConnectionEndpointConfigurationConfDataType, which: &str| endpoint(cx, &format!("{at}.{which}"), e, &components, &flows);
        let endpoint1 = end(&c.endpoint1, "Endpoint1")?;
        let endpoint2 = c.endpoint2.as_ref().map(|e| end(e, "Endpoint2")).transpose()?;
        let used: Vec<&PubSubCommunicationFlowConfigurationConfDataType> = std::iter::once(&c.endpoint1)
            .chain(c.endpoint2.as_ref())
            .filter_map(|e| e.outbound_flow_index)
            .filter_map(|k| usize::try_from(k).ok().and_then(|k| flows.get(k)).and_then(Option::as_ref))
            .collect();
        let pubsub = used.first().map(|f| {
            let d = PubSubFlowConfig::default();
            let timeout = f.subscriber_configurations.iter().flatten().flatten().next().map(|sc| sc.message_receive_timeout);
            PubSubFlowConfig {
                publishing_interval_ms: f.publishing_interval.map(|p| p.round().max(1.0) as u64).unwrap_or(d.publishing_interval_ms),
                message_receive_timeout_ms: timeout.map(|t| t.round().max(1.0) as u64).unwrap_or(d.message_receive_timeout_ms),
            }
        });
        connection.push(ConnectionConfig { name: cname, endpoint1, endpoint2, pubsub });
    }
    Ok(ConnectionSetConfig { name, folder, rollback_on_error: s.rollback_on_error, asset_verification, connection })
}

/// The component's name: the configuration's BrowseName, else its node's last name.
fn component_name(cx: &Context<'_>, at: &str, ac: &AutomationComponentConfigurationConfDataType) -> Result<String, ConvertError> {
    let n = ac.browse_name.as_ref().to_string();
    let n = if n.is_empty() { last_name(cx, at, &ac.automation_component_node)? } else { n };
    if name_ok(&n) {
        Ok(n)
    } else {
        Err(ConvertError::Name(format!("{at}.BrowseName")))
    }
}

/// The last name of a node: the part after the last `/` of a string NodeId, or a path's last
/// BrowseName.
fn last_name(cx: &Context<'_>, at: &str, n: &NodeIdentifier) -> Result<String, ConvertError> {
    match n {
        NodeIdentifier::Node(id) => {
            cx.uri(at, id.namespace)?;
            let opcua::types::Identifier::String(s) = &id.identifier else {
                return Err(ConvertError::Unsupported(at.to_string(), "a node given by NodeId needs a string identifier"));
            };
            let s = s.as_ref();
            Ok(s.rsplit('/').next().unwrap_or_default().to_string())
        }
        NodeIdentifier::IdentifierBrowsePath(p) => p
            .elements
            .iter()
            .flatten()
            .last()
            .map(|e| e.target_name.name.as_ref().to_string())
            .ok_or(ConvertError::Unsupported(at.to_string(), "an empty browse path")),
        _ => Err(ConvertError::Unsupported(at.to_string(), "AliasName identifiers are not supported")),
    }
}

/// One endpoint.
fn endpoint(
    cx: &Context<'_>,
    at: &str,
    e: &ConnectionEndpointConfigurationConfDataType,
    components: &[(String, String)],
    flows: &[Option<PubSubCommunicationFlowConfigurationConfDataType>],
) -> Result<EndpointConfig, ConvertError> {
    let name = e.name.as_ref().to_string();
    if !name_ok(&name) {
        return Err(ConvertError::Name(format!("{at}.Name")));
    }
    let (server, automation_component) = usize::try_from(e.automation_component_index)
        .ok()
        .and_then(|i| components.get(i))
        .cloned()
        .ok_or_else(|| ConvertError::Index(format!("{at}.AutomationComponentIndex")))?;
    let mut out = EndpointConfig { server, automation_component, name, cleanup_timeout: e.cleanup_timeout, ..EndpointConfig::default() };
    match &e.functional_entity_node {
        NodeIdentifier::Node(id) => {
            let text = cx.node_text(at, id)?;
            let by_name = format!("nsu={FX_INSTANCES};s={}/FunctionalEntities/", out.automation_component);
            match text.strip_prefix(&by_name) {
                Some(fe) if !fe.contains('/') => out.functional_entity = fe.to_string(),
                _ => out.functional_entity_node = text,
            }
        }
        NodeIdentifier::IdentifierBrowsePath(p) => out.functional_entity_path = cx.path(at, p)?,
        _ => return Err(ConvertError::Unsupported(format!("{at}.FunctionalEntityNode"), "AliasName identifiers are not supported")),
    }
    (out.inputs, out.input_paths) = cx.variables(&format!("{at}.InputVariableIds"), &e.input_variable_ids)?;
    (out.outputs, out.output_paths) = cx.variables(&format!("{at}.OutputVariableIds"), &e.output_variable_ids)?;
    out.expected_verification = cx.pairs(&format!("{at}.ExpectedVerificationVariables"), &e.expected_verification_variables)?;
    out.configuration_data = cx.pairs(&format!("{at}.ConfigurationData"), &e.configuration_data)?;
    let flow = |k: i32| usize::try_from(k).ok().and_then(|k| flows.get(k)).and_then(Option::as_ref);
    if let Some(k) = e.outbound_flow_index {
        flow(k).ok_or_else(|| ConvertError::Index(format!("{at}.OutboundFlowIndex")))?;
    }
    let inbound: Vec<&PubSubCommunicationFlowConfigurationConfDataType> = e
        .inbound_flow_index
        .iter()
        .flatten()
        .flatten()
        .map(|k| flow(*k).ok_or_else(|| ConvertError::Index(format!("{at}.InboundFlowIndex"))))
        .collect::<Result<_, _>>()?;
    if let Some(f) = inbound.first() {
        let url = f.address.as_ref().and_then(|a| crate::types::body::<NetworkAddressUrlDataType>(&a.address).ok()).map(|u| u.url.as_ref().to_string());
        out.address = url.unwrap_or_default();
    }
    let mut mode = match (e.outbound_flow_index.is_some(), !inbound.is_empty()) {
        (true, false) => Some(EndpointModeConfig::Publisher),
        (false, true) => Some(EndpointModeConfig::Subscriber),
        (true, true) => Some(EndpointModeConfig::PublisherSubscriber),
        (false, false) => None,
    };
    for p in e.endpoint_properties.iter().flatten().flatten() {
        match (p.key.name.as_ref(), &p.value) {
            (MODE, Variant::Int32(1)) => mode = Some(EndpointModeConfig::PublisherSubscriber),
            (MODE, Variant::Int32(2)) => mode = Some(EndpointModeConfig::Publisher),
            (MODE, Variant::Int32(3)) => mode = Some(EndpointModeConfig::Subscriber),
            (RELATED_ADDRESS, Variant::String(s)) => out.related_address = s.as_ref().to_string(),
            (RELATED_ENDPOINT, Variant::String(s)) => out.related_endpoint = s.as_ref().to_string(),
            _ => {}
        }
    }
    let has_in = !out.inputs.is_empty() || !out.input_paths.is_empty();
    let has_out = !out.outputs.is_empty() || !out.output_paths.is_empty();
    out.mode = mode.unwrap_or(match (has_in, has_out) {
        (true, false) => EndpointModeConfig::Subscriber,
        (false, true) => EndpointModeConfig::Publisher,
        _ => EndpointModeConfig::PublisherSubscriber,
    });
    Ok(out)
}
