//! The core node manager (namespace 0), with some of its calls and reads diverted.
//!
//! async-opcua routes each Call to the first node manager that owns its *MethodId*, and each
//! Read to the one that owns the node; for namespace 0 that is the core node manager, which
//! holds the standard nodes but no behaviour for most of their methods. So the core node
//! manager is wrapped: [`CoreCalls`] answers every service exactly as the core node manager
//! does (each trait method is handed to it unchanged), except the calls and reads a
//! [`CoreDiverter`] takes:
//! - the aggregation's diverter takes standard methods called on upstream objects
//!   (Acknowledge on an upstream alarm, GetMonitoredItems on an upstream's Server object, ...);
//! - the server's own push-management diverter ([`crate::gds`]) takes the methods of
//!   ServerConfiguration and its TrustList, and the reads of their properties;
//! - the server's limits ([`crate::capabilities`]) take the reads of the ServerCapabilities
//!   async-opcua leaves null.

use std::sync::Arc;

use async_trait::async_trait;
use opcua::nodes::DefaultTypeTree;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{CoreNodeManagerBuilder, InMemoryNodeManagerBuilder};
use opcua::server::node_manager::{
    AddNodeItem, AddReferenceItem, BrowseNode, BrowsePathItem, DeleteNodeItem, DeleteReferenceItem,
    DynNodeManager, ExternalReferenceRequest, HistoryNode, HistoryUpdateNode, MethodCall,
    MonitoredItemRef, MonitoredItemUpdateRef, NodeManager, NodeManagerBuilder, QueryRequest, ReadNode,
    RegisterNodeItem, RequestContext, ServerContext, WriteNode,
};
use opcua::server::CreateMonitoredItem;
use opcua::types::{
    DataValue, DateTime, ExpandedNodeId, MonitoringMode, NodeId, Variant, ReadAnnotationDataDetails, ReadAtTimeDetails,
    ReadEventDetails, ReadProcessedDetails, ReadRawModifiedDetails, StatusCode, TimestampsToReturn,
};

/// Takes some of the calls and reads that async-opcua gives the core node manager.
#[async_trait]
pub trait CoreDiverter: Send + Sync {
    /// Whether `call` is this diverter's (checked in order; the first diverter that takes a call
    /// answers it). None by default.
    fn takes_call(&self, _call: &MethodCall) -> bool {
        false
    }

    /// Answers the calls it took; an `Err` is the status of each of them.
    async fn call(&self, _context: &RequestContext, _calls: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        Err(StatusCode::BadMethodInvalid)
    }

    /// Whether the read of `node` is this diverter's.
    fn takes_read(&self, _node: &ReadNode) -> bool {
        false
    }

    /// Answers the reads it took (each gets a result or an error), with the timestamps asked for
    /// (see [`value_now`]).
    async fn read(&self, _context: &RequestContext, _timestamps: TimestampsToReturn, _nodes: &mut [&mut ReadNode]) {}
}

/// A value read now, with the timestamps `timestamps` asks for (both are now: the value is
/// computed when it is read).
pub fn value_now(value: Variant, timestamps: TimestampsToReturn) -> DataValue {
    let now = DateTime::now();
    let (source, server) = match timestamps {
        TimestampsToReturn::Source => (true, false),
        TimestampsToReturn::Server => (false, true),
        TimestampsToReturn::Neither | TimestampsToReturn::Invalid => (false, false),
        TimestampsToReturn::Both => (true, true),
    };
    DataValue {
        value: Some(value),
        source_timestamp: source.then_some(now),
        server_timestamp: server.then_some(now),
        ..Default::default()
    }
}

/// Makes a diverter once the server's context exists (its node managers, its info).
pub type DiverterBuilder = Box<dyn FnOnce(&ServerContext) -> Arc<dyn CoreDiverter> + Send>;

/// Builds the server's core node manager (namespace 0, as `ServerBuilder::new()` adds it)
/// wrapped in [`CoreCalls`] with `diverters`, in order. Used in place of the default one:
/// `ServerBuilder::new().without_node_managers()`, then this, then async-opcua's
/// `DiagnosticsNodeManagerBuilder` (the other default), then the gateway's own.
pub(crate) fn core_node_manager(diverters: Vec<DiverterBuilder>) -> impl NodeManagerBuilder {
    move |context: ServerContext| {
        let diverters = diverters.into_iter().map(|d| d(&context)).collect();
        let core = Box::new(InMemoryNodeManagerBuilder::new(CoreNodeManagerBuilder));
        CoreCalls { core: core.build(context), diverters }
    }
}

/// The core node manager, with the calls and reads its diverters take diverted to them.
pub struct CoreCalls {
    core: Arc<DynNodeManager>,
    diverters: Vec<Arc<dyn CoreDiverter>>,
}

impl CoreCalls {
    /// The items split by who answers them: one group per diverter, then the core node
    /// manager's (last); `None` when the core node manager answers them all. Each item goes to
    /// the first diverter that `takes` it.
    fn route<'a, T>(&self, items: &'a mut [&mut T], takes: impl Fn(&dyn CoreDiverter, &T) -> bool) -> Option<Vec<Vec<&'a mut T>>> {
        let core = self.diverters.len();
        let routes: Vec<usize> = items.iter().map(|i| self.diverters.iter().position(|d| takes(d.as_ref(), i)).unwrap_or(core)).collect();
        if routes.iter().all(|r| *r == core) {
            return None;
        }
        let mut groups: Vec<Vec<&mut T>> = (0..=core).map(|_| Vec::new()).collect();
        for (item, r) in items.iter_mut().zip(routes) {
            groups[r].push(&mut **item);
        }
        Some(groups)
    }
}

/// Gives every call of a group that failed as a whole that group's status, as the server does
/// with the calls it gave to a node manager.
fn fail_all(calls: &mut [&mut MethodCall], result: Result<(), StatusCode>) {
    if let Err(e) = result {
        for m in calls {
            m.set_status(e);
        }
    }
}

#[async_trait]
impl NodeManager for CoreCalls {
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
        let Some(mut groups) = self.route(nodes_to_read, |d, n| d.takes_read(n)) else {
            return self.core.read(context, max_age, timestamps_to_return, nodes_to_read).await;
        };
        let core = groups.pop().unwrap_or_default();
        let diverted = groups.into_iter().zip(&self.diverters).map(|(mut nodes, d)| async move {
            if !nodes.is_empty() {
                d.read(context, timestamps_to_return, &mut nodes).await;
            }
        });
        let mut core = core;
        let (core_result, _) = futures::join!(
            async {
                if core.is_empty() {
                    Ok(())
                } else {
                    self.core.read(context, max_age, timestamps_to_return, &mut core).await
                }
            },
            futures::future::join_all(diverted),
        );
        if let Err(e) = core_result {
            for n in core {
                n.set_error(e);
            }
        }
        Ok(())
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

    /// The diverters' calls go to them, the rest to the core node manager; all at once.
    async fn call(&self, context: &RequestContext, methods_to_call: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        let Some(mut groups) = self.route(methods_to_call, |d, m| d.takes_call(m)) else {
            return self.core.call(context, methods_to_call).await;
        };
        let mut core = groups.pop().unwrap_or_default();
        let diverted = groups.into_iter().zip(&self.diverters).map(|(mut calls, d)| async move {
            if !calls.is_empty() {
                let result = d.call(context, &mut calls).await;
                fail_all(&mut calls, result);
            }
        });
        let (core_result, _) = futures::join!(
            async {
                if core.is_empty() {
                    Ok(())
                } else {
                    self.core.call(context, &mut core).await
                }
            },
            futures::future::join_all(diverted),
        );
        fail_all(&mut core, core_result);
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
