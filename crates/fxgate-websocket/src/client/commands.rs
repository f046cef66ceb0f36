//! Frames from the server (seed 001 §5.1.1.6 `OnWebSocketMessage`, §5.1.1.5
//! `OnWebSocketClose`): commands (`write`, `read`, `browse`) answered on the same connection,
//! acknowledgements that release buffered messages, and the close.

use fxgate_forward::value::{self, status_name};
use opcua::types::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use yawc::frame::{Frame, OpCode};

use super::Client;
use crate::error::ConnectionError;
use crate::message::{self, Command};

impl Client {
    /// Handles a frame from the server; `Some` when the connection ends.
    pub(super) fn on_frame(&mut self, frame: Frame, replies: &mpsc::Sender<Value>) -> Option<ConnectionError> {
        match frame.opcode() {
            OpCode::Close => {
                let code = frame.close_code().map(u16::from).unwrap_or(1005);
                let reason = frame.close_reason().ok().flatten().unwrap_or_default().to_string();
                self.state.closed(code);
                Some(ConnectionError::Closed { code, reason })
            }
            OpCode::Text | OpCode::Binary => {
                let binary = frame.opcode() == OpCode::Binary;
                match message::parse_command(frame.payload(), binary) {
                    Ok(cmd) => self.command(cmd, replies),
                    Err(e) => {
                        tracing::warn!(websocket = %self.cfg.name, error = %e, "malformed message from the server");
                        let _ = replies.try_send(json!({"op": "error", "id": e.id, "error": e.to_string()}));
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn command(&mut self, cmd: Command, replies: &mpsc::Sender<Value>) {
        match cmd {
            Command::Ack { seq } => {
                self.buffer.ack(seq);
            }
            Command::Read { tags, id } => {
                let _ = replies.try_send(message::read_result(&self.store, &tags, id));
            }
            Command::Browse { path, id } => {
                let _ = replies.try_send(message::browse_result(&self.store, &path, id));
            }
            Command::Write { tag, v, id } => {
                let store = self.store.clone();
                let replies = replies.clone();
                let may_write = self.may_write;
                let name = self.cfg.name.clone();
                // A write may wait for a device; answer from its own task.
                tokio::spawn(async move {
                    let status = if !may_write {
                        StatusCode::BadUserAccessDenied
                    } else {
                        match store.id_of(&tag) {
                            None => StatusCode::BadNodeIdUnknown,
                            Some(tid) => match store.def(tid).map(|d| value::to_variant(&v, d.data_type)) {
                                Some(Ok(value)) => store.write(tid, value).await,
                                Some(Err(s)) => s,
                                None => StatusCode::BadNodeIdUnknown,
                            },
                        }
                    };
                    tracing::info!(websocket = %name, %tag, status = %status_name(status), "write from the server");
                    let _ = replies.send(json!({"op": "write-result", "id": id, "status": status_name(status)})).await;
                });
            }
        }
    }
}
