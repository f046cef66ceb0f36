//! The ConnectionConfigurationSetStateMachine of a set (§6.9): states Ready (1), Processing (2),
//! Error (3) and transitions 1 ReadyToProcessing, 2 ProcessingToReady, 3 ProcessingToError,
//! 4 ErrorToProcessing, with the official NodeIds of the state and transition objects of
//! ConnectionConfigurationSetStateMachineType.

use opcua::types::{DateTime, LocalizedText, NodeId, Variant};

use crate::namespaces::FxNamespaces;
use crate::types::ids::cm;

/// A state of the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum State {
    /// Ready (the initial state).
    #[default]
    Ready,
    /// Processing.
    Processing,
    /// Error.
    Error,
}

/// A transition of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// 1: ReadyToProcessing.
    ReadyToProcessing,
    /// 2: ProcessingToReady.
    ProcessingToReady,
    /// 3: ProcessingToError.
    ProcessingToError,
    /// 4: ErrorToProcessing.
    ErrorToProcessing,
}

impl State {
    /// BrowseName, StateNumber and NodeId (in the CM namespace) of the state object.
    pub fn describe(self) -> (&'static str, u32, u32) {
        match self {
            State::Ready => ("Ready", 1, cm::STATE_MACHINE_READY),
            State::Processing => ("Processing", 2, cm::STATE_MACHINE_PROCESSING),
            State::Error => ("Error", 3, cm::STATE_MACHINE_ERROR),
        }
    }
}

impl Transition {
    /// BrowseName, TransitionNumber and NodeId (in the CM namespace) of the transition object.
    pub fn describe(self) -> (&'static str, u32, u32) {
        match self {
            Transition::ReadyToProcessing => ("ReadyToProcessing", 1, cm::STATE_MACHINE_READY_TO_PROCESSING),
            Transition::ProcessingToReady => ("ProcessingToReady", 2, cm::STATE_MACHINE_PROCESSING_TO_READY),
            Transition::ProcessingToError => ("ProcessingToError", 3, cm::STATE_MACHINE_PROCESSING_TO_ERROR),
            Transition::ErrorToProcessing => ("ErrorToProcessing", 4, cm::STATE_MACHINE_ERROR_TO_PROCESSING),
        }
    }

    /// The state the transition leads to.
    pub fn to(self) -> State {
        match self {
            Transition::ReadyToProcessing | Transition::ErrorToProcessing => State::Processing,
            Transition::ProcessingToReady => State::Ready,
            Transition::ProcessingToError => State::Error,
        }
    }
}

/// The variables of a set's state machine instance.
#[derive(Debug, Clone)]
pub struct MachineNodes {
    /// CurrentState (LocalizedText).
    pub current_state: NodeId,
    /// CurrentState.Id.
    pub current_state_id: NodeId,
    /// CurrentState.Number.
    pub current_state_number: NodeId,
    /// LastTransition (LocalizedText).
    pub last_transition: NodeId,
    /// LastTransition.Id.
    pub last_transition_id: NodeId,
    /// LastTransition.Number.
    pub last_transition_number: NodeId,
    /// LastTransition.TransitionTime.
    pub last_transition_time: NodeId,
}

impl MachineNodes {
    /// The values of CurrentState and its properties in `state`.
    pub fn state_values(&self, ns: &FxNamespaces, state: State) -> Vec<(NodeId, Variant)> {
        let (name, number, id) = state.describe();
        vec![
            (self.current_state.clone(), LocalizedText::new("", name).into()),
            (self.current_state_id.clone(), NodeId::new(ns.cm, id).into()),
            (self.current_state_number.clone(), number.into()),
        ]
    }

    /// The values after `transition` (at `time`): CurrentState and LastTransition.
    pub fn transition_values(&self, ns: &FxNamespaces, transition: Transition, time: DateTime) -> Vec<(NodeId, Variant)> {
        let (name, number, id) = transition.describe();
        let mut v = self.state_values(ns, transition.to());
        v.extend([
            (self.last_transition.clone(), LocalizedText::new("", name).into()),
            (self.last_transition_id.clone(), NodeId::new(ns.cm, id).into()),
            (self.last_transition_number.clone(), number.into()),
            (self.last_transition_time.clone(), time.into()),
        ]);
        v
    }
}

/// The transition that starts processing from `state`, if processing may start.
pub fn start(state: State) -> Option<Transition> {
    match state {
        State::Ready => Some(Transition::ReadyToProcessing),
        State::Error => Some(Transition::ErrorToProcessing),
        State::Processing => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_starts_from_ready_and_error_only() {
        assert_eq!(start(State::Ready), Some(Transition::ReadyToProcessing));
        assert_eq!(start(State::Error), Some(Transition::ErrorToProcessing));
        assert_eq!(start(State::Processing), None);
        let numbers: Vec<u32> = [
            Transition::ReadyToProcessing,
            Transition::ProcessingToReady,
            Transition::ProcessingToError,
            Transition::ErrorToProcessing,
        ]
        .iter()
        .map(|t| t.describe().1)
        .collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        assert_eq!(Transition::ProcessingToError.to(), State::Error);
    }
}
