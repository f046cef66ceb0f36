//! One non-trivial value of every FX structure and union, as ExtensionObjects.

use opcua::types::{
    ByteString, ExtensionObject, Guid, KeyValuePair, LocalizedText, MessageSecurityMode, NodeId,
    PortableNodeId, PortableQualifiedName, QualifiedName, RelativePath, StatusCode, UAString,
    Variant,
};

use crate::types::*;

fn pqn(name: &str) -> PortableQualifiedName {
    PortableQualifiedName {
        namespace_uri: "urn:peer".into(),
        name: name.into(),
    }
}

pub fn node_id_value_pair() -> NodeIdValuePair {
    NodeIdValuePair {
        key: NodeIdArray {
            node: NodeId::new(3, "FE1.Setpoint"),
            array_index: Some(vec![2]),
        },
        value: Variant::from(42.5f64),
    }
}

pub fn related_endpoint() -> RelatedEndpointDataType {
    RelatedEndpointDataType {
        address: "opc.tcp://peer:4840".into(),
        connection_endpoint_path: Some(vec![pqn("FxRoot"), pqn("AC1")]),
        connection_endpoint_name: "C1".into(),
    }
}

pub fn pubsub_parameter() -> PubSubConnectionEndpointParameterDataType {
    PubSubConnectionEndpointParameterDataType {
        name: "C1".into(),
        connection_endpoint_type_id: NodeId::new(8, 1005u32),
        input_variable_ids: Some(vec![NodeId::new(11, 1u32)]),
        output_variable_ids: Some(vec![NodeId::new(11, 2u32), NodeId::new(11, 3u32)]),
        is_persistent: false,
        cleanup_timeout: 5000.0,
        related_endpoint: related_endpoint(),
        is_preconfigured: false,
        mode: PubSubConnectionEndpointModeEnum::PublisherSubscriber,
    }
}

fn portable_path() -> PortableRelativePath {
    PortableRelativePath {
        elements: Some(vec![PortableRelativePathElement {
            reference_type_id: PortableNodeId {
                namespace_uri: UAString::null(),
                identifier: NodeId::new(0, 47u32),
            },
            is_inverse: false,
            include_subtypes: true,
            target_name: pqn("FE1"),
        }]),
    }
}

/// Every structure and union of the registry, each with some non-default content.
pub fn all() -> Vec<ExtensionObject> {
    vec![
        ExtensionObject::from_message(NodeIdArray {
            node: NodeId::new(1, 7u32),
            array_index: None,
        }),
        ExtensionObject::from_message(node_id_value_pair()),
        ExtensionObject::from_message(AssetVerificationDataType {
            asset_to_verify: NodeId::new(11, "Asset1"),
            verification_mode: AssetVerificationModeEnum::AssetIdentityAndCompatibility,
            expected_verification_result: AssetVerificationResultEnum::Compatible,
            expected_verification_variables: Some(vec![KeyValuePair {
                key: QualifiedName::new(10, "ProductCode"),
                value: Variant::from("PC-1"),
            }]),
            expected_additional_verification_variables: Some(vec![node_id_value_pair()]),
        }),
        ExtensionObject::from_message(AssetVerificationResultDataType {
            verification_status: StatusCode::Uncertain,
            verification_result: AssetVerificationResultEnum::Mismatch,
            verification_variables_errors: Some(vec![StatusCode::Good, StatusCode::BadOutOfRange]),
            verification_additional_variables_errors: None,
        }),
        ExtensionObject::from_message(related_endpoint()),
        ExtensionObject::from_message(ConnectionEndpointParameterDataType {
            name: "abstract".into(),
            ..Default::default()
        }),
        ExtensionObject::from_message(pubsub_parameter()),
        ExtensionObject::from_message(ConnectionEndpointDefinitionDataType::Parameter(
            ExtensionObject::from_message(pubsub_parameter()),
        )),
        ExtensionObject::from_message(PubSubCommunicationLinkConfigurationDataType::default()),
        ExtensionObject::from_message(ConnectionEndpointConfigurationDataType {
            functional_entity_node: NodeId::new(11, "FE1"),
            connection_endpoint: ConnectionEndpointDefinitionDataType::Node(NodeId::new(11, 5u32)),
            expected_verification_variables: Some(vec![node_id_value_pair()]),
            control_groups: None,
            configuration_data: Some(vec![]),
            communication_links: ExtensionObject::from_message(
                PubSubCommunicationLinkConfigurationDataType::default(),
            ),
        }),
        ExtensionObject::from_message(ConnectionEndpointConfigurationResultDataType {
            connection_endpoint_id: NodeId::new(11, 99u32),
            connection_endpoint_result: StatusCode::BadBrowseNameDuplicated,
            verification_result: FunctionalEntityVerificationResultEnum::Match,
            establish_control_result: Some(vec![StatusCode::BadNothingToDo]),
            ..Default::default()
        }),
        ExtensionObject::from_message(PubSubCommunicationConfigurationDataType {
            require_complete_update: true,
            ..Default::default()
        }),
        ExtensionObject::from_message(PubSubCommunicationConfigurationResultDataType {
            changes_applied: true,
            configuration_objects: Some(vec![NodeId::new(0, 1u32)]),
            ..Default::default()
        }),
        ExtensionObject::from_message(PubSubReserveCommunicationIdsDataType {
            transport_profile_uri: "http://opcfoundation.org/UA-Profile/Transport/pubsub-udp-uadp"
                .into(),
            num_req_writer_group_ids: 2,
            num_req_data_set_writer_ids: 4,
        }),
        ExtensionObject::from_message(PubSubReserveCommunicationIdsResultDataType {
            result: StatusCode::Good,
            default_publisher_id: Variant::from(7u16),
            writer_group_ids: Some(vec![1, 2]),
            data_set_writer_ids: Some(vec![1, 2, 3, 4]),
        }),
        ExtensionObject::from_message(ConnectionDiagnosticsDataType {
            name: QualifiedName::new(11, "Conn1"),
            last_activity: LastActivityMask::EstablishDisabled | LastActivityMask::Error,
            connection_state: ConnectionStateEnum::ConnectionInitial,
            error_endpoint1: FxErrorEnum::ResolvingPathsError,
            endpoint1_status: StatusCode::BadNoMatch,
            error_endpoint2: FxErrorEnum::ProcessingStopped,
            endpoint2_status: StatusCode::Good,
        }),
        ExtensionObject::from_message(AggregatedHealthDataType {
            aggregated_device_health: DeviceHealthOptionSet::DeviceOffSpec,
            aggregated_operational_health: OperationalHealthOptionSet::OperationalError
                | OperationalHealthOptionSet::from_bits_retain(1),
        }),
        ExtensionObject::from_message(ApplicationId::IdGuid(Guid::new())),
        ExtensionObject::from_message(ApplicationIdentifierDataType {
            name: LocalizedText::new("en", "App"),
            unique_identifier: ApplicationId::IdByteString(ByteString::from(vec![1u8, 2, 3])),
        }),
        ExtensionObject::from_message(FxVersion {
            major: 1,
            minor: 0,
            build: 3,
            sub_build: 0,
        }),
        ExtensionObject::from_message(IntervalRange {
            min: 1,
            max: 100,
            increment: 1,
            multiplier: 10,
            unit: FxTimeUnitsEnum::Millisecond,
        }),
        ExtensionObject::from_message(PublisherQosDataType {
            qos_category: "best-effort".into(),
            datagram_qos: Some(vec![]),
        }),
        ExtensionObject::from_message(SubscriberQosDataType {
            qos_category: "best-effort".into(),
            datagram_qos: None,
        }),
        ExtensionObject::from_message(PortableKeyValuePair {
            key: pqn("Key"),
            value: Variant::from(1i32),
        }),
        ExtensionObject::from_message(ServerAddressDataType {
            address: "opc.tcp://peer:4840".into(),
            security_mode: MessageSecurityMode::SignAndEncrypt,
            security_policy_uri: "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256".into(),
            server_uri: "urn:peer".into(),
        }),
        ExtensionObject::from_message(PortableRelativePathElement {
            is_inverse: true,
            ..Default::default()
        }),
        ExtensionObject::from_message(portable_path()),
        ExtensionObject::from_message(
            PortableNodeIdentifier::IdentifierBrowsePath(portable_path()),
        ),
        ExtensionObject::from_message(PortableNodeIdentifierValuePair {
            key: PortableNodeIdentifier::Alias("Alias1".into()),
            array_index: None,
            value: Variant::from(true),
        }),
        ExtensionObject::from_message(NodeIdTranslationDataType {
            node_placeholder: NodeId::new(9, 1u32),
            portable_node: PortableNodeIdentifier::Node(PortableNodeId {
                namespace_uri: "urn:peer".into(),
                identifier: NodeId::new(0, 5u32),
            }),
        }),
        ExtensionObject::from_message(NodeIdentifier::IdentifierBrowsePath(RelativePath {
            elements: None,
        })),
        ExtensionObject::from_message(NodeIdentifierValuePair {
            key: NodeIdentifier::Node(NodeId::new(2, 3u32)),
            array_index: Some(vec![0, 1]),
            value: Variant::from("x"),
        }),
        ExtensionObject::from_message(NodeIdTranslationConfDataType {
            node_placeholder: NodeId::new(9, 2u32),
            node: NodeIdentifier::Alias("A".into()),
        }),
        ExtensionObject::from_message(CommunicationFlowQosDataType {
            qos_category: "q".into(),
            ..Default::default()
        }),
        ExtensionObject::from_message(SecurityKeyServerAddressDataType {
            use_push_model: true,
            ..Default::default()
        }),
        ExtensionObject::from_message(AddressSelectionDataType {
            address_modify: true,
            ..Default::default()
        }),
        ExtensionObject::from_message(ReceiveQosSelectionDataType {
            receive_qos_selection: Variant::from(3u32),
            ..Default::default()
        }),
        ExtensionObject::from_message(PubSubCommunicationModelConfigurationDataType {
            translation_table: Some(vec![NodeIdTranslationDataType::default()]),
            ..Default::default()
        }),
    ]
    .into_iter()
    .chain(super::samples_conf::conf())
    .collect()
}
