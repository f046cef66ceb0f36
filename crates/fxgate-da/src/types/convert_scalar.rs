//! Conversion of one scalar VARIANT to a concrete (base, ns=0) DataType, like
//! `VariantChangeType`, for writes to a node of that DataType (OPC 10000-8 A.4.3.2); the
//! rules are listed on [`da_to_ua_value`](super::da_to_ua_value).

use std::str::FromStr;

use opcua::types::{
    DataTypeId, DateTime, Guid, LocalizedText, NodeId, StatusCode, Variant, XmlElement,
};

use super::decimal::ua_decimal;
use super::text_forms::{parse_expanded_node_id, parse_qualified_name};
use super::{ua_from_ole_date, DaDecimal, DaValue, TypeMismatch};

/// A number extracted from a VARIANT for numeric conversions.
enum Number {
    Int(i128),
    Float(f64),
    Decimal(DaDecimal),
}

/// The number in `value`; VT_BSTR text is parsed (integer, then decimal, then float).
fn number(value: &DaValue, to: DataTypeId) -> Result<Number, TypeMismatch> {
    Ok(match value {
        DaValue::I1(v) => Number::Int((*v).into()),
        DaValue::UI1(v) => Number::Int((*v).into()),
        DaValue::I2(v) => Number::Int((*v).into()),
        DaValue::UI2(v) => Number::Int((*v).into()),
        DaValue::I4(v) | DaValue::Int(v) => Number::Int((*v).into()),
        DaValue::UI4(v) | DaValue::UInt(v) => Number::Int((*v).into()),
        DaValue::I8(v) => Number::Int((*v).into()),
        DaValue::UI8(v) => Number::Int((*v).into()),
        DaValue::Bool(v) => Number::Int((*v).into()),
        DaValue::R4(v) => Number::Float((*v).into()),
        DaValue::R8(v) | DaValue::Date(v) => Number::Float(*v),
        DaValue::Cy(v) => Number::Decimal(DaDecimal::from_currency(*v)),
        DaValue::Decimal(v) => Number::Decimal(*v),
        DaValue::Bstr(text) => {
            let t = text.trim();
            if let Ok(i) = t.parse::<i128>() {
                Number::Int(i)
            } else if let Some(d) = DaDecimal::parse(t) {
                Number::Decimal(d)
            } else if let Ok(f) = t.parse::<f64>() {
                Number::Float(f)
            } else {
                return Err(TypeMismatch::Unparsable {
                    text: text.clone(),
                    to,
                });
            }
        }
        DaValue::Empty | DaValue::Error(_) | DaValue::Array(..) => {
            return Err(TypeMismatch::Incompatible {
                from: value.var_type(),
                to,
            })
        }
    })
}

/// The integer in `value`, rounded half to even, as `T`.
fn integer<T: TryFrom<i128>>(value: &DaValue, to: DataTypeId) -> Result<T, TypeMismatch> {
    let out_of_range = || TypeMismatch::OutOfRange {
        from: value.var_type(),
        to,
    };
    let i = match number(value, to)? {
        Number::Int(i) => i,
        Number::Decimal(d) => d.round_to_integer(),
        Number::Float(f) => {
            let r = f.round_ties_even();
            // ±1e38 is inside i128 and far outside every target integer type.
            if !r.is_finite() || r.abs() > 1e38 {
                return Err(out_of_range());
            }
            r as i128
        }
    };
    T::try_from(i).map_err(|_| out_of_range())
}

/// The number in `value` as an `f64`.
fn double(value: &DaValue, to: DataTypeId) -> Result<f64, TypeMismatch> {
    Ok(match number(value, to)? {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
        Number::Decimal(d) => d.to_f64(),
    })
}

/// The `VT_BSTR` text of `value`, or `Incompatible`.
fn bstr(value: &DaValue, to: DataTypeId) -> Result<&str, TypeMismatch> {
    match value {
        DaValue::Bstr(text) => Ok(text),
        other => Err(TypeMismatch::Incompatible {
            from: other.var_type(),
            to,
        }),
    }
}

/// Conversion of a scalar VARIANT to a concrete (base, ns=0) DataType.
pub(super) fn convert_scalar(value: &DaValue, to: DataTypeId) -> Result<Variant, TypeMismatch> {
    use DataTypeId as D;
    let from = value.var_type();
    let incompatible = || TypeMismatch::Incompatible { from, to };
    let out_of_range = || TypeMismatch::OutOfRange { from, to };
    let unparsable = |text: &str| TypeMismatch::Unparsable {
        text: text.to_owned(),
        to,
    };
    if matches!(value, DaValue::Array(..) | DaValue::Error(_)) {
        return Err(incompatible());
    }
    Ok(match to {
        D::Boolean => Variant::Boolean(match value {
            DaValue::Bool(b) => *b,
            DaValue::Bstr(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "-1" => true,
                "false" | "0" => false,
                _ => return Err(unparsable(text)),
            },
            other => match number(other, to)? {
                Number::Int(i) => i != 0,
                Number::Float(f) => f != 0.0,
                Number::Decimal(d) => d.mantissa() != 0,
            },
        }),
        D::SByte => Variant::SByte(integer(value, to)?),
        D::Byte => Variant::Byte(integer(value, to)?),
        D::Int16 => Variant::Int16(integer(value, to)?),
        D::UInt16 => Variant::UInt16(integer(value, to)?),
        D::Int32 => Variant::Int32(integer(value, to)?),
        D::UInt32 => Variant::UInt32(integer(value, to)?),
        D::Int64 => Variant::Int64(integer(value, to)?),
        D::UInt64 => Variant::UInt64(integer(value, to)?),
        D::Float => {
            let f = double(value, to)?;
            if f.is_finite() && f.abs() > f64::from(f32::MAX) {
                return Err(out_of_range());
            }
            Variant::Float(f as f32)
        }
        D::Double => Variant::Double(double(value, to)?),
        D::Decimal => {
            let d = match number(value, to)? {
                Number::Decimal(d) => Some(d),
                Number::Int(i) => DaDecimal::new(i, 0),
                Number::Float(f) if f.is_finite() => DaDecimal::parse(&f.to_string()),
                Number::Float(_) => None,
            };
            ua_decimal(&d.ok_or_else(out_of_range)?)
        }
        D::String => Variant::String(
            match value {
                DaValue::Bstr(text) => text.clone(),
                DaValue::Bool(b) => b.to_string(),
                DaValue::I1(v) => v.to_string(),
                DaValue::UI1(v) => v.to_string(),
                DaValue::I2(v) => v.to_string(),
                DaValue::UI2(v) => v.to_string(),
                DaValue::I4(v) | DaValue::Int(v) => v.to_string(),
                DaValue::UI4(v) | DaValue::UInt(v) => v.to_string(),
                DaValue::I8(v) => v.to_string(),
                DaValue::UI8(v) => v.to_string(),
                DaValue::R4(v) => v.to_string(),
                DaValue::R8(v) => v.to_string(),
                DaValue::Cy(v) => DaDecimal::from_currency(*v).to_string(),
                DaValue::Decimal(d) => d.to_string(),
                DaValue::Date(d) => ua_from_ole_date(*d).ok_or_else(out_of_range)?.to_rfc3339(),
                DaValue::Empty | DaValue::Error(_) | DaValue::Array(..) => {
                    return Err(incompatible())
                }
            }
            .into(),
        ),
        D::DateTime => Variant::DateTime(Box::new(match value {
            DaValue::Date(d) | DaValue::R8(d) => ua_from_ole_date(*d).ok_or_else(out_of_range)?,
            DaValue::R4(d) => ua_from_ole_date(f64::from(*d)).ok_or_else(out_of_range)?,
            DaValue::Bstr(text) => {
                DateTime::parse_from_rfc3339(text.trim()).map_err(|_| unparsable(text))?
            }
            _ => return Err(incompatible()),
        })),
        D::Guid => {
            let text = bstr(value, to)?;
            Variant::Guid(Box::new(
                Guid::from_str(text.trim()).map_err(|_| unparsable(text))?,
            ))
        }
        D::NodeId => {
            let text = bstr(value, to)?;
            Variant::NodeId(Box::new(
                NodeId::from_str(text).map_err(|_| unparsable(text))?,
            ))
        }
        D::ExpandedNodeId => {
            let text = bstr(value, to)?;
            Variant::ExpandedNodeId(Box::new(
                parse_expanded_node_id(text).ok_or_else(|| unparsable(text))?,
            ))
        }
        D::QualifiedName => {
            Variant::QualifiedName(Box::new(parse_qualified_name(bstr(value, to)?)))
        }
        D::LocalizedText => {
            Variant::LocalizedText(Box::new(LocalizedText::from(bstr(value, to)?.to_owned())))
        }
        D::XmlElement => Variant::XmlElement(XmlElement::from(bstr(value, to)?)),
        D::StatusCode => Variant::StatusCode(StatusCode::from(match value {
            DaValue::I4(v) | DaValue::Int(v) => *v as u32,
            other => integer::<u32>(other, to)?,
        })),
        _ => return Err(incompatible()),
    })
}
