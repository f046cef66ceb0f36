//! A tag's value, quality and timestamp as a remote system sees them, whatever the protocol:
//! `{"tag","v","q","st"}` with the value as JSON, the OPC UA status by name
//! (`Bad_NoCommunication`) and the source timestamp in RFC 3339, serialised as JSON text or
//! CBOR (RFC 8949) with the same structure; and a JSON value back to a tag's data type for
//! writes.

use fxgate_core::TagValue;
use opcua::types::{DataTypeId, DateTime, StatusCode, Variant};
use serde::Serialize;
use serde_json::Value;

/// How messages are serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// JSON text (RFC 8259).
    #[default]
    Json,
    /// CBOR binary (RFC 8949), the same structure.
    Cbor,
}

/// Serialises any message in `enc`. A value serde cannot serialise (none of the messages
/// built from tag values and JSON) gives an empty or truncated message.
pub fn encode<T: Serialize>(msg: &T, enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Json => serde_json::to_vec(msg).unwrap_or_default(),
        Encoding::Cbor => {
            let mut out = Vec::new();
            let _ = ciborium::into_writer(msg, &mut out);
            out
        }
    }
}

/// `Good`, `Bad_NoCommunication`, `Uncertain_LastUsableValue`: the OPC UA status name
/// (OPC 10000-4 §7.39) with an underscore after the severity.
pub fn status_name(s: StatusCode) -> String {
    let name = format!("{s}");
    let name = name.split(['(', ' ']).next().unwrap_or(&name).to_string();
    for sev in ["Good", "Bad", "Uncertain"] {
        if let Some(rest) = name.strip_prefix(sev) {
            if !rest.is_empty() && !rest.starts_with('_') {
                return format!("{sev}_{rest}");
            }
        }
    }
    name
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(t: &DateTime) -> String {
    t.as_chrono().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A value as JSON: numbers, booleans, strings, RFC 3339 timestamps, arrays; non-finite
/// floats as `null`, other types as their debug text.
pub fn json_value(v: &Variant) -> Value {
    match v {
        Variant::Empty => Value::Null,
        Variant::Boolean(b) => (*b).into(),
        Variant::SByte(x) => (*x).into(),
        Variant::Byte(x) => (*x).into(),
        Variant::Int16(x) => (*x).into(),
        Variant::UInt16(x) => (*x).into(),
        Variant::Int32(x) => (*x).into(),
        Variant::UInt32(x) => (*x).into(),
        Variant::Int64(x) => (*x).into(),
        Variant::UInt64(x) => (*x).into(),
        Variant::Float(x) => serde_json::Number::from_f64(f64::from(*x)).map(Value::Number).unwrap_or(Value::Null),
        Variant::Double(x) => serde_json::Number::from_f64(*x).map(Value::Number).unwrap_or(Value::Null),
        Variant::String(s) => s.as_ref().into(),
        Variant::DateTime(d) => rfc3339(d).into(),
        Variant::Array(a) => Value::Array(a.values.iter().map(json_value).collect()),
        other => format!("{other:?}").into(),
    }
}

/// One tag's value in a message: `{"tag","v","q","st"}`.
#[derive(Debug, Serialize)]
pub struct Sample<'a> {
    tag: &'a str,
    v: Value,
    q: String,
    st: String,
}

impl<'a> Sample<'a> {
    /// The value of the tag with browse path `tag`.
    pub fn new(tag: &'a str, value: &TagValue) -> Self {
        Self {
            tag,
            v: json_value(&value.value),
            q: status_name(value.status),
            st: rfc3339(&value.source_timestamp),
        }
    }
}

/// The variant a JSON value makes for a tag of `data_type`: `Bad_TypeMismatch` for a value
/// of the wrong kind (or a data type writes do not support), `Bad_OutOfRange` for an integer
/// outside the type's range.
pub fn to_variant(v: &Value, data_type: DataTypeId) -> Result<Variant, StatusCode> {
    use DataTypeId as D;
    let bad = StatusCode::BadTypeMismatch;
    let range = StatusCode::BadOutOfRange;
    let int = |min: i128, max: i128| -> Result<i128, StatusCode> {
        let i = if let Some(i) = v.as_i64() {
            i128::from(i)
        } else if let Some(u) = v.as_u64() {
            i128::from(u)
        } else if let Some(f) = v.as_f64().filter(|f| f.fract() == 0.0 && f.is_finite()) {
            f as i128
        } else {
            return Err(bad);
        };
        if i < min || i > max {
            Err(range)
        } else {
            Ok(i)
        }
    };
    Ok(match data_type {
        D::Boolean => Variant::Boolean(v.as_bool().ok_or(bad)?),
        D::String => Variant::from(v.as_str().ok_or(bad)?.to_string()),
        D::Double => Variant::Double(v.as_f64().ok_or(bad)?),
        D::Float => Variant::Float(v.as_f64().ok_or(bad)? as f32),
        D::SByte => Variant::SByte(int(i8::MIN.into(), i8::MAX.into())? as i8),
        D::Byte => Variant::Byte(int(0, u8::MAX.into())? as u8),
        D::Int16 => Variant::Int16(int(i16::MIN.into(), i16::MAX.into())? as i16),
        D::UInt16 => Variant::UInt16(int(0, u16::MAX.into())? as u16),
        D::Int32 => Variant::Int32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        D::UInt32 => Variant::UInt32(int(0, u32::MAX.into())? as u32),
        D::Int64 => Variant::Int64(int(i64::MIN.into(), i64::MAX.into())? as i64),
        D::UInt64 => Variant::UInt64(int(0, u64::MAX.into())? as u64),
        _ => return Err(bad),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_names() {
        assert_eq!(status_name(StatusCode::Good), "Good");
        assert_eq!(status_name(StatusCode::BadNoCommunication), "Bad_NoCommunication");
        assert_eq!(status_name(StatusCode::UncertainLastUsableValue), "Uncertain_LastUsableValue");
    }

    #[test]
    fn json_to_tag_types() {
        assert_eq!(to_variant(&json!(42.5), DataTypeId::Double), Ok(Variant::Double(42.5)));
        assert_eq!(to_variant(&json!(70000), DataTypeId::Int16), Err(StatusCode::BadOutOfRange));
        assert_eq!(to_variant(&json!(2.5), DataTypeId::Int32), Err(StatusCode::BadTypeMismatch));
        assert_eq!(to_variant(&json!("x"), DataTypeId::Double), Err(StatusCode::BadTypeMismatch));
        assert_eq!(to_variant(&json!(true), DataTypeId::Boolean), Ok(Variant::Boolean(true)));
    }

    #[test]
    fn a_sample_in_json_and_cbor() {
        let mut v = TagValue::good(21.5);
        v.source_timestamp = DateTime::ymd_hms_nano(2024, 5, 6, 7, 8, 9, 123_000_000);
        v.status = StatusCode::UncertainLastUsableValue;
        let s = Sample::new("Demo/Setpoint", &v);
        let expected = json!({"tag": "Demo/Setpoint", "v": 21.5, "q": "Uncertain_LastUsableValue", "st": "2024-05-06T07:08:09.123Z"});
        assert_eq!(serde_json::from_slice::<Value>(&encode(&s, Encoding::Json)).unwrap(), expected);
        assert_eq!(ciborium::from_reader::<Value, _>(&encode(&s, Encoding::Cbor)[..]).unwrap(), expected);
        assert_eq!(json_value(&Variant::Double(f64::NAN)), Value::Null);
    }
}
