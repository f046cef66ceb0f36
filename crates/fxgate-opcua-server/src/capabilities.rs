//! The limits of `[server]` in ServerCapabilities (OPC 10000-5 §6.3.2): async-opcua 0.19
//! enforces them but leaves their ServerCapabilities properties null (MaxSessions,
//! MaxSubscriptions, MaxSubscriptionsPerSession, MaxMonitoredItemsPerSubscription,
//! MaxMonitoredItemsQueueSize), so a client cannot learn them before it hits them. Their reads
//! are diverted from the core node manager and answered from the configuration.

use std::sync::Arc;

use async_trait::async_trait;
use fxgate_config::ServerConfig;
use opcua::server::node_manager::{ReadNode, RequestContext, ServerContext};
use opcua::types::{AttributeId, TimestampsToReturn, VariableId, Variant};

use crate::core_calls::{value_now, CoreDiverter, DiverterBuilder};

/// The diverter answering the limits of `server`.
pub fn server_limits(server: &ServerConfig) -> DiverterBuilder {
    let limits = Limits {
        max_sessions: saturate(server.max_sessions),
        max_subscriptions: saturate(server.max_sessions.saturating_mul(server.max_subscriptions_per_session)),
        per_session: saturate(server.max_subscriptions_per_session),
        per_subscription: saturate(server.max_monitored_items_per_subscription),
        queue_size: saturate(server.max_queue_size),
    };
    Box::new(move |_: &ServerContext| -> Arc<dyn CoreDiverter> { Arc::new(limits) })
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(Clone, Copy)]
struct Limits {
    max_sessions: u32,
    max_subscriptions: u32,
    per_session: u32,
    per_subscription: u32,
    queue_size: u32,
}

impl Limits {
    fn value(&self, node: &ReadNode) -> Option<u32> {
        let id = &node.node().node_id;
        if node.node().attribute_id != AttributeId::Value {
            return None;
        }
        let is = |v: VariableId| *id == v;
        if is(VariableId::Server_ServerCapabilities_MaxSessions) {
            Some(self.max_sessions)
        } else if is(VariableId::Server_ServerCapabilities_MaxSubscriptions) {
            Some(self.max_subscriptions)
        } else if is(VariableId::Server_ServerCapabilities_MaxSubscriptionsPerSession) {
            Some(self.per_session)
        } else if is(VariableId::Server_ServerCapabilities_MaxMonitoredItemsPerSubscription) {
            Some(self.per_subscription)
        } else if is(VariableId::Server_ServerCapabilities_MaxMonitoredItemsQueueSize) {
            Some(self.queue_size)
        } else {
            None
        }
    }
}

#[async_trait]
impl CoreDiverter for Limits {
    fn takes_read(&self, node: &ReadNode) -> bool {
        self.value(node).is_some()
    }

    async fn read(&self, _context: &RequestContext, timestamps: TimestampsToReturn, nodes: &mut [&mut ReadNode]) {
        for node in nodes.iter_mut() {
            if let Some(v) = self.value(node) {
                node.set_result(value_now(Variant::UInt32(v), timestamps));
            }
        }
    }
}
