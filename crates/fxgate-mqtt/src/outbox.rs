//! Store-and-forward for everything a client publishes: the messages wait in
//! `fxgate_forward`'s buffer (memory, then a spill file, bounded, the oldest dropped and
//! counted), go to the active broker in order, at most [`WINDOW`] unacknowledged at a time,
//! and leave the buffer only when the broker took them. A lost connection sends what it had
//! not acknowledged again, to whichever broker is active next.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use fxgate_core::{LogLimit, WriteRequest};
use fxgate_forward::{Buffer, Fsync};
use opcua::types::StatusCode;
use tokio::time::Instant;

use crate::config::Qos;
use crate::metrics::ClientMetrics;
use crate::wire::{Message, Refusal};

/// Most messages sent and not yet taken by the broker (less when an MQTT 5 broker's
/// Receive Maximum says so). Large enough that acknowledgements over a loaded broker do not
/// limit the rate: at 64, per-tag QoS 1 publishing stalled below 100,000 messages/s.
pub const WINDOW: usize = 1024;
/// How long a write waits for the broker to take its command.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The outgoing messages of one client.
pub struct Outbox {
    buffer: Buffer,
    next_seq: u64,
    /// Sent on the current connection: sequence number and whether the broker took it.
    inflight: VecDeque<(u64, bool)>,
    /// Writes waiting for their command to be taken.
    writes: HashMap<u64, (WriteRequest, Instant)>,
    metrics: ClientMetrics,
    persist: PathBuf,
    window: usize,
    /// The buffer-full warning, at most once per period.
    full_log: LogLimit,
    /// The broker-refused warning, likewise.
    refused_log: LogLimit,
    /// Sent outside the buffer and not yet taken (Sparkplug births): they use the window too.
    reserved: usize,
}

impl Outbox {
    /// A buffer of `max` bytes, `memory` of them in memory, spilling to `dir/spill.bin` with
    /// the `fsync` policy; what a previous run saved in `dir/pending.bin` is loaded first.
    pub fn new(max: usize, memory: usize, fsync: Fsync, dir: PathBuf, metrics: ClientMetrics) -> Self {
        // The sequence numbers only order the buffer (MQTT has its own packet ids): not kept.
        let mut buffer = Buffer::new(max, memory, dir.join("spill.bin")).with_durability(fsync, false);
        let persist = dir.join("pending.bin");
        let next_seq = match buffer.load(&persist) {
            Ok(Some(seq)) => {
                tracing::info!(path = %persist.display(), messages = buffer.len(), "MQTT: loaded the messages saved at the last shutdown");
                seq
            }
            Ok(None) => 0,
            Err(e) => {
                tracing::warn!(path = %persist.display(), error = %e, "MQTT: cannot load the messages saved at the last shutdown");
                0
            }
        };
        metrics.buffered.set(buffer.len() as i64);
        Self { buffer, next_seq, inflight: VecDeque::new(), writes: HashMap::new(), metrics, persist, window: WINDOW, full_log: LogLimit::default(), refused_log: LogLimit::default(), reserved: 0 }
    }

    /// Queues a message; returns its sequence number.
    pub fn push(&mut self, msg: &Message) -> u64 {
        self.push_record(msg, false)
    }

    /// Queues a Sparkplug message, whose `seq` is stamped when it is sent.
    pub fn push_sparkplug(&mut self, msg: &Message) -> u64 {
        self.push_record(msg, true)
    }

    fn push_record(&mut self, msg: &Message, sparkplug: bool) -> u64 {
        self.next_seq += 1;
        let dropped = self.buffer.push(self.next_seq, encode(msg, sparkplug));
        if dropped > 0 {
            self.metrics.dropped.inc_by(dropped);
            if let Some(held) = self.full_log.allow() {
                let total = self.buffer.dropped();
                tracing::warn!(dropped_total = total, lines_held_back = held, "MQTT store-and-forward buffer full: the oldest messages were dropped");
            }
        }
        self.metrics.buffered.set(self.buffer.len() as i64);
        self.next_seq
    }

    /// Queues a write's command; the write is answered when the broker took it.
    pub fn push_write(&mut self, msg: &Message, w: WriteRequest) {
        let seq = self.push(msg);
        self.writes.insert(seq, (w, Instant::now()));
    }

    /// The next message to send, if the window allows, and whether it is a Sparkplug one.
    pub fn next_to_send(&mut self) -> Option<(u64, Message, bool)> {
        if self.inflight.len() + self.reserved >= self.window {
            return None;
        }
        loop {
            let (seq, data) = self.buffer.next_unsent()?;
            self.buffer.sent(true);
            match decode(&data) {
                Some((msg, sparkplug)) => {
                    self.inflight.push_back((seq, false));
                    return Some((seq, msg, sparkplug));
                }
                None => {
                    // A record this version cannot read (a damaged spill file): dropped.
                    tracing::warn!(seq, "MQTT: an unreadable buffered message was dropped");
                    self.inflight.push_back((seq, true));
                    self.release();
                }
            }
        }
    }

    /// The broker took these messages.
    pub fn taken(&mut self, seqs: impl IntoIterator<Item = u64>) {
        let mut n = 0;
        for seq in seqs {
            // The window is in send order and acknowledgements mostly come in that order:
            // the entry is found near the front.
            if let Some(e) = self.inflight.iter_mut().find(|(s, _)| *s == seq) {
                e.1 = true;
            }
            if !self.writes.is_empty() {
                if let Some((w, _)) = self.writes.remove(&seq) {
                    w.answer(StatusCode::Good);
                }
            }
            n += 1;
        }
        self.metrics.published.inc_by(n);
        self.release();
    }

    /// The broker acknowledged these messages with a refusal (MQTT 5): they are not
    /// delivered and not sent again (the same message would be refused again); a write
    /// whose command was refused is answered with the reason.
    pub fn refused(&mut self, refused: Vec<(u64, Refusal)>) {
        let Some((_, last)) = refused.last().cloned() else { return };
        let n = refused.len() as u64;
        for (seq, refusal) in refused {
            if let Some(e) = self.inflight.iter_mut().find(|(s, _)| *s == seq) {
                e.1 = true;
            }
            if let Some((w, _)) = self.writes.remove(&seq) {
                w.answer(match refusal.code {
                    0x87 => StatusCode::BadUserAccessDenied,
                    0x97 => StatusCode::BadResourceUnavailable,
                    _ => StatusCode::BadCommunicationError,
                });
            }
        }
        self.metrics.refused.inc_by(n);
        if let Some(held) = self.refused_log.allow() {
            tracing::warn!(messages = n, reason = %last, lines_held_back = held, "MQTT broker refused messages: they are not delivered (fxgate_mqtt_refused_messages_total)");
        }
        self.release();
    }

    /// `n` messages sent outside the buffer wait for the broker (`n` < 0: taken).
    pub fn reserve(&mut self, n: isize) {
        self.reserved = self.reserved.saturating_add_signed(n);
    }

    /// Whether the window has room for one more message.
    pub fn has_room(&self) -> bool {
        self.inflight.len() + self.reserved < self.window
    }

    fn release(&mut self) {
        while let Some(&(seq, true)) = self.inflight.front() {
            self.inflight.pop_front();
            self.buffer.ack(seq);
        }
        self.metrics.buffered.set(self.buffer.len() as i64);
    }

    /// Most messages unacknowledged on the current connection.
    pub fn set_window(&mut self, window: usize) {
        self.window = window.max(1);
    }

    /// The connection changed: everything not taken goes out again.
    pub fn rewind(&mut self) {
        self.inflight.clear();
        self.reserved = 0;
        self.buffer.rewind();
    }

    /// Forces the spilled messages to the disk when the fsync policy says so.
    pub fn sync_due(&mut self) {
        self.buffer.sync_due();
    }

    /// Answers Bad_Timeout to writes whose command waited too long (it may still be
    /// delivered later).
    pub fn expire_writes(&mut self) {
        let late: Vec<u64> = self.writes.iter().filter(|(_, (_, t))| t.elapsed() >= WRITE_TIMEOUT).map(|(s, _)| *s).collect();
        for s in late {
            if let Some((w, _)) = self.writes.remove(&s) {
                w.answer(StatusCode::BadTimeout);
            }
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// At shutdown: keeps what was not sent for the next start.
    pub fn save(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        match self.buffer.save(&self.persist, self.next_seq) {
            Ok(n) => tracing::info!(path = %self.persist.display(), messages = n, "MQTT: unsent messages saved for the next start"),
            Err(e) => tracing::warn!(path = %self.persist.display(), error = %e, "MQTT: cannot save the unsent messages"),
        }
    }
}

/// A message as a buffer record: flags (QoS, retain, Sparkplug), topic length, topic, payload.
fn encode(msg: &Message, sparkplug: bool) -> Bytes {
    let mut b = BytesMut::with_capacity(3 + msg.topic.len() + msg.payload.len());
    b.put_u8(u8::from(msg.qos) | if msg.retain { 0x80 } else { 0 } | if sparkplug { 0x40 } else { 0 });
    b.put_u16(msg.topic.len() as u16);
    b.put_slice(msg.topic.as_bytes());
    b.put_slice(&msg.payload);
    b.freeze()
}

fn decode(data: &Bytes) -> Option<(Message, bool)> {
    let flags = *data.first()?;
    let len = u16::from_be_bytes([*data.get(1)?, *data.get(2)?]) as usize;
    let topic = std::str::from_utf8(data.get(3..3 + len)?).ok()?.to_string();
    let qos = Qos::try_from(flags & 0x03).ok()?;
    Some((Message { topic, payload: data.slice(3 + len..), qos, retain: flags & 0x80 != 0 }, flags & 0x40 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(topic: &str, p: &'static str) -> Message {
        Message { topic: topic.into(), payload: Bytes::from_static(p.as_bytes()), qos: Qos::ExactlyOnce, retain: true }
    }

    #[test]
    fn records_roundtrip() {
        let msg = m("fxgate/Demo/Sine", "{\"v\":1}");
        assert_eq!(decode(&encode(&msg, true)), Some((msg.clone(), true)));
        assert_eq!(decode(&encode(&msg, false)), Some((msg, false)));
        assert_eq!(decode(&Bytes::from_static(&[1, 0, 9, b'a'])), None);
    }

    #[test]
    fn taken_out_of_order_releases_in_order_and_a_rewind_resends_the_rest() {
        let dir = std::env::temp_dir().join(format!("fxgate-mqtt-outbox-{}", std::process::id()));
        let mut o = Outbox::new(1 << 20, 1 << 20, Fsync::Never, dir.clone(), ClientMetrics::default());
        for i in 0..3 {
            o.push(&m("t", ["a", "b", "c"][i]));
        }
        let s: Vec<u64> = (0..3).map(|_| o.next_to_send().unwrap().0).collect();
        assert!(o.next_to_send().is_none());
        o.taken([s[1]]);
        assert_eq!(o.len(), 3, "b is held until a is taken");
        o.taken([s[0]]);
        assert_eq!(o.len(), 1);
        o.rewind();
        let (seq, msg, _) = o.next_to_send().unwrap();
        assert_eq!((seq, &msg.payload[..]), (s[2], &b"c"[..]));
        o.save();
        let mut again = Outbox::new(1 << 20, 1 << 20, Fsync::Never, dir.clone(), ClientMetrics::default());
        assert_eq!(again.next_to_send().map(|(_, m, _)| m.payload), Some(Bytes::from_static(b"c")));
        assert_eq!(again.push(&m("t", "d")), s[2] + 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
