//! What the ConnectionManager calls EstablishConnections with (§6.7.3.2, Table 79): per
//! endpoint CreateConnectionEndpointCmd, with VerifyFunctionalEntityCmd when the configuration
//! has ExpectedVerificationVariables and SetConfigurationDataCmd when it has ConfigurationData
//! (null entries skip their command); per asset verification VerifyAssetCmd. The commands of a
//! PubSub communication model (ReserveCommunicationIdsCmd, SetCommunicationConfigurationCmd,
//! EnableCommunicationCmd) are added by [`super::flow`].

use crate::config::{
    AssetVerificationConfig, AssetVerificationModeConfig, EndpointConfig, EndpointModeConfig, ExpectedAssetResultConfig,
    NodeValueConfig, ScalarConfig,
};
use opcua::types::{
    ExtensionObject, KeyValuePair, NodeId, PortableQualifiedName, QualifiedName, Variant, VariantScalarTypeId,
};

use super::remote::RemoteEndpoint;
use super::resolve::{ResolveError, Resolver};
use super::target::Target;
use crate::compare::NodeLookup;
use crate::establish::Request;
use crate::model::Entity;
use crate::namespaces::{FX_AC, FX_INSTANCES};
use crate::types::ids::ac;
use crate::types::{
    AssetVerificationDataType, AssetVerificationModeEnum, AssetVerificationResultEnum,
    ConnectionEndpointConfigurationDataType, ConnectionEndpointDefinitionDataType, FxCommandMask, NodeIdArray,
    NodeIdValuePair, PubSubConnectionEndpointModeEnum, PubSubConnectionEndpointParameterDataType,
    RelatedEndpointDataType,
};

/// One EstablishConnections call on a local or an upstream's component.
#[derive(Debug, Clone)]
pub struct Call {
    /// The component.
    pub target: Target,
    /// The call.
    pub request: Request,
}

/// Where an endpoint's peer is: for the RelatedEndpoint of the other end.
#[derive(Debug, Clone)]
pub struct Peer {
    /// RelatedEndpoint.Address (empty: this server).
    pub address: String,
    /// BrowseNames from FxRoot to the peer's FunctionalEntity (empty if unknown).
    pub path: Vec<PortableQualifiedName>,
    /// The peer endpoint's name.
    pub name: String,
}

impl Peer {
    /// The peer of a resolved local endpoint `e` of entity `fe` in component `component`.
    pub fn local(component: &str, fe: &Entity, e: &EndpointConfig) -> Self {
        let q = |uri: &str, name: &str| PortableQualifiedName { namespace_uri: uri.into(), name: name.into() };
        Self {
            address: String::new(),
            path: vec![
                q(FX_INSTANCES, component),
                q(FX_AC, "FunctionalEntities"),
                q(FX_INSTANCES, &fe.name),
                q(FX_AC, "ConnectionEndpoints"),
                q(FX_INSTANCES, &e.name),
            ],
            name: e.name.clone(),
        }
    }

    /// The peer resolved on an upstream server: its URL, the path from its FxRoot through the
    /// FunctionalEntity's ConnectionEndpoints folder (the endpoint's BrowseName taken in the
    /// component's namespace), and the endpoint's name.
    pub fn remote(ep: &RemoteEndpoint, e: &EndpointConfig) -> Self {
        let q = |uri: &str, name: &str| PortableQualifiedName { namespace_uri: uri.into(), name: name.into() };
        let mut path = ep.fe_path.clone();
        path.push(q(FX_AC, "ConnectionEndpoints"));
        path.push(q(ep.ac.browse_name.namespace_uri.as_ref(), &e.name));
        Self { address: ep.ac.url.clone(), path, name: e.name.clone() }
    }

    /// The peer configured on an endpoint without endpoint2.
    pub fn configured(e: &EndpointConfig) -> Self {
        Self { address: e.related_address.clone(), path: Vec::new(), name: e.related_endpoint.clone() }
    }
}

/// The call creating endpoint `e` of the local entity `fe` (component `component`) related to
/// `peer`.
pub fn endpoint(r: &Resolver<'_>, component: usize, fe: &Entity, e: &EndpointConfig, peer: &Peer) -> Result<Call, ResolveError> {
    let resolved = Resolved {
        ac_ns: r.nm.model().ns.ac,
        fe: fe.node.clone(),
        inputs: r.variables(fe, &e.inputs, &e.input_paths)?,
        outputs: r.variables(fe, &e.outputs, &e.output_paths)?,
        verify: pairs(r, &e.expected_verification)?,
        configuration: pairs(r, &e.configuration_data)?,
    };
    Ok(Call { target: Target::Local(component), request: request(resolved, e, peer) })
}

/// The call creating endpoint `e` resolved on an upstream server as `ep`, related to `peer`.
pub fn remote_endpoint(ep: &RemoteEndpoint, e: &EndpointConfig, peer: &Peer) -> Call {
    let resolved = Resolved {
        ac_ns: ep.ac.ac_ns,
        fe: ep.fe.clone(),
        inputs: ep.inputs.clone(),
        outputs: ep.outputs.clone(),
        verify: ep.verify.clone(),
        configuration: ep.configuration.clone(),
    };
    Call { target: Target::Remote(ep.ac.clone()), request: request(resolved, e, peer) }
}

/// The nodes of an endpoint, in the namespaces of the server its component is on.
struct Resolved {
    /// The index of the FX AC namespace.
    ac_ns: u16,
    fe: NodeId,
    inputs: Vec<NodeId>,
    outputs: Vec<NodeId>,
    verify: Vec<NodeIdValuePair>,
    configuration: Vec<NodeIdValuePair>,
}

/// The EstablishConnections request creating endpoint `e` with the nodes `n`.
fn request(n: Resolved, e: &EndpointConfig, peer: &Peer) -> Request {
    let parameter = PubSubConnectionEndpointParameterDataType {
        name: e.name.as_str().into(),
        connection_endpoint_type_id: NodeId::new(n.ac_ns, ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE),
        input_variable_ids: Some(n.inputs),
        output_variable_ids: Some(n.outputs),
        is_persistent: false,
        cleanup_timeout: e.cleanup_timeout,
        related_endpoint: RelatedEndpointDataType {
            address: peer.address.as_str().into(),
            connection_endpoint_path: Some(peer.path.clone()),
            connection_endpoint_name: peer.name.as_str().into(),
        },
        is_preconfigured: false,
        mode: match e.mode {
            EndpointModeConfig::PublisherSubscriber => PubSubConnectionEndpointModeEnum::PublisherSubscriber,
            EndpointModeConfig::Publisher => PubSubConnectionEndpointModeEnum::Publisher,
            EndpointModeConfig::Subscriber => PubSubConnectionEndpointModeEnum::Subscriber,
        },
    };
    let mut mask = FxCommandMask::CreateConnectionEndpointCmd;
    if !n.verify.is_empty() {
        mask |= FxCommandMask::VerifyFunctionalEntityCmd;
    }
    if !n.configuration.is_empty() {
        mask |= FxCommandMask::SetConfigurationDataCmd;
    }
    let config = ConnectionEndpointConfigurationDataType {
        functional_entity_node: n.fe,
        connection_endpoint: ConnectionEndpointDefinitionDataType::Parameter(ExtensionObject::from_message(parameter)),
        expected_verification_variables: Some(n.verify),
        control_groups: None,
        configuration_data: Some(n.configuration),
        communication_links: ExtensionObject::null(),
    };
    Request { mask, assets: vec![], endpoints: vec![config], reserve: vec![], communication: vec![] }
}

/// The call verifying the asset of `a`.
pub fn asset(r: &Resolver<'_>, a: &AssetVerificationConfig) -> Result<Call, ResolveError> {
    let model = r.nm.model();
    let (component, c) = model
        .components
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == a.automation_component)
        .ok_or_else(|| ResolveError::Wrong(format!("no AutomationComponent `{}`", a.automation_component)))?;
    let asset = c
        .assets
        .iter()
        .find(|x| x.name == a.asset)
        .ok_or_else(|| ResolveError::Wrong(format!("`{}` has no asset `{}`", c.name, a.asset)))?;
    let ns = model.ns;
    let variables = a
        .variables
        .iter()
        .map(|(k, v)| {
            let versions = ["MajorAssetVersion", "MinorAssetVersion", "BuildAssetNumber", "SubBuildAssetNumber"];
            let (key, value) = if versions.contains(&k.as_str()) {
                (QualifiedName::new(ns.ac, k.as_str()), typed(v, Some(VariantScalarTypeId::UInt16)))
            } else {
                (QualifiedName::new(ns.di, k.as_str()), typed(v, Some(VariantScalarTypeId::String)))
            };
            KeyValuePair { key, value }
        })
        .collect();
    let v = AssetVerificationDataType {
        asset_to_verify: asset.node.clone(),
        verification_mode: mode(a.mode),
        expected_verification_result: expected(a.expected_result),
        expected_verification_variables: Some(variables),
        expected_additional_verification_variables: None,
    };
    let request = Request { mask: FxCommandMask::VerifyAssetCmd, assets: vec![v], endpoints: vec![], reserve: vec![], communication: vec![] };
    Ok(Call { target: Target::Local(component), request })
}

/// AssetVerificationModeEnum of a configured mode.
pub fn mode(m: AssetVerificationModeConfig) -> AssetVerificationModeEnum {
    match m {
        AssetVerificationModeConfig::Compatibility => AssetVerificationModeEnum::AssetCompatibility,
        AssetVerificationModeConfig::Identity => AssetVerificationModeEnum::AssetIdentity,
        AssetVerificationModeConfig::IdentityAndCompatibility => AssetVerificationModeEnum::AssetIdentityAndCompatibility,
    }
}

/// AssetVerificationResultEnum of a configured expected result.
pub fn expected(r: ExpectedAssetResultConfig) -> AssetVerificationResultEnum {
    match r {
        ExpectedAssetResultConfig::Match => AssetVerificationResultEnum::Match,
        ExpectedAssetResultConfig::Compatible => AssetVerificationResultEnum::Compatible,
    }
}

/// NodeIdValuePairs of configured nodes and values, each value in its node's DataType.
fn pairs(r: &Resolver<'_>, list: &[NodeValueConfig]) -> Result<Vec<NodeIdValuePair>, ResolveError> {
    list.iter()
        .map(|nv| {
            let node = r.node(&nv.node)?;
            let scalar = match r.nm.lookup(r.space, &node) {
                NodeLookup::Variable { scalar, .. } => scalar,
                _ => None,
            };
            Ok(NodeIdValuePair { key: NodeIdArray { node, array_index: None }, value: typed(&nv.value, scalar) })
        })
        .collect()
}

/// A configured value as `scalar` (as configured when it cannot be converted).
pub fn typed(v: &ScalarConfig, scalar: Option<VariantScalarTypeId>) -> Variant {
    let raw = match v {
        ScalarConfig::Bool(b) => Variant::Boolean(*b),
        ScalarConfig::Integer(i) => Variant::Int64(*i),
        ScalarConfig::Float(f) => Variant::Double(*f),
        ScalarConfig::Text(s) => Variant::String(s.as_str().into()),
    };
    match scalar {
        Some(t) if raw.scalar_type_id() != Some(t) => match raw.cast(t) {
            Variant::Empty => raw,
            converted => converted,
        },
        _ => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_the_type_of_their_node() {
        assert_eq!(typed(&ScalarConfig::Integer(2), Some(VariantScalarTypeId::UInt16)), Variant::UInt16(2));
        assert_eq!(typed(&ScalarConfig::Float(2.5), Some(VariantScalarTypeId::Double)), Variant::Double(2.5));
        assert_eq!(typed(&ScalarConfig::Integer(3), Some(VariantScalarTypeId::Double)), Variant::Double(3.0));
        assert_eq!(typed(&ScalarConfig::Text("x".into()), None), Variant::String("x".into()));
        // out of range: kept as configured (the AutomationComponent answers Bad_TypeMismatch)
        assert_eq!(typed(&ScalarConfig::Integer(-1), Some(VariantScalarTypeId::UInt16)), Variant::Int64(-1));
    }
}
