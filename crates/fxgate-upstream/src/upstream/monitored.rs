//! The upstream side of the shared monitored items (OPC 10000-4 §5.12): one upstream item
//! per node and attribute in the session's one subscription, created, modified and deleted
//! in chunks, and the notifications of its Publish responses (OPC 10000-4 §5.13.5) mapped to
//! gateway ids.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use opcua::types::{
    AttributeId, DataChangeFilter, DataChangeTrigger, DataValue, DateTime, DeadbandType, ExtensionObject,
    MonitoredItemCreateRequest, MonitoredItemModifyRequest, MonitoringMode, MonitoringParameters, ReadValueId,
    StatusCode, TimestampsToReturn, Variant,
};

use super::{ItemChange, Live, Upstream};
use crate::events::{EventFields, ForwardedEvent};
use crate::mapping::NsMapping;

/// Minimum queue of an upstream event item.
const EVENT_QUEUE: u32 = 1000;

impl Upstream {
    /// The value changes of one NotificationMessage (by client handle), in its order:
    /// mapped to gateway ids, cached and given to the downstream items of each as one batch.
    /// Changes of an item deleted meanwhile (still in flight) are dropped.
    pub(super) fn on_data(&self, map: &NsMapping, values: Vec<(u32, DataValue)>) {
        let changes: Vec<ItemChange> = self
            .items
            .targets_of(values)
            .into_iter()
            .map(|((node, attr), items, dv)| (node, attr, map.data_value_to_gw(dv), items))
            .collect();
        if changes.is_empty() {
            return;
        }
        self.cache.put_all(changes.iter().map(|(n, a, dv, _)| (n, *a, dv)));
        if let Some(n) = self.notify.get() {
            n.item_values(changes);
        }
    }

    /// Events of a shared EventNotifier item (by its client handle).
    pub(super) fn on_event(&self, map: &NsMapping, fields: &Arc<EventFields>, values: Option<Vec<Variant>>, ch: u32) {
        let Some((node, AttributeId::EventNotifier)) = self.items.key_of(ch) else {
            return;
        };
        let values: Vec<Variant> = values.unwrap_or_default().into_iter().map(|v| map.variant_to_gw(v)).collect();
        if let Some(n) = self.notify.get() {
            n.events(&node, vec![ForwardedEvent::new(fields.clone(), values)]);
        }
    }

    /// The monitoring parameters of a shared item towards the upstream: event items get the
    /// filter selecting every event field, no sampling and a deep queue (events must not be
    /// dropped between two Publish responses). Value items report a new source timestamp
    /// even when value and status stay (trigger StatusValueTimestamp): a downstream item with
    /// that trigger must see it, and each downstream item's own filter (deadband, trigger) is
    /// applied by the gateway's server. async-opcua does not make the downstream filters
    /// readable by a node manager (`CreateMonitoredItem::filter` returns a type its crate does
    /// not export), so the upstream item cannot ask for it only when one of them does.
    /// No filter once the upstream refused one (`Live::no_stamps`).
    fn parameters(live: &Live, attribute: AttributeId, ch: u32, want: crate::items::Want) -> MonitoringParameters {
        if attribute == AttributeId::EventNotifier {
            return MonitoringParameters {
                client_handle: ch,
                sampling_interval: 0.0,
                filter: live.events.filter(),
                queue_size: want.queue.max(EVENT_QUEUE),
                discard_oldest: true,
            };
        }
        let filter = if attribute == AttributeId::Value && !live.no_stamps.load(Ordering::Relaxed) {
            ExtensionObject::from_message(DataChangeFilter {
                trigger: DataChangeTrigger::StatusValueTimestamp,
                deadband_type: DeadbandType::None as u32,
                deadband_value: 0.0,
            })
        } else {
            ExtensionObject::null()
        };
        MonitoringParameters {
            client_handle: ch,
            sampling_interval: want.sampling,
            filter,
            queue_size: want.queue,
            discard_oldest: true,
        }
    }

    /// Creates the upstream items of these client handles (in chunks). Value items an
    /// upstream refuses because of their DataChangeFilter are created again without one.
    pub async fn create_items(&self, live: &Live, client_handles: &[u32]) {
        for chunk in client_handles.chunks(500) {
            let plain = self.create_chunk(live, chunk).await;
            if !plain.is_empty() {
                if !live.no_stamps.swap(true, Ordering::Relaxed) {
                    tracing::info!(upstream = %self.name, "upstream refused the StatusValueTimestamp trigger; its items report value and status changes only");
                }
                self.create_chunk(live, &plain).await;
            }
        }
        self.report();
    }

    /// Creates the upstream items of at most one chunk; returns those refused for their filter.
    async fn create_chunk(&self, live: &Live, chunk: &[u32]) -> Vec<u32> {
        let mut refused_filter = Vec::new();
        let mut reqs = Vec::with_capacity(chunk.len());
        let mut sent = Vec::with_capacity(chunk.len());
        for ch in chunk {
            let Some(s) = self.items.by_client(*ch) else { continue };
            let want = s.wanted();
            let Some(up) = live.map.node_to_up(&s.key.0) else {
                self.items.set_created(*ch, None, want);
                continue;
            };
            reqs.push(MonitoredItemCreateRequest {
                item_to_monitor: ReadValueId {
                    node_id: up,
                    attribute_id: s.key.1 as u32,
                    ..Default::default()
                },
                monitoring_mode: MonitoringMode::Reporting,
                requested_parameters: Self::parameters(live, s.key.1, *ch, want),
            });
            sent.push((*ch, want, s.key.1));
        }
        if reqs.is_empty() {
            return refused_filter;
        }
        let results = match live
            .session
            .create_monitored_items(live.subscription_id, TimestampsToReturn::Both, reqs)
            .await
        {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!(upstream = %self.name, error = %e, "creating upstream monitored items failed");
                return refused_filter;
            }
        };
        for ((ch, want, attribute), r) in sent.into_iter().zip(results) {
            let status = r.result.status_code;
            if status.is_good() {
                self.items.set_created(ch, Some(r.result.monitored_item_id), want);
                continue;
            }
            let filter_refused = matches!(status, StatusCode::BadMonitoredItemFilterUnsupported | StatusCode::BadFilterNotAllowed | StatusCode::BadMonitoredItemFilterInvalid);
            if attribute == AttributeId::Value && filter_refused && !live.no_stamps.load(Ordering::Relaxed) {
                refused_filter.push(ch);
                continue;
            }
            tracing::info!(upstream = %self.name, %status, "upstream refused a monitored item");
            self.items.set_created(ch, None, want);
            if let Some((node, attr)) = self.items.key_of(ch) {
                let dv = DataValue {
                    status: Some(status),
                    server_timestamp: Some(DateTime::now()),
                    ..Default::default()
                };
                if let Some(n) = self.notify.get() {
                    n.values(vec![(node, attr, dv)]);
                }
            }
        }
        refused_filter
    }

    /// Applies new parameters to upstream items.
    pub async fn modify_items(&self, live: &Live, client_handles: &[u32]) {
        for chunk in client_handles.chunks(500) {
            self.modify_chunk(live, chunk).await;
        }
    }

    /// Applies new parameters to at most one chunk of upstream items.
    async fn modify_chunk(&self, live: &Live, client_handles: &[u32]) {
        let mut reqs = Vec::new();
        let mut sent = Vec::new();
        for ch in client_handles {
            let Some(s) = self.items.by_client(*ch) else { continue };
            let Some(id) = s.upstream_id else { continue };
            let want = s.wanted();
            reqs.push(MonitoredItemModifyRequest {
                monitored_item_id: id,
                requested_parameters: Self::parameters(live, s.key.1, *ch, want),
            });
            sent.push((*ch, id, want));
        }
        if reqs.is_empty() {
            return;
        }
        if let Ok(results) = live
            .session
            .modify_monitored_items(live.subscription_id, TimestampsToReturn::Both, &reqs)
            .await
        {
            for ((ch, id, want), r) in sent.into_iter().zip(results) {
                if r.status_code.is_good() {
                    self.items.set_created(ch, Some(id), want);
                }
            }
        }
    }

    /// Deletes upstream items by their upstream ids.
    pub async fn delete_items(&self, live: &Live, ids: &[u32]) {
        if ids.is_empty() {
            return;
        }
        // servers limit operations per call (often 1,000)
        for chunk in ids.chunks(500) {
            match live.session.delete_monitored_items(live.subscription_id, chunk).await {
                Ok(statuses) => {
                    let bad = statuses.iter().filter(|s| s.is_bad()).count();
                    if bad > 0 {
                        tracing::warn!(upstream = %self.name, bad, "upstream refused to delete monitored items");
                    }
                }
                Err(e) => tracing::warn!(upstream = %self.name, error = %e, "deleting upstream monitored items failed"),
            }
        }
        self.report();
    }
}
