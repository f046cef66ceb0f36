//! [`DaProperty`] and the two queries of a DA client, `QueryAvailableProperties` /
//! `GetItemProperties` ([`available_properties`]) and one property by ID ([`property`])
//! (OPC 10000-8 A.4.2).

use super::values::property_value;
use super::{UaVariableInfo, PROPERTIES};
use crate::errors::Hresult;
use crate::types::{DaValue, VarType};

/// One DA property of an item: its ID, name and canonical VARIANT type (the row of
/// [`PROPERTIES`]) and its value.
///
/// The value has the type `var_type`, except that Item Value (2, `VT_VARIANT`) has the
/// type of the value and Item EU Info (8) is `VT_EMPTY` when the EU type is not
/// Enumerated.
#[derive(Debug, Clone, PartialEq)]
pub struct DaProperty {
    /// The property ID (`OPC_PROPERTY_*`, 610–614).
    pub id: u32,
    /// The property description (`OPC_PROPERTY_DESC_*`, A.4.2 names for 610–614).
    pub name: &'static str,
    /// The canonical VARIANT type of the property.
    pub var_type: VarType,
    /// The value.
    pub value: DaValue,
}

/// The property of row `(id, name, var_type)` with its value, if the item has it.
fn make_property(
    info: &UaVariableInfo,
    (id, name, var_type): (u32, &'static str, VarType),
) -> Option<DaProperty> {
    property_value(info, id).map(|value| DaProperty {
        id,
        name,
        var_type,
        value,
    })
}

/// The properties the DA item of a UA Variable has (`QueryAvailableProperties` and
/// `GetItemProperties`), in ID order, with their values (A.4.2; which properties exist
/// is described in the [module](super) documentation).
pub fn available_properties(info: &UaVariableInfo) -> Vec<DaProperty> {
    PROPERTIES
        .iter()
        .filter_map(|row| make_property(info, *row))
        .collect()
}

/// Property `id` of the DA item of a UA Variable, or `OPC_E_INVALID_PID` if the item does
/// not have it (an unknown ID, or a property whose UA source the node lacks).
pub fn property(info: &UaVariableInfo, id: u32) -> Result<DaProperty, Hresult> {
    PROPERTIES
        .iter()
        .find(|(row_id, _, _)| *row_id == id)
        .and_then(|row| make_property(info, *row))
        .ok_or(Hresult::OPC_E_INVALID_PID)
}
