//! IEC 60870-5-104 on fxgate's lines: a controlling-station client that reads controlled
//! stations into the tag store and sends commands (`[[iec104_device]]`), and a
//! controlled-station server that exposes tags of the store to masters
//! (`[[iec104_server]]`). One folder: config, validation, runtime.
//!
//! The APDU/ASDU codec is the `iec104` crate's; the link layer ([`link`]), the
//! redundancy policies and the mapping to the tag store are fxgate's.

#![warn(missing_docs)]

pub mod commands;
pub mod config;
pub mod error;
pub mod link;
pub mod points;
pub mod quality;
pub mod time;
