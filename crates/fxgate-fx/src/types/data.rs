//! The structures and unions of the FX Data namespace: the arguments and results of
//! EstablishConnections and VerifyAsset/Verify.

use opcua::types::{
    ConfigurationVersionDataType, DataTypeId, ExtensionObject, KeyValuePair, NodeId,
    PortableQualifiedName, PubSubConfiguration2DataType, PubSubConfigurationRefDataType,
    PubSubConfigurationValueDataType, StatusCode, UAString, Variant,
};

use super::def::{ARRAY, SCALAR};
use super::enums::{
    AssetVerificationModeEnum, AssetVerificationResultEnum, FunctionalEntityVerificationResultEnum,
    PubSubConnectionEndpointModeEnum,
};
use super::ids::data;

fx_structure! {
    /// One asset for EstablishConnections' VerifyAssetCmd: what VerifyAsset is called with and
    /// the result the caller expects.
    AssetVerificationDataType (Data data::ASSET_VERIFICATION_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(1153, 1154, 1155), abstract false {
        asset_to_verify: NodeId => "AssetToVerify": Ua(DataTypeId::NodeId), SCALAR, Plain;
        verification_mode: AssetVerificationModeEnum
            => "VerificationMode": Data(data::ASSET_VERIFICATION_MODE_ENUM), SCALAR, Plain;
        expected_verification_result: AssetVerificationResultEnum
            => "ExpectedVerificationResult": Data(data::ASSET_VERIFICATION_RESULT_ENUM), SCALAR, Plain;
        expected_verification_variables: Option<Vec<KeyValuePair>>
            => "ExpectedVerificationVariables": Ua(DataTypeId::KeyValuePair), ARRAY, Plain;
        expected_additional_verification_variables: Option<Vec<NodeIdValuePair>>
            => "ExpectedAdditionalVerificationVariables": Data(data::NODE_ID_VALUE_PAIR), ARRAY, Plain;
    }
}

fx_structure! {
    /// The result of one asset verification in EstablishConnections.
    AssetVerificationResultDataType (Data data::ASSET_VERIFICATION_RESULT_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(1205, 1206, 1207), abstract false {
        verification_status: StatusCode => "VerificationStatus": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        verification_result: AssetVerificationResultEnum
            => "VerificationResult": Data(data::ASSET_VERIFICATION_RESULT_ENUM), SCALAR, Plain;
        verification_variables_errors: Option<Vec<StatusCode>>
            => "VerificationVariablesErrors": Ua(DataTypeId::StatusCode), ARRAY, Plain;
        verification_additional_variables_errors: Option<Vec<StatusCode>>
            => "VerificationAdditionalVariablesErrors": Ua(DataTypeId::StatusCode), ARRAY, Plain;
    }
}

fx_structure! {
    /// PubSub configuration to apply with SetCommunicationConfigurationCmd (a
    /// CommunicationConfigurationDataType).
    PubSubCommunicationConfigurationDataType
        (Data data::PUB_SUB_COMMUNICATION_CONFIGURATION_DATA_TYPE)
        : Data(data::COMMUNICATION_CONFIGURATION_DATA_TYPE), encodings(1144, 1145, 1146), abstract false {
        pub_sub_configuration: PubSubConfiguration2DataType
            => "PubSubConfiguration": Ua(DataTypeId::PubSubConfiguration2DataType), SCALAR, Plain;
        require_complete_update: bool => "RequireCompleteUpdate": Ua(DataTypeId::Boolean), SCALAR, Plain;
        configuration_references: Option<Vec<PubSubConfigurationRefDataType>>
            => "ConfigurationReferences": Ua(DataTypeId::PubSubConfigurationRefDataType), ARRAY, Plain;
    }
}

fx_structure! {
    /// The result of SetCommunicationConfigurationCmd for PubSub (a
    /// CommunicationConfigurationResultDataType).
    PubSubCommunicationConfigurationResultDataType
        (Data data::PUB_SUB_COMMUNICATION_CONFIGURATION_RESULT_DATA_TYPE)
        : Data(data::COMMUNICATION_CONFIGURATION_RESULT_DATA_TYPE), encodings(1208, 1209, 1210),
        abstract false {
        result: StatusCode => "Result": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        changes_applied: bool => "ChangesApplied": Ua(DataTypeId::Boolean), SCALAR, Plain;
        reference_results: Option<Vec<StatusCode>>
            => "ReferenceResults": Ua(DataTypeId::StatusCode), ARRAY, Plain;
        configuration_values: Option<Vec<PubSubConfigurationValueDataType>>
            => "ConfigurationValues": Ua(DataTypeId::PubSubConfigurationValueDataType), ARRAY, Plain;
        configuration_objects: Option<Vec<NodeId>>
            => "ConfigurationObjects": Ua(DataTypeId::NodeId), ARRAY, Plain;
    }
}

fx_structure! {
    /// Links a ConnectionEndpoint to its DataSetReader/Writer (a
    /// CommunicationLinkConfigurationDataType).
    PubSubCommunicationLinkConfigurationDataType
        (Data data::PUB_SUB_COMMUNICATION_LINK_CONFIGURATION_DATA_TYPE)
        : Data(data::COMMUNICATION_LINK_CONFIGURATION_DATA_TYPE), encodings(1102, 1103, 1104),
        abstract false {
        data_set_reader_ref: PubSubConfigurationRefDataType
            => "DataSetReaderRef": Ua(DataTypeId::PubSubConfigurationRefDataType), SCALAR, Plain;
        expected_subscribed_data_set_version: ConfigurationVersionDataType
            => "ExpectedSubscribedDataSetVersion": Ua(DataTypeId::ConfigurationVersionDataType),
            SCALAR, Plain;
        data_set_writer_ref: PubSubConfigurationRefDataType
            => "DataSetWriterRef": Ua(DataTypeId::PubSubConfigurationRefDataType), SCALAR, Plain;
        expected_published_data_set_version: ConfigurationVersionDataType
            => "ExpectedPublishedDataSetVersion": Ua(DataTypeId::ConfigurationVersionDataType),
            SCALAR, Plain;
    }
}

fx_structure! {
    /// One ConnectionEndpoint for EstablishConnections: the FunctionalEntity, the endpoint to
    /// create or use, and what to verify and configure on it.
    ConnectionEndpointConfigurationDataType
        (Data data::CONNECTION_ENDPOINT_CONFIGURATION_DATA_TYPE) : Ua(DataTypeId::Structure),
        encodings(1141, 1142, 1143), abstract false {
        functional_entity_node: NodeId => "FunctionalEntityNode": Ua(DataTypeId::NodeId), SCALAR, Plain;
        connection_endpoint: ConnectionEndpointDefinitionDataType
            => "ConnectionEndpoint": Data(data::CONNECTION_ENDPOINT_DEFINITION_DATA_TYPE), SCALAR, Plain;
        expected_verification_variables: Option<Vec<NodeIdValuePair>>
            => "ExpectedVerificationVariables": Data(data::NODE_ID_VALUE_PAIR), ARRAY, Plain;
        control_groups: Option<Vec<NodeId>> => "ControlGroups": Ua(DataTypeId::NodeId), ARRAY, Plain;
        configuration_data: Option<Vec<NodeIdValuePair>>
            => "ConfigurationData": Data(data::NODE_ID_VALUE_PAIR), ARRAY, Plain;
        /// A subtype of CommunicationLinkConfigurationDataType, e.g.
        /// [`PubSubCommunicationLinkConfigurationDataType`], or null.
        communication_links: ExtensionObject
            => "CommunicationLinks": Data(data::COMMUNICATION_LINK_CONFIGURATION_DATA_TYPE),
            SCALAR, Subtyped;
    }
}

fx_structure! {
    /// The result of one ConnectionEndpointConfigurationDataType in EstablishConnections.
    ConnectionEndpointConfigurationResultDataType
        (Data data::CONNECTION_ENDPOINT_CONFIGURATION_RESULT_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5036, 5037, 5038), abstract false {
        connection_endpoint_id: NodeId => "ConnectionEndpointId": Ua(DataTypeId::NodeId), SCALAR, Plain;
        functional_entity_node_result: StatusCode
            => "FunctionalEntityNodeResult": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        connection_endpoint_result: StatusCode
            => "ConnectionEndpointResult": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        verification_result: FunctionalEntityVerificationResultEnum
            => "VerificationResult": Data(data::FUNCTIONAL_ENTITY_VERIFICATION_RESULT_ENUM),
            SCALAR, Plain;
        verification_status: StatusCode => "VerificationStatus": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        verification_variables_errors: Option<Vec<StatusCode>>
            => "VerificationVariablesErrors": Ua(DataTypeId::StatusCode), ARRAY, Plain;
        establish_control_result: Option<Vec<StatusCode>>
            => "EstablishControlResult": Ua(DataTypeId::StatusCode), ARRAY, Plain;
        configuration_data_result: Option<Vec<StatusCode>>
            => "ConfigurationDataResult": Ua(DataTypeId::StatusCode), ARRAY, Plain;
        reassign_control_result: Option<Vec<StatusCode>>
            => "ReassignControlResult": Ua(DataTypeId::StatusCode), ARRAY, Plain;
        communication_links_result: StatusCode
            => "CommunicationLinksResult": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        enable_communication_result: StatusCode
            => "EnableCommunicationResult": Ua(DataTypeId::StatusCode), SCALAR, Plain;
    }
}

fx_structure! {
    /// The parameters of a ConnectionEndpoint to create (abstract: sent as a subtype such as
    /// [`PubSubConnectionEndpointParameterDataType`]).
    ConnectionEndpointParameterDataType (Data data::CONNECTION_ENDPOINT_PARAMETER_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5039, 5040, 5041), abstract true {
        name: UAString => "Name": Ua(DataTypeId::String), SCALAR, Plain;
        connection_endpoint_type_id: NodeId
            => "ConnectionEndpointTypeId": Ua(DataTypeId::NodeId), SCALAR, Plain;
        input_variable_ids: Option<Vec<NodeId>> => "InputVariableIds": Ua(DataTypeId::NodeId), ARRAY, Plain;
        output_variable_ids: Option<Vec<NodeId>> => "OutputVariableIds": Ua(DataTypeId::NodeId), ARRAY, Plain;
        is_persistent: bool => "IsPersistent": Ua(DataTypeId::Boolean), SCALAR, Plain;
        cleanup_timeout: f64 => "CleanupTimeout": Ua(DataTypeId::Duration), SCALAR, Plain;
        related_endpoint: RelatedEndpointDataType
            => "RelatedEndpoint": Data(data::RELATED_ENDPOINT_DATA_TYPE), SCALAR, Plain;
        is_preconfigured: bool => "IsPreconfigured": Ua(DataTypeId::Boolean), SCALAR, Plain;
    }
}

fx_structure! {
    /// The parameters of a PubSubConnectionEndpoint to create: those of
    /// [`ConnectionEndpointParameterDataType`] followed by Mode.
    PubSubConnectionEndpointParameterDataType
        (Data data::PUB_SUB_CONNECTION_ENDPOINT_PARAMETER_DATA_TYPE)
        : Data(data::CONNECTION_ENDPOINT_PARAMETER_DATA_TYPE), encodings(5060, 5061, 5062),
        abstract false {
        name: UAString => "Name": Ua(DataTypeId::String), SCALAR, Plain;
        connection_endpoint_type_id: NodeId
            => "ConnectionEndpointTypeId": Ua(DataTypeId::NodeId), SCALAR, Plain;
        input_variable_ids: Option<Vec<NodeId>> => "InputVariableIds": Ua(DataTypeId::NodeId), ARRAY, Plain;
        output_variable_ids: Option<Vec<NodeId>> => "OutputVariableIds": Ua(DataTypeId::NodeId), ARRAY, Plain;
        is_persistent: bool => "IsPersistent": Ua(DataTypeId::Boolean), SCALAR, Plain;
        cleanup_timeout: f64 => "CleanupTimeout": Ua(DataTypeId::Duration), SCALAR, Plain;
        related_endpoint: RelatedEndpointDataType
            => "RelatedEndpoint": Data(data::RELATED_ENDPOINT_DATA_TYPE), SCALAR, Plain;
        is_preconfigured: bool => "IsPreconfigured": Ua(DataTypeId::Boolean), SCALAR, Plain;
        mode: PubSubConnectionEndpointModeEnum
            => "Mode": Data(data::PUB_SUB_CONNECTION_ENDPOINT_MODE_ENUM), SCALAR, Plain;
    }
}

fx_structure! {
    /// A node, or an element of an array value when ArrayIndex is set.
    NodeIdArray (Data data::NODE_ID_ARRAY) : Ua(DataTypeId::Structure),
    encodings(1111, 1112, 1113), abstract false {
        node: NodeId => "Node": Ua(DataTypeId::NodeId), SCALAR, Plain;
        array_index: Option<Vec<u32>> => "ArrayIndex": Ua(DataTypeId::UInt32), ARRAY, Plain;
    }
}

fx_structure! {
    /// A node (or array element) and a value for it, used by Verify and SetConfigurationData.
    NodeIdValuePair (Data data::NODE_ID_VALUE_PAIR) : Ua(DataTypeId::Structure),
    encodings(1093, 1094, 1095), abstract false {
        key: NodeIdArray => "Key": Data(data::NODE_ID_ARRAY), SCALAR, Plain;
        value: Variant => "Value": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
    }
}

fx_structure! {
    /// Where the other end of a connection is: server address and path to its endpoint.
    RelatedEndpointDataType (Data data::RELATED_ENDPOINT_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(5001, 5002, 5003), abstract false {
        address: UAString => "Address": Ua(DataTypeId::UriString), SCALAR, Plain;
        connection_endpoint_path: Option<Vec<PortableQualifiedName>>
            => "ConnectionEndpointPath": Ua(DataTypeId::PortableQualifiedName), ARRAY, Plain;
        connection_endpoint_name: UAString
            => "ConnectionEndpointName": Ua(DataTypeId::String), SCALAR, Plain;
    }
}

fx_structure! {
    /// PubSub ids to reserve with ReserveCommunicationIdsCmd (a ReserveCommunicationIdsDataType).
    PubSubReserveCommunicationIdsDataType (Data data::PUB_SUB_RESERVE_COMMUNICATION_IDS_DATA_TYPE)
        : Data(data::RESERVE_COMMUNICATION_IDS_DATA_TYPE), encodings(5082, 5083, 5084),
        abstract false {
        transport_profile_uri: UAString => "TransportProfileUri": Ua(DataTypeId::String), SCALAR, Plain;
        num_req_writer_group_ids: u16 => "NumReqWriterGroupIds": Ua(DataTypeId::UInt16), SCALAR, Plain;
        num_req_data_set_writer_ids: u16
            => "NumReqDataSetWriterIds": Ua(DataTypeId::UInt16), SCALAR, Plain;
    }
}

fx_structure! {
    /// The PubSub ids reserved (a ReserveCommunicationIdsResultDataType).
    PubSubReserveCommunicationIdsResultDataType
        (Data data::PUB_SUB_RESERVE_COMMUNICATION_IDS_RESULT_DATA_TYPE)
        : Data(data::RESERVE_COMMUNICATION_IDS_RESULT_DATA_TYPE), encodings(5088, 5089, 5090),
        abstract false {
        result: StatusCode => "Result": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        default_publisher_id: Variant => "DefaultPublisherId": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
        writer_group_ids: Option<Vec<u16>> => "WriterGroupIds": Ua(DataTypeId::UInt16), ARRAY, Plain;
        data_set_writer_ids: Option<Vec<u16>> => "DataSetWriterIds": Ua(DataTypeId::UInt16), ARRAY, Plain;
    }
}

fx_union! {
    /// The endpoint of a ConnectionEndpointConfigurationDataType: the parameters of one to create
    /// (with CreateConnectionEndpointCmd) or the NodeId of an existing one.
    ConnectionEndpointDefinitionDataType (Data data::CONNECTION_ENDPOINT_DEFINITION_DATA_TYPE),
    encodings(5054, 5055, 5056) {
        Parameter(ExtensionObject)
            => Data(data::CONNECTION_ENDPOINT_PARAMETER_DATA_TYPE), SCALAR, Subtyped;
        Node(NodeId) => Ua(DataTypeId::NodeId), SCALAR, Plain;
    }
}
