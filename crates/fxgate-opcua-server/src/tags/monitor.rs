//! Monitored tag values: which tags have monitored items, and the pump that turns the tag
//! store's change batches into data-change notifications for them.
//!
//! Only watched tags cost anything here (their NodeId and their items' handles); a change of
//! a tag nobody watches is skipped with one hash lookup. Changes go to the handles of the
//! items this manager created and has not seen deleted (`crate::live_items`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use fxgate_core::{ChangeBatch, TagId, TagStore};
use opcua::server::notify::SubscriptionDataNotifier;
use opcua::server::{MonitoredItemHandle, SubscriptionCache};
use opcua::types::{AttributeId, DataValue, NodeId};

use crate::live_items::notify_items;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// The monitored items of one watched tag: its NodeId and their handles (copied on write,
/// shared with the pump without a copy per change).
#[derive(Debug, Clone)]
struct Watch {
    node: Arc<NodeId>,
    handles: Arc<[MonitoredItemHandle]>,
}

/// The tags that monitored items watch.
#[derive(Debug, Default)]
pub struct Watched {
    tags: Mutex<HashMap<TagId, Watch>>,
}

impl Watched {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TagId, Watch>> {
        // The map stays consistent whatever a panicking holder did: each change is one call.
        self.tags.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The monitored item `handle` on `tag`'s value was created.
    pub fn add(&self, tag: TagId, node: &NodeId, handle: MonitoredItemHandle) {
        let mut tags = self.lock();
        let w = tags.entry(tag).or_insert_with(|| Watch { node: Arc::new(node.clone()), handles: Arc::from([]) });
        if !w.handles.contains(&handle) {
            w.handles = w.handles.iter().copied().chain([handle]).collect();
        }
    }

    /// The monitored item `handle` on `tag`'s value was deleted.
    pub fn remove(&self, tag: TagId, handle: MonitoredItemHandle) {
        let mut tags = self.lock();
        if let Some(w) = tags.get_mut(&tag) {
            w.handles = w.handles.iter().copied().filter(|h| *h != handle).collect();
            if w.handles.is_empty() {
                tags.remove(&tag);
            }
        }
    }

    /// How many tags are watched.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no tag is watched.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The watched entries of `batch`, in its order, with their items (the lock is held only
    /// to copy them): a tag changed twice in one batch is there twice.
    fn targets<'a>(&self, batch: &'a ChangeBatch) -> Vec<(Watch, &'a fxgate_core::TagValue)> {
        let tags = self.lock();
        if tags.is_empty() {
            return Vec::new();
        }
        batch.iter().filter_map(|(id, v)| tags.get(id).map(|w| (w.clone(), v))).collect()
    }

    fn all(&self) -> Vec<(TagId, Watch)> {
        self.lock().iter().map(|(id, w)| (*id, w.clone())).collect()
    }
}

/// Pushes change batches from the store to the monitored items that watch them.
pub struct ChangePump {
    /// The store whose changes are pushed.
    pub store: Arc<TagStore>,
    /// The watched tags.
    pub watched: Arc<Watched>,
}

impl ChangePump {
    /// Runs until `shutdown`: each change batch to the monitored items of its watched tags.
    pub fn spawn(self, subscriptions: Arc<SubscriptionCache>, shutdown: CancellationToken) {
        let mut rx = self.store.subscribe();
        tokio::spawn(async move {
            loop {
                let batch = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    r = rx.recv() => r,
                };
                match batch {
                    Ok(batch) => self.notify(&subscriptions, &batch),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "OPC UA change pump fell behind; resending every watched value");
                        self.resend(&subscriptions);
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    fn notify(&self, subscriptions: &SubscriptionCache, batch: &ChangeBatch) {
        let targets = self.watched.targets(batch);
        if targets.is_empty() {
            return;
        }
        let mut notifier = subscriptions.data_notifier();
        for (watch, value) in targets {
            deliver(&mut notifier, &watch, value.to_data_value());
        }
    }

    fn resend(&self, subscriptions: &SubscriptionCache) {
        let mut notifier = subscriptions.data_notifier();
        for (id, watch) in self.watched.all() {
            if let Some(dv) = self.store.with_value(id, |v| v.to_data_value()) {
                deliver(&mut notifier, &watch, dv);
            }
        }
    }
}

/// Gives `dv` to each monitored item of `watch`.
fn deliver(notifier: &mut SubscriptionDataNotifier<'_>, watch: &Watch, dv: DataValue) {
    notify_items(notifier, &watch.node, AttributeId::Value, &watch.handles, dv);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(sub: u32, item: u32) -> MonitoredItemHandle {
        MonitoredItemHandle { subscription_id: sub, monitored_item_id: item }
    }

    #[test]
    fn keeps_the_handles_per_tag() {
        let w = Watched::default();
        let n = NodeId::new(2, "Demo/A");
        w.add(1, &n, handle(1, 1));
        w.add(1, &n, handle(2, 7));
        w.add(1, &n, handle(2, 7));
        w.add(2, &NodeId::new(2, "Demo/B"), handle(1, 2));
        assert_eq!(w.len(), 2);
        let batch: ChangeBatch = Arc::new(vec![(1, fxgate_core::TagValue::good(1.0)), (3, fxgate_core::TagValue::good(3.0))]);
        let got: Vec<_> = w
            .targets(&batch)
            .into_iter()
            .map(|(w, v)| ((*w.node).clone(), w.handles.to_vec(), v.value.clone()))
            .collect();
        assert_eq!(got, [(n.clone(), vec![handle(1, 1), handle(2, 7)], opcua::types::Variant::Double(1.0))]);
        assert_eq!(w.all().len(), 2);
        w.remove(1, handle(1, 1));
        assert_eq!(w.len(), 2);
        w.remove(1, handle(9, 9));
        w.remove(1, handle(2, 7));
        w.remove(2, handle(1, 2));
        w.remove(2, handle(1, 2));
        assert!(w.is_empty());
    }
}
