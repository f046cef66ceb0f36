//! Samples of the configuration-file structures (`*ConfDataType`, with optional fields both
//! present and absent, so the round trips check the encoding masks) and of the v1.00.03
//! ReserveCommunicationIds structures.

use opcua::types::{ExtensionObject, KeyValuePair, MessageSecurityMode, NodeId, QualifiedName, Variant};

use crate::types::*;

fn endpoint(optional: bool) -> ConnectionEndpointConfigurationConfDataType {
    ConnectionEndpointConfigurationConfDataType {
        functional_entity_node: NodeIdentifier::Node(NodeId::new(4, "AC/FunctionalEntities/FE")),
        name: "E".into(),
        connection_endpoint_type_id: NodeId::new(2, 5u32),
        cleanup_timeout: 1500.0,
        automation_component_index: 1,
        input_variable_ids: optional.then(|| Some(vec![NodeIdentifier::Node(NodeId::new(5, "Cell/Speed"))])),
        // present but null: the bit is set and the array is null
        output_variable_ids: optional.then_some(None),
        configuration_data: optional.then(|| {
            Some(vec![NodeIdentifierValuePair { key: NodeIdentifier::Alias("G".into()), array_index: None, value: Variant::from(2.5) }])
        }),
        outbound_flow_index: optional.then_some(0),
        inbound_flow_index: optional.then(|| Some(vec![1, 2])),
        endpoint_properties: optional.then(|| Some(vec![KeyValuePair { key: QualifiedName::new(6, "Mode"), value: Variant::Int32(2) }])),
        ..Default::default()
    }
}

/// One sample per `*ConfDataType` structure.
pub fn conf() -> Vec<ExtensionObject> {
    let flow = PubSubCommunicationFlowConfigurationConfDataType {
        browse_name: "F".into(),
        flow_properties: Some(None),
        publishing_interval: Some(10.0),
        security_mode_selection: Some(Some(vec![MessageSecurityMode::None, MessageSecurityMode::Sign])),
        subscriber_configurations: Some(Some(vec![SubscriberConfigurationConfDataType {
            browse_name: "S".into(),
            message_receive_timeout: 100.0,
            message_receive_timeout_modify: Some(true),
            ..Default::default()
        }])),
        ..Default::default()
    };
    let asset = AssetVerificationConfDataType {
        asset_to_verify: NodeIdentifier::Node(NodeId::new(4, "AC/Assets/A")),
        verification_mode: AssetVerificationModeEnum::AssetIdentity,
        expected_verification_result: AssetVerificationResultEnum::Match,
        expected_verification_variables: Some(vec![]),
        expected_additional_verification_variables: None,
        asset_properties: Some(Some(vec![])),
    };
    let ac = AutomationComponentConfigurationConfDataType {
        browse_name: "AC".into(),
        automation_component_node: NodeIdentifier::Node(NodeId::new(4, "AC")),
        asset_verification: Some(vec![asset.clone()]),
        server_address_index: 0,
        ..Default::default()
    };
    let server = ServerAddressConfDataType {
        browse_name: "Local".into(),
        security_mode: MessageSecurityMode::SignAndEncrypt,
        address_modify: Some(false),
        namespaces: Some(vec!["urn:a".into()]),
        ..Default::default()
    };
    let sks = SecurityKeyServerAddressConfDataType { use_push_model: true, sks_properties: Some(None), ..Default::default() };
    let connection = ConnectionConfigurationConfDataType {
        browse_name: "C".into(),
        endpoint1: endpoint(true),
        endpoint2: Some(endpoint(false)),
        connection_properties: None,
    };
    let set = ConnectionConfigurationSetConfDataType {
        browse_name: "Set".into(),
        connections: Some(vec![connection.clone()]),
        communication_flows: Some(vec![ExtensionObject::from_message(flow.clone())]),
        server_addresses: Some(vec![server.clone()]),
        automation_component_configurations: Some(vec![ac.clone()]),
        rollback_on_error: true,
        security_key_server: sks.clone(),
        version: 3,
        ..Default::default()
    };
    vec![
        ExtensionObject::from_message(asset),
        ExtensionObject::from_message(server),
        ExtensionObject::from_message(sks),
        ExtensionObject::from_message(flow.subscriber_configurations.clone().flatten().unwrap_or_default().remove(0)),
        ExtensionObject::from_message(flow),
        ExtensionObject::from_message(ac),
        ExtensionObject::from_message(endpoint(true)),
        ExtensionObject::from_message(connection),
        ExtensionObject::from_message(set),
        ExtensionObject::from_message(PubSubReserveCommunicationIds2DataType {
            transport_profile_uri: "http://opcfoundation.org/UA-Profile/Transport/pubsub-udp-uadp".into(),
            num_req_writer_group_ids: 2,
            num_req_data_set_writer_ids: 4,
            request_transport_specific_info: true,
        }),
        ExtensionObject::from_message(PubSubReserveCommunicationIdsResult2DataType {
            result: opcua::types::StatusCode::Good,
            default_publisher_id: Variant::UInt16(7),
            writer_group_ids: Some(vec![1, 2]),
            data_set_writer_ids: Some(vec![3]),
            transport_specific_info: Variant::UInt16(4840),
        }),
    ]
}
