//! The sending side: changes of the selected tags into numbered messages in the
//! store-and-forward buffer (one per `publish_interval_ms`), and the buffered messages onto
//! the connection as text (JSON) or binary (CBOR) frames (seed 001 §5.1.1.7 `SendMessage`).

use bytes::Bytes;
use crate::config::WsEncoding;
use fxgate_core::ChangeBatch;
use fxgate_forward::message::data_message;
use futures::SinkExt;
use yawc::frame::Frame;

use super::{Client, Ws};
use crate::error::ConnectionError;
use opcua::types::DateTime;

impl Client {
    /// Takes the changes of the selected tags from a batch of the store.
    pub(super) fn collect(&mut self, batch: &ChangeBatch) {
        self.changes.collect(batch);
    }

    /// Everything selected, as it is now (at start and after the change stream lagged).
    pub(super) fn snapshot(&mut self) {
        self.changes.snapshot(&self.store);
    }

    /// Turns the pending changes into one message in the buffer.
    pub(super) fn publish(&mut self) {
        self.buffer.sync_due();
        if self.changes.is_empty() {
            return;
        }
        let pending = self.changes.take();
        let selection = self.changes.selection();
        self.seq += 1;
        let data = data_message(self.seq, &DateTime::now(), &pending, selection, self.encoding);
        let dropped = self.buffer.push(self.seq, Bytes::from(data));
        if dropped > 0 {
            self.state.dropped(dropped);
            if let Some(held) = self.full_log.allow() {
                tracing::warn!(websocket = %self.cfg.name, dropped_total = self.buffer.dropped(), lines_held_back = held, "store-and-forward buffer full: oldest messages dropped");
            }
        }
    }

    /// A message as a frame: text for JSON, binary for CBOR.
    pub(super) fn frame(&self, data: Bytes) -> Frame {
        match self.cfg.encoding {
            WsEncoding::Json => Frame::text(data),
            WsEncoding::Cbor => Frame::binary(data),
        }
    }

    /// Publishes the counters (sequence, buffered, dropped, bytes).
    pub(super) fn counters(&mut self) {
        self.state.counters(self.seq, self.buffer.len() as u64, self.buffer.dropped());
        self.account_bytes();
    }

    /// Moves the bytes written since the last call into the metric.
    fn account_bytes(&mut self) {
        let now = self.connector.written.load(std::sync::atomic::Ordering::Relaxed);
        self.state.bytes(now.saturating_sub(self.bytes_accounted));
        self.bytes_accounted = now;
    }

    /// Sends every buffered message not yet sent on this connection.
    pub(super) async fn flush(&mut self, s: &mut Ws) -> Result<(), ConnectionError> {
        let mut sent_any = false;
        while let Some((_, data)) = self.buffer.next_unsent() {
            s.feed(self.frame(data)).await?;
            self.buffer.sent(self.cfg.require_ack);
            self.state.sent();
            sent_any = true;
        }
        if sent_any {
            s.flush().await?;
            self.account_bytes();
        }
        Ok(())
    }
}
