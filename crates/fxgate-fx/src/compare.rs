//! Comparing an expected value with a node's actual value, by the rules shared by
//! VerifyAsset (§6.3.3), Verify (§6.4.3) and VerifyFunctionalEntityCmd: strings are compared
//! without leading and trailing whitespace, a value of another type is a type mismatch, an
//! ArrayIndex picks one element of an array.

use opcua::types::{NodeId, StatusCode, Variant, VariantScalarTypeId};

/// What the server knows of a node, for verification.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeLookup {
    /// No such node.
    Missing,
    /// The node exists but is no Variable (or VariableType): it has no value.
    NotVariable,
    /// A Variable with its current value and its declared data type (scalar built-in type).
    Variable {
        /// Current value.
        value: Variant,
        /// Built-in type of the declared data type, when it is one (None: any / structured).
        scalar: Option<VariantScalarTypeId>,
    },
}

/// One expected node value (NodeIdValuePair: NodeIdArray {Node, ArrayIndex}, Value).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedNodeValue {
    /// The node.
    pub node: NodeId,
    /// Indexes into an array value (empty: the whole value).
    pub array_index: Vec<u32>,
    /// Expected value; Empty only checks that the node exists.
    pub value: Variant,
}

impl From<&crate::types::NodeIdValuePair> for ExpectedNodeValue {
    fn from(p: &crate::types::NodeIdValuePair) -> Self {
        Self {
            node: p.key.node.clone(),
            array_index: p.key.array_index.clone().unwrap_or_default(),
            value: p.value.clone(),
        }
    }
}

/// The verdict on one [`ExpectedNodeValue`]: Good, Bad_NodeIdInvalid, Bad_NodeIdUnknown,
/// Bad_TypeMismatch or Bad_OutOfRange (Tables 34 and 45).
pub fn check_node(expected: &ExpectedNodeValue, lookup: &NodeLookup) -> StatusCode {
    if expected.node.is_null() {
        return StatusCode::BadNodeIdInvalid;
    }
    let (actual, scalar) = match lookup {
        NodeLookup::Missing => return StatusCode::BadNodeIdUnknown,
        NodeLookup::NotVariable if expected.value.is_empty() => return StatusCode::Good,
        NodeLookup::NotVariable => return StatusCode::BadOutOfRange,
        NodeLookup::Variable { value, scalar } => (value, *scalar),
    };
    if expected.value.is_empty() {
        return StatusCode::Good;
    }
    let actual = match pick(actual, &expected.array_index) {
        Some(v) => v,
        None => return StatusCode::BadOutOfRange,
    };
    if !expected.array_index.is_empty() && expected.value.is_array() {
        return StatusCode::BadOutOfRange;
    }
    compare(&expected.value, &actual, scalar)
}

/// Compares `expected` with `actual` of a variable whose declared built-in type is `declared`:
/// Good, Bad_TypeMismatch (expected is of another type) or Bad_OutOfRange (another value).
pub fn compare(expected: &Variant, actual: &Variant, declared: Option<VariantScalarTypeId>) -> StatusCode {
    let want = declared.or_else(|| actual.scalar_type_id());
    if let (Some(want), Some(got)) = (want, expected.scalar_type_id()) {
        if want != got {
            return StatusCode::BadTypeMismatch;
        }
    }
    if expected.is_array() != actual.is_array() && !actual.is_empty() {
        return StatusCode::BadOutOfRange;
    }
    if same(expected, actual) {
        StatusCode::Good
    } else {
        StatusCode::BadOutOfRange
    }
}

/// Equality with strings trimmed (also inside arrays and localized texts).
fn same(a: &Variant, b: &Variant) -> bool {
    match (a, b) {
        (Variant::String(x), Variant::String(y)) => x.as_ref().trim() == y.as_ref().trim(),
        (Variant::LocalizedText(x), Variant::LocalizedText(y)) => x.text.as_ref().trim() == y.text.as_ref().trim(),
        (Variant::Array(x), Variant::Array(y)) => {
            x.values.len() == y.values.len() && x.values.iter().zip(&y.values).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

/// The element of `value` at `index` (a single index for one-dimensional arrays); `value`
/// itself for an empty index.
fn pick(value: &Variant, index: &[u32]) -> Option<Variant> {
    match index {
        [] => Some(value.clone()),
        [i] => match value {
            Variant::Array(a) => a.values.get(*i as usize).cloned(),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(v: impl Into<Variant>) -> NodeLookup {
        let value = v.into();
        NodeLookup::Variable { scalar: value.scalar_type_id(), value }
    }

    fn exp(v: impl Into<Variant>) -> ExpectedNodeValue {
        ExpectedNodeValue { node: NodeId::new(2, "x"), array_index: vec![], value: v.into() }
    }

    #[test]
    fn strings_are_trimmed_and_types_checked() {
        assert_eq!(check_node(&exp(" urn:a "), &var("urn:a")), StatusCode::Good);
        assert_eq!(check_node(&exp("urn:b"), &var("urn:a")), StatusCode::BadOutOfRange);
        assert_eq!(check_node(&exp(1u16), &var("urn:a")), StatusCode::BadTypeMismatch);
        assert_eq!(check_node(&exp(1i32), &var(1u16)), StatusCode::BadTypeMismatch);
        assert_eq!(check_node(&exp(2u16), &var(2u16)), StatusCode::Good);
    }

    #[test]
    fn existence_and_node_classes() {
        assert_eq!(check_node(&exp(Variant::Empty), &NodeLookup::Missing), StatusCode::BadNodeIdUnknown);
        assert_eq!(check_node(&exp(Variant::Empty), &NodeLookup::NotVariable), StatusCode::Good);
        assert_eq!(check_node(&exp(1u16), &NodeLookup::NotVariable), StatusCode::BadOutOfRange);
        assert_eq!(check_node(&exp(Variant::Empty), &var(5u16)), StatusCode::Good);
        let null = ExpectedNodeValue { node: NodeId::null(), array_index: vec![], value: Variant::Empty };
        assert_eq!(check_node(&null, &var(5u16)), StatusCode::BadNodeIdInvalid);
    }

    #[test]
    fn array_index_picks_an_element() {
        let arr = var(vec![1u32, 2, 3]);
        let mut e = exp(2u32);
        e.array_index = vec![1];
        assert_eq!(check_node(&e, &arr), StatusCode::Good);
        e.array_index = vec![7];
        assert_eq!(check_node(&e, &arr), StatusCode::BadOutOfRange);
        assert_eq!(check_node(&exp(vec![1u32, 2, 3]), &arr), StatusCode::Good);
        assert_eq!(check_node(&exp(vec![1u32, 2]), &arr), StatusCode::BadOutOfRange);
    }
}
