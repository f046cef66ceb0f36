//! Modbus TCP (Modbus Application Protocol V1.1b3) on fxgate's lines: a client that
//! polls devices into the tag store (`[[device]]` with `protocol = "modbus"`,
//! [`ModbusClientLine`]) and a server that exposes tags of the store to Modbus clients
//! (`[[modbus_server]]`, [`ModbusServerLine`]). One folder: config, validation, runtime.

#![warn(missing_docs)]

mod client;
pub mod codec;
pub mod config;
mod device;
pub mod error;
pub mod frame;
pub mod plan;
mod server;
mod status;

pub use client::ModbusClientLine;
pub use config::{DeviceConfig, ModbusServerConfig, ModbusTagConfig, PollGroupConfig, Protocol as DeviceProtocol, ServerMapConfig};
pub use server::ModbusServerLine;
pub use status::{exception_status, write_exception};

use fxgate_config::{Check, Claims, Known, Resource, Section};
use fxgate_core::BuildError;
use fxgate_plugin::{BuildContext, Protocol};
use serde::{Deserialize, Serialize};

/// The owner name of a Modbus server's line claim.
const SERVER_OWNER: &str = "Modbus server";

/// `[[device]]`: the field devices polled on client lines.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Devices(pub Vec<DeviceConfig>);

impl std::ops::Deref for Devices {
    type Target = Vec<DeviceConfig>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// `[[modbus_server]]`: Modbus TCP servers on server lines.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct ModbusServers(pub Vec<ModbusServerConfig>);

impl std::ops::Deref for ModbusServers {
    type Target = Vec<ModbusServerConfig>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Section for Devices {
    fn declare(&self, key: &str, known: &mut Known) {
        for (i, d) in self.0.iter().enumerate() {
            known.source(&d.name, format!("{key}[{i}].name"));
            for t in &d.tag {
                for n in t.names() {
                    known.tag(format!("{}/{n}", d.name));
                }
            }
        }
    }

    /// A device's line is claimed by the device's protocol, as its `protocol` key says:
    /// devices of one protocol share a client line.
    fn claims(&self, key: &str, claims: &mut Claims) {
        for (i, d) in self.0.iter().enumerate() {
            claims.shared(Resource::Line(d.line.clone()), d.protocol.client_owner(), format!("{key}[{i}].line"));
        }
    }

    fn validate(&self, key: &str, cx: &mut Check<'_>) {
        config::validate::devices(key, &self.0, cx);
    }
}

impl Section for ModbusServers {
    fn claims(&self, key: &str, claims: &mut Claims) {
        for (i, s) in self.0.iter().enumerate() {
            claims.exclusive(Resource::Line(s.line.clone()), SERVER_OWNER, format!("{key}[{i}].line"));
        }
    }

    fn validate(&self, key: &str, cx: &mut Check<'_>) {
        config::validate::servers(key, &self.0, cx);
    }
}

impl Protocol for Devices {
    /// One client per line, polling every device on it.
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        let mut lines: Vec<&str> = Vec::new();
        for d in &self.0 {
            if !lines.contains(&d.line.as_str()) {
                lines.push(&d.line);
            }
        }
        for name in lines {
            let Some(line) = cx.line(name) else { continue };
            let devices: Vec<DeviceConfig> = self.0.iter().filter(|d| d.line == name).cloned().collect();
            let client = ModbusClientLine::new(line.clone(), devices, cx.config_dir.to_path_buf(), cx.line_metrics.clone());
            cx.add_component(Box::new(client));
        }
        Ok(())
    }
}

impl Protocol for ModbusServers {
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        for s in &self.0 {
            let Some(line) = cx.line(&s.line) else { continue };
            let server = ModbusServerLine::new(line.clone(), s.clone(), cx.config_dir.to_path_buf(), cx.line_metrics.clone());
            cx.add_component(Box::new(server));
        }
        Ok(())
    }
}
