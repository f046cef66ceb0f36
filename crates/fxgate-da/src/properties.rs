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
//! types of 1–8 and 100–108 are the standard OPC DA property set (`opcda.h`,
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

use opcua::types::{
    AccessLevelType, DataTypeId, DataValue, DateTime, NodeId, QualifiedName, StatusCode, Variant,
};

use crate::errors::Hresult;
use crate::itemid;
use crate::quality;
use crate::types::{self, DaValue, VarType};

// ---------------------------------------------------------------------------------------
// Property IDs and the property table
// ---------------------------------------------------------------------------------------

/// `OPC_PROPERTY_DATATYPE` (opcda.h): Item Canonical DataType.
pub const DATATYPE: u32 = 1;
/// `OPC_PROPERTY_VALUE` (opcda.h): Item Value.
pub const VALUE: u32 = 2;
/// `OPC_PROPERTY_QUALITY` (opcda.h): Item Quality.
pub const QUALITY: u32 = 3;
/// `OPC_PROPERTY_TIMESTAMP` (opcda.h): Item Timestamp.
pub const TIMESTAMP: u32 = 4;
/// `OPC_PROPERTY_ACCESS_RIGHTS` (opcda.h): Item Access Rights.
pub const ACCESS_RIGHTS: u32 = 5;
/// `OPC_PROPERTY_SCAN_RATE` (opcda.h): Server Scan Rate.
pub const SCAN_RATE: u32 = 6;
/// `OPC_PROPERTY_EU_TYPE` (opcda.h): Item EU Type.
pub const EU_TYPE: u32 = 7;
/// `OPC_PROPERTY_EU_INFO` (opcda.h): Item EU Info.
pub const EU_INFO: u32 = 8;
/// `OPC_PROPERTY_EU_UNITS` (opcda.h): EU Units.
pub const EU_UNITS: u32 = 100;
/// `OPC_PROPERTY_DESCRIPTION` (opcda.h): Item Description.
pub const DESCRIPTION: u32 = 101;
/// `OPC_PROPERTY_HIGH_EU` (opcda.h): High EU.
pub const HIGH_EU: u32 = 102;
/// `OPC_PROPERTY_LOW_EU` (opcda.h): Low EU.
pub const LOW_EU: u32 = 103;
/// `OPC_PROPERTY_HIGH_IR` (opcda.h): High Instrument Range.
pub const HIGH_IR: u32 = 104;
/// `OPC_PROPERTY_LOW_IR` (opcda.h): Low Instrument Range.
pub const LOW_IR: u32 = 105;
/// `OPC_PROPERTY_CLOSE_LABEL` (opcda.h): Contact Close Label.
pub const CLOSE_LABEL: u32 = 106;
/// `OPC_PROPERTY_OPEN_LABEL` (opcda.h): Contact Open Label.
pub const OPEN_LABEL: u32 = 107;
/// `OPC_PROPERTY_TIMEZONE` (opcda.h): Item Timezone.
pub const TIMEZONE: u32 = 108;
/// UA BuiltIn Type (OPC 10000-8 A.4.2, "New Properties").
pub const UA_BUILTIN_TYPE: u32 = 610;
/// UA Data Type Id (OPC 10000-8 A.4.2, "New Properties").
pub const UA_DATA_TYPE_ID: u32 = 611;
/// UA Value Rank (OPC 10000-8 A.4.2, "New Properties").
pub const UA_VALUE_RANK: u32 = 612;
/// UA Browse Name (OPC 10000-8 A.4.2, "New Properties").
pub const UA_BROWSE_NAME: u32 = 613;
/// UA Description (OPC 10000-8 A.4.2, "New Properties").
pub const UA_DESCRIPTION: u32 = 614;

/// Every property the Proxy gives an item: `(property ID, name, canonical VARIANT type)`,
/// in ID order.
///
/// Rows 1–108: opcda.h (`OPC_PROPERTY_*`, `OPC_PROPERTY_DESC_*`) with the types of the DA
/// property table; the UA source of each is A.4.2 / Table A.31 (see the [module](self)
/// documentation). Rows 610–614: names from A.4.2, types from the OPC Foundation sample
/// proxy. Item Value (2) is `VT_VARIANT`: its value has the item's own type.
pub const PROPERTIES: [(u32, &str, VarType); 22] = [
    (DATATYPE, "Item Canonical DataType", VarType::VT_I2), // DataType + ValueRank
    (VALUE, "Item Value", VarType::VT_VARIANT),            // Value
    (QUALITY, "Item Quality", VarType::VT_I2),             // StatusCode of the Value
    (TIMESTAMP, "Item Timestamp", VarType::VT_DATE),       // Source-/ServerTimestamp
    (ACCESS_RIGHTS, "Item Access Rights", VarType::VT_I4), // AccessLevel (A.31)
    (SCAN_RATE, "Server Scan Rate", VarType::VT_R4),       // MinimumSamplingInterval
    (EU_TYPE, "Item EU Type", VarType::VT_I4),             // EURange / EnumStrings
    (EU_INFO, "Item EU Info", VarType::array_of(VarType::VT_BSTR)), // EnumStrings
    (EU_UNITS, "EU Units", VarType::VT_BSTR),              // EngineeringUnits (A.31)
    (DESCRIPTION, "Item Description", VarType::VT_BSTR),   // DisplayName (A.4.2)
    (HIGH_EU, "High EU", VarType::VT_R8),                  // EURange.High (A.31)
    (LOW_EU, "Low EU", VarType::VT_R8),                    // EURange.Low (A.31)
    (HIGH_IR, "High Instrument Range", VarType::VT_R8),    // InstrumentRange.High (A.31)
    (LOW_IR, "Low Instrument Range", VarType::VT_R8),      // InstrumentRange.Low (A.31)
    (CLOSE_LABEL, "Contact Close Label", VarType::VT_BSTR), // TrueState (A.31)
    (OPEN_LABEL, "Contact Open Label", VarType::VT_BSTR),  // FalseState (A.31)
    (TIMEZONE, "Item Timezone", VarType::VT_I4),           // TimeZone.Offset
    (UA_BUILTIN_TYPE, "UA BuiltIn Type", VarType::VT_I4),  // DataType identifier
    (UA_DATA_TYPE_ID, "UA Data Type Id", VarType::VT_BSTR), // DataType NodeId
    (UA_VALUE_RANK, "UA Value Rank", VarType::VT_I4),      // ValueRank
    (UA_BROWSE_NAME, "UA Browse Name", VarType::VT_BSTR),  // BrowseName
    (UA_DESCRIPTION, "UA Description", VarType::VT_BSTR),  // Description
];

/// `OPC_READABLE` (opcda.h): the item can be read.
pub const OPC_READABLE: i32 = 1;
/// `OPC_WRITEABLE` (opcda.h): the item can be written.
pub const OPC_WRITEABLE: i32 = 2;

/// `OPC_NOENUM` (opcda.h `OPCEUTYPE`): no engineering units.
pub const OPC_NOENUM: i32 = 0;
/// `OPC_ANALOG` (opcda.h `OPCEUTYPE`): analog, with a High/Low EU range.
pub const OPC_ANALOG: i32 = 1;
/// `OPC_ENUMERATED` (opcda.h `OPCEUTYPE`): enumerated, with a list of strings.
pub const OPC_ENUMERATED: i32 = 2;

/// MinimumSamplingInterval "Indeterminate" (OPC 10000-3 5.6.2): the Server Scan Rate of
/// a Variable that does not give its MinimumSamplingInterval.
pub const SCAN_RATE_INDETERMINATE: f32 = -1.0;

// ---------------------------------------------------------------------------------------
// Inputs and outputs
// ---------------------------------------------------------------------------------------

/// What the Proxy knows of a UA Variable after reading its attributes, its properties
/// (HasProperty children found by BrowseName) and, optionally, its value.
///
/// `None` means "the node has no such attribute/property" (or it could not be read);
/// [`Default`] is a Scalar BaseDataType Variable with nothing else known.
#[derive(Debug, Clone, PartialEq)]
pub struct UaVariableInfo {
    /// The DataType attribute. Pass the nearest ns=0 ancestor for subtypes outside ns=0 if
    /// known (see [`types::ua_to_da_type`]).
    pub data_type: NodeId,
    /// The ValueRank attribute (-1 Scalar, 0 OneOrMoreDimensions, n dimensions, …).
    pub value_rank: i32,
    /// The ArrayDimensions attribute. No DA property carries it; kept so that the info is
    /// the complete picture of the Variable.
    pub array_dimensions: Option<Vec<u32>>,
    /// The AccessLevel attribute (`AccessLevelType` bits): the source of Item Access
    /// Rights (5).
    pub access_level: u8,
    /// The UserAccessLevel attribute. Not used by Item Access Rights, which A.4.2 takes
    /// from AccessLevel; see [`access_rights`] for the user's view.
    pub user_access_level: u8,
    /// The MinimumSamplingInterval attribute in milliseconds (Server Scan Rate, 6).
    pub minimum_sampling_interval: Option<f64>,
    /// The text of the DisplayName attribute (Item Description, 101, per A.4.2).
    pub display_name: Option<String>,
    /// The BrowseName attribute (UA Browse Name, 613), namespace index already translated
    /// to the Proxy's namespace table.
    pub browse_name: Option<QualifiedName>,
    /// The text of the Description attribute (UA Description, 614).
    pub description: Option<String>,
    /// The value as read (Item Value, Quality and Timestamp, 2–4).
    pub value: Option<DataValue>,
    /// The EURange property as `(low, high)` (the field order of UA `Range`): High/Low EU
    /// (102/103), and EU Type Analog.
    pub eu_range: Option<(f64, f64)>,
    /// The InstrumentRange property as `(low, high)`: High/Low Instrument Range (104/105).
    pub instrument_range: Option<(f64, f64)>,
    /// The text of the `display_name` of the EngineeringUnits property (`EUInformation`):
    /// EU Units (100).
    pub engineering_units: Option<String>,
    /// The text of the TrueState property: Contact Close Label (106).
    pub true_state: Option<String>,
    /// The text of the FalseState property: Contact Open Label (107).
    pub false_state: Option<String>,
    /// The texts of the EnumStrings property: EU Type Enumerated and EU Info (7, 8).
    pub enum_strings: Option<Vec<String>>,
    /// The `offset` (minutes from UTC) of the TimeZone property (`TimeZoneDataType`):
    /// Item Timezone (108).
    pub time_zone: Option<i16>,
}

impl Default for UaVariableInfo {
    fn default() -> Self {
        UaVariableInfo {
            data_type: DataTypeId::BaseDataType.into(),
            value_rank: -1,
            array_dimensions: None,
            access_level: 0,
            user_access_level: 0,
            minimum_sampling_interval: None,
            display_name: None,
            browse_name: None,
            description: None,
            value: None,
            eu_range: None,
            instrument_range: None,
            engineering_units: None,
            true_state: None,
            false_state: None,
            enum_strings: None,
            time_zone: None,
        }
    }
}

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

// ---------------------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------------------

/// Item Access Rights (5) for an access-level byte (A.4.2): CurrentRead → `OPC_READABLE`,
/// CurrentWrite → `OPC_WRITEABLE`; "the other AccessLevel provided by OPC are ignored".
pub fn access_rights(access_level: u8) -> i32 {
    let level = AccessLevelType::from_bits_truncate(access_level);
    let mut rights = 0;
    if level.contains(AccessLevelType::CurrentRead) {
        rights |= OPC_READABLE;
    }
    if level.contains(AccessLevelType::CurrentWrite) {
        rights |= OPC_WRITEABLE;
    }
    rights
}

/// Item EU Type (7) per A.4.2: Enumerated with EnumStrings, else Analog with EURange,
/// else 0.
pub fn eu_type(info: &UaVariableInfo) -> i32 {
    if info.enum_strings.is_some() {
        OPC_ENUMERATED
    } else if info.eu_range.is_some() {
        OPC_ANALOG
    } else {
        OPC_NOENUM
    }
}

/// UA BuiltIn Type (610): the ns=0 DataType identifier after subtype resolution, if it is
/// a built-in type number (1–29); see the [module](self) documentation.
fn builtin_type(data_type: &NodeId) -> Option<i32> {
    let dt = data_type.as_data_type_id().ok()?;
    let base = types::NS0_SUBTYPES
        .iter()
        .find(|(sub, _)| *sub == dt)
        .map_or(dt, |(_, base)| *base);
    let id = base as u32;
    if (1..=29).contains(&id) {
        i32::try_from(id).ok()
    } else {
        None
    }
}

/// The value of property `id` of the item, or `None` if the item does not have it.
fn property_value(info: &UaVariableInfo, id: u32) -> Option<DaValue> {
    let bstr = |s: &Option<String>| s.as_ref().map(|s| DaValue::Bstr(s.clone()));
    match id {
        DATATYPE => {
            let vt = types::ua_to_da_type(&info.data_type, info.value_rank);
            // A VARTYPE in a VT_I2, bit for bit (VT_ARRAY is 0x2000).
            Some(DaValue::I2(vt.0 as i16))
        }
        VALUE => info.value.as_ref().map(|dv| {
            dv.value
                .as_ref()
                .map_or(DaValue::Empty, types::ua_to_da_value)
        }),
        QUALITY => info.value.as_ref().map(|dv| {
            // A DataValue without a StatusCode is Good (OPC 10000-4 7.11).
            let q = quality::ua_to_da(dv.status.unwrap_or(StatusCode::Good));
            // The 16-bit quality word in a VT_I2, bit for bit.
            DaValue::I2(q.0 as i16)
        }),
        TIMESTAMP => {
            let dv = info.value.as_ref()?;
            // A.4.3.4: the SourceTimestamp if available, else the ServerTimestamp.
            let ts = dv
                .source_timestamp
                .as_ref()
                .or(dv.server_timestamp.as_ref())?;
            // Outside 1601-01-01..=9999-12-31 a UA DateTime is the minimum or maximum
            // (OPC 10000-6 5.2.2.5), as the binary encoder writes it; a decoded value can
            // still hold any i64 tick count.
            let ts = DateTime::from(ts.ticks().clamp(0, DateTime::endtimes_ticks()));
            Some(DaValue::Date(types::ole_date_from_ua(&ts)))
        }
        ACCESS_RIGHTS => Some(DaValue::I4(access_rights(info.access_level))),
        SCAN_RATE => Some(DaValue::R4(
            info.minimum_sampling_interval
                .map_or(SCAN_RATE_INDETERMINATE, |ms| ms as f32),
        )),
        EU_TYPE => Some(DaValue::I4(eu_type(info))),
        EU_INFO => Some(match &info.enum_strings {
            Some(strings) => DaValue::Array(
                VarType::VT_BSTR,
                strings.iter().cloned().map(DaValue::Bstr).collect(),
            ),
            None => DaValue::Empty,
        }),
        EU_UNITS => bstr(&info.engineering_units),
        DESCRIPTION => bstr(&info.display_name),
        HIGH_EU => info.eu_range.map(|(_, high)| DaValue::R8(high)),
        LOW_EU => info.eu_range.map(|(low, _)| DaValue::R8(low)),
        HIGH_IR => info.instrument_range.map(|(_, high)| DaValue::R8(high)),
        LOW_IR => info.instrument_range.map(|(low, _)| DaValue::R8(low)),
        CLOSE_LABEL => bstr(&info.true_state),
        OPEN_LABEL => bstr(&info.false_state),
        TIMEZONE => info.time_zone.map(|offset| DaValue::I4(i32::from(offset))),
        UA_BUILTIN_TYPE => builtin_type(&info.data_type).map(DaValue::I4),
        UA_DATA_TYPE_ID => Some(DaValue::Bstr(itemid::node_id_to_item_id(&info.data_type))),
        UA_VALUE_RANK => Some(DaValue::I4(info.value_rank)),
        UA_BROWSE_NAME => info
            .browse_name
            .as_ref()
            .map(|name| types::ua_to_da_value(&Variant::QualifiedName(Box::new(name.clone())))),
        UA_DESCRIPTION => bstr(&info.description),
        _ => None,
    }
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
/// is described in the [module](self) documentation).
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

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::DaQuality;
    use opcua::types::UAString;
    use proptest::prelude::*;

    fn ids(props: &[DaProperty]) -> Vec<u32> {
        props.iter().map(|p| p.id).collect()
    }

    fn value_of(info: &UaVariableInfo, id: u32) -> DaValue {
        match property(info, id) {
            Ok(p) => p.value,
            Err(e) => panic!("property {id} missing: {e:?}"),
        }
    }

    fn double_info() -> UaVariableInfo {
        UaVariableInfo {
            data_type: DataTypeId::Double.into(),
            access_level: 0x03,
            user_access_level: 0x01,
            display_name: Some("FL102".into()),
            ..Default::default()
        }
    }

    /// Whether `value` fits the canonical type of row `id` (arrays: every element has the
    /// element type).
    fn fits(id: u32, canonical: VarType, value: &DaValue) -> bool {
        if canonical == VarType::VT_VARIANT {
            return true;
        }
        if id == EU_INFO && *value == DaValue::Empty {
            return true;
        }
        match value {
            DaValue::Array(element, items) => {
                canonical.is_array()
                    && *element == canonical.element()
                    && items.iter().all(|i| i.var_type() == *element)
            }
            other => other.var_type() == canonical,
        }
    }

    // --- the table ---

    #[test]
    fn table_is_strictly_increasing_and_matches_ids() {
        assert!(PROPERTIES.windows(2).all(|w| w[0].0 < w[1].0));
        let expected = [
            1, 2, 3, 4, 5, 6, 7, 8, 100, 101, 102, 103, 104, 105, 106, 107, 108, 610, 611, 612,
            613, 614,
        ];
        assert_eq!(PROPERTIES.map(|r| r.0), expected);
    }

    #[test]
    fn table_a31_data_types() {
        // Table A.31, "OPC UA DataType" column → the VARIANT of the DA property.
        let a31 = [
            (ACCESS_RIGHTS, VarType::VT_I4), // Int32
            (EU_UNITS, VarType::VT_BSTR),    // String
            (DESCRIPTION, VarType::VT_BSTR), // String
            (HIGH_EU, VarType::VT_R8),       // Double
            (LOW_EU, VarType::VT_R8),
            (HIGH_IR, VarType::VT_R8),
            (LOW_IR, VarType::VT_R8),
            (CLOSE_LABEL, VarType::VT_BSTR),
            (OPEN_LABEL, VarType::VT_BSTR),
        ];
        for (id, vt) in a31 {
            let row = PROPERTIES.iter().find(|r| r.0 == id).map(|r| r.2);
            assert_eq!(row, Some(vt), "property {id}");
        }
    }

    // --- one test per Table A.31 row ---

    #[test]
    fn a31_access_rights_from_access_level() {
        let info = double_info();
        let p = property(&info, ACCESS_RIGHTS).expect("5");
        assert_eq!(p.name, "Item Access Rights");
        assert_eq!(p.var_type, VarType::VT_I4);
        // AccessLevel 0x03, not UserAccessLevel 0x01.
        assert_eq!(p.value, DaValue::I4(OPC_READABLE | OPC_WRITEABLE));
    }

    #[test]
    fn a31_eu_units_from_engineering_units() {
        let mut info = double_info();
        assert_eq!(property(&info, EU_UNITS), Err(Hresult::OPC_E_INVALID_PID));
        info.engineering_units = Some("°C".into());
        let p = property(&info, EU_UNITS).expect("100");
        assert_eq!((p.name, p.var_type), ("EU Units", VarType::VT_BSTR));
        assert_eq!(p.value, DaValue::Bstr("°C".into()));
    }

    #[test]
    fn a31_item_description_from_display_name_per_a42() {
        let mut info = double_info();
        info.description = Some("Flow at inlet".into());
        let p = property(&info, DESCRIPTION).expect("101");
        assert_eq!((p.name, p.var_type), ("Item Description", VarType::VT_BSTR));
        assert_eq!(p.value, DaValue::Bstr("FL102".into()));
        // The Description attribute is UA Description (614).
        assert_eq!(
            value_of(&info, UA_DESCRIPTION),
            DaValue::Bstr("Flow at inlet".into())
        );
        info.display_name = None;
        assert_eq!(
            property(&info, DESCRIPTION),
            Err(Hresult::OPC_E_INVALID_PID)
        );
    }

    #[test]
    fn a31_high_eu_from_eu_range() {
        let mut info = double_info();
        assert_eq!(property(&info, HIGH_EU), Err(Hresult::OPC_E_INVALID_PID));
        info.eu_range = Some((-10.0, 250.5));
        let p = property(&info, HIGH_EU).expect("102");
        assert_eq!((p.name, p.var_type), ("High EU", VarType::VT_R8));
        assert_eq!(p.value, DaValue::R8(250.5));
    }

    #[test]
    fn a31_low_eu_from_eu_range() {
        let mut info = double_info();
        assert_eq!(property(&info, LOW_EU), Err(Hresult::OPC_E_INVALID_PID));
        info.eu_range = Some((-10.0, 250.5));
        let p = property(&info, LOW_EU).expect("103");
        assert_eq!((p.name, p.var_type), ("Low EU", VarType::VT_R8));
        assert_eq!(p.value, DaValue::R8(-10.0));
    }

    #[test]
    fn a31_high_instrument_range_from_instrument_range() {
        let mut info = double_info();
        assert_eq!(property(&info, HIGH_IR), Err(Hresult::OPC_E_INVALID_PID));
        info.instrument_range = Some((0.0, 400.0));
        let p = property(&info, HIGH_IR).expect("104");
        assert_eq!(
            (p.name, p.var_type),
            ("High Instrument Range", VarType::VT_R8)
        );
        assert_eq!(p.value, DaValue::R8(400.0));
    }

    #[test]
    fn a31_low_instrument_range_from_instrument_range() {
        let mut info = double_info();
        assert_eq!(property(&info, LOW_IR), Err(Hresult::OPC_E_INVALID_PID));
        info.instrument_range = Some((0.0, 400.0));
        let p = property(&info, LOW_IR).expect("105");
        assert_eq!(
            (p.name, p.var_type),
            ("Low Instrument Range", VarType::VT_R8)
        );
        assert_eq!(p.value, DaValue::R8(0.0));
    }

    #[test]
    fn a31_close_label_from_true_state() {
        let mut info = double_info();
        assert_eq!(
            property(&info, CLOSE_LABEL),
            Err(Hresult::OPC_E_INVALID_PID)
        );
        info.true_state = Some("Closed".into());
        info.false_state = Some("Open".into());
        let p = property(&info, CLOSE_LABEL).expect("106");
        assert_eq!(
            (p.name, p.var_type),
            ("Contact Close Label", VarType::VT_BSTR)
        );
        assert_eq!(p.value, DaValue::Bstr("Closed".into()));
    }

    #[test]
    fn a31_open_label_from_false_state() {
        let mut info = double_info();
        assert_eq!(property(&info, OPEN_LABEL), Err(Hresult::OPC_E_INVALID_PID));
        info.true_state = Some("Closed".into());
        info.false_state = Some("Open".into());
        let p = property(&info, OPEN_LABEL).expect("107");
        assert_eq!(
            (p.name, p.var_type),
            ("Contact Open Label", VarType::VT_BSTR)
        );
        assert_eq!(p.value, DaValue::Bstr("Open".into()));
    }

    // --- EU type and info ---

    #[test]
    fn eu_type_analog_with_eu_range() {
        let mut info = double_info();
        info.eu_range = Some((0.0, 100.0));
        assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ANALOG));
        assert_eq!(value_of(&info, EU_INFO), DaValue::Empty);
    }

    #[test]
    fn eu_type_enumerated_with_enum_strings() {
        let mut info = double_info();
        info.data_type = DataTypeId::UInt32.into();
        info.enum_strings = Some(vec!["Off".into(), "On".into(), "Fault".into()]);
        assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ENUMERATED));
        let p = property(&info, EU_INFO).expect("8");
        assert_eq!(p.var_type, VarType::array_of(VarType::VT_BSTR));
        assert_eq!(
            p.value,
            DaValue::Array(
                VarType::VT_BSTR,
                vec![
                    DaValue::Bstr("Off".into()),
                    DaValue::Bstr("On".into()),
                    DaValue::Bstr("Fault".into())
                ]
            )
        );
        // Both EURange and EnumStrings: Enumerated.
        info.eu_range = Some((0.0, 2.0));
        assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ENUMERATED));
    }

    #[test]
    fn eu_type_none_without_eu_properties() {
        let info = double_info();
        assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_NOENUM));
        assert_eq!(value_of(&info, EU_INFO), DaValue::Empty);
        // Instrument range and units alone do not make an item Analog.
        let mut info = info;
        info.instrument_range = Some((0.0, 1.0));
        info.engineering_units = Some("m".into());
        assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_NOENUM));
    }

    // --- access rights ---

    #[test]
    fn access_rights_combinations() {
        assert_eq!(access_rights(0x00), 0);
        assert_eq!(access_rights(0x01), OPC_READABLE);
        assert_eq!(access_rights(0x02), OPC_WRITEABLE);
        assert_eq!(access_rights(0x03), OPC_READABLE | OPC_WRITEABLE);
        // HistoryRead (0x04), HistoryWrite (0x08), SemanticChange (0x10), StatusWrite
        // (0x20), TimestampWrite (0x40) are ignored.
        assert_eq!(access_rights(0x7C), 0);
        assert_eq!(access_rights(0xFD), OPC_READABLE);
        assert_eq!(access_rights(0xFF), OPC_READABLE | OPC_WRITEABLE);
    }

    #[test]
    fn access_rights_property_uses_access_level_not_user_access_level() {
        let mut info = double_info();
        info.access_level = 0x01;
        info.user_access_level = 0x03;
        assert_eq!(value_of(&info, ACCESS_RIGHTS), DaValue::I4(OPC_READABLE));
        info.access_level = 0x02;
        info.user_access_level = 0x00;
        assert_eq!(value_of(&info, ACCESS_RIGHTS), DaValue::I4(OPC_WRITEABLE));
        assert_eq!(access_rights(info.user_access_level), 0);
    }

    // --- scan rate ---

    #[test]
    fn scan_rate_from_minimum_sampling_interval() {
        let mut info = double_info();
        info.minimum_sampling_interval = Some(250.0);
        let p = property(&info, SCAN_RATE).expect("6");
        assert_eq!((p.name, p.var_type), ("Server Scan Rate", VarType::VT_R4));
        assert_eq!(p.value, DaValue::R4(250.0));
        info.minimum_sampling_interval = Some(0.0);
        assert_eq!(value_of(&info, SCAN_RATE), DaValue::R4(0.0));
        info.minimum_sampling_interval = None;
        assert_eq!(
            value_of(&info, SCAN_RATE),
            DaValue::R4(SCAN_RATE_INDETERMINATE)
        );
    }

    // --- canonical type, value, quality, timestamp ---

    #[test]
    fn canonical_data_type_through_types_module() {
        let mut info = double_info();
        let p = property(&info, DATATYPE).expect("1");
        assert_eq!(
            (p.name, p.var_type),
            ("Item Canonical DataType", VarType::VT_I2)
        );
        assert_eq!(p.value, DaValue::I2(VarType::VT_R8.0 as i16));
        info.value_rank = 1;
        let array = types::ua_to_da_type(&info.data_type, 1);
        assert_eq!(value_of(&info, DATATYPE), DaValue::I2(array.0 as i16));
        assert_eq!(array, VarType::array_of(VarType::VT_R8));
    }

    #[test]
    fn value_quality_timestamp_from_data_value() {
        let mut info = double_info();
        // Nothing read yet: no 2, 3, 4.
        for id in [VALUE, QUALITY, TIMESTAMP] {
            assert_eq!(property(&info, id), Err(Hresult::OPC_E_INVALID_PID));
        }
        let source = DateTime::ymd_hms(2024, 3, 1, 12, 0, 0);
        let server = DateTime::ymd_hms(2024, 3, 1, 12, 0, 5);
        info.value = Some(DataValue {
            value: Some(Variant::Double(42.5)),
            status: Some(StatusCode::UncertainEngineeringUnitsExceeded),
            source_timestamp: Some(source),
            server_timestamp: Some(server),
            ..Default::default()
        });
        assert_eq!(value_of(&info, VALUE), DaValue::R8(42.5));
        let q = quality::ua_to_da(StatusCode::UncertainEngineeringUnitsExceeded);
        assert_eq!(q.quality_status(), DaQuality::EGU_EXCEEDED);
        assert_eq!(value_of(&info, QUALITY), DaValue::I2(q.0 as i16));
        let ts = property(&info, TIMESTAMP).expect("4");
        assert_eq!((ts.name, ts.var_type), ("Item Timestamp", VarType::VT_DATE));
        assert_eq!(ts.value, DaValue::Date(types::ole_date_from_ua(&source)));
    }

    #[test]
    fn timestamp_falls_back_to_server_timestamp_and_status_defaults_to_good() {
        let mut info = double_info();
        let server = DateTime::ymd_hms(2024, 3, 1, 12, 0, 5);
        info.value = Some(DataValue {
            value: Some(Variant::String(UAString::from("x"))),
            status: None,
            source_timestamp: None,
            server_timestamp: Some(server),
            ..Default::default()
        });
        assert_eq!(value_of(&info, VALUE), DaValue::Bstr("x".into()));
        assert_eq!(
            value_of(&info, QUALITY),
            DaValue::I2(DaQuality::GOOD.0 as i16)
        );
        assert_eq!(
            value_of(&info, TIMESTAMP),
            DaValue::Date(types::ole_date_from_ua(&server))
        );
        // No timestamp at all: no 4, but 2 and 3 stay.
        if let Some(dv) = info.value.as_mut() {
            dv.server_timestamp = None;
        }
        assert_eq!(property(&info, TIMESTAMP), Err(Hresult::OPC_E_INVALID_PID));
        assert!(property(&info, VALUE).is_ok());
        assert!(property(&info, QUALITY).is_ok());
    }

    #[test]
    fn bad_quality_maps_through_quality_module() {
        let mut info = double_info();
        info.value = Some(DataValue {
            value: None,
            status: Some(StatusCode::BadNotConnected),
            ..Default::default()
        });
        assert_eq!(value_of(&info, VALUE), DaValue::Empty);
        assert_eq!(
            value_of(&info, QUALITY),
            DaValue::I2(DaQuality::NOT_CONNECTED.0 as i16)
        );
    }

    #[test]
    fn timestamp_outside_ua_range_is_clamped() {
        let mut info = double_info();
        for (ticks, expected) in [
            (i64::MIN, DateTime::from(0)),
            (-1, DateTime::from(0)),
            (i64::MAX - 1, DateTime::endtimes()),
        ] {
            info.value = Some(DataValue {
                value: Some(Variant::Double(0.0)),
                source_timestamp: Some(DateTime::from(ticks)),
                ..Default::default()
            });
            assert_eq!(
                value_of(&info, TIMESTAMP),
                DaValue::Date(types::ole_date_from_ua(&expected)),
                "{ticks}"
            );
        }
    }

    // --- 108 and 610–614 ---

    #[test]
    fn timezone_only_with_time_zone() {
        let mut info = double_info();
        assert_eq!(property(&info, TIMEZONE), Err(Hresult::OPC_E_INVALID_PID));
        info.time_zone = Some(-300);
        let p = property(&info, TIMEZONE).expect("108");
        assert_eq!((p.name, p.var_type), ("Item Timezone", VarType::VT_I4));
        assert_eq!(p.value, DaValue::I4(-300));
    }

    #[test]
    fn ua_properties_610_to_614() {
        let mut info = double_info();
        info.value_rank = 1;
        info.browse_name = Some(QualifiedName::new(2, "FL102"));
        assert_eq!(value_of(&info, UA_BUILTIN_TYPE), DaValue::I4(11)); // Double
        assert_eq!(
            value_of(&info, UA_DATA_TYPE_ID),
            DaValue::Bstr("i-11".into())
        );
        assert_eq!(value_of(&info, UA_VALUE_RANK), DaValue::I4(1));
        assert_eq!(
            value_of(&info, UA_BROWSE_NAME),
            DaValue::Bstr("2:FL102".into())
        );
        assert_eq!(
            property(&info, UA_DESCRIPTION),
            Err(Hresult::OPC_E_INVALID_PID)
        );

        // A ns=0 subtype resolves to its built-in type: UtcTime → DateTime (13).
        info.data_type = DataTypeId::UtcTime.into();
        assert_eq!(value_of(&info, UA_BUILTIN_TYPE), DaValue::I4(13));
        // A structure or a DataType of another namespace: no 610; 611 is its ItemID.
        info.data_type = DataTypeId::Range.into();
        assert_eq!(
            property(&info, UA_BUILTIN_TYPE),
            Err(Hresult::OPC_E_INVALID_PID)
        );
        info.data_type = NodeId::new(4, "MyType");
        assert_eq!(
            property(&info, UA_BUILTIN_TYPE),
            Err(Hresult::OPC_E_INVALID_PID)
        );
        assert_eq!(
            value_of(&info, UA_DATA_TYPE_ID),
            DaValue::Bstr("ns-4;s-MyType".into())
        );
    }

    // --- available_properties and OPC_E_INVALID_PID ---

    #[test]
    fn minimal_variable_has_the_always_present_properties() {
        let info = UaVariableInfo::default();
        assert_eq!(
            ids(&available_properties(&info)),
            vec![1, 5, 6, 7, 8, 610, 611, 612]
        );
    }

    #[test]
    fn full_variable_has_every_property_in_id_order() {
        let info = UaVariableInfo {
            data_type: DataTypeId::Double.into(),
            value_rank: -1,
            array_dimensions: None,
            access_level: 0x03,
            user_access_level: 0x03,
            minimum_sampling_interval: Some(100.0),
            display_name: Some("FL102".into()),
            browse_name: Some(QualifiedName::new(2, "FL102")),
            description: Some("Flow".into()),
            value: Some(DataValue {
                value: Some(Variant::Double(1.0)),
                status: Some(StatusCode::Good),
                source_timestamp: Some(DateTime::ymd_hms(2024, 1, 1, 0, 0, 0)),
                ..Default::default()
            }),
            eu_range: Some((0.0, 10.0)),
            instrument_range: Some((-1.0, 11.0)),
            engineering_units: Some("m³/h".into()),
            true_state: Some("Closed".into()),
            false_state: Some("Open".into()),
            enum_strings: None,
            time_zone: Some(60),
        };
        let props = available_properties(&info);
        assert_eq!(ids(&props), PROPERTIES.map(|r| r.0).to_vec());
        for (p, row) in props.iter().zip(PROPERTIES.iter()) {
            assert_eq!((p.id, p.name, p.var_type), *row);
            assert!(fits(p.id, p.var_type, &p.value), "{p:?}");
        }
        assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ANALOG));
    }

    #[test]
    fn invalid_pid() {
        let info = double_info();
        for id in [0, 9, 99, 109, 300, 600, 609, 615, 5000, u32::MAX] {
            assert_eq!(property(&info, id), Err(Hresult::OPC_E_INVALID_PID), "{id}");
        }
    }

    #[test]
    fn property_agrees_with_available_properties() {
        let mut info = double_info();
        info.eu_range = Some((0.0, 1.0));
        let props = available_properties(&info);
        for (id, _, _) in PROPERTIES {
            let listed = props.iter().find(|p| p.id == id).cloned();
            assert_eq!(property(&info, id).ok(), listed, "{id}");
        }
    }

    // --- proptest ---

    fn arb_string() -> impl Strategy<Value = String> {
        "\\PC{0,12}"
    }

    fn arb_node_id() -> impl Strategy<Value = NodeId> {
        prop_oneof![
            (0u32..1000).prop_map(|i| NodeId::new(0, i)),
            (any::<u16>(), any::<u32>()).prop_map(|(ns, i)| NodeId::new(ns, i)),
            (any::<u16>(), arb_string()).prop_map(|(ns, s)| NodeId::new(ns, s)),
        ]
    }

    fn arb_variant() -> impl Strategy<Value = Variant> {
        prop_oneof![
            Just(Variant::Empty),
            any::<bool>().prop_map(Variant::Boolean),
            any::<i32>().prop_map(Variant::Int32),
            any::<u64>().prop_map(Variant::UInt64),
            any::<f64>().prop_map(Variant::Double),
            arb_string().prop_map(|s| Variant::String(UAString::from(s))),
            // Values within the UA DateTime range: `types::ole_date_from_ua` overflows for
            // tick counts near i64::MIN (see `timestamp_outside_ua_range_is_clamped`).
            (0..=DateTime::endtimes_ticks())
                .prop_map(|t| Variant::DateTime(Box::new(DateTime::from(t)))),
            proptest::collection::vec(any::<f32>(), 0..5).prop_map(Variant::from),
        ]
    }

    fn arb_data_value() -> impl Strategy<Value = DataValue> {
        (
            proptest::option::of(arb_variant()),
            proptest::option::of(any::<u32>().prop_map(StatusCode::from)),
            proptest::option::of(any::<i64>().prop_map(DateTime::from)),
            proptest::option::of(any::<i64>().prop_map(DateTime::from)),
        )
            .prop_map(|(value, status, source, server)| DataValue {
                value,
                status,
                source_timestamp: source,
                server_timestamp: server,
                ..Default::default()
            })
    }

    fn arb_range() -> impl Strategy<Value = Option<(f64, f64)>> {
        proptest::option::of((any::<f64>(), any::<f64>()))
    }

    prop_compose! {
        fn arb_info()(
            data_type in arb_node_id(),
            value_rank in any::<i32>(),
            array_dimensions in proptest::option::of(proptest::collection::vec(any::<u32>(), 0..3)),
            access_level in any::<u8>(),
            user_access_level in any::<u8>(),
            minimum_sampling_interval in proptest::option::of(any::<f64>()),
            display_name in proptest::option::of(arb_string()),
            browse_name in proptest::option::of((any::<u16>(), arb_string())),
            description in proptest::option::of(arb_string()),
            value in proptest::option::of(arb_data_value()),
            eu_range in arb_range(),
            instrument_range in arb_range(),
            engineering_units in proptest::option::of(arb_string()),
            true_state in proptest::option::of(arb_string()),
            false_state in proptest::option::of(arb_string()),
            enum_strings in proptest::option::of(proptest::collection::vec(arb_string(), 0..4)),
            time_zone in proptest::option::of(any::<i16>()),
        ) -> UaVariableInfo {
            UaVariableInfo {
                data_type,
                value_rank,
                array_dimensions,
                access_level,
                user_access_level,
                minimum_sampling_interval,
                display_name,
                browse_name: browse_name.map(|(ns, n)| QualifiedName::new(ns, n)),
                description,
                value,
                eu_range,
                instrument_range,
                engineering_units,
                true_state,
                false_state,
                enum_strings,
                time_zone,
            }
        }
    }

    proptest! {
        #[test]
        fn available_properties_are_ordered_and_typed(info in arb_info()) {
            let props = available_properties(&info);
            prop_assert!(props.windows(2).all(|w| w[0].id < w[1].id));
            for p in &props {
                let row = PROPERTIES.iter().find(|r| r.0 == p.id);
                prop_assert_eq!(row.map(|r| (r.1, r.2)), Some((p.name, p.var_type)));
                prop_assert!(fits(p.id, p.var_type, &p.value), "{:?}", p);
                let single = property(&info, p.id).ok();
                prop_assert_eq!(single.as_ref(), Some(p));
            }
            for id in [DATATYPE, ACCESS_RIGHTS, SCAN_RATE, EU_TYPE, EU_INFO, UA_DATA_TYPE_ID, UA_VALUE_RANK] {
                prop_assert!(props.iter().any(|p| p.id == id), "missing {}", id);
            }
        }

        #[test]
        fn property_never_panics(info in arb_info(), id in any::<u32>()) {
            match property(&info, id) {
                Ok(p) => prop_assert_eq!(p.id, id),
                Err(e) => prop_assert_eq!(e, Hresult::OPC_E_INVALID_PID),
            }
        }
    }
}
