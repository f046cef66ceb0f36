//! Sets added and removed while the server runs (CloseAndUpdate): their nodes and their place in
//! the ConnectionManager's list. A set added under a name whose NodeId was used before gets a
//! new NodeId (`ConnectionManager/<name>@<n>`), so a replaced set is a new node (§6.8.2
//! Version).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use opcua::server::address_space::AddressSpace;
use opcua::sync::RwLock;
use opcua::types::{BrowseDirection, Identifier, NodeId};

use super::process::Failure;
use super::Set;
use crate::config::cm::ConnectionSetConfig;
use crate::node_manager::FxNodeManagerImpl;

/// Adds the set `cfg` (Ready, Version 1, held by the ConnectionManager); returns it.
pub fn add(nm: &FxNodeManagerImpl, space: &mut AddressSpace, cfg: &ConnectionSetConfig) -> Option<Arc<Set>> {
    let cm = nm.connection_manager()?;
    let ns = nm.model().ns;
    let base = format!("ConnectionManager/{}", cfg.name);
    let mut path = base.clone();
    let mut n = 2u32;
    while space.node_exists(&NodeId::new(ns.instances, path.as_str())) {
        path = format!("{base}@{n}");
        n += 1;
    }
    let set = Arc::new(super::build::add_set(space, nm.model(), cm, cfg, &path));
    cm.sets.write().push(set.clone());
    tracing::info!(set = %cfg.name, node = %set.node, "FX ConnectionConfigurationSet added");
    Some(set)
}

/// Closes (removes) every endpoint of the set's connections, as ActionRemoveConnections does.
pub async fn close(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, set: &Arc<Set>) -> Result<(), Failure> {
    super::process::endpoints_action(nm, space, set, 3).await
}

/// Removes the set's nodes and takes it out of the list.
pub fn remove(nm: &FxNodeManagerImpl, space: &mut AddressSpace, set: &Arc<Set>) {
    let Some(cm) = nm.connection_manager() else { return };
    cm.sets.write().retain(|s| !Arc::ptr_eq(s, set));
    let Some(types) = nm.type_tree() else { return };
    let types = types.read();
    let prefix = match &set.node.identifier {
        Identifier::String(s) => s.as_ref().to_string(),
        _ => return,
    };
    let within = |id: &NodeId| {
        id.namespace == set.node.namespace
            && matches!(&id.identifier, Identifier::String(s) if s.as_ref() == prefix || s.as_ref().starts_with(&format!("{prefix}/")))
    };
    // the set's nodes: reachable over forward references and named below its path
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut queue = VecDeque::from([set.node.clone()]);
    while let Some(n) = queue.pop_front() {
        if !seen.insert(n.clone()) {
            continue;
        }
        let targets: Vec<NodeId> = space
            .find_references(&n, None::<(NodeId, bool)>, &*types, BrowseDirection::Forward)
            .map(|r| r.target_node.clone())
            .filter(|t| within(t))
            .collect();
        queue.extend(targets);
    }
    drop(types);
    for n in &seen {
        space.delete(n, true);
    }
    tracing::info!(set = %set.name, nodes = seen.len(), "FX ConnectionConfigurationSet removed");
}
