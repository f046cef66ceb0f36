//! The Status of PubSub ConnectionEndpoints from their readers and writers (OPC 10000-81
//! §6.6.3, Figures 31–33), and CleanupTimeout (§6.6.2): the timer starts when Status leaves
//! Operational and stops when it returns; on expiry the endpoint is closed with Remove=TRUE
//! and an AuditConnectionCleanupEventType is raised. A task follows the PubSub runtime's
//! changes (and checks the timers every 100 ms).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::NodeManagersRef;
use opcua::sync::RwLock;
use opcua::types::{NodeId, ObjectId, Variant};

use fxgate_plugin::{PubSubObject, PubSubObjectState};

use crate::endpoints::Endpoint;
use crate::health::status;
use crate::node_manager::{FxNodeManager, FxNodeManagerImpl};

/// The Status of an endpoint of `mode` linked to `reader` and `writer` (None: no link, or
/// no such object any more).
pub fn derive(mode: i32, reader: Option<PubSubObjectState>, writer: Option<PubSubObjectState>) -> i32 {
    let (need_reader, need_writer) = super::links::required(mode);
    if (need_reader && reader.is_none()) || (need_writer && writer.is_none()) {
        return status::INITIAL;
    }
    let states: Vec<PubSubObjectState> = reader.into_iter().chain(writer).collect();
    if states.contains(&PubSubObjectState::Error) {
        status::ERROR
    } else if states.contains(&PubSubObjectState::Disabled) {
        status::READY
    } else if states.contains(&PubSubObjectState::PreOperational) {
        status::PRE_OPERATIONAL
    } else {
        status::OPERATIONAL
    }
}

/// The Status variable of `e`.
fn status_node(e: &Endpoint) -> Option<&NodeId> {
    e.nodes.iter().find(|n| matches!(&n.identifier, opcua::types::Identifier::String(s) if s.as_ref().ends_with("/Status")))
}

/// Recomputes every endpoint's Status, starts and stops their cleanup timers, and updates
/// the Status variables and the health of the components whose endpoints changed.
pub fn refresh(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>) {
    let Some(rt) = nm.pubsub() else { return };
    let now = Instant::now();
    let mut registry = nm.endpoints().lock();
    let mut values = Vec::new();
    let mut components = BTreeSet::new();
    for e in registry.iter_mut() {
        let state = |o: Option<PubSubObject>| o.and_then(|o| rt.state(o));
        let s = derive(e.mode, state(e.reader), state(e.writer));
        if s == e.status {
            continue;
        }
        if e.status == status::OPERATIONAL {
            e.left_operational = Some(now);
        }
        if s == status::OPERATIONAL {
            e.left_operational = None;
        }
        tracing::info!(endpoint = %e.node, from = e.status, to = s, "FX ConnectionEndpoint Status");
        e.status = s;
        if let Some(n) = status_node(e) {
            values.push((n.clone(), Variant::Int32(s)));
        }
        components.insert(e.component);
    }
    if values.is_empty() {
        return;
    }
    let mut space = space.write();
    nm.set_values(&mut space, values);
    for c in components {
        nm.update_health(&mut space, &registry, c);
    }
}

/// Removes the endpoints whose CleanupTimeout ran out, with the audit event.
pub fn cleanup(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>) {
    let now = Instant::now();
    let expired: Vec<Endpoint> = nm
        .endpoints()
        .lock()
        .iter()
        .filter(|e| match e.left_operational {
            Some(t) if e.cleanup_timeout >= 0.0 => now.duration_since(t) >= Duration::from_secs_f64(e.cleanup_timeout / 1000.0),
            _ => false,
        })
        .cloned()
        .collect();
    for e in expired {
        tracing::warn!(endpoint = %e.node, timeout_ms = e.cleanup_timeout, "FX ConnectionEndpoint: not Operational for its CleanupTimeout: removed");
        nm.remove_endpoint(space, &e.node);
        let Some(c) = nm.model().components.get(e.component) else { continue };
        let event = super::audit::CleanupEvent::new(&nm.model().ns, &c.node, &c.name, &e.node, &e.related);
        if let Some(subs) = nm.subscriptions() {
            let server: NodeId = ObjectId::Server.into();
            subs.notify_events([(&event as &dyn opcua::nodes::Event, &c.node), (&event as &dyn opcua::nodes::Event, &server)].into_iter());
        }
    }
}

/// Follows the PubSub runtime: Status and cleanup on every change, and every 100 ms.
pub fn spawn(node_managers: NodeManagersRef, mut changes: tokio::sync::watch::Receiver<u64>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = tick.tick() => {}
            }
            let Some(nm) = node_managers.get_of_type::<FxNodeManager>() else { return };
            refresh(nm.inner(), nm.address_space());
            cleanup(nm.inner(), nm.address_space());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use PubSubObjectState::*;

    #[test]
    fn status_follows_the_required_objects() {
        // PublisherSubscriber needs both.
        assert_eq!(derive(1, Some(Operational), None), status::INITIAL);
        assert_eq!(derive(1, Some(Disabled), Some(Disabled)), status::READY);
        assert_eq!(derive(1, Some(PreOperational), Some(Operational)), status::PRE_OPERATIONAL);
        assert_eq!(derive(1, Some(Operational), Some(Operational)), status::OPERATIONAL);
        assert_eq!(derive(1, Some(Error), Some(Operational)), status::ERROR);
        assert_eq!(derive(1, Some(Error), Some(Disabled)), status::ERROR);
        // Publisher: the writer alone; Subscriber: the reader alone.
        assert_eq!(derive(2, None, Some(Operational)), status::OPERATIONAL);
        assert_eq!(derive(2, None, None), status::INITIAL);
        assert_eq!(derive(3, Some(PreOperational), None), status::PRE_OPERATIONAL);
        assert_eq!(derive(3, None, Some(Operational)), status::INITIAL);
    }
}
