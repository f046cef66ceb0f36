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
mod client;
mod server;

pub use client::Iec104ClientLine;
pub use config::{Iec104DeviceConfig, Iec104MapConfig, Iec104ServerConfig, Iec104TagConfig};
pub use server::Iec104ServerLine;

use fxgate_config::{Check, Claims, Known, Resource, Section};
use fxgate_core::BuildError;
use fxgate_plugin::{BuildContext, Protocol};
use serde::{Deserialize, Serialize};

/// Who claims a client line for IEC 104 devices (shared: the stations behind one
/// connection are told apart by their common address).
const CLIENT_OWNER: &str = "IEC 104 client";
/// Who claims a server line for an IEC 104 server.
const SERVER_OWNER: &str = "IEC 104 server";

/// `[[iec104_device]]`: controlled stations read over client lines.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Iec104Devices(pub Vec<Iec104DeviceConfig>);

/// `[[iec104_server]]`: fxgate as a controlled station on server lines.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Iec104Servers(pub Vec<Iec104ServerConfig>);

impl Section for Iec104Devices {
    fn declare(&self, key: &str, known: &mut Known) {
        for (i, d) in self.0.iter().enumerate() {
            known.source(&d.name, format!("{key}[{i}].name"));
            for t in &d.tag {
                known.tag(format!("{}/{}", d.name, t.name));
            }
        }
    }

    fn claims(&self, key: &str, claims: &mut Claims) {
        for (i, d) in self.0.iter().enumerate() {
            claims.shared(Resource::Line(d.line.clone()), CLIENT_OWNER, format!("{key}[{i}].line"));
        }
    }

    fn validate(&self, key: &str, cx: &mut Check<'_>) {
        config::validate::devices(key, &self.0, cx);
    }
}

impl Section for Iec104Servers {
    fn claims(&self, key: &str, claims: &mut Claims) {
        for (i, s) in self.0.iter().enumerate() {
            claims.exclusive(Resource::Line(s.line.clone()), SERVER_OWNER, format!("{key}[{i}].line"));
        }
    }

    fn validate(&self, key: &str, cx: &mut Check<'_>) {
        config::validate::servers(key, &self.0, cx);
    }
}

impl Protocol for Iec104Devices {
    /// One client per line: one connection (two on a redundant line) carrying every
    /// station of the line.
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        let mut lines: Vec<&str> = Vec::new();
        for d in &self.0 {
            if !lines.contains(&d.line.as_str()) {
                lines.push(&d.line);
            }
        }
        for name in lines {
            let Some(line) = cx.line(name) else { continue };
            let devices: Vec<Iec104DeviceConfig> = self.0.iter().filter(|d| d.line == name).cloned().collect();
            let client = Iec104ClientLine::new(line.clone(), devices, cx.config_dir.to_path_buf(), cx.line_metrics.clone());
            cx.add_component(Box::new(client));
        }
        Ok(())
    }
}

impl Protocol for Iec104Servers {
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let metrics = server::group::ServerMetrics::default();
        metrics.register(cx.metrics);
        for s in &self.0 {
            let Some(line) = cx.line(&s.line) else { continue };
            let server = Iec104ServerLine::new(line.clone(), s.clone(), cx.config_dir.to_path_buf(), cx.line_metrics.clone())
                .with_metrics(metrics.clone());
            cx.add_component(Box::new(server));
        }
        Ok(())
    }
}
