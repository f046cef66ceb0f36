//! OPC UA FX (OPC 10000-81 v1.00.03), tiers 1 and 2: the FX information model under `Objects/FxRoot`
//! — AutomationComponents with their Assets and FunctionalEntities, built from the
//! configuration and mapped onto the tag store — their methods (VerifyAsset, Verify,
//! EstablishConnections, CloseConnections), health, and the ConnectionManager.
//!
//! The types come from the FX Data, AC and CM namespaces and the DI namespace, with the
//! official NodeIds of the v1.00.03 NodeSets; they are defined in this crate's own code
//! (`types`), not loaded from the NodeSet files.

#![warn(missing_docs)]

#[macro_use]
mod event_macro;
pub mod config;
pub mod namespaces;
mod plugin;
pub mod types;
pub mod compare;
pub mod model;
pub mod verify;
pub mod verify_asset;
pub mod values;
pub mod args;
pub mod node_manager;
pub mod establish;
pub mod health;
pub mod endpoints;
pub mod host;
pub mod device_health;
pub mod cm;
pub mod control;
pub mod lock_nodes;
pub mod communication;
pub mod variables;
