//! Inserting instance variables (components and properties), shared by the builders of the
//! AutomationComponents and of the ConnectionManager.

use opcua::nodes::VariableBuilder;
use opcua::server::address_space::AddressSpace;
use opcua::types::{NodeId, QualifiedName, VariableTypeId, Variant};

/// How a variable hangs below its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HasComponent, with `type_id` as TypeDefinition.
    Component(VariableTypeId),
    /// HasProperty, PropertyType.
    Property,
}

/// Inserts variable `id` (`name`, `data_type`, `value`; ValueRank 1 for an array value, else
/// scalar) below `parent`.
pub fn insert(space: &mut AddressSpace, parent: &NodeId, id: &NodeId, name: QualifiedName, data_type: NodeId, value: Variant, kind: Kind) {
    let display = name.name.as_ref().to_string();
    let rank = if value.is_array() { 1 } else { -1 };
    let b = VariableBuilder::new(id, name, display).data_type(data_type).value_rank(rank).value(value);
    match kind {
        Kind::Component(t) => b.has_type_definition(t).component_of(parent.clone()),
        Kind::Property => b.has_type_definition(VariableTypeId::PropertyType).property_of(parent.clone()),
    }
    .insert(space);
}
