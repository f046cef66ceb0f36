//! The ObjectTypes, VariableTypes and ReferenceTypes of the FX Data, AC and CM namespaces, with
//! their supertypes, IsAbstract and (for ReferenceTypes) Symmetric and InverseName. Their
//! instance declarations are not modelled here, except those in `methods`, `events` and
//! `state_machine`.

use opcua::types::{ObjectTypeId, ReferenceTypeId, VariableTypeId};

use super::insert::Model;
use super::ModelError;
use crate::types::def::TypeRef as T;
use crate::types::ids::{ac, cm, data, di};

/// An ObjectType: id, BrowseName, supertype, IsAbstract.
type ObjectTypeRow = (T, &'static str, T, bool);
/// A ReferenceType: id, BrowseName, supertype, IsAbstract, Symmetric, InverseName.
type ReferenceTypeRow = (T, &'static str, T, bool, bool, Option<&'static str>);

const fn object_type(id: T, name: &'static str, parent: T, is_abstract: bool) -> ObjectTypeRow {
    (id, name, parent, is_abstract)
}

const fn reference_type(
    id: T,
    name: &'static str,
    parent: T,
    is_abstract: bool,
    symmetric: bool,
    inverse_name: Option<&'static str>,
) -> ReferenceTypeRow {
    (id, name, parent, is_abstract, symmetric, inverse_name)
}

/// Every ObjectType of the FX Data, AC and CM NodeSets.
const OBJECT_TYPES: &[ObjectTypeRow] = &[
    object_type(
        T::data(data::AUDIT_UPDATE_METHOD_RESULT_EVENT_TYPE),
        "AuditUpdateMethodResultEventType",
        T::ua(ObjectTypeId::AuditUpdateMethodEventType as u32),
        false,
    ),
    object_type(
        T::ac(ac::AC_DESCRIPTOR_TYPE),
        "AcDescriptorType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::ac(ac::ASSET_CONNECTOR_TYPE),
        "AssetConnectorType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        true,
    ),
    object_type(
        T::ac(ac::CLAMP_BLOCK_TYPE),
        "ClampBlockType",
        T::ac(ac::ASSET_CONNECTOR_TYPE),
        false,
    ),
    object_type(
        T::ac(ac::CLAMP_TYPE),
        "ClampType",
        T::ac(ac::ASSET_CONNECTOR_TYPE),
        false,
    ),
    object_type(
        T::ac(ac::SLOT_TYPE),
        "SlotType",
        T::ac(ac::ASSET_CONNECTOR_TYPE),
        false,
    ),
    object_type(
        T::ac(ac::SOCKET_TYPE),
        "SocketType",
        T::ac(ac::ASSET_CONNECTOR_TYPE),
        false,
    ),
    object_type(
        T::ac(ac::AUTOMATION_COMPONENT_TYPE),
        "AutomationComponentType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::ac(ac::AUDIT_UA_FX_EVENT_TYPE),
        "AuditUaFxEventType",
        T::ua(ObjectTypeId::AuditEventType as u32),
        true,
    ),
    object_type(
        T::ac(ac::AUDIT_CONNECTION_CLEANUP_EVENT_TYPE),
        "AuditConnectionCleanupEventType",
        T::ac(ac::AUDIT_UA_FX_EVENT_TYPE),
        true,
    ),
    object_type(
        T::ac(ac::I_ASSET_EXTENSIONS_TYPE),
        "IAssetExtensionsType",
        T::ua(ObjectTypeId::BaseInterfaceType as u32),
        true,
    ),
    object_type(
        T::ac(ac::I_ASSET_REVISION_TYPE),
        "IAssetRevisionType",
        T::ua(ObjectTypeId::BaseInterfaceType as u32),
        true,
    ),
    object_type(
        T::ac(ac::I_FUNCTIONAL_ENTITY_TYPE),
        "IFunctionalEntityType",
        T::ua(ObjectTypeId::BaseInterfaceType as u32),
        true,
    ),
    object_type(
        T::ac(ac::CONNECTION_ENDPOINT_TYPE),
        "ConnectionEndpointType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        true,
    ),
    object_type(
        T::ac(ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE),
        "PubSubConnectionEndpointType",
        T::ac(ac::CONNECTION_ENDPOINT_TYPE),
        false,
    ),
    object_type(
        T::ac(ac::CONTROL_GROUP_TYPE),
        "ControlGroupType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::ac(ac::AUTOMATION_COMPONENT_CAPABILITIES_TYPE),
        "AutomationComponentCapabilitiesType",
        T::ua(ObjectTypeId::FolderType as u32),
        false,
    ),
    object_type(
        T::ac(ac::CONNECTION_ENDPOINTS_FOLDER_TYPE),
        "ConnectionEndpointsFolderType",
        T::ua(ObjectTypeId::FolderType as u32),
        false,
    ),
    object_type(
        T::ac(ac::CONTROL_GROUPS_FOLDER_TYPE),
        "ControlGroupsFolderType",
        T::ua(ObjectTypeId::FolderType as u32),
        false,
    ),
    object_type(
        T::ac(ac::FUNCTIONAL_ENTITY_CAPABILITIES_TYPE),
        "FunctionalEntityCapabilitiesType",
        T::ua(ObjectTypeId::FolderType as u32),
        false,
    ),
    object_type(
        T::ac(ac::CONFIGURATION_DATA_FOLDER_TYPE),
        "ConfigurationDataFolderType",
        T::di(di::FUNCTIONAL_GROUP_TYPE),
        false,
    ),
    object_type(
        T::ac(ac::CONTROL_ITEM_FOLDER_TYPE),
        "ControlItemFolderType",
        T::di(di::FUNCTIONAL_GROUP_TYPE),
        false,
    ),
    object_type(
        T::ac(ac::INPUTS_FOLDER_TYPE),
        "InputsFolderType",
        T::ua(ObjectTypeId::FolderType as u32),
        false,
    ),
    object_type(
        T::ac(ac::OUTPUTS_FOLDER_TYPE),
        "OutputsFolderType",
        T::ua(ObjectTypeId::FolderType as u32),
        false,
    ),
    object_type(
        T::ac(ac::FUNCTIONAL_ENTITY_TYPE),
        "FunctionalEntityType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::ac(ac::FX_ASSET_TYPE),
        "FxAssetType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::ac(ac::PUBLISHER_CAPABILITIES_TYPE),
        "PublisherCapabilitiesType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::ac(ac::SUBSCRIBER_CAPABILITIES_TYPE),
        "SubscriberCapabilitiesType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::ASSET_VERIFICATION_TYPE),
        "AssetVerificationType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::AUTOMATION_COMPONENT_CONFIGURATION_TYPE),
        "AutomationComponentConfigurationType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        "ConnectionConfigurationSetEventType",
        T::ua(ObjectTypeId::BaseEventType as u32),
        true,
    ),
    object_type(
        T::cm(cm::CONNECTION_CONFIGURATION_SET_PROCESSING_FAILED_EVENT_TYPE),
        "ConnectionConfigurationSetProcessingFailedEventType",
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        true,
    ),
    object_type(
        T::cm(cm::CONNECTION_CONFIGURATION_SET_PROCESSING_STARTED_EVENT_TYPE),
        "ConnectionConfigurationSetProcessingStartedEventType",
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        true,
    ),
    object_type(
        T::cm(cm::CONNECTION_CONFIGURATION_SET_PROCESSING_SUCCEEDED_EVENT_TYPE),
        "ConnectionConfigurationSetProcessingSucceededEventType",
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        true,
    ),
    object_type(
        T::cm(cm::I_CONNECTION_MANAGER_TYPE),
        "IConnectionManagerType",
        T::ua(ObjectTypeId::BaseInterfaceType as u32),
        false,
    ),
    object_type(
        T::cm(cm::COMMUNICATION_FLOW_CONFIGURATION_TYPE),
        "CommunicationFlowConfigurationType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        true,
    ),
    object_type(
        T::cm(cm::PUB_SUB_COMMUNICATION_FLOW_CONFIGURATION_TYPE),
        "PubSubCommunicationFlowConfigurationType",
        T::cm(cm::COMMUNICATION_FLOW_CONFIGURATION_TYPE),
        false,
    ),
    object_type(
        T::cm(cm::COMMUNICATION_MODEL_CONFIGURATION_TYPE),
        "CommunicationModelConfigurationType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        true,
    ),
    object_type(
        T::cm(cm::PUB_SUB_COMMUNICATION_MODEL_CONFIGURATION_TYPE),
        "PubSubCommunicationModelConfigurationType",
        T::cm(cm::COMMUNICATION_MODEL_CONFIGURATION_TYPE),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_CONFIGURATION_SET_TYPE),
        "ConnectionConfigurationSetType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_CONFIGURATION_TYPE),
        "ConnectionConfigurationType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_ENDPOINT_CONFIGURATION_TYPE),
        "ConnectionEndpointConfigurationType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_ENDPOINT_PARAMETER_TYPE),
        "ConnectionEndpointParameterType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_MANAGER_TYPE),
        "ConnectionManagerType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_MANAGER_CONFIGURATION_TYPE),
        "ConnectionManagerConfigurationType",
        T::ua(ObjectTypeId::FileType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_MANAGER_CAPABILITIES_TYPE),
        "ConnectionManagerCapabilitiesType",
        T::ua(ObjectTypeId::FolderType as u32),
        false,
    ),
    object_type(
        T::cm(cm::CONNECTION_CONFIGURATION_SET_STATE_MACHINE_TYPE),
        "ConnectionConfigurationSetStateMachineType",
        T::ua(ObjectTypeId::FiniteStateMachineType as u32),
        false,
    ),
    object_type(
        T::cm(cm::SUBSCRIBER_CONFIGURATION_TYPE),
        "SubscriberConfigurationType",
        T::ua(ObjectTypeId::BaseObjectType as u32),
        false,
    ),
];

/// Every ReferenceType of the FX AC and CM NodeSets.
const REFERENCE_TYPES: &[ReferenceTypeRow] = &[
    reference_type(
        T::ac(ac::HAS_CAPABILITY),
        "HasCapability",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("CapabilityOf"),
    ),
    reference_type(
        T::ac(ac::HAS_CONNECTION_ENDPOINT),
        "HasConnectionEndpoint",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("ConnectionEndpointOf"),
    ),
    reference_type(
        T::ac(ac::HAS_CONTROL_GROUP),
        "HasControlGroup",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("ControlGroupOf"),
    ),
    reference_type(
        T::ac(ac::HAS_INPUT_GROUP),
        "HasInputGroup",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("InputGroupOf"),
    ),
    reference_type(
        T::ac(ac::HAS_OUTPUT_GROUP),
        "HasOutputGroup",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("OutputGroupOf"),
    ),
    reference_type(
        T::ac(ac::HAS_BUILT_IN_ASSET),
        "HasBuiltInAsset",
        T::ua(ReferenceTypeId::HasContainedComponent as u32),
        false,
        false,
        Some("BuiltInAssetOf"),
    ),
    reference_type(
        T::ac(ac::HAS_PART),
        "HasPart",
        T::ua(ReferenceTypeId::HasContainedComponent as u32),
        false,
        false,
        Some("PartOf"),
    ),
    reference_type(
        T::ac(ac::HAS_SUB_FUNCTIONAL_ENTITY),
        "HasSubFunctionalEntity",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("SubFunctionalEntityOf"),
    ),
    reference_type(
        T::ac(ac::IS_PART_OF_REDUNDANT_ASSET_SET),
        "IsPartOfRedundantAssetSet",
        T::ua(ReferenceTypeId::NonHierarchicalReferences as u32),
        false,
        true,
        None,
    ),
    reference_type(
        T::ac(ac::CONNECTED_TO),
        "ConnectedTo",
        T::ua(ReferenceTypeId::IsPhysicallyConnectedTo as u32),
        false,
        true,
        None,
    ),
    reference_type(
        T::ac(ac::TO_DATA_SET_READER),
        "ToDataSetReader",
        T::ua(ReferenceTypeId::NonHierarchicalReferences as u32),
        false,
        false,
        Some("FromDataSetReader"),
    ),
    reference_type(
        T::ac(ac::TO_DATA_SET_WRITER),
        "ToDataSetWriter",
        T::ua(ReferenceTypeId::NonHierarchicalReferences as u32),
        false,
        false,
        Some("FromDataSetWriter"),
    ),
    reference_type(
        T::cm(cm::HAS_ASSET_TO_VERIFY),
        "HasAssetToVerify",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("AssetToVerifyOf"),
    ),
    reference_type(
        T::cm(cm::HAS_AUTOMATION_COMPONENT_CONFIGURATION),
        "HasAutomationComponentConfiguration",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("AutomationComponentConfigurationOf"),
    ),
    reference_type(
        T::cm(cm::HAS_CHARACTERISTIC),
        "HasCharacteristic",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("CharacteristicOf"),
    ),
    reference_type(
        T::cm(cm::HAS_CM_CAPABILITY),
        "HasCMCapability",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("CapabilityOfCM"),
    ),
    reference_type(
        T::cm(cm::HAS_COMMUNICATION_FLOW_CONFIGURATION),
        "HasCommunicationFlowConfiguration",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("CommunicationFlowConfigurationOf"),
    ),
    reference_type(
        T::cm(cm::HAS_CONNECTION_CONFIGURATION),
        "HasConnectionConfiguration",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("ConnectionConfigurationOf"),
    ),
    reference_type(
        T::cm(cm::HAS_SERVER_ADDRESS),
        "HasServerAddress",
        T::ua(ReferenceTypeId::HasComponent as u32),
        false,
        false,
        Some("ServerAddressOf"),
    ),
    reference_type(
        T::cm(cm::TO_AUTOMATION_COMPONENT_CONFIGURATION),
        "ToAutomationComponentConfiguration",
        T::ua(ReferenceTypeId::NonHierarchicalReferences as u32),
        false,
        false,
        Some("FromAutomationComponentConfiguration"),
    ),
    reference_type(
        T::cm(cm::TO_CONNECTION_ENDPOINT_CONFIGURATION),
        "ToConnectionEndpointConfiguration",
        T::ua(ReferenceTypeId::NonHierarchicalReferences as u32),
        false,
        false,
        Some("FromConnectionEndpointConfiguration"),
    ),
    reference_type(
        T::cm(cm::TO_FLOW),
        "ToFlow",
        T::ua(ReferenceTypeId::NonHierarchicalReferences as u32),
        false,
        false,
        Some("FromFlow"),
    ),
    reference_type(
        T::cm(cm::TO_INBOUND_FLOW),
        "ToInboundFlow",
        T::cm(cm::TO_FLOW),
        false,
        false,
        Some("FromInboundFlow"),
    ),
    reference_type(
        T::cm(cm::TO_OUTBOUND_FLOW),
        "ToOutboundFlow",
        T::cm(cm::TO_FLOW),
        false,
        false,
        Some("FromOutboundFlow"),
    ),
];

/// The VariableTypes: id, BrowseName, DataType (all scalar subtypes of BaseDataVariableType).
const VARIABLE_TYPES: &[(T, &str, T)] = &[
    (
        T::ac(ac::AGGREGATED_HEALTH_TYPE),
        "AggregatedHealthType",
        T::ac(ac::AGGREGATED_HEALTH_DATA_TYPE),
    ),
    (
        T::cm(cm::SECURITY_KEY_SERVER_ADDRESS_TYPE),
        "SecurityKeyServerAddressType",
        T::cm(cm::SECURITY_KEY_SERVER_ADDRESS_DATA_TYPE),
    ),
    (
        T::cm(cm::SERVER_ADDRESS_TYPE),
        "ServerAddressType",
        T::cm(cm::SERVER_ADDRESS_DATA_TYPE),
    ),
];

/// Inserts the ObjectTypes, VariableTypes and ReferenceTypes.
pub(super) fn add(model: &mut Model<'_>) -> Result<(), ModelError> {
    for &(id, name, parent, is_abstract) in OBJECT_TYPES {
        model.object_type(id, name, parent, is_abstract)?;
    }
    for &(id, name, parent, is_abstract, symmetric, inverse) in REFERENCE_TYPES {
        model.reference_type(id, name, parent, is_abstract, symmetric, inverse)?;
    }
    let base_variable = T::ua(VariableTypeId::BaseDataVariableType as u32);
    for &(id, name, data_type) in VARIABLE_TYPES {
        model.variable_type(id, name, base_variable, data_type)?;
    }
    Ok(())
}
