//! The ConnectionManager (OPC 10000-81 §6.7–6.9, Annex F): `4:ConnectionManager` under FxRoot
//! with the ConnectionConfigurationSets of `[fx.connection_manager]` (and those written at run
//! time), their state machines, ProcessConnectionConfigurationSets with the
//! ProcessingStarted/Succeeded/Failed events, EditConnectionConfigurationSets and the
//! ConnectionManagerConfiguration file.
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
//! - [`sets`]: sets added and removed at run time (their nodes).
//! - [`file`]: the ConnectionManagerConfiguration file (Annex F): Open, Read, Write,
//!   CloseAndUpdate.
//! - [`edit`]: EditConnectionConfigurationSets (§6.7.4).
//! - [`persist`]: what CloseAndUpdate and Edit changed, kept across restarts.

pub mod build;
pub mod calls;
pub mod diagnostics;
pub mod edit;
pub mod edit_write;
pub mod events;
pub mod file;
pub mod flow;
pub mod persist;
pub mod plan;
pub mod process;
pub mod remote;
pub mod resolve;
pub mod sets;
pub mod state;
pub mod target;

use std::sync::Arc;

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
    /// EditConnectionConfigurationSets.
    pub edit: NodeId,
    /// AggregatedCurrentState.
    pub aggregated_current_state: NodeId,
    /// The ConnectionConfigurationSets folder.
    pub folder: NodeId,
    /// The ConnectionConfigurationSets, in the order they were added.
    pub sets: parking_lot::RwLock<Vec<Arc<Set>>>,
    /// The ConnectionManagerConfiguration file.
    pub file: file::ConfigFile,
    /// MaxInactiveLockTime of an edit's Lock: the edit is discarded when its session neither
    /// renews the Lock nor writes for this long.
    pub max_inactive_lock_time: std::time::Duration,
    /// Where the run-time changes are kept, and the changes (None: not kept).
    pub persist: Option<(persist::Store, parking_lot::Mutex<persist::Changes>)>,
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
    /// Its Edit property (Boolean).
    pub edit: NodeId,
    /// Its Version property (UInt32).
    pub version: NodeId,
    /// The nodes of its Lock (LockingServicesType) that follow who holds it.
    pub lock: crate::model::LockNodes,
    /// The variables its editor may write (§6.7.4), and what each one sets.
    pub editable: Vec<(NodeId, edit_write::Field)>,
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
    /// Its Version: 1 when added, one more on each change.
    pub version: u32,
    /// The client session editing it (Edit TRUE), if any.
    pub editor: Option<edit::Editor>,
    /// The configuration as the editor changed it, until Commit or Discard.
    pub pending: Option<ConnectionSetConfig>,
}

impl Set {
    /// The same set (same nodes) with configuration `config` and its run-time state moved
    /// over: what CommitUpdates puts in place.
    pub fn with_config(&self, config: ConnectionSetConfig) -> Set {
        let rt = std::mem::take(&mut *self.runtime.lock());
        Set {
            name: self.name.clone(),
            node: self.node.clone(),
            config,
            machine: self.machine.clone(),
            lock_methods: self.lock_methods.clone(),
            diagnostics: self.diagnostics.clone(),
            edit: self.edit.clone(),
            version: self.version.clone(),
            lock: self.lock.clone(),
            editable: self.editable.clone(),
            runtime: parking_lot::Mutex::new(rt),
        }
    }
}

impl ConnectionManager {
    /// The set whose node is `node`.
    pub fn set(&self, node: &NodeId) -> Option<Arc<Set>> {
        self.sets.read().iter().find(|s| &s.node == node).cloned()
    }

    /// The set named `name`.
    pub fn set_named(&self, name: &str) -> Option<Arc<Set>> {
        self.sets.read().iter().find(|s| s.name == name).cloned()
    }

    /// Whether `method` is a Lock method of a set.
    pub fn is_lock_method(&self, method: &NodeId) -> bool {
        self.sets.read().iter().any(|s| s.lock_methods.contains(method))
    }

    /// Records a change of the sets and keeps it (logged if it cannot be written).
    pub fn record(&self, change: impl FnOnce(&mut persist::Changes)) {
        let Some((store, changes)) = &self.persist else { return };
        let mut c = changes.lock();
        change(&mut c);
        if let Err(e) = store.save(&c) {
            tracing::error!(error = %e, "FX ConnectionManager: the changed sets are not kept across a restart");
        }
    }

    /// Whether any set is in state Error (AggregatedCurrentState).
    pub fn any_error(&self) -> bool {
        self.sets.read().iter().any(|s| s.runtime.lock().state == state::State::Error)
    }
}
