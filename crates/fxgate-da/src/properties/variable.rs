//! [`UaVariableInfo`]: what the COM UA Proxy read of a UA Variable (attributes,
//! HasProperty children, value), the input of the DA item properties of OPC 10000-8 A.4.2.

use opcua::types::{DataTypeId, DataValue, NodeId, QualifiedName};

/// What the Proxy knows of a UA Variable after reading its attributes, its properties
/// (HasProperty children found by BrowseName) and, optionally, its value.
///
/// `None` means "the node has no such attribute/property" (or it could not be read);
/// [`Default`] is a Scalar BaseDataType Variable with nothing else known.
#[derive(Debug, Clone, PartialEq)]
pub struct UaVariableInfo {
    /// The DataType attribute. Pass the nearest ns=0 ancestor for subtypes outside ns=0 if
    /// known (see [`types::ua_to_da_type`]).
    ///
    /// [`types::ua_to_da_type`]: crate::types::ua_to_da_type
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
    ///
    /// [`access_rights`]: super::access_rights
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
