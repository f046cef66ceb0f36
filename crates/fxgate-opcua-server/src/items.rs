//! DA-style typed items (OPC 10000-8 A.3.1, the Wrapper direction): a tag's metadata
//! decides its VariableType, and becomes the standard properties of that type.
//!
//! | metadata | type | properties |
//! |---|---|---|
//! | `enum_strings` | MultiStateDiscreteType | EnumStrings |
//! | `open_label`/`close_label` | TwoStateDiscreteType | TrueState (close), FalseState (open) |
//! | `eu_low`/`eu_high` | AnalogItemType | EURange, EngineeringUnits, InstrumentRange |
//! | `eu_units` only | BaseAnalogType | EngineeringUnits, InstrumentRange |
//! | only description / scan rate | DataItemType | – |
//! | none | BaseDataVariableType | – |

use fxgate_core::TagMeta;
use opcua::types::{DataTypeId, EUInformation, ExtensionObject, LocalizedText, Range, UAString, VariableTypeId, Variant};

/// Namespace of the UNECE unit codes used in EUInformation.
const UNECE_UNITS: &str = "http://www.opcfoundation.org/UA/units/un/cefact";

/// The VariableType a tag with `meta` is exposed as.
pub fn item_type(meta: Option<&TagMeta>) -> VariableTypeId {
    let Some(m) = meta else {
        return VariableTypeId::BaseDataVariableType;
    };
    if !m.enum_strings.is_empty() {
        VariableTypeId::MultiStateDiscreteType
    } else if m.close_label.is_some() || m.open_label.is_some() {
        VariableTypeId::TwoStateDiscreteType
    } else if m.eu_range.is_some() {
        VariableTypeId::AnalogItemType
    } else if m.eu_units.is_some() || m.instrument_range.is_some() {
        VariableTypeId::BaseAnalogType
    } else {
        VariableTypeId::DataItemType
    }
}

fn range((low, high): (f64, f64)) -> Variant {
    Variant::from(ExtensionObject::from_message(Range { low, high }))
}

fn units(text: &str) -> Variant {
    Variant::from(ExtensionObject::from_message(EUInformation {
        namespace_uri: UAString::from(UNECE_UNITS),
        // No UNECE code is configured; -1 means "not available" (OPC 10000-8 5.6.3).
        unit_id: -1,
        display_name: LocalizedText::from(text),
        description: LocalizedText::from(text),
    }))
}

/// A standard property of a typed item: its BrowseName (namespace 0), DataType, ValueRank and
/// value. Its NodeId is `<tag path>/<name>` in the tags namespace.
#[derive(Debug, Clone)]
pub struct Property {
    /// BrowseName and DisplayName.
    pub name: &'static str,
    /// DataType attribute.
    pub data_type: DataTypeId,
    /// ValueRank attribute (1 for EnumStrings, else scalar).
    pub value_rank: i32,
    /// The value, fixed by the configuration.
    pub value: Variant,
}

/// The names of the properties a tag with `meta` has, in browse order.
pub fn property_names(meta: &TagMeta) -> Vec<&'static str> {
    if !meta.enum_strings.is_empty() {
        return vec!["EnumStrings"];
    }
    if meta.close_label.is_some() || meta.open_label.is_some() {
        return vec!["TrueState", "FalseState"];
    }
    let mut out = Vec::new();
    if meta.eu_range.is_some() {
        out.push("EURange");
    }
    if meta.eu_units.is_some() {
        out.push("EngineeringUnits");
    }
    if meta.instrument_range.is_some() {
        out.push("InstrumentRange");
    }
    out
}

/// The property `name` of a tag with `meta`, if it has one.
pub fn property(meta: &TagMeta, name: &str) -> Option<Property> {
    let make = |name: &'static str, data_type: DataTypeId, value_rank: i32, value: Variant| {
        Some(Property { name, data_type, value_rank, value })
    };
    let label = |l: &Option<String>| Variant::from(LocalizedText::from(l.as_deref().unwrap_or_default()));
    if !property_names(meta).contains(&name) {
        return None;
    }
    match name {
        "EnumStrings" => {
            let texts: Vec<LocalizedText> = meta.enum_strings.iter().map(|s| LocalizedText::from(s.as_str())).collect();
            make("EnumStrings", DataTypeId::LocalizedText, 1, Variant::from(texts))
        }
        "TrueState" => make("TrueState", DataTypeId::LocalizedText, -1, label(&meta.close_label)),
        "FalseState" => make("FalseState", DataTypeId::LocalizedText, -1, label(&meta.open_label)),
        "EURange" => make("EURange", DataTypeId::Range, -1, range(meta.eu_range?)),
        "EngineeringUnits" => make("EngineeringUnits", DataTypeId::EUInformation, -1, units(meta.eu_units.as_deref()?)),
        "InstrumentRange" => make("InstrumentRange", DataTypeId::Range, -1, range(meta.instrument_range?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_picks_the_type() {
        let mut m = TagMeta::default();
        assert_eq!(item_type(None), VariableTypeId::BaseDataVariableType);
        m.scan_rate_ms = Some(500.0);
        assert_eq!(item_type(Some(&m)), VariableTypeId::DataItemType);
        m.eu_units = Some("°C".into());
        assert_eq!(item_type(Some(&m)), VariableTypeId::BaseAnalogType);
        m.eu_range = Some((0.0, 100.0));
        assert_eq!(item_type(Some(&m)), VariableTypeId::AnalogItemType);
        m.close_label = Some("On".into());
        assert_eq!(item_type(Some(&m)), VariableTypeId::TwoStateDiscreteType);
        m.enum_strings = vec!["Stop".into(), "Run".into()];
        assert_eq!(item_type(Some(&m)), VariableTypeId::MultiStateDiscreteType);
    }

    #[test]
    fn properties_follow_the_metadata() {
        let mut m = TagMeta { eu_range: Some((0.0, 1.0)), eu_units: Some("m".into()), ..Default::default() };
        assert_eq!(property_names(&m), ["EURange", "EngineeringUnits"]);
        assert!(property(&m, "InstrumentRange").is_none());
        assert!(property(&m, "Nope").is_none());
        let eu = property(&m, "EURange").map(|p| (p.data_type, p.value_rank));
        assert_eq!(eu, Some((DataTypeId::Range, -1)));
        m.enum_strings = vec!["A".into()];
        assert_eq!(property_names(&m), ["EnumStrings"]);
        assert!(property(&m, "EURange").is_none());
        assert_eq!(property(&m, "EnumStrings").map(|p| p.value_rank), Some(1));
    }
}
