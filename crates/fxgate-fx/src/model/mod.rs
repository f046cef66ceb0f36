//! The FX instances the gateway serves: AutomationComponents built from `[fx]`, with their
//! Assets and FunctionalEntities, and the NodeIds of everything the methods and the health
//! computation need.

mod build;
mod control;

pub use build::build;
pub(crate) use build::arg;

use fxgate_core::TagId;
use opcua::types::{NodeId, QualifiedName, Variant};

use crate::namespaces::FxNamespaces;
use crate::verify_asset::NameplateNames;

/// The whole FX model.
#[derive(Debug)]
pub struct Model {
    /// Namespace indexes.
    pub ns: FxNamespaces,
    /// BrowseNames of the nameplate variables.
    pub names: NameplateNames,
    /// `Objects/FxRoot`.
    pub root: NodeId,
    /// The AutomationComponents.
    pub components: Vec<Component>,
}

/// An AutomationComponent.
#[derive(Debug)]
pub struct Component {
    /// BrowseName under FxRoot.
    pub name: String,
    /// Its node.
    pub node: NodeId,
    /// Its EstablishConnections method.
    pub establish: NodeId,
    /// Its CloseConnections method.
    pub close: NodeId,
    /// ComponentCapabilities.MaxConnections (0: not limited).
    pub max_connections: u32,
    /// ComponentCapabilities.MaxConnectionsPerCall (0: not limited).
    pub max_connections_per_call: u32,
    /// Tag-store sources whose loss is this component's device failure.
    pub sources: Vec<String>,
    /// AggregatedHealth (the structure variable).
    pub aggregated_health: NodeId,
    /// AggregatedHealth.AggregatedDeviceHealth.
    pub aggregated_device_health: NodeId,
    /// AggregatedHealth.AggregatedOperationalHealth.
    pub aggregated_operational_health: NodeId,
    /// The Assets.
    pub assets: Vec<Asset>,
    /// The top-level FunctionalEntities.
    pub entities: Vec<Entity>,
}

/// An FxAsset.
#[derive(Debug)]
pub struct Asset {
    /// BrowseName in the Assets folder.
    pub name: String,
    /// Its node.
    pub node: NodeId,
    /// Its VerifyAsset method.
    pub verify: NodeId,
    /// Its DeviceHealth variable.
    pub device_health: NodeId,
    /// The implemented nameplate variables: BrowseName and value.
    pub nameplate: Vec<(QualifiedName, Variant)>,
}

/// A FunctionalEntity.
#[derive(Debug)]
pub struct Entity {
    /// BrowseName in the FunctionalEntities folder.
    pub name: String,
    /// Its node.
    pub node: NodeId,
    /// Its Verify method.
    pub verify: NodeId,
    /// InputData variables (tags).
    pub inputs: Vec<TagRef>,
    /// OutputData variables (tags).
    pub outputs: Vec<TagRef>,
    /// ConfigurationData variables (tags).
    pub configuration: Vec<TagRef>,
    /// The ConnectionEndpoints folder.
    pub endpoints_folder: NodeId,
    /// ConnectionEndpoints.CommHealth.
    pub comm_health: NodeId,
    /// OperationalHealth.
    pub operational_health: NodeId,
    /// Its ControlGroups.
    pub control_groups: Vec<ControlGroup>,
}

/// A ControlGroup (§6.5) and the nodes its locking changes.
#[derive(Debug)]
pub struct ControlGroup {
    /// BrowseName.
    pub name: String,
    /// Its node.
    pub node: NodeId,
    /// ListToBlock: nobody writes these while the group is controlled.
    pub block: Vec<TagRef>,
    /// ListToRestrict: only the lock owner writes these while the group is controlled.
    pub restrict: Vec<TagRef>,
    /// IsControlled.
    pub is_controlled: NodeId,
    /// The Lock variables of ListToBlock and ListToRestrict.
    pub locks: [LockNodes; 2],
    /// EstablishControl.
    pub establish: NodeId,
    /// ReleaseControl.
    pub release: NodeId,
    /// ReassignControl.
    pub reassign: NodeId,
    /// The DI methods of the two Locks (InitLock, RenewLock, ExitLock, BreakLock of
    /// ListToBlock, then of ListToRestrict).
    pub lock_methods: Vec<NodeId>,
    /// MaxInactiveLockTime of its Locks.
    pub max_inactive: std::time::Duration,
}

/// The variables of a DI Lock (LockingServicesType).
#[derive(Debug, Clone)]
pub struct LockNodes {
    /// Locked.
    pub locked: NodeId,
    /// LockingClient.
    pub client: NodeId,
    /// LockingUser.
    pub user: NodeId,
    /// RemainingLockTime.
    pub remaining: NodeId,
}

/// A tag of the tag store used by a FunctionalEntity, and its node in the tag namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRef {
    /// The tag.
    pub tag: TagId,
    /// Its node (owned by the tag node manager).
    pub node: NodeId,
}

impl Model {
    /// The asset whose node or VerifyAsset method is `node`.
    pub fn asset(&self, node: &NodeId) -> Option<(&Component, &Asset)> {
        self.components
            .iter()
            .find_map(|c| c.assets.iter().find(|a| &a.node == node || &a.verify == node).map(|a| (c, a)))
    }

    /// The entity whose node or Verify method is `node`.
    pub fn entity(&self, node: &NodeId) -> Option<(&Component, &Entity)> {
        self.components
            .iter()
            .find_map(|c| c.entities.iter().find(|e| &e.node == node || &e.verify == node).map(|e| (c, e)))
    }
}
