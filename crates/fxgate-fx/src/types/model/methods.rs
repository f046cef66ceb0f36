//! The method declarations FX serves, with InputArguments/OutputArguments exactly as the
//! NodeSets declare them (names, DataTypes, ValueRanks, NodeIds).

use opcua::types::{DataTypeId, ReferenceTypeId};

use opcua::types::Argument;

use super::insert::{arguments, array, scalar, Arg, Model, Rule};
use crate::namespaces::FxNamespaces;
use super::ModelError;
use crate::types::def::TypeRef as T;
use crate::types::ids::{ac, cm, data};

const NODE_ID: T = T::ua(DataTypeId::NodeId as u32);
const STATUS_CODE: T = T::ua(DataTypeId::StatusCode as u32);
const KEY_VALUE_PAIR: T = T::ua(DataTypeId::KeyValuePair as u32);

const ESTABLISH_IN: &[Arg] = &[
    scalar("CommandMask", T::data(data::FX_COMMAND_MASK)),
    array(
        "AssetVerifications",
        T::data(data::ASSET_VERIFICATION_DATA_TYPE),
    ),
    array(
        "ConnectionEndpointConfigurations",
        T::data(data::CONNECTION_ENDPOINT_CONFIGURATION_DATA_TYPE),
    ),
    array(
        "ReserveCommunicationIds",
        T::data(data::RESERVE_COMMUNICATION_IDS_DATA_TYPE),
    ),
    array(
        "CommunicationConfigurations",
        T::data(data::COMMUNICATION_CONFIGURATION_DATA_TYPE),
    ),
];
const ESTABLISH_OUT: &[Arg] = &[
    array(
        "AssetVerificationResults",
        T::data(data::ASSET_VERIFICATION_RESULT_DATA_TYPE),
    ),
    array(
        "ConnectionEndpointConfigurationResults",
        T::data(data::CONNECTION_ENDPOINT_CONFIGURATION_RESULT_DATA_TYPE),
    ),
    array(
        "ReserveCommunicationIdsResults",
        T::data(data::RESERVE_COMMUNICATION_IDS_RESULT_DATA_TYPE),
    ),
    array(
        "CommunicationConfigurationResults",
        T::data(data::COMMUNICATION_CONFIGURATION_RESULT_DATA_TYPE),
    ),
];
const CLOSE_IN: &[Arg] = &[
    array("ConnectionEndpoints", NODE_ID),
    scalar("Remove", T::ua(DataTypeId::Boolean as u32)),
];
const RESULTS_OUT: &[Arg] = &[array("Results", STATUS_CODE)];
/// IAssetRevisionType.VerifyAsset: the NodeSet declares VerificationMode as an array here (unlike
/// FxAssetType.VerifyAsset) and has no additional variables; kept as published.
const INTERFACE_VERIFY_ASSET_IN: &[Arg] = &[
    array(
        "VerificationMode",
        T::data(data::ASSET_VERIFICATION_MODE_ENUM),
    ),
    array("ExpectedVerificationVariables", KEY_VALUE_PAIR),
];
const INTERFACE_VERIFY_ASSET_OUT: &[Arg] = &[
    scalar(
        "VerificationResult",
        T::data(data::ASSET_VERIFICATION_RESULT_ENUM),
    ),
    array("VerificationVariablesErrors", STATUS_CODE),
];
const VERIFY_ASSET_IN: &[Arg] = &[
    scalar(
        "VerificationMode",
        T::data(data::ASSET_VERIFICATION_MODE_ENUM),
    ),
    array("ExpectedVerificationVariables", KEY_VALUE_PAIR),
    array(
        "ExpectedAdditionalVerificationVariables",
        T::data(data::NODE_ID_VALUE_PAIR),
    ),
];
const VERIFY_ASSET_OUT: &[Arg] = &[
    scalar(
        "VerificationResult",
        T::data(data::ASSET_VERIFICATION_RESULT_ENUM),
    ),
    array("VerificationVariablesErrors", STATUS_CODE),
    array("VerificationAdditionalVariablesErrors", STATUS_CODE),
];
const VERIFY_IN: &[Arg] = &[array(
    "ExpectedVerificationVariables",
    T::data(data::NODE_ID_VALUE_PAIR),
)];
const VERIFY_OUT: &[Arg] = &[
    scalar(
        "VerificationResult",
        T::data(data::FUNCTIONAL_ENTITY_VERIFICATION_RESULT_ENUM),
    ),
    array("VerificationVariablesErrors", STATUS_CODE),
];
const EDIT_IN: &[Arg] = &[
    scalar("Action", T::cm(cm::FX_EDIT_ENUM)),
    array("ConnectionConfigurationSets", NODE_ID),
];
const PROCESS_IN: &[Arg] = &[
    scalar("Action", T::cm(cm::FX_PROCESS_ENUM)),
    array("ConnectionConfigurationSets", NODE_ID),
];

const CLOSE_AND_UPDATE_IN: &[Arg] = &[
    scalar("FileHandle", T::ua(DataTypeId::UInt32 as u32)),
    scalar("RequireCompleteUpdate", T::ua(DataTypeId::Boolean as u32)),
    array("Operations", T::cm(cm::CONNECTION_CONFIGURATION_SET_OPERATION)),
];
const CLOSE_AND_UPDATE_OUT: &[Arg] = &[
    scalar("ChangesApplied", T::ua(DataTypeId::Boolean as u32)),
    array("OperationResults", STATUS_CODE),
    array("ConfigurationObjects", NODE_ID),
];

/// A method declaration: owner type, method, BrowseName, ModellingRule, (arguments id,
/// arguments) in and out, whether it GeneratesEvent 2:AuditUpdateMethodResultEventType.
type MethodRow = (
    T,
    T,
    &'static str,
    Rule,
    (u32, &'static [Arg]),
    (u32, &'static [Arg]),
    bool,
);

const METHODS: &[MethodRow] = &[
    (
        T::ac(ac::AUTOMATION_COMPONENT_TYPE),
        T::ac(ac::AUTOMATION_COMPONENT_TYPE_ESTABLISH_CONNECTIONS),
        "EstablishConnections",
        Rule::Mandatory,
        (
            ac::AUTOMATION_COMPONENT_TYPE_ESTABLISH_CONNECTIONS_INPUT_ARGUMENTS,
            ESTABLISH_IN,
        ),
        (
            ac::AUTOMATION_COMPONENT_TYPE_ESTABLISH_CONNECTIONS_OUTPUT_ARGUMENTS,
            ESTABLISH_OUT,
        ),
        true,
    ),
    (
        T::ac(ac::AUTOMATION_COMPONENT_TYPE),
        T::ac(ac::AUTOMATION_COMPONENT_TYPE_CLOSE_CONNECTIONS),
        "CloseConnections",
        Rule::Mandatory,
        (
            ac::AUTOMATION_COMPONENT_TYPE_CLOSE_CONNECTIONS_INPUT_ARGUMENTS,
            CLOSE_IN,
        ),
        (
            ac::AUTOMATION_COMPONENT_TYPE_CLOSE_CONNECTIONS_OUTPUT_ARGUMENTS,
            RESULTS_OUT,
        ),
        true,
    ),
    (
        T::ac(ac::I_ASSET_REVISION_TYPE),
        T::ac(ac::I_ASSET_REVISION_TYPE_VERIFY_ASSET),
        "VerifyAsset",
        Rule::Optional,
        (
            ac::I_ASSET_REVISION_TYPE_VERIFY_ASSET_INPUT_ARGUMENTS,
            INTERFACE_VERIFY_ASSET_IN,
        ),
        (
            ac::I_ASSET_REVISION_TYPE_VERIFY_ASSET_OUTPUT_ARGUMENTS,
            INTERFACE_VERIFY_ASSET_OUT,
        ),
        false,
    ),
    (
        T::ac(ac::FX_ASSET_TYPE),
        T::ac(ac::FX_ASSET_TYPE_VERIFY_ASSET),
        "VerifyAsset",
        Rule::Optional,
        (
            ac::FX_ASSET_TYPE_VERIFY_ASSET_INPUT_ARGUMENTS,
            VERIFY_ASSET_IN,
        ),
        (
            ac::FX_ASSET_TYPE_VERIFY_ASSET_OUTPUT_ARGUMENTS,
            VERIFY_ASSET_OUT,
        ),
        false,
    ),
    (
        T::ac(ac::I_FUNCTIONAL_ENTITY_TYPE),
        T::ac(ac::I_FUNCTIONAL_ENTITY_TYPE_VERIFY),
        "Verify",
        Rule::Optional,
        (
            ac::I_FUNCTIONAL_ENTITY_TYPE_VERIFY_INPUT_ARGUMENTS,
            VERIFY_IN,
        ),
        (
            ac::I_FUNCTIONAL_ENTITY_TYPE_VERIFY_OUTPUT_ARGUMENTS,
            VERIFY_OUT,
        ),
        false,
    ),
    (
        T::ac(ac::FUNCTIONAL_ENTITY_TYPE),
        T::ac(ac::FUNCTIONAL_ENTITY_TYPE_VERIFY),
        "Verify",
        Rule::Optional,
        (ac::FUNCTIONAL_ENTITY_TYPE_VERIFY_INPUT_ARGUMENTS, VERIFY_IN),
        (
            ac::FUNCTIONAL_ENTITY_TYPE_VERIFY_OUTPUT_ARGUMENTS,
            VERIFY_OUT,
        ),
        false,
    ),
    (
        T::cm(cm::CONNECTION_MANAGER_TYPE),
        T::cm(cm::CONNECTION_MANAGER_TYPE_EDIT_CONNECTION_CONFIGURATION_SETS),
        "EditConnectionConfigurationSets",
        Rule::Optional,
        (
            cm::CONNECTION_MANAGER_TYPE_EDIT_CONNECTION_CONFIGURATION_SETS_INPUT_ARGUMENTS,
            EDIT_IN,
        ),
        (
            cm::CONNECTION_MANAGER_TYPE_EDIT_CONNECTION_CONFIGURATION_SETS_OUTPUT_ARGUMENTS,
            RESULTS_OUT,
        ),
        true,
    ),
    (
        T::cm(cm::CONNECTION_MANAGER_TYPE),
        T::cm(cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS),
        "ProcessConnectionConfigurationSets",
        Rule::Optional,
        (
            cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS_INPUT_ARGUMENTS,
            PROCESS_IN,
        ),
        (
            cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS_OUTPUT_ARGUMENTS,
            RESULTS_OUT,
        ),
        true,
    ),
    (
        T::cm(cm::CONNECTION_MANAGER_CONFIGURATION_TYPE),
        T::cm(cm::CONNECTION_MANAGER_CONFIGURATION_TYPE_CLOSE_AND_UPDATE),
        "CloseAndUpdate",
        Rule::Mandatory,
        (cm::CONNECTION_MANAGER_CONFIGURATION_TYPE_CLOSE_AND_UPDATE_INPUT_ARGUMENTS, CLOSE_AND_UPDATE_IN),
        (cm::CONNECTION_MANAGER_CONFIGURATION_TYPE_CLOSE_AND_UPDATE_OUTPUT_ARGUMENTS, CLOSE_AND_UPDATE_OUT),
        false,
    ),
];

/// The InputArguments and OutputArguments of the method declaration `method` (e.g.
/// AutomationComponentType.EstablishConnections), for the methods of instances.
pub fn declared_arguments(method: T, ns: &FxNamespaces) -> Option<(Vec<Argument>, Vec<Argument>)> {
    METHODS
        .iter()
        .find(|row| row.1 == method)
        .map(|&(_, _, _, _, (_, inputs), (_, outputs), _)| (arguments(inputs, ns), arguments(outputs, ns)))
}

/// Inserts the method declarations.
pub(super) fn add(model: &mut Model<'_>) -> Result<(), ModelError> {
    let audit_event = model.id(T::data(data::AUDIT_UPDATE_METHOD_RESULT_EVENT_TYPE));
    for &(owner, method, name, rule, inputs, outputs, audited) in METHODS {
        let owner = model.id(owner);
        model.method(&owner, method, name, rule, Some(inputs), Some(outputs))?;
        if audited {
            let method = model.id(method);
            model
                .space
                .insert_reference(&method, &audit_event, ReferenceTypeId::GeneratesEvent);
        }
    }
    Ok(())
}
