//! The address-space model of the FX types: [`add_types`] inserts, with their official NodeIds in
//! the server's namespace indexes,
//!
//! - every DataType of the FX Data and AC NodeSets and those of the CM NodeSet fxgate uses, with
//!   DataTypeDefinition, HasSubtype from the supertype, the Default Binary/XML/JSON encoding
//!   objects and EnumStrings/EnumValues/OptionSetValues ([`data_types`]);
//! - every ObjectType, VariableType, ReferenceType and interface of the FX Data, AC and CM
//!   NodeSets ([`type_nodes`]) and the DI types they use ([`di`]);
//! - the method declarations FX serves ([`methods`]), the fields of the FX event types
//!   ([`declarations`]) and the ConnectionConfigurationSet state machine ([`state_machine`]).
//!
//! It registers the four namespaces with the address space first.

mod data_types;
mod declarations;
mod di;
mod insert;
mod methods;

pub use methods::declared_arguments;
mod state_machine;
mod type_nodes;

use opcua::server::address_space::AddressSpace;
use opcua::types::NodeId;

use crate::namespaces::{self, FxNamespaces};
use crate::types::registry::{ABSTRACT_STRUCTURES, ENUMERATIONS, STRUCTURES};
use insert::Model;

/// Why the FX types could not be added.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A node with this NodeId is already in the address space (e.g. `add_types` ran twice).
    #[error("node {0} already exists")]
    DuplicateNode(NodeId),
}

/// Inserts the FX type nodes into `space`, in the namespaces indexed by `ns`.
pub fn add_types(space: &mut AddressSpace, ns: &FxNamespaces) -> Result<(), ModelError> {
    for (uri, index) in [
        (namespaces::FX_DATA, ns.data),
        (namespaces::FX_AC, ns.ac),
        (namespaces::FX_CM, ns.cm),
        (namespaces::DI, ns.di),
        (namespaces::FX_INSTANCES, ns.instances),
    ] {
        space.add_namespace(uri, index);
    }
    let mut model = Model { space, ns };
    for def in ENUMERATIONS {
        data_types::enumeration(&mut model, def)?;
    }
    for def in ABSTRACT_STRUCTURES.iter().chain(STRUCTURES) {
        data_types::structure(&mut model, def)?;
    }
    type_nodes::add(&mut model)?;
    di::add(&mut model)?;
    methods::add(&mut model)?;
    declarations::add(&mut model)?;
    state_machine::add(&mut model)
}
