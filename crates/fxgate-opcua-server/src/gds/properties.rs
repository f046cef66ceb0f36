//! The values of ServerConfiguration's properties and of its TrustList's, which the core
//! node manager holds only as empty standard nodes.

use opcua::server::node_manager::ReadNode;
use opcua::types::{AttributeId, NodeId, ObjectTypeId, TimestampsToReturn, UAString, VariableId, Variant};

use crate::core_calls::value_now;

use super::trust_file::{TrustListFile, MAX_TRUST_LIST_SIZE};

/// The properties answered here.
const PROPERTIES: [VariableId; 10] = [
    VariableId::ServerConfiguration_ServerCapabilities,
    VariableId::ServerConfiguration_SupportedPrivateKeyFormats,
    VariableId::ServerConfiguration_MaxTrustListSize,
    VariableId::ServerConfiguration_MulticastDnsEnabled,
    VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_CertificateTypes,
    VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Size,
    VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_OpenCount,
    VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Writable,
    VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_UserWritable,
    VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_LastUpdateTime,
];

fn property(node: &ReadNode) -> Option<VariableId> {
    let id = &node.node().node_id;
    if node.node().attribute_id != AttributeId::Value || id.namespace != 0 {
        return None;
    }
    PROPERTIES.into_iter().find(|p| *id == *p)
}

/// Whether the read of `node` is answered here (the Value of one of the properties).
pub fn takes(node: &ReadNode) -> bool {
    property(node).is_some()
}

/// The value of the property `node` reads; `user_writable` says whether the reader may
/// change the trust list.
pub fn read(node: &mut ReadNode, trust: &TrustListFile, user_writable: bool, timestamps: TimestampsToReturn) {
    let Some(p) = property(node) else { return };
    let strings = |v: &[&str]| Variant::from(v.iter().map(|s| UAString::from(*s)).collect::<Vec<_>>());
    let value = match p {
        VariableId::ServerConfiguration_ServerCapabilities => strings(&[]),
        VariableId::ServerConfiguration_SupportedPrivateKeyFormats => strings(&["PEM"]),
        VariableId::ServerConfiguration_MaxTrustListSize => Variant::UInt32(MAX_TRUST_LIST_SIZE as u32),
        VariableId::ServerConfiguration_MulticastDnsEnabled => Variant::Boolean(false),
        VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_CertificateTypes => {
            Variant::from(vec![NodeId::from(ObjectTypeId::RsaSha256ApplicationCertificateType)])
        }
        VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Size => Variant::UInt64(trust.size()),
        VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_OpenCount => Variant::UInt16(trust.open_count()),
        VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Writable => Variant::Boolean(true),
        VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_UserWritable => Variant::Boolean(user_writable),
        VariableId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_LastUpdateTime => {
            Variant::DateTime(Box::new(trust.last_update()))
        }
        _ => return,
    };
    node.set_result(value_now(value, timestamps));
}
