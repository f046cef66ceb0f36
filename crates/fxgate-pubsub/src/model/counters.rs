//! The Diagnostics counters of the model (OPC 10000-14 §9.1.11, PubSubDiagnosticsCounterType):
//! each the sum of status tags, less what it showed when its Diagnostics object was last Reset;
//! TimeFirstChange is when it first went above 0 since the start or the last Reset (null before).

use opcua::types::{DateTime, NodeId, Variant};
use parking_lot::Mutex;

use fxgate_core::{TagId, TagStore};

/// One counter variable.
pub struct Counter {
    /// The counter.
    pub node: NodeId,
    /// Its TimeFirstChange property.
    pub first_change: NodeId,
    /// The status tags it adds up.
    pub tags: Vec<TagId>,
    /// Its Diagnostics object's Reset method.
    pub reset: NodeId,
    /// The sum at the last Reset, and TimeFirstChange.
    state: Mutex<(u64, Option<DateTime>)>,
}

impl Counter {
    /// A counter over `tags`, reset by `reset`.
    pub fn new(node: NodeId, first_change: NodeId, tags: Vec<TagId>, reset: NodeId) -> Self {
        Self { node, first_change, tags, reset, state: Mutex::new((0, None)) }
    }

    fn sum(&self, store: &TagStore) -> u64 {
        self.tags.iter().filter_map(|t| store.get(*t)).map(|v| fxgate_core::tag_type::to_f64(&v.value).unwrap_or(0.0) as u64).sum()
    }

    /// The counter's value now (and TimeFirstChange when it has just gone above 0).
    pub fn values(&self, store: &TagStore) -> Vec<(NodeId, Variant)> {
        let sum = self.sum(store);
        let mut st = self.state.lock();
        let shown = sum.saturating_sub(st.0);
        let mut out = vec![(self.node.clone(), Variant::UInt32(u32::try_from(shown).unwrap_or(u32::MAX)))];
        if shown > 0 && st.1.is_none() {
            let now = DateTime::now();
            st.1 = Some(now);
            out.push((self.first_change.clone(), Variant::DateTime(Box::new(now))));
        }
        out
    }

    /// Reset: from now on the counter shows what came after; TimeFirstChange is null again.
    pub fn reset(&self, store: &TagStore) -> Vec<(NodeId, Variant)> {
        *self.state.lock() = (self.sum(store), None);
        vec![(self.node.clone(), Variant::UInt32(0)), (self.first_change.clone(), Variant::DateTime(Box::new(DateTime::null())))]
    }
}
