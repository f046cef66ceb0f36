//! Sources write values with quality and timestamps into the tag store.
//! Each protocol lives in its own folder and is built from its config variant.

#![warn(missing_docs)]

pub mod modbus;
pub mod simulator;
pub mod convert;
