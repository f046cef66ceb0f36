//! The `*ConfDataType` structures of the FX CM namespace (OPC 10000-81 Annex F): the content of
//! the ConnectionManagerConfiguration file, one ConnectionConfigurationSetConfDataType per set.
//! Most carry optional fields (StructureWithOptionalFields: an encoding mask, one bit per
//! optional field in declaration order, inherited fields first). An optional array is an
//! `Option<Option<Vec<_>>>`: absent, or present as a (possibly null) array.

use opcua::types::{
    DataTypeId, ExtensionObject, KeyValuePair, MessageSecurityMode, NodeId, PubSubKeyPushTargetDataType,
    PublishedDataSetDataType, SecurityGroupDataType, StandaloneSubscribedDataSetDataType, UAString,
};

use super::cm::{
    AddressSelectionDataType, CommunicationFlowQosDataType, NodeIdentifier, NodeIdentifierValuePair,
    ReceiveQosSelectionDataType,
};
use super::def::{ARRAY, SCALAR};
use super::enums::{AssetVerificationModeEnum, AssetVerificationResultEnum};
use super::ids::{cm, data};

fx_structure! {
    /// One ConnectionConfigurationSet in the configuration file (§F.1.3).
    ConnectionConfigurationSetConfDataType (Cm cm::CONNECTION_CONFIGURATION_SET_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5029, 5030, 5031), abstract false {
        browse_name: UAString => "BrowseName": Ua(DataTypeId::String), SCALAR, Plain;
        connection_configuration_set_folder: Option<Vec<UAString>>
            => "ConnectionConfigurationSetFolder": Ua(DataTypeId::String), ARRAY, Plain;
        connections: Option<Vec<ConnectionConfigurationConfDataType>>
            => "Connections": Cm(cm::CONNECTION_CONFIGURATION_CONF_DATA_TYPE), ARRAY, Plain;
        /// PubSubCommunicationFlowConfigurationConfDataType elements.
        communication_flows: Option<Vec<ExtensionObject>>
            => "CommunicationFlows": Cm(cm::COMMUNICATION_FLOW_CONFIGURATION_CONF_DATA_TYPE), ARRAY, Subtyped;
        server_addresses: Option<Vec<ServerAddressConfDataType>>
            => "ServerAddresses": Cm(cm::SERVER_ADDRESS_CONF_DATA_TYPE), ARRAY, Plain;
        automation_component_configurations: Option<Vec<AutomationComponentConfigurationConfDataType>>
            => "AutomationComponentConfigurations": Cm(cm::AUTOMATION_COMPONENT_CONFIGURATION_CONF_DATA_TYPE), ARRAY, Plain;
        rollback_on_error: bool => "RollbackOnError": Ua(DataTypeId::Boolean), SCALAR, Plain;
        security_key_server: SecurityKeyServerAddressConfDataType
            => "SecurityKeyServer": Cm(cm::SECURITY_KEY_SERVER_ADDRESS_CONF_DATA_TYPE), SCALAR, Plain;
        version: u32 => "Version": Ua(DataTypeId::UInt32), SCALAR, Plain;
        connection_configuration_set_properties: Option<Vec<KeyValuePair>>
            => "ConnectionConfigurationSetProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Plain;
    }
}

fx_structure! {
    /// One Connection of a set (§F.1.4).
    ConnectionConfigurationConfDataType (Cm cm::CONNECTION_CONFIGURATION_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5032, 5033, 5034), abstract false {
        browse_name: UAString => "BrowseName": Ua(DataTypeId::String), SCALAR, Plain;
        endpoint1: ConnectionEndpointConfigurationConfDataType
            => "Endpoint1": Cm(cm::CONNECTION_ENDPOINT_CONFIGURATION_CONF_DATA_TYPE), SCALAR, Plain;
        #[opcua(optional)]
        endpoint2: Option<ConnectionEndpointConfigurationConfDataType>
            => "Endpoint2": Cm(cm::CONNECTION_ENDPOINT_CONFIGURATION_CONF_DATA_TYPE), SCALAR, Optional;
        #[opcua(optional)]
        connection_properties: Option<Option<Vec<KeyValuePair>>>
            => "ConnectionProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Optional;
    }
}

fx_structure! {
    /// One end of a Connection (§F.1.5).
    ConnectionEndpointConfigurationConfDataType (Cm cm::CONNECTION_ENDPOINT_CONFIGURATION_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5035, 5036, 5037), abstract false {
        functional_entity_node: NodeIdentifier
            => "FunctionalEntityNode": Cm(cm::NODE_IDENTIFIER), SCALAR, Plain;
        #[opcua(optional)]
        functional_entity_node_selection: Option<Option<Vec<NodeIdentifier>>>
            => "FunctionalEntityNodeSelection": Cm(cm::NODE_IDENTIFIER), ARRAY, Optional;
        #[opcua(optional)]
        functional_entity_node_modify: Option<bool>
            => "FunctionalEntityNodeModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        name: UAString => "Name": Ua(DataTypeId::String), SCALAR, Plain;
        #[opcua(optional)]
        name_selection: Option<Option<Vec<UAString>>> => "NameSelection": Ua(DataTypeId::String), ARRAY, Optional;
        #[opcua(optional)]
        name_modify: Option<bool> => "NameModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        connection_endpoint_type_id: NodeId
            => "ConnectionEndpointTypeId": Ua(DataTypeId::NodeId), SCALAR, Plain;
        #[opcua(optional)]
        input_variable_ids: Option<Option<Vec<NodeIdentifier>>>
            => "InputVariableIds": Cm(cm::NODE_IDENTIFIER), ARRAY, Optional;
        #[opcua(optional)]
        output_variable_ids: Option<Option<Vec<NodeIdentifier>>>
            => "OutputVariableIds": Cm(cm::NODE_IDENTIFIER), ARRAY, Optional;
        is_persistent: bool => "IsPersistent": Ua(DataTypeId::Boolean), SCALAR, Plain;
        cleanup_timeout: f64 => "CleanupTimeout": Ua(DataTypeId::Duration), SCALAR, Plain;
        is_preconfigured: bool => "IsPreconfigured": Ua(DataTypeId::Boolean), SCALAR, Plain;
        /// A PubSubCommunicationLinkConfigurationDataType.
        #[opcua(optional)]
        communication_links: Option<ExtensionObject>
            => "CommunicationLinks": Ua(DataTypeId::Structure), SCALAR, Optional;
        #[opcua(optional)]
        preconfigured_published_data_set: Option<UAString>
            => "PreconfiguredPublishedDataSet": Ua(DataTypeId::String), SCALAR, Optional;
        #[opcua(optional)]
        published_data_set_data: Option<PublishedDataSetDataType>
            => "PublishedDataSetData": Ua(DataTypeId::PublishedDataSetDataType), SCALAR, Optional;
        #[opcua(optional)]
        preconfigured_subscribed_data_set: Option<UAString>
            => "PreconfiguredSubscribedDataSet": Ua(DataTypeId::String), SCALAR, Optional;
        #[opcua(optional)]
        subscribed_data_set_data: Option<StandaloneSubscribedDataSetDataType>
            => "SubscribedDataSetData": Ua(DataTypeId::StandaloneSubscribedDataSetDataType), SCALAR, Optional;
        #[opcua(optional)]
        expected_verification_variables: Option<Option<Vec<NodeIdentifierValuePair>>>
            => "ExpectedVerificationVariables": Cm(cm::NODE_IDENTIFIER_VALUE_PAIR), ARRAY, Optional;
        #[opcua(optional)]
        control_groups: Option<Option<Vec<NodeIdentifier>>>
            => "ControlGroups": Cm(cm::NODE_IDENTIFIER), ARRAY, Optional;
        #[opcua(optional)]
        configuration_data: Option<Option<Vec<NodeIdentifierValuePair>>>
            => "ConfigurationData": Cm(cm::NODE_IDENTIFIER_VALUE_PAIR), ARRAY, Optional;
        #[opcua(optional)]
        endpoint_properties: Option<Option<Vec<KeyValuePair>>>
            => "EndpointProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Optional;
        automation_component_index: i32
            => "AutomationComponentIndex": Ua(DataTypeId::Int32), SCALAR, Plain;
        #[opcua(optional)]
        outbound_flow_index: Option<i32> => "OutboundFlowIndex": Ua(DataTypeId::Int32), SCALAR, Optional;
        #[opcua(optional)]
        inbound_flow_index: Option<Option<Vec<i32>>> => "InboundFlowIndex": Ua(DataTypeId::Int32), ARRAY, Optional;
    }
}

fx_structure! {
    /// A PubSub communication flow (§F.1.7): the inherited BrowseName and FlowProperties of the
    /// abstract CommunicationFlowConfigurationConfDataType first.
    PubSubCommunicationFlowConfigurationConfDataType
        (Cm cm::PUB_SUB_COMMUNICATION_FLOW_CONFIGURATION_CONF_DATA_TYPE)
        : Cm(cm::COMMUNICATION_FLOW_CONFIGURATION_CONF_DATA_TYPE), encodings(5038, 5039, 5040),
        abstract false {
        browse_name: UAString => "BrowseName": Ua(DataTypeId::String), SCALAR, Plain;
        #[opcua(optional)]
        flow_properties: Option<Option<Vec<KeyValuePair>>>
            => "FlowProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Optional;
        #[opcua(optional)]
        address: Option<AddressSelectionDataType>
            => "Address": Cm(cm::ADDRESS_SELECTION_DATA_TYPE), SCALAR, Optional;
        #[opcua(optional)]
        transport_profile_uri: Option<UAString>
            => "TransportProfileUri": Ua(DataTypeId::String), SCALAR, Optional;
        #[opcua(optional)]
        transport_profile_uri_selection: Option<Option<Vec<UAString>>>
            => "TransportProfileUriSelection": Ua(DataTypeId::String), ARRAY, Optional;
        #[opcua(optional)]
        transport_profile_uri_modify: Option<bool>
            => "TransportProfileUriModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        header_layout_uri: Option<UAString> => "HeaderLayoutUri": Ua(DataTypeId::String), SCALAR, Optional;
        #[opcua(optional)]
        header_layout_uri_selection: Option<Option<Vec<UAString>>>
            => "HeaderLayoutUriSelection": Ua(DataTypeId::String), ARRAY, Optional;
        #[opcua(optional)]
        header_layout_uri_modify: Option<bool>
            => "HeaderLayoutUriModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        publishing_interval: Option<f64>
            => "PublishingInterval": Ua(DataTypeId::Duration), SCALAR, Optional;
        #[opcua(optional)]
        publishing_interval_selection: Option<Option<Vec<f64>>>
            => "PublishingIntervalSelection": Ua(DataTypeId::Duration), ARRAY, Optional;
        #[opcua(optional)]
        publishing_interval_modify: Option<bool>
            => "PublishingIntervalModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        qos: Option<CommunicationFlowQosDataType>
            => "Qos": Cm(cm::COMMUNICATION_FLOW_QOS_DATA_TYPE), SCALAR, Optional;
        #[opcua(optional)]
        qos_selection: Option<Option<Vec<CommunicationFlowQosDataType>>>
            => "QosSelection": Cm(cm::COMMUNICATION_FLOW_QOS_DATA_TYPE), ARRAY, Optional;
        #[opcua(optional)]
        qos_modify: Option<bool> => "QosModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        security_mode: Option<MessageSecurityMode>
            => "SecurityMode": Ua(DataTypeId::MessageSecurityMode), SCALAR, Optional;
        #[opcua(optional)]
        security_mode_selection: Option<Option<Vec<MessageSecurityMode>>>
            => "SecurityModeSelection": Ua(DataTypeId::MessageSecurityMode), ARRAY, Optional;
        #[opcua(optional)]
        security_mode_modify: Option<bool>
            => "SecurityModeModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        security_group_id: Option<UAString> => "SecurityGroupId": Ua(DataTypeId::String), SCALAR, Optional;
        #[opcua(optional)]
        security_group_id_selection: Option<Option<Vec<UAString>>>
            => "SecurityGroupIdSelection": Ua(DataTypeId::String), ARRAY, Optional;
        #[opcua(optional)]
        security_group_id_modify: Option<bool>
            => "SecurityGroupIdModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        subscriber_configurations: Option<Option<Vec<SubscriberConfigurationConfDataType>>>
            => "SubscriberConfigurations": Cm(cm::SUBSCRIBER_CONFIGURATION_CONF_DATA_TYPE), ARRAY, Optional;
    }
}

fx_structure! {
    /// The subscribing side of a flow (§F.1.8).
    SubscriberConfigurationConfDataType (Cm cm::SUBSCRIBER_CONFIGURATION_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5041, 5042, 5043), abstract false {
        browse_name: UAString => "BrowseName": Ua(DataTypeId::String), SCALAR, Plain;
        #[opcua(optional)]
        address: Option<AddressSelectionDataType>
            => "Address": Cm(cm::ADDRESS_SELECTION_DATA_TYPE), SCALAR, Optional;
        message_receive_timeout: f64
            => "MessageReceiveTimeout": Ua(DataTypeId::Duration), SCALAR, Plain;
        #[opcua(optional)]
        message_receive_timeout_selection: Option<Option<Vec<f64>>>
            => "MessageReceiveTimeoutSelection": Ua(DataTypeId::Duration), ARRAY, Optional;
        #[opcua(optional)]
        message_receive_timeout_modify: Option<bool>
            => "MessageReceiveTimeoutModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        receive_qos: Option<ReceiveQosSelectionDataType>
            => "ReceiveQos": Cm(cm::RECEIVE_QOS_SELECTION_DATA_TYPE), SCALAR, Optional;
        #[opcua(optional)]
        subscriber_properties: Option<Option<Vec<KeyValuePair>>>
            => "SubscriberProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Optional;
    }
}

fx_structure! {
    /// An AutomationComponent a set addresses (§F.1.9).
    AutomationComponentConfigurationConfDataType
        (Cm cm::AUTOMATION_COMPONENT_CONFIGURATION_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5044, 5048, 5049), abstract false {
        browse_name: UAString => "BrowseName": Ua(DataTypeId::String), SCALAR, Plain;
        automation_component_node: NodeIdentifier
            => "AutomationComponentNode": Cm(cm::NODE_IDENTIFIER), SCALAR, Plain;
        automation_component_node_selection: Option<Vec<NodeIdentifier>>
            => "AutomationComponentNodeSelection": Cm(cm::NODE_IDENTIFIER), ARRAY, Plain;
        automation_component_node_modify: bool
            => "AutomationComponentNodeModify": Ua(DataTypeId::Boolean), SCALAR, Plain;
        command_bundle_required: bool
            => "CommandBundleRequired": Ua(DataTypeId::Boolean), SCALAR, Plain;
        asset_verification: Option<Vec<AssetVerificationConfDataType>>
            => "AssetVerification": Cm(cm::ASSET_VERIFICATION_CONF_DATA_TYPE), ARRAY, Plain;
        /// A PubSubCommunicationModelConfigurationDataType (or null).
        communication_model_config: ExtensionObject
            => "CommunicationModelConfig": Cm(cm::COMMUNICATION_MODEL_CONFIGURATION_DATA_TYPE), SCALAR, Subtyped;
        automation_component_properties: Option<Vec<KeyValuePair>>
            => "AutomationComponentProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Plain;
        server_address_index: i32 => "ServerAddressIndex": Ua(DataTypeId::Int32), SCALAR, Plain;
    }
}

fx_structure! {
    /// The SecurityKeyServer of a set (§F.1.10).
    SecurityKeyServerAddressConfDataType (Cm cm::SECURITY_KEY_SERVER_ADDRESS_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5050, 5051, 5054), abstract false {
        address: UAString => "Address": Ua(DataTypeId::UriString), SCALAR, Plain;
        #[opcua(optional)]
        address_selection: Option<Option<Vec<UAString>>>
            => "AddressSelection": Ua(DataTypeId::UriString), ARRAY, Optional;
        #[opcua(optional)]
        address_modify: Option<bool> => "AddressModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        security_policy_uri: UAString => "SecurityPolicyUri": Ua(DataTypeId::String), SCALAR, Plain;
        #[opcua(optional)]
        security_policy_uri_selection: Option<Option<Vec<UAString>>>
            => "SecurityPolicyUriSelection": Ua(DataTypeId::String), ARRAY, Optional;
        #[opcua(optional)]
        security_policy_uri_modify: Option<bool>
            => "SecurityPolicyUriModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        server_uri: UAString => "ServerUri": Ua(DataTypeId::UriString), SCALAR, Plain;
        #[opcua(optional)]
        server_uri_selection: Option<Option<Vec<UAString>>>
            => "ServerUriSelection": Ua(DataTypeId::UriString), ARRAY, Optional;
        #[opcua(optional)]
        server_uri_modify: Option<bool> => "ServerUriModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        use_push_model: bool => "UsePushModel": Ua(DataTypeId::Boolean), SCALAR, Plain;
        #[opcua(optional)]
        security_groups: Option<Option<Vec<SecurityGroupDataType>>>
            => "SecurityGroups": Ua(DataTypeId::SecurityGroupDataType), ARRAY, Optional;
        #[opcua(optional)]
        pub_sub_key_push_targets: Option<Option<Vec<PubSubKeyPushTargetDataType>>>
            => "PubSubKeyPushTargets": Ua(DataTypeId::PubSubKeyPushTargetDataType), ARRAY, Optional;
        #[opcua(optional)]
        sks_properties: Option<Option<Vec<KeyValuePair>>>
            => "SksProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Optional;
    }
}

fx_structure! {
    /// A server the set's components are on (§F.1.11).
    ServerAddressConfDataType (Cm cm::SERVER_ADDRESS_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5055, 5056, 5060), abstract false {
        browse_name: UAString => "BrowseName": Ua(DataTypeId::String), SCALAR, Plain;
        address: UAString => "Address": Ua(DataTypeId::UriString), SCALAR, Plain;
        #[opcua(optional)]
        address_selection: Option<Option<Vec<UAString>>>
            => "AddressSelection": Ua(DataTypeId::UriString), ARRAY, Optional;
        #[opcua(optional)]
        address_modify: Option<bool> => "AddressModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        security_mode: MessageSecurityMode
            => "SecurityMode": Ua(DataTypeId::MessageSecurityMode), SCALAR, Plain;
        #[opcua(optional)]
        security_mode_selection: Option<Option<Vec<MessageSecurityMode>>>
            => "SecurityModeSelection": Ua(DataTypeId::MessageSecurityMode), ARRAY, Optional;
        #[opcua(optional)]
        security_mode_modify: Option<bool>
            => "SecurityModeModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        security_policy_uri: UAString => "SecurityPolicyUri": Ua(DataTypeId::String), SCALAR, Plain;
        #[opcua(optional)]
        security_policy_uri_selection: Option<Option<Vec<UAString>>>
            => "SecurityPolicyUriSelection": Ua(DataTypeId::String), ARRAY, Optional;
        #[opcua(optional)]
        security_policy_uri_modify: Option<bool>
            => "SecurityPolicyUriModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        server_uri: UAString => "ServerUri": Ua(DataTypeId::UriString), SCALAR, Plain;
        #[opcua(optional)]
        server_uri_selection: Option<Option<Vec<UAString>>>
            => "ServerUriSelection": Ua(DataTypeId::UriString), ARRAY, Optional;
        #[opcua(optional)]
        server_uri_modify: Option<bool> => "ServerUriModify": Ua(DataTypeId::Boolean), SCALAR, Optional;
        #[opcua(optional)]
        server_properties: Option<Option<Vec<KeyValuePair>>>
            => "ServerProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Optional;
        namespaces: Option<Vec<UAString>> => "Namespaces": Ua(DataTypeId::String), ARRAY, Plain;
    }
}

fx_structure! {
    /// An Asset verification of a component (§F.1.12).
    AssetVerificationConfDataType (Cm cm::ASSET_VERIFICATION_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5061, 5062, 5063), abstract false {
        asset_to_verify: NodeIdentifier => "AssetToVerify": Cm(cm::NODE_IDENTIFIER), SCALAR, Plain;
        verification_mode: AssetVerificationModeEnum
            => "VerificationMode": Data(data::ASSET_VERIFICATION_MODE_ENUM), SCALAR, Plain;
        expected_verification_result: AssetVerificationResultEnum
            => "ExpectedVerificationResult": Data(data::ASSET_VERIFICATION_RESULT_ENUM), SCALAR, Plain;
        expected_verification_variables: Option<Vec<NodeIdentifierValuePair>>
            => "ExpectedVerificationVariables": Cm(cm::NODE_IDENTIFIER_VALUE_PAIR), ARRAY, Plain;
        expected_additional_verification_variables: Option<Vec<NodeIdentifierValuePair>>
            => "ExpectedAdditionalVerificationVariables": Cm(cm::NODE_IDENTIFIER_VALUE_PAIR), ARRAY, Plain;
        #[opcua(optional)]
        asset_properties: Option<Option<Vec<KeyValuePair>>>
            => "AssetProperties": Ua(DataTypeId::KeyValuePair), ARRAY, Optional;
    }
}
