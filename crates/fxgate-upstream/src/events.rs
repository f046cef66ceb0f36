//! Events of upstream nodes (EventNotifier objects, the upstream's Server object), passed
//! through to the gateway's clients.
//!
//! async-opcua's server applies each client's EventFilter itself (select and where clauses,
//! on an [`Event`]), and keeps the parsed filter to itself. So the gateway asks the upstream,
//! once per notifier node and shared by all clients, for *every* field an event of the
//! upstream can have: the browse paths of the variables of BaseEventType and of all its
//! subtypes in the upstream, found at connect. Each upstream event becomes a
//! [`ForwardedEvent`] answering any field by browse path, and every client's filter is
//! applied to it by the server. NodeIds, QualifiedNames and values are mapped to the
//! gateway's namespaces like everything else.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use opcua::nodes::Event;
use opcua::types::event_field::EventField;
use opcua::types::{
    AttributeId, BrowseDescription, BrowseDirection, ContentFilter, DateTime, EventFilter,
    ExtensionObject, NodeClass, NodeId, NumericRange, ObjectTypeId, QualifiedName,
    ReferenceTypeId, SimpleAttributeOperand, Variant,
};
use opcua::client::Session;

use crate::mapping::NsMapping;
use crate::upstream::all_references;

/// At most this many event fields are selected (the standard types have a few hundred).
const MAX_FIELDS: usize = 2000;
/// Nodes per Browse request while discovering the event types.
const BROWSE_CHUNK: usize = 200;

/// The fields of BaseEventType, always selected first (also if discovery fails).
const BASE_FIELDS: [&str; 9] =
    ["EventId", "EventType", "SourceNode", "SourceName", "Time", "ReceiveTime", "LocalTime", "Message", "Severity"];

/// The fields selected from an upstream's events, in select-clause order.
#[derive(Debug, Default)]
pub struct EventFields {
    /// Browse paths in upstream namespace indexes (select-clause order).
    paths_up: Vec<Vec<QualifiedName>>,
    /// Browse path in gateway namespace indexes → select-clause index.
    index: HashMap<Vec<QualifiedName>, usize>,
}

impl EventFields {
    /// For these upstream browse paths (duplicates dropped, at most `MAX_FIELDS`).
    pub fn new(paths: impl IntoIterator<Item = Vec<QualifiedName>>, map: &NsMapping) -> Self {
        let mut seen = HashSet::new();
        let mut out = EventFields::default();
        let base = BASE_FIELDS.iter().map(|n| vec![QualifiedName::new(0, *n)]);
        for p in base.chain(paths) {
            if out.paths_up.len() >= MAX_FIELDS {
                break;
            }
            if p.is_empty() || !seen.insert(p.clone()) {
                continue;
            }
            let gw: Vec<_> = p.iter().map(|q| map.qn_to_gw(q)).collect();
            // one extra clause (the ConditionId) comes first, so the index is shifted by one
            out.index.insert(gw, out.paths_up.len() + 1);
            out.paths_up.push(p);
        }
        out
    }

    /// Number of fields selected.
    pub fn len(&self) -> usize {
        self.paths_up.len() + 1
    }

    /// Whether nothing is selected (never: the ConditionId and BaseEventType's fields are).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The EventFilter for the upstream monitored item: the ConditionId (the NodeId of a
    /// ConditionType event, empty path), then every field; no where clause (each client's
    /// own where clause is applied by the gateway's server).
    pub fn filter(&self) -> ExtensionObject {
        let condition_id = SimpleAttributeOperand {
            type_definition_id: ObjectTypeId::ConditionType.into(),
            // an empty path, not a null one (asyncua's server fails on a null path)
            browse_path: Some(Vec::new()),
            attribute_id: AttributeId::NodeId as u32,
            index_range: NumericRange::None,
        };
        let fields = self.paths_up.iter().map(|p| SimpleAttributeOperand {
            type_definition_id: ObjectTypeId::BaseEventType.into(),
            browse_path: Some(p.clone()),
            attribute_id: AttributeId::Value as u32,
            index_range: NumericRange::None,
        });
        ExtensionObject::from_message(EventFilter {
            select_clauses: Some(std::iter::once(condition_id).chain(fields).collect()),
            where_clause: ContentFilter { elements: None },
        })
    }

    fn position(&self, path: &[QualifiedName]) -> Option<usize> {
        self.index.get(path).copied()
    }
}

/// The upstream's own event types (not namespace 0), in gateway ids, for the server's type
/// tree: so that a client's `OfType` where clause and select clauses naming such a type
/// work on forwarded events.
#[derive(Debug, Default)]
pub struct EventTypes {
    /// (type, its supertype).
    pub types: Vec<(NodeId, NodeId)>,
    /// (type, browse path, node id, node class) of each of their fields.
    pub fields: Vec<(NodeId, Vec<QualifiedName>, NodeId, NodeClass)>,
}

/// Finds the browse paths of the variables of BaseEventType and of all its subtypes in the
/// upstream (properties, and one level below components and objects, e.g.
/// `EnabledState/Id`), and the upstream's own event types. Gives up quietly on browse
/// errors: what was found is used.
pub async fn discover(session: &Session, map: &NsMapping) -> (EventFields, EventTypes) {
    let mut own = EventTypes::default();
    let mut paths: Vec<Vec<QualifiedName>> = Vec::new();
    let mut types: Vec<NodeId> = Vec::new();
    let mut level: Vec<NodeId> = vec![ObjectTypeId::BaseEventType.into()];
    let mut seen: HashSet<NodeId> = level.iter().cloned().collect();
    // the type hierarchy below BaseEventType, level by level
    while !level.is_empty() && types.len() < 5000 {
        types.extend(level.iter().cloned());
        let refs = browse_many(session, &level, ReferenceTypeId::HasSubtype, NodeClass::ObjectType).await;
        let mut next = Vec::new();
        for (parent, rd) in refs {
            let id = rd.node_id.node_id;
            if rd.node_id.server_index == 0 && seen.insert(id.clone()) {
                if id.namespace != 0 {
                    own.types.push((map.node_to_gw(&id), map.node_to_gw(&parent)));
                }
                next.push(id);
            }
        }
        level = next;
    }
    // the fields of every type, and one level below each of them
    let children = browse_many(session, &types, ReferenceTypeId::Aggregates, NodeClass::Variable).await;
    let mut nested: Vec<(NodeId, (NodeId, QualifiedName))> = Vec::new();
    for (owner, rd) in children {
        let id = rd.node_id.node_id.clone();
        if owner.namespace != 0 {
            own.fields.push((map.node_to_gw(&owner), vec![map.qn_to_gw(&rd.browse_name)], map.node_to_gw(&id), rd.node_class));
        }
        if rd.node_class == NodeClass::Variable {
            paths.push(vec![rd.browse_name.clone()]);
        }
        if rd.reference_type_id != ReferenceTypeId::HasProperty {
            nested.push((id, (owner, rd.browse_name)));
        }
    }
    let ids: Vec<NodeId> = nested.iter().map(|(n, _)| n.clone()).collect();
    let parents: HashMap<NodeId, (NodeId, QualifiedName)> = nested.into_iter().collect();
    for (parent, rd) in browse_many(session, &ids, ReferenceTypeId::Aggregates, NodeClass::Variable).await {
        let Some((owner, p)) = parents.get(&parent) else { continue };
        if owner.namespace != 0 {
            let path = vec![map.qn_to_gw(p), map.qn_to_gw(&rd.browse_name)];
            own.fields.push((map.node_to_gw(owner), path, map.node_to_gw(&rd.node_id.node_id), rd.node_class));
        }
        if rd.node_class == NodeClass::Variable {
            paths.push(vec![p.clone(), rd.browse_name]);
        }
    }
    (EventFields::new(paths, map), own)
}

/// Forward references of `reference_type` (with subtypes) from every node, in chunks;
/// Variables and Objects, or only `class` for ObjectTypes.
async fn browse_many(
    session: &Session,
    nodes: &[NodeId],
    reference_type: ReferenceTypeId,
    class: NodeClass,
) -> Vec<(NodeId, opcua::types::ReferenceDescription)> {
    let mask = match class {
        NodeClass::Variable => NodeClass::Variable as u32 | NodeClass::Object as u32,
        other => other as u32,
    };
    let mut out = Vec::new();
    for chunk in nodes.chunks(BROWSE_CHUNK) {
        let descs: Vec<_> = chunk
            .iter()
            .map(|n| BrowseDescription {
                node_id: n.clone(),
                browse_direction: BrowseDirection::Forward,
                reference_type_id: reference_type.into(),
                include_subtypes: true,
                node_class_mask: mask,
                result_mask: 0x3f,
            })
            .collect();
        let Ok(results) = session.browse(&descs, 0, None).await else {
            return out;
        };
        for (n, r) in chunk.iter().zip(results) {
            for rd in all_references(session, r).await {
                out.push((n.clone(), rd));
            }
        }
    }
    out
}

/// One upstream event, its fields in gateway ids.
pub struct ForwardedEvent {
    fields: Arc<EventFields>,
    values: Vec<Variant>,
    time: DateTime,
    event_type: NodeId,
}

impl ForwardedEvent {
    /// The event whose selected fields (in the order of [`EventFields::filter`], already
    /// mapped to gateway ids) are `values`.
    pub fn new(fields: Arc<EventFields>, values: Vec<Variant>) -> Self {
        let field = |name: &str| {
            fields
                .position(&[QualifiedName::new(0, name)])
                .and_then(|i| values.get(i).cloned())
                .unwrap_or(Variant::Empty)
        };
        let time = match field("Time") {
            Variant::DateTime(t) => *t,
            _ => DateTime::now(),
        };
        let event_type = match field("EventType") {
            Variant::NodeId(n) => *n,
            _ => ObjectTypeId::BaseEventType.into(),
        };
        Self {
            fields,
            values,
            time,
            event_type,
        }
    }
}

impl EventField for ForwardedEvent {
    fn get_value(&self, _attribute_id: AttributeId, _index_range: &NumericRange, _remaining_path: &[QualifiedName]) -> Variant {
        Variant::Empty
    }
}

impl Event for ForwardedEvent {
    fn get_field(
        &self,
        _type_definition_id: &NodeId,
        attribute_id: AttributeId,
        index_range: &NumericRange,
        browse_path: &[QualifiedName],
    ) -> Variant {
        let value = match attribute_id {
            // the ConditionId: the NodeId of a condition, asked for with an empty path
            AttributeId::NodeId if browse_path.is_empty() => self.values.first().cloned(),
            AttributeId::Value => self.fields.position(browse_path).and_then(|i| self.values.get(i).cloned()),
            _ => None,
        };
        value
            .and_then(|v| v.range_of_owned(index_range).ok())
            .unwrap_or(Variant::Empty)
    }

    fn time(&self) -> &DateTime {
        &self.time
    }

    fn event_type_id(&self) -> &NodeId {
        &self.event_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::NsMapping;

    #[test]
    fn fields_are_answered_by_browse_path_in_gateway_ids() {
        // upstream ns 1 is gateway ns 7
        let map = NsMapping::new(vec![0, 7], NodeId::new(3, "plc1"), Arc::new(HashSet::new()));
        let level = vec![QualifiedName::new(1, "Level")];
        let fields = Arc::new(EventFields::new(vec![level.clone(), vec![QualifiedName::new(0, "Message")]], &map));
        assert_eq!(fields.len(), 1 + BASE_FIELDS.len() + 1, "ConditionId, base fields, Level; Message once");
        let Some(ExtensionObject { body: Some(_), .. }) = Some(fields.filter()) else { panic!("no filter") };
        let mut values = vec![Variant::Empty; fields.len()];
        let pos = |p: &[QualifiedName]| fields.position(p).expect("selected");
        values[pos(&[QualifiedName::new(0, "EventType")])] = Variant::from(NodeId::new(7, "PlantAlarmType"));
        values[pos(&[QualifiedName::new(7, "Level")])] = Variant::Int32(3);
        let evt = ForwardedEvent::new(fields.clone(), values);
        assert_eq!(evt.event_type_id(), &NodeId::new(7, "PlantAlarmType"));
        let base: NodeId = ObjectTypeId::BaseEventType.into();
        let got = evt.get_field(&base, AttributeId::Value, &NumericRange::None, &[QualifiedName::new(7, "Level")]);
        assert_eq!(got, Variant::Int32(3));
        // the upstream's index is not the gateway's
        let up = evt.get_field(&base, AttributeId::Value, &NumericRange::None, &level);
        assert_eq!(up, Variant::Empty);
    }
}
