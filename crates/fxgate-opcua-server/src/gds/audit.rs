//! The audit events of push management (OPC 10000-12 §7.8.2, §7.10): each call that changes,
//! or tries to change, the trust list (CloseAndUpdate, AddCertificate, RemoveCertificate) is
//! reported as a TrustListUpdatedAuditEventType, and each UpdateCertificate as a
//! CertificateUpdatedAuditEventType. Both come from the Server object (the notifier clients
//! subscribe to), with ServerConfiguration as their SourceNode, the caller in ClientUserId,
//! and the outcome in Status and StatusCodeId. Refused calls (no role, no encryption) are
//! reported too.

use opcua::core_namespace::events::{AuditEventType, AuditUpdateMethodEventType, CertificateUpdatedAuditEventType, TrustListUpdatedAuditEventType};
use opcua::nodes::{BaseEventType, Event};
use opcua::server::node_manager::RequestContext;
use opcua::types::{ByteString, DateTime, ExtensionObject, Guid, LocalizedText, MethodId, NodeId, ObjectId, ObjectTypeId, StatusCode, UAString};

/// The audit event of a call of `method`, if it is one that is audited.
pub fn event_for(context: &RequestContext, method: &NodeId, status: StatusCode) -> Option<Box<dyn Event + Send>> {
    use MethodId as M;
    let is = |m: MethodId| *method == NodeId::from(m);
    if is(M::ServerConfiguration_UpdateCertificate) {
        let base = method_event(ObjectTypeId::CertificateUpdatedAuditEventType, "UpdateCertificate", context, method, status);
        return Some(Box::new(CertificateUpdatedAuditEventType {
            base,
            certificate_group: ObjectId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup.into(),
            certificate_type: ObjectTypeId::RsaSha256ApplicationCertificateType.into(),
        }));
    }
    let changes_trust = [
        M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_CloseAndUpdate,
        M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_AddCertificate,
        M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_RemoveCertificate,
    ];
    if changes_trust.into_iter().any(is) {
        let base = method_event(ObjectTypeId::TrustListUpdatedAuditEventType, "TrustList update", context, method, status);
        return Some(Box::new(TrustListUpdatedAuditEventType {
            base,
            trust_list_id: ObjectId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList.into(),
        }));
    }
    None
}

fn method_event(type_id: ObjectTypeId, what: &str, context: &RequestContext, method: &NodeId, status: StatusCode) -> AuditUpdateMethodEventType {
    let now = DateTime::now();
    let id = ByteString::from(Guid::new().to_bytes().to_vec());
    let outcome = if status.is_good() { "done" } else { "refused" };
    let message = LocalizedText::new("", &format!("{what} by {}: {outcome} ({status})", context.token.0));
    let base = BaseEventType::new(type_id, id, message, now)
        .set_source_node(ObjectId::ServerConfiguration.into())
        .set_source_name("ServerConfiguration".into());
    AuditUpdateMethodEventType {
        base: AuditEventType {
            base,
            action_time_stamp: now,
            client_audit_entry_id: UAString::null(),
            client_user_id: UAString::from(context.token.0.as_str()),
            server_id: context.info.application_uri.clone(),
            status: status.is_good(),
        },
        input_arguments: ExtensionObject::null(),
        method_id: method.clone(),
        output_arguments: ExtensionObject::null(),
        status_code_id: status,
    }
}

/// Reports `event` from the Server object.
pub fn report(context: &RequestContext, event: &(dyn Event + Send)) {
    let server: NodeId = ObjectId::Server.into();
    context.subscriptions.notify_events([(event as &dyn Event, &server)].into_iter());
}
