//! The client's loop: the broker connections' events, the store's changes, writes and
//! requests in; messages out through the store-and-forward outbox to the active broker.
//!
//! Two brokers (a redundant line): both are connected and subscribed at once; what arrives
//! twice is taken once ([`Dedupe`]). fxgate publishes to the primary while it is connected,
//! else to the backup, and moves back to the primary once it has been connected for
//! `fail_back_s`. At start a backup that answered first waits up to [`PRIMARY_GRACE`] for the
//! primary.

use std::collections::VecDeque;
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
use crate::sparkplug::EdgeNode;
use crate::wire::Message;

/// How long, at start, a backup that connected first waits for the primary.
pub const PRIMARY_GRACE: Duration = Duration::from_secs(2);
/// The sequence number of births (not in the outbox: their acknowledgement releases nothing).
const BIRTH: u64 = u64::MAX;
/// The housekeeping tick (stale values, fail-back, publishing intervals).
const TICK: Duration = Duration::from_millis(50);

struct Live {
    tx: mpsc::UnboundedSender<Publish>,
    target: String,
    since: Instant,
    bd_seq: u64,
    window: usize,
}

/// The Sparkplug edge node's session state.
pub struct Spb {
    /// The node.
    pub node: EdgeNode,
    /// Whether NCMD/DCMD may write (the configured user has `write`).
    pub may_write: bool,
    /// The next `seq`.
    seq: u8,
    /// Per broker: whether the primary host's STATE says online.
    host_online: [bool; 2],
    /// When the last command error was logged.
    warned: Option<Instant>,
}

impl Spb {
    /// The session state of `node`.
    pub fn new(node: EdgeNode, may_write: bool) -> Self {
        Self { node, may_write, seq: 0, host_online: [false; 2], warned: None }
    }

    fn host_ok(&self, slot: usize) -> bool {
        self.node.state_topic().is_none() || self.host_online[slot]
    }

    fn next_seq(&mut self) -> u8 {
        let s = self.seq;
        self.seq = self.seq.wrapping_add(1);
        s
    }
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
    /// The Sparkplug edge node.
    pub sparkplug: Option<Spb>,
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
    /// Whether publishing is open (a broker active, and the primary host online).
    open: bool,
    /// Sparkplug births are due before anything else.
    need_birth: bool,
    /// This session's births not yet sent (the window was full): nothing else goes first.
    births: VecDeque<Message>,
}

impl Driver {
    /// Runs until `shutdown`; the outbox is saved at the end.
    pub async fn run(mut self, mut inp: Inputs, shutdown: CancellationToken) {
        let mut st = State { conns: [None, None], active: None, started: Instant::now(), dedupe: Dedupe::default(), open: false, need_birth: false, births: VecDeque::new() };
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
                    Ok(batch) => {
                        self.publishers.iter_mut().for_each(|p| p.collect(&batch));
                        if let Some(spb) = self.sparkplug.as_mut() {
                            spb.node.collect(&batch);
                        }
                    }
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
                    self.outbox.sync_due();
                }
                // A publishing interval ended: its messages go now, not at the next tick.
                _ = sleep_until(self.next_due()) => {}
            }
            self.choose(&mut st);
            self.produce(&st);
            self.pump(&mut st);
        }
        self.status.set(LineState::Stopped, "");
        self.outbox.save();
    }

    fn on_event(&mut self, st: &mut State, e: ConnEvent) {
        match e {
            ConnEvent::Up { slot, target, tx, bd_seq, window } => {
                tracing::info!(mqtt = %self.name, %target, window, "MQTT session up");
                st.conns[slot] = Some(Live { tx, target, since: Instant::now(), bd_seq, window });
                self.show(st);
            }
            ConnEvent::Message { slot, msg } => {
                self.metrics.received.inc();
                // The host's STATE is per broker: never a twin.
                if let Some(spb) = self.sparkplug.as_mut().filter(|s| s.node.is_state(&msg.topic)) {
                    match crate::sparkplug::state_online(&msg.payload) {
                        Some(online) => {
                            tracing::info!(mqtt = %self.name, broker = slot, online, "Sparkplug primary host STATE");
                            spb.host_online[slot] = online;
                        }
                        None => {
                            self.metrics.decode_errors.inc();
                        }
                    }
                    return;
                }
                if self.redundant && st.dedupe.is_duplicate(slot, &msg) {
                    self.metrics.duplicates.inc();
                    return;
                }
                if let Some((topic, r)) = &self.requests {
                    if *topic == msg.topic {
                        r.handle(msg.payload.clone());
                    }
                }
                if let Some(spb) = self.sparkplug.as_mut().filter(|s| s.node.is_command(&msg.topic)) {
                    match spb.node.command(&msg.topic, &msg.payload) {
                        Ok(crate::sparkplug::Command::Rebirth) => {
                            tracing::info!(mqtt = %self.name, "Sparkplug rebirth requested");
                            st.need_birth = true;
                        }
                        Ok(crate::sparkplug::Command::Write(writes)) if spb.may_write => {
                            for (id, value) in writes {
                                let store = self.store.clone();
                                let name = self.name.clone();
                                tokio::spawn(async move {
                                    let status = store.write(id, value).await;
                                    if !status.is_good() {
                                        tracing::warn!(mqtt = %name, tag = id, %status, "Sparkplug DCMD write refused by the source");
                                    }
                                });
                            }
                        }
                        Ok(crate::sparkplug::Command::Write(_)) => tracing::warn!(mqtt = %self.name, "Sparkplug DCMD refused: the configured user has no `write` role (Bad_UserAccessDenied)"),
                        Err(e) => {
                            self.metrics.decode_errors.inc();
                            if spb.warned.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                                spb.warned = Some(Instant::now());
                                tracing::warn!(mqtt = %self.name, topic = %msg.topic, error = %e, "Sparkplug command not carried out (further ones are not logged for 10 s)");
                            }
                        }
                    }
                    return;
                }
                self.south.message(&msg);
            }
            ConnEvent::Taken { slot, seqs, refused } => {
                if st.active == Some(slot) {
                    let births = seqs.iter().chain(refused.iter().map(|(s, _)| s)).filter(|s| **s == BIRTH).count();
                    self.outbox.reserve(-(births as isize));
                    self.outbox.taken(seqs.into_iter().filter(|s| *s != BIRTH));
                    self.outbox.refused(refused);
                }
            }
            ConnEvent::Down { slot, error } => {
                let name = if slot == 0 { "primary" } else { "backup" };
                let target = st.conns[slot].take().map(|l| l.target).unwrap_or_else(|| name.to_string());
                tracing::warn!(mqtt = %self.name, %target, %error, "MQTT session ended");
                let text = format!("{target}: {error}");
                self.status.error(&text);
                st.dedupe.forget(slot);
                if let Some(spb) = self.sparkplug.as_mut() {
                    spb.host_online[slot] = false;
                }
                if st.active == Some(slot) {
                    st.active = None;
                    self.outbox.rewind();
                }
                // The line state first: whoever sees the tags turn Bad sees the line down too.
                self.show(st);
                if st.conns.iter().all(Option::is_none) {
                    self.south.lost();
                }
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

    /// When the earliest publishing interval ends, if any collects per interval.
    fn next_due(&self) -> Option<Instant> {
        let edge = self.sparkplug.as_ref().and_then(|s| s.node.due());
        self.publishers.iter().filter_map(Publisher::due).chain(edge).min()
    }

    /// Moves what the publishers have due into the outbox.
    fn produce(&mut self, st: &State) {
        let now = Instant::now();
        let mut out = Vec::new();
        for p in &mut self.publishers {
            p.messages(now, &mut out);
        }
        for m in &out {
            self.outbox.push(m);
        }
        if let Some(spb) = self.sparkplug.as_mut() {
            out.clear();
            // Kept while nobody takes them: sent later, they are history.
            spb.node.messages(now, !st.open, &mut out);
            for m in &out {
                self.outbox.push_sparkplug(m);
            }
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
            st.births.clear();
            self.outbox.rewind();
            if let Some(live) = want.and_then(|w| st.conns[w].as_ref()) {
                self.outbox.set_window(live.window);
            }
            st.open = false;
            self.show(st);
        }
        let open = st.active.is_some_and(|a| self.sparkplug.as_ref().is_none_or(|s| s.host_ok(a)));
        if open != st.open {
            st.open = open;
            if open {
                st.need_birth = true;
            } else if st.active.is_some() {
                tracing::info!(mqtt = %self.name, "Sparkplug primary host offline: publishing waits (kept for store-and-forward)");
                st.births.clear();
                self.outbox.rewind();
            }
        }
    }

    /// Sends what the window allows to the active broker: Sparkplug births first when due.
    fn pump(&mut self, st: &mut State) {
        if !st.open {
            return;
        }
        let Some(a) = st.active else { return };
        let Some(live) = st.conns[a].as_ref() else { return };
        if let Some(spb) = self.sparkplug.as_mut() {
            if st.need_birth {
                st.need_birth = false;
                spb.seq = 0;
                st.births = spb.node.births(live.bd_seq).into();
            }
            // Births are made anew for each session: they are not kept in the outbox, but
            // they count against the window (an MQTT 5 broker's Receive Maximum refuses more).
            while !st.births.is_empty() {
                if !self.outbox.has_room() {
                    return;
                }
                let Some(mut msg) = st.births.pop_front() else { break };
                msg.payload = crate::sparkplug::stamp(&msg.payload, spb.next_seq());
                self.outbox.reserve(1);
                if live.tx.send(Publish { msg, seq: BIRTH }).is_err() {
                    return;
                }
            }
        }
        while let Some((seq, mut msg, sparkplug)) = self.outbox.next_to_send() {
            if let Some(spb) = self.sparkplug.as_mut().filter(|_| sparkplug) {
                msg.payload = crate::sparkplug::stamp(&msg.payload, spb.next_seq());
            }
            if live.tx.send(Publish { msg, seq }).is_err() {
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

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn recv_write(w: &mut Option<WriteReceiver>) -> Option<WriteRequest> {
    match w {
        Some(w) => w.recv().await,
        None => std::future::pending().await,
    }
}
