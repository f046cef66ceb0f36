//! The abstract structured DataTypes without fields. They have no Rust type: a field or argument
//! typed with one of them holds an `ExtensionObject` with a concrete subtype.

use opcua::types::DataTypeId;

use super::def::{Encodings, Ns, StructDef, StructKind, TypeRef};
use super::ids::{cm, data};

const fn abstract_structure(
    name: &'static str,
    ns: Ns,
    id: u32,
    encodings: Option<Encodings>,
) -> StructDef {
    StructDef {
        name,
        id: TypeRef::new(ns, id),
        parent: TypeRef::new(Ns::Ua, DataTypeId::Structure as u32),
        kind: StructKind::Structure,
        is_abstract: true,
        encodings,
        fields: &[],
    }
}

const fn enc(binary: u32, xml: u32, json: u32) -> Option<Encodings> {
    Some(Encodings { binary, xml, json })
}

/// FX Data `CommunicationConfigurationDataType` (EstablishConnections' CommunicationConfigurations).
pub const COMMUNICATION_CONFIGURATION_DATA_TYPE: StructDef = abstract_structure(
    "CommunicationConfigurationDataType",
    Ns::Data,
    data::COMMUNICATION_CONFIGURATION_DATA_TYPE,
    enc(1147, 1148, 1149),
);

/// FX Data `CommunicationConfigurationResultDataType`.
pub const COMMUNICATION_CONFIGURATION_RESULT_DATA_TYPE: StructDef = abstract_structure(
    "CommunicationConfigurationResultDataType",
    Ns::Data,
    data::COMMUNICATION_CONFIGURATION_RESULT_DATA_TYPE,
    enc(1108, 1109, 1110),
);

/// FX Data `CommunicationLinkConfigurationDataType`.
pub const COMMUNICATION_LINK_CONFIGURATION_DATA_TYPE: StructDef = abstract_structure(
    "CommunicationLinkConfigurationDataType",
    Ns::Data,
    data::COMMUNICATION_LINK_CONFIGURATION_DATA_TYPE,
    enc(5033, 5034, 5035),
);

/// FX Data `ReserveCommunicationIdsDataType`.
pub const RESERVE_COMMUNICATION_IDS_DATA_TYPE: StructDef = abstract_structure(
    "ReserveCommunicationIdsDataType",
    Ns::Data,
    data::RESERVE_COMMUNICATION_IDS_DATA_TYPE,
    enc(5064, 5065, 5081),
);

/// FX Data `ReserveCommunicationIdsResultDataType`.
pub const RESERVE_COMMUNICATION_IDS_RESULT_DATA_TYPE: StructDef = abstract_structure(
    "ReserveCommunicationIdsResultDataType",
    Ns::Data,
    data::RESERVE_COMMUNICATION_IDS_RESULT_DATA_TYPE,
    enc(5085, 5086, 5087),
);

/// FX CM `CommunicationModelConfigurationDataType` (no encodings in the NodeSet).
pub const COMMUNICATION_MODEL_CONFIGURATION_DATA_TYPE: StructDef = abstract_structure(
    "CommunicationModelConfigurationDataType",
    Ns::Cm,
    cm::COMMUNICATION_MODEL_CONFIGURATION_DATA_TYPE,
    None,
);

/// FX CM `CommunicationFlowConfigurationConfDataType` (no encodings in the NodeSet; its fields
/// BrowseName and FlowProperties are listed in its subtype's definition).
pub const COMMUNICATION_FLOW_CONFIGURATION_CONF_DATA_TYPE: StructDef = abstract_structure(
    "CommunicationFlowConfigurationConfDataType",
    Ns::Cm,
    cm::COMMUNICATION_FLOW_CONFIGURATION_CONF_DATA_TYPE,
    None,
);

/// Every abstract structure above.
pub const ALL: [StructDef; 7] = [
    COMMUNICATION_CONFIGURATION_DATA_TYPE,
    COMMUNICATION_CONFIGURATION_RESULT_DATA_TYPE,
    COMMUNICATION_LINK_CONFIGURATION_DATA_TYPE,
    RESERVE_COMMUNICATION_IDS_DATA_TYPE,
    RESERVE_COMMUNICATION_IDS_RESULT_DATA_TYPE,
    COMMUNICATION_MODEL_CONFIGURATION_DATA_TYPE,
    COMMUNICATION_FLOW_CONFIGURATION_CONF_DATA_TYPE,
];
