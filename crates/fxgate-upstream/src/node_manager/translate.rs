//! TranslateBrowsePathsToNodeIds (OPC 10000-4 §5.8.4): a path through the gateway's own
//! nodes is followed here; the part of a path inside an upstream is sent to that upstream
//! in its namespace indexes, and the targets mapped back.

use opcua::server::node_manager::{BrowsePathItem, RequestContext};
use opcua::types::{BrowsePath, NodeId, ObjectId, RelativePath, RelativePathElement, StatusCode};

use super::route::Target;
use super::ForwardNodeManager;
use crate::local::Local;
use crate::upstream::{service_failure, Upstream};

impl ForwardNodeManager {
    /// TranslateBrowsePathsToNodeIds (OPC 10000-4 §5.8.4) of paths that start at or pass
    /// through the gateway's own nodes or an upstream's.
    pub(super) async fn translate_paths(
        &self,
        _context: &RequestContext,
        nodes: &mut [&mut BrowsePathItem<'_>],
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
