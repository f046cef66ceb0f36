//! The receiving side of a connection: one socket, datagrams decoded and handed to the
//! readers whose ids they carry, reader timeouts, and the status folder refreshed once a
//! second. Bad datagrams are counted and logged at most once per 10 s; nothing in them can
//! stop the loop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opcua::types::{ContextOwned, StatusCode};
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use fxgate_core::kit::status::StatusFolder;
use fxgate_core::{LogLimit, TagStore};

use crate::reader::{Reader, ReaderState, Refused};
use crate::status::{reader_state, refresh, ConnState, Counters};
use crate::uadp::{decode, PublisherId};

/// Everything the receive loop owns.
pub struct Receiver {
    /// The connection's name, for logs.
    pub name: String,
    /// Its socket.
    pub socket: UdpSocket,
    /// Its readers.
    pub readers: Vec<Reader>,
    /// The store.
    pub store: Arc<TagStore>,
    /// The connection's counters.
    pub counters: Counters,
    /// The status folder.
    pub folder: StatusFolder,
    /// Each reader's status folder, in reader order.
    pub reader_folders: Vec<StatusFolder>,
    /// The Enable/Disable switches.
    pub controls: std::sync::Arc<crate::control::Controls>,
    /// Readers OPC UA FX adds and removes at run time (the connection set aside for FX).
    pub commands: Option<tokio::sync::mpsc::UnboundedReceiver<ReaderCmd>>,
    /// Where the states of the run-time readers are reported.
    pub board: Option<Arc<crate::fx::StateBoard>>,
}

/// A change of the run-time readers.
pub enum ReaderCmd {
    /// Starts taking messages for this reader.
    Add(Box<Reader>),
    /// Stops the reader of this object; its tags turn Bad_NoCommunication (last value kept).
    Remove(u32),
}

/// The readers by the ids they take.
fn index(readers: &[Reader]) -> HashMap<(PublisherId, u16, u16), Vec<usize>> {
    let mut by_key: HashMap<(PublisherId, u16, u16), Vec<usize>> = HashMap::new();
    for (i, r) in readers.iter().enumerate() {
        by_key.entry(r.key.clone()).or_default().push(i);
    }
    by_key
}

struct Limits {
    decode: LogLimit,
    dropped: LogLimit,
    fields: LogLimit,
}

impl Receiver {
    /// Receives until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let ctx = crate::uadp::wire_context();
        let mut by_key = index(&self.readers);
        let mut commands = self.commands.take();
        let mut buf = vec![0u8; 65_536];
        let mut limits = Limits { decode: LogLimit::default(), dropped: LogLimit::default(), fields: LogLimit::default() };
        let mut status_tick = tokio::time::interval(Duration::from_secs(1));
        let mut flips = self.controls.watch();
        self.switches();
        loop {
            let deadline = self
                .readers
                .iter()
                .filter(|r| !matches!(r.state, ReaderState::Error | ReaderState::Disabled))
                .map(|r| r.deadline)
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = status_tick.tick() => self.switches(),
                Ok(()) = flips.changed() => self.switches(),
                _ = tokio::time::sleep_until(deadline) => self.expire(),
                Some(cmd) = async { match commands.as_mut() { Some(c) => c.recv().await, None => std::future::pending().await } } => {
                    self.command(cmd);
                    by_key = index(&self.readers);
                }
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.datagram(&buf[..n], from, &by_key, &ctx, &mut limits),
                    Err(e) => {
                        // ICMP errors of earlier sends and the like: the socket stays usable.
                        if let Some(held) = limits.decode.allow() {
                            tracing::warn!(connection = %self.name, "PubSub receive error: {e} ({held} more not logged)");
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
        }
    }

    fn datagram(&mut self, data: &[u8], from: SocketAddr, by_key: &HashMap<(PublisherId, u16, u16), Vec<usize>>, ctx: &ContextOwned, limits: &mut Limits) {
        self.counters.received.inc();
        let c = ctx.context();
        let msg = match decode(data, &c) {
            Ok(m) => m,
            Err(e) => {
                self.counters.decode_errors.inc();
                if let Some(held) = limits.decode.allow() {
                    tracing::warn!(connection = %self.name, %from, "PubSub: a datagram of {} bytes does not decode: {e} (dropped; {held} more not logged)", data.len());
                }
                return;
            }
        };
        let group = msg.group.unwrap_or_default();
        for (n, dsm) in msg.messages.iter().enumerate() {
            let writer_id = msg.writer_ids.as_ref().and_then(|ids| ids.get(n).copied());
            let readers = match (&msg.publisher_id, group.writer_group_id, writer_id) {
                (Some(p), Some(g), Some(w)) => by_key.get(&(p.clone(), g, w)),
                _ => None,
            };
            let Some(readers) = readers else {
                self.counters.dropped.inc();
                if let Some(held) = limits.dropped.allow() {
                    tracing::info!(
                        connection = %self.name, %from,
                        "PubSub: no reader for PublisherId {:?}, WriterGroupId {:?}, DataSetWriterId {:?} (dropped; {held} more not logged)",
                        msg.publisher_id, group.writer_group_id, writer_id
                    );
                }
                continue;
            };
            for &i in readers {
                let r = &mut self.readers[i];
                if r.state == ReaderState::Disabled {
                    continue;
                }
                let was = r.state;
                let taken = r.admits(from.ip(), group.group_version).and_then(|()| r.take(dsm, msg.timestamp, &c));
                match taken {
                    Ok(mut values) => {
                        if was == ReaderState::Error {
                            tracing::info!(connection = %self.name, reader = %r.name, "PubSub reader receives again: Operational");
                        }
                        if was != ReaderState::Operational {
                            if let Some(f) = self.reader_folders.get(i) {
                                reader_state(f, ConnState::Operational);
                            }
                            if let (Some(b), Some(o)) = (&self.board, r.object) {
                                b.set(o, ReaderState::Operational);
                            }
                        }
                        // A field with a status and no value keeps the last value and its timestamp.
                        for (id, v) in values.iter_mut() {
                            if matches!(v.value, opcua::types::Variant::Empty) && !v.status.is_good() {
                                if let Some(last) = self.store.get(*id) {
                                    v.value = last.value;
                                    v.source_timestamp = last.source_timestamp;
                                }
                            }
                        }
                        // A key frame repeats unchanged fields every cycle: a field with the
                        // value, status and source timestamp the tag has is no change.
                        values.retain(|(id, v)| {
                            self.store
                                .with_value(*id, |cur| cur.value != v.value || cur.status != v.status || cur.source_timestamp != v.source_timestamp)
                                .unwrap_or(true)
                        });
                        if !values.is_empty() {
                            self.store.update(values);
                        }
                    }
                    Err(Refused::Filtered { reader, detail }) => {
                        self.counters.dropped.inc();
                        if let Some(held) = limits.dropped.allow() {
                            tracing::info!(connection = %self.name, %from, "PubSub reader `{reader}` drops {detail} ({held} more not logged)");
                        }
                    }
                    Err(Refused::Fields { reader, detail }) => {
                        self.counters.decode_errors.inc();
                        let ids = r.tag_ids();
                        self.store.set_status(&ids, StatusCode::BadDecodingError);
                        if let Some(held) = limits.fields.allow() {
                            tracing::warn!(connection = %self.name, %from, "PubSub reader `{reader}`: {detail}: its tags are Bad_DecodingError ({held} more not logged)");
                        }
                    }
                }
            }
        }
    }

    /// Applies the Enable/Disable switches: a disabled reader's tags turn Bad_OutOfService
    /// (last value kept); an enabled one waits for messages again.
    fn switches(&mut self) {
        for (i, r) in self.readers.iter_mut().enumerate() {
            let on = self.controls.enabled(&format!("{}/Readers/{}", self.name, r.name))
                && r.group_switch.as_deref().is_none_or(|g| self.controls.enabled(g));
            let state = match (on, r.state == ReaderState::Disabled) {
                (false, false) => {
                    r.switch(false);
                    self.store.set_status(&r.tag_ids(), StatusCode::BadOutOfService);
                    tracing::info!(connection = %self.name, reader = %r.name, "PubSub reader disabled");
                    ConnState::Disabled
                }
                (true, true) => {
                    r.switch(true);
                    tracing::info!(connection = %self.name, reader = %r.name, "PubSub reader enabled");
                    ConnState::PreOperational
                }
                _ => continue,
            };
            if let Some(f) = self.reader_folders.get(i) {
                reader_state(f, state);
            }
            if let (Some(b), Some(o)) = (&self.board, r.object) {
                b.set(o, r.state);
            }
        }
        self.refresh();
    }

    fn command(&mut self, cmd: ReaderCmd) {
        match cmd {
            ReaderCmd::Add(r) => {
                tracing::info!(connection = %self.name, reader = %r.name, "PubSub reader added by OPC UA FX");
                if let (Some(b), Some(o)) = (&self.board, r.object) {
                    b.set(o, r.state);
                }
                self.readers.push(*r);
                // Its switches decide whether it starts Disabled.
                self.switches();
            }
            ReaderCmd::Remove(object) => {
                let Some(i) = self.readers.iter().position(|r| r.object == Some(object)) else { return };
                let r = self.readers.remove(i);
                tracing::info!(connection = %self.name, reader = %r.name, "PubSub reader removed by OPC UA FX");
                self.store.set_status(&r.tag_ids(), StatusCode::BadNoCommunication);
                if let Some(b) = &self.board {
                    b.forget(object);
                }
                self.refresh();
            }
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        for (i, r) in self.readers.iter_mut().enumerate() {
            if r.expire(now) {
                if let Some(f) = self.reader_folders.get(i) {
                    reader_state(f, ConnState::Error);
                }
                self.counters.timeouts.inc();
                if let (Some(b), Some(o)) = (&self.board, r.object) {
                    b.set(o, ReaderState::Error);
                }
                tracing::warn!(
                    connection = %self.name, reader = %r.name,
                    "PubSub reader: no message for {} ms (MessageReceiveTimeout): Error, its tags Bad_NoCommunication",
                    r.timeout.as_millis()
                );
                self.store.set_status(&r.tag_ids(), StatusCode::BadNoCommunication);
            }
        }
        self.refresh();
    }

    fn refresh(&self) {
        let in_error = self.readers.iter().filter(|r| r.state == ReaderState::Error).count() as u32;
        let state = if self.controls.own(&self.name) == Some(false) {
            ConnState::Disabled
        } else if in_error > 0 {
            ConnState::Error
        } else if self.readers.iter().any(|r| r.state == ReaderState::PreOperational) {
            ConnState::PreOperational
        } else {
            ConnState::Operational
        };
        refresh(&self.folder, state, in_error, &self.counters);
    }
}
