//! `[fx]`: the OPC UA FX model (OPC 10000-81) — devices of the gateway shown as
//! AutomationComponents under `Objects/FxRoot`, with their Assets and FunctionalEntities.

use serde::{Deserialize, Serialize};

pub mod cm;
pub use cm::*;
mod validate;
mod validate_cm;

impl fxgate_config::Section for FxConfig {
    fn validate(&self, _key: &str, cx: &mut fxgate_config::Check<'_>) {
        let known = cx.known;
        validate::validate(self, known, cx.errs());
    }
}

/// `[fx]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FxConfig {
    /// `[[fx.automation_component]]`: the AutomationComponents under FxRoot.
    pub automation_component: Vec<AutomationComponentConfig>,
    /// `[fx.connection_manager]`: the ConnectionManager (absent: none).
    pub connection_manager: Option<cm::ConnectionManagerConfig>,
}

/// `[[fx.automation_component]]`: one AutomationComponent (§6.2).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AutomationComponentConfig {
    /// BrowseName under FxRoot.
    pub name: String,
    /// The sources (devices of any protocol, upstream servers) this component stands for: while one
    /// of them has lost communication, its Assets report DeviceHealth FAILURE.
    pub sources: Vec<String>,
    /// ComponentCapabilities.MaxConnections (connection endpoints in all); 0 = not limited.
    pub max_connections: u32,
    /// ComponentCapabilities.MaxConnectionsPerCall: connection endpoints per
    /// EstablishConnections call (more: Bad_TooManyOperations).
    pub max_connections_per_call: u32,
    /// The Assets (`[[fx.automation_component.asset]]`).
    pub asset: Vec<AssetConfig>,
    /// The FunctionalEntities (`[[fx.automation_component.functional_entity]]`).
    pub functional_entity: Vec<FunctionalEntityConfig>,
}

/// `[[fx.automation_component.asset]]`: an FxAsset and its nameplate (§6.3, DI IVendorNameplate,
/// IAssetRevision). Empty strings are not shown.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AssetConfig {
    /// BrowseName in the component's Assets folder.
    pub name: String,
    /// Manufacturer (a name).
    pub manufacturer: String,
    /// ManufacturerUri.
    pub manufacturer_uri: String,
    /// Model.
    pub model: String,
    /// ProductCode.
    pub product_code: String,
    /// HardwareRevision.
    pub hardware_revision: String,
    /// SoftwareRevision.
    pub software_revision: String,
    /// SerialNumber (a top-level Asset needs it or `product_instance_uri`).
    pub serial_number: String,
    /// ProductInstanceUri.
    pub product_instance_uri: String,
    /// MajorAssetVersion.
    pub major_asset_version: Option<u16>,
    /// MinorAssetVersion.
    pub minor_asset_version: Option<u16>,
    /// BuildAssetNumber.
    pub build_asset_number: Option<u16>,
    /// SubBuildAssetNumber.
    pub sub_build_asset_number: Option<u16>,
}

/// `[[fx.automation_component.functional_entity]]`: a FunctionalEntity (§6.4) whose data are
/// tags of the tag store, given by path (`Demo/Setpoint`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FunctionalEntityConfig {
    /// BrowseName in the component's FunctionalEntities folder.
    pub name: String,
    /// AuthorUri.
    pub author_uri: String,
    /// AuthorAssignedIdentifier.
    pub author_assigned_identifier: String,
    /// AuthorAssignedVersion, `major.minor.build.subbuild` (missing parts are 0).
    pub author_assigned_version: String,
    /// The Assets (names) this entity is hosted by (IsHostedBy).
    pub hosted_by: Vec<String>,
    /// InputData: tags the entity consumes.
    pub inputs: Vec<String>,
    /// OutputData: tags the entity produces.
    pub outputs: Vec<String>,
    /// ConfigurationData: tags that configure the entity (SetConfigurationDataCmd writes them).
    pub configuration: Vec<String>,
    /// `[[…functional_entity.control_group]]`: its ControlGroups (§6.5).
    pub control_group: Vec<ControlGroupConfig>,
}

/// `[[fx.automation_component.functional_entity.control_group]]`: a ControlGroup (§6.5) over
/// the entity's variables (tags among its inputs, outputs and configuration). While it is
/// controlled (EstablishControl), nobody may write its `block` tags and only the lock owner its
/// `restrict` tags.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ControlGroupConfig {
    /// BrowseName in the entity's ControlGroups folder.
    pub name: String,
    /// ListToBlock.
    pub block: Vec<String>,
    /// ListToRestrict.
    pub restrict: Vec<String>,
    /// ListOfRelated (neither blocked nor restricted).
    pub related: Vec<String>,
    /// MaxInactiveLockTime of both Locks, in ms (1,000 to 86,400,000): a Lock without activity
    /// (RenewLock, a write by the owner, an owning endpoint not in Error) for this long exits.
    /// Should exceed the CleanupTimeout of the endpoints that take control (OPC 10000-81 §6.5.2).
    pub max_inactive_lock_time_ms: u64,
}

impl Default for ControlGroupConfig {
    fn default() -> Self {
        Self { name: String::new(), block: Vec::new(), restrict: Vec::new(), related: Vec::new(), max_inactive_lock_time_ms: 600_000 }
    }
}

/// Why [`parse_fx_version`] rejects a text (a FunctionalEntity's AuthorAssignedVersion,
/// OPC 10000-81 §6.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxVersionError {
    /// More than four dot-separated parts.
    #[error("`{0}` is not a version like 1.2.0.0 (1 to 4 numbers)")]
    Parts(String),
    /// A part is not a number from 0 to 65535.
    #[error("`{text}`: `{part}` is not a number from 0 to 65535")]
    Number {
        /// The whole version text.
        text: String,
        /// The offending part, as written.
        part: String,
    },
}

impl From<FxVersionError> for String {
    fn from(e: FxVersionError) -> Self {
        e.to_string()
    }
}

/// Parses `major.minor.build.subbuild` (1 to 4 parts, each 0–65535).
pub fn parse_fx_version(text: &str) -> Result<[u16; 4], FxVersionError> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return Err(FxVersionError::Parts(text.to_string()));
    }
    let mut out = [0u16; 4];
    for (slot, p) in out.iter_mut().zip(&parts) {
        *slot = p.trim().parse().map_err(|_| FxVersionError::Number {
            text: text.to_string(),
            part: p.to_string(),
        })?;
    }
    Ok(out)
}
