//! AuditConnectionCleanupEventType (OPC 10000-81 §8.2): raised when CleanupTimeout removed an
//! endpoint, with RemovedEndpoint (its NodeId as text, the type's String) and its
//! RelatedEndpoint, on top of AuditEventType's fields. Built by hand on [`BaseEventType`],
//! like the ConnectionConfigurationSet events.

use opcua::nodes::{BaseEventType, EventField};
use opcua::types::{
    AttributeId, ByteString, DateTime, ExtensionObject, Guid, LocalizedText, NodeId, NumericRange, ObjectTypeId, QualifiedName,
    UAString, Variant,
};

use crate::namespaces::FxNamespaces;
use crate::types::ids::ac;
use crate::types::RelatedEndpointDataType;

/// One cleanup event.
#[derive(Debug)]
pub struct CleanupEvent {
    base: BaseEventType,
    ac_ns: u16,
    removed: UAString,
    related: RelatedEndpointDataType,
}

impl CleanupEvent {
    /// The event for endpoint `endpoint` (with `related`), removed by component `source`
    /// (BrowseName `source_name`).
    pub fn new(ns: &FxNamespaces, source: &NodeId, source_name: &str, endpoint: &NodeId, related: &RelatedEndpointDataType) -> Self {
        let id = ByteString::from(Guid::new().to_bytes().to_vec());
        let message = LocalizedText::new("", &format!("ConnectionEndpoint {endpoint} removed after its CleanupTimeout"));
        let mut base = BaseEventType::new(NodeId::new(ns.ac, ac::AUDIT_CONNECTION_CLEANUP_EVENT_TYPE), id, message, DateTime::now())
            .set_source_node(source.clone())
            .set_source_name(source_name.into());
        base.severity = 500;
        Self { base, ac_ns: ns.ac, removed: endpoint.to_string().into(), related: related.clone() }
    }

    /// BaseEventType, AuditEventType, AuditUaFxEventType or AuditConnectionCleanupEventType.
    fn is_ours(&self, t: &NodeId) -> bool {
        t == &ObjectTypeId::BaseEventType
            || t == &ObjectTypeId::AuditEventType
            || t == &NodeId::new(self.ac_ns, ac::AUDIT_UA_FX_EVENT_TYPE)
            || t == &NodeId::new(self.ac_ns, ac::AUDIT_CONNECTION_CLEANUP_EVENT_TYPE)
    }
}

impl EventField for CleanupEvent {
    fn get_value(&self, attribute_id: AttributeId, index_range: &NumericRange, path: &[QualifiedName]) -> Variant {
        if let [field] = path {
            if attribute_id == AttributeId::Value {
                let v: Option<Variant> = match (field.namespace_index, field.name.as_ref()) {
                    (n, "RemovedEndpoint") if n == self.ac_ns => Some(self.removed.clone().into()),
                    (n, "RelatedEndpoint") if n == self.ac_ns => Some(ExtensionObject::from_message(self.related.clone()).into()),
                    (0, "ActionTimeStamp") => Some(self.base.time.into()),
                    (0, "Status") => Some(true.into()),
                    (0, "ServerId") | (0, "ClientAuditEntryId") => Some(UAString::null().into()),
                    (0, "ClientUserId") => Some(UAString::from("UAFX").into()),
                    _ => None,
                };
                if let Some(v) = v {
                    return v.range_of_owned(index_range).unwrap_or(Variant::Empty);
                }
            }
        }
        self.base.get_value(attribute_id, index_range, path)
    }
}

fx_event!(CleanupEvent);
