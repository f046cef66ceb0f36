//! The [`Event`](opcua::nodes::Event) side of FX's hand-built events: each has a `base`
//! ([`BaseEventType`](opcua::nodes::BaseEventType)), an `is_ours(type)` saying which event
//! types its fields belong to, and an [`EventField`](opcua::nodes::EventField) impl for them.

/// Implements `Event` for `$t` from its `base`, `is_ours` and `EventField::get_value`.
macro_rules! fx_event {
    ($t:ty) => {
        impl opcua::nodes::Event for $t {
            fn get_field(
                &self,
                type_definition_id: &opcua::types::NodeId,
                attribute_id: opcua::types::AttributeId,
                index_range: &opcua::types::NumericRange,
                browse_path: &[opcua::types::QualifiedName],
            ) -> opcua::types::Variant {
                if self.is_ours(type_definition_id) {
                    opcua::nodes::EventField::get_value(self, attribute_id, index_range, browse_path)
                } else {
                    opcua::types::Variant::Empty
                }
            }

            fn time(&self) -> &opcua::types::DateTime {
                opcua::nodes::Event::time(&self.base)
            }

            fn event_type_id(&self) -> &opcua::types::NodeId {
                opcua::nodes::Event::event_type_id(&self.base)
            }
        }
    };
}
