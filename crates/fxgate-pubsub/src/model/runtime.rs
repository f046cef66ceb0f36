//! The run-time objects OPC UA FX made on the connection with `fx = true`, in the model: each
//! writer group with its DataSetWriters (and their PublishedDataItems), each reader group with
//! its DataSetReaders (with SubscribedDataSet/TargetVariables = the endpoint's inputs), added
//! when they are made and deleted with them. Their `Status/State` follows the runtime; their
//! `Status/Enable` and `Status/Disable` flip the object's switch, as for configured objects.

use std::collections::BTreeMap;

use opcua::server::address_space::AddressSpace;
use opcua::types::{DataTypeId, NodeId, ObjectTypeId, ReferenceTypeId, Variant};

use fxgate_core::TagStore;
use fxgate_plugin::{FxPubSub, PubSubObject, PubSubObjectState};

use super::build::{state, Built, B};
use crate::fx::plan::{PlannedGroup, PlannedReader};
use crate::fx::{FxRuntime, Snapshot};

/// What the model shows of the runtime: the nodes of each shown item (by its path) and the
/// State variables with the object (or group switch) they follow.
#[derive(Default)]
pub struct Shown {
    items: BTreeMap<String, Vec<NodeId>>,
    states: Vec<(NodeId, Source)>,
    /// Enable/Disable methods by item: (method, switch path, on).
    methods: BTreeMap<String, Vec<(NodeId, String, bool)>>,
}

#[derive(Clone)]
enum Source {
    Object(u32),
    Switch(String),
}

impl Shown {
    /// Brings the model in line with `rt`'s snapshot: new items inserted, gone ones deleted;
    /// returns the State values to set.
    pub fn reconcile(&mut self, space: &mut AddressSpace, ns: u16, tags_ns: u16, store: &TagStore, rt: &FxRuntime) -> Vec<(NodeId, i32)> {
        let snap = rt.snapshot();
        let wanted = wanted(rt, &snap);
        let gone: Vec<String> = self.items.keys().filter(|k| !wanted.contains_key(*k)).cloned().collect();
        for k in gone {
            for n in self.items.remove(&k).unwrap_or_default().iter().rev() {
                space.delete(n, true);
            }
            self.methods.remove(&k);
        }
        let live: Vec<NodeId> = self.items.values().flatten().cloned().collect();
        self.states.retain(|(n, _)| live.contains(n));
        for (key, item) in wanted {
            if self.items.contains_key(&key) {
                continue;
            }
            let mut b = B { ns, space, tags_ns, built: Built::default(), created: Vec::new() };
            let states = match item {
                Item::Group(g, objects) => writer_group(&mut b, rt.name(), g, objects, store),
                Item::ReaderGroup(name, enabled_path) => reader_group(&mut b, rt.name(), name, enabled_path),
                Item::Reader(r, o) => reader(&mut b, rt, r, o, store),
            };
            self.states.extend(states);
            self.methods.insert(key.clone(), std::mem::take(&mut b.built.methods));
            self.items.insert(key, b.created);
        }
        self.states
            .iter()
            .map(|(n, s)| {
                let v = match s {
                    Source::Object(o) => match FxPubSub::state(rt, PubSubObject(*o)) {
                        Some(PubSubObjectState::Operational) => state::OPERATIONAL,
                        Some(PubSubObjectState::PreOperational) => state::PRE_OPERATIONAL,
                        Some(PubSubObjectState::Error) => state::ERROR,
                        _ => state::DISABLED,
                    },
                    Source::Switch(p) if rt.switch_on(p) => state::OPERATIONAL,
                    Source::Switch(_) => state::DISABLED,
                };
                (n.clone(), v)
            })
            .collect()
    }
}

impl Shown {
    /// The switch path and direction of a run-time Enable/Disable method.
    pub fn method(&self, method: &NodeId) -> Option<(String, bool)> {
        self.methods.values().flatten().find(|(m, _, _)| m == method).map(|(_, p, on)| (p.clone(), *on))
    }
}

enum Item<'a> {
    Group(&'a PlannedGroup, &'a [u32]),
    ReaderGroup(&'a str, String),
    Reader(&'a PlannedReader, u32),
}

/// The items the snapshot holds, by path (reader groups before their readers).
fn wanted<'a>(rt: &FxRuntime, snap: &'a Snapshot) -> BTreeMap<String, Item<'a>> {
    let mut out = BTreeMap::new();
    for (g, objects) in &snap.groups {
        out.insert(format!("{}/{}", rt.name(), g.name), Item::Group(g, objects));
    }
    for (r, o) in &snap.readers {
        let gp = rt.reader_group_path(&r.group.0);
        out.insert(format!("{gp}/{}", r.name), Item::Reader(r, *o));
        out.entry(gp.clone()).or_insert(Item::ReaderGroup(r.group.0.as_str(), gp));
    }
    out
}

fn connection(b: &B<'_>, conn: &str) -> NodeId {
    b.id(conn)
}

fn writer_group(b: &mut B<'_>, conn: &str, g: &PlannedGroup, objects: &[u32], store: &TagStore) -> Vec<(NodeId, Source)> {
    let gp = format!("{conn}/{}", g.name);
    let parent = connection(b, conn);
    let group = b.object(&gp, &g.name, ObjectTypeId::WriterGroupType, &parent, ReferenceTypeId::HasWriterGroup);
    b.var(&group, &gp, "WriterGroupId", DataTypeId::UInt16, Variant::UInt16(g.id), true);
    b.var(&group, &gp, "PublishingInterval", DataTypeId::Duration, Variant::Double(g.interval_ms as f64), true);
    b.var(&group, &gp, "KeepAliveTime", DataTypeId::Duration, Variant::Double(g.interval_ms as f64), true);
    b.var(&group, &gp, "MaxNetworkMessageSize", DataTypeId::UInt32, Variant::UInt32(if g.max_size == 0 { 1472 } else { g.max_size as u32 }), true);
    b.status(&group, &gp, None, Some(&gp), None);
    let mut states = vec![(b.id(&format!("{gp}/Status/State")), Source::Switch(gp.clone()))];
    for (w, o) in g.writers.iter().zip(objects) {
        let wp = format!("{gp}/{}", w.name);
        let writer = b.writer_node(&wp, &group, &w.name, w.id, w.encoding);
        b.status(&writer, &wp, None, Some(&wp), None);
        states.push((b.id(&format!("{wp}/Status/State")), Source::Object(*o)));
        let variables = w.tags.iter().filter_map(|t| store.def(*t)).map(|d| NodeId::new(b.tags_ns, d.path())).collect();
        b.published_items(&format!("PublishedDataSets/{wp}"), &wp.replace('/', "."), &writer, variables);
    }
    states
}

fn reader_group(b: &mut B<'_>, conn: &str, name: &str, path: String) -> Vec<(NodeId, Source)> {
    let parent = connection(b, conn);
    let group = b.object(&path, name, ObjectTypeId::ReaderGroupType, &parent, ReferenceTypeId::HasReaderGroup);
    b.status(&group, &path, None, Some(&path), None);
    vec![(b.id(&format!("{path}/Status/State")), Source::Switch(path))]
}

fn reader(b: &mut B<'_>, rt: &FxRuntime, r: &PlannedReader, o: u32, store: &TagStore) -> Vec<(NodeId, Source)> {
    let gp = rt.reader_group_path(&r.group.0);
    let dp = format!("{gp}/{}", r.name);
    let group = b.id(&gp);
    let reader = b.object(&dp, &r.name, ObjectTypeId::DataSetReaderType, &group, ReferenceTypeId::HasDataSetReader);
    b.var(&reader, &dp, "PublisherId", DataTypeId::BaseDataType, r.key.0.to_variant(), true);
    b.var(&reader, &dp, "WriterGroupId", DataTypeId::UInt16, Variant::UInt16(r.key.1), true);
    b.var(&reader, &dp, "DataSetWriterId", DataTypeId::UInt16, Variant::UInt16(r.key.2), true);
    b.var(&reader, &dp, "MessageReceiveTimeout", DataTypeId::Duration, Variant::Double(r.timeout_ms as f64), true);
    b.status(&reader, &dp, None, Some(&rt.reader_path(&r.name)), None);
    let targets = r.targets.iter().filter_map(|t| store.def(*t)).map(|d| NodeId::new(b.tags_ns, d.path())).collect();
    b.subscribed(&reader, &dp, targets);
    vec![(b.id(&format!("{dp}/Status/State")), Source::Object(o))]
}
