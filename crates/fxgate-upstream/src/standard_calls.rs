//! Standard methods called on upstream objects: a Call whose MethodId is in namespace 0
//! (Acknowledge, Confirm, AddComment on an upstream alarm condition, GetMonitoredItems on an
//! upstream's Server object, ...) and whose ObjectId is an upstream's node goes to that
//! upstream.
//!
//! async-opcua routes each Call to the first node manager that owns its *MethodId*; for
//! namespace 0 that is the core node manager, which knows nothing of upstream objects. So the
//! core node manager is wrapped: [`StandardCalls`] answers every service exactly as the core
//! node manager does (each trait method is handed to it unchanged), except that the calls of
//! a Call request whose object is an upstream's node are handed to the
//! [`ForwardNodeManager`], which maps and forwards them like its other calls (same access
//! check, Bad_NoCommunication while the upstream is unreachable). Calls on the gateway's own
//! objects (its Server object, ...) stay with the core node manager.

use std::sync::Arc;

use async_trait::async_trait;
use opcua::nodes::DefaultTypeTree;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{CoreNodeManagerBuilder, InMemoryNodeManagerBuilder};
use opcua::server::node_manager::{
    AddNodeItem, AddReferenceItem, BrowseNode, BrowsePathItem, DeleteNodeItem, DeleteReferenceItem,
    DynNodeManager, ExternalReferenceRequest, HistoryNode, HistoryUpdateNode, MethodCall,
    MonitoredItemRef, MonitoredItemUpdateRef, NodeManager, NodeManagerBuilder, NodeManagersRef,
    QueryRequest, ReadNode, RegisterNodeItem, RequestContext, ServerContext, WriteNode,
};
use opcua::server::CreateMonitoredItem;
use opcua::types::{
    ExpandedNodeId, MonitoringMode, NodeId, ReadAnnotationDataDetails, ReadAtTimeDetails,
    ReadEventDetails, ReadProcessedDetails, ReadRawModifiedDetails, StatusCode, TimestampsToReturn,
};

use crate::node_manager::ForwardNodeManager;

/// Builds the server's core node manager (namespace 0, as `ServerBuilder::new()` adds it)
/// wrapped in [`StandardCalls`]. Use it in place of the default one:
/// `ServerBuilder::new().without_node_managers()`, then this, then async-opcua's
/// `DiagnosticsNodeManagerBuilder` (the other default), then the gateway's own.
pub fn core_node_manager() -> impl FnOnce(ServerContext) -> StandardCalls {
    move |context: ServerContext| {
        let core = Box::new(InMemoryNodeManagerBuilder::new(CoreNodeManagerBuilder));
        StandardCalls {
            node_managers: context.node_managers.clone(),
            core: core.build(context),
        }
    }
}

/// The core node manager, with the standard calls on upstream objects diverted to the
/// aggregation's [`ForwardNodeManager`] (found among the server's node managers at call time).
pub struct StandardCalls {
    core: Arc<DynNodeManager>,
    node_managers: NodeManagersRef,
}

impl StandardCalls {
    /// The aggregation's node manager, if there is one and some call's object may be its
    /// (the objects of namespace 0 are all the core node manager's).
    fn forward_for(&self, calls: &[&mut MethodCall]) -> Option<Arc<ForwardNodeManager>> {
        if calls.iter().all(|m| m.object_id().namespace == 0) {
            return None;
        }
        self.node_managers.get_of_type::<ForwardNodeManager>()
    }
}

/// Gives every call of a node manager that failed as a whole that node manager's status, as
/// the server does with the calls it gave to a node manager.
fn fail_all(calls: &mut [&mut MethodCall], result: Result<(), StatusCode>) {
    if let Err(e) = result {
        for m in calls {
            m.set_status(e);
        }
    }
}

#[async_trait]
impl NodeManager for StandardCalls {
    fn owns_node(&self, id: &NodeId) -> bool {
        self.core.owns_node(id)
    }

    fn name(&self) -> &str {
        self.core.name()
    }

    fn owns_server_events(&self) -> bool {
        self.core.owns_server_events()
    }

    fn handle_new_node(&self, parent_id: &ExpandedNodeId) -> bool {
        self.core.handle_new_node(parent_id)
    }

    fn namespaces_for_user(&self, context: &RequestContext) -> Vec<NamespaceMetadata> {
        self.core.namespaces_for_user(context)
    }

    async fn init(&self, type_tree: &mut DefaultTypeTree, context: ServerContext) {
        self.core.init(type_tree, context).await
    }

    async fn resolve_external_references(&self, context: &RequestContext, items: &mut [&mut ExternalReferenceRequest]) {
        self.core.resolve_external_references(context, items).await
    }

    async fn read(
        &self,
        context: &RequestContext,
        max_age: f64,
        timestamps_to_return: TimestampsToReturn,
        nodes_to_read: &mut [&mut ReadNode],
    ) -> Result<(), StatusCode> {
        self.core.read(context, max_age, timestamps_to_return, nodes_to_read).await
    }

    async fn history_read_raw_modified(
        &self,
        context: &RequestContext,
        details: &ReadRawModifiedDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        self.core.history_read_raw_modified(context, details, nodes, timestamps_to_return).await
    }

    async fn history_read_processed(
        &self,
        context: &RequestContext,
        details: &ReadProcessedDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        self.core.history_read_processed(context, details, nodes, timestamps_to_return).await
    }

    async fn history_read_at_time(
        &self,
        context: &RequestContext,
        details: &ReadAtTimeDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        self.core.history_read_at_time(context, details, nodes, timestamps_to_return).await
    }

    async fn history_read_events(
        &self,
        context: &RequestContext,
        details: &ReadEventDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        self.core.history_read_events(context, details, nodes, timestamps_to_return).await
    }

    async fn history_read_annotations(
        &self,
        context: &RequestContext,
        details: &ReadAnnotationDataDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        self.core.history_read_annotations(context, details, nodes, timestamps_to_return).await
    }

    async fn write(&self, context: &RequestContext, nodes_to_write: &mut [&mut WriteNode]) -> Result<(), StatusCode> {
        self.core.write(context, nodes_to_write).await
    }

    async fn history_update(&self, context: &RequestContext, nodes: &mut [&mut HistoryUpdateNode]) -> Result<(), StatusCode> {
        self.core.history_update(context, nodes).await
    }

    async fn browse(&self, context: &RequestContext, nodes_to_browse: &mut [BrowseNode]) -> Result<(), StatusCode> {
        self.core.browse(context, nodes_to_browse).await
    }

    async fn translate_browse_paths_to_node_ids(
        &self,
        context: &RequestContext,
        nodes: &mut [&mut BrowsePathItem],
    ) -> Result<(), StatusCode> {
        self.core.translate_browse_paths_to_node_ids(context, nodes).await
    }

    async fn register_nodes(&self, context: &RequestContext, nodes: &mut [&mut RegisterNodeItem]) -> Result<(), StatusCode> {
        self.core.register_nodes(context, nodes).await
    }

    async fn unregister_nodes(&self, context: &RequestContext, nodes: &[&NodeId]) -> Result<(), StatusCode> {
        self.core.unregister_nodes(context, nodes).await
    }

    async fn create_monitored_items(
        &self,
        context: &RequestContext,
        items: &mut [&mut CreateMonitoredItem],
    ) -> Result<(), StatusCode> {
        self.core.create_monitored_items(context, items).await
    }

    async fn modify_monitored_items(&self, context: &RequestContext, items: &[&MonitoredItemUpdateRef]) {
        self.core.modify_monitored_items(context, items).await
    }

    async fn set_monitoring_mode(&self, context: &RequestContext, mode: MonitoringMode, items: &[&MonitoredItemRef]) {
        self.core.set_monitoring_mode(context, mode, items).await
    }

    async fn delete_monitored_items(&self, context: &RequestContext, items: &[&MonitoredItemRef]) {
        self.core.delete_monitored_items(context, items).await
    }

    async fn query(&self, context: &RequestContext, request: &mut QueryRequest) -> Result<(), StatusCode> {
        self.core.query(context, request).await
    }

    /// The calls on upstream objects go to the aggregation's node manager, the rest to the
    /// core node manager; both at once.
    async fn call(&self, context: &RequestContext, methods_to_call: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        let Some(forward) = self.forward_for(methods_to_call) else {
            return self.core.call(context, methods_to_call).await;
        };
        let diverted: Vec<bool> = methods_to_call.iter().map(|m| forward.forwards_standard_call(m.object_id())).collect();
        if !diverted.contains(&true) {
            return self.core.call(context, methods_to_call).await;
        }
        let mut upstream = Vec::new();
        let mut own = Vec::new();
        for (m, to_upstream) in methods_to_call.iter_mut().zip(diverted) {
            if to_upstream {
                upstream.push(&mut **m);
            } else {
                own.push(&mut **m);
            }
        }
        let (own_result, upstream_result) = futures::join!(
            async {
                if own.is_empty() {
                    Ok(())
                } else {
                    self.core.call(context, &mut own).await
                }
            },
            forward.call(context, &mut upstream),
        );
        fail_all(&mut own, own_result);
        fail_all(&mut upstream, upstream_result);
        Ok(())
    }

    async fn add_nodes(&self, context: &RequestContext, nodes_to_add: &mut [&mut AddNodeItem]) -> Result<(), StatusCode> {
        self.core.add_nodes(context, nodes_to_add).await
    }

    async fn add_references(
        &self,
        context: &RequestContext,
        references_to_add: &mut [&mut AddReferenceItem],
    ) -> Result<(), StatusCode> {
        self.core.add_references(context, references_to_add).await
    }

    async fn delete_nodes(&self, context: &RequestContext, nodes_to_delete: &mut [&mut DeleteNodeItem]) -> Result<(), StatusCode> {
        self.core.delete_nodes(context, nodes_to_delete).await
    }

    async fn delete_node_references(&self, context: &RequestContext, to_delete: &[&DeleteNodeItem]) {
        self.core.delete_node_references(context, to_delete).await
    }

    async fn delete_references(
        &self,
        context: &RequestContext,
        references_to_delete: &mut [&mut DeleteReferenceItem],
    ) -> Result<(), StatusCode> {
        self.core.delete_references(context, references_to_delete).await
    }
}
