//! A message's payload to a tag value: raw text, or JSON with pointers to the value, the
//! source timestamp and the quality.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use fxgate_core::TagValue;
use opcua::types::{DataTypeId, DateTime, StatusCode, SubStatusCode, Variant};
use serde_json::Value;

use crate::config::{MqttTagConfig, PayloadFormat};

/// Why a payload gave no value (the tag turns Bad_DecodingError).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Raw payload that is not UTF-8.
    #[error("the payload is not UTF-8 text")]
    NotText,
    /// Raw text that is not a value of the tag's type.
    #[error("`{text}` is not a {data_type:?}")]
    NotOfType {
        /// The text (cut to 40 characters).
        text: String,
        /// The tag's type.
        data_type: DataTypeId,
    },
    /// Not JSON.
    #[error("the payload is not JSON: {0}")]
    NotJson(String),
    /// A JSON pointer that selects nothing.
    #[error("nothing at JSON pointer `{0}`")]
    Missing(String),
    /// A JSON value of the wrong kind or out of range.
    #[error("the value at `{path}` does not fit the tag's type {data_type:?}: {status}")]
    WrongType {
        /// The pointer.
        path: String,
        /// The tag's type.
        data_type: DataTypeId,
        /// Bad_TypeMismatch or Bad_OutOfRange.
        status: StatusCode,
    },
    /// A timestamp that is neither RFC 3339 text nor epoch milliseconds.
    #[error("the timestamp at `{0}` is neither RFC 3339 text nor Unix epoch milliseconds")]
    Timestamp(String),
    /// A quality that is neither a status code number nor a known name.
    #[error("the quality at `{0}` is neither an OPC UA status code nor a status name")]
    Quality(String),
}

/// How to take one tag's value from a payload.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Raw or JSON.
    pub format: PayloadFormat,
    /// The tag's data type.
    pub data_type: DataTypeId,
    /// JSON pointer of the value ("" = the document).
    pub value_path: String,
    /// JSON pointer of the timestamp, if any.
    pub timestamp_path: Option<String>,
    /// JSON pointer of the quality, if any.
    pub quality_path: Option<String>,
}

impl Decoder {
    /// From a tag's configuration.
    pub fn new(t: &MqttTagConfig) -> Self {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Self {
            format: t.payload,
            data_type: fxgate_core::tag_type::data_type_id(t.tag_type),
            value_path: t.value_path.clone(),
            timestamp_path: opt(&t.timestamp_path),
            quality_path: opt(&t.quality_path),
        }
    }

    /// The value in `payload`; `json` is the payload parsed once for every tag of a message
    /// (`None` when not needed or not JSON: `json_error` then says why).
    pub fn decode(&self, payload: &[u8], json: Option<&Value>, json_error: Option<&str>, received: DateTime) -> Result<TagValue, DecodeError> {
        match self.format {
            PayloadFormat::Raw => {
                let text = std::str::from_utf8(payload).map_err(|_| DecodeError::NotText)?;
                let value = raw_value(text, self.data_type).ok_or_else(|| DecodeError::NotOfType {
                    text: text.chars().take(40).collect(),
                    data_type: self.data_type,
                })?;
                Ok(value_at(value, StatusCode::Good, received))
            }
            PayloadFormat::Json => {
                let doc = json.ok_or_else(|| DecodeError::NotJson(json_error.unwrap_or("not parsed").to_string()))?;
                let v = doc.pointer(&self.value_path).ok_or_else(|| DecodeError::Missing(self.value_path.clone()))?;
                let value = json_scalar(v, self.data_type).map_err(|status| DecodeError::WrongType {
                    path: self.value_path.clone(),
                    data_type: self.data_type,
                    status,
                })?;
                let source = match &self.timestamp_path {
                    None => received,
                    Some(p) => timestamp(doc.pointer(p).ok_or_else(|| DecodeError::Missing(p.clone()))?).ok_or_else(|| DecodeError::Timestamp(p.clone()))?,
                };
                let status = match &self.quality_path {
                    None => StatusCode::Good,
                    Some(p) => quality(doc.pointer(p).ok_or_else(|| DecodeError::Missing(p.clone()))?).ok_or_else(|| DecodeError::Quality(p.clone()))?,
                };
                Ok(value_at(value, status, source))
            }
        }
    }
}

fn value_at(value: Variant, status: StatusCode, source: DateTime) -> TagValue {
    TagValue { value, status, source_timestamp: source, server_timestamp: DateTime::null() }
}

/// Raw text as a value of `data_type`: numbers as text, booleans as `true`/`false`/`1`/`0`,
/// any text for a String.
pub fn raw_value(text: &str, data_type: DataTypeId) -> Option<Variant> {
    if data_type == DataTypeId::String {
        return Some(Variant::from(text.to_string()));
    }
    let t = text.trim();
    if data_type == DataTypeId::Boolean {
        return match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(Variant::Boolean(true)),
            "false" | "0" => Some(Variant::Boolean(false)),
            _ => None,
        };
    }
    let v: Value = if let Ok(i) = t.parse::<i64>() {
        i.into()
    } else if let Ok(u) = t.parse::<u64>() {
        u.into()
    } else {
        serde_json::Number::from_f64(t.parse::<f64>().ok()?).map(Value::Number)?
    };
    fxgate_forward::value::to_variant(&v, data_type).ok()
}

/// A JSON value as `data_type`.
fn json_scalar(v: &Value, data_type: DataTypeId) -> Result<Variant, StatusCode> {
    fxgate_forward::value::to_variant(v, data_type)
}

/// RFC 3339 text or Unix epoch milliseconds.
pub fn timestamp(v: &Value) -> Option<DateTime> {
    let utc = match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc),
        Value::Number(n) => {
            let ms = n.as_f64()?;
            if !ms.is_finite() {
                return None;
            }
            Utc.timestamp_millis_opt(ms as i64).single()?
        }
        _ => return None,
    };
    Some(DateTime::from(utc))
}

/// An OPC UA status code number, or a name: `Good`, `Uncertain`, `Bad`, `Bad_SensorFailure`,
/// `BadSensorFailure`.
pub fn quality(v: &Value) -> Option<StatusCode> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|c| u32::try_from(c).ok()).map(StatusCode::from),
        Value::String(s) => {
            let name = ["Good_", "Uncertain_", "Bad_"]
                .iter()
                .find_map(|p| s.strip_prefix(p).map(|rest| format!("{}{rest}", &p[..p.len() - 1])))
                .unwrap_or_else(|| s.clone());
            SubStatusCode::from_str(&name).ok().map(StatusCode::from_category)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_tag(path: &str, ty: DataTypeId) -> Decoder {
        Decoder { format: PayloadFormat::Json, data_type: ty, value_path: path.into(), timestamp_path: Some("/ts".into()), quality_path: Some("/q".into()) }
    }

    #[test]
    fn raw_values() {
        assert_eq!(raw_value(" 21.5\n", DataTypeId::Double), Some(Variant::Double(21.5)));
        assert_eq!(raw_value("42", DataTypeId::Int16), Some(Variant::Int16(42)));
        assert_eq!(raw_value("70000", DataTypeId::Int16), None);
        assert_eq!(raw_value("2.5", DataTypeId::Int32), None);
        assert_eq!(raw_value("TRUE", DataTypeId::Boolean), Some(Variant::Boolean(true)));
        assert_eq!(raw_value("0", DataTypeId::Boolean), Some(Variant::Boolean(false)));
        assert_eq!(raw_value("on", DataTypeId::Boolean), None);
        assert_eq!(raw_value("abc", DataTypeId::Double), None);
        assert_eq!(raw_value(" a b ", DataTypeId::String), Some(Variant::from(" a b ".to_string())));
    }

    #[test]
    fn json_with_timestamp_and_quality() {
        let doc = json!({"value": 3.5, "ts": "2026-01-02T03:04:05.678Z", "q": "Uncertain_LastUsableValue"});
        let v = json_tag("/value", DataTypeId::Double).decode(b"", Some(&doc), None, DateTime::now()).unwrap();
        assert_eq!(v.value, Variant::Double(3.5));
        assert_eq!(v.status, StatusCode::UncertainLastUsableValue);
        assert_eq!(crate::decode::tests::rfc(&v.source_timestamp), "2026-01-02T03:04:05.678Z");
        let doc = json!({"value": 3, "ts": 1_767_323_045_678u64, "q": 0x808C_0000u32});
        let v = json_tag("/value", DataTypeId::Double).decode(b"", Some(&doc), None, DateTime::now()).unwrap();
        assert_eq!(v.status, StatusCode::BadSensorFailure);
        assert_eq!(rfc(&v.source_timestamp), "2026-01-02T03:04:05.678Z");
    }

    fn rfc(t: &DateTime) -> String {
        fxgate_forward::value::rfc3339(t)
    }

    #[test]
    fn json_errors() {
        let d = json_tag("/value", DataTypeId::Int16);
        let now = DateTime::now();
        assert!(matches!(d.decode(b"", None, Some("x"), now), Err(DecodeError::NotJson(_))));
        assert_eq!(d.decode(b"", Some(&json!({"v": 1})), None, now), Err(DecodeError::Missing("/value".into())));
        assert!(matches!(d.decode(b"", Some(&json!({"value": "x", "ts": 0, "q": 0})), None, now), Err(DecodeError::WrongType { .. })));
        assert_eq!(d.decode(b"", Some(&json!({"value": 1, "ts": true, "q": 0})), None, now), Err(DecodeError::Timestamp("/ts".into())));
        assert_eq!(d.decode(b"", Some(&json!({"value": 1, "ts": 0, "q": "Fine"})), None, now), Err(DecodeError::Quality("/q".into())));
    }

    #[test]
    fn quality_names() {
        assert_eq!(quality(&json!("Good")), Some(StatusCode::Good));
        assert_eq!(quality(&json!("Bad")), Some(StatusCode::Bad));
        assert_eq!(quality(&json!("BadSensorFailure")), Some(StatusCode::BadSensorFailure));
        assert_eq!(quality(&json!("Bad_SensorFailure")), Some(StatusCode::BadSensorFailure));
        assert_eq!(quality(&json!(-1)), None);
    }
}
