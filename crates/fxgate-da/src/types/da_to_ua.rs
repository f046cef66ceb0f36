//! VARIANT → UA value for the COM UA Proxy's writes: [`da_to_ua_value`], per
//! OPC 10000-8 Table A.32 or converted to the DataType of the node written (A.4.3.2).
//! The conversion of one scalar to a concrete DataType is in `convert_scalar`.

use opcua::types::{Array, ByteString, DataTypeId, Variant, VariantScalarTypeId};

use super::convert_scalar::convert_scalar;
use super::decimal::ua_decimal;
use super::tables::base_data_type;
use super::{da_to_ua_type, DaValue, TypeMismatch, VarType};

/// The UA value for a VARIANT written by a DA client (the Proxy's Write; Table A.32).
///
/// Without a `target` (or with BaseDataType) the VARIANT type decides, per A.32:
/// `VT_I2` → Int16 … `VT_DATE` → Double (the OLE date number, verbatim from the table),
/// `VT_DECIMAL` → Decimal, `VT_ARRAY|x` → array of the DataType of `x`
/// (`VT_ARRAY|VT_VARIANT` → array of Variant); `VT_INT`/`VT_UINT` → Int32/UInt32 and
/// `VT_CY` → Double ([`DA_TO_UA_EXTENSIONS`]); `VT_EMPTY` → an empty Variant; `VT_ERROR` has
/// no DataType.
///
/// With a `target` DataType (that of the node written, resolved to its ns=0 base; see
/// [`NS0_SUBTYPES`], Enumeration is Int32) the value is converted like
/// `VariantChangeType` would, failing where it does not fit:
/// - numbers, `VT_BOOL` (true = 1), `VT_DATE` (its day number), `VT_CY`, `VT_DECIMAL` and
///   numeric `VT_BSTR` text convert between all numeric DataTypes; floating point to
///   integer rounds half to even; out-of-range values fail with
///   [`TypeMismatch::OutOfRange`];
/// - Boolean accepts numbers (non-zero is true) and the texts true/false/1/0/-1;
/// - String accepts every scalar except `VT_ERROR` (dates as RFC 3339 UTC);
/// - DateTime accepts `VT_DATE`, `VT_R8`/`VT_R4` (as OLE dates) and RFC 3339 text;
/// - Guid, NodeId, ExpandedNodeId, QualifiedName (`ns:name`), LocalizedText (no locale)
///   and XmlElement accept `VT_BSTR` in the text forms [`ua_to_da_value`] produces;
/// - StatusCode accepts unsigned integers and `VT_I4`/`VT_INT` (reinterpreted as 32 bits);
/// - Decimal accepts numbers and decimal text;
/// - ByteString accepts `VT_ARRAY|VT_UI1` (or a `VT_VARIANT` array of `VT_UI1`);
/// - Structures cannot be written: the bytes of A.36 carry no encoding id.
///
/// `VT_EMPTY` always gives an empty Variant. Any other array is converted element by
/// element to an array of the target DataType.
///
/// [`DA_TO_UA_EXTENSIONS`]: super::DA_TO_UA_EXTENSIONS
/// [`NS0_SUBTYPES`]: super::NS0_SUBTYPES
/// [`ua_to_da_value`]: super::ua_to_da_value
pub fn da_to_ua_value(
    value: &DaValue,
    target: Option<DataTypeId>,
) -> Result<Variant, TypeMismatch> {
    match target.map(base_data_type) {
        None | Some(DataTypeId::BaseDataType) => natural_value(value),
        Some(DataTypeId::Enumeration) => convert(value, DataTypeId::Int32),
        Some(abstract_type @ (DataTypeId::Number | DataTypeId::Integer | DataTypeId::UInteger)) => {
            abstract_number(value, abstract_type)
        }
        Some(to) => convert(value, to),
    }
}

/// A.32 without a target DataType.
fn natural_value(value: &DaValue) -> Result<Variant, TypeMismatch> {
    Ok(match value {
        DaValue::Empty => Variant::Empty,
        DaValue::I1(v) => Variant::SByte(*v),
        DaValue::UI1(v) => Variant::Byte(*v),
        DaValue::I2(v) => Variant::Int16(*v),
        DaValue::UI2(v) => Variant::UInt16(*v),
        DaValue::I4(v) | DaValue::Int(v) => Variant::Int32(*v),
        DaValue::UI4(v) | DaValue::UInt(v) => Variant::UInt32(*v),
        DaValue::I8(v) => Variant::Int64(*v),
        DaValue::UI8(v) => Variant::UInt64(*v),
        DaValue::R4(v) => Variant::Float(*v),
        DaValue::R8(v) | DaValue::Date(v) => Variant::Double(*v),
        DaValue::Cy(v) => Variant::Double(*v as f64 / 10_000.0),
        DaValue::Bstr(v) => Variant::String(v.as_str().into()),
        DaValue::Bool(v) => Variant::Boolean(*v),
        DaValue::Decimal(v) => ua_decimal(v),
        DaValue::Error(_) => {
            return Err(TypeMismatch::Incompatible {
                from: VarType::VT_ERROR,
                to: DataTypeId::BaseDataType,
            })
        }
        DaValue::Array(element, items) => {
            let from = value.var_type();
            if *element == VarType::VT_VARIANT {
                let values = items
                    .iter()
                    .map(|item| natural_value(item).map(|v| Variant::Variant(Box::new(v))))
                    .collect::<Result<Vec<_>, _>>()?;
                return ua_array(
                    VariantScalarTypeId::Variant,
                    values,
                    from,
                    DataTypeId::BaseDataType,
                );
            }
            let (data_type, _) = da_to_ua_type(*element)
                .filter(|_| !element.is_array())
                .ok_or(TypeMismatch::Incompatible {
                    from,
                    to: DataTypeId::BaseDataType,
                })?;
            let values = items
                .iter()
                .map(natural_value)
                .collect::<Result<Vec<_>, _>>()?;
            return ua_array(scalar_type_of(data_type), values, from, data_type);
        }
    })
}

/// Number, Integer and UInteger are abstract: the A.32 type, if it is one of them.
fn abstract_number(value: &DaValue, to: DataTypeId) -> Result<Variant, TypeMismatch> {
    let v = natural_value(value)?;
    let check = |v: &Variant| {
        use VariantScalarTypeId as S;
        let t = v.scalar_type_id();
        let signed = matches!(t, Some(S::SByte | S::Int16 | S::Int32 | S::Int64));
        let unsigned = matches!(t, Some(S::Byte | S::UInt16 | S::UInt32 | S::UInt64));
        let number = signed
            || unsigned
            || matches!(t, Some(S::Float | S::Double))
            || matches!(v, Variant::ExtensionObject(_)); // Decimal, the only EO here
        match to {
            DataTypeId::Integer => signed,
            DataTypeId::UInteger => unsigned,
            _ => number,
        }
    };
    let ok = match &v {
        Variant::Empty => true,
        Variant::Array(a) => a.values.iter().all(check),
        other => check(other),
    };
    if ok {
        Ok(v)
    } else {
        Err(TypeMismatch::Incompatible {
            from: value.var_type(),
            to,
        })
    }
}

/// The built-in type of values of a (base, ns=0) DataType.
fn scalar_type_of(data_type: DataTypeId) -> VariantScalarTypeId {
    match data_type {
        DataTypeId::Decimal | DataTypeId::Structure => VariantScalarTypeId::ExtensionObject,
        other => {
            VariantScalarTypeId::try_from(other as u32).unwrap_or(VariantScalarTypeId::Variant)
        }
    }
}

/// A UA array, or `Incompatible` if the values are not all of `value_type`.
fn ua_array(
    value_type: VariantScalarTypeId,
    values: Vec<Variant>,
    from: VarType,
    to: DataTypeId,
) -> Result<Variant, TypeMismatch> {
    Array::new(value_type, values)
        .map(|a| Variant::Array(Box::new(a)))
        .map_err(|_| TypeMismatch::Incompatible { from, to })
}

/// Conversion to a concrete (base, ns=0) DataType.
fn convert(value: &DaValue, to: DataTypeId) -> Result<Variant, TypeMismatch> {
    let from = value.var_type();
    match value {
        DaValue::Empty => Ok(Variant::Empty),
        DaValue::Array(_, items) if to == DataTypeId::ByteString => items
            .iter()
            .map(|item| match item {
                DaValue::UI1(b) => Ok(*b),
                _ => Err(TypeMismatch::Incompatible { from, to }),
            })
            .collect::<Result<Vec<u8>, _>>()
            .map(|bytes| Variant::ByteString(ByteString::from(bytes))),
        DaValue::Array(_, items) => {
            let values = items
                .iter()
                .map(|item| convert_scalar(item, to))
                .collect::<Result<Vec<_>, _>>()?;
            ua_array(scalar_type_of(to), values, from, to)
        }
        scalar => convert_scalar(scalar, to),
    }
}
