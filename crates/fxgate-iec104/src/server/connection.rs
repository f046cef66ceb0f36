//! One master's connection: interrogations, clock synchronisation, commands, and the
//! spontaneous events of its redundancy group while it is the group's active connection.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use fxgate_core::tag_type::to_tag_type;
use fxgate_core::{TagId, TagStore};
use fxgate_lines::{LineStatus, ServerStream};
use futures::future::BoxFuture;
use futures::FutureExt;
use iec104::asdu::Asdu;
use iec104::cot::Cot;
use iec104::types::commands::Qoi;
use iec104::types::InformationObjects;
use iec104::types_id::TypeId;
use opcua::types::{DataTypeId, DateTime, StatusCode, Variant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::group::Groups;
use super::table::{asdus, Change, Table};
use crate::commands::{mirror, received, Received};
use crate::config::{CommandType, LinkParams, MonitorType};
use crate::error::LinkError;
use crate::link::{Event, Link};
use crate::time::from_cp56;

/// What every connection of a server shares.
pub struct Shared {
    /// The exposed points.
    pub table: Table,
    /// The redundancy groups.
    pub groups: Groups,
    /// The tag store.
    pub store: Arc<TagStore>,
    /// The server's common address.
    pub ca: u16,
    /// The server's name.
    pub server: String,
    /// The line's status.
    pub status: LineStatus,
    /// Link parameters.
    pub params: LinkParams,
}

/// A command execute waiting for, or in, the store's write path.
struct Execute {
    asdu: Asdu,
    tag: TagId,
    value: Variant,
}

struct Conn {
    shared: Arc<Shared>,
    link: Link<ServerStream>,
    peer: SocketAddr,
    group: usize,
    id: u64,
    wake: Arc<Notify>,
    started: bool,
    /// Replies (confirmations, interrogation answers) to send before events.
    outbox: VecDeque<Asdu>,
    /// Per I-frame sent and not yet acknowledged: the events it carried.
    unacked: VecDeque<Option<Vec<Change>>>,
    /// Executes in arrival order; the first is in the write path.
    executes: VecDeque<Execute>,
    writing: Option<BoxFuture<'static, StatusCode>>,
}

/// Serves one master until it disconnects, breaks the protocol, or shutdown.
pub async fn serve(shared: Arc<Shared>, stream: ServerStream, peer: SocketAddr, group: usize, id: u64, shutdown: CancellationToken) {
    let link = Link::new(stream, shared.params);
    let mut c = Conn {
        shared,
        link,
        peer,
        group,
        id,
        wake: Arc::new(Notify::new()),
        started: false,
        outbox: VecDeque::new(),
        unacked: VecDeque::new(),
        executes: VecDeque::new(),
        writing: None,
    };
    let end = c.run(&shutdown).await;
    let s = &c.shared;
    s.groups.deactivate(group, id);
    // Events sent but not acknowledged go to the group's next active connection (ed. 2).
    let lost: Vec<Change> = c.unacked.drain(..).flatten().flatten().collect();
    s.groups.requeue(group, lost);
    match end {
        None => {}
        Some(LinkError::Closed) => tracing::info!(server = %s.server, %peer, "IEC 104 master disconnected"),
        Some(e) => {
            if matches!(e, LinkError::Malformed(_) | LinkError::UnknownType(_) | LinkError::Sequence { .. } | LinkError::Ack { .. }) {
                s.status.requests(0, 1);
            }
            tracing::warn!(server = %s.server, %peer, reason = %e, "IEC 104 master connection closed");
            s.status.error(&format!("{peer}: {e}"));
        }
    }
    c.link.close().await;
}

async fn writing(w: &mut Option<BoxFuture<'static, StatusCode>>) -> StatusCode {
    match w {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

impl Conn {
    /// Runs the connection; the error that ended it, `None` at shutdown.
    async fn run(&mut self, shutdown: &CancellationToken) -> Option<LinkError> {
        loop {
            self.pump();
            let started = self.started;
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                ev = self.link.next() => match ev {
                    Err(e) => return Some(e),
                    Ok(ev) => self.on_event(ev),
                },
                _ = self.wake.notified(), if started => {}
                status = writing(&mut self.writing) => {
                    self.writing = None;
                    self.executed(status);
                }
            }
            // Frames the master acknowledged carry no more events to re-send.
            while self.unacked.len() > self.link.unacked() {
                self.unacked.pop_front();
            }
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::StartDt => {
                self.started = true;
                self.shared.groups.activate(self.group, self.id, self.wake.clone());
                tracing::info!(server = %self.shared.server, peer = %self.peer, group = %self.shared.groups.name(self.group), "STARTDT: this master's connection is the group's active one");
            }
            Event::StopDt => {
                self.started = false;
                self.shared.groups.deactivate(self.group, self.id);
            }
            Event::Asdu(a) => {
                self.shared.status.requests(1, 0);
                self.on_asdu(a);
            }
            _ => {}
        }
    }

    /// Sends what fits the k window: replies first, then the group's events.
    fn pump(&mut self) {
        while self.link.can_send() {
            if let Some(a) = self.outbox.pop_front() {
                self.send(a, None);
                continue;
            }
            if !self.started {
                return;
            }
            let changes = self.shared.groups.take(self.group, self.id, &self.shared.table, usize::MAX);
            if changes.is_empty() {
                return;
            }
            // One run of one family, sized for one ASDU.
            for a in asdus(&self.shared.table, &changes, true, Cot::SpontaneousData, self.shared.ca) {
                self.send(a, Some(changes.clone()));
            }
        }
    }

    fn send(&mut self, a: Asdu, events: Option<Vec<Change>>) {
        match self.link.send(a) {
            Ok(()) => self.unacked.push_back(events),
            Err(e) => tracing::warn!(server = %self.shared.server, peer = %self.peer, error = %e, "an ASDU could not be sent"),
        }
    }

    fn reply(&mut self, a: &Asdu, cot: Cot, negative: bool) {
        self.outbox.push_back(mirror(a, cot, negative));
    }

    fn on_asdu(&mut self, a: Asdu) {
        let broadcast = a.address_field == 0xFFFF;
        let system = matches!(a.type_id, TypeId::C_IC_NA_1 | TypeId::C_CI_NA_1 | TypeId::C_CS_NA_1);
        if a.address_field != self.shared.ca && !(broadcast && system) {
            return self.reply(&a, Cot::UnknownAsduAddress, true);
        }
        if MonitorType::of(a.type_id).is_some() {
            // Monitor direction from a master: not for a controlled station.
            return self.reply(&a, Cot::UnknownType, true);
        }
        if a.cot != Cot::Activation && !(a.cot == Cot::Deactivation && CommandType::of(a.type_id).is_some()) {
            return self.reply(&a, Cot::UnknownCause, true);
        }
        match a.type_id {
            TypeId::C_IC_NA_1 => self.interrogation(&a),
            TypeId::C_CI_NA_1 => self.counter_interrogation(&a),
            TypeId::C_CS_NA_1 => {
                if let InformationObjects::CCsNa1(v) = &a.information_objects {
                    if let Some(t) = v.first().and_then(|o| from_cp56(&o.object.time)) {
                        let diff = t.as_chrono() - DateTime::now().as_chrono();
                        tracing::info!(server = %self.shared.server, peer = %self.peer, master_minus_fxgate_ms = diff.num_milliseconds(),
                            "clock synchronisation (confirmed; fxgate does not set the system clock)");
                    }
                }
                self.reply(&a, Cot::ActivationConfirmation, false);
            }
            _ => match received(&a.information_objects) {
                // Deselect: confirmed; nothing was executed.
                Some(_) if a.cot == Cot::Deactivation => self.reply(&a, Cot::DeactivationConfirmation, false),
                Some(cmd) => self.command(a, cmd),
                None => self.reply(&a, Cot::UnknownType, true),
            },
        }
    }

    fn interrogation(&mut self, a: &Asdu) {
        let qoi = match &a.information_objects {
            InformationObjects::CIcNa1(v) => v.first().map(|o| o.object.qoi),
            _ => None,
        };
        self.reply(a, Cot::ActivationConfirmation, false);
        if qoi == Some(Qoi::Global) {
            let store = &self.shared.store;
            let table = &self.shared.table;
            let changes: Vec<Change> = (0..table.entries.len()).map(|i| table.current(store, i)).collect();
            // The CP56 variants, as for events: a master sees one type per IOA (lib60870-based
            // masters such as c104 bind a point to one type), with each value's source time.
            let list = asdus(table, &changes, true, Cot::InterrogationGeneral, self.shared.ca);
            self.outbox.extend(list);
        }
        // Group interrogations (QOI 21..36): fxgate defines no groups, so they end empty.
        self.reply(a, Cot::ActivationTermination, false);
    }

    fn counter_interrogation(&mut self, a: &Asdu) {
        self.reply(a, Cot::ActivationConfirmation, false);
        let store = &self.shared.store;
        let table = &self.shared.table;
        let changes: Vec<Change> =
            (0..table.entries.len()).filter(|&i| table.entries[i].family == MonitorType::Counter).map(|i| table.current(store, i)).collect();
        let list = asdus(table, &changes, true, Cot::CounterInterrogationGeneral, self.shared.ca);
        self.outbox.extend(list);
        self.reply(a, Cot::ActivationTermination, false);
    }

    fn command(&mut self, a: Asdu, cmd: Received) {
        let Some(e) = self.shared.table.commanded(cmd.ioa) else {
            return self.reply(&a, Cot::UnknownObjectAddress, true);
        };
        if e.command != Some(cmd.kind) {
            return self.reply(&a, Cot::UnknownType, true);
        }
        if cmd.select {
            return self.reply(&a, Cot::ActivationConfirmation, false);
        }
        let tag = e.tag;
        let Some(def) = self.shared.store.def(tag) else {
            return self.reply(&a, Cot::ActivationConfirmation, true);
        };
        match command_value(cmd.kind, &cmd.value, def.data_type) {
            Err(_) => self.reply(&a, Cot::ActivationConfirmation, true),
            Ok(value) => {
                self.executes.push_back(Execute { asdu: a, tag, value });
                self.next_execute();
            }
        }
    }

    fn next_execute(&mut self) {
        if self.writing.is_some() {
            return;
        }
        if let Some(x) = self.executes.front() {
            let (store, tag, value) = (self.shared.store.clone(), x.tag, x.value.clone());
            self.writing = Some(async move { store.write(tag, value).await }.boxed());
        }
    }

    fn executed(&mut self, status: StatusCode) {
        if let Some(x) = self.executes.pop_front() {
            if status.is_good() {
                self.reply(&x.asdu, Cot::ActivationConfirmation, false);
                self.reply(&x.asdu, Cot::ActivationTermination, false);
            } else {
                tracing::info!(server = %self.shared.server, peer = %self.peer, %status, "command refused by the tag's source");
                self.reply(&x.asdu, Cot::ActivationConfirmation, true);
            }
        }
        self.next_execute();
    }
}

/// The tag value a command stands for: double and regulating commands on a Boolean tag are
/// off/lower (1) → false and on/higher (2) → true.
fn command_value(kind: CommandType, v: &Variant, data_type: DataTypeId) -> Result<Variant, StatusCode> {
    match (kind, v, data_type) {
        (CommandType::Double | CommandType::Regulating, Variant::Byte(x), DataTypeId::Boolean) => match x {
            1 => Ok(Variant::Boolean(false)),
            2 => Ok(Variant::Boolean(true)),
            _ => Err(StatusCode::BadOutOfRange),
        },
        _ => to_tag_type(v, data_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_values_fit_the_tag() {
        assert_eq!(command_value(CommandType::Double, &Variant::Byte(2), DataTypeId::Boolean), Ok(Variant::Boolean(true)));
        assert_eq!(command_value(CommandType::Double, &Variant::Byte(1), DataTypeId::Boolean), Ok(Variant::Boolean(false)));
        assert!(command_value(CommandType::Double, &Variant::Byte(3), DataTypeId::Boolean).is_err());
        assert_eq!(command_value(CommandType::Float, &Variant::Float(2.5), DataTypeId::Double), Ok(Variant::Double(2.5)));
        assert_eq!(command_value(CommandType::Scaled, &Variant::Int16(-3), DataTypeId::Int32), Ok(Variant::Int32(-3)));
        assert!(command_value(CommandType::Scaled, &Variant::Int16(-3), DataTypeId::UInt16).is_err());
        assert_eq!(command_value(CommandType::Single, &Variant::Boolean(true), DataTypeId::Boolean), Ok(Variant::Boolean(true)));
    }
}
