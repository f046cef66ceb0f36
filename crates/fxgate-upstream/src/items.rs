//! Shared monitored items: every downstream monitored item on the same upstream node and
//! attribute is served by one upstream monitored item, sampled at the fastest interval and
//! queued as deep as the most demanding of them asks.

use std::collections::HashMap;
use std::sync::Arc;

use opcua::server::MonitoredItemHandle;
use opcua::types::{AttributeId, NodeId};
use parking_lot::Mutex;

/// Deepest upstream queue the gateway asks for.
const MAX_QUEUE: u32 = 1000;

/// What one downstream monitored item asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Want {
    /// Sampling interval in ms.
    pub sampling: f64,
    /// Queue size.
    pub queue: u32,
}

/// The gateway node and attribute an upstream monitored item watches.
pub type Key = (NodeId, AttributeId);

/// One upstream monitored item and its downstream users.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Node and attribute (gateway ids).
    pub key: Key,
    /// Client handle of the upstream item.
    pub client_handle: u32,
    /// The upstream's id of the item, while it exists there.
    pub upstream_id: Option<u32>,
    /// Parameters the upstream item was created or last modified with.
    pub applied: Want,
    wants: HashMap<MonitoredItemHandle, Want>,
    /// The handles of `wants`, shared with each notification without a copy.
    live: Arc<[MonitoredItemHandle]>,
}

impl Shared {
    /// Makes `live` the handles of `wants` again.
    fn refresh(&mut self) {
        self.live = self.wants.keys().copied().collect();
    }

    /// The parameters that satisfy every user.
    pub fn wanted(&self) -> Want {
        let mut w = Want {
            sampling: f64::MAX,
            queue: 1,
        };
        for x in self.wants.values() {
            w.sampling = w.sampling.min(x.sampling.max(0.0));
            w.queue = w.queue.max(x.queue.min(MAX_QUEUE));
        }
        if w.sampling == f64::MAX {
            w.sampling = 0.0;
        }
        w
    }
}

/// What the upstream must be told after a change of the registry.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing.
    None,
    /// Create an upstream item with this client handle.
    Create(u32),
    /// Modify the upstream item (client handle) to new parameters.
    Modify(u32),
    /// Delete the upstream item (its upstream id, if it exists there).
    Delete(Option<u32>),
}

#[derive(Default)]
struct Inner {
    items: HashMap<Key, Shared>,
    by_handle: HashMap<MonitoredItemHandle, Key>,
    by_client: HashMap<u32, Key>,
    next_client: u32,
}

/// All shared items of one upstream.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    /// Adds a downstream item; says whether the upstream item must be created or modified.
    pub fn add(&self, handle: MonitoredItemHandle, key: Key, want: Want) -> Action {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        inner.by_handle.insert(handle, key.clone());
        if let Some(s) = inner.items.get_mut(&key) {
            s.wants.insert(handle, want);
            s.refresh();
            return if s.wanted() != s.applied {
                Action::Modify(s.client_handle)
            } else {
                Action::None
            };
        }
        inner.next_client = inner.next_client.wrapping_add(1).max(1);
        let ch = inner.next_client;
        let mut wants = HashMap::new();
        wants.insert(handle, want);
        inner.by_client.insert(ch, key.clone());
        inner.items.insert(
            key.clone(),
            Shared {
                key,
                client_handle: ch,
                upstream_id: None,
                applied: want,
                wants,
                live: Arc::from([handle]),
            },
        );
        Action::Create(ch)
    }

    /// Changes what a downstream item asks for.
    pub fn modify(&self, handle: MonitoredItemHandle, want: Want) -> Action {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let Some(key) = inner.by_handle.get(&handle) else {
            return Action::None;
        };
        let Some(s) = inner.items.get_mut(key) else {
            return Action::None;
        };
        s.wants.insert(handle, want);
        if s.wanted() != s.applied {
            Action::Modify(s.client_handle)
        } else {
            Action::None
        }
    }

    /// Removes a downstream item; says whether the upstream item must go.
    pub fn remove(&self, handle: MonitoredItemHandle) -> Action {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let Some(key) = inner.by_handle.remove(&handle) else {
            return Action::None;
        };
        let Some(s) = inner.items.get_mut(&key) else {
            return Action::None;
        };
        s.wants.remove(&handle);
        s.refresh();
        if !s.wants.is_empty() {
            return if s.wanted() != s.applied {
                Action::Modify(s.client_handle)
            } else {
                Action::None
            };
        }
        let ch = s.client_handle;
        let id = s.upstream_id;
        inner.items.remove(&key);
        inner.by_client.remove(&ch);
        Action::Delete(id)
    }

    /// The item with client handle `ch`.
    pub fn by_client(&self, ch: u32) -> Option<Shared> {
        let g = self.inner.lock();
        g.by_client.get(&ch).and_then(|k| g.items.get(k)).cloned()
    }

    /// The key an upstream notification with client handle `ch` is for.
    pub fn key_of(&self, ch: u32) -> Option<Key> {
        self.inner.lock().by_client.get(&ch).cloned()
    }

    /// The keys of the upstream notifications `values` (by client handle) and the downstream
    /// items each one is for, under one lock, in their order; values of unknown client handles
    /// are left out.
    pub fn targets_of<T>(&self, values: Vec<(u32, T)>) -> Vec<(Key, Arc<[MonitoredItemHandle]>, T)> {
        let g = self.inner.lock();
        values
            .into_iter()
            .filter_map(|(ch, v)| {
                let key = g.by_client.get(&ch)?;
                let s = g.items.get(key)?;
                Some((key.clone(), s.live.clone(), v))
            })
            .collect()
    }

    /// Records the upstream's id and the applied parameters of an item.
    pub fn set_created(&self, ch: u32, upstream_id: Option<u32>, applied: Want) {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        if let Some(s) = inner.by_client.get(&ch).and_then(|k| inner.items.get_mut(k)) {
            s.upstream_id = upstream_id;
            s.applied = applied;
        }
    }

    /// Forgets every upstream id (the session that held them is gone).
    pub fn clear_upstream_ids(&self) {
        for s in self.inner.lock().items.values_mut() {
            s.upstream_id = None;
        }
    }

    /// Every shared item.
    pub fn all(&self) -> Vec<Shared> {
        self.inner.lock().items.values().cloned().collect()
    }

    /// Number of shared (upstream) items.
    pub fn len(&self) -> usize {
        self.inner.lock().items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of upstream items that exist on the upstream now.
    pub fn live(&self) -> usize {
        self.inner.lock().items.values().filter(|s| s.upstream_id.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(sub: u32, id: u32) -> MonitoredItemHandle {
        MonitoredItemHandle {
            subscription_id: sub,
            monitored_item_id: id,
        }
    }

    #[test]
    fn many_clients_share_one_item() {
        let r = Registry::default();
        let key: Key = (NodeId::new(5, "a"), AttributeId::Value);
        let slow = Want { sampling: 1000.0, queue: 1 };
        let fast = Want { sampling: 100.0, queue: 5 };
        let Action::Create(ch) = r.add(h(1, 1), key.clone(), slow) else { panic!("no create") };
        r.set_created(ch, Some(77), slow);
        assert_eq!(r.add(h(2, 1), key.clone(), fast), Action::Modify(ch));
        let s = r.by_client(ch).unwrap();
        assert_eq!(s.wanted(), Want { sampling: 100.0, queue: 5 });
        r.set_created(ch, Some(77), s.wanted());
        assert_eq!(r.add(h(3, 1), key.clone(), slow), Action::None);
        assert_eq!(r.len(), 1);
        // the fast one leaves: back to the slow rate
        assert_eq!(r.remove(h(2, 1)), Action::Modify(ch));
        r.set_created(ch, Some(77), slow);
        assert_eq!(r.remove(h(1, 1)), Action::None);
        assert_eq!(r.remove(h(3, 1)), Action::Delete(Some(77)));
        assert!(r.is_empty());
        assert_eq!(r.key_of(ch), None);
    }

    #[test]
    fn notifications_go_to_the_items_alive_now() {
        let r = Registry::default();
        let a: Key = (NodeId::new(5, "a"), AttributeId::Value);
        let b: Key = (NodeId::new(5, "b"), AttributeId::Value);
        let w = Want { sampling: 0.0, queue: 1 };
        let Action::Create(ca) = r.add(h(1, 1), a.clone(), w) else { panic!("no create") };
        r.add(h(2, 4), a.clone(), w);
        let Action::Create(cb) = r.add(h(1, 2), b.clone(), w) else { panic!("no create") };
        let sorted = |x: &[MonitoredItemHandle]| {
            let mut v = x.to_vec();
            v.sort_by_key(|h| (h.subscription_id, h.monitored_item_id));
            v
        };
        let got = r.targets_of(vec![(cb, 1.0), (999, 2.0), (ca, 3.0)]);
        assert_eq!(got.len(), 2, "the unknown client handle is left out");
        assert_eq!((&got[0].0, sorted(&got[0].1), got[0].2), (&b, vec![h(1, 2)], 1.0));
        assert_eq!((&got[1].0, sorted(&got[1].1), got[1].2), (&a, vec![h(1, 1), h(2, 4)], 3.0));
        // subscription 2 is deleted: its item is no longer given anything
        r.remove(h(2, 4));
        let got = r.targets_of(vec![(ca, 4.0)]);
        assert_eq!(sorted(&got[0].1), vec![h(1, 1)]);
        r.remove(h(1, 1));
        assert!(r.targets_of(vec![(ca, 5.0)]).is_empty());
    }
}
