//! The ConnectionConfigurationSet events (§6.9): ProcessingStarted (transitions 1 and 4),
//! ProcessingSucceeded (2) and ProcessingFailed (3), with the fields of
//! ConnectionConfigurationSetEventType (ConnectionConfigurationSetNode, Name, Action) and
//! SourceNode = the ConnectionManager. Built by hand on [`BaseEventType`], like the
//! gateway's forwarded events.

use opcua::nodes::{BaseEventType, EventField};
use opcua::types::{
    AttributeId, ByteString, DateTime, Guid, LocalizedText, NodeId, NumericRange, ObjectTypeId, QualifiedName,
    UAString, Variant,
};

use super::state::Transition;
use crate::namespaces::FxNamespaces;
use crate::types::ids::cm;

/// One ConnectionConfigurationSet event.
#[derive(Debug)]
pub struct SetEvent {
    base: BaseEventType,
    cm_ns: u16,
    set: NodeId,
    name: UAString,
    action: i32,
}

impl SetEvent {
    /// The event `transition` of set `set` (BrowseName `name`) caused by `action`, from `source`.
    pub fn new(ns: &FxNamespaces, transition: Transition, source: &NodeId, set: &NodeId, name: &str, action: i32) -> Self {
        let (type_id, verb) = match transition {
            Transition::ReadyToProcessing | Transition::ErrorToProcessing => {
                (cm::CONNECTION_CONFIGURATION_SET_PROCESSING_STARTED_EVENT_TYPE, "started")
            }
            Transition::ProcessingToReady => (cm::CONNECTION_CONFIGURATION_SET_PROCESSING_SUCCEEDED_EVENT_TYPE, "succeeded"),
            Transition::ProcessingToError => (cm::CONNECTION_CONFIGURATION_SET_PROCESSING_FAILED_EVENT_TYPE, "failed"),
        };
        let id = ByteString::from(Guid::new().to_bytes().to_vec());
        let message = LocalizedText::new("", &format!("Processing of ConnectionConfigurationSet {name} {verb}"));
        let mut base = BaseEventType::new(NodeId::new(ns.cm, type_id), id, message, DateTime::now())
            .set_source_node(source.clone())
            .set_source_name("ConnectionManager".into());
        base.severity = if transition == Transition::ProcessingToError { 500 } else { 100 };
        Self { base, cm_ns: ns.cm, set: set.clone(), name: name.into(), action }
    }

    /// Whether `t` is BaseEventType or one of the ConnectionConfigurationSet event types.
    fn is_ours(&self, t: &NodeId) -> bool {
        if t == &ObjectTypeId::BaseEventType {
            return true;
        }
        let ids = [
            cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE,
            cm::CONNECTION_CONFIGURATION_SET_PROCESSING_STARTED_EVENT_TYPE,
            cm::CONNECTION_CONFIGURATION_SET_PROCESSING_SUCCEEDED_EVENT_TYPE,
            cm::CONNECTION_CONFIGURATION_SET_PROCESSING_FAILED_EVENT_TYPE,
        ];
        t.namespace == self.cm_ns && ids.iter().any(|i| t == &NodeId::new(self.cm_ns, *i))
    }
}

impl EventField for SetEvent {
    fn get_value(&self, attribute_id: AttributeId, index_range: &NumericRange, path: &[QualifiedName]) -> Variant {
        if let [field] = path {
            if field.namespace_index == self.cm_ns && attribute_id == AttributeId::Value {
                let v: Variant = match field.name.as_ref() {
                    "ConnectionConfigurationSetNode" => self.set.clone().into(),
                    "Name" => self.name.clone().into(),
                    "Action" => Variant::Int32(self.action),
                    _ => Variant::Empty,
                };
                return v.range_of_owned(index_range).unwrap_or(Variant::Empty);
            }
        }
        self.base.get_value(attribute_id, index_range, path)
    }
}

fx_event!(SetEvent);
