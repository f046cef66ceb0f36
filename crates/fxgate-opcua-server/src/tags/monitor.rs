//! Monitored tag values: which tags have monitored items, and the pump that turns the tag
//! store's change batches into data-change notifications for them.
//!
//! Only watched tags cost anything here (their NodeId and a count); a change of a tag nobody
//! watches is skipped with one hash lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use fxgate_core::{ChangeBatch, TagId, TagStore};
use opcua::server::notify::SubscriptionDataNotifier;
use opcua::server::SubscriptionCache;
use opcua::types::{AttributeId, DataValue, NodeId};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// One watched tag: its NodeId and how many monitored items watch it.
#[derive(Debug)]
struct Watch {
    node: Arc<NodeId>,
    items: u32,
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

    /// A monitored item on `tag`'s value was created.
    pub fn add(&self, tag: TagId, node: &NodeId) {
        self.lock()
            .entry(tag)
            .or_insert_with(|| Watch { node: Arc::new(node.clone()), items: 0 })
            .items += 1;
    }

    /// A monitored item on `tag`'s value was deleted.
    pub fn remove(&self, tag: TagId) {
        let mut tags = self.lock();
        if let Some(w) = tags.get_mut(&tag) {
            w.items = w.items.saturating_sub(1);
            if w.items == 0 {
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

    /// The watched entries of `batch`, in its order, with their NodeIds (the lock is held only
    /// to copy them): a tag changed twice in one batch is there twice.
    fn targets<'a>(&self, batch: &'a ChangeBatch) -> Vec<(Arc<NodeId>, &'a fxgate_core::TagValue)> {
        let tags = self.lock();
        if tags.is_empty() {
            return Vec::new();
        }
        batch.iter().filter_map(|(id, v)| tags.get(id).map(|w| (w.node.clone(), v))).collect()
    }

    fn all(&self) -> Vec<(TagId, Arc<NodeId>)> {
        self.lock().iter().map(|(id, w)| (*id, w.node.clone())).collect()
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
        for (node, value) in targets {
            deliver(&mut notifier, &node, value.to_data_value());
        }
    }

    fn resend(&self, subscriptions: &SubscriptionCache) {
        let mut notifier = subscriptions.data_notifier();
        for (id, node) in self.watched.all() {
            if let Some(dv) = self.store.with_value(id, |v| v.to_data_value()) {
                deliver(&mut notifier, &node, dv);
            }
        }
    }
}

/// Gives `dv` to every monitored item on the Value of `node`.
fn deliver(notifier: &mut SubscriptionDataNotifier<'_>, node: &NodeId, dv: DataValue) {
    if let Some(mut items) = notifier.notify_for(node, AttributeId::Value) {
        let handles: Vec<_> = items.entries().map(|(h, _)| *h).collect();
        for handle in handles {
            items.data_value_to_item(dv.clone(), &handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_items_per_tag() {
        let w = Watched::default();
        let n = NodeId::new(2, "Demo/A");
        w.add(1, &n);
        w.add(1, &n);
        w.add(2, &NodeId::new(2, "Demo/B"));
        assert_eq!(w.len(), 2);
        let batch: ChangeBatch = Arc::new(vec![(1, fxgate_core::TagValue::good(1.0)), (3, fxgate_core::TagValue::good(3.0))]);
        let got: Vec<_> = w.targets(&batch).into_iter().map(|(n, v)| ((*n).clone(), v.value.clone())).collect();
        assert_eq!(got, [(n.clone(), opcua::types::Variant::Double(1.0))]);
        assert_eq!(w.all().len(), 2);
        w.remove(1);
        assert_eq!(w.len(), 2);
        w.remove(1);
        w.remove(2);
        w.remove(2);
        assert!(w.is_empty());
    }
}
