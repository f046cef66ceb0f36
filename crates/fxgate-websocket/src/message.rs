//! The messages on top of the WebSocket (seed 001 §5.1.1.6 `OnWebSocketMessage`, §5.1.1.7
//! `SendMessage` carry them; their content is fxgate's): tag changes out
//! (`{"seq","ts","values"}`, written by `fxgate_forward::message`), commands in (`write`, `read`, `browse`, `ack`) and their
//! answers, as JSON text or CBOR binary. The values inside are `fxgate_forward`'s.

use crate::config::WsEncoding;
use fxgate_core::TagStore;
use fxgate_forward::value::status_name;
use fxgate_forward::{Encoding, Sample, TagFilter};
use opcua::types::StatusCode;
use serde_json::{json, Value};

/// The encoding of `[[websocket]] encoding`.
pub fn encoding(enc: WsEncoding) -> Encoding {
    match enc {
        WsEncoding::Json => Encoding::Json,
        WsEncoding::Cbor => Encoding::Cbor,
    }
}

/// A command from the server (fields as in the message; `id` is echoed in the answer).
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Write `v` to `tag`.
    Write {
        /// The tag's browse path.
        tag: String,
        /// The value, converted to the tag's data type.
        v: Value,
        /// Echoed in the answer.
        id: Value,
    },
    /// Read tags.
    Read {
        /// The tags' browse paths.
        tags: Vec<String>,
        /// Echoed in the answer.
        id: Value,
    },
    /// List tags matching a glob.
    Browse {
        /// The glob (`**` when the message has none).
        path: String,
        /// Echoed in the answer.
        id: Value,
    },
    /// Everything up to `seq` arrived.
    Ack {
        /// The last sequence number received.
        seq: u64,
    },
}

/// A message from the server that is no command, answered with `{"op":"error","id","error"}`.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct BadCommand {
    /// The message's `id` (`null` if it had none).
    pub id: Value,
    /// What is wrong with it.
    pub kind: BadCommandKind,
}

/// What is wrong with a message from the server; the text goes back to the server.
#[derive(Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BadCommandKind {
    /// A binary message that is not CBOR.
    #[error("not CBOR: {0}")]
    NotCbor(String),
    /// A text message that is not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// No `op`.
    #[error("missing \"op\"")]
    NoOp,
    /// A write without `tag`.
    #[error("write needs \"tag\"")]
    WriteTag,
    /// A write without `v`.
    #[error("write needs \"v\"")]
    WriteValue,
    /// A read without a `tags` array.
    #[error("read needs \"tags\": [..]")]
    ReadTags,
    /// A read whose `tags` are not all strings.
    #[error("tags are strings")]
    TagNotString,
    /// An ack without a numeric `seq`.
    #[error("ack needs \"seq\": N")]
    AckSeq,
    /// An `op` that is none of `write`, `read`, `browse`, `ack`.
    #[error("unknown op `{0}`")]
    UnknownOp(String),
}

/// Parses a command.
pub fn parse_command(data: &[u8], binary: bool) -> Result<Command, BadCommand> {
    let bad = |id: &Value, kind: BadCommandKind| BadCommand { id: id.clone(), kind };
    let v: Value = if binary {
        ciborium::from_reader(data).map_err(|e| bad(&Value::Null, BadCommandKind::NotCbor(e.to_string())))?
    } else {
        serde_json::from_slice(data).map_err(|e| bad(&Value::Null, BadCommandKind::NotJson(e.to_string())))?
    };
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let err = |kind: BadCommandKind| bad(&id, kind);
    let op = v.get("op").and_then(Value::as_str).ok_or_else(|| err(BadCommandKind::NoOp))?;
    match op {
        "write" => {
            let tag = v.get("tag").and_then(Value::as_str).ok_or_else(|| err(BadCommandKind::WriteTag))?;
            let value = v.get("v").cloned().ok_or_else(|| err(BadCommandKind::WriteValue))?;
            Ok(Command::Write { tag: tag.to_string(), v: value, id })
        }
        "read" => {
            let tags = v
                .get("tags")
                .and_then(Value::as_array)
                .ok_or_else(|| err(BadCommandKind::ReadTags))?
                .iter()
                .map(|t| t.as_str().map(String::from).ok_or_else(|| err(BadCommandKind::TagNotString)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Command::Read { tags, id })
        }
        "browse" => {
            let path = v.get("path").and_then(Value::as_str).unwrap_or("**").to_string();
            Ok(Command::Browse { path, id })
        }
        "ack" => {
            let seq = v.get("seq").and_then(Value::as_u64).ok_or_else(|| err(BadCommandKind::AckSeq))?;
            Ok(Command::Ack { seq })
        }
        other => Err(err(BadCommandKind::UnknownOp(other.to_string()))),
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
        let e = parse_command(br#"{"op":"nope","id":"x"}"#, false).unwrap_err();
        assert_eq!((e.id.clone(), e.to_string()), (json!("x"), "unknown op `nope`".to_string()));
        let e = parse_command(b"not json", false).unwrap_err();
        assert_eq!(e.id, Value::Null);
        assert!(e.to_string().starts_with("not JSON: "), "{e}");
        let e = parse_command(br#"{"op":"read","tags":["a",1],"id":2}"#, false).unwrap_err();
        assert_eq!((e.id.clone(), e.to_string()), (json!(2), "tags are strings".to_string()));
        assert_eq!(parse_command(br#"{"op":"ack"}"#, false).unwrap_err().to_string(), r#"ack needs "seq": N"#);
        assert_eq!(parse_command(br#"{"v":1}"#, false).unwrap_err().to_string(), r#"missing "op""#);
        let mut cbor = Vec::new();
        ciborium::into_writer(&json!({"op":"read","tags":["A/b"],"id":1}), &mut cbor).unwrap();
        assert_eq!(parse_command(&cbor, true), Ok(Command::Read { tags: vec!["A/b".into()], id: json!(1) }));
    }
}
