//! The client line's event loop: its connections (one, or two on a redundant line), the
//! stations' data, interrogations and the commands from OPC UA writes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use fxgate_core::{ComponentResult, LogLimit, TagId, TagStore, TagValue, WriteReceiver, WriteRequest};
use fxgate_lines::{Connection, Device, LineState, LineStatus, LineStream, Target};
use iec104::asdu::Asdu;
use iec104::cot::Cot;
use iec104::types_id::TypeId;
use opcua::types::{DateTime, StatusCode};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::command::{clock_sync, counter_interrogation, interrogation, InFlight, Stage};
use super::station::Station;
use crate::commands::{self, Addressing, Command};
use crate::config::{CommandType, LinkParams, MonitorType};
use crate::error::{CommandError, LinkError};
use crate::link::{Event, Link};
use crate::points::{decode, Stamp};

/// How long a negative confirmation waits for a COT 47 that may follow it.
const REFUSAL_GRACE: Duration = Duration::from_millis(100);

/// At start, how long a backup that answered first waits for the primary before it is
/// started (bounded by the line's connect timeout): the primary is preferred when both are up.
const PRIMARY_GRACE: Duration = Duration::from_secs(2);

/// One open connection.
struct Conn {
    link: Link<LineStream>,
    target: Target,
    /// STARTDT confirmed: data flows.
    started: bool,
}

/// The line's run-time state.
pub struct Driver {
    stations: Vec<Station>,
    store: Arc<TagStore>,
    writes: Option<WriteReceiver>,
    shutdown: CancellationToken,
    status: LineStatus,
    params: LinkParams,
    /// Slot 0 the primary (or the only) connection, slot 1 the backup's.
    conns: [Option<Conn>; 2],
    /// Ask a slot's connector for a connection.
    wants: Vec<mpsc::Sender<()>>,
    requested: [bool; 2],
    got: mpsc::Receiver<(Device, Connection)>,
    active: Option<usize>,
    in_flight: Option<InFlight>,
    queue: VecDeque<WriteRequest>,
    /// ASDUs waiting for room in the active link's k window.
    outbox: VecDeque<Asdu>,
    /// Whether the tags are marked Bad_NoCommunication.
    bad: bool,
    /// Unknown CA/IOA/type reports so far.
    strays: u64,
    /// Their warning, at most once per period.
    stray_log: LogLimit,
    /// Until the first STARTDT: the backup is not started before this unless the
    /// primary's connection is there (then the primary is started).
    prefer_primary_until: Option<Instant>,
}

async fn next(conn: &mut Option<Conn>) -> Result<Event, LinkError> {
    match conn {
        Some(c) => c.link.next().await,
        None => std::future::pending().await,
    }
}

async fn recv(rx: &mut Option<WriteReceiver>) -> Option<WriteRequest> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn slot_of(d: Device) -> usize {
    match d {
        Device::Primary => 0,
        Device::Backup => 1,
    }
}

impl Driver {
    /// A driver over `stations`; `wants[slot]` asks for a connection, `got` delivers it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        stations: Vec<Station>,
        store: Arc<TagStore>,
        writes: Option<WriteReceiver>,
        shutdown: CancellationToken,
        status: LineStatus,
        params: LinkParams,
        wants: Vec<mpsc::Sender<()>>,
        got: mpsc::Receiver<(Device, Connection)>,
    ) -> Self {
        Self {
            stations,
            store,
            writes,
            shutdown,
            status,
            params,
            conns: [None, None],
            wants,
            requested: [false; 2],
            got,
            active: None,
            in_flight: None,
            queue: VecDeque::new(),
            outbox: VecDeque::new(),
            bad: false,
            strays: 0,
            stray_log: LogLimit::default(),
            prefer_primary_until: None,
        }
    }

    /// Runs until shutdown. Tags turn Bad_NoCommunication when no connection is started
    /// within `connect_timeout` of the start, and whenever the last one is lost.
    pub async fn run(mut self, connect_timeout: Duration) -> ComponentResult {
        let mut mark_bad_at = Some(Instant::now() + connect_timeout);
        if self.wants.len() > 1 {
            self.prefer_primary_until = Some(Instant::now() + PRIMARY_GRACE.min(connect_timeout));
        }
        loop {
            for slot in 0..self.wants.len() {
                if self.conns[slot].is_none() && !self.requested[slot] && self.wants[slot].try_send(()).is_ok() {
                    self.requested[slot] = true;
                }
            }
            self.show();
            if self.is_started() {
                mark_bad_at = None;
            }
            let deadline = [mark_bad_at, self.in_flight.as_ref().map(|f| f.deadline), self.periodic_due(), self.prefer_primary_until]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let [c0, c1] = &mut self.conns;
            tokio::select! {
                _ = self.shutdown.cancelled() => {
                    self.stop().await;
                    return Ok(());
                }
                r = next(c0) => self.on_link(0, r),
                r = next(c1) => self.on_link(1, r),
                Some((device, conn)) = self.got.recv() => self.on_connected(slot_of(device), conn),
                Some(req) = recv(&mut self.writes) => {
                    self.queue.push_back(req);
                    self.next_command();
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if mark_bad_at.is_some_and(|t| t <= Instant::now()) {
                        mark_bad_at = None;
                        self.mark_bad();
                    }
                    self.on_timer();
                }
            }
            self.drain_outbox();
        }
    }

    fn is_started(&self) -> bool {
        self.active.and_then(|a| self.conns[a].as_ref()).is_some_and(|c| c.started)
    }

    fn all_tags(&self) -> Vec<TagId> {
        self.stations.iter().flat_map(|s| s.tags.iter().copied()).collect()
    }

    fn mark_bad(&mut self) {
        if !self.bad {
            self.bad = true;
            self.store.set_status(&self.all_tags(), StatusCode::BadNoCommunication);
        }
    }

    /// Shows the connections in the line's `State` and `ActiveDevice`.
    fn show(&self) {
        let mut parts = Vec::new();
        for (slot, c) in self.conns.iter().enumerate().take(self.wants.len()) {
            let role = if self.active == Some(slot) { if c.as_ref().is_some_and(|c| c.started) { "active" } else { "starting" } } else { "standby" };
            match c {
                Some(c) => parts.push(format!("{} ({role})", c.target)),
                None if self.wants.len() > 1 => parts.push(format!("{}: connecting", if slot == 0 { "primary" } else { "backup" })),
                None => {}
            }
        }
        let state = if self.is_started() {
            LineState::Connected
        } else if self.conns.iter().any(|c| c.is_some()) || self.requested.iter().any(|r| *r) {
            LineState::Connecting
        } else {
            LineState::Disconnected
        };
        self.status.set(state, &parts.join(", "));
    }

    fn on_connected(&mut self, slot: usize, conn: Connection) {
        self.requested[slot] = false;
        tracing::info!(line = %self.status.name(), target = %conn.target, "IEC 104 connection open");
        let link = Link::new(conn.stream, self.params);
        self.conns[slot] = Some(Conn { link, target: conn.target, started: false });
        if self.active.is_none() && !self.waits_for_primary(slot) {
            self.activate(slot);
        }
    }

    /// Whether starting `slot` waits: it is the backup, at start, and the primary may
    /// still answer within [`PRIMARY_GRACE`].
    fn waits_for_primary(&self, slot: usize) -> bool {
        slot == 1 && self.conns[0].is_none() && self.prefer_primary_until.is_some_and(|t| t > Instant::now())
    }

    /// Sends STARTDT on `slot`: it becomes the active connection once confirmed.
    fn activate(&mut self, slot: usize) {
        if let Some(c) = &mut self.conns[slot] {
            self.prefer_primary_until = None;
            c.link.start_dt();
            c.started = false;
            self.active = Some(slot);
            tracing::info!(line = %self.status.name(), target = %c.target, "STARTDT");
        }
    }

    fn on_link(&mut self, slot: usize, r: Result<Event, LinkError>) {
        match r {
            Err(e) => self.lost(slot, e),
            Ok(Event::StartDtCon) if self.active == Some(slot) => self.on_started(slot),
            Ok(Event::Asdu(a)) if self.active == Some(slot) && self.conns[slot].as_ref().is_some_and(|c| c.started) => {
                self.status.requests(1, 0);
                self.on_asdu(a);
            }
            Ok(Event::Asdu(a)) => {
                self.stray(format_args!("an ASDU ({:?}) on a connection that is not started; ignored", a.type_id));
            }
            Ok(_) => {}
        }
    }

    fn lost(&mut self, slot: usize, e: LinkError) {
        let Some(c) = self.conns[slot].take() else { return };
        let reason = e.to_string();
        if matches!(e, LinkError::Malformed(_) | LinkError::UnknownType(_) | LinkError::Sequence { .. } | LinkError::Ack { .. }) {
            self.status.requests(0, 1);
        }
        tracing::warn!(line = %self.status.name(), target = %c.target, %reason, "IEC 104 connection closed");
        self.status.error(&format!("{}: {reason}", c.target));
        tokio::spawn(c.link.close());
        if self.active != Some(slot) {
            return;
        }
        self.active = None;
        self.outbox.clear();
        if let Some(f) = self.in_flight.take() {
            f.req.answer(CommandError::Lost.status());
        }
        for st in &mut self.stations {
            st.gi.due = None;
            st.ci.due = None;
            st.cs.due = None;
        }
        let other = 1 - slot;
        if self.conns[other].is_some() {
            // Parallel policy: the standby takes over; the values stay as they are, and the
            // GI that follows its STARTDT refreshes them.
            self.activate(other);
        } else {
            self.mark_bad();
            self.fail_queue();
        }
    }

    fn fail_queue(&mut self) {
        while let Some(req) = self.queue.pop_front() {
            req.answer(CommandError::NotConnected.status());
        }
    }

    fn on_started(&mut self, slot: usize) {
        let Some(c) = &mut self.conns[slot] else { return };
        c.started = true;
        tracing::info!(line = %self.status.name(), target = %c.target, "data transfer started; general interrogation");
        let mut out = Vec::new();
        for st in &mut self.stations {
            out.push(interrogation(st));
            if st.clock_sync {
                out.push(clock_sync(st));
            }
            if st.ci.every.is_some() {
                out.push(counter_interrogation(st));
            }
            st.gi.schedule();
            st.ci.schedule();
            st.cs.schedule();
        }
        self.outbox.extend(out);
        self.next_command();
    }

    fn periodic_due(&self) -> Option<Instant> {
        self.stations.iter().filter_map(|s| s.next_due()).min()
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if self.prefer_primary_until.is_some_and(|t| t <= now) {
            self.prefer_primary_until = None;
            if self.active.is_none() && self.conns[1].is_some() {
                self.activate(1);
            }
        }
        if let Some(refused) = self.in_flight.as_ref().filter(|f| f.deadline <= now).map(|f| f.refused) {
            self.finish(Err(if refused { CommandError::Refused } else { CommandError::Timeout }));
        }
        if !self.is_started() {
            return;
        }
        let mut out = Vec::new();
        for st in &mut self.stations {
            if st.gi.is_due(now) {
                out.push(interrogation(st));
                st.gi.schedule();
            }
            if st.ci.is_due(now) {
                out.push(counter_interrogation(st));
                st.ci.schedule();
            }
            if st.cs.is_due(now) {
                out.push(clock_sync(st));
                st.cs.schedule();
            }
        }
        self.outbox.extend(out);
    }

    fn drain_outbox(&mut self) {
        let Some(c) = self.active.and_then(|a| self.conns[a].as_mut()) else { return };
        if !c.started {
            return;
        }
        while c.link.can_send() {
            let Some(a) = self.outbox.pop_front() else { break };
            if let Err(e) = c.link.send(a) {
                tracing::warn!(line = %self.status.name(), error = %e, "an ASDU could not be sent");
            }
        }
    }

    fn stray(&mut self, what: std::fmt::Arguments<'_>) {
        self.strays += 1;
        if let Some(held) = self.stray_log.allow() {
            tracing::warn!(line = %self.status.name(), count = self.strays, lines_held_back = held, "{what}");
        }
    }

    fn on_asdu(&mut self, a: Asdu) {
        let Some(si) = self.stations.iter().position(|s| s.ca == a.address_field) else {
            self.stray(format_args!("an ASDU for common address {}, which no device of this line has; ignored", a.address_field));
            return;
        };
        if a.test {
            tracing::debug!(type_id = ?a.type_id, "test ASDU (T bit) ignored");
        } else if MonitorType::of(a.type_id).is_some() {
            self.on_values(si, &a);
        } else if CommandType::of(a.type_id).is_some() {
            self.on_confirmation(si, &a);
        } else {
            match a.type_id {
                TypeId::M_EI_NA_1 => {
                    tracing::info!(line = %self.status.name(), station = %self.stations[si].name, "end of initialisation; general interrogation");
                    let gi = interrogation(&self.stations[si]);
                    self.outbox.push_back(gi);
                }
                TypeId::C_IC_NA_1 | TypeId::C_CI_NA_1 | TypeId::C_CS_NA_1 if a.negative => {
                    tracing::warn!(line = %self.status.name(), station = %self.stations[si].name, type_id = ?a.type_id, cot = ?a.cot, "the station refused a system command");
                }
                _ => tracing::debug!(type_id = ?a.type_id, cot = ?a.cot, "ASDU"),
            }
        }
    }

    fn on_values(&mut self, si: usize, a: &Asdu) {
        let now = DateTime::now();
        let mut updates = Vec::new();
        let mut strays = 0;
        {
            let st = &self.stations[si];
            for p in decode(&a.information_objects) {
                match st.points.get(&p.ioa) {
                    Some(&(tag, family)) if family == p.family => {
                        let (time, invalid) = match p.stamp {
                            Stamp::At(t) => (t, false),
                            Stamp::None => (now, false),
                            Stamp::Invalid => (now, true),
                        };
                        updates.push((tag, TagValue { value: p.value, status: p.quality.status(invalid), source_timestamp: time, server_timestamp: DateTime::null() }));
                    }
                    _ => strays += 1,
                }
            }
        }
        if strays > 0 {
            let name = self.stations[si].name.clone();
            self.stray(format_args!("{strays} value(s) of {:?} in an ASDU for station `{name}` have an IOA no tag maps with that type; ignored", a.type_id));
        }
        if !updates.is_empty() {
            self.bad = false;
            self.store.update(updates);
        }
    }

    /// Starts the next queued command when none is in flight and data flows.
    fn next_command(&mut self) {
        while self.in_flight.is_none() {
            if self.active.is_none() {
                self.fail_queue();
                return;
            }
            if !self.is_started() {
                return;
            }
            let Some(req) = self.queue.pop_front() else { return };
            let found = self.stations.iter().enumerate().find_map(|(i, s)| s.commands.get(&req.tag).map(|c| (i, *c)));
            let Some((si, ct)) = found else {
                req.answer(StatusCode::BadNotWritable);
                continue;
            };
            let stage = if ct.sbo { Stage::Select } else { Stage::Execute };
            match self.send_command(si, &ct.command, &req.value, stage) {
                Err(e) => req.answer(e.status()),
                Ok(()) => {
                    self.in_flight = Some(InFlight {
                        tag: req.tag,
                        req,
                        station: si,
                        command: ct.command,
                        command_only: ct.command_only,
                        stage,
                        type_id: ct.command.kind.id(ct.command.timed),
                        deadline: Instant::now() + self.params.t1,
                        refused: false,
                    });
                }
            }
        }
    }

    fn send_command(&mut self, si: usize, cmd: &Command, value: &opcua::types::Variant, stage: Stage) -> Result<(), CommandError> {
        let st = &self.stations[si];
        let asdu = commands::asdu(cmd, value, stage == Stage::Select, Addressing { ca: st.ca, oa: st.oa })?;
        tracing::debug!(station = %st.name, ioa = cmd.ioa, command = %cmd.kind, ?stage, "command");
        self.outbox.push_back(asdu);
        Ok(())
    }

    fn on_confirmation(&mut self, si: usize, a: &Asdu) {
        let matches = self.in_flight.as_ref().is_some_and(|f| {
            f.station == si && f.type_id == a.type_id && commands::first_ioa(&a.information_objects) == Some(f.command.ioa)
        });
        if !matches {
            if a.cot != Cot::ActivationTermination {
                self.stray(format_args!("a {:?} (COT {:?}) that answers no command in flight; ignored", a.type_id, a.cot));
            }
            return;
        }
        match a.cot {
            Cot::ActivationConfirmation if a.negative => {
                // Wait a moment for a COT 47 that may follow (it names the cause).
                if let Some(f) = &mut self.in_flight {
                    f.refused = true;
                    f.deadline = Instant::now() + REFUSAL_GRACE.min(self.params.t1);
                }
            }
            Cot::ActivationConfirmation => {
                let Some(f) = &mut self.in_flight else { return };
                if f.stage == Stage::Select {
                    f.stage = Stage::Execute;
                    f.deadline = Instant::now() + self.params.t1;
                    let (command, value) = (f.command, f.req.value.clone());
                    if let Err(e) = self.send_command(si, &command, &value, Stage::Execute) {
                        self.finish(Err(e));
                    }
                } else {
                    self.finish(Ok(()));
                }
            }
            Cot::UnknownObjectAddress => {
                let ioa = self.in_flight.as_ref().map(|f| f.command.ioa).unwrap_or(0);
                self.finish(Err(CommandError::UnknownIoa(ioa)));
            }
            Cot::UnknownType | Cot::UnknownCause | Cot::UnknownAsduAddress => self.finish(Err(CommandError::Rejected(a.cot as u8))),
            _ => {}
        }
    }

    fn finish(&mut self, outcome: Result<(), CommandError>) {
        let Some(f) = self.in_flight.take() else { return };
        let station = &self.stations[f.station].name;
        match outcome {
            Ok(()) => {
                let value = f.req.value.clone();
                f.req.answer(StatusCode::Good);
                if f.command_only {
                    self.store.update(vec![(f.tag, TagValue::good(value))]);
                }
            }
            Err(e) => {
                tracing::warn!(line = %self.status.name(), %station, ioa = f.command.ioa, command = %f.command.kind, error = %e, "command failed");
                f.req.answer(e.status());
            }
        }
        self.next_command();
    }

    async fn stop(&mut self) {
        if let Some(f) = self.in_flight.take() {
            f.req.answer(StatusCode::BadShutdown);
        }
        while let Some(req) = self.queue.pop_front() {
            req.answer(StatusCode::BadShutdown);
        }
        for c in self.conns.iter_mut().filter_map(Option::take) {
            c.link.close().await;
        }
        self.status.set(LineState::Stopped, "");
    }
}
