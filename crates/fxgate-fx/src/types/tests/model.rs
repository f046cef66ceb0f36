//! `add_types` inserts the DataTypes with definitions and encodings, the types with their
//! supertypes, the methods with their arguments, the event fields and the state machine.

use opcua::server::address_space::{AddressSpace, NodeType};
use opcua::types::{
    Argument, DataEncoding, DataTypeDefinition, DataTypeId, LocalizedText, NodeId, NumericRange,
    ObjectTypeId, ReferenceTypeId, StructureType, TimestampsToReturn, Variant,
};

use crate::namespaces::FxNamespaces;
use crate::types::ids::{ac, cm, data, di, node};
use crate::types::registry::{ENUMERATIONS, STRUCTURES};
use crate::types::{add_types, ModelError};

const NS: FxNamespaces = FxNamespaces {
    data: 2,
    ac: 3,
    cm: 4,
    di: 5,
    instances: 6,
};

fn space() -> AddressSpace {
    let mut space = AddressSpace::new();
    add_types(&mut space, &NS).expect("types added");
    space
}

fn definition(space: &AddressSpace, id: &NodeId) -> DataTypeDefinition {
    match space.find(id) {
        Some(NodeType::DataType(dt)) => dt.data_type_definition().cloned().expect("a definition"),
        other => panic!("{id} is not a DataType: {other:?}"),
    }
}

fn value(space: &AddressSpace, id: &NodeId) -> Variant {
    match space.find(id) {
        Some(NodeType::Variable(v)) => v
            .value(
                TimestampsToReturn::Neither,
                &NumericRange::None,
                &DataEncoding::Binary,
                0.0,
            )
            .value
            .expect("a value"),
        other => panic!("{id} is not a Variable: {other:?}"),
    }
}

fn subtype(space: &AddressSpace, parent: &NodeId, child: &NodeId) -> bool {
    space.has_reference(parent, child, ReferenceTypeId::HasSubtype)
}

#[test]
fn every_data_type_has_a_definition_a_supertype_and_its_encodings() {
    let space = space();
    for def in STRUCTURES {
        let id = def.id.node_id(&NS);
        assert!(
            matches!(definition(&space, &id), DataTypeDefinition::Structure(_)),
            "{}",
            def.name
        );
        assert!(
            subtype(&space, &def.parent.node_id(&NS), &id),
            "{}",
            def.name
        );
        let Some(encodings) = def.encodings else {
            continue;
        };
        for encoding in [encodings.binary, encodings.xml, encodings.json] {
            let encoding = node(id.namespace, encoding);
            assert!(
                space.has_reference(&id, &encoding, ReferenceTypeId::HasEncoding),
                "{}",
                def.name
            );
            assert!(space.has_reference(
                &encoding,
                &NodeId::from(ObjectTypeId::DataTypeEncodingType),
                ReferenceTypeId::HasTypeDefinition
            ));
        }
    }
    for def in ENUMERATIONS {
        let id = def.id.node_id(&NS);
        assert!(
            matches!(definition(&space, &id), DataTypeDefinition::Enum(_)),
            "{}",
            def.name
        );
        assert!(
            subtype(&space, &def.parent.node_id(&NS), &id),
            "{}",
            def.name
        );
    }
}

#[test]
fn structure_definitions_follow_the_nodeset() {
    let space = space();
    let DataTypeDefinition::Structure(asset) =
        definition(&space, &node(NS.data, data::ASSET_VERIFICATION_DATA_TYPE))
    else {
        panic!("structure")
    };
    assert_eq!(asset.default_encoding_id, node(NS.data, 1153));
    assert_eq!(asset.structure_type, StructureType::Structure);
    let fields = asset.fields.unwrap_or_default();
    assert_eq!(fields.len(), 5);
    assert_eq!(
        fields[4].name.as_ref(),
        "ExpectedAdditionalVerificationVariables"
    );
    assert_eq!(fields[4].data_type, node(NS.data, data::NODE_ID_VALUE_PAIR));
    assert_eq!(fields[4].value_rank, 1);

    // A subtype lists the supertype's fields first.
    let DataTypeDefinition::Structure(pubsub) = definition(
        &space,
        &node(
            NS.data,
            data::PUB_SUB_CONNECTION_ENDPOINT_PARAMETER_DATA_TYPE,
        ),
    ) else {
        panic!("structure")
    };
    assert_eq!(
        pubsub.base_data_type,
        node(NS.data, data::CONNECTION_ENDPOINT_PARAMETER_DATA_TYPE)
    );
    let names: Vec<String> = pubsub
        .fields
        .unwrap_or_default()
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("Name"));
    assert_eq!(names.last().map(String::as_str), Some("Mode"));
    assert_eq!(names.len(), 9);

    // AllowSubTypes: published as a plain Structure whose field has DataType Structure (an
    // ExtensionObject on the wire; see data_types::field), not optional.
    let DataTypeDefinition::Structure(config) = definition(
        &space,
        &node(NS.data, data::CONNECTION_ENDPOINT_CONFIGURATION_DATA_TYPE),
    ) else {
        panic!("structure")
    };
    assert_eq!(config.structure_type, StructureType::Structure);
    let links = config
        .fields
        .unwrap_or_default()
        .pop()
        .expect("CommunicationLinks");
    assert!(!links.is_optional);
    assert_eq!(links.data_type, NodeId::from(DataTypeId::Structure));

    // The endpoint union: Parameter published as a Structure (see data_types::field).
    let DataTypeDefinition::Structure(union) = definition(
        &space,
        &node(NS.data, data::CONNECTION_ENDPOINT_DEFINITION_DATA_TYPE),
    ) else {
        panic!("structure")
    };
    assert_eq!(union.structure_type, StructureType::Union);
    let fields = union.fields.unwrap_or_default();
    assert_eq!(fields[0].data_type, NodeId::from(DataTypeId::Structure));
    assert_eq!(fields[1].data_type, NodeId::from(DataTypeId::NodeId));

    // Abstract: no default encoding.
    let DataTypeDefinition::Structure(abstract_parameter) = definition(
        &space,
        &node(NS.data, data::CONNECTION_ENDPOINT_PARAMETER_DATA_TYPE),
    ) else {
        panic!("structure")
    };
    assert!(abstract_parameter.default_encoding_id.is_null());
}

#[test]
fn enumerations_and_option_sets_have_their_properties() {
    let space = space();
    let DataTypeDefinition::Enum(mask) = definition(&space, &node(NS.data, data::FX_COMMAND_MASK))
    else {
        panic!("enum")
    };
    let fields = mask.fields.unwrap_or_default();
    assert_eq!(fields.len(), 9);
    assert_eq!(
        (fields[8].name.as_ref(), fields[8].value),
        ("EnableCommunicationCmd", 8)
    );
    assert!(subtype(
        &space,
        &DataTypeId::UInt32.into(),
        &node(NS.data, data::FX_COMMAND_MASK)
    ));

    let Variant::Array(health) = value(&space, &node(NS.ac, 6084)) else {
        panic!("array")
    };
    assert_eq!(health.values.len(), 20);
    assert_eq!(
        health.values[16],
        Variant::from(LocalizedText::new("", "OperationalWarning"))
    );
    assert_eq!(health.values[0], Variant::from(LocalizedText::new("", "")));

    let Variant::Array(modes) = value(&space, &node(NS.data, 6240)) else {
        panic!("array")
    };
    assert_eq!(modes.values.len(), 3);
    let Variant::Array(units) = value(&space, &node(NS.ac, 6078)) else {
        panic!("array")
    };
    assert_eq!(
        units.values[3],
        Variant::from(LocalizedText::new("", "Second"))
    );
    let Variant::Array(health) = value(
        &space,
        &node(NS.di, di::DEVICE_HEALTH_ENUMERATION_ENUM_STRINGS),
    ) else {
        panic!("array")
    };
    assert_eq!(health.values.len(), 5);
}

#[test]
fn types_have_their_supertypes() {
    let space = space();
    let base = NodeId::from(ObjectTypeId::BaseObjectType);
    assert!(subtype(
        &space,
        &base,
        &node(NS.ac, ac::AUTOMATION_COMPONENT_TYPE)
    ));
    assert!(subtype(
        &space,
        &node(NS.ac, ac::CONNECTION_ENDPOINT_TYPE),
        &node(NS.ac, ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE)
    ));
    assert!(subtype(
        &space,
        &node(NS.di, di::FUNCTIONAL_GROUP_TYPE),
        &node(NS.ac, ac::CONFIGURATION_DATA_FOLDER_TYPE)
    ));
    assert!(subtype(
        &space,
        &ObjectTypeId::BaseInterfaceType.into(),
        &node(NS.ac, ac::I_FUNCTIONAL_ENTITY_TYPE)
    ));
    assert!(subtype(
        &space,
        &ObjectTypeId::FiniteStateMachineType.into(),
        &node(NS.cm, cm::CONNECTION_CONFIGURATION_SET_STATE_MACHINE_TYPE)
    ));
    assert!(subtype(
        &space,
        &node(NS.cm, cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        &node(
            NS.cm,
            cm::CONNECTION_CONFIGURATION_SET_PROCESSING_FAILED_EVENT_TYPE
        )
    ));
    assert!(subtype(
        &space,
        &node(NS.cm, cm::TO_FLOW),
        &node(NS.cm, cm::TO_INBOUND_FLOW)
    ));
    match space.find(&node(NS.ac, ac::CONNECTION_ENDPOINT_TYPE)) {
        Some(NodeType::ObjectType(t)) => assert!(t.is_abstract()),
        other => panic!("{other:?}"),
    }
    match space.find(&node(NS.ac, ac::HAS_CONNECTION_ENDPOINT)) {
        Some(NodeType::ReferenceType(r)) => {
            assert_eq!(
                r.inverse_name(),
                Some(LocalizedText::from("ConnectionEndpointOf"))
            );
            assert!(!r.symmetric());
        }
        other => panic!("{other:?}"),
    }
    match space.find(&node(NS.ac, ac::CONNECTED_TO)) {
        Some(NodeType::ReferenceType(r)) => assert!(r.symmetric()),
        other => panic!("{other:?}"),
    }
}

fn arguments(space: &AddressSpace, id: &NodeId) -> Vec<Argument> {
    let Variant::Array(array) = value(space, id) else {
        panic!("array")
    };
    array
        .values
        .iter()
        .map(|v| match v {
            Variant::ExtensionObject(eo) => eo.inner_as::<Argument>().cloned().expect("Argument"),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn methods_have_the_nodeset_arguments() {
    let space = space();
    let establish = node(NS.ac, ac::AUTOMATION_COMPONENT_TYPE_ESTABLISH_CONNECTIONS);
    assert!(space.has_reference(
        &node(NS.ac, ac::AUTOMATION_COMPONENT_TYPE),
        &establish,
        ReferenceTypeId::HasComponent
    ));
    let inputs = arguments(
        &space,
        &node(
            NS.ac,
            ac::AUTOMATION_COMPONENT_TYPE_ESTABLISH_CONNECTIONS_INPUT_ARGUMENTS,
        ),
    );
    assert_eq!(inputs.len(), 5);
    assert_eq!(inputs[0].name.as_ref(), "CommandMask");
    assert_eq!(inputs[0].data_type, node(NS.data, data::FX_COMMAND_MASK));
    assert_eq!(inputs[0].value_rank, -1);
    assert_eq!(
        inputs[4].data_type,
        node(NS.data, data::COMMUNICATION_CONFIGURATION_DATA_TYPE)
    );
    assert_eq!(inputs[4].value_rank, 1);
    assert!(space.has_reference(
        &establish,
        &node(NS.data, data::AUDIT_UPDATE_METHOD_RESULT_EVENT_TYPE),
        ReferenceTypeId::GeneratesEvent
    ));
    let outputs = arguments(
        &space,
        &node(NS.ac, ac::FX_ASSET_TYPE_VERIFY_ASSET_OUTPUT_ARGUMENTS),
    );
    assert_eq!(outputs.len(), 3);
    let process = arguments(
        &space,
        &node(
            NS.cm,
            cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS_INPUT_ARGUMENTS,
        ),
    );
    assert_eq!(process[0].data_type, node(NS.cm, cm::FX_PROCESS_ENUM));
    let init_lock = arguments(
        &space,
        &node(NS.di, di::LOCKING_SERVICES_TYPE_INIT_LOCK_INPUT_ARGUMENTS),
    );
    assert_eq!(init_lock[0].name.as_ref(), "Context");
}

#[test]
fn event_fields_and_state_machine_are_declared() {
    let space = space();
    let event = node(NS.cm, cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE);
    for field in [6352, 6353, 6354] {
        assert!(space.has_reference(&event, &node(NS.cm, field), ReferenceTypeId::HasProperty));
    }
    let t = node(NS.cm, cm::STATE_MACHINE_READY_TO_PROCESSING);
    assert!(space.has_reference(
        &t,
        &node(NS.cm, cm::STATE_MACHINE_READY),
        ReferenceTypeId::FromState
    ));
    assert!(space.has_reference(
        &t,
        &node(NS.cm, cm::STATE_MACHINE_PROCESSING),
        ReferenceTypeId::ToState
    ));
    assert!(space.has_reference(
        &t,
        &node(
            NS.cm,
            cm::CONNECTION_CONFIGURATION_SET_PROCESSING_STARTED_EVENT_TYPE
        ),
        ReferenceTypeId::HasEffect
    ));
    assert!(space.has_reference(
        &t,
        &node(
            NS.cm,
            cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS
        ),
        ReferenceTypeId::HasCause
    ));
    assert_eq!(
        value(&space, &node(NS.cm, cm::STATE_MACHINE_ERROR_STATE_NUMBER)),
        Variant::from(3u32)
    );
    assert_eq!(
        value(
            &space,
            &node(
                NS.cm,
                cm::STATE_MACHINE_ERROR_TO_PROCESSING_TRANSITION_NUMBER
            )
        ),
        Variant::from(4u32)
    );
}

#[test]
fn adding_twice_is_an_error() {
    let mut space = space();
    assert!(matches!(
        add_types(&mut space, &NS),
        Err(ModelError::DuplicateNode(_))
    ));
}
