//! The DA property IDs (the OPC DA `OPC_PROPERTY_*` set; 610–614 from OPC 10000-8 A.4.2),
//! the property table [`PROPERTIES`], and the OPC DA constants the property values use
//! (access rights, EU types) with the Server Scan Rate of an indeterminate
//! MinimumSamplingInterval (OPC 10000-3 5.6.2).

use crate::types::VarType;

/// `OPC_PROPERTY_DATATYPE` (OPC DA 3.00): Item Canonical DataType.
pub const DATATYPE: u32 = 1;
/// `OPC_PROPERTY_VALUE` (OPC DA 3.00): Item Value.
pub const VALUE: u32 = 2;
/// `OPC_PROPERTY_QUALITY` (OPC DA 3.00): Item Quality.
pub const QUALITY: u32 = 3;
/// `OPC_PROPERTY_TIMESTAMP` (OPC DA 3.00): Item Timestamp.
pub const TIMESTAMP: u32 = 4;
/// `OPC_PROPERTY_ACCESS_RIGHTS` (OPC DA 3.00): Item Access Rights.
pub const ACCESS_RIGHTS: u32 = 5;
/// `OPC_PROPERTY_SCAN_RATE` (OPC DA 3.00): Server Scan Rate.
pub const SCAN_RATE: u32 = 6;
/// `OPC_PROPERTY_EU_TYPE` (OPC DA 3.00): Item EU Type.
pub const EU_TYPE: u32 = 7;
/// `OPC_PROPERTY_EU_INFO` (OPC DA 3.00): Item EU Info.
pub const EU_INFO: u32 = 8;
/// `OPC_PROPERTY_EU_UNITS` (OPC DA 3.00): EU Units.
pub const EU_UNITS: u32 = 100;
/// `OPC_PROPERTY_DESCRIPTION` (OPC DA 3.00): Item Description.
pub const DESCRIPTION: u32 = 101;
/// `OPC_PROPERTY_HIGH_EU` (OPC DA 3.00): High EU.
pub const HIGH_EU: u32 = 102;
/// `OPC_PROPERTY_LOW_EU` (OPC DA 3.00): Low EU.
pub const LOW_EU: u32 = 103;
/// `OPC_PROPERTY_HIGH_IR` (OPC DA 3.00): High Instrument Range.
pub const HIGH_IR: u32 = 104;
/// `OPC_PROPERTY_LOW_IR` (OPC DA 3.00): Low Instrument Range.
pub const LOW_IR: u32 = 105;
/// `OPC_PROPERTY_CLOSE_LABEL` (OPC DA 3.00): Contact Close Label.
pub const CLOSE_LABEL: u32 = 106;
/// `OPC_PROPERTY_OPEN_LABEL` (OPC DA 3.00): Contact Open Label.
pub const OPEN_LABEL: u32 = 107;
/// `OPC_PROPERTY_TIMEZONE` (OPC DA 3.00): Item Timezone.
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
/// Rows 1–108: OPC DA 3.00 (`OPC_PROPERTY_*`, `OPC_PROPERTY_DESC_*`) with the types of the DA
/// property table; the UA source of each is A.4.2 / Table A.31 (see the [module](super)
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

/// `OPC_READABLE` (OPC DA 3.00): the item can be read.
pub const OPC_READABLE: i32 = 1;
/// `OPC_WRITEABLE` (OPC DA 3.00): the item can be written.
pub const OPC_WRITEABLE: i32 = 2;

/// `OPC_NOENUM` (OPC DA 3.00 `OPCEUTYPE`): no engineering units.
pub const OPC_NOENUM: i32 = 0;
/// `OPC_ANALOG` (OPC DA 3.00 `OPCEUTYPE`): analog, with a High/Low EU range.
pub const OPC_ANALOG: i32 = 1;
/// `OPC_ENUMERATED` (OPC DA 3.00 `OPCEUTYPE`): enumerated, with a list of strings.
pub const OPC_ENUMERATED: i32 = 2;

/// MinimumSamplingInterval "Indeterminate" (OPC 10000-3 5.6.2): the Server Scan Rate of
/// a Variable that does not give its MinimumSamplingInterval.
pub const SCAN_RATE_INDETERMINATE: f32 = -1.0;
