//! The messages: tag changes out (`{"seq","ts","values"}`), commands in
//! (`write`, `read`, `browse`, `ack`) and their answers, as JSON text or CBOR binary.

use fxgate_config::WsEncoding;
use fxgate_core::TagStore;
use fxgate_forward::value::{encode, rfc3339, status_name};
use fxgate_forward::{Encoding, Sample, TagFilter};
use opcua::types::{DateTime, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};

/// The encoding of `[[websocket]] encoding`.
pub fn encoding(enc: WsEncoding) -> Encoding {
    match enc {
        WsEncoding::Json => Encoding::Json,
        WsEncoding::Cbor => Encoding::Cbor,
    }
}

#[derive(Serialize)]
struct Out<'a> {
    seq: u64,
    ts: String,
    values: Vec<Sample<'a>>,
}

/// A data message.
pub fn data_message(seq: u64, values: Vec<Sample<'_>>, enc: Encoding) -> Vec<u8> {
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

/// The answer to a read.
pub fn read_result(store: &TagStore, tags: &[String], id: Value) -> Value {
    let values: Vec<Value> = tags
        .iter()
        .map(|t| match store.id_of(t).and_then(|i| store.get(i)) {
            Some(v) => serde_json::to_value(Sample::new(t, &v)).unwrap_or(Value::Null),
            None => json!({"tag": t, "v": null, "q": status_name(StatusCode::BadNodeIdUnknown)}),
        })
        .collect();
    json!({"op": "read-result", "id": id, "values": values})
}

/// The answer to a browse: the tags whose browse path matches the glob `pattern` (none if
/// the pattern cannot be compiled).
pub fn browse_result(store: &TagStore, pattern: &str, id: Value) -> Value {
    let filter = TagFilter::new([pattern]).ok();
    let tags: Vec<Value> = store
        .defs()
        .filter_map(|(_, d)| {
            let path = d.path();
            filter.as_ref().is_some_and(|f| f.is_match(&path)).then(|| {
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
}
