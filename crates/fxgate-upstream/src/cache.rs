//! What the gateway remembers of an upstream: the last value of every attribute it read
//! or was notified of (for `maxAge` reads and for answering while the upstream is gone), and
//! the last result of every complete Browse (so its folder still browses while it is gone).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use opcua::types::{AttributeId, DataValue, NodeId, ReferenceDescription};
use parking_lot::Mutex;

/// Entries beyond which a cache starts over (a bound on memory, not a tuning knob).
const MAX_ENTRIES: usize = 500_000;

/// The key of a Browse result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrowseKey {
    /// Browsed node (gateway id).
    pub node: NodeId,
    /// Direction (BrowseDirection as a number).
    pub direction: u32,
    /// Reference type (gateway id).
    pub reference_type: NodeId,
    /// With subtypes.
    pub subtypes: bool,
    /// Node class mask.
    pub class_mask: u32,
    /// Result mask.
    pub result_mask: u32,
}

/// Values and browse results of one upstream, in gateway ids.
#[derive(Default)]
pub struct Cache {
    values: Mutex<HashMap<(NodeId, AttributeId), (DataValue, Instant)>>,
    browse: Mutex<HashMap<BrowseKey, Vec<ReferenceDescription>>>,
    /// Every reference of a node (both directions, all types), fetched at connect.
    all_refs: Mutex<HashMap<NodeId, Vec<ReferenceDescription>>>,
}

impl Cache {
    /// Remembers `dv` as the value of `attribute` of `node`, received now.
    pub fn put(&self, node: &NodeId, attribute: AttributeId, dv: &DataValue) {
        let mut v = self.values.lock();
        if v.len() >= MAX_ENTRIES {
            v.clear();
        }
        v.insert((node.clone(), attribute), (dv.clone(), Instant::now()));
    }

    /// The last value of `attribute` of `node` and its age.
    pub fn get(&self, node: &NodeId, attribute: AttributeId) -> Option<(DataValue, Duration)> {
        self.values
            .lock()
            .get(&(node.clone(), attribute))
            .map(|(dv, at)| (dv.clone(), at.elapsed()))
    }

    /// Remembers a complete Browse result.
    pub fn put_browse(&self, key: BrowseKey, refs: Vec<ReferenceDescription>) {
        let mut b = self.browse.lock();
        if b.len() >= MAX_ENTRIES / 10 {
            b.clear();
        }
        b.insert(key, refs);
    }

    /// The last complete Browse result for `key`.
    pub fn get_browse(&self, key: &BrowseKey) -> Option<Vec<ReferenceDescription>> {
        self.browse.lock().get(key).cloned()
    }
}

impl Cache {
    /// Forgets the value of `attribute` of `node` (after a write).
    pub fn forget(&self, node: &NodeId, attribute: AttributeId) {
        self.values.lock().remove(&(node.clone(), attribute));
    }
}

impl Cache {
    /// Remembers every reference of `node`.
    pub fn put_all_refs(&self, node: NodeId, refs: Vec<ReferenceDescription>) {
        let mut a = self.all_refs.lock();
        if a.len() >= MAX_ENTRIES / 10 {
            a.clear();
        }
        a.insert(node, refs);
    }

    /// Every reference of `node`, if known.
    pub fn get_all_refs(&self, node: &NodeId) -> Option<Vec<ReferenceDescription>> {
        self.all_refs.lock().get(node).cloned()
    }
}

impl Cache {
    /// Remembers the names and class a reference tells about its target, so that they can
    /// be read while the upstream is gone.
    pub fn learn_from(&self, r: &ReferenceDescription) {
        if r.node_id.server_index != 0 || r.browse_name.is_null() {
            return;
        }
        let id = &r.node_id.node_id;
        self.put(id, AttributeId::BrowseName, &DataValue::value_only(r.browse_name.clone()));
        self.put(id, AttributeId::DisplayName, &DataValue::value_only(r.display_name.clone()));
        self.put(id, AttributeId::NodeClass, &DataValue::value_only(r.node_class as i32));
        self.put(id, AttributeId::NodeId, &DataValue::value_only(id.clone()));
    }
}
