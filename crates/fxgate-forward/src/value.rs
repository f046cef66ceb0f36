//! A tag's value, quality and timestamp as a remote system sees them, whatever the protocol:
//! `{"tag","v","q","st"}` with the value as JSON, the OPC UA status by name
//! (`Bad_NoCommunication`) and the source timestamp in RFC 3339, serialised as JSON text or
//! CBOR (RFC 8949) with the same structure; and a JSON value back to a tag's data type for
//! writes.

use fxgate_core::TagValue;
use opcua::types::{DataTypeId, DateTime, StatusCode, Variant};
use std::borrow::Cow;

use serde::{Serialize, Serializer};
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

/// Status codes whose names [`status_name`] answers without formatting: what values carry
/// most of the time.
const COMMON: [(StatusCode, &str); 16] = [
    (StatusCode::Good, "Good"),
    (StatusCode::BadNoCommunication, "Bad_NoCommunication"),
    (StatusCode::UncertainLastUsableValue, "Uncertain_LastUsableValue"),
    (StatusCode::UncertainNoCommunicationLastUsableValue, "Uncertain_NoCommunicationLastUsableValue"),
    (StatusCode::BadWaitingForInitialData, "Bad_WaitingForInitialData"),
    (StatusCode::BadDecodingError, "Bad_DecodingError"),
    (StatusCode::BadCommunicationError, "Bad_CommunicationError"),
    (StatusCode::BadOutOfService, "Bad_OutOfService"),
    (StatusCode::BadDeviceFailure, "Bad_DeviceFailure"),
    (StatusCode::BadSensorFailure, "Bad_SensorFailure"),
    (StatusCode::BadNodeIdUnknown, "Bad_NodeIdUnknown"),
    (StatusCode::BadTimeout, "Bad_Timeout"),
    (StatusCode::BadTypeMismatch, "Bad_TypeMismatch"),
    (StatusCode::BadOutOfRange, "Bad_OutOfRange"),
    (StatusCode::BadNotWritable, "Bad_NotWritable"),
    (StatusCode::BadUserAccessDenied, "Bad_UserAccessDenied"),
];

/// `Good`, `Bad_NoCommunication`, `Uncertain_LastUsableValue`: the OPC UA status name
/// (OPC 10000-4 §7.39) with an underscore after the severity. The common codes are answered
/// from a table, the rest are formatted.
pub fn status_name(s: StatusCode) -> Cow<'static, str> {
    match COMMON.iter().find(|(c, _)| *c == s) {
        Some((_, name)) => Cow::Borrowed(name),
        None => Cow::Owned(format_status_name(s)),
    }
}

fn format_status_name(s: StatusCode) -> String {
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
    Stamp::new(t).as_str().to_string()
}

/// A timestamp as RFC 3339 UTC text with milliseconds (`2024-05-06T07:08:09.123Z`), formatted
/// in place: no allocation and no format string per value. Written by hand because chrono's
/// formatter parses its format string on every call, which was a fifth of the MQTT client's
/// CPU at 100,000 values/s.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Stamp([u8; 24]);

impl Stamp {
    /// The text of `t` (years clamped to 0000–9999; OPC UA's range is 1601–9999).
    pub fn new(t: &DateTime) -> Self {
        use chrono::{Datelike, Timelike};
        let c = t.as_chrono();
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let digits = |b: &mut [u8; 24], at: usize, width: usize, mut n: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        digits(&mut b, 0, 4, c.year().clamp(0, 9999) as u32);
        digits(&mut b, 5, 2, c.month());
        digits(&mut b, 8, 2, c.day());
        digits(&mut b, 11, 2, c.hour());
        digits(&mut b, 14, 2, c.minute());
        // A leap second (nanoseconds ≥ 1e9) shows as :60, as chrono shows it.
        let (sec, ms) = (c.second(), c.nanosecond() / 1_000_000);
        digits(&mut b, 17, 2, sec + ms / 1000);
        digits(&mut b, 20, 3, ms % 1000);
        Self(b)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A value as JSON (or CBOR), serialised straight from the variant: numbers, booleans,
/// strings, RFC 3339 timestamps, arrays; non-finite floats as `null`, other types as their
/// debug text.
#[derive(Debug, Clone, Copy)]
pub struct JsonVariant<'a>(pub &'a Variant);

impl Serialize for JsonVariant<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let float = |s: S, x: f64| if x.is_finite() { s.serialize_f64(x) } else { s.serialize_unit() };
        match self.0 {
            Variant::Empty => s.serialize_unit(),
            Variant::Boolean(b) => s.serialize_bool(*b),
            Variant::SByte(x) => s.serialize_i8(*x),
            Variant::Byte(x) => s.serialize_u8(*x),
            Variant::Int16(x) => s.serialize_i16(*x),
            Variant::UInt16(x) => s.serialize_u16(*x),
            Variant::Int32(x) => s.serialize_i32(*x),
            Variant::UInt32(x) => s.serialize_u32(*x),
            Variant::Int64(x) => s.serialize_i64(*x),
            Variant::UInt64(x) => s.serialize_u64(*x),
            Variant::Float(x) => float(s, f64::from(*x)),
            Variant::Double(x) => float(s, *x),
            Variant::String(t) => s.serialize_str(t.as_ref()),
            Variant::DateTime(d) => Stamp::new(d).serialize(s),
            Variant::Array(a) => s.collect_seq(a.values.iter().map(JsonVariant)),
            other => s.collect_str(&format_args!("{other:?}")),
        }
    }
}

/// A value as a JSON tree (see [`JsonVariant`]).
pub fn json_value(v: &Variant) -> Value {
    serde_json::to_value(JsonVariant(v)).unwrap_or(Value::Null)
}

/// One tag's value in a message: `{"tag","v","q","st"}`.
#[derive(Debug, Serialize)]
pub struct Sample<'a> {
    tag: &'a str,
    v: JsonVariant<'a>,
    q: Cow<'static, str>,
    st: Stamp,
}

impl<'a> Sample<'a> {
    /// The value of the tag with browse path `tag`.
    pub fn new(tag: &'a str, value: &'a TagValue) -> Self {
        Self { tag, v: JsonVariant(&value.value), q: status_name(value.status), st: Stamp::new(&value.source_timestamp) }
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
    fn the_table_agrees_with_the_formatter() {
        for (code, name) in COMMON {
            assert_eq!(format_status_name(code), name);
        }
        assert_eq!(status_name(StatusCode::BadInternalError), "Bad_InternalError");
        assert_eq!(status_name(StatusCode::GoodLocalOverride), "Good_LocalOverride");
    }

    #[test]
    fn stamps_match_chrono() {
        for t in [
            DateTime::ymd_hms_nano(2024, 5, 6, 7, 8, 9, 123_456_789),
            DateTime::ymd_hms_nano(1601, 1, 1, 0, 0, 0, 0),
            DateTime::ymd_hms_nano(9999, 12, 31, 23, 59, 59, 999_000_000),
            DateTime::ymd_hms_nano(2000, 2, 29, 12, 0, 0, 1_000_000),
            DateTime::now(),
        ] {
            assert_eq!(rfc3339(&t), t.as_chrono().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
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
        assert_eq!(json_value(&Variant::Float(f32::INFINITY)), Value::Null);
        assert_eq!(json_value(&Variant::Int64(-3)), json!(-3));
        assert_eq!(json_value(&Variant::from("x")), json!("x"));
        let t = DateTime::ymd_hms_nano(2024, 5, 6, 7, 8, 9, 123_000_000);
        assert_eq!(json_value(&Variant::from(vec![1.5f64, 2.0])), json!([1.5, 2.0]));
        assert_eq!(json_value(&Variant::DateTime(Box::new(t))), json!("2024-05-06T07:08:09.123Z"));
        assert_eq!(json_value(&Variant::Empty), Value::Null);
    }
}
