//! Browse and BrowseNext (OPC 10000-4 §5.8.2, §5.8.3): the gateway's own nodes are browsed
//! here; an upstream's nodes in one Browse (and one BrowseNext for continuation points) per
//! upstream, answered from what is remembered of the upstream while it is unreachable; nodes
//! of other node managers (`Objects`, `fxgate`, standard types) get the gateway's references
//! to its folders and to the upstreams' subtypes of standard types.

use std::collections::HashMap;
use std::sync::Arc;

use opcua::server::node_manager::{BrowseNode, RequestContext};
use opcua::types::{
    BrowseDescription, BrowseDirection, BrowseResult, ByteString, ExpandedNodeId, NodeClass, NodeId,
    ObjectId, ObjectTypeId, QualifiedName, ReferenceDescription, ReferenceTypeId, StatusCode,
};

use super::route::Target;
use super::ForwardNodeManager;
use crate::cache::BrowseKey;
use crate::local::Local;
use crate::upstream::{map_reference, service_failure, Live, Upstream};

/// A continuation point of a forwarded Browse.
struct UpstreamCp {
    /// The upstream's continuation point.
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

impl ForwardNodeManager {
    /// Browse (OPC 10000-4 §5.8.2): the gateway's own nodes here, upstream nodes in one Browse
    /// (and one BrowseNext) per upstream, other managers' nodes get the gateway's references.
    pub(super) async fn browse_nodes(&self, context: &RequestContext, nodes_to_browse: &mut [BrowseNode]) -> Result<(), StatusCode> {
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

    /// A reference to one of the gateway's own nodes.
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

    /// An inverse reference to a node of another node manager (`Objects`, `fxgate`).
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

    /// Browses one of the gateway's own nodes.
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

    /// Browses nodes of one upstream in one Browse and one BrowseNext.
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
