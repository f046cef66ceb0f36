//! The run-time PubSub objects of OPC UA FX on the connection marked `fx = true`
//! ([`fxgate_plugin::FxPubSub`]): SetCommunicationConfigurationCmd adds writer groups with
//! their writers (publishing the endpoint's OutputVariables) and readers (writing its
//! InputVariables), EnableCommunicationCmd switches them on, CloseConnections off or away.
//!
//! They run exactly like configured ones: a writer group is one more task of the connection,
//! a reader one more reader of its receive loop. Their switches sit next to the configured
//! items' (`<connection>/<group>`, `<connection>/<group>/<writer>`,
//! `<connection>/ReaderGroups/<group>`, `<connection>/Readers/<reader>`). They are not
//! persisted: a restart forgets them, as it forgets non-persistent FX endpoints.

mod board;
pub mod plan;
pub mod plan_error;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod runtime_tests;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opcua::types::{DataTypeId, StatusCode};
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use fxgate_core::TagStore;
use fxgate_plugin::{Applied, ApplyError, ApplyRequest, FxPubSub, PubSubIds, PubSubObject, PubSubObjectState, Reservation, ReserveError};

pub use board::StateBoard;

use crate::config::{PubSubConfig, WriterGroupConfig};
use crate::control::Controls;
use crate::reader::{Reader, ReaderState};
use crate::receive::ReaderCmd;
use crate::reserve::{ClaimError, FxIds};
use crate::status::Counters;
use crate::uadp::PublisherId;
use crate::writer::{Writer, WriterGroup};
use plan::{plan, FxConnection, Plan};

/// At most this many run-time writer groups exist at once (more: Bad_ResourceUnavailable).
pub const MAX_WRITER_GROUPS: usize = 256;
/// At most this many run-time readers exist at once.
pub const MAX_READERS: usize = 1024;

/// What the running connection lends the runtime.
pub struct Attached {
    /// The tag store.
    pub store: Arc<TagStore>,
    /// The connection's counters.
    pub counters: Counters,
    /// The connection's shutdown.
    pub shutdown: CancellationToken,
    /// The receive loop's reader commands.
    pub readers: mpsc::UnboundedSender<ReaderCmd>,
    /// The interface multicast goes out of.
    pub interface: Option<Ipv4Addr>,
    /// The multicast TTL.
    pub ttl: u32,
}

/// The run-time objects of the FX connection.
pub struct FxRuntime {
    name: String,
    publisher_id: Option<PublisherId>,
    ids: FxIds,
    controls: Arc<Controls>,
    board: Arc<StateBoard>,
    live: Mutex<Live>,
    attached: OnceLock<Attached>,
}

#[derive(Default)]
struct Live {
    next: u32,
    objects: BTreeMap<u32, Obj>,
    /// Groups by switch path.
    groups: BTreeMap<String, Group>,
    /// What the information model shows.
    shown: Snapshot,
}

/// The run-time objects as they were configured (names and ids filled in), for the
/// information model: writer groups with their writers' objects, readers with theirs.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Writer groups and the objects of their writers (in writer order).
    pub groups: Vec<(plan::PlannedGroup, Vec<u32>)>,
    /// Readers and their objects.
    pub readers: Vec<(plan::PlannedReader, u32)>,
}

struct Obj {
    reader: bool,
    switch: String,
    group: String,
    writer_id: Option<u16>,
}

struct Group {
    members: BTreeSet<u32>,
    /// A writer group's task.
    cancel: Option<CancellationToken>,
    writer_group_id: Option<u16>,
}

impl FxRuntime {
    /// The runtime of connection `c` (switched by `controls`).
    pub fn new(c: &PubSubConfig, controls: Arc<Controls>) -> Self {
        Self {
            name: c.name.clone(),
            publisher_id: c.publisher_id.as_ref().and_then(|p| crate::config::publisher_id(p, c.publisher_id_type)),
            ids: FxIds::new(c),
            controls,
            board: Arc::new(StateBoard::default()),
            live: Mutex::new(Live::default()),
            attached: OnceLock::new(),
        }
    }

    /// The connection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the information model shows of the run-time objects now.
    pub fn snapshot(&self) -> Snapshot {
        self.live.lock().shown.clone()
    }

    /// Whether the switch at `path` and its connection are on.
    pub fn switch_on(&self, path: &str) -> bool {
        self.controls.enabled(path)
    }

    /// Where the receive loop reports the run-time readers' states.
    pub fn board(&self) -> Arc<StateBoard> {
        self.board.clone()
    }

    /// Called once by the running connection.
    pub fn attach(&self, a: Attached) {
        let _ = self.attached.set(a);
    }

    /// The switch path of a run-time reader, `<connection>/Readers/<reader>`.
    pub fn reader_path(&self, name: &str) -> String {
        format!("{}/Readers/{name}", self.name)
    }

    /// The switch path of a run-time reader group, `<connection>/ReaderGroups/<group>` (also
    /// its node's identifier in the model).
    pub fn reader_group_path(&self, name: &str) -> String {
        format!("{}/ReaderGroups/{name}", self.name)
    }

    /// Makes what `p` plans (ids and names already filled in).
    fn commit(&self, a: &Attached, p: &Plan, live: &mut Live, out: &mut Applied) {
        for g in &p.groups {
            let group_path = format!("{}/{}", self.name, g.name);
            self.controls.add(group_path.clone(), g.enabled);
            let mut writers = Vec::new();
            let mut members = BTreeSet::new();
            for w in &g.writers {
                live.next += 1;
                let o = live.next;
                let switch = format!("{group_path}/{}", w.name);
                self.controls.add(switch.clone(), w.enabled);
                let tags = w
                    .tags
                    .iter()
                    .map(|id| (*id, a.store.def(*id).map_or(DataTypeId::BaseDataType, |d| d.data_type)))
                    .collect();
                let mut writer = Writer::new(w.name.clone(), w.id, w.encoding, tags);
                writer.switch = Some(switch.clone());
                writers.push(writer);
                members.insert(o);
                out.paths.push((PubSubObject(o), switch.clone()));
                live.objects.insert(o, Obj { reader: false, switch, group: group_path.clone(), writer_id: Some(w.id) });
                out.writers.push((w.at, PubSubObject(o)));
            }
            let config = WriterGroupConfig {
                name: g.name.clone(),
                writer_group_id: g.id,
                publishing_interval_ms: g.interval_ms,
                destination: g.destination.clone(),
                group_version: g.group_version,
                max_network_message_size: if g.max_size == 0 { 1472 } else { g.max_size },
                writer: Vec::new(),
            };
            let cancel = a.shutdown.child_token();
            let started = crate::udp::parse_udp_url(&g.destination)
                .and_then(|u| crate::udp::resolve(&u))
                .map_err(|e| e.to_string())
                .and_then(|to| crate::udp::sender(to, a.interface, a.ttl).map(|s| (to, s)).map_err(|e| e.to_string()));
            match (started, self.publisher_id.clone()) {
                (Ok((to, socket)), Some(publisher_id)) => {
                    let group = WriterGroup {
                        group_version: g.group_version.unwrap_or_else(|| crate::writer::derived_version(&config)),
                        config,
                        publisher_id,
                        destination: to,
                        writers,
                        switch: (self.controls.clone(), group_path.clone()),
                    };
                    tokio::spawn(group.run(socket, a.store.clone(), a.counters.clone(), cancel.clone()));
                    tracing::info!(connection = %self.name, group = %g.name, id = g.id, to = %g.destination, "PubSub writer group added by OPC UA FX");
                }
                (Err(e), _) => tracing::warn!(connection = %self.name, group = %g.name, "PubSub writer group cannot send to {}: {e}", g.destination),
                (_, None) => tracing::warn!(connection = %self.name, group = %g.name, "PubSub writer group: the connection has no PublisherId"),
            }
            let objects = members.iter().copied().collect();
            live.groups.insert(group_path, Group { members, cancel: Some(cancel), writer_group_id: Some(g.id) });
            live.shown.groups.push((g.clone(), objects));
        }
        for r in &p.readers {
            live.next += 1;
            let o = live.next;
            let group_path = self.reader_group_path(&r.group.0);
            if !live.groups.contains_key(&group_path) {
                self.controls.add(group_path.clone(), r.group.1);
                live.groups.insert(group_path.clone(), Group { members: BTreeSet::new(), cancel: None, writer_group_id: None });
            }
            if let Some(g) = live.groups.get_mut(&group_path) {
                g.members.insert(o);
            }
            let switch = self.reader_path(&r.name);
            self.controls.add(switch.clone(), r.enabled);
            let fields = r
                .targets
                .iter()
                .map(|id| {
                    let t = a.store.def(*id).and_then(|d| fxgate_core::tag_type::tag_type_of(d.data_type));
                    (*id, t.unwrap_or(fxgate_core::TagType::Double))
                })
                .collect();
            let mut reader = Reader::new(r.name.clone(), r.key.clone(), Duration::from_millis(r.timeout_ms), fields);
            reader.object = Some(o);
            reader.group_switch = Some(group_path.clone());
            self.board.set(o, ReaderState::PreOperational);
            let _ = a.readers.send(ReaderCmd::Add(Box::new(reader)));
            out.paths.push((PubSubObject(o), format!("{group_path}/{}", r.name)));
            live.objects.insert(o, Obj { reader: true, switch, group: group_path, writer_id: None });
            live.shown.readers.push((r.clone(), o));
            out.readers.push((r.at, PubSubObject(o)));
        }
        self.board.bump();
    }

    /// Fills null names and ids; checks given names against the items that exist.
    fn fill(&self, p: &mut Plan, live: &Live) -> Result<(), ApplyError> {
        let wanted_groups: Vec<u16> = p.groups.iter().map(|g| g.id).collect();
        let wanted_writers: Vec<u16> = p.groups.iter().flat_map(|g| g.writers.iter().map(|w| w.id)).collect();
        let (gids, wids) = self.ids.claim(&wanted_groups, &wanted_writers).map_err(|e| match e {
            ClaimError::Exhausted => ApplyError::Exhausted,
            e => ApplyError::Invalid { index: p.groups.first().map_or(0, |g| g.reference), detail: e.to_string() },
        })?;
        let mut wids = wids.into_iter();
        for (g, id) in p.groups.iter_mut().zip(gids) {
            g.id = id;
            for w in &mut g.writers {
                w.id = wids.next().unwrap_or_default();
            }
        }
        let result = self.fill_names(p, live);
        if result.is_err() {
            self.unclaim(p);
        }
        result
    }

    fn fill_names(&self, p: &mut Plan, live: &Live) -> Result<(), ApplyError> {
        let exists = |path: &str| self.controls.own(path).is_some();
        let mut seen = BTreeSet::new();
        for g in &mut p.groups {
            if g.name.is_empty() {
                g.name = format!("FxWriterGroup{}", g.id);
            }
            let path = format!("{}/{}", self.name, g.name);
            if g.name.contains('/') || exists(&path) || !seen.insert(path.clone()) {
                return Err(ApplyError::Invalid { index: g.reference, detail: format!("writer group name `{}` is in use", g.name) });
            }
            for w in &mut g.writers {
                if w.name.is_empty() {
                    w.name = format!("FxWriter{}", w.id);
                }
                if w.name.contains('/') || !seen.insert(format!("{path}/{}", w.name)) {
                    return Err(ApplyError::Invalid { index: g.reference, detail: format!("writer name `{}` is given twice", w.name) });
                }
            }
        }
        // Unique across applies: `next` has moved past every object an earlier apply made.
        let batch = live.next + 1;
        let mut n = live.next;
        for r in &mut p.readers {
            n += 1;
            if r.group.0.is_empty() {
                r.group.0 = format!("FxReaderGroup{batch}_{}", r.at.1);
            } else if exists(&self.reader_group_path(&r.group.0)) {
                return Err(ApplyError::Invalid { index: r.reference, detail: format!("reader group name `{}` is in use", r.group.0) });
            }
            seen.insert(self.reader_group_path(&r.group.0));
            if r.name.is_empty() {
                r.name = format!("FxReader{n}");
            }
            let path = self.reader_path(&r.name);
            if r.name.contains('/') || exists(&path) || !seen.insert(path) {
                return Err(ApplyError::Invalid { index: r.reference, detail: format!("reader name `{}` is in use", r.name) });
            }
        }
        Ok(())
    }

    fn unclaim(&self, p: &Plan) {
        let g: Vec<u16> = p.groups.iter().map(|g| g.id).collect();
        let w: Vec<u16> = p.groups.iter().flat_map(|g| g.writers.iter().map(|w| w.id)).collect();
        self.ids.unclaim(&g, &w);
    }
}

impl PubSubIds for FxRuntime {
    fn reserve(&self, transport_profile_uri: &str, writer_groups: u16, writers: u16) -> Result<Reservation, ReserveError> {
        self.ids.reserve(transport_profile_uri, writer_groups, writers)
    }

    fn release(&self, reservation: &Reservation) {
        self.ids.release(reservation);
    }
}

impl FxPubSub for FxRuntime {
    fn apply(&self, request: &ApplyRequest<'_>) -> Result<Applied, ApplyError> {
        let a = self.attached.get().ok_or(ApplyError::NotRunning)?;
        let fx = FxConnection { name: &self.name, publisher_id: self.publisher_id.as_ref() };
        let mut p = plan(request, &fx)?;
        let mut live = self.live.lock();
        // Every writer group is a task and every reader work for the receive loop: a client
        // with the ConnectionAdmin role must not be able to make unbounded numbers of them.
        let writers = live.shown.groups.len() + p.groups.len();
        let readers = live.shown.readers.len() + p.readers.len();
        if writers > MAX_WRITER_GROUPS || readers > MAX_READERS {
            return Err(ApplyError::Exhausted);
        }
        let given = values::Given::of(&p);
        self.fill(&mut p, &live)?;
        let mut out = Applied {
            reference_results: vec![StatusCode::Good; request.references.len()],
            values: values::configuration_values(&p, &given, self.ids.publisher_id(), &self.name),
            ..Default::default()
        };
        self.commit(a, &p, &mut live, &mut out);
        Ok(out)
    }

    fn remove(&self, objects: &[PubSubObject]) {
        let Some(a) = self.attached.get() else { return };
        let mut live = self.live.lock();
        let mut writer_ids = Vec::new();
        let mut group_ids = Vec::new();
        for PubSubObject(o) in objects {
            let Some(obj) = live.objects.remove(o) else { continue };
            self.controls.remove(&obj.switch);
            writer_ids.extend(obj.writer_id);
            if obj.reader {
                let _ = a.readers.send(ReaderCmd::Remove(*o));
            }
            let empty = live.groups.get_mut(&obj.group).is_some_and(|g| {
                g.members.remove(o);
                g.members.is_empty()
            });
            if empty {
                if let Some(g) = live.groups.remove(&obj.group) {
                    if let Some(c) = g.cancel {
                        c.cancel();
                    }
                    group_ids.extend(g.writer_group_id);
                    self.controls.remove(&obj.group);
                    tracing::info!(connection = %self.name, group = %obj.group, "PubSub group removed by OPC UA FX");
                }
            }
        }
        self.ids.unclaim(&group_ids, &writer_ids);
        let gone = |o: &u32| objects.iter().any(|x| x.0 == *o);
        live.shown.readers.retain(|(_, o)| !gone(o));
        for (_, members) in live.shown.groups.iter_mut() {
            members.retain(|o| !gone(o));
        }
        live.shown.groups.retain(|(_, members)| !members.is_empty());
        self.board.bump();
    }

    fn enable(&self, objects: &[PubSubObject]) -> Result<(), StatusCode> {
        let live = self.live.lock();
        let list: Vec<&Obj> = objects.iter().map(|o| live.objects.get(&o.0).ok_or(StatusCode::BadNodeIdUnknown)).collect::<Result<_, _>>()?;
        self.controls.force(&self.name, true);
        for obj in list {
            self.controls.force(&obj.group, true);
            self.controls.force(&obj.switch, true);
        }
        self.board.bump();
        Ok(())
    }

    fn disable(&self, objects: &[PubSubObject]) {
        let live = self.live.lock();
        for o in objects {
            if let Some(obj) = live.objects.get(&o.0) {
                self.controls.force(&obj.switch, false);
            }
        }
        self.board.bump();
    }

    fn state(&self, object: PubSubObject) -> Option<PubSubObjectState> {
        let live = self.live.lock();
        let obj = live.objects.get(&object.0)?;
        let on = self.controls.enabled(&obj.switch) && self.controls.enabled(&obj.group);
        if !on {
            return Some(PubSubObjectState::Disabled);
        }
        if !obj.reader {
            return Some(PubSubObjectState::Operational);
        }
        Some(match self.board.get(object.0) {
            Some(ReaderState::Operational) => PubSubObjectState::Operational,
            Some(ReaderState::Error) => PubSubObjectState::Error,
            // Switched on but not yet applied by the receive loop: waiting.
            _ => PubSubObjectState::PreOperational,
        })
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.board.subscribe()
    }
}
