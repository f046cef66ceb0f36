//! Reading method input arguments: typed, with a per-argument status for the ones that are
//! not what the method declares (Bad_InvalidArgument with InputArgumentResults).

use opcua::types::{ExtensionObject, KeyValuePair, QualifiedName, StatusCode, Variant};

use crate::compare::ExpectedNodeValue;

/// The elements of an array argument (Empty and null arrays are empty); None if `v` is a
/// scalar of another kind.
pub fn array(v: &Variant) -> Option<Vec<&Variant>> {
    match v {
        Variant::Empty => Some(Vec::new()),
        Variant::Array(a) => Some(a.values.iter().collect()),
        _ => None,
    }
}

/// A NodeId[] argument (Empty and null arrays are empty); None if `v` is anything else.
pub fn node_ids(v: &Variant) -> Option<Vec<opcua::types::NodeId>> {
    array(v)?
        .into_iter()
        .map(|e| match e {
            Variant::NodeId(n) => Some((**n).clone()),
            _ => None,
        })
        .collect()
}

/// An Int32 or enumeration argument.
pub fn enum_value(v: &Variant) -> Option<i32> {
    match v {
        Variant::Int32(i) => Some(*i),
        _ => None,
    }
}

/// A KeyValuePair[] argument as (BrowseName, value) pairs.
pub fn key_value_pairs(v: &Variant) -> Option<Vec<(QualifiedName, Variant)>> {
    array(v)?
        .into_iter()
        .map(|e| match e {
            Variant::ExtensionObject(o) => o.inner_as::<KeyValuePair>().map(|kv| (kv.key.clone(), kv.value.clone())),
            _ => None,
        })
        .collect()
}

/// A NodeIdValuePair[] argument.
pub fn node_value_pairs(v: &Variant) -> Option<Vec<ExpectedNodeValue>> {
    array(v)?
        .into_iter()
        .map(|e| match e {
            Variant::ExtensionObject(o) => node_value_pair(o),
            _ => None,
        })
        .collect()
}

/// One NodeIdValuePair {Key: NodeIdArray {Node, ArrayIndex[]}, Value}.
pub fn node_value_pair(o: &ExtensionObject) -> Option<ExpectedNodeValue> {
    crate::types::body::<crate::types::NodeIdValuePair>(o).ok().map(ExpectedNodeValue::from)
}

/// The InputArgumentResult of an argument: Good, or Bad_TypeMismatch when it is not what the
/// method declares.
pub fn type_result(ok: bool) -> StatusCode {
    if ok {
        StatusCode::Good
    } else {
        StatusCode::BadTypeMismatch
    }
}
