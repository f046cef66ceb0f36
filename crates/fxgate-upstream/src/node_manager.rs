//! The forwarding node manager: every service on an upstream's nodes is translated to the
//! upstream's namespace indexes, sent in one request per upstream, and the answer mapped
//! back. Nothing of the upstream's address space is copied; what the gateway keeps is a
//! cache (last values, last browse results) used for `maxAge` reads and while the upstream
//! is unreachable.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use opcua::server::address_space::AccessLevel;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::{
    BrowseNode, BrowsePathItem, HistoryNode, MethodCall, MonitoredItemRef, MonitoredItemUpdateRef,
    NodeManager, ParsedReadValueId, ReadNode, RequestContext, ServerContext, WriteNode,
};
use opcua::client::{services::Read, UARequest};
use opcua::server::{ContinuationPoint, CreateMonitoredItem};
use opcua::types::{
    AttributeId, BrowseDescription, BrowseDirection, BrowsePath, BrowseResult, ByteString,
    CallMethodRequest, DataValue, DateTime, DataTypeId, ExpandedNodeId, HistoryData,
    HistoryReadValueId, MessageSecurityMode, MonitoringMode, NodeClass, NodeId, NumericRange, ObjectId,
    ObjectTypeId, QualifiedName,
    ReadRawModifiedDetails, ReadValueId, ReferenceDescription, ReferenceTypeId, RelativePath,
    RelativePathElement, StatusCode, TimestampsToReturn, VariableTypeId, WriteValue,
};

use crate::aggregator::{id_string, Aggregator, Bound};
use fxgate_core::tag::with_timestamps;
use crate::cache::BrowseKey;
use crate::items::{Action, Want};
use crate::configure;
use crate::local::{ConfigMethod, Local};
use crate::upstream::{map_reference, service_failure, Live, Upstream};

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

/// Where a node of a request goes.
enum Target {
    Local(Local),
    Upstream(Arc<Upstream>),
}

/// A continuation point of a forwarded Browse.
struct UpstreamCp {
    cp: ByteString,
}

/// A continuation point of a forwarded HistoryRead.
struct UpstreamHistoryCp {
    cp: ByteString,
}

/// Adds a reference the gateway made up, if the browse asks for its direction (the node's
/// `add` checks only the reference type and node class).
fn add_ref(node: &mut BrowseNode, tree: &dyn opcua::nodes::TypeTree, r: ReferenceDescription) {
    let wanted = if r.is_forward { node.allows_forward() } else { node.allows_inverse() };
    if wanted {
        let _ = node.add(tree, r);
    }
}

fn bad(s: StatusCode) -> DataValue {
    DataValue {
        status: Some(s),
        server_timestamp: Some(DateTime::now()),
        ..Default::default()
    }
}

/// The value to answer with while the upstream is unreachable: the last value with
/// Bad_NoCommunication and its source timestamp, for the Value; the cached attribute
/// otherwise (attributes other than Value do not change).
fn offline_value(up: &Upstream, node: &NodeId, attr: AttributeId) -> DataValue {
    match up.cache.get(node, attr) {
        Some((dv, _)) if attr != AttributeId::Value => dv,
        Some((dv, _)) => DataValue {
            value: dv.value,
            status: Some(StatusCode::BadNoCommunication),
            source_timestamp: dv.source_timestamp,
            server_timestamp: Some(DateTime::now()),
            ..Default::default()
        },
        None => bad(StatusCode::BadNoCommunication),
    }
}

impl ForwardNodeManager {
    fn target(&self, id: &NodeId) -> Option<Target> {
        if id.namespace == self.ns {
            let local = Local::parse(&id_string(id)?, |n| self.agg.get(n).is_some())?;
            return Some(Target::Local(local));
        }
        self.agg.upstream_of_namespace(id.namespace).map(Target::Upstream)
    }

    /// The upstream a node of the gateway stands for: an upstream node, or an upstream's
    /// folder (its Objects folder).
    fn upstream_of_object(&self, id: &NodeId) -> Option<Arc<Upstream>> {
        match self.target(id)? {
            Target::Upstream(up) => Some(up),
            Target::Local(Local::UpstreamFolder(name)) => self.agg.get(&name),
            Target::Local(_) => None,
        }
    }

    /// Whether a standard method (namespace 0 MethodId, e.g. Acknowledge) called on `object_id`
    /// goes to an upstream: `object_id` is an upstream's node. Such calls reach the server's
    /// core node manager first (it owns namespace 0), which hands them to [`NodeManager::call`]
    /// of this one (see [`crate::standard_calls`]).
    pub fn forwards_standard_call(&self, object_id: &NodeId) -> bool {
        self.upstream_of_object(object_id).is_some()
    }

    /// Where a call goes: by its method, or for a standard method by its object.
    fn call_target(&self, m: &MethodCall) -> Option<Target> {
        if m.method_id().namespace == 0 {
            return self.upstream_of_object(m.object_id()).map(Target::Upstream);
        }
        self.target(m.method_id())
    }

    fn may(&self, context: &RequestContext, node: &NodeId, level: AccessLevel) -> bool {
        context
            .authenticator
            .effective_user_access_level(&context.token, level, node)
            .contains(level)
    }

    fn description(&self, local: &Local) -> String {
        match local {
            Local::UpstreamFolder(n) => self
                .agg
                .get(n)
                .map(|u| format!("Upstream OPC UA server {}", u.config.endpoint_url))
                .unwrap_or_default(),
            Local::Upstreams => "Connection state of the aggregated OPC UA servers".into(),
            Local::DiagFolder(n) => format!("Connection state of upstream {n}"),
            other => other.fixed_description().unwrap_or_default().to_string(),
        }
    }

    fn read_local(&self, context: &RequestContext, local: &Local, attr: AttributeId) -> DataValue {
        if attr == AttributeId::UserExecutable && matches!(local, Local::Method(_)) {
            let may = context.authenticator.is_user_executable(&context.token, &local.node_id(self.ns));
            return DataValue::value_only(opcua::types::Variant::Boolean(may));
        }
        let desc = self.description(local);
        local.read(self.ns, attr, &desc, || match local {
            Local::Diag(n, v) => match self.agg.get(n) {
                Some(u) => v.value(&u.status(), u.items.live()),
                None => opcua::types::Variant::Empty,
            },
            Local::Servers => self.agg.servers_value(),
            _ => opcua::types::Variant::Empty,
        })
    }

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

    /// Reads `nodes` (gateway ids) of one upstream; results in order.
    async fn read_upstream(&self, up: &Upstream, nodes: &[ReadItem<'_>], max_age: f64) -> Vec<DataValue> {
        let Some(live) = up.live() else {
            return nodes.iter().map(|n| offline_value(up, n.node, n.attribute)).collect();
        };
        let mut out: Vec<Option<DataValue>> = vec![None; nodes.len()];
        // maxAge: a cached Value young enough is the answer (the gateway keeps the values
        // of monitored nodes current); other attributes never change.
        if max_age > 0.0 {
            let hits = answer_from_cache(up, nodes, max_age, &mut out);
            self.metrics_cache_hits(up, hits);
        }
        let mut ask = Vec::new();
        let mut ask_idx = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            match live.map.node_to_up(n.node) {
                Some(id) => {
                    ask.push(ReadValueId {
                        node_id: id,
                        attribute_id: n.attribute as u32,
                        index_range: n.index_range.clone(),
                        data_encoding: QualifiedName::null(),
                    });
                    ask_idx.push(i);
                }
                None => out[i] = Some(bad(StatusCode::BadNodeIdUnknown)),
            }
        }
        if !ask.is_empty() {
            self.metrics_request(up);
            match read_values(&live, ask, max_age).await {
                Ok(values) => {
                    for (i, dv) in ask_idx.iter().zip(values) {
                        out[*i] = Some(live.map.data_value_to_gw(dv));
                    }
                    up.cache.put_all(ask_idx.iter().filter_map(|&i| {
                        let dv = out[i].as_ref()?;
                        let keep = nodes[i].index_range.is_none() && dv.status.is_none_or(|s| !s.is_bad());
                        keep.then_some((nodes[i].node, nodes[i].attribute, dv))
                    }));
                }
                Err(e) => {
                    let s = service_failure(e.status());
                    for i in ask_idx {
                        out[i] = Some(if s == StatusCode::BadNoCommunication {
                            offline_value(up, nodes[i].node, nodes[i].attribute)
                        } else {
                            bad(s)
                        });
                    }
                }
            }
        }
        out.into_iter().map(|d| d.unwrap_or_else(|| bad(StatusCode::BadInternalError))).collect()
    }

    /// Adds the gateway's own references to nodes other node managers own: the upstream
    /// folders under Objects, `Upstreams` under `fxgate`, and upstream subtypes of standard types.
    fn add_foreign_references(&self, context: &RequestContext, node: &mut BrowseNode) {
        let id = node.node_id().clone();
        let mut refs: Vec<ReferenceDescription> = Vec::new();
        if id == ObjectId::ObjectsFolder {
            for name in self.agg.names() {
                refs.push(self.local_ref(&Local::UpstreamFolder(name), ReferenceTypeId::Organizes.into(), true));
            }
        } else if id == self.fxgate_folder {
            refs.push(self.local_ref(&Local::Upstreams, ReferenceTypeId::Organizes.into(), true));
            refs.push(self.local_ref(&Local::Configuration, ReferenceTypeId::Organizes.into(), true));
        } else if id.namespace == 0
            && self.known.get().is_some_and(|k| k.contains(&id.as_u32().unwrap_or(u32::MAX)))
        {
            for up in self.agg.all() {
                if let Some(live) = up.live() {
                    if let Some(subs) = live.subtypes.get(&id) {
                        refs.extend(subs.iter().cloned());
                    }
                }
            }
        }
        if refs.is_empty() {
            return;
        }
        let tree = context.type_tree.read();
        for r in refs {
            add_ref(node, &*tree, r);
        }
    }

    fn local_ref(&self, local: &Local, reference_type: NodeId, forward: bool) -> ReferenceDescription {
        ReferenceDescription {
            reference_type_id: reference_type,
            is_forward: forward,
            node_id: ExpandedNodeId::new(local.node_id(self.ns)),
            browse_name: local.browse_name(self.ns),
            display_name: opcua::types::LocalizedText::new("", local.browse_name(self.ns).name.as_ref()),
            node_class: local.node_class(),
            type_definition: local.type_definition().map(ExpandedNodeId::new).unwrap_or_else(ExpandedNodeId::null),
        }
    }

    fn foreign_ref(&self, reference_type: NodeId, target: NodeId, class: NodeClass, name: QualifiedName) -> ReferenceDescription {
        ReferenceDescription {
            reference_type_id: reference_type,
            is_forward: false,
            node_id: ExpandedNodeId::new(target),
            browse_name: name.clone(),
            display_name: opcua::types::LocalizedText::new("", name.name.as_ref()),
            node_class: class,
            type_definition: if class == NodeClass::Object {
                ExpandedNodeId::new(NodeId::from(ObjectTypeId::FolderType))
            } else {
                ExpandedNodeId::null()
            },
        }
    }

    fn browse_local(&self, context: &RequestContext, node: &mut BrowseNode, local: &Local) {
        node.set_status(StatusCode::Good);
        let mut refs = Vec::new();
        for (rt, child) in local.children(&self.agg.names()) {
            refs.push(self.local_ref(&child, rt, true));
        }
        if let Some(td) = local.type_definition() {
            refs.push(ReferenceDescription {
                reference_type_id: ReferenceTypeId::HasTypeDefinition.into(),
                is_forward: true,
                node_id: ExpandedNodeId::new(td),
                browse_name: QualifiedName::null(),
                display_name: opcua::types::LocalizedText::null(),
                node_class: if local.node_class() == NodeClass::Variable {
                    NodeClass::VariableType
                } else {
                    NodeClass::ObjectType
                },
                type_definition: ExpandedNodeId::null(),
            });
        }
        let (rt, parent) = local.parent(self.ns, &self.fxgate_folder);
        let parent_name = match local {
            Local::UpstreamFolder(_) => QualifiedName::new(0, "Objects"),
            Local::Upstreams | Local::Configuration => QualifiedName::new(self.fxgate_folder.namespace, "fxgate"),
            Local::DiagFolder(_) => Local::Upstreams.browse_name(self.ns),
            Local::Diag(n, _) => Local::DiagFolder(n.clone()).browse_name(self.ns),
            Local::Servers | Local::Method(_) => Local::Configuration.browse_name(self.ns),
            Local::InputArguments(m) => Local::Method(*m).browse_name(self.ns),
        };
        refs.push(self.foreign_ref(rt, parent, local.parent_class(), parent_name));
        let tree = context.type_tree.read();
        for r in refs {
            add_ref(node, &*tree, r);
        }
    }

    /// Browses nodes of one upstream (folder or upstream nodes), following continuation points.
    /// Answers a browse of an unreachable upstream from what is remembered of it.
    fn browse_offline(&self, context: &RequestContext, up: &Upstream, key: &BrowseKey, node: &mut BrowseNode) -> bool {
        if let Some(refs) = up.cache.get_browse(key) {
            for r in refs.into_iter().take(node.remaining()) {
                node.add_unchecked(r);
            }
            return true;
        }
        let Some(all) = up.cache.get_all_refs(&key.node) else {
            return false;
        };
        let is_folder = key.node == up.folder;
        let tree = context.type_tree.read();
        for r in all {
            if is_folder && !r.is_forward {
                continue;
            }
            add_ref(node, &*tree, r);
        }
        if is_folder {
            let parent = self.foreign_ref(
                ReferenceTypeId::Organizes.into(),
                ObjectId::ObjectsFolder.into(),
                NodeClass::Object,
                QualifiedName::new(0, "Objects"),
            );
            add_ref(node, &*tree, parent);
        }
        true
    }

    async fn browse_upstream(&self, context: &RequestContext, up: &Upstream, nodes: &mut [&mut BrowseNode]) {
        let live = up.live();
        // continuation points of earlier forwarded browses
        let mut next_cps = Vec::new();
        let mut next_idx = Vec::new();
        let mut fresh = Vec::new();
        let mut fresh_idx = Vec::new();
        for (i, n) in nodes.iter_mut().enumerate() {
            n.set_status(StatusCode::Good);
            if let Some(cp) = n.take_continuation_point::<UpstreamCp>() {
                next_cps.push(cp.cp.clone());
                next_idx.push(i);
                continue;
            }
            let key = BrowseKey {
                node: n.node_id().clone(),
                direction: n.browse_direction() as u32,
                reference_type: n.reference_type_id().clone(),
                subtypes: n.include_subtypes(),
                class_mask: n.node_class_mask().bits(),
                result_mask: n.result_mask().bits(),
            };
            fresh.push(key);
            fresh_idx.push(i);
        }
        let Some(live) = live else {
            for (key, i) in fresh.into_iter().zip(fresh_idx) {
                if !self.browse_offline(context, up, &key, nodes[i]) {
                    nodes[i].set_status(StatusCode::BadNoCommunication);
                }
            }
            for i in next_idx {
                nodes[i].set_status(StatusCode::BadNoCommunication);
            }
            return;
        };
        if !fresh.is_empty() {
            let max = fresh_idx.iter().map(|i| nodes[*i].remaining()).max().unwrap_or(0);
            let mut descs = Vec::new();
            let mut sent = Vec::new();
            for (key, i) in fresh.iter().zip(&fresh_idx) {
                let Some(id) = live.map.node_to_up(&key.node) else {
                    nodes[*i].set_status(StatusCode::BadNodeIdUnknown);
                    continue;
                };
                descs.push(BrowseDescription {
                    node_id: id,
                    browse_direction: if key.direction == BrowseDirection::Inverse as u32 { BrowseDirection::Inverse } else if key.direction == BrowseDirection::Both as u32 { BrowseDirection::Both } else { BrowseDirection::Forward },
                    reference_type_id: live.map.node_to_up(&key.reference_type).unwrap_or_default(),
                    include_subtypes: key.subtypes,
                    node_class_mask: key.class_mask,
                    result_mask: key.result_mask,
                });
                sent.push((key.clone(), *i));
            }
            if !descs.is_empty() {
                self.metrics_request(up);
                match live.session.browse(&descs, max.min(u32::MAX as usize) as u32, None).await {
                    Ok(results) => {
                        for ((key, i), r) in sent.into_iter().zip(results) {
                            let complete = r.continuation_point.is_null();
                            let refs = self.take_results(up, &live, nodes[i], r, &key.node);
                            if complete && refs.is_some() {
                                up.cache.put_browse(key, refs.unwrap_or_default());
                            }
                        }
                    }
                    Err(e) => {
                        let s = service_failure(e.status());
                        for (key, i) in sent {
                            if s != StatusCode::BadNoCommunication || !self.browse_offline(context, up, &key, nodes[i]) {
                                nodes[i].set_status(s);
                            }
                        }
                    }
                }
            }
        }
        if !next_cps.is_empty() {
            self.metrics_request(up);
            match live.session.browse_next(false, &next_cps).await {
                Ok(results) => {
                    for (i, r) in next_idx.into_iter().zip(results) {
                        let id = nodes[i].node_id().clone();
                        let _ = self.take_results(up, &live, nodes[i], r, &id);
                    }
                }
                Err(e) => {
                    for i in next_idx {
                        nodes[i].set_status(service_failure(e.status()));
                    }
                }
            }
        }
    }

    /// Puts an upstream browse result into `node`; returns the references added.
    fn take_results(
        &self,
        up: &Upstream,
        live: &Live,
        node: &mut BrowseNode,
        mut r: BrowseResult,
        browsed: &NodeId,
    ) -> Option<Vec<ReferenceDescription>> {
        if r.status_code.is_bad() {
            node.set_status(r.status_code);
            return None;
        }
        let is_folder = *browsed == up.folder;
        let mut added = Vec::new();
        for rd in r.references.take().unwrap_or_default() {
            if is_folder && !rd.is_forward {
                // the upstream's Objects sits under its Root; the folder sits under ours
                continue;
            }
            let m = map_reference(&live.map, rd);
            up.cache.learn_from(&m);
            added.push(m.clone());
            node.add_unchecked(m);
        }
        if is_folder && node.allows_inverse() && r.continuation_point.is_null() {
            let m = self.foreign_ref(
                ReferenceTypeId::Organizes.into(),
                ObjectId::ObjectsFolder.into(),
                NodeClass::Object,
                QualifiedName::new(0, "Objects"),
            );
            added.push(m.clone());
            node.add_unchecked(m);
        }
        if !r.continuation_point.is_null() {
            node.set_next_continuation_point(Box::new(UpstreamCp {
                cp: r.continuation_point,
            }));
        }
        Some(added)
    }

}

/// One node of a Read (or of the initial read of new monitored items), borrowed from the
/// request: no copy of its NodeId is made before it is mapped to the upstream's.
struct ReadItem<'a> {
    node: &'a NodeId,
    attribute: AttributeId,
    index_range: &'a NumericRange,
}

impl<'a> ReadItem<'a> {
    fn of(n: &'a ParsedReadValueId) -> Self {
        Self {
            node: &n.node_id,
            attribute: n.attribute_id,
            index_range: &n.index_range,
        }
    }
}

/// Puts into `out` the values the cache can answer for `max_age` (ms); returns how many.
fn answer_from_cache(up: &Upstream, nodes: &[ReadItem<'_>], max_age: f64, out: &mut [Option<DataValue>]) -> u64 {
    let cached = up.cache.values();
    let mut hits = 0;
    for (n, slot) in nodes.iter().zip(out.iter_mut()) {
        if !n.index_range.is_none() {
            continue;
        }
        let Some((dv, age)) = cached.get(n.node, n.attribute) else { continue };
        let good_enough = n.attribute != AttributeId::Value
            || (age.as_secs_f64() * 1000.0 <= max_age && dv.status.is_none_or(|s| !s.is_bad()));
        if good_enough {
            *slot = Some(dv);
            hits += 1;
        }
    }
    hits
}

/// Sends one Read to the upstream (without the copy of the request `Session::read` makes).
async fn read_values(live: &Live, ask: Vec<ReadValueId>, max_age: f64) -> Result<Vec<DataValue>, opcua::types::Error> {
    let response = Read::new(&live.session)
        .nodes_to_read(ask)
        .timestamps_to_return(TimestampsToReturn::Both)
        .max_age(max_age)
        .send(live.session.channel())
        .await?;
    Ok(response.results.unwrap_or_default())
}

/// Where the nodes of one request go, resolved once per namespace (not once per node).
#[derive(Default)]
struct Groups {
    /// Upstream namespace index → its group in `groups`, or `None` when no upstream has it.
    namespaces: Vec<(u16, Option<usize>)>,
    /// Each upstream with the indexes of its nodes in the request.
    groups: Vec<(Arc<Upstream>, Vec<usize>)>,
}

impl Groups {
    /// The group of the upstream owning namespace `ns`, made on first use.
    fn of(&mut self, agg: &Aggregator, ns: u16) -> Option<&mut Vec<usize>> {
        let g = match self.namespaces.iter().find(|(n, _)| *n == ns) {
            Some((_, g)) => *g,
            None => {
                let g = agg.upstream_of_namespace(ns).map(|up| {
                    match self.groups.iter().position(|(u, _)| Arc::ptr_eq(u, &up)) {
                        Some(g) => g,
                        None => {
                            self.groups.push((up, Vec::new()));
                            self.groups.len() - 1
                        }
                    }
                });
                self.namespaces.push((ns, g));
                g
            }
        };
        g.map(|g| &mut self.groups[g].1)
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
        let mut groups = Groups::default();
        for (i, n) in nodes_to_read.iter_mut().enumerate() {
            let node = n.node();
            if node.node_id.namespace == self.ns {
                if let Some(Target::Local(local)) = self.target(&node.node_id) {
                    let dv = self.read_local(context, &local, node.attribute_id);
                    n.set_result(with_timestamps(dv, ttr));
                }
                continue;
            }
            let Some(group) = groups.of(&self.agg, node.node_id.namespace) else { continue };
            if node.attribute_id == AttributeId::Value && !self.may(context, &node.node_id, AccessLevel::CURRENT_READ) {
                n.set_result(bad(StatusCode::BadUserAccessDenied));
                continue;
            }
            group.push(i);
        }
        for (up, idx) in groups.groups {
            let items: Vec<ReadItem> = idx.iter().map(|i| ReadItem::of(nodes_to_read[*i].node())).collect();
            let values = self.read_upstream(&up, &items, max_age).await;
            for (i, dv) in idx.into_iter().zip(values) {
                nodes_to_read[i].set_result(with_timestamps(dv, ttr));
            }
        }
        Ok(())
    }

    async fn write(
        &self,
        context: &RequestContext,
        nodes_to_write: &mut [&mut WriteNode],
    ) -> Result<(), StatusCode> {
        let mut groups: HashMap<String, (Arc<Upstream>, Vec<usize>)> = HashMap::new();
        for (i, w) in nodes_to_write.iter_mut().enumerate() {
            let id = w.value().node_id.clone();
            match self.target(&id) {
                Some(Target::Local(_)) => w.set_status(StatusCode::BadNotWritable),
                Some(Target::Upstream(up)) => {
                    if !self.may(context, &id, AccessLevel::CURRENT_WRITE) {
                        w.set_status(StatusCode::BadUserAccessDenied);
                        continue;
                    }
                    groups.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new())).1.push(i);
                }
                None => {}
            }
        }
        for (_, (up, idx)) in groups {
            let Some(live) = up.live() else {
                for i in idx {
                    nodes_to_write[i].set_status(StatusCode::BadNoCommunication);
                }
                continue;
            };
            let mut values = Vec::new();
            let mut sent = Vec::new();
            for i in idx {
                let v = nodes_to_write[i].value();
                let Some(id) = live.map.node_to_up(&v.node_id) else {
                    nodes_to_write[i].set_status(StatusCode::BadNodeIdUnknown);
                    continue;
                };
                let mut dv = v.value.clone();
                if let Some(x) = dv.value.take() {
                    dv.value = Some(live.map.variant_to_up(x));
                }
                values.push(WriteValue {
                    node_id: id,
                    attribute_id: v.attribute_id as u32,
                    index_range: v.index_range.clone(),
                    value: dv,
                });
                sent.push(i);
            }
            if values.is_empty() {
                continue;
            }
            self.metrics_request(&up);
            match live.session.write(&values).await {
                Ok(statuses) => {
                    for (i, s) in sent.into_iter().zip(statuses) {
                        if s.is_good() {
                            // a maxAge read must not see the value from before the write
                            let v = nodes_to_write[i].value();
                            up.cache.forget(&v.node_id, v.attribute_id);
                        }
                        nodes_to_write[i].set_status(s);
                    }
                }
                Err(e) => {
                    for i in sent {
                        nodes_to_write[i].set_status(service_failure(e.status()));
                    }
                }
            }
        }
        Ok(())
    }

    async fn browse(&self, context: &RequestContext, nodes_to_browse: &mut [BrowseNode]) -> Result<(), StatusCode> {
        let mut groups: HashMap<String, (Arc<Upstream>, Vec<usize>)> = HashMap::new();
        for (i, node) in nodes_to_browse.iter_mut().enumerate() {
            if node.node_id().is_null() {
                continue;
            }
            match self.target(&node.node_id().clone()) {
                Some(Target::Local(Local::UpstreamFolder(n))) => {
                    if let Some(up) = self.agg.get(&n) {
                        groups.entry(n).or_insert_with(|| (up, Vec::new())).1.push(i);
                    }
                }
                Some(Target::Local(local)) => self.browse_local(context, node, &local),
                Some(Target::Upstream(up)) => {
                    groups.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new())).1.push(i);
                }
                None => self.add_foreign_references(context, node),
            }
        }
        for (_, (up, idx)) in groups {
            // split the slice into the nodes of this upstream
            let mut refs: Vec<&mut BrowseNode> = nodes_to_browse
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| idx.contains(i))
                .map(|(_, n)| n)
                .collect();
            self.browse_upstream(context, &up, &mut refs).await;
        }
        Ok(())
    }

    async fn translate_browse_paths_to_node_ids(
        &self,
        _context: &RequestContext,
        nodes: &mut [&mut BrowsePathItem],
    ) -> Result<(), StatusCode> {
        for item in nodes.iter_mut() {
            if item.unmatched_browse_name().is_some() {
                continue;
            }
            let start = item.node_id().clone();
            let path = item.path();
            let Some(first) = path.first() else { continue };
            // Objects/<upstream>/…: the first step is ours, the rest the upstream's. A node
            // manager is not asked again about the items it produced, so the whole path is
            // followed here.
            if start == ObjectId::ObjectsFolder {
                if first.is_inverse {
                    continue;
                }
                let hit = self
                    .agg
                    .names()
                    .into_iter()
                    .map(Local::UpstreamFolder)
                    .find(|l| first.target_name == l.browse_name(self.ns));
                let Some(Local::UpstreamFolder(name)) = hit else { continue };
                if path.len() == 1 {
                    item.add_element(Local::UpstreamFolder(name).node_id(self.ns), 1, None);
                } else if let Some(up) = self.agg.get(&name) {
                    self.translate_upstream(&up, item, Some(ObjectId::ObjectsFolder.into()), 1).await;
                }
                continue;
            }
            let local_start = if start == self.fxgate_folder {
                [Local::Upstreams, Local::Configuration]
                    .into_iter()
                    .find(|l| !first.is_inverse && first.target_name == l.browse_name(self.ns))
                    .map(|l| (l, 1usize))
            } else {
                match self.target(&start) {
                    Some(Target::Local(Local::UpstreamFolder(n))) => {
                        if let Some(up) = self.agg.get(&n) {
                            self.translate_upstream(&up, item, Some(ObjectId::ObjectsFolder.into()), 0).await;
                        }
                        continue;
                    }
                    Some(Target::Local(local)) => Some((local, 0usize)),
                    Some(Target::Upstream(up)) => {
                        self.translate_upstream(&up, item, None, 0).await;
                        continue;
                    }
                    None => None,
                }
            };
            let Some((mut node, skip)) = local_start else { continue };
            if skip == 1 && first.target_name != node.browse_name(self.ns) {
                continue;
            }
            let mut depth = skip;
            for el in &path[skip..] {
                let next = node
                    .children(&self.agg.names())
                    .into_iter()
                    .map(|(_, c)| c)
                    .find(|c| c.browse_name(self.ns) == el.target_name);
                match next {
                    Some(c) => {
                        node = c;
                        depth += 1;
                    }
                    None => break,
                }
            }
            if depth == path.len() {
                item.add_element(node.node_id(self.ns), depth, None);
            }
        }
        Ok(())
    }

    async fn call(&self, context: &RequestContext, methods_to_call: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        let mut groups: HashMap<String, (Arc<Upstream>, Vec<usize>)> = HashMap::new();
        for (i, m) in methods_to_call.iter_mut().enumerate() {
            match self.call_target(m) {
                Some(Target::Upstream(up)) => {
                    if !context.authenticator.is_user_executable(&context.token, m.method_id()) {
                        m.set_status(StatusCode::BadUserAccessDenied);
                        continue;
                    }
                    groups.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new())).1.push(i);
                }
                Some(Target::Local(Local::Method(method))) => self.call_configuration(context, m, method).await,
                Some(Target::Local(_)) => m.set_status(StatusCode::BadMethodInvalid),
                None => {}
            }
        }
        for (_, (up, idx)) in groups {
            let Some(live) = up.live() else {
                for i in idx {
                    methods_to_call[i].set_status(StatusCode::BadNoCommunication);
                }
                continue;
            };
            let mut reqs = Vec::new();
            let mut sent = Vec::new();
            for i in idx {
                let m = &methods_to_call[i];
                let (Some(obj), Some(method)) = (live.map.node_to_up(m.object_id()), live.map.node_to_up(m.method_id())) else {
                    methods_to_call[i].set_status(StatusCode::BadNodeIdUnknown);
                    continue;
                };
                let args: Vec<_> = m.arguments().iter().cloned().map(|a| live.map.variant_to_up(a)).collect();
                reqs.push(CallMethodRequest {
                    object_id: obj,
                    method_id: method,
                    input_arguments: Some(args),
                });
                sent.push(i);
            }
            if reqs.is_empty() {
                continue;
            }
            self.metrics_request(&up);
            match live.session.call(reqs).await {
                Ok(results) => {
                    for (i, r) in sent.into_iter().zip(results) {
                        let m = &mut methods_to_call[i];
                        if let Some(ar) = r.input_argument_results.filter(|v| v.iter().any(|s| s.is_bad())) {
                            m.set_argument_error(ar);
                        }
                        m.set_status(r.status_code);
                        let outs: Vec<_> = r
                            .output_arguments
                            .unwrap_or_default()
                            .into_iter()
                            .map(|v| live.map.variant_to_gw(v))
                            .collect();
                        m.set_outputs(outs);
                    }
                }
                Err(e) => {
                    for i in sent {
                        methods_to_call[i].set_status(service_failure(e.status()));
                    }
                }
            }
        }
        Ok(())
    }

    async fn history_read_raw_modified(
        &self,
        _context: &RequestContext,
        details: &ReadRawModifiedDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        for n in nodes.iter_mut() {
            let Some(Target::Upstream(up)) = self.target(n.node_id()) else {
                n.set_status(StatusCode::BadHistoryOperationUnsupported);
                continue;
            };
            let Some(live) = up.live() else {
                n.set_status(StatusCode::BadNoCommunication);
                continue;
            };
            let Some(id) = live.map.node_to_up(n.node_id()) else {
                n.set_status(StatusCode::BadNodeIdUnknown);
                continue;
            };
            let cp = n
                .continuation_point()
                .and_then(|c| c.get::<UpstreamHistoryCp>())
                .map(|c| c.cp.clone())
                .unwrap_or_default();
            let req = HistoryReadValueId {
                node_id: id,
                index_range: n.index_range().clone(),
                data_encoding: QualifiedName::null(),
                continuation_point: cp,
            };
            self.metrics_request(&up);
            let action = opcua::client::HistoryReadAction::ReadRawModifiedDetails(details.clone());
            match live.session.history_read(action, timestamps_to_return, false, &[req]).await {
                Ok(mut results) if !results.is_empty() => {
                    let r = results.remove(0);
                    if r.status_code.is_bad() {
                        n.set_status(r.status_code);
                        continue;
                    }
                    let mut data = r
                        .history_data
                        .inner_as::<HistoryData>()
                        .cloned()
                        .unwrap_or(HistoryData { data_values: None });
                    if let Some(values) = data.data_values.take() {
                        data.data_values = Some(values.into_iter().map(|dv| live.map.data_value_to_gw(dv)).collect());
                    }
                    if !r.continuation_point.is_null() {
                        n.set_next_continuation_point(Some(ContinuationPoint::new(Box::new(UpstreamHistoryCp {
                            cp: r.continuation_point,
                        }))));
                    }
                    n.set_result(data);
                    n.set_status(r.status_code);
                }
                Ok(_) => n.set_status(StatusCode::BadUnexpectedError),
                Err(e) => n.set_status(service_failure(e.status())),
            }
        }
        Ok(())
    }

    async fn create_monitored_items(
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

    async fn modify_monitored_items(&self, _context: &RequestContext, items: &[&MonitoredItemUpdateRef]) {
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

    async fn delete_monitored_items(&self, _context: &RequestContext, items: &[&MonitoredItemRef]) {
        let mut deletes: HashMap<String, (Arc<Upstream>, Vec<u32>, Vec<u32>)> = HashMap::new();
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

impl ForwardNodeManager {
    /// `AddServer` / `RemoveServer` on `Objects/fxgate/Configuration` (configure role only).
    async fn call_configuration(&self, context: &RequestContext, m: &mut MethodCall, method: ConfigMethod) {
        if *m.object_id() != Local::Configuration.node_id(self.ns) {
            m.set_status(StatusCode::BadMethodInvalid);
            return;
        }
        let user = user_name(&context.token);
        if !context.authenticator.is_user_executable(&context.token, m.method_id()) {
            tracing::warn!(method = method.name(), %user, "configuration method refused: the user lacks the configure role");
            m.set_status(StatusCode::BadUserAccessDenied);
            return;
        }
        let encrypted = context.session.read().message_security_mode() == MessageSecurityMode::SignAndEncrypt;
        let result = match method {
            ConfigMethod::AddServer => match configure::add_server_config(m.arguments(), encrypted) {
                Ok(cfg) => configure::add_server(&self.agg, cfg).await,
                Err(e) => Err(e),
            },
            ConfigMethod::RemoveServer => match configure::remove_server_name(m.arguments()) {
                Ok(name) => configure::remove_server(&self.agg, &name).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => {
                tracing::info!(method = method.name(), %user, "configuration changed and written to the configuration file");
                m.set_status(StatusCode::Good);
            }
            Err(e) => {
                tracing::warn!(method = method.name(), %user, error = %e, "configuration method failed");
                if let configure::ConfigureError::Arguments { per_argument, .. } = &e {
                    if !per_argument.is_empty() {
                        m.set_argument_error(per_argument.clone());
                    }
                }
                m.set_status(e.status());
            }
        }
    }

    /// Forwards the rest of a browse path that starts at a node of `up`.
    /// `start`: the upstream node to start from (default: the item's node); `skip`: path
    /// elements already followed by the gateway.
    async fn translate_upstream(&self, up: &Upstream, item: &mut BrowsePathItem<'_>, start: Option<NodeId>, skip: usize) {
        let Some(live) = up.live() else {
            item.set_status(StatusCode::BadNoCommunication);
            return;
        };
        let Some(start) = start.or_else(|| live.map.node_to_up(item.node_id())) else {
            item.set_status(StatusCode::BadNodeIdUnknown);
            return;
        };
        let path = &item.path()[skip..];
        let elements: Vec<RelativePathElement> = path
            .iter()
            .map(|e| RelativePathElement {
                reference_type_id: live.map.node_to_up(&e.reference_type_id).unwrap_or_default(),
                is_inverse: e.is_inverse,
                include_subtypes: e.include_subtypes,
                target_name: live.map.qn_to_up(&e.target_name),
            })
            .collect();
        let req = BrowsePath {
            starting_node: start,
            relative_path: RelativePath {
                elements: Some(elements),
            },
        };
        self.metrics_request(up);
        match live.session.translate_browse_paths_to_node_ids(&[req]).await {
            Ok(mut results) if !results.is_empty() => {
                let r = results.remove(0);
                let targets = r.targets.unwrap_or_default();
                if r.status_code.is_bad() && targets.is_empty() {
                    if skip == 0 {
                        item.set_status(r.status_code);
                    }
                    return;
                }
                for t in targets {
                    if t.target_id.server_index != 0 {
                        continue;
                    }
                    let id = live.map.node_to_gw(&t.target_id.node_id);
                    let depth = skip
                        + if t.remaining_path_index == u32::MAX {
                            path.len()
                        } else {
                            (t.remaining_path_index as usize).min(path.len())
                        };
                    item.add_element(id, depth, None);
                }
            }
            Ok(_) => item.set_status(StatusCode::BadUnexpectedError),
            Err(e) => item.set_status(service_failure(e.status())),
        }
    }
}


/// The user name of a session's token, for the log.
fn user_name(token: &opcua::server::authenticator::UserToken) -> String {
    if token.is_anonymous() {
        "anonymous".into()
    } else {
        token.0.clone()
    }
}
