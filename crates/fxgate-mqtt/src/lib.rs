//! MQTT on fxgate's lines (seed 002 "MQTT Client"): a client of one broker, or of two
//! independent brokers on a redundant line (`[[mqtt]]`). Topics feed tags (`[[mqtt.tag]]`,
//! a source: raw or JSON payloads, source timestamps and qualities from the payload, writes
//! to command topics); tags are published as JSON (`[[mqtt.publish]]`, a sink: per tag or in
//! batches, write requests answered on a response topic); everything published goes through
//! a store-and-forward buffer. One folder: config, validation, runtime.
//!
//! The packet codec is `rumqttc`'s; the session (on the line's TCP/TLS/PSK stream), the
//! redundancy and the mapping to the tag store are fxgate's.

#![warn(missing_docs)]

pub mod config;
pub mod conn;
pub mod decode;
pub mod dedupe;
pub mod error;
pub mod metrics;
pub mod northbound;
pub mod outbox;
pub mod requests;
pub mod session;
pub mod southbound;
pub mod sparkplug;
pub mod wire;
mod client;
mod driver;

pub use client::MqttClient;
pub use config::{MqttConfig, MqttTagConfig, PublishConfig};

use fxgate_config::{Check, Claims, Known, Resource, Section};
use fxgate_core::BuildError;
use fxgate_plugin::{BuildContext, Protocol};
use serde::{Deserialize, Serialize};

/// Who claims a client line for an MQTT client.
const OWNER: &str = "MQTT client";

/// `[[mqtt]]`: MQTT clients on client lines.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct MqttClients(pub Vec<MqttConfig>);

impl Section for MqttClients {
    fn declare(&self, key: &str, known: &mut Known) {
        for (i, m) in self.0.iter().enumerate() {
            known.source(&m.name, format!("{key}[{i}].name"));
            for t in &m.tag {
                known.tag(format!("{}/{}", m.name, t.name));
            }
        }
    }

    fn claims(&self, key: &str, claims: &mut Claims) {
        for (i, m) in self.0.iter().enumerate() {
            claims.exclusive(Resource::Line(m.line.clone()), OWNER, format!("{key}[{i}].line"));
        }
    }

    fn validate(&self, key: &str, cx: &mut Check<'_>) {
        config::validate::clients(key, &self.0, cx);
    }
}

impl Protocol for MqttClients {
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let metrics = metrics::MqttMetrics::default();
        metrics.register(cx.metrics);
        let node = config::node_name();
        for m in &self.0 {
            let Some(line) = cx.line(&m.line) else { continue };
            let client = MqttClient::new(m.for_node(&node), line.clone(), cx.users, cx.config_dir.to_path_buf(), cx.line_metrics.clone(), metrics.client(&m.name));
            cx.add_component(Box::new(client));
        }
        Ok(())
    }
}
