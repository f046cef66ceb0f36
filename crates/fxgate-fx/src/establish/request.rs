//! The arguments of EstablishConnections (OPC 10000-81 §6.2.4.2) decoded into their types,
//! and the argument rules of Table 8.

use opcua::types::{ExtensionObject, StatusCode, Variant};

use crate::args;
use crate::types::{
    body, AssetVerificationDataType, ConnectionEndpointConfigurationDataType, ConnectionEndpointDefinitionDataType,
    FxCommandMask,
};

/// An EstablishConnections call.
#[derive(Debug, Clone)]
pub struct Request {
    /// CommandMask.
    pub mask: FxCommandMask,
    /// AssetVerifications.
    pub assets: Vec<AssetVerificationDataType>,
    /// ConnectionEndpointConfigurations.
    pub endpoints: Vec<ConnectionEndpointConfigurationDataType>,
    /// ReserveCommunicationIds (subtypes of the abstract ReserveCommunicationIdsDataType).
    pub reserve: Vec<ExtensionObject>,
    /// CommunicationConfigurations (subtypes of the abstract CommunicationConfigurationDataType).
    pub communication: Vec<ExtensionObject>,
}

/// The commands that work on ConnectionEndpointConfigurations.
pub fn endpoint_commands() -> FxCommandMask {
    FxCommandMask::VerifyFunctionalEntityCmd
        | FxCommandMask::CreateConnectionEndpointCmd
        | FxCommandMask::EstablishControlCmd
        | FxCommandMask::SetConfigurationDataCmd
        | FxCommandMask::ReassignControlCmd
        | FxCommandMask::SetCommunicationConfigurationCmd
        | FxCommandMask::EnableCommunicationCmd
}

/// The commands that need a non-null ConnectionEndpoint.
fn commands_needing_an_endpoint() -> FxCommandMask {
    FxCommandMask::EstablishControlCmd
        | FxCommandMask::SetConfigurationDataCmd
        | FxCommandMask::ReassignControlCmd
        | FxCommandMask::SetCommunicationConfigurationCmd
        | FxCommandMask::EnableCommunicationCmd
}

impl Request {
    /// Decodes the five input arguments; Err holds the per-argument results (Bad_TypeMismatch
    /// for an argument that is not what the method declares).
    pub fn decode(a: &[Variant]) -> Result<Self, Vec<StatusCode>> {
        let mask = a.first().and_then(|v| match v {
            Variant::UInt32(m) => Some(FxCommandMask::from_bits_retain(*m)),
            _ => None,
        });
        let assets = a.get(1).and_then(structures::<AssetVerificationDataType>);
        let endpoints = a.get(2).and_then(structures::<ConnectionEndpointConfigurationDataType>);
        let reserve = a.get(3).map_or(Some(Vec::new()), objects);
        let communication = a.get(4).map_or(Some(Vec::new()), objects);
        match (mask, assets, endpoints, reserve, communication) {
            (Some(mask), Some(assets), Some(endpoints), Some(reserve), Some(communication)) => {
                Ok(Self { mask, assets, endpoints, reserve, communication })
            }
            (m, s, e, r, c) => Err(vec![
                args::type_result(m.is_some()),
                args::type_result(s.is_some()),
                args::type_result(e.is_some()),
                args::type_result(r.is_some()),
                args::type_result(c.is_some()),
            ]),
        }
    }

    /// Table 8: Bad_InvalidArgument when the arrays do not fit the commands of the mask.
    pub fn check(&self) -> Result<(), StatusCode> {
        let m = self.mask;
        let invalid = Err(StatusCode::BadInvalidArgument);
        if m.is_empty() || !FxCommandMask::all().contains(m) {
            return invalid;
        }
        if m.contains(FxCommandMask::VerifyAssetCmd) == self.assets.is_empty() {
            return invalid;
        }
        if m.intersects(endpoint_commands()) == self.endpoints.is_empty() {
            return invalid;
        }
        let has_expected = |e: &ConnectionEndpointConfigurationDataType| {
            e.expected_verification_variables.as_ref().is_some_and(|v| !v.is_empty())
        };
        if m.contains(FxCommandMask::VerifyFunctionalEntityCmd) != self.endpoints.iter().any(has_expected) {
            return invalid;
        }
        let is_parameter = |e: &ConnectionEndpointConfigurationDataType| {
            matches!(e.connection_endpoint, ConnectionEndpointDefinitionDataType::Parameter(_))
        };
        if m.contains(FxCommandMask::CreateConnectionEndpointCmd) != self.endpoints.iter().any(is_parameter) {
            return invalid;
        }
        if m.contains(FxCommandMask::ReserveCommunicationIdsCmd) == self.reserve.is_empty() {
            return invalid;
        }
        let comm = self.communication.len();
        if m.contains(FxCommandMask::SetCommunicationConfigurationCmd) != (comm == 1) || comm > 1 {
            return invalid;
        }
        if m.intersects(commands_needing_an_endpoint())
            && self
                .endpoints
                .iter()
                .any(|e| matches!(e.connection_endpoint, ConnectionEndpointDefinitionDataType::Null))
        {
            return invalid;
        }
        Ok(())
    }
}

/// An array of ExtensionObjects.
fn objects(v: &Variant) -> Option<Vec<ExtensionObject>> {
    args::array(v)?
        .into_iter()
        .map(|e| match e {
            Variant::ExtensionObject(o) => Some(o.clone()),
            _ => None,
        })
        .collect()
}

/// An array of structures of type `T`.
fn structures<T: Clone + Send + Sync + 'static>(v: &Variant) -> Option<Vec<T>> {
    objects(v)?.iter().map(|o| body::<T>(o).ok().cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{NodeIdArray, NodeIdValuePair};
    use opcua::types::NodeId;

    fn endpoint(def: ConnectionEndpointDefinitionDataType, verify: bool) -> ConnectionEndpointConfigurationDataType {
        ConnectionEndpointConfigurationDataType {
            functional_entity_node: NodeId::new(8, "AC/FunctionalEntities/FE"),
            connection_endpoint: def,
            expected_verification_variables: verify.then(|| {
                vec![NodeIdValuePair { key: NodeIdArray { node: NodeId::new(8, "x"), array_index: None }, value: Variant::Empty }]
            }),
            ..Default::default()
        }
    }

    fn req(mask: FxCommandMask, endpoints: Vec<ConnectionEndpointConfigurationDataType>) -> Request {
        Request { mask, assets: vec![], endpoints, reserve: vec![], communication: vec![] }
    }

    #[test]
    fn table_8() {
        let node = ConnectionEndpointDefinitionDataType::Node(NodeId::new(8, "C1"));
        let param = ConnectionEndpointDefinitionDataType::Parameter(ExtensionObject::null());
        assert_eq!(req(FxCommandMask::empty(), vec![]).check(), Err(StatusCode::BadInvalidArgument), "no bits");
        assert_eq!(req(FxCommandMask::VerifyAssetCmd, vec![]).check(), Err(StatusCode::BadInvalidArgument), "no assets");
        assert_eq!(
            req(FxCommandMask::from_bits_retain(0x200), vec![endpoint(node.clone(), false)]).check(),
            Err(StatusCode::BadInvalidArgument),
            "unknown bit"
        );
        let set = FxCommandMask::SetConfigurationDataCmd;
        assert_eq!(req(set, vec![endpoint(node.clone(), false)]).check(), Ok(()));
        assert_eq!(req(set, vec![]).check(), Err(StatusCode::BadInvalidArgument), "endpoints needed");
        assert_eq!(
            req(set, vec![endpoint(ConnectionEndpointDefinitionDataType::Null, false)]).check(),
            Err(StatusCode::BadInvalidArgument),
            "a null endpoint for SetConfigurationData"
        );
        assert_eq!(
            req(set, vec![endpoint(node.clone(), true)]).check(),
            Err(StatusCode::BadInvalidArgument),
            "verification variables without VerifyFunctionalEntityCmd"
        );
        let create = FxCommandMask::CreateConnectionEndpointCmd;
        assert_eq!(req(create, vec![endpoint(param.clone(), false)]).check(), Ok(()));
        assert_eq!(req(create, vec![endpoint(node.clone(), false)]).check(), Err(StatusCode::BadInvalidArgument));
        assert_eq!(req(set, vec![endpoint(param, false)]).check(), Err(StatusCode::BadInvalidArgument), "Parameter needs Create");
        let verify = FxCommandMask::VerifyFunctionalEntityCmd;
        assert_eq!(req(verify, vec![endpoint(node.clone(), true)]).check(), Ok(()));
        assert_eq!(req(verify, vec![endpoint(node, false)]).check(), Err(StatusCode::BadInvalidArgument));
    }
}
