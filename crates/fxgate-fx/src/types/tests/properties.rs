//! Property-based round trips of the two structures whose content comes most from callers.

use opcua::types::{ExtensionObject, KeyValuePair, NodeId, QualifiedName, Variant};
use proptest::prelude::*;

use super::context::{context, decode, encode};
use crate::types::*;

fn variant() -> impl Strategy<Value = Variant> {
    prop_oneof![
        Just(Variant::Empty),
        any::<bool>().prop_map(Variant::from),
        any::<i32>().prop_map(Variant::from),
        any::<u64>().prop_map(Variant::from),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(Variant::from),
        ".{0,20}".prop_map(|s: String| Variant::from(s)),
        // Non-empty: async-opcua decodes an empty array Variant with `dimensions: Some([])` and
        // re-encodes it with an empty ArrayDimensions field, so it is not byte-stable.
        prop::collection::vec(any::<i16>(), 1..5).prop_map(Variant::from),
    ]
}

fn node_id() -> impl Strategy<Value = NodeId> {
    prop_oneof![
        (any::<u16>(), any::<u32>()).prop_map(|(ns, id)| NodeId::new(ns, id)),
        (any::<u16>(), "[a-zA-Z0-9.]{0,16}").prop_map(|(ns, s)| NodeId::new(ns, s)),
    ]
}

fn pair() -> impl Strategy<Value = NodeIdValuePair> {
    (
        node_id(),
        prop::option::of(prop::collection::vec(any::<u32>(), 0..4)),
        variant(),
    )
        .prop_map(|(node, array_index, value)| NodeIdValuePair {
            key: NodeIdArray { node, array_index },
            value,
        })
}

fn asset_verification() -> impl Strategy<Value = AssetVerificationDataType> {
    let key_value = ("[A-Za-z]{1,12}", variant()).prop_map(|(name, value)| KeyValuePair {
        key: QualifiedName::new(10, name.as_str()),
        value,
    });
    (
        node_id(),
        0..3i32,
        0..4i32,
        prop::option::of(prop::collection::vec(key_value, 0..4)),
        prop::option::of(prop::collection::vec(pair(), 0..3)),
    )
        .prop_map(
            |(asset, mode, result, expected, additional)| AssetVerificationDataType {
                asset_to_verify: asset,
                verification_mode: AssetVerificationModeEnum::try_from(mode).unwrap_or_default(),
                expected_verification_result: AssetVerificationResultEnum::try_from(result)
                    .unwrap_or_default(),
                expected_verification_variables: expected,
                expected_additional_verification_variables: additional,
            },
        )
}

/// Encodes, decodes into `T` and encodes again: the value and the bytes must be the same.
fn round_trip<T: Send + Sync + 'static>(object: ExtensionObject) -> Result<(), TestCaseError> {
    let ctx = context();
    let bytes = encode(&ctx, &object);
    let decoded = decode(&ctx, &bytes).expect("decodes");
    prop_assert!(
        body::<T>(&decoded).is_ok(),
        "decoded as {}",
        std::any::type_name::<T>()
    );
    prop_assert_eq!(&decoded, &object);
    prop_assert_eq!(encode(&ctx, &decoded), bytes);
    Ok(())
}

proptest! {
    #[test]
    fn node_id_value_pair_round_trips(value in pair()) {
        round_trip::<NodeIdValuePair>(ExtensionObject::from_message(value))?;
    }

    #[test]
    fn asset_verification_round_trips(value in asset_verification()) {
        round_trip::<AssetVerificationDataType>(ExtensionObject::from_message(value))?;
    }
}
