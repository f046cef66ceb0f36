//! The DI (OPC 10000-100) types FX builds on, with their DI NodeIds: the ObjectTypes the FX
//! NodeSets reference, the nameplate and health interfaces' properties, and LockingServicesType
//! with its properties and methods (ControlGroups, ConnectionConfigurationSets).

use opcua::types::{DataTypeId, ObjectTypeId, VariableTypeId};

use super::insert::{scalar, Arg, Model, Rule};
use super::ModelError;
use crate::types::def::{Ns, TypeRef as T, ARRAY, SCALAR};
use crate::types::ids::di;

const OBJECT_TYPES: &[(u32, &str, ObjectTypeId, bool)] = &[
    (
        di::TOPOLOGY_ELEMENT_TYPE,
        "TopologyElementType",
        ObjectTypeId::BaseObjectType,
        true,
    ),
    (
        di::FUNCTIONAL_GROUP_TYPE,
        "FunctionalGroupType",
        ObjectTypeId::FolderType,
        false,
    ),
    (
        di::SOFTWARE_UPDATE_TYPE,
        "SoftwareUpdateType",
        ObjectTypeId::BaseObjectType,
        false,
    ),
    (
        di::LOCKING_SERVICES_TYPE,
        "LockingServicesType",
        ObjectTypeId::BaseObjectType,
        false,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        "IVendorNameplateType",
        ObjectTypeId::BaseInterfaceType,
        true,
    ),
    (
        di::I_TAG_NAMEPLATE_TYPE,
        "ITagNameplateType",
        ObjectTypeId::BaseInterfaceType,
        true,
    ),
    (
        di::I_DEVICE_HEALTH_TYPE,
        "IDeviceHealthType",
        ObjectTypeId::BaseInterfaceType,
        true,
    ),
];

const STRING: DataTypeId = DataTypeId::String;
const TEXT: DataTypeId = DataTypeId::LocalizedText;

/// Owner, property, BrowseName, DataType, ValueRank, ModellingRule.
const PROPERTIES: &[(u32, u32, &str, DataTypeId, i32, Rule)] = &[
    (
        di::LOCKING_SERVICES_TYPE,
        di::LOCKING_SERVICES_TYPE_LOCKED,
        "Locked",
        DataTypeId::Boolean,
        SCALAR,
        Rule::Mandatory,
    ),
    (
        di::LOCKING_SERVICES_TYPE,
        di::LOCKING_SERVICES_TYPE_LOCKING_CLIENT,
        "LockingClient",
        STRING,
        SCALAR,
        Rule::Mandatory,
    ),
    (
        di::LOCKING_SERVICES_TYPE,
        di::LOCKING_SERVICES_TYPE_LOCKING_USER,
        "LockingUser",
        STRING,
        SCALAR,
        Rule::Mandatory,
    ),
    (
        di::LOCKING_SERVICES_TYPE,
        di::LOCKING_SERVICES_TYPE_REMAINING_LOCK_TIME,
        "RemainingLockTime",
        DataTypeId::Duration,
        SCALAR,
        Rule::Mandatory,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_MANUFACTURER,
        "Manufacturer",
        TEXT,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_MANUFACTURER_URI,
        "ManufacturerUri",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_MODEL,
        "Model",
        TEXT,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_HARDWARE_REVISION,
        "HardwareRevision",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_SOFTWARE_REVISION,
        "SoftwareRevision",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_DEVICE_REVISION,
        "DeviceRevision",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_PRODUCT_CODE,
        "ProductCode",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_DEVICE_MANUAL,
        "DeviceManual",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_DEVICE_CLASS,
        "DeviceClass",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_SERIAL_NUMBER,
        "SerialNumber",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_PRODUCT_INSTANCE_URI,
        "ProductInstanceUri",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_REVISION_COUNTER,
        "RevisionCounter",
        DataTypeId::Int32,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_SOFTWARE_RELEASE_DATE,
        "SoftwareReleaseDate",
        DataTypeId::DateTime,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_VENDOR_NAMEPLATE_TYPE,
        di::I_VENDOR_NAMEPLATE_TYPE_PATCH_IDENTIFIERS,
        "PatchIdentifiers",
        STRING,
        ARRAY,
        Rule::Optional,
    ),
    (
        di::I_TAG_NAMEPLATE_TYPE,
        di::I_TAG_NAMEPLATE_TYPE_ASSET_ID,
        "AssetId",
        STRING,
        SCALAR,
        Rule::Optional,
    ),
    (
        di::I_TAG_NAMEPLATE_TYPE,
        di::I_TAG_NAMEPLATE_TYPE_COMPONENT_NAME,
        "ComponentName",
        TEXT,
        SCALAR,
        Rule::Optional,
    ),
];

const LOCK_STATUS: T = T::ua(DataTypeId::Int32 as u32);
const INIT_LOCK_IN: &[Arg] = &[scalar("Context", T::ua(DataTypeId::String as u32))];
const INIT_LOCK_OUT: &[Arg] = &[scalar("InitLockStatus", LOCK_STATUS)];
const RENEW_LOCK_OUT: &[Arg] = &[scalar("RenewLockStatus", LOCK_STATUS)];
const EXIT_LOCK_OUT: &[Arg] = &[scalar("ExitLockStatus", LOCK_STATUS)];
const BREAK_LOCK_OUT: &[Arg] = &[scalar("BreakLockStatus", LOCK_STATUS)];

/// LockingServicesType's methods (all Mandatory): method, BrowseName, inputs, outputs.
type LockMethod = (
    u32,
    &'static str,
    Option<(u32, &'static [Arg])>,
    (u32, &'static [Arg]),
);

const LOCK_METHODS: [LockMethod; 4] = [
    (
        di::LOCKING_SERVICES_TYPE_INIT_LOCK,
        "InitLock",
        Some((
            di::LOCKING_SERVICES_TYPE_INIT_LOCK_INPUT_ARGUMENTS,
            INIT_LOCK_IN,
        )),
        (
            di::LOCKING_SERVICES_TYPE_INIT_LOCK_OUTPUT_ARGUMENTS,
            INIT_LOCK_OUT,
        ),
    ),
    (
        di::LOCKING_SERVICES_TYPE_RENEW_LOCK,
        "RenewLock",
        None,
        (
            di::LOCKING_SERVICES_TYPE_RENEW_LOCK_OUTPUT_ARGUMENTS,
            RENEW_LOCK_OUT,
        ),
    ),
    (
        di::LOCKING_SERVICES_TYPE_EXIT_LOCK,
        "ExitLock",
        None,
        (
            di::LOCKING_SERVICES_TYPE_EXIT_LOCK_OUTPUT_ARGUMENTS,
            EXIT_LOCK_OUT,
        ),
    ),
    (
        di::LOCKING_SERVICES_TYPE_BREAK_LOCK,
        "BreakLock",
        None,
        (
            di::LOCKING_SERVICES_TYPE_BREAK_LOCK_OUTPUT_ARGUMENTS,
            BREAK_LOCK_OUT,
        ),
    ),
];

/// Inserts the DI types and their declarations.
pub(super) fn add(model: &mut Model<'_>) -> Result<(), ModelError> {
    for &(id, name, parent, is_abstract) in OBJECT_TYPES {
        model.object_type(T::di(id), name, T::ua(parent as u32), is_abstract)?;
    }
    for &(owner, id, name, data_type, rank, rule) in PROPERTIES {
        let owner = model.id(T::di(owner));
        let browse_name = model.name(Ns::Di, name);
        model.property(
            &owner,
            T::di(id),
            browse_name,
            T::ua(data_type as u32),
            rank,
            rule,
        )?;
    }
    let locking = model.id(T::di(di::LOCKING_SERVICES_TYPE));
    for (id, name, inputs, outputs) in LOCK_METHODS {
        model.method(
            &locking,
            T::di(id),
            name,
            Rule::Mandatory,
            inputs,
            Some(outputs),
        )?;
    }
    let health = model.id(T::di(di::I_DEVICE_HEALTH_TYPE));
    let device_health = model.name(Ns::Di, "DeviceHealth");
    model.variable(
        &health,
        T::di(di::I_DEVICE_HEALTH_TYPE_DEVICE_HEALTH),
        device_health,
        T::di(di::DEVICE_HEALTH_ENUMERATION),
        SCALAR,
        Some(VariableTypeId::BaseDataVariableType),
        Rule::Optional,
        None,
    )?;
    model.object(
        &health,
        T::di(di::I_DEVICE_HEALTH_TYPE_DEVICE_HEALTH_ALARMS),
        "DeviceHealthAlarms",
        ObjectTypeId::FolderType.into(),
        Rule::Optional,
    )
}
