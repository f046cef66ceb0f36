//! Routing: which upstream owns a node of a request. An upstream owns the gateway
//! namespaces its namespaces map to (their indexes are stable, see [`crate::names`]); the
//! aggregation namespace holds the gateway's own nodes ([`Local`]), among them each upstream's
//! folder, which stands for that upstream's Objects folder (OPC 10000-5 §8.2.4).

use std::sync::Arc;

use opcua::types::NodeId;

use super::ForwardNodeManager;
use crate::aggregator::{id_string, Aggregator};
use crate::local::Local;
use crate::upstream::Upstream;

/// Where a node of a request goes.
pub(super) enum Target {
    /// One of the gateway's own nodes (upstream folders, diagnostics, configuration).
    Local(Local),
    /// A node of this upstream.
    Upstream(Arc<Upstream>),
}

impl ForwardNodeManager {
    /// Where `id` goes: the gateway's own node it names, or the upstream owning its namespace.
    pub(super) fn target(&self, id: &NodeId) -> Option<Target> {
        if id.namespace == self.ns {
            let local = Local::parse(&id_string(id)?, |n| self.agg.get(n).is_some())?;
            return Some(Target::Local(local));
        }
        self.agg.upstream_of_namespace(id.namespace).map(Target::Upstream)
    }

    /// The upstream a node of the gateway stands for: an upstream node, or an upstream's
    /// folder (its Objects folder).
    pub(super) fn upstream_of_object(&self, id: &NodeId) -> Option<Arc<Upstream>> {
        match self.target(id)? {
            Target::Upstream(up) => Some(up),
            Target::Local(Local::UpstreamFolder(name)) => self.agg.get(&name),
            Target::Local(_) => None,
        }
    }

    /// Whether a standard method (namespace 0 MethodId, e.g. Acknowledge) called on `object_id`
    /// goes to an upstream: `object_id` is an upstream's node. Such calls reach the server's
    /// core node manager first (it owns namespace 0), which hands them to [`NodeManager::call`](opcua::server::node_manager::NodeManager::call)
    /// of this one (see [`crate::standard_calls`]).
    pub fn forwards_standard_call(&self, object_id: &NodeId) -> bool {
        self.upstream_of_object(object_id).is_some()
    }
}

/// Where the nodes of one request go, resolved once per namespace (not once per node).
#[derive(Default)]
pub(super) struct Groups {
    /// Upstream namespace index → its group in `groups`, or `None` when no upstream has it.
    pub(super) namespaces: Vec<(u16, Option<usize>)>,
    /// Each upstream with the indexes of its nodes in the request.
    pub(super) groups: Vec<(Arc<Upstream>, Vec<usize>)>,
}

impl Groups {
    /// The group of the upstream owning namespace `ns`, made on first use.
    pub(super) fn of(&mut self, agg: &Aggregator, ns: u16) -> Option<&mut Vec<usize>> {
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
