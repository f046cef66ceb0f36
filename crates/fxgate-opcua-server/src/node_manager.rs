//! The address space of the tag store: a folder per source under `Objects`, a
//! variable per tag. Values are not copied into the address space: reads come
//! from the store, data changes are pushed from the store's change stream to the
//! monitored items that watch them, and writes go through the store to the
//! owning source.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use fxgate_core::{AccessMode, ChangeBatch, TagId, TagStore};
use opcua::nodes::{ObjectBuilder, VariableBuilder};
use opcua::server::address_space::{AccessLevel, AddressSpace};
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{
    InMemoryNodeManager, InMemoryNodeManagerBuilder, InMemoryNodeManagerImpl,
};
use opcua::server::node_manager::{
    MonitoredItemRef, NodeManagerBuilder, ParsedReadValueId, RequestContext, ServerContext,
    WriteNode,
};
use opcua::server::{CreateMonitoredItem, SubscriptionCache};
use opcua::sync::RwLock;
use opcua::types::{
    AttributeId, DataEncoding, DataValue, NodeId, ObjectId, QualifiedName, StatusCode, TimestampsToReturn,
};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;
use crate::metrics::ServerMetrics;

/// Namespace URI of the tag nodes. It must differ from the application URI.
pub const TAG_NAMESPACE: &str = "urn:fxgate:tags";

/// The node manager type as the server holds it.
pub type TagNodeManager = InMemoryNodeManager<TagNodeManagerImpl>;

/// Serves the tag store.
pub struct TagNodeManagerImpl {
    store: Arc<TagStore>,
    namespace: NamespaceMetadata,
    node_ids: Arc<[NodeId]>,
    auth: Arc<Authenticator>,
    metrics: ServerMetrics,
    shutdown: CancellationToken,
}

/// Builds the node manager for `store`.
pub fn tag_node_manager(
    store: Arc<TagStore>,
    auth: Arc<Authenticator>,
    metrics: ServerMetrics,
    shutdown: CancellationToken,
) -> impl NodeManagerBuilder {
    InMemoryNodeManagerBuilder::new(move |context: ServerContext, space: &mut AddressSpace| {
        let index = {
            let mut tree = context.type_tree.write();
            tree.namespaces_mut().add_namespace(TAG_NAMESPACE)
        };
        space.add_namespace(TAG_NAMESPACE, index);
        let node_ids = populate(space, &store, index);
        TagNodeManagerImpl {
            store,
            namespace: NamespaceMetadata {
                namespace_uri: TAG_NAMESPACE.to_string(),
                namespace_index: index,
                ..Default::default()
            },
            node_ids,
            auth,
            metrics,
            shutdown,
        }
    })
}

/// NodeId of a tag or folder path in the tag namespace.
pub fn node_id(ns: u16, path: &str) -> NodeId {
    NodeId::new(ns, path.to_string())
}

/// The folder of a source path (`Demo`, or nested like `fxgate/Lines/plc`), made on first use
/// with its parents: `Objects/fxgate/Lines/plc`.
fn folder_of(space: &mut AddressSpace, folders: &mut HashMap<String, NodeId>, ns: u16, path: &str) -> NodeId {
    if let Some(f) = folders.get(path) {
        return f.clone();
    }
    let (parent, name) = match path.rsplit_once('/') {
        Some((p, n)) => (Some(folder_of(space, folders, ns, p)), n),
        None => (None, path),
    };
    let fid = node_id(ns, path);
    let b = ObjectBuilder::new(&fid, QualifiedName::new(ns, name), name).is_folder();
    match parent {
        Some(p) => b.organized_by(p),
        None => b.organized_by(ObjectId::ObjectsFolder),
    }
    .insert(space);
    folders.insert(path.to_string(), fid.clone());
    fid
}

fn populate(
    space: &mut AddressSpace,
    store: &TagStore,
    ns: u16,
) -> Arc<[NodeId]> {
    let mut folders: HashMap<String, NodeId> = HashMap::new();
    // `Objects/fxgate` always exists: the gateway's own state (lines, WebSockets, upstreams) lives there.
    folder_of(space, &mut folders, ns, "fxgate");
    let mut node_ids = Vec::with_capacity(store.len());
    for (id, def) in store.defs() {
        let folder = folder_of(space, &mut folders, ns, &def.source);
        let nid = node_id(ns, &def.path());
        let access = match def.access {
            AccessMode::Read => AccessLevel::CURRENT_READ,
            AccessMode::ReadWrite => AccessLevel::CURRENT_READ | AccessLevel::CURRENT_WRITE,
        };
        let meta = def.meta.as_deref();
        let mut b = VariableBuilder::new(&nid, QualifiedName::new(ns, def.name.as_str()), def.name.as_str())
            .data_type(def.data_type)
            .value_rank(-1)
            .access_level(access)
            .user_access_level(access)
            .minimum_sampling_interval(meta.and_then(|m| m.scan_rate_ms).unwrap_or(0.0))
            .has_type_definition(crate::items::item_type(meta))
            .component_of(folder);
        if !def.description.is_empty() {
            b = b.description(def.description.as_str());
        }
        b.insert(space);
        if let Some(m) = meta {
            crate::items::add_properties(space, ns, &nid, &def.path(), m);
        }
        debug_assert_eq!(node_ids.len(), id as usize);
        node_ids.push(nid);
    }
    node_ids.into()
}

use fxgate_core::tag::with_timestamps;

fn bad(status: StatusCode) -> DataValue {
    DataValue {
        status: Some(status),
        ..DataValue::null()
    }
}

impl TagNodeManagerImpl {
    /// The tag behind a NodeId of the tag namespace (`ns=<i>;s=<source>/<name>`).
    fn tag_of(&self, node: &NodeId) -> Option<TagId> {
        if node.namespace != self.namespace.namespace_index {
            return None;
        }
        match &node.identifier {
            opcua::types::Identifier::String(s) => self.store.id_of(s.as_ref()),
            _ => None,
        }
    }

    /// Namespace index of the tag nodes.
    pub fn namespace_index(&self) -> u16 {
        self.namespace.namespace_index
    }

    /// Reads the Value of a tag node for a user who may (`may_read`) or may not read.
    fn read_tag(&self, id: TagId, node: &ParsedReadValueId, may_read: bool, ttr: TimestampsToReturn) -> DataValue {
        if !may_read {
            return bad(StatusCode::BadUserAccessDenied);
        }
        if !matches!(node.data_encoding, DataEncoding::Binary) {
            return bad(StatusCode::BadDataEncodingInvalid);
        }
        if node.index_range.has_range() {
            return bad(StatusCode::BadIndexRangeNoData);
        }
        match self.store.with_value(id, |v| v.to_data_value()) {
            Some(dv) => with_timestamps(dv, ttr),
            None => bad(StatusCode::BadNodeIdUnknown),
        }
    }

    /// Reads values: tags straight from the store (no address-space lock), anything else
    /// from the address space.
    fn read_many(
        &self,
        context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        nodes: &[&ParsedReadValueId],
        max_age: f64,
        ttr: TimestampsToReturn,
    ) -> Vec<DataValue> {
        let may_read = self.auth.roles(&context.token).read;
        let mut space = None;
        nodes
            .iter()
            .map(|n| match self.tag_of(&n.node_id) {
                Some(id) => self.read_tag(id, n, may_read, ttr),
                None => space
                    .get_or_insert_with(|| address_space.read())
                    .read(context, n, max_age, ttr),
            })
            .collect()
    }
}

#[async_trait]
impl InMemoryNodeManagerImpl for TagNodeManagerImpl {
    async fn init(&self, _address_space: &mut AddressSpace, context: ServerContext) {
        // The change pump: store → monitored items. It holds only weak state: the
        // subscription cache and a clone of what it needs.
        let mut rx = self.store.subscribe();
        let subscriptions = context.subscriptions.clone();
        let pump = ChangePump {
            store: self.store.clone(),
            node_ids: self.node_ids.clone(),
        };
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let batch = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    r = rx.recv() => r,
                };
                match batch {
                    Ok(batch) => pump.notify(&subscriptions, &batch),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "OPC UA change pump fell behind; resending every value");
                        pump.notify(&subscriptions, &pump.store.snapshot());
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    fn name(&self) -> &str {
        "fxgate-tags"
    }

    fn namespaces(&self) -> Vec<NamespaceMetadata> {
        vec![self.namespace.clone()]
    }

    async fn read_values(
        &self,
        context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        nodes: &[&ParsedReadValueId],
        max_age: f64,
        timestamps_to_return: TimestampsToReturn,
    ) -> Vec<DataValue> {
        self.metrics.reads.inc_by(nodes.len() as u64);
        self.read_many(context, address_space, nodes, max_age, timestamps_to_return)
    }

    async fn create_value_monitored_items(
        &self,
        context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        items: &mut [&mut &mut CreateMonitoredItem],
    ) {
        self.metrics.monitored_items_created.inc_by(items.len() as u64);
        let to_read: Vec<_> = items.iter().map(|i| i.item_to_monitor()).collect();
        let values = self.read_many(context, address_space, &to_read, 0.0, TimestampsToReturn::Both);
        for (item, value) in items.iter_mut().zip(values) {
            match value.status() {
                StatusCode::BadNodeIdUnknown | StatusCode::BadAttributeIdInvalid => {
                    item.set_status(value.status());
                }
                StatusCode::BadUserAccessDenied => item.set_status(StatusCode::BadUserAccessDenied),
                _ => {
                    item.set_initial_value(value);
                    item.set_status(StatusCode::Good);
                }
            }
        }
    }

    async fn delete_monitored_items(&self, _context: &RequestContext, items: &[&MonitoredItemRef]) {
        self.metrics.monitored_items_deleted.inc_by(items.len() as u64);
    }

    async fn write(
        &self,
        context: &RequestContext,
        _address_space: &RwLock<AddressSpace>,
        nodes_to_write: &mut [&mut WriteNode],
    ) -> Result<(), StatusCode> {
        self.metrics.writes.inc_by(nodes_to_write.len() as u64);
        let roles = self.auth.roles(&context.token);
        let mut pending = Vec::new();
        for (i, w) in nodes_to_write.iter_mut().enumerate() {
            let v = w.value();
            let Some(id) = self.tag_of(&v.node_id) else {
                w.set_status(StatusCode::BadNotWritable);
                continue;
            };
            let writable = v.attribute_id == AttributeId::Value
                && self.store.def(id).map(|d| d.access) == Some(AccessMode::ReadWrite);
            let status = if !writable {
                Some(StatusCode::BadNotWritable)
            } else if !roles.write {
                Some(StatusCode::BadUserAccessDenied)
            } else if v.index_range.has_range() {
                Some(StatusCode::BadWriteNotSupported)
            } else if v.value.value.is_none() {
                Some(StatusCode::BadTypeMismatch)
            } else {
                None
            };
            match status {
                Some(s) => w.set_status(s),
                None => pending.push((i, id, v.value.value.clone().unwrap_or_default())),
            }
        }
        let results = futures::future::join_all(
            pending
                .iter()
                .map(|(_, id, value)| self.store.write(*id, value.clone())),
        )
        .await;
        for ((i, id, _), status) in pending.into_iter().zip(results) {
            if !status.is_good() {
                tracing::info!(tag = ?self.store.def(id).map(|d| d.path()), %status, "write refused by source");
            }
            nodes_to_write[i].set_status(status);
        }
        for w in nodes_to_write.iter() {
            if !w.status().is_good() {
                self.metrics.write_errors.inc();
            }
        }
        Ok(())
    }
}

/// Pushes change batches from the store to the monitored items that watch them.
struct ChangePump {
    store: Arc<TagStore>,
    node_ids: Arc<[NodeId]>,
}

impl ChangePump {
    fn notify(&self, subscriptions: &SubscriptionCache, batch: &ChangeBatch) {
        let mut notifier = subscriptions.data_notifier();
        for (id, value) in batch.iter() {
            let Some(nid) = self.node_ids.get(*id as usize) else {
                continue;
            };
            if let Some(mut items) = notifier.notify_for(nid, AttributeId::Value) {
                let handles: Vec<_> = items.entries().map(|(h, _)| *h).collect();
                for handle in handles {
                    items.data_value_to_item(value.to_data_value(), &handle);
                }
            }
        }
    }
}
