//! Verify of a FunctionalEntity (OPC 10000-81 §6.4.3) and the verification step of
//! EstablishConnections' VerifyFunctionalEntityCmd.

use opcua::types::StatusCode;

use crate::compare::{check_node, ExpectedNodeValue, NodeLookup};
use crate::types::FunctionalEntityVerificationResultEnum as FeVerificationResult;

/// The outcome of Verify. A Bad `status` comes with empty outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct FeVerdict {
    /// Method result: Good, Uncertain or Bad_InvalidArgument.
    pub status: StatusCode,
    /// VerificationResult (None with a Bad status).
    pub result: Option<FeVerificationResult>,
    /// VerificationVariablesErrors, one per expected variable.
    pub errors: Vec<StatusCode>,
}

/// Verifies `expected`; `lookup` answers what the server has at each node. Every pair is
/// processed (the text allows stopping at the first failure; a full answer helps more).
pub fn verify(expected: &[ExpectedNodeValue], lookup: &dyn Fn(&ExpectedNodeValue) -> NodeLookup) -> FeVerdict {
    if expected.is_empty() {
        return FeVerdict { status: StatusCode::BadInvalidArgument, result: None, errors: Vec::new() };
    }
    let errors: Vec<StatusCode> = expected.iter().map(|e| check_node(e, &lookup(e))).collect();
    let invalid = errors
        .iter()
        .any(|c| matches!(*c, StatusCode::BadTypeMismatch | StatusCode::BadNodeIdInvalid));
    let mismatch = errors.iter().any(|c| c.is_bad());
    let result = if invalid {
        FeVerificationResult::NotSet
    } else if mismatch {
        FeVerificationResult::Mismatch
    } else {
        FeVerificationResult::Match
    };
    let status = if result == FeVerificationResult::Match { StatusCode::Good } else { StatusCode::Uncertain };
    FeVerdict { status, result: Some(result), errors }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::{NodeId, Variant};

    fn e(node: &str, v: impl Into<Variant>) -> ExpectedNodeValue {
        ExpectedNodeValue { node: NodeId::new(8, node), array_index: vec![], value: v.into() }
    }

    fn lookup(x: &ExpectedNodeValue) -> NodeLookup {
        match x.node.to_string().as_str() {
            "ns=8;s=AuthorUri" => NodeLookup::Variable { value: "urn:fxgate".into(), scalar: None },
            "ns=8;s=Folder" => NodeLookup::NotVariable,
            _ => NodeLookup::Missing,
        }
    }

    #[test]
    fn the_four_cases_of_the_acceptance_test() {
        assert_eq!(verify(&[], &lookup).status, StatusCode::BadInvalidArgument);
        let v = verify(&[e("AuthorUri", "urn:fxgate")], &lookup);
        assert_eq!((v.status, v.result), (StatusCode::Good, Some(FeVerificationResult::Match)));
        let v = verify(&[e("AuthorUri", "urn:other")], &lookup);
        assert_eq!((v.status, v.result, v.errors), (StatusCode::Uncertain, Some(FeVerificationResult::Mismatch), vec![StatusCode::BadOutOfRange]));
        let v = verify(&[e("AuthorUri", 5i32)], &lookup);
        assert_eq!((v.result, v.errors), (Some(FeVerificationResult::NotSet), vec![StatusCode::BadTypeMismatch]));
    }

    #[test]
    fn missing_nodes_and_existence_checks() {
        let v = verify(&[e("Folder", Variant::Empty), e("Nope", Variant::Empty)], &lookup);
        assert_eq!(v.result, Some(FeVerificationResult::Mismatch));
        assert_eq!(v.errors, vec![StatusCode::Good, StatusCode::BadNodeIdUnknown]);
        // a type error anywhere wins over a mismatch
        let v = verify(&[e("Nope", Variant::Empty), e("AuthorUri", 1u8)], &lookup);
        assert_eq!(v.result, Some(FeVerificationResult::NotSet));
    }
}
