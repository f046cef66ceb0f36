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
use opcua::nodes::VariableBuilder;
use opcua::server::address_space::{AccessLevel, AddressSpace};
use opcua::types::{
    DataTypeId, EUInformation, ExtensionObject, LocalizedText, NodeId, QualifiedName, Range,
    UAString, VariableTypeId, Variant,
};

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

/// Adds the properties of `meta` under the variable `var` (`path` is the tag's path, used
/// to make property NodeIds `<path>/<PropertyName>` in namespace `ns`).
pub fn add_properties(space: &mut AddressSpace, ns: u16, var: &NodeId, path: &str, meta: &TagMeta) {
    let mut add = |name: &str, data_type: DataTypeId, value_rank: i32, value: Variant| {
        let id = NodeId::new(ns, format!("{path}/{name}"));
        VariableBuilder::new(&id, QualifiedName::new(0, name), name)
            .property_of(var.clone())
            .has_type_definition(VariableTypeId::PropertyType)
            .data_type(data_type)
            .value_rank(value_rank)
            .access_level(AccessLevel::CURRENT_READ)
            .user_access_level(AccessLevel::CURRENT_READ)
            .value(value)
            .insert(space);
    };
    if !meta.enum_strings.is_empty() {
        let texts: Vec<LocalizedText> = meta.enum_strings.iter().map(|s| LocalizedText::from(s.as_str())).collect();
        add("EnumStrings", DataTypeId::LocalizedText, 1, Variant::from(texts));
        return;
    }
    if meta.close_label.is_some() || meta.open_label.is_some() {
        let label = |l: &Option<String>| Variant::from(LocalizedText::from(l.as_deref().unwrap_or_default()));
        add("TrueState", DataTypeId::LocalizedText, -1, label(&meta.close_label));
        add("FalseState", DataTypeId::LocalizedText, -1, label(&meta.open_label));
        return;
    }
    if let Some(r) = meta.eu_range {
        add("EURange", DataTypeId::Range, -1, range(r));
    }
    if let Some(u) = &meta.eu_units {
        add("EngineeringUnits", DataTypeId::EUInformation, -1, units(u));
    }
    if let Some(r) = meta.instrument_range {
        add("InstrumentRange", DataTypeId::Range, -1, range(r));
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
}
