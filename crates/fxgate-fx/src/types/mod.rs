//! The FX, DI and related types FX needs, with their official NodeIds.
//!
//! - [`ids`]: the numeric NodeIds per namespace, and [`ids::node`].
//! - The DataTypes as Rust types with OPC UA binary encoding: [`enums`], [`option_sets`],
//!   [`data`] (FX Data), [`ac`] (FX AC) and [`cm`] (FX CM), all re-exported here. Each carries
//!   its description as `DEF` ([`def`]).
//! - [`type_loaders`]: decoders for incoming ExtensionObjects of these types, resolving the
//!   namespaces by URI at run time; [`body`] reads a decoded body as its Rust type.
//! - [`add_types`]: the type nodes of the FX Data, AC and CM namespaces and the DI types they use.

#[macro_use]
mod macros;

pub mod abstract_types;
pub mod ac;
mod body;
pub mod cm;
pub mod cm_conf;
pub mod data;
pub mod def;
pub mod diagnostics;
pub mod enums;
pub mod ids;
mod loader;
pub mod model;
pub mod option_sets;
pub mod registry;
pub mod reserve2;

#[cfg(test)]
pub(crate) mod tests;

pub use ac::*;
pub use body::{body, BodyError};
pub use cm::*;
pub use cm_conf::*;
pub use data::*;
pub use diagnostics::*;
pub use enums::*;
pub use loader::{type_loaders, FxAcTypeLoader, FxCmTypeLoader, FxDataTypeLoader, FxgateTypeLoader};
pub use model::{add_types, declared_arguments, ModelError};
pub use option_sets::*;
pub use reserve2::*;
