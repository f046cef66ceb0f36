//! UA value → VARIANT for the COM UA Proxy's reads (OPC 10000-8 Table A.36):
//! [`ua_to_da_value`].

use opcua::types::{
    Array, ByteStringBody, ContextOwned, ExtensionObject, Variant, VariantScalarTypeId,
};

use super::decimal::{decimal_type_id, parse_ua_decimal_body};
use super::ole_date::ole_date_from_ua;
use super::text_forms::expanded_node_id_text;
use super::{DaDecimal, DaValue, VarType};

/// `E_FAIL`, the VT_ERROR value for an ExtensionObject whose body cannot be encoded.
const E_FAIL: i32 = 0x8000_4005_u32 as i32;

/// The VARIANT the COM UA Proxy returns for a UA value (Table A.36).
///
/// - numbers and Boolean: the corresponding `VT_…`; StatusCode: `VT_UI4` of its bits;
/// - String, XmlElement: `VT_BSTR` of the text (a null string is the empty BSTR);
/// - DateTime: `VT_DATE` ([`ole_date_from_ua`], millisecond precision);
/// - Guid: `VT_BSTR` `72962b91-fa75-4ae6-8d28-b404dc7daf63`; NodeId, ExpandedNodeId:
///   `VT_BSTR` of the OPC 10000-6 string form (`ns=2;s=Pump` — the *server's* namespace
///   index, not an ItemID; `svr=1;nsu=urn:x;i=5` for a non-local ExpandedNodeId);
///   QualifiedName: `ns:name` (`name` for ns 0); LocalizedText:
///   the text (the locale is dropped);
/// - ExtensionObject: `VT_ARRAY|VT_UI1` of its binary-encoded body (empty for a null
///   ExtensionObject; `VT_ERROR` `E_FAIL` if the body cannot be encoded), except a Decimal,
///   which is `VT_DECIMAL` (or `VT_R8` if it exceeds the `VT_DECIMAL` range);
/// - ByteString (not in A.36): `VT_ARRAY|VT_UI1`;
/// - arrays: `VT_ARRAY` of the element type, element by element (multi-dimensional arrays
///   are flattened in their UA order); arrays of ByteString, ExtensionObject (other than
///   all-Decimal), Variant or DataValue are `VT_ARRAY|VT_VARIANT`;
/// - a nested Variant or a DataValue: its value; DiagnosticInfo, Empty: `VT_EMPTY`.
pub fn ua_to_da_value(value: &Variant) -> DaValue {
    match value {
        Variant::Empty => DaValue::Empty,
        Variant::Boolean(v) => DaValue::Bool(*v),
        Variant::SByte(v) => DaValue::I1(*v),
        Variant::Byte(v) => DaValue::UI1(*v),
        Variant::Int16(v) => DaValue::I2(*v),
        Variant::UInt16(v) => DaValue::UI2(*v),
        Variant::Int32(v) => DaValue::I4(*v),
        Variant::UInt32(v) => DaValue::UI4(*v),
        Variant::Int64(v) => DaValue::I8(*v),
        Variant::UInt64(v) => DaValue::UI8(*v),
        Variant::Float(v) => DaValue::R4(*v),
        Variant::Double(v) => DaValue::R8(*v),
        Variant::String(v) => DaValue::Bstr(v.as_ref().to_owned()),
        Variant::DateTime(v) => DaValue::Date(ole_date_from_ua(v)),
        Variant::Guid(v) => DaValue::Bstr(format!("{v:?}")),
        Variant::StatusCode(v) => DaValue::UI4(v.bits()),
        Variant::ByteString(v) => bytes_value(v.value.as_deref().unwrap_or_default()),
        Variant::XmlElement(v) => DaValue::Bstr(v.to_string()),
        Variant::QualifiedName(v) => DaValue::Bstr(v.to_string()),
        Variant::LocalizedText(v) => DaValue::Bstr(v.text.as_ref().to_owned()),
        Variant::NodeId(v) => DaValue::Bstr(v.to_string()),
        Variant::ExpandedNodeId(v) => DaValue::Bstr(expanded_node_id_text(v)),
        Variant::ExtensionObject(v) => extension_object_value(v),
        Variant::Variant(v) => ua_to_da_value(v),
        Variant::DataValue(v) => v.value.as_ref().map_or(DaValue::Empty, ua_to_da_value),
        Variant::DiagnosticInfo(_) => DaValue::Empty,
        Variant::Array(array) => array_value(array),
    }
}

/// `VT_ARRAY|VT_UI1` of `bytes`.
pub(super) fn bytes_value(bytes: &[u8]) -> DaValue {
    DaValue::Array(
        VarType::VT_UI1,
        bytes.iter().copied().map(DaValue::UI1).collect(),
    )
}

/// A.36 for ExtensionObject: the binary body as bytes, or `VT_DECIMAL` for a Decimal.
fn extension_object_value(eo: &ExtensionObject) -> DaValue {
    let Some(body) = &eo.body else {
        return bytes_value(&[]);
    };
    if let Some(raw) = eo.inner_as::<ByteStringBody>() {
        if raw.encoding_id() == &decimal_type_id() {
            let bytes = raw.raw_body().value.as_deref().unwrap_or_default();
            if let Some((mantissa, scale)) = parse_ua_decimal_body(bytes) {
                return match DaDecimal::from_scaled(mantissa, i32::from(scale)) {
                    Some(d) => DaValue::Decimal(d),
                    None => DaValue::R8(
                        format!("{mantissa}e{}", -i32::from(scale))
                            .parse()
                            .unwrap_or(f64::NAN),
                    ),
                };
            }
        }
    }
    let ctx = ContextOwned::default();
    let mut encoded = Vec::new();
    match body.encode_binary(&mut encoded, &ctx.context()) {
        Ok(()) => bytes_value(&encoded),
        Err(_) => DaValue::Error(E_FAIL),
    }
}

/// The VARIANT element type for elements of UA built-in type `t` in an array.
fn array_element_type(t: VariantScalarTypeId) -> VarType {
    use VariantScalarTypeId as S;
    match t {
        S::Boolean => VarType::VT_BOOL,
        S::SByte => VarType::VT_I1,
        S::Byte => VarType::VT_UI1,
        S::Int16 => VarType::VT_I2,
        S::UInt16 => VarType::VT_UI2,
        S::Int32 => VarType::VT_I4,
        S::UInt32 => VarType::VT_UI4,
        S::Int64 => VarType::VT_I8,
        S::UInt64 => VarType::VT_UI8,
        S::Float => VarType::VT_R4,
        S::Double => VarType::VT_R8,
        S::DateTime => VarType::VT_DATE,
        S::StatusCode => VarType::VT_UI4,
        S::String
        | S::Guid
        | S::XmlElement
        | S::NodeId
        | S::ExpandedNodeId
        | S::QualifiedName
        | S::LocalizedText => VarType::VT_BSTR,
        S::ByteString | S::ExtensionObject | S::DataValue | S::Variant | S::DiagnosticInfo => {
            VarType::VT_VARIANT
        }
    }
}

/// "Array of above OPC UA types → Array of corresponding Variant type" (A.36).
fn array_value(array: &Array) -> DaValue {
    let elements: Vec<DaValue> = array.values.iter().map(ua_to_da_value).collect();
    let mut element = array_element_type(array.value_type);
    if array.value_type == VariantScalarTypeId::ExtensionObject
        && !elements.is_empty()
        && elements.iter().all(|e| matches!(e, DaValue::Decimal(_)))
    {
        element = VarType::VT_DECIMAL;
    }
    DaValue::Array(element, elements)
}
