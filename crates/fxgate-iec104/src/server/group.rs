//! Redundancy groups (IEC 60870-5-104 ed. 2 §10.3): the masters of a group share one
//! event queue, and only the connection that sent STARTDT last takes from it.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use fxgate_core::LogLimit;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::sync::Notify;

use super::table::{Change, Table};
use crate::config::Iec104ServerConfig;

/// Labels of the server metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabel {
    /// The server.
    pub server: String,
    /// The redundancy group.
    pub group: String,
}

/// The IEC 104 servers' metrics, registered once.
#[derive(Clone, Default)]
pub struct ServerMetrics {
    /// Events dropped because a group's queue was full (the oldest go first).
    pub dropped: Family<GroupLabel, Counter>,
}

impl ServerMetrics {
    /// Registers the metrics (`fxgate_iec104_server_events_dropped_total`).
    pub fn register(&self, r: &mut Registry) {
        r.register("iec104_server_events_dropped", "Spontaneous events dropped from a full redundancy-group queue", self.dropped.clone());
    }
}

struct State {
    queue: VecDeque<Change>,
    active: Option<(u64, Arc<Notify>)>,
    dropped: u64,
    /// The queue-full warning, at most once per period.
    full_log: LogLimit,
}

/// One redundancy group.
pub struct Group {
    /// Its name.
    pub name: String,
    masters: Vec<IpAddr>,
    capacity: usize,
    state: Mutex<State>,
    dropped: Counter,
}

/// Every group of a server.
pub struct Groups {
    groups: Vec<Group>,
    catch_all: Option<usize>,
    server: String,
}

impl Groups {
    /// The groups of `cfg` (one for every master when none is configured).
    pub fn new(cfg: &Iec104ServerConfig, metrics: &ServerMetrics) -> Self {
        let mut list: Vec<(String, Vec<IpAddr>)> =
            cfg.group.iter().map(|g| (g.name.clone(), g.masters.iter().filter_map(|m| m.trim().parse().ok()).collect())).collect();
        if list.is_empty() {
            list.push(("all".to_string(), Vec::new()));
        }
        let catch_all = list.iter().position(|(_, m)| m.is_empty());
        let groups = list
            .into_iter()
            .map(|(name, masters)| Group {
                dropped: metrics.dropped.get_or_create(&GroupLabel { server: cfg.name.clone(), group: name.clone() }).clone(),
                name,
                masters,
                capacity: cfg.event_queue.max(1),
                state: Mutex::new(State { queue: VecDeque::new(), active: None, dropped: 0, full_log: LogLimit::default() }),
            })
            .collect();
        Self { groups, catch_all, server: cfg.name.clone() }
    }

    /// The group of a master, `None` when it belongs to none.
    pub fn of(&self, ip: IpAddr) -> Option<usize> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.groups.iter().position(|g| g.masters.contains(&ip)).or(self.catch_all)
    }

    /// The group's name.
    pub fn name(&self, g: usize) -> &str {
        &self.groups[g].name
    }

    /// Queues spontaneous changes for every group and wakes their active connections.
    pub fn push(&self, changes: &[Change]) {
        for g in &self.groups {
            let mut s = g.state.lock();
            s.queue.extend(changes.iter().cloned());
            self.trim(g, &mut s);
            if let Some((_, n)) = &s.active {
                n.notify_one();
            }
        }
    }

    /// Makes connection `id` the active one of group `g` (it sent STARTDT).
    pub fn activate(&self, g: usize, id: u64, wake: Arc<Notify>) {
        let mut s = self.groups[g].state.lock();
        if let Some((old, n)) = s.active.replace((id, wake.clone())) {
            if old != id {
                n.notify_one();
            }
        }
        wake.notify_one();
    }

    /// Connection `id` stopped (STOPDT, or closed): the group has no active connection.
    pub fn deactivate(&self, g: usize, id: u64) {
        let mut s = self.groups[g].state.lock();
        if s.active.as_ref().is_some_and(|(a, _)| *a == id) {
            s.active = None;
        }
    }

    /// Whether `id` is the active connection of group `g`.
    #[cfg(test)]
    pub fn is_active(&self, g: usize, id: u64) -> bool {
        self.groups[g].state.lock().active.as_ref().is_some_and(|(a, _)| *a == id)
    }

    /// For the active connection `id`: the next run of queued changes that fits one
    /// spontaneous ASDU (consecutive changes of one type family, at most `limit`, and at
    /// most what one ASDU of the family's CP56 variant carries).
    pub fn take(&self, g: usize, id: u64, table: &Table, limit: usize) -> Vec<Change> {
        let mut s = self.groups[g].state.lock();
        if s.active.as_ref().is_none_or(|(a, _)| *a != id) {
            return Vec::new();
        }
        let Some(first) = s.queue.front() else { return Vec::new() };
        let family = table.entries[first.entry].family;
        let limit = limit.min(crate::points::max_objects(family.timed_id()));
        let mut n = 0;
        while n < limit && s.queue.get(n).is_some_and(|c| table.entries[c.entry].family == family) {
            n += 1;
        }
        s.queue.drain(..n).collect()
    }

    /// Puts changes sent but never acknowledged back at the head of the queue, in order,
    /// for the group's next active connection.
    pub fn requeue(&self, g: usize, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let mut s = self.groups[g].state.lock();
        for c in changes.into_iter().rev() {
            s.queue.push_front(c);
        }
        self.trim(&self.groups[g], &mut s);
    }

    /// Drops the oldest events beyond the group's capacity: counted, and said in a log line
    /// at most once per period (with how many lines it stands for).
    fn trim(&self, g: &Group, s: &mut State) {
        let over = s.queue.len().saturating_sub(g.capacity);
        if over == 0 {
            return;
        }
        s.queue.drain(..over);
        s.dropped += over as u64;
        g.dropped.inc_by(over as u64);
        if let Some(held) = s.full_log.allow() {
            tracing::warn!(server = %self.server, group = %g.name, dropped = s.dropped, capacity = g.capacity, lines_held_back = held,
                "IEC 104 event queue full: the oldest events were dropped");
        }
    }

    /// Events waiting in group `g`.
    #[cfg(test)]
    pub fn queued(&self, g: usize) -> usize {
        self.groups[g].state.lock().queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MonitorType;
    use crate::points::Outgoing;
    use crate::quality::Quality;
    use crate::server::table::Entry;
    use opcua::types::{DateTime, Variant};

    fn cfg(text: &str) -> Iec104ServerConfig {
        toml::from_str(&format!("name = \"s\"\nline = \"l\"\n{text}")).unwrap()
    }

    fn table() -> Table {
        let mut t = Table::default();
        t.add(Entry { tag: 0, ioa: 1, family: MonitorType::Float, command: None }, None);
        t.add(Entry { tag: 1, ioa: 2, family: MonitorType::Single, command: None }, None);
        t
    }

    fn ch(entry: usize, v: u32) -> Change {
        Change { entry, out: Outgoing { ioa: 1, value: Variant::UInt32(v), quality: Quality::default(), time: DateTime::now() } }
    }

    #[test]
    fn masters_find_their_group() {
        let g = Groups::new(&cfg("[[group]]\nname = \"A\"\nmasters = [\"10.0.0.1\"]\n[[group]]\nname = \"B\"\nmasters = []\n"), &ServerMetrics::default());
        assert_eq!(g.of("10.0.0.1".parse().unwrap()), Some(0));
        assert_eq!(g.of("::ffff:10.0.0.1".parse().unwrap()), Some(0));
        assert_eq!(g.of("10.0.0.2".parse().unwrap()), Some(1));
        let only = Groups::new(&cfg("[[group]]\nname = \"A\"\nmasters = [\"10.0.0.1\"]\n"), &ServerMetrics::default());
        assert_eq!(only.of("10.0.0.2".parse().unwrap()), None);
        let none = Groups::new(&cfg(""), &ServerMetrics::default());
        assert_eq!(none.of("10.9.9.9".parse().unwrap()), Some(0));
    }

    #[test]
    fn the_queue_keeps_the_newest_and_counts_the_rest() {
        let m = ServerMetrics::default();
        let g = Groups::new(&cfg("event_queue = 3\n"), &m);
        g.push(&[ch(0, 1), ch(0, 2), ch(0, 3), ch(0, 4), ch(0, 5)]);
        assert_eq!(g.queued(0), 3);
        assert_eq!(m.dropped.get_or_create(&GroupLabel { server: "s".into(), group: "all".into() }).get(), 2);
        let t = table();
        assert!(g.take(0, 7, &t, 10).is_empty(), "nothing for a connection that is not active");
        g.activate(0, 7, Arc::new(Notify::new()));
        let got: Vec<_> = g.take(0, 7, &t, 10).into_iter().map(|c| c.out.value).collect();
        assert_eq!(got, [Variant::UInt32(3), Variant::UInt32(4), Variant::UInt32(5)]);
    }

    #[test]
    fn runs_stop_at_another_family_and_unacknowledged_changes_come_back_first() {
        let g = Groups::new(&cfg(""), &ServerMetrics::default());
        let t = table();
        g.push(&[ch(0, 1), ch(0, 2), ch(1, 3), ch(0, 4)]);
        g.activate(0, 1, Arc::new(Notify::new()));
        let first = g.take(0, 1, &t, 10);
        assert_eq!(first.len(), 2);
        // Connection 1 breaks before the master acknowledged; connection 2 takes over.
        g.deactivate(0, 1);
        g.requeue(0, first);
        g.activate(0, 2, Arc::new(Notify::new()));
        assert!(!g.is_active(0, 1));
        let order: Vec<_> = std::iter::from_fn(|| Some(g.take(0, 2, &t, 10)).filter(|v| !v.is_empty())).flatten().map(|c| c.out.value).collect();
        assert_eq!(order, [1, 2, 3, 4].map(Variant::UInt32));
    }
}
