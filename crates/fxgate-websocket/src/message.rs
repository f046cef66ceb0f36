//! The messages: tag changes out (`{"seq","ts","values"}`), commands in
//! (`write`, `read`, `browse`, `ack`) and their answers, as JSON text or CBOR binary.

use crate::config::WsEncoding;
use fxgate_core::{TagStore, TagValue};
use opcua::types::{DataTypeId, DateTime, StatusCode, Variant};
use serde::Serialize;
use serde_json::{json, Value};

/// `Good`, `Bad_NoCommunication`, `Uncertain_LastUsableValue`: the status name with an
/// underscore after the severity.
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

/// A value as JSON.
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

/// One value in a message.
#[derive(Serialize)]
pub struct OutValue<'a> {
    tag: &'a str,
    v: Value,
    q: String,
    st: String,
}

impl<'a> OutValue<'a> {
    /// The value of `tag`.
    pub fn new(tag: &'a str, value: &TagValue) -> Self {
        Self {
            tag,
            v: json_value(&value.value),
            q: status_name(value.status),
            st: rfc3339(&value.source_timestamp),
        }
    }
}

#[derive(Serialize)]
struct Out<'a> {
    seq: u64,
    ts: String,
    values: Vec<OutValue<'a>>,
}

/// Serialises any message in the configured encoding.
pub fn encode<T: Serialize>(msg: &T, enc: WsEncoding) -> Vec<u8> {
    match enc {
        WsEncoding::Json => serde_json::to_vec(msg).unwrap_or_default(),
        WsEncoding::Cbor => {
            let mut out = Vec::new();
            let _ = ciborium::into_writer(msg, &mut out);
            out
        }
    }
}

/// A data message.
pub fn data_message(seq: u64, values: Vec<OutValue<'_>>, enc: WsEncoding) -> Vec<u8> {
    encode(&Out { seq, ts: rfc3339(&DateTime::now()), values }, enc)
}

/// A command from the server (fields as in the message; `id` is echoed in the answer).
#[derive(Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Command {
    /// Write `v` to `tag`.
    Write { tag: String, v: Value, id: Value },
    /// Read tags.
    Read { tags: Vec<String>, id: Value },
    /// List tags matching a glob.
    Browse { path: String, id: Value },
    /// Everything up to `seq` arrived.
    Ack { seq: u64 },
}

/// Parses a command; the error carries the request id (if any) and why.
pub fn parse_command(data: &[u8], binary: bool) -> Result<Command, (Value, String)> {
    let v: Value = if binary {
        ciborium::from_reader(data).map_err(|e| (Value::Null, format!("not CBOR: {e}")))?
    } else {
        serde_json::from_slice(data).map_err(|e| (Value::Null, format!("not JSON: {e}")))?
    };
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let err = |m: &str| (id.clone(), m.to_string());
    let op = v.get("op").and_then(Value::as_str).ok_or_else(|| err("missing \"op\""))?;
    match op {
        "write" => {
            let tag = v.get("tag").and_then(Value::as_str).ok_or_else(|| err("write needs \"tag\""))?;
            let value = v.get("v").cloned().ok_or_else(|| err("write needs \"v\""))?;
            Ok(Command::Write { tag: tag.to_string(), v: value, id })
        }
        "read" => {
            let tags = v
                .get("tags")
                .and_then(Value::as_array)
                .ok_or_else(|| err("read needs \"tags\": [..]"))?
                .iter()
                .map(|t| t.as_str().map(String::from).ok_or_else(|| err("tags are strings")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Command::Read { tags, id })
        }
        "browse" => {
            let path = v.get("path").and_then(Value::as_str).unwrap_or("**").to_string();
            Ok(Command::Browse { path, id })
        }
        "ack" => {
            let seq = v.get("seq").and_then(Value::as_u64).ok_or_else(|| err("ack needs \"seq\": N"))?;
            Ok(Command::Ack { seq })
        }
        other => Err(err(&format!("unknown op `{other}`"))),
    }
}

/// The variant a JSON value makes for a tag of `data_type`.
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

/// The answer to a read.
pub fn read_result(store: &TagStore, tags: &[String], id: Value) -> Value {
    let values: Vec<Value> = tags
        .iter()
        .map(|t| match store.id_of(t).and_then(|i| store.get(i)) {
            Some(v) => serde_json::to_value(OutValue::new(t, &v)).unwrap_or(Value::Null),
            None => json!({"tag": t, "v": null, "q": status_name(StatusCode::BadNodeIdUnknown)}),
        })
        .collect();
    json!({"op": "read-result", "id": id, "values": values})
}

/// The answer to a browse.
pub fn browse_result(store: &TagStore, pattern: &str, id: Value) -> Value {
    let tags: Vec<Value> = store
        .defs()
        .filter_map(|(_, d)| {
            let path = d.path();
            crate::config::glob_match(pattern, &path).then(|| {
                json!({"tag": path, "type": format!("{:?}", d.data_type), "writable": d.access == fxgate_core::AccessMode::ReadWrite})
            })
        })
        .collect();
    json!({"op": "browse-result", "id": id, "tags": tags})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names() {
        assert_eq!(status_name(StatusCode::Good), "Good");
        assert_eq!(status_name(StatusCode::BadNoCommunication), "Bad_NoCommunication");
        assert_eq!(status_name(StatusCode::UncertainLastUsableValue), "Uncertain_LastUsableValue");
    }

    #[test]
    fn commands_parse_and_errors_keep_the_id() {
        assert_eq!(
            parse_command(br#"{"op":"write","tag":"Demo/Setpoint","v":21.5,"id":7}"#, false),
            Ok(Command::Write { tag: "Demo/Setpoint".into(), v: json!(21.5), id: json!(7) })
        );
        assert_eq!(parse_command(br#"{"op":"ack","seq":9}"#, false), Ok(Command::Ack { seq: 9 }));
        assert_eq!(parse_command(br#"{"op":"nope","id":"x"}"#, false).unwrap_err().0, json!("x"));
        assert!(parse_command(b"not json", false).is_err());
        let mut cbor = Vec::new();
        ciborium::into_writer(&json!({"op":"read","tags":["A/b"],"id":1}), &mut cbor).unwrap();
        assert_eq!(parse_command(&cbor, true), Ok(Command::Read { tags: vec!["A/b".into()], id: json!(1) }));
    }

    #[test]
    fn json_to_tag_types() {
        assert_eq!(to_variant(&json!(42.5), DataTypeId::Double), Ok(Variant::Double(42.5)));
        assert_eq!(to_variant(&json!(70000), DataTypeId::Int16), Err(StatusCode::BadOutOfRange));
        assert_eq!(to_variant(&json!(2.5), DataTypeId::Int32), Err(StatusCode::BadTypeMismatch));
        assert_eq!(to_variant(&json!("x"), DataTypeId::Double), Err(StatusCode::BadTypeMismatch));
        assert_eq!(to_variant(&json!(true), DataTypeId::Boolean), Ok(Variant::Boolean(true)));
    }
}
