//! Modbus TCP (Modbus Application Protocol V1.1b3) on fxgate's lines: a client that
//! polls devices into the tag store ([`ModbusClientLine`]) and a server that exposes
//! tags of the store to Modbus clients ([`ModbusServerLine`]).

pub mod codec;
mod frame;
mod client;
mod device;
pub mod plan;
mod server;
mod status;

pub use client::ModbusClientLine;
pub use server::ModbusServerLine;
pub use status::{exception_status, write_exception};
