//! The data types a configured tag can have (the OPC UA built-in types of OPC 10000-3
//! §8.2 that sources produce), and conversions between them, OPC UA data types and values.

use serde::{Deserialize, Serialize};

use opcua::types::{DataTypeId, StatusCode, Variant};

/// OPC UA built-in types a source's tag can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TagType {
    /// Boolean.
    Boolean,
    /// 8-bit signed.
    SByte,
    /// 8-bit unsigned.
    Byte,
    /// 16-bit signed.
    Int16,
    /// 16-bit unsigned.
    UInt16,
    /// 32-bit signed.
    Int32,
    /// 32-bit unsigned.
    UInt32,
    /// 64-bit signed.
    Int64,
    /// 64-bit unsigned.
    UInt64,
    /// 32-bit float.
    Float,
    /// 64-bit float.
    Double,
    /// UTF-8 text.
    String,
}

impl TagType {
    /// Whether the type is a number.
    pub fn is_numeric(self) -> bool {
        !matches!(self, TagType::Boolean | TagType::String)
    }
}

/// The OPC UA data type of a configured type.
pub fn data_type_id(t: TagType) -> DataTypeId {
    match t {
        TagType::Boolean => DataTypeId::Boolean,
        TagType::SByte => DataTypeId::SByte,
        TagType::Byte => DataTypeId::Byte,
        TagType::Int16 => DataTypeId::Int16,
        TagType::UInt16 => DataTypeId::UInt16,
        TagType::Int32 => DataTypeId::Int32,
        TagType::UInt32 => DataTypeId::UInt32,
        TagType::Int64 => DataTypeId::Int64,
        TagType::UInt64 => DataTypeId::UInt64,
        TagType::Float => DataTypeId::Float,
        TagType::Double => DataTypeId::Double,
        TagType::String => DataTypeId::String,
    }
}

/// The tag type of an OPC UA data type (None for one no tag has).
pub fn tag_type_of(d: DataTypeId) -> Option<TagType> {
    use TagType::*;
    [Boolean, SByte, Byte, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float, Double, String].into_iter().find(|t| data_type_id(*t) == d)
}

/// A number as a value of type `t`, saturating at the type's bounds
/// (`Rust`'s float-to-int `as` saturates and maps NaN to 0).
pub fn from_f64(t: TagType, v: f64) -> Variant {
    match t {
        TagType::Boolean => Variant::Boolean(v != 0.0),
        TagType::SByte => Variant::SByte(v as i8),
        TagType::Byte => Variant::Byte(v as u8),
        TagType::Int16 => Variant::Int16(v as i16),
        TagType::UInt16 => Variant::UInt16(v as u16),
        TagType::Int32 => Variant::Int32(v as i32),
        TagType::UInt32 => Variant::UInt32(v as u32),
        TagType::Int64 => Variant::Int64(v as i64),
        TagType::UInt64 => Variant::UInt64(v as u64),
        TagType::Float => Variant::Float(v as f32),
        TagType::Double => Variant::Double(v),
        TagType::String => Variant::from(format!("{v}")),
    }
}

/// The numeric value of a variant, if it is a number or boolean.
pub fn to_f64(v: &Variant) -> Option<f64> {
    Some(match v {
        Variant::Boolean(b) => f64::from(u8::from(*b)),
        Variant::SByte(x) => f64::from(*x),
        Variant::Byte(x) => f64::from(*x),
        Variant::Int16(x) => f64::from(*x),
        Variant::UInt16(x) => f64::from(*x),
        Variant::Int32(x) => f64::from(*x),
        Variant::UInt32(x) => f64::from(*x),
        Variant::Int64(x) => *x as f64,
        Variant::UInt64(x) => *x as f64,
        Variant::Float(x) => f64::from(*x),
        Variant::Double(x) => *x,
        _ => return None,
    })
}

/// Whether `v` has exactly the configured type (what a write must carry).
pub fn has_type(t: TagType, v: &Variant) -> bool {
    matches!(
        (t, v),
        (TagType::Boolean, Variant::Boolean(_))
            | (TagType::SByte, Variant::SByte(_))
            | (TagType::Byte, Variant::Byte(_))
            | (TagType::Int16, Variant::Int16(_))
            | (TagType::UInt16, Variant::UInt16(_))
            | (TagType::Int32, Variant::Int32(_))
            | (TagType::UInt32, Variant::UInt32(_))
            | (TagType::Int64, Variant::Int64(_))
            | (TagType::UInt64, Variant::UInt64(_))
            | (TagType::Float, Variant::Float(_))
            | (TagType::Double, Variant::Double(_))
            | (TagType::String, Variant::String(_))
    )
}

/// A configured initial value as a value of type `t`.
pub fn from_toml(t: TagType, v: &toml::Value) -> Option<Variant> {
    match (t, v) {
        (TagType::Boolean, toml::Value::Boolean(b)) => Some(Variant::Boolean(*b)),
        (TagType::String, toml::Value::String(s)) => Some(Variant::from(s.clone())),
        (t, toml::Value::Integer(i)) if t.is_numeric() => Some(from_f64(t, *i as f64)),
        (t, toml::Value::Float(f)) if t.is_numeric() => Some(from_f64(t, *f)),
        _ => None,
    }
}

/// Converts a value a protocol received into a tag of `data_type` (what a Modbus or IEC 104
/// server writes when a client commands a tag): numbers must fit the type (integers must be
/// whole); Booleans are 0/1.
pub fn to_tag_type(value: &Variant, data_type: DataTypeId) -> Result<Variant, StatusCode> {
    use DataTypeId as D;
    if let Variant::String(_) = value {
        return if data_type == D::String { Ok(value.clone()) } else { Err(StatusCode::BadTypeMismatch) };
    }
    if let Variant::Boolean(b) = value {
        return match data_type {
            D::Boolean => Ok(value.clone()),
            D::String => Err(StatusCode::BadTypeMismatch),
            _ => to_tag_type(&Variant::Byte(u8::from(*b)), data_type),
        };
    }
    let v = to_f64(value).ok_or(StatusCode::BadTypeMismatch)?;
    let int = |min: f64, max: f64| -> Result<f64, StatusCode> {
        if v.fract() != 0.0 || v < min || v > max {
            Err(StatusCode::BadOutOfRange)
        } else {
            Ok(v)
        }
    };
    Ok(match data_type {
        D::Boolean => Variant::Boolean(v != 0.0),
        D::SByte => Variant::SByte(int(i8::MIN.into(), i8::MAX.into())? as i8),
        D::Byte => Variant::Byte(int(0.0, u8::MAX.into())? as u8),
        D::Int16 => Variant::Int16(int(i16::MIN.into(), i16::MAX.into())? as i16),
        D::UInt16 => Variant::UInt16(int(0.0, u16::MAX.into())? as u16),
        D::Int32 => Variant::Int32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        D::UInt32 => Variant::UInt32(int(0.0, u32::MAX.into())? as u32),
        D::Int64 => match value {
            Variant::Int64(_) => value.clone(),
            _ => Variant::Int64(int(-9.223_372_036_854_776e18, 9.223_372_036_854_775e18)? as i64),
        },
        D::UInt64 => match value {
            Variant::UInt64(_) => value.clone(),
            _ => Variant::UInt64(int(0.0, 1.844_674_407_370_955e19)? as u64),
        },
        D::Float => Variant::Float(v as f32),
        D::Double => Variant::Double(v),
        _ => return Err(StatusCode::BadTypeMismatch),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates_and_checks_types() {
        assert_eq!(from_f64(TagType::Byte, 300.0), Variant::Byte(255));
        assert_eq!(from_f64(TagType::Int16, -1e9), Variant::Int16(i16::MIN));
        assert!(has_type(TagType::Double, &Variant::Double(1.0)));
        assert!(!has_type(TagType::Double, &Variant::Float(1.0)));
        assert_eq!(to_f64(&Variant::UInt32(7)), Some(7.0));
        assert_eq!(from_toml(TagType::Int32, &toml::Value::Float(2.7)), Some(Variant::Int32(2)));
    }
}
