//! Commands a WebSocket server sends to fxgate's WebSocket client (JSON text frames or CBOR
//! binary frames): parsed, then carried out against a small tag store as the client does.

use std::sync::{Arc, OnceLock};

use fxgate_core::{AccessMode, TagDef, TagStore, TagStoreBuilder, TagValue};
use fxgate_forward::value::to_variant;
use fxgate_websocket::message::{browse_result, parse_command, read_result, Command};
use opcua::types::{DateTime, StatusCode, Variant};

use crate::TAG_TYPES as TYPES;

fn store() -> &'static Arc<TagStore> {
    static STORE: OnceLock<Arc<TagStore>> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut b = TagStoreBuilder::new();
        let mut values = Vec::new();
        for (i, t) in TYPES.iter().enumerate() {
            let def = TagDef {
                source: Arc::from("Sim"),
                name: format!("T{i}"),
                data_type: *t,
                access: AccessMode::ReadWrite,
                description: String::new(),
                meta: None,
            };
            if let Ok(id) = b.add_tag(def) {
                let v = TagValue {
                    value: Variant::from(i as i32),
                    status: StatusCode::Good,
                    source_timestamp: DateTime::now(),
                    server_timestamp: DateTime::null(),
                };
                values.push((id, v));
            }
        }
        let store = b.build();
        store.update(values);
        store
    })
}

/// One frame: the first byte says text (even) or binary (odd), the rest is its payload. A
/// parsed command is carried out: a write's value converted to every tag type, a read and a
/// browse answered; every answer must be JSON.
pub fn command(data: &[u8]) {
    let [kind, payload @ ..] = data else { return };
    let Ok(cmd) = parse_command(payload, kind & 1 == 1) else { return };
    let store = store();
    let answer = match cmd {
        Command::Write { v, .. } => {
            for t in TYPES {
                let _ = to_variant(&v, t);
            }
            return;
        }
        Command::Read { tags, id } => read_result(store, &tags, id),
        Command::Browse { path, id } => browse_result(store, &path, id),
        Command::Ack { .. } => return,
    };
    assert!(serde_json::to_vec(&answer).is_ok(), "an answer that is not JSON: {answer:?}");
}
