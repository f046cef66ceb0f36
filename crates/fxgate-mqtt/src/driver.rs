//! The client's loop: the broker connections' events, the store's changes, writes and
//! requests in; messages out through the store-and-forward outbox to the active broker.
//!
//! Two brokers (a redundant line): both are connected and subscribed at once; what arrives
//! twice is taken once ([`Dedupe`]). fxgate publishes to the primary while it is connected,
//! else to the backup, and moves back to the primary once it has been connected for
//! `fail_back_s`. At start a backup that answered first waits up to [`PRIMARY_GRACE`] for the
//! primary.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fxgate_core::{TagStore, WriteReceiver, WriteRequest};
use fxgate_forward::value::json_value;
use fxgate_lines::{LineState, LineStatus};
use opcua::types::{StatusCode, Variant};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{PayloadFormat, Qos};
use crate::conn::{ConnEvent, Publish};
use crate::dedupe::Dedupe;
use crate::metrics::ClientMetrics;
use crate::northbound::Publisher;
use crate::outbox::Outbox;
use crate::requests::Requests;
use crate::southbound::Southbound;
use crate::wire::Message;

/// How long, at start, a backup that connected first waits for the primary.
pub const PRIMARY_GRACE: Duration = Duration::from_secs(2);
/// The housekeeping tick (stale values, fail-back, publishing intervals).
const TICK: Duration = Duration::from_millis(50);

struct Live {
    tx: mpsc::Sender<Publish>,
    target: String,
    since: Instant,
}

/// The parts of a client the driver runs.
pub struct Driver {
    /// The client's name.
    pub name: String,
    /// The line's status folder.
    pub status: LineStatus,
    /// Two brokers.
    pub redundant: bool,
    /// Connect timeout of the line: bounds the start grace.
    pub grace: Duration,
    /// Primary stable time before fail-back.
    pub fail_back: Duration,
    /// QoS of the commands.
    pub publish_qos: Qos,
    /// The outgoing messages.
    pub outbox: Outbox,
    /// The tags fed by topics.
    pub south: Southbound,
    /// The `[[mqtt.publish]]` entries.
    pub publishers: Vec<Publisher>,
    /// The request topic and its handler.
    pub requests: Option<(String, Requests)>,
    /// The store.
    pub store: Arc<TagStore>,
    /// Metrics.
    pub metrics: ClientMetrics,
}

/// The driver's inputs.
pub struct Inputs {
    /// From the connections.
    pub events: mpsc::Receiver<ConnEvent>,
    /// Answers to requests.
    pub answers: mpsc::Receiver<Message>,
    /// Writes to the southbound tags.
    pub writes: Option<WriteReceiver>,
    /// The store's changes.
    pub changes: broadcast::Receiver<fxgate_core::store::ChangeBatch>,
}

struct State {
    conns: [Option<Live>; 2],
    active: Option<usize>,
    started: Instant,
    dedupe: Dedupe,
    last_error: [String; 2],
}

impl Driver {
    /// Runs until `shutdown`; the outbox is saved at the end.
    pub async fn run(mut self, mut inp: Inputs, shutdown: CancellationToken) {
        let mut st = State { conns: [None, None], active: None, started: Instant::now(), dedupe: Dedupe::default(), last_error: Default::default() };
        for p in &mut self.publishers {
            p.snapshot(&self.store);
        }
        self.show(&st);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                e = inp.events.recv() => match e {
                    Some(e) => self.on_event(&mut st, e),
                    None => break,
                },
                Some(a) = inp.answers.recv() => { self.outbox.push(&a); }
                Some(w) = recv_write(&mut inp.writes) => self.on_write(&st, w),
                c = inp.changes.recv() => match c {
                    Ok(batch) => self.publishers.iter_mut().for_each(|p| p.collect(&batch)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(mqtt = %self.name, batches = n, "fell behind the tag store; publishing a full image");
                        for p in &mut self.publishers {
                            p.snapshot(&self.store);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {
                    self.south.check_stale();
                    self.outbox.expire_writes();
                }
            }
            self.produce();
            self.choose(&mut st);
            self.pump(&mut st);
        }
        self.status.set(LineState::Stopped, "");
        self.outbox.save();
    }

    fn on_event(&mut self, st: &mut State, e: ConnEvent) {
        match e {
            ConnEvent::Up { slot, target, tx } => {
                tracing::info!(mqtt = %self.name, %target, "MQTT session up");
                st.conns[slot] = Some(Live { tx, target, since: Instant::now() });
                self.show(st);
            }
            ConnEvent::Message { slot, msg } => {
                self.metrics.received.inc();
                if self.redundant && st.dedupe.is_duplicate(slot, &msg) {
                    self.metrics.duplicates.inc();
                    return;
                }
                if let Some((topic, r)) = &self.requests {
                    if *topic == msg.topic {
                        r.handle(msg.payload.clone());
                    }
                }
                self.south.message(&msg);
            }
            ConnEvent::Taken { slot, seq } => {
                if st.active == Some(slot) {
                    self.outbox.taken(seq);
                }
            }
            ConnEvent::Down { slot, error } => {
                let name = if slot == 0 { "primary" } else { "backup" };
                let target = st.conns[slot].take().map(|l| l.target).unwrap_or_else(|| name.to_string());
                tracing::warn!(mqtt = %self.name, %target, %error, "MQTT session ended");
                let text = format!("{target}: {error}");
                self.status.error(&text);
                st.last_error[slot] = text;
                st.dedupe.forget(slot);
                if st.active == Some(slot) {
                    st.active = None;
                    self.outbox.rewind();
                }
                if st.conns.iter().all(Option::is_none) {
                    self.south.lost();
                }
                self.show(st);
            }
        }
    }

    fn on_write(&mut self, st: &State, w: WriteRequest) {
        let Some((topic, format)) = self.south.command(w.tag).cloned() else {
            w.answer(StatusCode::BadNotWritable);
            return;
        };
        if st.active.is_none() {
            w.answer(StatusCode::BadNoCommunication);
            return;
        }
        let payload = match format {
            PayloadFormat::Raw => match &w.value {
                Variant::String(s) => s.as_ref().to_string(),
                v => json_value(v).to_string(),
            },
            PayloadFormat::Json => serde_json::json!({ "value": json_value(&w.value) }).to_string(),
        };
        let msg = Message { topic, payload: Bytes::from(payload), qos: self.publish_qos, retain: false };
        self.outbox.push_write(&msg, w);
    }

    /// Moves what the publishers have due into the outbox.
    fn produce(&mut self) {
        let now = Instant::now();
        let mut out = Vec::new();
        for p in &mut self.publishers {
            p.messages(now, &mut out);
        }
        for m in &out {
            self.outbox.push(m);
        }
    }

    /// Picks the broker to publish to.
    fn choose(&mut self, st: &mut State) {
        let up = |s: usize| st.conns[s].is_some();
        let want = match st.active {
            Some(0) if up(0) => Some(0),
            Some(1) if up(1) => {
                let stable = st.conns[0].as_ref().is_some_and(|l| l.since.elapsed() >= self.fail_back);
                Some(if stable { 0 } else { 1 })
            }
            _ if up(0) => Some(0),
            _ if up(1) && (!self.redundant || st.started.elapsed() >= self.grace.min(PRIMARY_GRACE)) => Some(1),
            _ => None,
        };
        if want != st.active {
            if let Some(w) = want {
                tracing::info!(mqtt = %self.name, to = %st.conns[w].as_ref().map(|l| l.target.as_str()).unwrap_or(""), "publishing to this broker now");
            }
            st.active = want;
            self.outbox.rewind();
            self.show(st);
        }
    }

    /// Sends what the window allows to the active broker.
    fn pump(&mut self, st: &mut State) {
        let Some(a) = st.active else { return };
        let Some(live) = st.conns[a].as_ref() else { return };
        while let Some((seq, msg)) = self.outbox.next_to_send() {
            if live.tx.try_send(Publish { msg, seq }).is_err() {
                // The connection is ending; its Down event rewinds the outbox.
                break;
            }
        }
    }

    fn show(&self, st: &State) {
        let mut parts = Vec::new();
        for (slot, c) in st.conns.iter().enumerate().take(if self.redundant { 2 } else { 1 }) {
            let role = if st.active == Some(slot) { "active" } else { "standby" };
            match c {
                Some(l) => parts.push(format!("{} ({role})", l.target)),
                None if self.redundant => parts.push(format!("{}: connecting", if slot == 0 { "primary" } else { "backup" })),
                None => {}
            }
        }
        let state = if st.conns.iter().any(Option::is_some) { LineState::Connected } else { LineState::Connecting };
        self.status.set(state, &parts.join(", "));
    }
}

async fn recv_write(w: &mut Option<WriteReceiver>) -> Option<WriteRequest> {
    match w {
        Some(w) => w.recv().await,
        None => std::future::pending().await,
    }
}
