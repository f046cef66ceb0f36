//! One broker connection: the MQTT session on a line's stream (CONNECT/CONNACK, the
//! subscriptions, keep-alive, and the acknowledgements of QoS 1 and 2 both ways). The
//! driver sees messages in, the acknowledgement of what it published, and the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fxgate_lines::LineStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::outbox::WINDOW;
use crate::config::Qos;
use crate::error::ConnError;
use crate::session::{Send, SessionState};
use crate::wire::{Codec, Incoming, Message, Outgoing, Refusal, Will};

/// What a connection reports to the driver (`slot` 0 is the primary broker, 1 the backup).
#[derive(Debug)]
pub enum ConnEvent {
    /// The session is up: publish through `tx`.
    Up {
        /// Which broker.
        slot: usize,
        /// Where it goes (`primary 127.0.0.1:1883`).
        target: String,
        /// The connection's publish queue.
        tx: mpsc::UnboundedSender<Publish>,
        /// The Sparkplug bdSeq of its NDEATH (0 without Sparkplug).
        bd_seq: u64,
        /// Most QoS ≥ 1 publishes the broker takes unacknowledged.
        window: usize,
    },
    /// A message from the broker.
    Message {
        /// Which broker.
        slot: usize,
        /// The message.
        msg: Message,
    },
    /// The broker took what was published with these sequence numbers (at once for QoS 0),
    /// in the order it acknowledged them: one event per write or read, not per message.
    Taken {
        /// Which broker.
        slot: usize,
        /// The driver's sequence numbers.
        seqs: Vec<u64>,
        /// Those the broker acknowledged with a refusal (MQTT 5): not delivered.
        refused: Vec<(u64, Refusal)>,
    },
    /// The session ended.
    Down {
        /// Which broker.
        slot: usize,
        /// Why.
        error: ConnError,
    },
}

/// A message the driver publishes, with its sequence number.
#[derive(Debug)]
pub struct Publish {
    /// The message.
    pub msg: Message,
    /// The driver's sequence number, reported back in [`ConnEvent::Taken`].
    pub seq: u64,
}

/// What every session of one client sends at the start.
#[derive(Debug, Clone)]
pub struct SessionParams {
    /// 3.1.1 or 5.
    pub codec: Codec,
    /// Client identifier.
    pub client_id: String,
    /// Keep-alive.
    pub keep_alive: Duration,
    /// Clean session.
    pub clean: bool,
    /// MQTT 5 with a persistent session: how long the broker keeps it, s.
    pub session_expiry: Option<u32>,
    /// User name and password.
    pub login: Option<(String, String)>,
    /// Subscriptions.
    pub filters: Vec<(String, Qos)>,
    /// The Last Will.
    pub will: WillPlan,
}

/// The Last Will of each session.
#[derive(Debug, Clone)]
pub enum WillPlan {
    /// None.
    None,
    /// `offline` retained on this status topic (and `online` once connected).
    Status(String),
    /// The Sparkplug NDEATH on this topic, with the next birth/death sequence number.
    Sparkplug {
        /// The NDEATH topic.
        topic: String,
        /// The bdSeq of the next session (taken modulo 256).
        next: Arc<AtomicU64>,
    },
}

/// The acknowledgements of one write or read, reported as one [`ConnEvent::Taken`].
#[derive(Default)]
struct Acks {
    taken: Vec<u64>,
    refused: Vec<(u64, Refusal)>,
}

/// Payloads of the status topic.
const ONLINE: &[u8] = b"online";
const OFFLINE: &[u8] = b"offline";
/// Most packets written in one go.
const WRITE_BATCH: usize = 256;
/// The write buffer's capacity kept between writes (more is given back).
const WBUF_KEEP: usize = 4 << 20;

struct Session<'a> {
    slot: usize,
    params: Arc<SessionParams>,
    rd: ReadHalf<LineStream>,
    wr: WriteHalf<LineStream>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// The packet ids in flight both ways, kept across connections of a persistent session.
    state: &'a mut SessionState,
    last_sent: Instant,
    ping_sent: Option<Instant>,
    events: mpsc::Sender<ConnEvent>,
    /// This session's Will (published too when it ends cleanly).
    will: Option<Will>,
    bd_seq: u64,
    /// Most QoS ≥ 1 publishes unacknowledged: [`WINDOW`], or less when an MQTT 5 broker's
    /// Receive Maximum says so.
    window: usize,
}

/// Runs the session on `stream` until it breaks or `shutdown`; reports through `events`.
/// `state` is this broker's: a persistent session resumes what the last connection left.
pub async fn run(slot: usize, target: String, stream: LineStream, params: Arc<SessionParams>, state: &mut SessionState, events: mpsc::Sender<ConnEvent>, shutdown: CancellationToken) -> Result<(), ConnError> {
    let (rd, wr) = tokio::io::split(stream);
    let mut s = Session {
        slot,
        params,
        rd,
        wr,
        rbuf: BytesMut::with_capacity(64 * 1024),
        wbuf: BytesMut::with_capacity(64 * 1024),
        state,
        last_sent: Instant::now(),
        ping_sent: None,
        events,
        will: None,
        bd_seq: 0,
        window: WINDOW,
    };
    match &s.params.will {
        WillPlan::None => {}
        WillPlan::Status(t) => s.will = Some(Will { topic: t.clone(), payload: Bytes::from_static(OFFLINE), retain: true }),
        WillPlan::Sparkplug { topic, next } => {
            s.bd_seq = next.fetch_add(1, Ordering::Relaxed) % 256;
            s.will = Some(crate::sparkplug::death(topic, s.bd_seq));
        }
    }
    let connack_wait = s.params.keep_alive.clamp(Duration::from_secs(3), Duration::from_secs(30));
    tokio::select! {
        _ = shutdown.cancelled() => return Ok(()),
        r = tokio::time::timeout(connack_wait, s.handshake()) => r.map_err(|_| ConnError::NoConnAck(connack_wait))??,
    }
    // Unbounded: the driver's window bounds it (every queued message is unacknowledged in
    // the outbox), plus one session's births.
    let (tx, mut rx) = mpsc::unbounded_channel();
    if s.events.send(ConnEvent::Up { slot, target, tx, bd_seq: s.bd_seq, window: s.window }).await.is_err() {
        return Ok(());
    }
    let r = s.serve(&mut rx, &shutdown).await;
    if r.is_ok() {
        // A clean end: the status goes offline (a Will only fires on a lost connection).
        s.goodbye().await;
    }
    r
}

impl Session<'_> {
    async fn handshake(&mut self) -> Result<(), ConnError> {
        let p = self.params.clone();
        let will = self.will.clone();
        let keep_alive = p.keep_alive.as_secs().min(u64::from(u16::MAX)) as u16;
        let session_expiry = if p.clean { None } else { p.session_expiry };
        self.send(Outgoing::Connect { client_id: p.client_id.clone(), keep_alive, clean: p.clean, will, login: p.login.clone(), session_expiry })?;
        self.flush().await?;
        match self.read().await? {
            Incoming::ConnAck { refusal: None, receive_max, session_present } => {
                // The status topic's `online` below takes one of the broker's slots.
                self.window = receive_max.map_or(WINDOW, |m| usize::from(m).saturating_sub(1).clamp(1, WINDOW));
                let again = self.state.begin(!p.clean, session_present);
                if !again.is_empty() {
                    tracing::info!(broker = self.slot, messages = again.len(), "MQTT session resumed: completing the publishes in flight with their packet ids");
                }
                for packet in again {
                    self.send(packet)?;
                }
            }
            Incoming::ConnAck { refusal: Some(refusal), .. } => return Err(ConnError::Refused(refusal)),
            other => return Err(ConnError::Protocol(format!("expected CONNACK, got {other:?}"))),
        }
        if !p.filters.is_empty() {
            let pkid = self.state.pkid();
            self.send(Outgoing::Subscribe { pkid, filters: p.filters.clone() })?;
        }
        if let WillPlan::Status(t) = &p.will {
            let pkid = self.state.pkid();
            let msg = Message { topic: t.clone(), payload: Bytes::from_static(ONLINE), qos: Qos::AtLeastOnce, retain: true };
            self.send(Outgoing::Publish { msg, pkid, dup: false })?;
        }
        self.flush().await
    }

    async fn serve(&mut self, rx: &mut mpsc::UnboundedReceiver<Publish>, shutdown: &CancellationToken) -> Result<(), ConnError> {
        let keep_alive = self.params.keep_alive;
        let mut tick = tokio::time::interval(Duration::from_millis(500).min(keep_alive / 2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                p = rx.recv() => {
                    let Some(p) = p else { return Ok(()) };
                    let mut acks = Acks::default();
                    self.publish(p, &mut acks)?;
                    for _ in 1..WRITE_BATCH {
                        let Ok(p) = rx.try_recv() else { break };
                        self.publish(p, &mut acks)?;
                    }
                    self.flush().await?;
                    self.report(acks).await;
                }
                n = self.rd.read_buf(&mut self.rbuf) => {
                    if n.map_err(ConnError::Io)? == 0 {
                        return Err(ConnError::Closed);
                    }
                    let mut acks = Acks::default();
                    while let Some(packet) = self.params.codec.decode(&mut self.rbuf)? {
                        self.incoming(packet, &mut acks).await?;
                    }
                    self.report(acks).await;
                    self.flush().await?;
                }
                _ = tick.tick() => {
                    if let Some(t) = self.ping_sent {
                        if t.elapsed() >= keep_alive {
                            return Err(ConnError::NoPingResp(keep_alive));
                        }
                    } else if self.last_sent.elapsed() >= keep_alive.mul_f32(0.75) {
                        self.send(Outgoing::PingReq)?;
                        self.ping_sent = Some(Instant::now());
                        self.flush().await?;
                    }
                }
            }
        }
    }

    fn publish(&mut self, p: Publish, acks: &mut Acks) -> Result<(), ConnError> {
        match self.state.publish(p.seq, p.msg, !self.params.clean) {
            Send::Packet { packet, taken: now } => {
                if now {
                    acks.taken.push(p.seq);
                }
                self.send(packet)
            }
            Send::Taken => {
                acks.taken.push(p.seq);
                Ok(())
            }
            Send::InFlight => Ok(()),
        }
    }

    async fn incoming(&mut self, packet: Incoming, acks: &mut Acks) -> Result<(), ConnError> {
        match packet {
            Incoming::Publish { msg, pkid } => match msg.qos {
                Qos::AtMostOnce => self.event(ConnEvent::Message { slot: self.slot, msg }).await,
                Qos::AtLeastOnce => {
                    self.event(ConnEvent::Message { slot: self.slot, msg }).await;
                    self.send(Outgoing::PubAck(pkid))?;
                }
                Qos::ExactlyOnce => {
                    if self.state.incoming_qos2(pkid) {
                        self.event(ConnEvent::Message { slot: self.slot, msg }).await;
                    }
                    self.send(Outgoing::PubRec(pkid))?;
                }
            },
            Incoming::PubRel(pkid) => {
                self.state.released(pkid);
                self.send(Outgoing::PubComp(pkid))?;
            }
            Incoming::PubAck(pkid, None) | Incoming::PubComp(pkid) => {
                if let Some(seq) = self.state.completed(pkid) {
                    acks.taken.push(seq);
                }
            }
            // Refused: the exchange ends here (MQTT 5 §4.3.3: no PUBREL after a refusing PUBREC).
            Incoming::PubAck(pkid, Some(refusal)) | Incoming::PubRec(pkid, Some(refusal)) => {
                if let Some(seq) = self.state.completed(pkid) {
                    acks.refused.push((seq, refusal));
                }
            }
            Incoming::PubRec(pkid, None) => {
                self.state.received(pkid);
                self.send(Outgoing::PubRel(pkid))?;
            }
            Incoming::SubAck { refused, .. } => {
                for i in refused {
                    if let Some((f, _)) = self.params.filters.get(i) {
                        return Err(ConnError::SubscriptionRefused(f.clone()));
                    }
                }
            }
            Incoming::PingResp => self.ping_sent = None,
            Incoming::Disconnect => return Err(ConnError::BrokerDisconnect),
            Incoming::ConnAck { .. } | Incoming::Unexpected => return Err(ConnError::Protocol("unexpected packet from the broker".into())),
        }
        Ok(())
    }

    async fn goodbye(&mut self) {
        if let Some(w) = self.will.clone() {
            let msg = Message { topic: w.topic, payload: w.payload, qos: Qos::AtMostOnce, retain: w.retain };
            let _ = self.send(Outgoing::Publish { msg, pkid: 0, dup: false });
        }
        let _ = self.send(Outgoing::Disconnect);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.flush()).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.wr.shutdown()).await;
    }

    async fn report(&self, acks: Acks) {
        if !acks.taken.is_empty() || !acks.refused.is_empty() {
            self.event(ConnEvent::Taken { slot: self.slot, seqs: acks.taken, refused: acks.refused }).await;
        }
    }

    async fn event(&self, e: ConnEvent) {
        // The driver ends after its connections; a closed channel only means shutdown.
        let _ = self.events.send(e).await;
    }

    fn send(&mut self, p: Outgoing) -> Result<(), ConnError> {
        self.params.codec.encode(p, &mut self.wbuf)?;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ConnError> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        // Written from the buffer, which keeps its capacity for the next packets (a batch
        // message is often most of a megabyte), unless one outsized message grew it.
        self.wr.write_all(&self.wbuf).await.map_err(ConnError::Io)?;
        self.wbuf.clear();
        if self.wbuf.capacity() > WBUF_KEEP {
            self.wbuf = BytesMut::with_capacity(WBUF_KEEP);
        }
        self.wr.flush().await.map_err(ConnError::Io)?;
        self.last_sent = Instant::now();
        Ok(())
    }

    async fn read(&mut self) -> Result<Incoming, ConnError> {
        loop {
            if let Some(p) = self.params.codec.decode(&mut self.rbuf)? {
                return Ok(p);
            }
            if self.rd.read_buf(&mut self.rbuf).await.map_err(ConnError::Io)? == 0 {
                return Err(ConnError::Closed);
            }
        }
    }
}
