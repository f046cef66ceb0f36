//! Monitored items (OPC 10000-4 §5.12) of upstream nodes are shared: all client items on
//! one node and attribute use one upstream item (see [`crate::items`]), whose sampling
//! interval and queue follow the most demanding of them. The gateway's own nodes are
//! sampled by the server.

use std::collections::HashMap;
use std::sync::Arc;

use opcua::server::address_space::AccessLevel;
use opcua::server::node_manager::{MonitoredItemRef, MonitoredItemUpdateRef, RequestContext};
use opcua::server::CreateMonitoredItem;
use opcua::types::{AttributeId, MonitoringMode, StatusCode};

use super::read::ReadItem;
use super::route::Target;
use super::ForwardNodeManager;
use crate::items::{Action, Want};
use crate::upstream::Upstream;

/// Per upstream (by name): the upstream items to delete (upstream ids) and the shared items
/// to modify (client handles), whose remaining client items ask for less.
type Deletes = HashMap<String, (Arc<Upstream>, Vec<u32>, Vec<u32>)>;

impl ForwardNodeManager {
    /// CreateMonitoredItems (OPC 10000-4 §5.12.2): the gateway's own nodes are sampled here;
    /// upstream items are shared: one upstream item per node and attribute.
    pub(super) async fn create_monitored(
        &self,
        context: &RequestContext,
        items: &mut [&mut CreateMonitoredItem],
    ) -> Result<(), StatusCode> {
        let mut groups: HashMap<String, (Arc<Upstream>, Vec<usize>)> = HashMap::new();
        for (i, item) in items.iter_mut().enumerate() {
            let node = item.item_to_monitor().clone();
            match self.target(&node.node_id) {
                Some(Target::Local(local)) => {
                    let dv = self.read_local(context, &local, node.attribute_id);
                    if dv.status.is_some_and(|s| s.is_bad()) {
                        item.set_status(dv.status.unwrap_or(StatusCode::BadAttributeIdInvalid));
                    } else {
                        item.set_initial_value(dv);
                        item.set_status(StatusCode::Good);
                    }
                }
                Some(Target::Upstream(up)) => {
                    if !self.may(context, &node.node_id, AccessLevel::CURRENT_READ) {
                        item.set_status(StatusCode::BadUserAccessDenied);
                        continue;
                    }
                    groups.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new())).1.push(i);
                }
                None => {}
            }
        }
        for (_, (up, idx)) in groups {
            let ids: Vec<ReadItem> = idx.iter().map(|i| ReadItem::of(items[*i].item_to_monitor())).collect();
            let initial = self.read_upstream(&up, &ids, 0.0).await;
            let mut create = Vec::new();
            let mut modify = Vec::new();
            for (i, dv) in idx.into_iter().zip(initial) {
                let item = &mut items[i];
                if let Some(s @ (StatusCode::BadNodeIdUnknown | StatusCode::BadAttributeIdInvalid | StatusCode::BadUserAccessDenied)) = dv.status {
                    item.set_status(s);
                    continue;
                }
                let is_events = item.item_to_monitor().attribute_id == AttributeId::EventNotifier;
                if is_events {
                    // like async-opcua's own node managers: only a node whose EventNotifier
                    // has SubscribeToEvents (checked when the upstream answers)
                    if let Some(opcua::types::Variant::Byte(b)) = &dv.value {
                        if b & 1 == 0 {
                            item.set_status(StatusCode::BadAttributeIdInvalid);
                            continue;
                        }
                    }
                }
                let node = item.item_to_monitor();
                let key = (node.node_id.clone(), node.attribute_id);
                let want = Want {
                    sampling: item.sampling_interval(),
                    queue: item.queue_size().min(u32::MAX as usize) as u32,
                };
                let action = up.items.add(item.handle(), key, want);
                match action {
                    Action::Create(ch) => create.push(ch),
                    Action::Modify(ch) => modify.push(ch),
                    _ => {}
                }
                if item.monitoring_mode() == MonitoringMode::Disabled || is_events {
                    item.set_status(StatusCode::Good);
                    continue;
                }
                item.set_initial_value(dv);
                item.set_status(StatusCode::Good);
            }
            if let Some(live) = up.live() {
                up.create_items(&live, &create).await;
                up.modify_items(&live, &modify).await;
            }
            up.report();
        }
        Ok(())
    }

    /// ModifyMonitoredItems (OPC 10000-4 §5.12.3): the shared upstream items follow the
    /// most demanding client item.
    pub(super) async fn modify_monitored(&self, _context: &RequestContext, items: &[&MonitoredItemUpdateRef]) {
        let mut groups: HashMap<String, (Arc<Upstream>, Vec<u32>)> = HashMap::new();
        for item in items {
            if let Some(Target::Upstream(up)) = self.target(item.node_id()) {
                let u = item.update();
                let want = Want {
                    sampling: u.revised_sampling_interval,
                    queue: u.revised_queue_size,
                };
                if let Action::Modify(ch) = up.items.modify(item.handle(), want) {
                    groups.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new())).1.push(ch);
                }
            }
        }
        for (_, (up, chs)) in groups {
            if let Some(live) = up.live() {
                up.modify_items(&live, &chs).await;
            }
        }
    }

    /// DeleteMonitoredItems (OPC 10000-4 §5.12.6): an upstream item goes when its last client
    /// item goes.
    pub(super) async fn delete_monitored(&self, _context: &RequestContext, items: &[&MonitoredItemRef]) {
        let mut deletes: Deletes = HashMap::new();
        for item in items {
            if let Some(Target::Upstream(up)) = self.target(item.node_id()) {
                let e = deletes.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new(), Vec::new()));
                match up.items.remove(item.handle()) {
                    Action::Delete(Some(id)) => e.1.push(id),
                    Action::Modify(ch) => e.2.push(ch),
                    _ => {}
                }
            }
        }
        for (_, (up, ids, chs)) in deletes {
            if let Some(live) = up.live() {
                up.delete_items(&live, &ids).await;
                up.modify_items(&live, &chs).await;
            }
            up.report();
        }
    }
}
