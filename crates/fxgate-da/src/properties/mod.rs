//! The DA item properties the COM UA Proxy gives a UA Variable (OPC 10000-8 A.4.2,
//! Table A.31).
//!
//! A DA client asks an item for its properties (`QueryAvailableProperties`,
//! `GetItemProperties`); the Proxy answers from what it read of the UA Variable: its
//! attributes, its HasProperty children and its current value, gathered in a
//! [`UaVariableInfo`]. [`available_properties`] lists the properties the item has, in
//! ID order, with their values; [`property`] returns one of them or `OPC_E_INVALID_PID`.
//!
//! # Sources
//!
//! [`PROPERTIES`] lists every property this module can produce. IDs, names and VARIANT
//! types of 1–8 and 100–108 are the standard OPC DA property set (OPC DA 3.00 (Data Access Custom Interface Standard),
//! `OPC_PROPERTY_*` / `OPC_PROPERTY_DESC_*`). 610–614 are defined only by their
//! *meaning* in A.4.2 ("New Properties"); their VARIANT types (`VT_I4`, `VT_BSTR`,
//! `VT_I4`, `VT_BSTR`, `VT_BSTR`) are those of the OPC Foundation sample proxy
//! (`Opc.Ua.Com.PropertyIds.GetVarType`), the implementation A.4 describes.
//!
//! Where Annex A contradicts itself the choice is made here, once:
//! - **Item Description (101)**: Table A.31 pairs it with the Description attribute, but
//!   that table belongs to the COM UA *Wrapper* (A.3). For the *Proxy*, A.4.2 says twice
//!   that 101 is the **DisplayName** (with a Note explaining why) and gives the
//!   Description attribute its own property, UA Description (614). This module follows
//!   A.4.2: 101 ← [`UaVariableInfo::display_name`], 614 ← [`UaVariableInfo::description`].
//! - **Contact Close/Open Label (106/107)**: Table A.31 and A.3.1.3 pair Close Label with
//!   TrueState and Open Label with FalseState; the A.4.2 bullet list swaps them (106 ←
//!   FalseState). The swap would make a Wrapper → Proxy round trip exchange the labels, and
//!   the sample proxy reads TrueState into the Close Label; this module follows Table A.31:
//!   106 ← TrueState, 107 ← FalseState.
//! - **Item Access Rights (5)**: A.4.2 names the **AccessLevel** attribute (the sample proxy
//!   reads UserAccessLevel instead). The DA access rights describe the item, not the
//!   caller's permissions, so this module follows the text; a client without write
//!   permission still gets `Bad_UserAccessDenied` → `E_ACCESSDENIED` on Write (Table
//!   A.39). [`access_rights`] applies the same mapping to any access-level byte, e.g.
//!   [`UaVariableInfo::user_access_level`], for callers that need the user's view.
//! - **Item EU Type (7)** when a node has both EURange and EnumStrings: A.4.2 lists both
//!   rules without an order; as in the sample proxy, Enumerated wins (the EU Info then holds
//!   the strings, which an Analog type could not describe).
//!
//! # When a property exists
//!
//! - 1, 5, 6, 7, 8, 612 exist for every Variable (5 and 6 from attributes every Variable
//!   has or that default, 7 and 8 because an item without EU has EU type 0 and an empty EU
//!   info; 6 is -1, MinimumSamplingInterval "indeterminate", when the attribute is absent,
//!   as in the sample proxy).
//! - 2, 3 need the value ([`UaVariableInfo::value`]) and 4 a source or server timestamp in
//!   it; without them the Proxy has not read the value and the properties are left out.
//! - 100–108 exist only when the node has the attribute or property they come from
//!   (A.4.2: "if the node in the OPC UA Server references a … property node").
//! - 610 exists when the DataType is a ns=0 DataType whose identifier (after the subtype
//!   resolution of [`types::NS0_SUBTYPES`]) is a built-in type number, 1–29 (where the
//!   A.4.2 wording "the identifier value of the DataType node" and the sample proxy's
//!   BuiltInType agree); for structures and DataTypes of other namespaces the built-in
//!   type would need the server's type tree, so 610 is left out.
//! - 611 always exists; 613 and 614 when the BrowseName / Description is known.
//!
//! Namespace indices in 611 and 613 are those of the NodeId / QualifiedName given, as in
//! [`itemid`]: callers translate them to the Proxy's persisted namespace table first.
//!
//! # Files
//!
//! - `ids`: the property IDs, [`PROPERTIES`] and the OPC DA constants the values use;
//! - `variable`: [`UaVariableInfo`], what the Proxy read of the UA Variable;
//! - `values`: the value of each property, [`access_rights`] and [`eu_type`];
//! - `lookup`: [`DaProperty`], [`available_properties`] and [`property`].
//!
//! [`types::NS0_SUBTYPES`]: crate::types::NS0_SUBTYPES
//! [`itemid`]: crate::itemid

mod ids;
mod lookup;
mod values;
mod variable;

pub use ids::{
    ACCESS_RIGHTS, CLOSE_LABEL, DATATYPE, DESCRIPTION, EU_INFO, EU_TYPE, EU_UNITS, HIGH_EU,
    HIGH_IR, LOW_EU, LOW_IR, OPC_ANALOG, OPC_ENUMERATED, OPC_NOENUM, OPC_READABLE, OPC_WRITEABLE,
    OPEN_LABEL, PROPERTIES, QUALITY, SCAN_RATE, SCAN_RATE_INDETERMINATE, TIMESTAMP, TIMEZONE,
    UA_BROWSE_NAME, UA_BUILTIN_TYPE, UA_DATA_TYPE_ID, UA_DESCRIPTION, UA_VALUE_RANK, VALUE,
};
pub use lookup::{available_properties, property, DaProperty};
pub use values::{access_rights, eu_type};
pub use variable::UaVariableInfo;

#[cfg(test)]
mod tests;
