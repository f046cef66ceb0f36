//! The address space of the tag store: a folder per source path under `Objects`, a variable
//! per tag, the standard properties of typed items. Nothing is materialised per tag: the
//! node manager answers Browse, Read (every attribute), Write, TranslateBrowsePathsToNodeIds,
//! RegisterNodes and monitored items from the store's definitions and values and a folder
//! index built once at start (`index`). Values come from the store; data changes are pushed
//! from its change stream to the monitored items that watch them (`monitor`); writes go
//! through the store to the owning source.

mod browse;
mod index;
mod monitor;
mod nodes;
mod values;
pub use values::caller;

use std::sync::Arc;

use async_trait::async_trait;
use fxgate_core::TagStore;
use opcua::nodes::DefaultTypeTree;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::{
    BrowseNode, BrowsePathItem, DynNodeManager, ExternalReferenceRequest, MonitoredItemRef, NodeManager,
    NodeManagerBuilder, ReadNode, RequestContext, ServerContext, WriteNode,
};
use opcua::server::CreateMonitoredItem;
use opcua::types::{AttributeId, NodeId, ObjectId, StatusCode, TimestampsToReturn};
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;
use crate::metrics::ServerMetrics;
pub use index::{TagIndex, TagNode};

/// Namespace URI of the tag nodes. It must differ from the application URI.
pub const TAG_NAMESPACE: &str = "urn:fxgate:tags";

/// Serves the tag store's address space.
pub struct TagNodeManager {
    store: Arc<TagStore>,
    index: TagIndex,
    ns: u16,
    auth: Arc<Authenticator>,
    metrics: ServerMetrics,
    watched: Arc<monitor::Watched>,
    shutdown: CancellationToken,
}

/// Builds the tag node manager (registered with the server builder).
pub struct TagNodeManagerBuilder {
    store: Arc<TagStore>,
    auth: Arc<Authenticator>,
    metrics: ServerMetrics,
    shutdown: CancellationToken,
}

/// The builder of the node manager for `store`.
pub fn tag_node_manager(
    store: Arc<TagStore>,
    auth: Arc<Authenticator>,
    metrics: ServerMetrics,
    shutdown: CancellationToken,
) -> TagNodeManagerBuilder {
    TagNodeManagerBuilder { store, auth, metrics, shutdown }
}

impl NodeManagerBuilder for TagNodeManagerBuilder {
    fn build(self: Box<Self>, context: ServerContext) -> Arc<DynNodeManager> {
        let ns = context.type_tree.write().namespaces_mut().add_namespace(TAG_NAMESPACE);
        let started = std::time::Instant::now();
        let index = TagIndex::new(&self.store);
        tracing::debug!(tags = self.store.len(), folders = index.folders.len(), took = ?started.elapsed(), "tag address space indexed");
        Arc::new(TagNodeManager {
            store: self.store,
            index,
            ns,
            auth: self.auth,
            metrics: self.metrics,
            watched: Arc::default(),
            shutdown: self.shutdown,
        })
    }
}

impl TagNodeManager {
    /// Namespace index of the tag nodes.
    pub fn namespace_index(&self) -> u16 {
        self.ns
    }

    fn resolve(&self, node: &NodeId) -> Option<TagNode> {
        self.index.resolve(&self.store, self.ns, node)
    }

    fn view(&self) -> browse::View<'_> {
        browse::View { index: &self.index, store: &self.store, ns: self.ns }
    }
}

#[async_trait]
impl NodeManager for TagNodeManager {
    fn owns_node(&self, id: &NodeId) -> bool {
        id.namespace == self.ns
    }

    fn name(&self) -> &str {
        "fxgate-tags"
    }

    fn namespaces_for_user(&self, _context: &RequestContext) -> Vec<NamespaceMetadata> {
        vec![NamespaceMetadata {
            namespace_uri: TAG_NAMESPACE.to_string(),
            namespace_index: self.ns,
            ..Default::default()
        }]
    }

    async fn init(&self, _type_tree: &mut DefaultTypeTree, context: ServerContext) {
        let pump = monitor::ChangePump { store: self.store.clone(), watched: self.watched.clone() };
        pump.spawn(context.subscriptions.clone(), self.shutdown.clone());
    }

    async fn resolve_external_references(&self, _context: &RequestContext, items: &mut [&mut ExternalReferenceRequest]) {
        for item in items {
            if let Some(node) = self.resolve(item.node_id()) {
                if let Some(meta) = nodes::metadata(&self.index, &self.store, self.ns, node) {
                    item.set(meta);
                }
            }
        }
    }

    async fn browse(&self, context: &RequestContext, nodes_to_browse: &mut [BrowseNode]) -> Result<(), StatusCode> {
        let types = context.type_tree.read();
        let view = self.view();
        for node in nodes_to_browse.iter_mut() {
            if node.node_id() == &NodeId::from(ObjectId::ObjectsFolder) {
                view.browse(node, None, &*types);
                continue;
            }
            if node.node_id().namespace != self.ns {
                continue;
            }
            let Some(n) = self.resolve(node.node_id()) else {
                node.set_status(StatusCode::BadNodeIdUnknown);
                continue;
            };
            node.set_status(StatusCode::Good);
            view.browse(node, Some(n), &*types);
        }
        Ok(())
    }

    async fn translate_browse_paths_to_node_ids(
        &self,
        context: &RequestContext,
        nodes: &mut [&mut BrowsePathItem],
    ) -> Result<(), StatusCode> {
        let types = context.type_tree.read();
        let view = self.view();
        for item in nodes.iter_mut() {
            let start = if item.node_id() == &NodeId::from(ObjectId::ObjectsFolder) {
                if item.unmatched_browse_name().is_some() {
                    continue;
                }
                None
            } else {
                let Some(n) = self.resolve(item.node_id()) else { continue };
                if let Some(name) = item.unmatched_browse_name() {
                    let matched = nodes::metadata(&self.index, &self.store, self.ns, n)
                        .is_some_and(|m| name.is_null() || &m.browse_name == name);
                    if !matched {
                        continue;
                    }
                    item.set_browse_name_matched(context.current_node_manager_index);
                }
                Some(n)
            };
            view.translate(item, start, &*types);
        }
        Ok(())
    }

    async fn read(
        &self,
        context: &RequestContext,
        max_age: f64,
        timestamps_to_return: TimestampsToReturn,
        nodes_to_read: &mut [&mut ReadNode],
    ) -> Result<(), StatusCode> {
        let values = nodes_to_read.iter().filter(|n| n.node().attribute_id == AttributeId::Value).count();
        self.metrics.reads.inc_by(values as u64);
        for node in nodes_to_read.iter_mut() {
            let value = self.read_one(context, node.node(), max_age, timestamps_to_return);
            node.set_result(value);
        }
        Ok(())
    }

    async fn write(&self, context: &RequestContext, nodes_to_write: &mut [&mut WriteNode]) -> Result<(), StatusCode> {
        self.write_many(context, nodes_to_write).await;
        Ok(())
    }

    async fn create_monitored_items(
        &self,
        context: &RequestContext,
        items: &mut [&mut CreateMonitoredItem],
    ) -> Result<(), StatusCode> {
        self.metrics.monitored_items_created.inc_by(items.len() as u64);
        for item in items.iter_mut() {
            self.create_item(context, item);
        }
        Ok(())
    }

    async fn delete_monitored_items(&self, _context: &RequestContext, items: &[&MonitoredItemRef]) {
        self.metrics.monitored_items_deleted.inc_by(items.len() as u64);
        for item in items {
            if item.attribute() == AttributeId::Value {
                if let Some(TagNode::Tag(id)) = self.resolve(item.node_id()) {
                    self.watched.remove(id, item.handle());
                }
            }
        }
    }
}
