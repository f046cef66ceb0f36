//! VerifyAsset (OPC 10000-81 §6.3.3): does an Asset's nameplate meet the expectation of system
//! engineering, in one of the three AssetVerificationModeEnum modes?

use opcua::types::{QualifiedName, StatusCode, Variant};

use crate::compare::{check_node, compare, ExpectedNodeValue, NodeLookup};
use crate::namespaces::FxNamespaces;
use crate::types::{AssetVerificationModeEnum as VerificationMode, AssetVerificationResultEnum as AssetVerificationResult};

/// The outcome of a VerifyAsset call. A Bad `status` comes with empty outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetVerdict {
    /// Method result: Good, Uncertain, Bad_InvalidArgument or Bad_NotSupported.
    pub status: StatusCode,
    /// VerificationResult (None with a Bad status).
    pub result: Option<AssetVerificationResult>,
    /// VerificationVariablesErrors, one per expected variable.
    pub errors: Vec<StatusCode>,
    /// VerificationAdditionalVariablesErrors, one per additional variable.
    pub additional_errors: Vec<StatusCode>,
}

impl AssetVerdict {
    fn bad(status: StatusCode) -> Self {
        Self { status, result: None, errors: Vec::new(), additional_errors: Vec::new() }
    }
}

/// The nameplate variables of an Asset by role, with their BrowseNames in the server's
/// namespace indexes (DI for the IVendorNameplate ones, FX AC for the IAssetRevision ones).
#[derive(Debug, Clone)]
pub struct NameplateNames {
    /// DI ManufacturerUri.
    pub manufacturer_uri: QualifiedName,
    /// DI ProductCode.
    pub product_code: QualifiedName,
    /// DI SerialNumber.
    pub serial_number: QualifiedName,
    /// DI ProductInstanceUri.
    pub product_instance_uri: QualifiedName,
    /// DI HardwareRevision.
    pub hardware_revision: QualifiedName,
    /// DI SoftwareRevision.
    pub software_revision: QualifiedName,
    /// AC MajorAssetVersion.
    pub major: QualifiedName,
    /// AC MinorAssetVersion.
    pub minor: QualifiedName,
    /// AC BuildAssetNumber.
    pub build: QualifiedName,
    /// AC SubBuildAssetNumber.
    pub sub_build: QualifiedName,
}

impl NameplateNames {
    /// The names in the namespaces `ns`.
    pub fn new(ns: &FxNamespaces) -> Self {
        let di = |n: &str| QualifiedName::new(ns.di, n);
        let ac = |n: &str| QualifiedName::new(ns.ac, n);
        Self {
            manufacturer_uri: di("ManufacturerUri"),
            product_code: di("ProductCode"),
            serial_number: di("SerialNumber"),
            product_instance_uri: di("ProductInstanceUri"),
            hardware_revision: di("HardwareRevision"),
            software_revision: di("SoftwareRevision"),
            major: ac("MajorAssetVersion"),
            minor: ac("MinorAssetVersion"),
            build: ac("BuildAssetNumber"),
            sub_build: ac("SubBuildAssetNumber"),
        }
    }
}

/// Verifies an Asset whose implemented variables are `asset` (BrowseName, value).
/// `additional_lookup` answers for the nodes of ExpectedAdditionalVerificationVariables.
pub fn verify_asset(
    mode: i32,
    expected: &[(QualifiedName, Variant)],
    additional: &[ExpectedNodeValue],
    asset: &[(QualifiedName, Variant)],
    names: &NameplateNames,
    additional_lookup: &dyn Fn(&ExpectedNodeValue) -> NodeLookup,
) -> AssetVerdict {
    let Ok(mode) = VerificationMode::try_from(mode) else {
        return AssetVerdict::bad(StatusCode::BadNotSupported);
    };
    let implemented = |q: &QualifiedName| asset.iter().any(|(n, _)| n == q);
    let given = |q: &QualifiedName| expected.iter().any(|(n, _)| n == q);
    let identity = matches!(mode, VerificationMode::AssetIdentity | VerificationMode::AssetIdentityAndCompatibility);
    let compatibility = matches!(mode, VerificationMode::AssetCompatibility | VerificationMode::AssetIdentityAndCompatibility);
    if identity && !implemented(&names.serial_number) && !implemented(&names.product_instance_uri) {
        // identity modes are only supported by Assets that have an identity
        return AssetVerdict::bad(StatusCode::BadNotSupported);
    }
    let mut required = vec![&names.manufacturer_uri, &names.product_code];
    if compatibility {
        required.extend([&names.major, &names.minor]);
    }
    if required.iter().any(|q| !given(q))
        || (identity && !given(&names.serial_number) && !given(&names.product_instance_uri))
    {
        return AssetVerdict::bad(StatusCode::BadInvalidArgument);
    }

    let mut errors = Vec::with_capacity(expected.len());
    let mut invalid = false;
    // keys that differ only in a backwards-compatible way (newer minor version or build)
    let mut compatible_only = true;
    let mut mismatch = false;
    for (i, (key, value)) in expected.iter().enumerate() {
        let duplicate = expected[..i].iter().any(|(k, _)| k == key);
        let actual = asset.iter().find(|(n, _)| n == key).map(|(_, v)| v);
        let code = match (duplicate, actual) {
            (true, _) | (_, None) => StatusCode::BadBrowseNameInvalid,
            (false, Some(actual)) if value.is_empty() => {
                let _ = actual;
                StatusCode::Good
            }
            (false, Some(actual)) => compare(value, actual, actual.scalar_type_id()),
        };
        if code == StatusCode::BadOutOfRange {
            mismatch = true;
            let newer = actual.is_some_and(|a| newer_version(key, value, a, names));
            if !newer {
                compatible_only = false;
            }
        } else if code.is_bad() {
            invalid = true;
        }
        errors.push(code);
    }
    let mut additional_errors = Vec::with_capacity(additional.len());
    let mut additional_mismatch = false;
    for a in additional {
        let code = check_node(a, &additional_lookup(a));
        match code {
            StatusCode::Good => {}
            StatusCode::BadOutOfRange => additional_mismatch = true,
            _ => invalid = true,
        }
        additional_errors.push(code);
    }
    let result = if invalid {
        AssetVerificationResult::NotSet
    } else if !mismatch && !additional_mismatch {
        AssetVerificationResult::Match
    } else if compatibility && !additional_mismatch && compatible_only {
        AssetVerificationResult::Compatible
    } else {
        AssetVerificationResult::Mismatch
    };
    let status = if result == AssetVerificationResult::Match { StatusCode::Good } else { StatusCode::Uncertain };
    AssetVerdict { status, result: Some(result), errors, additional_errors }
}

/// Whether `actual` is a newer, backwards-compatible revision than `expected` for `key`:
/// a higher MinorAssetVersion, BuildAssetNumber or SubBuildAssetNumber.
fn newer_version(key: &QualifiedName, expected: &Variant, actual: &Variant, names: &NameplateNames) -> bool {
    if key != &names.minor && key != &names.build && key != &names.sub_build {
        return false;
    }
    matches!((expected, actual), (Variant::UInt16(e), Variant::UInt16(a)) if a > e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::NodeId;

    fn ns() -> FxNamespaces {
        FxNamespaces { data: 4, ac: 5, cm: 6, di: 7, instances: 8 }
    }

    fn asset(n: &NameplateNames) -> Vec<(QualifiedName, Variant)> {
        vec![
            (n.manufacturer_uri.clone(), "urn:fxgate".into()),
            (n.product_code.clone(), "FXSIM-1".into()),
            (n.serial_number.clone(), "SIM-0001".into()),
            (n.major.clone(), 1u16.into()),
            (n.minor.clone(), 2u16.into()),
        ]
    }

    fn compat(n: &NameplateNames, code: &str, minor: u16) -> Vec<(QualifiedName, Variant)> {
        vec![
            (n.manufacturer_uri.clone(), " urn:fxgate ".into()),
            (n.product_code.clone(), code.into()),
            (n.major.clone(), 1u16.into()),
            (n.minor.clone(), minor.into()),
        ]
    }

    fn none(_: &ExpectedNodeValue) -> NodeLookup {
        NodeLookup::Missing
    }

    #[test]
    fn compatibility_match_mismatch_and_missing_key() {
        let n = NameplateNames::new(&ns());
        let a = asset(&n);
        let v = verify_asset(0, &compat(&n, "FXSIM-1", 2), &[], &a, &n, &none);
        assert_eq!((v.status, v.result), (StatusCode::Good, Some(AssetVerificationResult::Match)));
        assert_eq!(v.errors, vec![StatusCode::Good; 4]);

        let v = verify_asset(0, &compat(&n, "OTHER", 2), &[], &a, &n, &none);
        assert_eq!((v.status, v.result), (StatusCode::Uncertain, Some(AssetVerificationResult::Mismatch)));
        assert_eq!(v.errors[1], StatusCode::BadOutOfRange);

        let mut missing = compat(&n, "FXSIM-1", 2);
        missing.remove(1);
        let v = verify_asset(0, &missing, &[], &a, &n, &none);
        assert_eq!(v, AssetVerdict::bad(StatusCode::BadInvalidArgument));
    }

    #[test]
    fn older_minor_expected_is_compatible_but_not_for_identity() {
        let n = NameplateNames::new(&ns());
        let a = asset(&n);
        let v = verify_asset(0, &compat(&n, "FXSIM-1", 1), &[], &a, &n, &none);
        assert_eq!(v.result, Some(AssetVerificationResult::Compatible));
        assert_eq!(v.status, StatusCode::Uncertain);
        let v = verify_asset(0, &compat(&n, "FXSIM-1", 3), &[], &a, &n, &none);
        assert_eq!(v.result, Some(AssetVerificationResult::Mismatch));
        let mut both = compat(&n, "FXSIM-1", 1);
        both.push((n.serial_number.clone(), "SIM-0001".into()));
        assert_eq!(verify_asset(2, &both, &[], &a, &n, &none).result, Some(AssetVerificationResult::Compatible));
    }

    #[test]
    fn identity_needs_a_serial_number_or_instance_uri() {
        let n = NameplateNames::new(&ns());
        let a = asset(&n);
        let id = vec![
            (n.manufacturer_uri.clone(), "urn:fxgate".into()),
            (n.product_code.clone(), "FXSIM-1".into()),
            (n.serial_number.clone(), "SIM-0001".into()),
        ];
        assert_eq!(verify_asset(1, &id, &[], &a, &n, &none).result, Some(AssetVerificationResult::Match));
        assert_eq!(verify_asset(1, &id[..2], &[], &a, &n, &none).status, StatusCode::BadInvalidArgument);
        // compatibility keys are mandatory in mode 2
        assert_eq!(verify_asset(2, &id, &[], &a, &n, &none).status, StatusCode::BadInvalidArgument);
        assert_eq!(verify_asset(7, &id, &[], &a, &n, &none).status, StatusCode::BadNotSupported);
        let anonymous: Vec<_> = a.iter().filter(|(q, _)| q != &n.serial_number).cloned().collect();
        assert_eq!(verify_asset(1, &id, &[], &anonymous, &n, &none).status, StatusCode::BadNotSupported);
    }

    #[test]
    fn unknown_duplicate_and_mistyped_keys_give_not_set() {
        let n = NameplateNames::new(&ns());
        let a = asset(&n);
        let mut e = compat(&n, "FXSIM-1", 2);
        e.push((QualifiedName::new(7, "Nonsense"), "x".into()));
        e.push((n.product_code.clone(), "FXSIM-1".into()));
        let v = verify_asset(0, &e, &[], &a, &n, &none);
        assert_eq!(v.result, Some(AssetVerificationResult::NotSet));
        assert_eq!(&v.errors[4..], &[StatusCode::BadBrowseNameInvalid, StatusCode::BadBrowseNameInvalid]);
        let mut t = compat(&n, "FXSIM-1", 2);
        t[2].1 = Variant::Int32(1);
        let v = verify_asset(0, &t, &[], &a, &n, &none);
        assert_eq!((v.result, v.errors[2]), (Some(AssetVerificationResult::NotSet), StatusCode::BadTypeMismatch));
        // a key in the wrong namespace is not the variable
        let mut w = compat(&n, "FXSIM-1", 2);
        w[0].0 = QualifiedName::new(5, "ManufacturerUri");
        assert_eq!(verify_asset(0, &w, &[], &a, &n, &none).status, StatusCode::BadInvalidArgument);
    }

    #[test]
    fn additional_variables() {
        let n = NameplateNames::new(&ns());
        let a = asset(&n);
        let extra = |v: Variant| ExpectedNodeValue { node: NodeId::new(2, "Demo/Setpoint"), array_index: vec![], value: v };
        let lookup = |_: &ExpectedNodeValue| NodeLookup::Variable { value: 20.0f64.into(), scalar: None };
        let v = verify_asset(0, &compat(&n, "FXSIM-1", 2), &[extra(20.0f64.into())], &a, &n, &lookup);
        assert_eq!(v.result, Some(AssetVerificationResult::Match));
        let v = verify_asset(0, &compat(&n, "FXSIM-1", 1), &[extra(21.0f64.into())], &a, &n, &lookup);
        assert_eq!(v.result, Some(AssetVerificationResult::Mismatch), "an additional mismatch is never compatible");
        let v = verify_asset(0, &compat(&n, "FXSIM-1", 2), &[extra(Variant::Empty)], &a, &n, &none);
        assert_eq!((v.result, v.additional_errors.clone()), (Some(AssetVerificationResult::NotSet), vec![StatusCode::BadNodeIdUnknown]));
    }
}
