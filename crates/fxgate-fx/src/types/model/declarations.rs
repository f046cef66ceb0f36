//! Variable instance declarations of FX types: the fields of the FX event types (so that event
//! filters can select them and OfType clauses resolve them) and the children of
//! AggregatedHealthType.

use opcua::types::{DataTypeId, VariableTypeId};

use super::insert::{Model, Rule};
use super::ModelError;
use crate::types::def::{TypeRef as T, ARRAY, SCALAR};
use crate::types::ids::{ac, cm, data};

/// Owner type, declaration, BrowseName (in the owner's namespace), DataType, ValueRank,
/// `None` for a property or the VariableType of a component.
type Declaration = (T, T, &'static str, T, i32, Option<VariableTypeId>);

const STRING: T = T::ua(DataTypeId::String as u32);

const DECLARATIONS: &[Declaration] = &[
    // ConnectionConfigurationSetEventType: the fields of the CM's Processing* events.
    (
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE_CONNECTION_CONFIGURATION_SET_NODE),
        "ConnectionConfigurationSetNode",
        T::ua(DataTypeId::NodeId as u32),
        SCALAR,
        None,
    ),
    (
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE_NAME),
        "Name",
        STRING,
        SCALAR,
        None,
    ),
    (
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE),
        T::cm(cm::CONNECTION_CONFIGURATION_SET_EVENT_TYPE_ACTION),
        "Action",
        T::cm(cm::FX_PROCESS_ENUM),
        SCALAR,
        None,
    ),
    // 2:AuditUpdateMethodResultEventType (Establish/CloseConnections, Edit/Process).
    (
        T::data(data::AUDIT_UPDATE_METHOD_RESULT_EVENT_TYPE),
        T::data(data::AUDIT_UPDATE_METHOD_RESULT_EVENT_TYPE_STATUS_CODE_ID),
        "StatusCodeId",
        T::ua(DataTypeId::StatusCode as u32),
        SCALAR,
        None,
    ),
    (
        T::data(data::AUDIT_UPDATE_METHOD_RESULT_EVENT_TYPE),
        T::data(data::AUDIT_UPDATE_METHOD_RESULT_EVENT_TYPE_OUTPUT_ARGUMENTS),
        "OutputArguments",
        T::ua(DataTypeId::Argument as u32),
        ARRAY,
        None,
    ),
    // 3:AuditConnectionCleanupEventType (CleanupTimeout expiry, tier 2).
    (
        T::ac(ac::AUDIT_CONNECTION_CLEANUP_EVENT_TYPE),
        T::ac(ac::AUDIT_CONNECTION_CLEANUP_EVENT_TYPE_RELATED_ENDPOINT),
        "RelatedEndpoint",
        T::data(data::RELATED_ENDPOINT_DATA_TYPE),
        SCALAR,
        None,
    ),
    (
        T::ac(ac::AUDIT_CONNECTION_CLEANUP_EVENT_TYPE),
        T::ac(ac::AUDIT_CONNECTION_CLEANUP_EVENT_TYPE_REMOVED_ENDPOINT),
        "RemovedEndpoint",
        STRING,
        SCALAR,
        None,
    ),
    // AggregatedHealthType's components.
    (
        T::ac(ac::AGGREGATED_HEALTH_TYPE),
        T::ac(ac::AGGREGATED_HEALTH_TYPE_AGGREGATED_DEVICE_HEALTH),
        "AggregatedDeviceHealth",
        T::ac(ac::DEVICE_HEALTH_OPTION_SET),
        SCALAR,
        Some(VariableTypeId::BaseDataVariableType),
    ),
    (
        T::ac(ac::AGGREGATED_HEALTH_TYPE),
        T::ac(ac::AGGREGATED_HEALTH_TYPE_AGGREGATED_OPERATIONAL_HEALTH),
        "AggregatedOperationalHealth",
        T::ac(ac::OPERATIONAL_HEALTH_OPTION_SET),
        SCALAR,
        Some(VariableTypeId::BaseDataVariableType),
    ),
];

/// Inserts the declarations (all Mandatory).
pub(super) fn add(model: &mut Model<'_>) -> Result<(), ModelError> {
    for &(owner, id, name, data_type, rank, type_definition) in DECLARATIONS {
        let owner_id = model.id(owner);
        let browse_name = model.name(owner.ns, name);
        model.variable(
            &owner_id,
            id,
            browse_name,
            data_type,
            rank,
            type_definition,
            Rule::Mandatory,
            None,
        )?;
    }
    Ok(())
}
