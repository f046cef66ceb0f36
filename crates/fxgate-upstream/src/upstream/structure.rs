//! What is learnt of an upstream's structure at connect by browsing it (OPC 10000-4 §5.8.2,
//! §5.8.3): its own subtypes of the standard types, and the first two levels below its
//! Objects folder, which keep its folder browsable while it is unreachable.

use std::collections::HashMap;

use opcua::client::Session;
use opcua::types::{
    BrowseDescription, BrowseDirection, BrowseResult, NodeId, ObjectId, ReferenceDescription,
    ReferenceTypeId,
};

use super::Upstream;
use crate::mapping::NsMapping;

impl Upstream {
    /// Remembers every reference of the upstream's Objects folder and of the nodes right
    /// below it, so that its folder still browses while the upstream is gone.
    pub(super) async fn prefetch_structure(&self, session: &Session, map: &NsMapping) {
        let all = |n: NodeId| BrowseDescription {
            node_id: n,
            browse_direction: BrowseDirection::Both,
            reference_type_id: ReferenceTypeId::References.into(),
            include_subtypes: true,
            node_class_mask: 0,
            result_mask: 0x3f,
        };
        let mut level: Vec<NodeId> = vec![ObjectId::ObjectsFolder.into()];
        for _ in 0..2 {
            let descs: Vec<_> = level.iter().cloned().map(all).collect();
            let Ok(results) = session.browse(&descs, 0, None).await else { return };
            let mut next = Vec::new();
            for (n, r) in level.iter().zip(results) {
                let refs = all_references(session, r).await;
                for rd in &refs {
                    if rd.is_forward
                        && rd.node_id.server_index == 0
                        && rd.reference_type_id != ReferenceTypeId::HasTypeDefinition
                        && rd.node_id.node_id.namespace != 0
                        && next.len() < 1000
                    {
                        next.push(rd.node_id.node_id.clone());
                    }
                }
                let mapped: Vec<_> = refs.into_iter().map(|rd| map_reference(map, rd)).collect();
                for r in &mapped {
                    self.cache.learn_from(r);
                }
                self.cache.put_all_refs(map.node_to_gw(n), mapped);
            }
            level = next;
        }
    }
}

/// Finds the upstream's own types that are direct subtypes of standard types, by walking
/// the standard type hierarchies of the upstream breadth first (one Browse per level).
pub(super) async fn find_subtypes(
    session: &Session,
    map: &NsMapping,
) -> HashMap<NodeId, Vec<ReferenceDescription>> {
    let mut out: HashMap<NodeId, Vec<ReferenceDescription>> = Default::default();
    let mut level: Vec<NodeId> = vec![
        opcua::types::DataTypeId::BaseDataType.into(),
        opcua::types::ObjectTypeId::BaseObjectType.into(),
        opcua::types::VariableTypeId::BaseVariableType.into(),
        ReferenceTypeId::References.into(),
    ];
    let mut depth = 0;
    while !level.is_empty() && depth < 32 {
        depth += 1;
        let mut next = Vec::new();
        for chunk in level.chunks(500) {
            let descs: Vec<BrowseDescription> = chunk
                .iter()
                .map(|n| BrowseDescription {
                    node_id: n.clone(),
                    browse_direction: BrowseDirection::Forward,
                    reference_type_id: ReferenceTypeId::HasSubtype.into(),
                    include_subtypes: false,
                    node_class_mask: 0,
                    result_mask: 0x3f,
                })
                .collect();
            let Ok(results) = session.browse(&descs, 0, None).await else {
                return out;
            };
            for (parent, r) in chunk.iter().zip(results) {
                let refs = all_references(session, r).await;
                for rd in refs {
                    let child = &rd.node_id;
                    if child.server_index != 0 || !child.namespace_uri.is_null() {
                        continue;
                    }
                    if child.node_id.namespace == 0 {
                        next.push(child.node_id.clone());
                    } else {
                        out.entry(parent.clone()).or_default().push(map_reference(map, rd));
                    }
                }
            }
        }
        level = next;
    }
    out
}

/// The references of a browse result, following its continuation points.
pub(crate) async fn all_references(session: &Session, mut r: BrowseResult) -> Vec<ReferenceDescription> {
    let mut refs = r.references.take().unwrap_or_default();
    let mut cp = r.continuation_point;
    let mut guard = 0;
    while !cp.is_null() && guard < 1000 {
        guard += 1;
        match session.browse_next(false, &[cp.clone()]).await {
            Ok(mut v) if !v.is_empty() => {
                let mut n = v.remove(0);
                refs.extend(n.references.take().unwrap_or_default());
                cp = n.continuation_point;
            }
            _ => break,
        }
    }
    refs
}

/// A reference description from the upstream, in gateway ids.
pub fn map_reference(map: &NsMapping, rd: ReferenceDescription) -> ReferenceDescription {
    ReferenceDescription {
        reference_type_id: map.node_to_gw(&rd.reference_type_id),
        is_forward: rd.is_forward,
        node_id: map.expanded_to_gw(&rd.node_id),
        browse_name: map.qn_to_gw(&rd.browse_name),
        display_name: rd.display_name,
        node_class: rd.node_class,
        type_definition: map.expanded_to_gw(&rd.type_definition),
    }
}
