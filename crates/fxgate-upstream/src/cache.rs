//! What the gateway remembers of an upstream: the last value of every attribute it read
//! or was notified of (for `maxAge` reads and for answering while the upstream is gone), and
//! the last result of every complete Browse (so its folder still browses while it is gone).
//!
//! Values are kept per node (one small list of attributes each), so that a lookup or an
//! update borrows the NodeId instead of building a key, and a whole Read takes the lock once
//! ([`Cache::values`], [`Cache::put_all`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use opcua::types::{AttributeId, DataValue, NodeId, ReferenceDescription};
use parking_lot::{Mutex, RwLock, RwLockReadGuard};

/// Entries beyond which a cache starts over (a bound on memory, not a tuning knob).
const MAX_ENTRIES: usize = 500_000;

/// The hash map of the values: NodeIds are hashed once per value of every Read, so with a
/// fast (randomly seeded) hasher rather than SipHash.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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

/// One remembered attribute value.
struct Slot {
    attribute: AttributeId,
    value: DataValue,
    at: Instant,
}

/// The remembered values of all nodes, and how many (node, attribute) entries they make.
#[derive(Default)]
struct Values {
    nodes: FastMap<NodeId, Vec<Slot>>,
    entries: usize,
}

impl Values {
    fn get(&self, node: &NodeId, attribute: AttributeId) -> Option<&Slot> {
        self.nodes.get(node)?.iter().find(|s| s.attribute == attribute)
    }

    fn put(&mut self, node: &NodeId, attribute: AttributeId, dv: &DataValue, at: Instant) {
        if let Some(slots) = self.nodes.get_mut(node) {
            if let Some(s) = slots.iter_mut().find(|s| s.attribute == attribute) {
                s.value = dv.clone();
                s.at = at;
                return;
            }
        }
        if self.entries >= MAX_ENTRIES {
            self.nodes.clear();
            self.entries = 0;
        }
        let slot = Slot {
            attribute,
            value: dv.clone(),
            at,
        };
        self.nodes.entry(node.clone()).or_default().push(slot);
        self.entries += 1;
    }

    fn remove(&mut self, node: &NodeId, attribute: AttributeId) {
        let Some(slots) = self.nodes.get_mut(node) else { return };
        let before = slots.len();
        slots.retain(|s| s.attribute != attribute);
        self.entries -= before - slots.len();
        if slots.is_empty() {
            self.nodes.remove(node);
        }
    }
}

/// Values and browse results of one upstream, in gateway ids.
#[derive(Default)]
pub struct Cache {
    values: RwLock<Values>,
    browse: Mutex<HashMap<BrowseKey, Vec<ReferenceDescription>>>,
    /// Every reference of a node (both directions, all types), fetched at connect.
    all_refs: Mutex<HashMap<NodeId, Vec<ReferenceDescription>>>,
}

/// The remembered values, read-locked for a batch of lookups (one lock per Read instead of
/// one per value). Do not hold it across an `.await`.
pub struct CachedValues<'a> {
    values: RwLockReadGuard<'a, Values>,
    now: Instant,
}

impl CachedValues<'_> {
    /// The last value of `attribute` of `node` and its age (as of when the lock was taken).
    pub fn get(&self, node: &NodeId, attribute: AttributeId) -> Option<(DataValue, Duration)> {
        self.values
            .get(node, attribute)
            .map(|s| (s.value.clone(), self.now.saturating_duration_since(s.at)))
    }
}

impl Cache {
    /// Remembers `dv` as the value of `attribute` of `node`, received now.
    pub fn put(&self, node: &NodeId, attribute: AttributeId, dv: &DataValue) {
        self.values.write().put(node, attribute, dv, Instant::now());
    }

    /// Remembers several values received now, under one lock.
    pub fn put_all<'a>(&self, values: impl IntoIterator<Item = (&'a NodeId, AttributeId, &'a DataValue)>) {
        let mut iter = values.into_iter().peekable();
        if iter.peek().is_none() {
            return;
        }
        let now = Instant::now();
        let mut v = self.values.write();
        for (node, attribute, dv) in iter {
            v.put(node, attribute, dv, now);
        }
    }

    /// The last value of `attribute` of `node` and its age.
    pub fn get(&self, node: &NodeId, attribute: AttributeId) -> Option<(DataValue, Duration)> {
        self.values().get(node, attribute)
    }

    /// The remembered values, locked for several lookups.
    pub fn values(&self) -> CachedValues<'_> {
        CachedValues {
            values: self.values.read(),
            now: Instant::now(),
        }
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
        self.values.write().remove(node, attribute);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_per_node_and_attribute() {
        let c = Cache::default();
        let a = NodeId::new(3, "a");
        let b = NodeId::new(3, "b");
        c.put(&a, AttributeId::Value, &DataValue::value_only(1.0));
        c.put(&a, AttributeId::BrowseName, &DataValue::value_only("A"));
        c.put_all([(&b, AttributeId::Value, &DataValue::value_only(2.0))]);
        // an update replaces the value, it does not add an entry
        c.put(&a, AttributeId::Value, &DataValue::value_only(3.0));
        assert_eq!(c.values.read().entries, 3);
        let v = c.values();
        assert_eq!(v.get(&a, AttributeId::Value).map(|(dv, _)| dv.value), Some(Some(3.0.into())));
        assert_eq!(v.get(&b, AttributeId::Value).map(|(dv, _)| dv.value), Some(Some(2.0.into())));
        assert!(v.get(&b, AttributeId::BrowseName).is_none());
        assert!(v.get(&NodeId::new(3, "c"), AttributeId::Value).is_none());
        drop(v);
        c.forget(&a, AttributeId::Value);
        assert!(c.get(&a, AttributeId::Value).is_none());
        assert!(c.get(&a, AttributeId::BrowseName).is_some());
        c.forget(&a, AttributeId::BrowseName);
        assert_eq!(c.values.read().entries, 1);
        assert!(!c.values.read().nodes.contains_key(&a));
    }
}
