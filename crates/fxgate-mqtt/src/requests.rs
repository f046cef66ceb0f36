//! Writes from MQTT: `{"id":…, "tag":"Demo/Setpoint", "v":42.5}` on the request topic,
//! answered on the response topic with `{"id":…, "tag":…, "status":"Good"}` (the OPC UA
//! status by name), with the roles of the configured user.

use std::sync::Arc;

use bytes::Bytes;
use fxgate_core::TagStore;
use fxgate_forward::value::{status_name, to_variant};
use opcua::types::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::config::Qos;
use crate::wire::Message;

/// The request topic's handler.
#[derive(Clone)]
pub struct Requests {
    /// Where answers go.
    pub response_topic: String,
    /// Whether the configured user has the `write` role.
    pub may_write: bool,
    /// QoS of the answers.
    pub qos: Qos,
    /// The store.
    pub store: Arc<TagStore>,
    /// Answers back to the client's driver, which publishes them.
    pub answers: mpsc::Sender<Message>,
}

impl Requests {
    /// Carries out a request (in its own task: a write waits for its source) and answers it.
    pub fn handle(&self, payload: Bytes) {
        let this = self.clone();
        tokio::spawn(async move {
            let answer = this.answer(&payload).await;
            let msg = Message { topic: this.response_topic.clone(), payload: Bytes::from(answer.to_string()), qos: this.qos, retain: false };
            let _ = this.answers.send(msg).await;
        });
    }

    async fn answer(&self, payload: &[u8]) -> Value {
        let req: Value = match serde_json::from_slice(payload) {
            Ok(v) => v,
            Err(e) => return json!({"id": null, "status": status_name(StatusCode::BadDecodingError), "error": format!("not JSON: {e}")}),
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let Some(tag) = req.get("tag").and_then(Value::as_str) else {
            return json!({"id": id, "status": status_name(StatusCode::BadDecodingError), "error": "a request needs \"tag\""});
        };
        let Some(v) = req.get("v") else {
            return json!({"id": id, "tag": tag, "status": status_name(StatusCode::BadDecodingError), "error": "a request needs \"v\""});
        };
        let status = self.write(tag, v).await;
        json!({"id": id, "tag": tag, "status": status_name(status)})
    }

    async fn write(&self, tag: &str, v: &Value) -> StatusCode {
        if !self.may_write {
            return StatusCode::BadUserAccessDenied;
        }
        let Some(id) = self.store.id_of(tag) else { return StatusCode::BadNodeIdUnknown };
        let Some(def) = self.store.def(id) else { return StatusCode::BadNodeIdUnknown };
        match to_variant(v, def.data_type) {
            Ok(value) => self.store.write(id, value).await,
            Err(status) => status,
        }
    }
}
