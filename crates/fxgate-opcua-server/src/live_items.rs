//! Data changes given to the monitored items a node manager knows to be alive, not to every
//! handle of async-opcua's per-node index.
//!
//! async-opcua 0.19 leaves a data monitored item in `SubscriptionCache`'s per-node index when
//! its subscription is deleted: `SubscriptionCache::delete_subscriptions`
//! (async-opcua-server `src/subscriptions/mod.rs`) removes only EventNotifier items from it, and
//! a session that closes deletes its subscriptions that way. Every client that goes away with
//! data items therefore leaves one dead handle per item there. `SubscriptionDataNotifier::notify`
//! and `SubscriptionDataNotifierBatch::data_value` copy each value for every handle of the index,
//! dead or alive, so the cost of a change would grow with each reconnect of a client
//! (`bench/run_churn.sh`). The index entries themselves cannot be removed from outside
//! async-opcua: their memory stays (about 100 bytes per dead item).
//!
//! A node manager that records the handles of the items it created (`create_monitored_items`)
//! and forgets them when they are deleted (`delete_monitored_items`, which async-opcua also calls
//! for the items of a deleted subscription) gives each change to those handles only.

use opcua::server::notify::SubscriptionDataNotifier;
use opcua::server::MonitoredItemHandle;
use opcua::types::{AttributeId, DataValue, NodeId};

/// Gives `dv` to each of `items`, the live monitored items on `attribute` of `node`.
/// async-opcua skips a disabled item, and drops the value for an item it does not hold.
pub fn notify_items(
    notifier: &mut SubscriptionDataNotifier<'_>,
    node: &NodeId,
    attribute: AttributeId,
    items: &[MonitoredItemHandle],
    dv: DataValue,
) {
    let Some((last, rest)) = items.split_last() else {
        return;
    };
    if let Some(mut batch) = notifier.notify_for(node, attribute) {
        for handle in rest {
            batch.data_value_to_item(dv.clone(), handle);
        }
        batch.data_value_to_item(dv, last);
    }
}
