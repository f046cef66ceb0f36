//! Binary round trips of every FX structure through the type loaders, with the FX namespaces at
//! indexes 7–10, and failures on bad input.

use std::collections::BTreeSet;
use std::io::Cursor;

use opcua::types::{
    BinaryDecodable, BinaryEncodable, ExpandedNodeId, ExtensionObject, NodeId, StatusCode,
};

use super::context::{self, context, decode, encode, strict_context};
use super::samples;
use crate::types::def::Ns;
use crate::types::registry::STRUCTURES;
use crate::types::*;

fn expected_index(ns: Ns) -> u16 {
    match ns {
        Ns::Ua => 0,
        Ns::Data => context::DATA,
        Ns::Ac => context::AC,
        Ns::Cm => context::CM,
        Ns::Di => context::DI,
        Ns::Fxgate => context::FXGATE,
    }
}

#[test]
fn every_structure_round_trips_through_the_type_loaders() {
    let ctx = context();
    for sample in samples::all() {
        let bytes = encode(&ctx, &sample);
        let type_id = NodeId::decode(&mut Cursor::new(&bytes), &ctx.context()).expect("type id");
        let def = STRUCTURES
            .iter()
            .find(|d| d.encodings.map(|e| e.binary) == type_id.as_u32())
            .expect("a known encoding id");
        assert_eq!(type_id.namespace, expected_index(def.id.ns), "{}", def.name);
        let decoded = decode(&ctx, &bytes).expect("decodes");
        // Equal only if decoded into the same Rust type (not a raw fallback body).
        assert_eq!(decoded, sample, "{}", def.name);
    }
}

#[test]
fn the_samples_cover_every_structure() {
    let covered: BTreeSet<(String, u32)> = samples::all()
        .iter()
        .map(|s| {
            let id = s.binary_type_id();
            (
                id.namespace_uri.to_string(),
                id.node_id.as_u32().unwrap_or_default(),
            )
        })
        .collect();
    let all: BTreeSet<(String, u32)> = STRUCTURES
        .iter()
        .filter_map(|d| d.encodings.map(|e| (d.id.ns.uri().to_owned(), e.binary)))
        .collect();
    assert_eq!(covered, all);
    assert_eq!(all.len(), STRUCTURES.len());
}

#[test]
fn a_subtype_inside_a_union_keeps_its_own_fields() {
    let ctx = context();
    let sample = ExtensionObject::from_message(ConnectionEndpointDefinitionDataType::Parameter(
        ExtensionObject::from_message(samples::pubsub_parameter()),
    ));
    let decoded = decode(&ctx, &encode(&ctx, &sample)).expect("decodes");
    let ConnectionEndpointDefinitionDataType::Parameter(inner) =
        body::<ConnectionEndpointDefinitionDataType>(&decoded).expect("the union")
    else {
        panic!("Parameter expected");
    };
    let parameter = body::<PubSubConnectionEndpointParameterDataType>(inner).expect("subtype");
    assert_eq!(
        parameter.mode,
        PubSubConnectionEndpointModeEnum::PublisherSubscriber
    );
    assert_eq!(parameter.cleanup_timeout, 5000.0);
}

#[test]
fn union_switch_values_follow_the_nodeset_order() {
    let ctx = context();
    let mut bytes = Vec::new();
    ApplicationId::IdString("x".into())
        .encode(&mut bytes, &ctx.context())
        .expect("encodes");
    assert_eq!(&bytes[..4], &2u32.to_le_bytes());
    bytes.clear();
    ApplicationId::Null
        .encode(&mut bytes, &ctx.context())
        .expect("encodes");
    assert_eq!(bytes, 0u32.to_le_bytes());
}

/// An ExtensionObject whose binary body has the encoding id `id`.
fn raw_extension_object(id: &NodeId, body: &[u8]) -> Vec<u8> {
    let ctx = context();
    let mut bytes = Vec::new();
    id.encode(&mut bytes, &ctx.context()).expect("id");
    bytes.push(1); // binary body
    (body.len() as i32)
        .encode(&mut bytes, &ctx.context())
        .expect("length");
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn an_unknown_encoding_id_is_an_error_not_a_panic() {
    let unknown = NodeId::new(context::DATA, 999_999u32);
    let bytes = raw_extension_object(&unknown, &[1, 2, 3, 4]);
    assert!(decode(&strict_context(), &bytes).is_err());
    // With the default loaders the body stays raw; asking for an FX type is a typed error.
    let decoded = decode(&context(), &bytes).expect("kept as raw bytes");
    let err = body::<NodeIdValuePair>(&decoded).expect_err("not a NodeIdValuePair");
    assert!(matches!(err, BodyError::WrongType { .. }));
    assert_eq!(
        body::<NodeIdValuePair>(&ExtensionObject::null()),
        Err(BodyError::Null)
    );
}

#[test]
fn an_fx_encoding_id_in_another_namespace_is_not_decoded_as_fx() {
    // NodeIdValuePair's binary id, but in the AC namespace index.
    let bytes = raw_extension_object(&NodeId::new(context::AC, 1093u32), &[0; 8]);
    assert!(decode(&strict_context(), &bytes).is_err());
}

#[test]
fn truncated_and_garbled_bodies_are_errors() {
    let ctx = context();
    let sample = ExtensionObject::from_message(samples::node_id_value_pair());
    let bytes = encode(&ctx, &sample);
    for cut in 1..bytes.len() {
        let _ = decode(&strict_context(), &bytes[..cut]); // must not panic
        assert!(
            decode(&strict_context(), &bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    // A union switch beyond the alternatives.
    let bad_union = raw_extension_object(&NodeId::new(context::AC, 5003u32), &9u32.to_le_bytes());
    assert!(decode(&strict_context(), &bad_union).is_err());
    // An enumeration value outside the enumeration.
    let mut result = Vec::new();
    StatusCode::Good
        .encode(&mut result, &ctx.context())
        .expect("status");
    result.extend_from_slice(&17i32.to_le_bytes());
    result.extend_from_slice(&(-1i32).to_le_bytes());
    result.extend_from_slice(&(-1i32).to_le_bytes());
    let bad_enum = raw_extension_object(&NodeId::new(context::DATA, 1205u32), &result);
    assert!(decode(&strict_context(), &bad_enum).is_err());
}

#[test]
fn option_sets_encode_as_their_integer_and_keep_unknown_bits() {
    let ctx = context();
    let mask = FxCommandMask::VerifyAssetCmd | FxCommandMask::CreateConnectionEndpointCmd;
    let mut bytes = Vec::new();
    mask.encode(&mut bytes, &ctx.context()).expect("encodes");
    assert_eq!(bytes, 0x5u32.to_le_bytes());
    let unknown = 0x8000_0001u32.to_le_bytes();
    let decoded =
        FxCommandMask::decode(&mut Cursor::new(&unknown[..]), &ctx.context()).expect("decodes");
    assert_eq!(decoded.bits(), 0x8000_0001);
    let mut byte = Vec::new();
    ConnectionConfigurationSetOperation::ElementReplace
        .encode(&mut byte, &ctx.context())
        .expect("encodes");
    assert_eq!(byte, [4u8]);
    assert_eq!(CommHealthOptionSet::CommError.bits(), 4u16);
    assert_eq!(
        OperationalHealthOptionSet::SubOperationalError.bits(),
        1 << 19
    );
}

#[test]
fn encoding_ids_carry_the_namespace_uri() {
    let value = AssetVerificationDataType::default();
    let id = opcua::types::ExpandedMessageInfo::full_type_id(&value);
    assert_eq!(
        id,
        ExpandedNodeId::new_with_namespace(crate::namespaces::FX_DATA, 1153u32)
    );
}
