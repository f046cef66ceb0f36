//! The node list: the Variables under `--browse-path` (Browse with BrowseNext, many nodes per
//! request), ids generated from `--nodes-from-ns-prefix`, or the one `--write-node`.

use std::collections::HashSet;
use std::str::FromStr;

use opcua::client::Session;
use opcua::types::{
    BrowseDescription, BrowseDirection, BrowseResult, ByteString, NodeClass, NodeClassMask, NodeId,
    ReferenceTypeId,
};

use crate::BoxError;

const BROWSE_NODES_PER_REQUEST: usize = 100;

fn browse_desc(node_id: NodeId, class_mask: u32) -> BrowseDescription {
    BrowseDescription {
        node_id,
        browse_direction: BrowseDirection::Forward,
        reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
        include_subtypes: true,
        node_class_mask: class_mask,
        // ReferenceTypeId | IsForward | NodeClass | BrowseName
        result_mask: 0b1111,
    }
}

/// Browse many nodes at once and follow every continuation point with BrowseNext (batched),
/// returning (parent index, reference) pairs.
async fn browse_all(
    session: &Session,
    nodes: &[NodeId],
    class_mask: u32,
    stats: &mut BrowseStats,
) -> Result<Vec<(usize, opcua::types::ReferenceDescription)>, BoxError> {
    let mut out = Vec::new();
    for (chunk_no, chunk) in nodes.chunks(BROWSE_NODES_PER_REQUEST).enumerate() {
        let base = chunk_no * BROWSE_NODES_PER_REQUEST;
        let descs: Vec<_> = chunk
            .iter()
            .map(|n| browse_desc(n.clone(), class_mask))
            .collect();
        // 0 = let the server choose how many references per node it returns per call.
        let results = session.browse(&descs, 0, None).await?;
        stats.requests += 1;
        let mut pending: Vec<(usize, ByteString)> = Vec::new();
        collect_results(results, base, &mut out, &mut pending, stats);
        while !pending.is_empty() {
            let cps: Vec<ByteString> = pending.iter().map(|p| p.1.clone()).collect();
            let owners: Vec<usize> = pending.iter().map(|p| p.0).collect();
            let results = session.browse_next(false, &cps).await?;
            stats.requests += 1;
            stats.browse_next += 1;
            pending.clear();
            // BrowseNext results are in continuation point order.
            for (owner, r) in owners.into_iter().zip(results) {
                collect_results(vec![r], owner, &mut out, &mut pending, stats);
            }
        }
    }
    Ok(out)
}

fn collect_results(
    results: Vec<BrowseResult>,
    base: usize,
    out: &mut Vec<(usize, opcua::types::ReferenceDescription)>,
    pending: &mut Vec<(usize, ByteString)>,
    stats: &mut BrowseStats,
) {
    for (i, r) in results.into_iter().enumerate() {
        if !r.status_code.is_good() {
            stats.bad_results += 1;
            tracing::warn!("browse result {}: {}", base + i, r.status_code);
            continue;
        }
        for rd in r.references.into_iter().flatten() {
            out.push((base + i, rd));
        }
        if !r.continuation_point.is_null() && !r.continuation_point.is_empty() {
            pending.push((base + i, r.continuation_point));
        }
    }
}

/// What browsing took.
#[derive(Default, Debug)]
pub(crate) struct BrowseStats {
    /// Browse and BrowseNext requests.
    pub(crate) requests: u64,
    /// BrowseNext requests.
    pub(crate) browse_next: u64,
    /// Results with a bad status.
    pub(crate) bad_results: u64,
}

fn name_matches(element: &str, bn: &opcua::types::QualifiedName) -> bool {
    if let Some((ns, name)) = element.split_once(':') {
        if let Ok(ns) = ns.parse::<u16>() {
            return bn.namespace_index == ns && bn.name.as_ref() == name;
        }
    }
    bn.name.as_ref() == element
}

/// The node at `path` (see `--browse-path`).
pub(crate) async fn resolve_browse_path(
    session: &Session,
    path: &str,
    stats: &mut BrowseStats,
) -> Result<NodeId, BoxError> {
    let mut elements: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut current = NodeId::objects_folder_id();
    match elements.first().copied() {
        Some("Objects") => {
            elements.remove(0);
        }
        Some("Root") => {
            elements.remove(0);
            current = NodeId::root_folder_id();
        }
        _ => {}
    }
    for el in elements {
        let refs = browse_all(session, std::slice::from_ref(&current), 0, stats).await?;
        let found = refs
            .into_iter()
            .find(|(_, rd)| name_matches(el, &rd.browse_name))
            .ok_or_else(|| format!("browse path {path:?}: no child {el:?} under {current}"))?;
        current = found.1.node_id.node_id;
    }
    Ok(current)
}

/// The Variables under `root` (also under its Objects when `recursive`), at most `limit`.
pub(crate) async fn collect_variables(
    session: &Session,
    root: NodeId,
    recursive: bool,
    limit: Option<usize>,
    stats: &mut BrowseStats,
) -> Result<Vec<NodeId>, BoxError> {
    let mask = (NodeClassMask::OBJECT | NodeClassMask::VARIABLE).bits();
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut vars = Vec::new();
    let mut level = vec![root.clone()];
    seen.insert(root);
    while !level.is_empty() {
        let refs = browse_all(session, &level, mask, stats).await?;
        let mut next = Vec::new();
        for (_, rd) in refs {
            let id = rd.node_id.node_id;
            if rd.node_id.server_index != 0 || !seen.insert(id.clone()) {
                continue;
            }
            match rd.node_class {
                NodeClass::Variable => vars.push(id),
                NodeClass::Object if recursive => next.push(id),
                _ => {}
            }
        }
        if limit.is_some_and(|l| vars.len() >= l) {
            break;
        }
        level = next;
    }
    if let Some(l) = limit {
        vars.truncate(l);
    }
    Ok(vars)
}

/// `spec` with `nsu=<uri>;` replaced by `ns=<index>;` (the index looked up in the server's
/// namespace array); `missing` is the error when there is no `;`. Other specs as they are.
async fn with_ns_index(session: &Session, spec: &str, missing: &str) -> Result<String, BoxError> {
    let Some(rest) = spec.strip_prefix("nsu=") else {
        return Ok(spec.to_owned());
    };
    let (uri, id) = rest.split_once(';').ok_or(missing)?;
    let idx = session
        .get_namespace_index(uri)
        .await
        .map_err(|e| format!("namespace {uri:?}: {e}"))?;
    Ok(format!("ns={idx};{id}"))
}

/// A NodeId in the usual string form, or with `nsu=<uri>;` instead of `ns=<index>;` (the index
/// is looked up in the server's namespace array).
pub(crate) async fn resolve_node_id(session: &Session, spec: &str) -> Result<NodeId, BoxError> {
    let s = with_ns_index(session, spec, "expected nsu=<uri>;<identifier>").await?;
    NodeId::from_str(&s).map_err(|e| format!("bad node id {s:?}: {e:?}").into())
}

/// The node ids `<prefix><n>` for n in 0..`count` (`prefix` as in [`resolve_node_id`]).
pub(crate) async fn nodes_from_prefix(
    session: &Session,
    prefix: &str,
    count: usize,
) -> Result<Vec<NodeId>, BoxError> {
    let missing = "--nodes-from-ns-prefix: expected nsu=<uri>;<id prefix>";
    let prefix = with_ns_index(session, prefix, missing).await?;
    (0..count)
        .map(|i| {
            let s = format!("{prefix}{i}");
            NodeId::from_str(&s).map_err(|e| format!("bad node id {s:?}: {e:?}").into())
        })
        .collect()
}
