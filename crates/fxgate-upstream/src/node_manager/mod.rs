//! The forwarding node manager: every service on an upstream's nodes is translated to the
//! upstream's namespace indexes, sent in one request per upstream, and the answer mapped
//! back. Nothing of the upstream's address space is copied; what the gateway keeps is a
//! cache (last values, last browse results) used for `maxAge` reads and while the upstream
//! is unreachable.
//!
//! This module holds the node manager and its [`NodeManager`] implementation, which only
//! dispatches; each service set lives beside it: `route` (which upstream owns a node),
//! `read`, `write`, `browse`, `translate` (TranslateBrowsePathsToNodeIds), `call`, `history`
//! and `monitored` (monitored items).

mod browse;
mod call;
mod history;
mod monitored;
mod read;
mod route;
mod translate;
mod write;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use opcua::server::address_space::AccessLevel;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::{
    BrowseNode, BrowsePathItem, HistoryNode, MethodCall, MonitoredItemRef, MonitoredItemUpdateRef,
    NodeManager, ReadNode, RequestContext, ServerContext, WriteNode,
};
use opcua::server::CreateMonitoredItem;
use opcua::types::{
    DataTypeId, NodeId, ObjectTypeId, ReadRawModifiedDetails, ReferenceTypeId, StatusCode,
    TimestampsToReturn, VariableTypeId,
};

use crate::aggregator::{Aggregator, Bound};
use crate::upstream::Upstream;

/// Namespace of the gateway's own aggregation nodes (upstream folders and diagnostics).
pub const AGGREGATION_NAMESPACE: &str = "urn:fxgate:aggregation";

/// Builds the forwarding node manager. `tags_namespace` is the namespace of the tag store's
/// nodes, whose `fxgate` folder gets the `Upstreams` diagnostics folder.
pub fn forward_node_manager(
    agg: Arc<Aggregator>,
    tags_namespace: &'static str,
) -> impl FnOnce(ServerContext) -> ForwardNodeManager {
    move |context: ServerContext| {
        let (ns, tags_ns) = {
            let mut tree = context.type_tree.write();
            let ns = tree.namespaces_mut().add_namespace(AGGREGATION_NAMESPACE);
            let tags_ns = tree.namespaces().get_index(tags_namespace).unwrap_or(u16::MAX);
            (ns, tags_ns)
        };
        ForwardNodeManager {
            agg,
            ns,
            fxgate_folder: NodeId::new(tags_ns, "fxgate"),
            known: std::sync::OnceLock::new(),
        }
    }
}

/// The node manager.
pub struct ForwardNodeManager {
    agg: Arc<Aggregator>,
    ns: u16,
    fxgate_folder: NodeId,
    /// Standard type nodes, known once the core node manager has loaded them (at init).
    known: std::sync::OnceLock<crate::mapping::KnownTypes>,
}

/// The numeric ids of the standard types in `tree`, and the server's own namespaces.
fn standard_types(tree: &opcua::nodes::DefaultTypeTree) -> (HashSet<u32>, Vec<(u16, String)>) {
    let mut known = HashSet::new();
    for root in [
        NodeId::from(DataTypeId::BaseDataType),
        ObjectTypeId::BaseObjectType.into(),
        VariableTypeId::BaseVariableType.into(),
        ReferenceTypeId::References.into(),
    ] {
        if let Some(n) = root.as_u32() {
            known.insert(n);
        }
        for c in tree.get_all_children(&root) {
            if c.namespace == 0 {
                if let Some(n) = c.as_u32() {
                    known.insert(n);
                }
            }
        }
    }
    let own = tree
        .namespaces()
        .known_namespaces()
        .iter()
        .map(|(u, i)| (*i, u.clone()))
        .collect();
    (known, own)
}

impl ForwardNodeManager {
    /// Whether the session's user has `level` on `node` (OPC 10000-3 §5.6.2, UserAccessLevel).
    fn may(&self, context: &RequestContext, node: &NodeId, level: AccessLevel) -> bool {
        context
            .authenticator
            .effective_user_access_level(&context.token, level, node)
            .contains(level)
    }

    /// Counts one request sent to `up`.
    fn metrics_request(&self, up: &Upstream) {
        self.agg
            .metrics
            .requests
            .get_or_create(&crate::UpstreamMetrics::label(&up.name))
            .inc();
    }

    /// Counts `hits` values answered from the cache (once per request, not per value).
    fn metrics_cache_hits(&self, up: &Upstream, hits: u64) {
        if hits > 0 {
            self.agg
                .metrics
                .cache_hits
                .get_or_create(&crate::UpstreamMetrics::label(&up.name))
                .inc_by(hits);
        }
    }
}

#[async_trait]
impl NodeManager for ForwardNodeManager {
    fn owns_node(&self, id: &NodeId) -> bool {
        if id.namespace == self.ns {
            self.target(id).is_some()
        } else {
            self.agg.serves_namespace(id.namespace)
        }
    }

    fn name(&self) -> &str {
        "fxgate-upstreams"
    }

    fn namespaces_for_user(&self, _context: &RequestContext) -> Vec<NamespaceMetadata> {
        let mut out = vec![NamespaceMetadata {
            namespace_uri: AGGREGATION_NAMESPACE.to_string(),
            namespace_index: self.ns,
            ..Default::default()
        }];
        for (i, key) in self.agg.names.served() {
            out.push(NamespaceMetadata {
                namespace_uri: key,
                namespace_index: i,
                ..Default::default()
            });
        }
        out
    }

    async fn init(&self, type_tree: &mut opcua::nodes::DefaultTypeTree, context: ServerContext) {
        let (known, own) = standard_types(type_tree);
        tracing::debug!(types = known.len(), "standard types known to the aggregation");
        self.agg.names.reserve(own);
        let known = Arc::new(known);
        let _ = self.known.set(known.clone());
        self.agg.start(Bound {
            ns: self.ns,
            known,
            subscriptions: context.subscriptions.clone(),
            type_tree: context.type_tree.clone(),
        });
    }

    async fn read(
        &self,
        context: &RequestContext,
        max_age: f64,
        ttr: TimestampsToReturn,
        nodes_to_read: &mut [&mut ReadNode],
    ) -> Result<(), StatusCode> {
        self.read_nodes(context, max_age, ttr, nodes_to_read).await
    }

    async fn write(
        &self,
        context: &RequestContext,
        nodes_to_write: &mut [&mut WriteNode],
    ) -> Result<(), StatusCode> {
        self.write_nodes(context, nodes_to_write).await
    }

    async fn browse(&self, context: &RequestContext, nodes_to_browse: &mut [BrowseNode]) -> Result<(), StatusCode> {
        self.browse_nodes(context, nodes_to_browse).await
    }

    async fn translate_browse_paths_to_node_ids(
        &self,
        context: &RequestContext,
        nodes: &mut [&mut BrowsePathItem],
    ) -> Result<(), StatusCode> {
        self.translate_paths(context, nodes).await
    }

    async fn call(&self, context: &RequestContext, methods_to_call: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        self.call_methods(context, methods_to_call).await
    }

    async fn history_read_raw_modified(
        &self,
        context: &RequestContext,
        details: &ReadRawModifiedDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        self.history_raw_modified(context, details, nodes, timestamps_to_return).await
    }

    async fn create_monitored_items(
        &self,
        context: &RequestContext,
        items: &mut [&mut CreateMonitoredItem],
    ) -> Result<(), StatusCode> {
        self.create_monitored(context, items).await
    }

    async fn modify_monitored_items(&self, context: &RequestContext, items: &[&MonitoredItemUpdateRef]) {
        self.modify_monitored(context, items).await
    }

    async fn delete_monitored_items(&self, context: &RequestContext, items: &[&MonitoredItemRef]) {
        self.delete_monitored(context, items).await
    }
}
