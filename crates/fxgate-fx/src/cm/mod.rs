//! The ConnectionManager (OPC 10000-81 §6.7–6.9), tier 1: `4:ConnectionManager` under FxRoot
//! with the ConnectionConfigurationSets of `[fx.connection_manager]`, their state machines,
//! ProcessConnectionConfigurationSets and the ProcessingStarted/Succeeded/Failed events.
//!
//! The target AutomationComponents are local (§13.2.1): EstablishConnections and
//! CloseConnections are run on them directly ([`crate::host::ComponentHost`]), and node
//! identifiers are resolved against the FX address space and the tag nodes (§13.3); or they are
//! on upstream servers (`server = "<upstream>"`), resolved and called over the upstream's
//! client session ([`remote`]).
//!
//! - [`build`]: the nodes of the ConnectionManager and of each set.
//! - [`resolve`]: PortableNodeIds, browse paths and tag paths to NodeIds.
//! - [`process`]: the method and the processing of a set in a spawned task.
//! - [`state`]: the state machine's variables and AggregatedCurrentState.
//! - [`events`]: the ConnectionConfigurationSet events.
//! - [`plan`]: what EstablishConnections is called with for each endpoint.
//! - [`calls`]: the calls of a set, and its local endpoints to remove.
//! - [`target`]: local or remote target components.
//! - [`remote`]: components on upstream servers.

pub mod build;
pub mod calls;
pub mod diagnostics;
pub mod events;
pub mod flow;
pub mod plan;
pub mod process;
pub mod remote;
pub mod resolve;
pub mod state;
pub mod target;

use crate::config::cm::ConnectionSetConfig;
use opcua::types::NodeId;

pub use build::build;

/// The ConnectionManager as built.
#[derive(Debug)]
pub struct ConnectionManager {
    /// Its node (`4:ConnectionManager`).
    pub node: NodeId,
    /// ProcessConnectionConfigurationSets.
    pub process: NodeId,
    /// AggregatedCurrentState.
    pub aggregated_current_state: NodeId,
    /// The ConnectionConfigurationSets.
    pub sets: Vec<Set>,
}

/// A ConnectionConfigurationSet.
#[derive(Debug)]
pub struct Set {
    /// Its BrowseName.
    pub name: String,
    /// Its node.
    pub node: NodeId,
    /// Its configuration.
    pub config: ConnectionSetConfig,
    /// The nodes of its state machine.
    pub machine: state::MachineNodes,
    /// The methods of its Lock (answered with Bad_NotSupported).
    pub lock_methods: Vec<NodeId>,
    /// Its ConnectionsDiagnostics variable (ConnectionDiagnosticsDataType[]).
    pub diagnostics: NodeId,
    /// What processing has done to it.
    pub runtime: parking_lot::Mutex<Runtime>,
}

/// The state of a set between and during runs.
#[derive(Debug, Default)]
pub struct Runtime {
    /// The state machine's current state.
    pub state: state::State,
    /// Endpoints the set's runs created and did not remove.
    pub created: Vec<target::Created>,
}

impl ConnectionManager {
    /// The set whose node is `node`.
    pub fn set(&self, node: &NodeId) -> Option<(usize, &Set)> {
        self.sets.iter().enumerate().find(|(_, s)| &s.node == node)
    }

    /// Whether `method` is a Lock method of a set.
    pub fn is_lock_method(&self, method: &NodeId) -> bool {
        self.sets.iter().any(|s| s.lock_methods.contains(method))
    }
}
