//! The value of each DA item property of a UA Variable (OPC 10000-8 A.4.2, Table A.31):
//! which attribute or property it comes from and how it is converted.

use opcua::types::{AccessLevelType, DateTime, NodeId, StatusCode, Variant};

use super::ids::*; // every property ID and the constants of their values
use super::UaVariableInfo;
use crate::itemid;
use crate::quality;
use crate::types::{self, DaValue, VarType};

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
/// a built-in type number (1–29); see the [module](super) documentation.
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
pub(super) fn property_value(info: &UaVariableInfo, id: u32) -> Option<DaValue> {
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
