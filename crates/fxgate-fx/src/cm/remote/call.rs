//! EstablishConnections and CloseConnections on an upstream's AutomationComponent.
//!
//! The upstream's client session is shared with the aggregation: its encoding context knows
//! neither the upstream's NamespaceArray nor the FX types. So the FX structures are encoded here
//! against the upstream's namespaces (NodeIds inside are upstream-native already, the encoding
//! ids are resolved by namespace URI) and sent as raw bodies ([`ByteStringBody`]) with the
//! upstream's encoding ids; the results arrive as raw bodies (the session's fallback type loader
//! keeps the bytes) and are decoded here with the FX types.

use std::io::Cursor;

use fxgate_plugin::SharedUpstreamLinks;
use opcua::types::{
    BinaryDecodable, BinaryEncodable, ByteStringBody, CallMethodRequest, ContextOwned, DecodingOptions, ExtensionObject,
    NodeId, StatusCode, TypeLoaderCollection, Variant,
};

use super::session::session_of;
use super::{RemoteAc, RemoteError};
use crate::establish::{Outcome, Request};
use crate::types::def::FxStructure;
use crate::types::{
    body, type_loaders, AssetVerificationResultDataType, ConnectionEndpointConfigurationResultDataType, PubSubCommunicationConfigurationDataType,
    PubSubCommunicationConfigurationResultDataType, PubSubReserveCommunicationIdsDataType, PubSubReserveCommunicationIdsResultDataType,
};

/// The encoding context of the upstream's namespaces with the FX type loaders.
fn context(ac: &RemoteAc) -> ContextOwned {
    let mut loaders = TypeLoaderCollection::new();
    for l in type_loaders() {
        loaders.add(l);
    }
    ContextOwned::new((*ac.namespaces).clone(), loaders, DecodingOptions::default())
}

fn answer(ac: &RemoteAc, what: impl Into<String>) -> RemoteError {
    RemoteError::Answer { server: ac.server.clone(), what: what.into() }
}

/// `value` as an ExtensionObject with a raw body and the upstream's binary encoding id.
fn encode<T: BinaryEncodable + FxStructure>(ac: &RemoteAc, cx: &ContextOwned, value: &T) -> Result<ExtensionObject, RemoteError> {
    let id = T::DEF.binary_encoding();
    let id = id
        .try_resolve(cx.namespaces())
        .ok_or_else(|| RemoteError::UnknownNamespace { server: ac.server.clone(), uri: id.namespace_uri.as_ref().to_string() })?
        .into_owned();
    let mut bytes = Vec::new();
    value
        .encode(&mut bytes, &cx.context())
        .map_err(|e| answer(ac, format!("encoding {}: {e}", T::DEF.name)))?;
    Ok(ExtensionObject::new(ByteStringBody::new(bytes.into(), id)))
}

/// An output argument that is an array of `T`, each element decoded from its raw body (or
/// taken as it is when a type loader already decoded it).
fn decode<T: BinaryDecodable + FxStructure + Clone + Send + Sync + 'static>(
    ac: &RemoteAc,
    cx: &ContextOwned,
    v: Option<&Variant>,
) -> Result<Vec<T>, RemoteError> {
    let items = match v {
        None | Some(Variant::Empty) => return Ok(Vec::new()),
        Some(Variant::Array(a)) => &a.values,
        Some(other) => return Err(answer(ac, format!("expected an array of {}, got {other:?}", T::DEF.name))),
    };
    items
        .iter()
        .map(|item| {
            let Variant::ExtensionObject(eo) = item else {
                return Err(answer(ac, format!("expected {} in an ExtensionObject", T::DEF.name)));
            };
            if let Some(t) = eo.inner_as::<T>() {
                return Ok(t.clone());
            }
            let raw = eo.inner_as::<ByteStringBody>().ok_or_else(|| answer(ac, format!("{} without a body", T::DEF.name)))?;
            let expected = T::DEF.binary_encoding();
            if expected.try_resolve(cx.namespaces()).map(|id| id.into_owned()).as_ref() != Some(raw.encoding_id()) {
                return Err(answer(ac, format!("expected {}, got encoding id {}", T::DEF.name, raw.encoding_id())));
            }
            let mut stream = Cursor::new(raw.raw_body().as_ref());
            T::decode(&mut stream, &cx.context()).map_err(|e| answer(ac, format!("decoding {}: {e}", T::DEF.name)))
        })
        .collect()
}

/// Calls `method` of the component; a failing service is an error, the method's own status is
/// returned with the outputs.
async fn call(
    aggregator: Option<&SharedUpstreamLinks>,
    ac: &RemoteAc,
    method: &NodeId,
    inputs: Vec<Variant>,
) -> Result<(StatusCode, Vec<Variant>), RemoteError> {
    let session = session_of(aggregator, &ac.server)?;
    let request = CallMethodRequest { object_id: ac.object.clone(), method_id: method.clone(), input_arguments: Some(inputs) };
    let results = session
        .call(vec![request])
        .await
        .map_err(|e| RemoteError::Service { server: ac.server.clone(), service: "Call", status: e.status() })?;
    let result = results.into_iter().next().ok_or_else(|| answer(ac, "Call returned no result"))?;
    Ok((result.status_code, result.output_arguments.unwrap_or_default()))
}

/// EstablishConnections on the upstream's component: its method result, and the asset and
/// endpoint, reservation and communication results decoded.
pub async fn establish(aggregator: Option<&SharedUpstreamLinks>, ac: &RemoteAc, req: &Request) -> Result<Outcome, RemoteError> {
    let cx = context(ac);
    let assets = req.assets.iter().map(|a| encode(ac, &cx, a)).collect::<Result<Vec<_>, _>>()?;
    let endpoints = req.endpoints.iter().map(|e| encode(ac, &cx, e)).collect::<Result<Vec<_>, _>>()?;
    let typed = |what: &str| answer(ac, format!("{what} that is not one fxgate sends"));
    let reserve = req
        .reserve
        .iter()
        .map(|r| body::<PubSubReserveCommunicationIdsDataType>(r).map_err(|_| typed("a reservation")).and_then(|r| encode(ac, &cx, r)))
        .collect::<Result<Vec<_>, _>>()?;
    let communication = req
        .communication
        .iter()
        .map(|c| body::<PubSubCommunicationConfigurationDataType>(c).map_err(|_| typed("a communication model")).and_then(|c| encode(ac, &cx, c)))
        .collect::<Result<Vec<_>, _>>()?;
    let inputs = vec![
        Variant::UInt32(req.mask.bits()),
        Variant::from(assets),
        Variant::from(endpoints),
        Variant::from(reserve),
        Variant::from(communication),
    ];
    let (status, outputs) = call(aggregator, ac, &ac.establish, inputs).await?;
    if status.is_bad() {
        return Ok(Outcome::bad(status));
    }
    Ok(Outcome {
        status,
        assets: decode::<AssetVerificationResultDataType>(ac, &cx, outputs.first())?,
        endpoints: decode::<ConnectionEndpointConfigurationResultDataType>(ac, &cx, outputs.get(1))?,
        reserve: decode::<PubSubReserveCommunicationIdsResultDataType>(ac, &cx, outputs.get(2))?,
        // the CM asks in the first version, so the answers are in it too
        reserve_info: Vec::new(),
        communication: decode::<PubSubCommunicationConfigurationResultDataType>(ac, &cx, outputs.get(3))?,
    })
}

/// CloseConnections(`endpoints`, `remove`) on the upstream's component: the method result and
/// the per-endpoint results.
pub async fn close(
    aggregator: Option<&SharedUpstreamLinks>,
    ac: &RemoteAc,
    endpoints: &[NodeId],
    remove: bool,
) -> Result<(StatusCode, Vec<StatusCode>), RemoteError> {
    let inputs = vec![Variant::from(endpoints.to_vec()), Variant::Boolean(remove)];
    let (status, outputs) = call(aggregator, ac, &ac.close, inputs).await?;
    let results = match outputs.first() {
        Some(Variant::Array(a)) => a
            .values
            .iter()
            .map(|v| match v {
                Variant::StatusCode(s) => Ok(*s),
                _ => Err(answer(ac, "CloseConnections results are no StatusCodes")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    Ok((status, results))
}

#[cfg(test)]
mod tests {
    use opcua::types::{NamespaceMap, PortableQualifiedName};

    use super::*;
    use std::sync::Arc;
    use crate::namespaces::{FX_AC, FX_DATA};
    use crate::types::{
        ConnectionEndpointConfigurationDataType, ConnectionEndpointDefinitionDataType, PubSubConnectionEndpointParameterDataType,
    };

    /// A component on an upstream whose FX Data namespace is 3 and FX AC namespace 4.
    fn upstream_ac() -> RemoteAc {
        let map = [("http://opcfoundation.org/UA/", 0), (FX_DATA, 3), (FX_AC, 4)].into_iter().map(|(u, i)| (u.to_string(), i)).collect();
        RemoteAc {
            server: "a".into(),
            url: "opc.tcp://a:4840/".into(),
            name: "AC".into(),
            object: NodeId::new(5, "AC"),
            browse_name: PortableQualifiedName::default(),
            establish: NodeId::new(5, "AC/EstablishConnections"),
            close: NodeId::new(5, "AC/CloseConnections"),
            ac_ns: 4,
            namespaces: Arc::new(NamespaceMap::new_full(map)),
        }
    }

    #[test]
    fn bodies_carry_the_upstream_encoding_ids_and_decode_back() {
        let ac = upstream_ac();
        let cx = context(&ac);
        let result = ConnectionEndpointConfigurationResultDataType {
            connection_endpoint_id: NodeId::new(5, "AC/FE/ConnectionEndpoints/E"),
            ..Default::default()
        };
        let eo = encode(&ac, &cx, &result).expect("encodes");
        let raw = eo.inner_as::<ByteStringBody>().expect("a raw body");
        let expected = ConnectionEndpointConfigurationResultDataType::DEF.binary_encoding();
        assert_eq!(raw.encoding_id(), &NodeId::new(3, expected.node_id.identifier.clone()), "FX Data is 3 upstream");
        let back = decode::<ConnectionEndpointConfigurationResultDataType>(&ac, &cx, Some(&Variant::from(vec![eo])));
        assert_eq!(back, Ok(vec![result]));
        assert_eq!(decode::<ConnectionEndpointConfigurationResultDataType>(&ac, &cx, Some(&Variant::Empty)), Ok(vec![]));
        assert!(decode::<ConnectionEndpointConfigurationResultDataType>(&ac, &cx, Some(&Variant::Int32(1))).is_err());
    }

    #[test]
    fn nested_structures_are_encoded_for_the_upstream_too() {
        let ac = upstream_ac();
        let cx = context(&ac);
        let parameter = PubSubConnectionEndpointParameterDataType { name: "E".into(), ..Default::default() };
        let config = ConnectionEndpointConfigurationDataType {
            functional_entity_node: NodeId::new(5, "AC/FunctionalEntities/FE"),
            connection_endpoint: ConnectionEndpointDefinitionDataType::Parameter(ExtensionObject::from_message(parameter.clone())),
            ..Default::default()
        };
        let eo = encode(&ac, &cx, &config).expect("encodes");
        let raw = eo.inner_as::<ByteStringBody>().expect("a raw body");
        // decoded as the upstream would: the FX type loaders find the inner Parameter only if
        // its encoding id is in the upstream's FX AC namespace (4)
        let back = ConnectionEndpointConfigurationDataType::decode(&mut Cursor::new(raw.raw_body().as_ref()), &cx.context())
            .expect("decodes");
        let ConnectionEndpointDefinitionDataType::Parameter(inner) = &back.connection_endpoint else { panic!("{back:?}") };
        assert_eq!(inner.inner_as::<PubSubConnectionEndpointParameterDataType>(), Some(&parameter));
    }
}
