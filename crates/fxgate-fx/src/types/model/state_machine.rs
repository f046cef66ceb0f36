//! ConnectionConfigurationSetStateMachineType's states and transitions (OPC 10000-81 §6.9):
//! Ready (1), Processing (2), Error (3); transitions 1 ReadyToProcessing, 2 ProcessingToReady,
//! 3 ProcessingToError, 4 ErrorToProcessing, with the events they cause and the method that
//! causes them, and LastTransition.

use opcua::types::{
    DataTypeId, ObjectTypeId, QualifiedName, ReferenceTypeId, VariableTypeId, Variant,
};

use super::insert::{Model, Rule};
use super::ModelError;
use crate::types::def::{TypeRef as T, SCALAR};
use crate::types::ids::cm;

/// State, its number, and the NodeId of its StateNumber property.
const STATES: [(u32, &str, u32, u32); 3] = [
    (
        cm::STATE_MACHINE_READY,
        "Ready",
        1,
        cm::STATE_MACHINE_READY_STATE_NUMBER,
    ),
    (
        cm::STATE_MACHINE_PROCESSING,
        "Processing",
        2,
        cm::STATE_MACHINE_PROCESSING_STATE_NUMBER,
    ),
    (
        cm::STATE_MACHINE_ERROR,
        "Error",
        3,
        cm::STATE_MACHINE_ERROR_STATE_NUMBER,
    ),
];

/// Transition, its number, TransitionNumber property, from, to, effect (event type), and
/// whether ProcessConnectionConfigurationSets is its cause.
type TransitionRow = (u32, &'static str, u32, u32, u32, u32, u32, bool);

const TRANSITIONS: [TransitionRow; 4] = [
    (
        cm::STATE_MACHINE_READY_TO_PROCESSING,
        "ReadyToProcessing",
        1,
        cm::STATE_MACHINE_READY_TO_PROCESSING_TRANSITION_NUMBER,
        cm::STATE_MACHINE_READY,
        cm::STATE_MACHINE_PROCESSING,
        cm::CONNECTION_CONFIGURATION_SET_PROCESSING_STARTED_EVENT_TYPE,
        true,
    ),
    (
        cm::STATE_MACHINE_PROCESSING_TO_READY,
        "ProcessingToReady",
        2,
        cm::STATE_MACHINE_PROCESSING_TO_READY_TRANSITION_NUMBER,
        cm::STATE_MACHINE_PROCESSING,
        cm::STATE_MACHINE_READY,
        cm::CONNECTION_CONFIGURATION_SET_PROCESSING_SUCCEEDED_EVENT_TYPE,
        true,
    ),
    (
        cm::STATE_MACHINE_PROCESSING_TO_ERROR,
        "ProcessingToError",
        3,
        cm::STATE_MACHINE_PROCESSING_TO_ERROR_TRANSITION_NUMBER,
        cm::STATE_MACHINE_PROCESSING,
        cm::STATE_MACHINE_ERROR,
        cm::CONNECTION_CONFIGURATION_SET_PROCESSING_FAILED_EVENT_TYPE,
        false,
    ),
    (
        cm::STATE_MACHINE_ERROR_TO_PROCESSING,
        "ErrorToProcessing",
        4,
        cm::STATE_MACHINE_ERROR_TO_PROCESSING_TRANSITION_NUMBER,
        cm::STATE_MACHINE_ERROR,
        cm::STATE_MACHINE_PROCESSING,
        cm::CONNECTION_CONFIGURATION_SET_PROCESSING_STARTED_EVENT_TYPE,
        true,
    ),
];

/// Inserts the states, transitions and LastTransition below the state machine type.
pub(super) fn add(model: &mut Model<'_>) -> Result<(), ModelError> {
    let machine = model.id(T::cm(cm::CONNECTION_CONFIGURATION_SET_STATE_MACHINE_TYPE));
    for (state, name, number, number_id) in STATES {
        model.object(
            &machine,
            T::cm(state),
            name,
            ObjectTypeId::StateType.into(),
            Rule::None,
        )?;
        number_property(model, state, "StateNumber", number_id, number)?;
    }
    let cause = model.id(T::cm(
        cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS,
    ));
    for (transition, name, number, number_id, from, to, effect, caused) in TRANSITIONS {
        model.object(
            &machine,
            T::cm(transition),
            name,
            ObjectTypeId::TransitionType.into(),
            Rule::None,
        )?;
        number_property(model, transition, "TransitionNumber", number_id, number)?;
        let id = model.id(T::cm(transition));
        let refs = [
            (model.id(T::cm(from)), ReferenceTypeId::FromState),
            (model.id(T::cm(to)), ReferenceTypeId::ToState),
            (model.id(T::cm(effect)), ReferenceTypeId::HasEffect),
        ];
        for (target, reference) in refs {
            model.space.insert_reference(&id, &target, reference);
        }
        if caused {
            model
                .space
                .insert_reference(&id, &cause, ReferenceTypeId::HasCause);
        }
    }
    let last = T::cm(cm::STATE_MACHINE_LAST_TRANSITION);
    model.variable(
        &machine,
        last,
        QualifiedName::new(0, "LastTransition"),
        T::ua(DataTypeId::LocalizedText as u32),
        SCALAR,
        Some(VariableTypeId::TransitionVariableType),
        Rule::Mandatory,
        None,
    )?;
    let last_id = model.id(last);
    model.property(
        &last_id,
        T::cm(cm::STATE_MACHINE_LAST_TRANSITION_ID),
        QualifiedName::new(0, "Id"),
        T::ua(DataTypeId::NodeId as u32),
        SCALAR,
        Rule::Mandatory,
    )?;
    Ok(())
}

/// The StateNumber/TransitionNumber property (UInt32, Mandatory) with its value.
fn number_property(
    model: &mut Model<'_>,
    owner: u32,
    name: &str,
    id: u32,
    number: u32,
) -> Result<(), ModelError> {
    let owner = model.id(T::cm(owner));
    model.variable(
        &owner,
        T::cm(id),
        QualifiedName::new(0, name),
        T::ua(DataTypeId::UInt32 as u32),
        SCALAR,
        None,
        Rule::Mandatory,
        Some(Variant::from(number)),
    )
}
