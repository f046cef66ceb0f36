//! Standard methods called on upstream objects: a Call whose MethodId is in namespace 0
//! (Acknowledge, Confirm, AddComment on an upstream alarm condition, GetMonitoredItems on an
//! upstream's Server object, ...) and whose ObjectId is an upstream's node goes to that
//! upstream.
//!
//! async-opcua gives such a call to the core node manager, which knows nothing of upstream
//! objects. The server lets an extension divert calls from it ([`CoreDiverter`]):
//! [`UpstreamCalls`] takes the calls whose object is an upstream's node and hands them to the
//! [`ForwardNodeManager`], which maps and forwards them like its other calls (same access
//! check, Bad_NoCommunication while the upstream is unreachable). Calls on the gateway's own
//! objects (its Server object, ...) stay with the core node manager.

use std::sync::Arc;

use async_trait::async_trait;
use fxgate_opcua_server::{CoreDiverter, DiverterBuilder};
use opcua::server::node_manager::{MethodCall, NodeManager, NodeManagersRef, RequestContext, ServerContext};
use opcua::types::StatusCode;

use crate::node_manager::ForwardNodeManager;

/// The aggregation's diverter, made when the server is built.
pub fn upstream_calls() -> DiverterBuilder {
    Box::new(|context: &ServerContext| -> Arc<dyn CoreDiverter> {
        Arc::new(UpstreamCalls { node_managers: context.node_managers.clone() })
    })
}

/// Takes the standard calls on upstream objects for the aggregation's [`ForwardNodeManager`]
/// (found among the server's node managers at call time).
pub struct UpstreamCalls {
    node_managers: NodeManagersRef,
}

impl UpstreamCalls {
    fn forward(&self) -> Option<Arc<ForwardNodeManager>> {
        self.node_managers.get_of_type::<ForwardNodeManager>()
    }
}

#[async_trait]
impl CoreDiverter for UpstreamCalls {
    /// The objects of namespace 0 are all the core node manager's.
    fn takes_call(&self, call: &MethodCall) -> bool {
        call.object_id().namespace != 0 && self.forward().is_some_and(|f| f.forwards_standard_call(call.object_id()))
    }

    async fn call(&self, context: &RequestContext, calls: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        match self.forward() {
            Some(forward) => forward.call(context, calls).await,
            None => Err(StatusCode::BadNodeIdUnknown),
        }
    }
}
