//! DA ↔ UA (OPC 10000-8 Annex A): item ids a DA client sends, and values converted both ways.

use fxgate_da::itemid::{item_id_to_node_id, node_id_to_item_id, split_alias_item_id};
use fxgate_da::quality::{da_to_ua, ua_to_da, DaQuality};
use fxgate_da::types::{da_to_ua_value, ole_date_from_ua, ua_from_ole_date, ua_to_da_value, DaDecimal};
use opcua::types::{DataTypeId, StatusCode};

/// An item id as a DA client sends it. An id that parses to a NodeId must come back as an id
/// that parses to the same NodeId.
pub fn item_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = split_alias_item_id(text);
    if let Some(d) = DaDecimal::parse(text) {
        let _ = d.to_f64();
    }
    if let Ok(node) = item_id_to_node_id(text) {
        let again = node_id_to_item_id(&node);
        match item_id_to_node_id(&again) {
            Ok(back) => assert_eq!(back, node, "{text:?} → {node} → {again:?} → {back}"),
            Err(e) => panic!("{text:?} → {node} → {again:?}, which does not parse: {e:?}"),
        }
    }
}

/// The targets a DA value is converted to.
const TARGETS: [Option<DataTypeId>; 16] = [
    None,
    Some(DataTypeId::BaseDataType),
    Some(DataTypeId::Boolean),
    Some(DataTypeId::SByte),
    Some(DataTypeId::Byte),
    Some(DataTypeId::Int16),
    Some(DataTypeId::UInt32),
    Some(DataTypeId::Int64),
    Some(DataTypeId::UInt64),
    Some(DataTypeId::Float),
    Some(DataTypeId::Double),
    Some(DataTypeId::String),
    Some(DataTypeId::DateTime),
    Some(DataTypeId::Number),
    Some(DataTypeId::Enumeration),
    Some(DataTypeId::Decimal),
];

/// A UA value (binary encoded, as a server sends it) converted to DA and back to every
/// target type; a status code and a DA quality from the first bytes, an OLE date.
pub fn value(data: &[u8]) {
    if let Some(b) = data.get(..4) {
        let s = StatusCode::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let _ = da_to_ua(ua_to_da(s));
        let _ = ua_to_da(da_to_ua(DaQuality(u16::from_le_bytes([b[0], b[1]]))));
    }
    if let Some(b) = data.get(..8) {
        let ole = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        if let Some(t) = ua_from_ole_date(ole) {
            let _ = ole_date_from_ua(&t);
        }
    }
    let Some(v) = crate::upstream::decode_variant(data) else { return };
    let da = ua_to_da_value(&v);
    for t in TARGETS {
        let _ = da_to_ua_value(&da, t);
    }
}
