//! The upstream subscription's NotificationMessages (OPC 10000-4 §7.25), taken whole: the
//! data changes of one message are mapped to gateway ids under one registry lock, cached
//! under one cache lock and handed to the gateway's subscriptions in one batch.
//!
//! async-opcua's per-item callbacks (`SubscriptionCallbacks`) look every notification up in
//! the client's own item maps and call back once per value; at 100,000 changes per second
//! that lookup and the per-value locking were a third of the gateway's CPU. fxgate's client
//! handles are its own registry's, so the message is mapped with that registry alone.

use std::sync::{Arc, Weak};

use opcua::client::{MonitoredItemMap, OnSubscriptionNotificationCore};
use opcua::types::{DataChangeNotification, DataValue, EventNotificationList, NotificationMessage};

use super::Upstream;
use crate::events::EventFields;
use crate::mapping::NsMapping;

/// Receives the NotificationMessages of one upstream session's subscription.
pub(super) struct Notifications {
    /// The upstream (gone once it is dropped).
    pub up: Weak<Upstream>,
    /// The session's namespace mapping.
    pub map: Arc<NsMapping>,
    /// The event fields the session's event items select.
    pub events: Arc<EventFields>,
}

impl OnSubscriptionNotificationCore for Notifications {
    fn on_subscription_notification(&mut self, notification: NotificationMessage, _items: MonitoredItemMap<'_>) {
        let Some(up) = self.up.upgrade() else {
            return;
        };
        for obj in notification.notification_data.into_iter().flatten() {
            if obj.inner_as::<DataChangeNotification>().is_some() {
                let Some(dc) = obj.into_inner_as::<DataChangeNotification>() else { continue };
                let values: Vec<(u32, DataValue)> =
                    dc.monitored_items.into_iter().flatten().map(|n| (n.client_handle, n.value)).collect();
                up.on_data(&self.map, values);
            } else if let Some(list) = obj.inner_as::<EventNotificationList>() {
                for e in list.events.iter().flatten() {
                    up.on_event(&self.map, &self.events, e.event_fields.clone(), e.client_handle);
                }
            }
            // StatusChangeNotification: a lost subscription ends the session, which the
            // supervisor sees and recovers from (module `supervisor`).
        }
    }
}
