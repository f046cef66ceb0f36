//! The OPC UA PubSub protocol (`[[pubsub]]`, OPC 10000-14): UADP NetworkMessages over UDP,
//! unicast or multicast. A connection's writer groups publish tags of the store cyclically
//! (key frames, keep-alives for heartbeat writers); its DataSetReaders write the fields they
//! receive into their own tags, with the publisher's timestamps and statuses, and turn them
//! Bad_NoCommunication when the publisher falls silent.
//!
//! One folder: the config type ([`config`]), its validation, the UADP codec ([`uadp`]), the
//! UDP transport ([`udp`]), the runtime (writer groups, the receive loop, readers) and the
//! information model below `Server/PublishSubscribe` ([`model`], an extension of the server).

#![warn(missing_docs)]

pub mod config;
mod connection;
pub mod control;
pub mod fx;
pub mod model;
pub mod reserve;
mod reader;
mod receive;
pub mod status;
pub mod uadp;
pub mod udp;
mod validate;
mod writer;

pub use config::PubSubConfig;
pub use connection::{PubSubBuildError, PubSubConnection};

use fxgate_config::{Check, Claims, Known, Resource, Section};
use fxgate_core::BuildError;
use fxgate_plugin::{BuildContext, Protocol};
use serde::{Deserialize, Serialize};

/// `[[pubsub]]`: every PubSub connection.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct PubSubConnections(pub Vec<PubSubConfig>);

impl std::ops::Deref for PubSubConnections {
    type Target = Vec<PubSubConfig>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Section for PubSubConnections {
    fn declare(&self, key: &str, known: &mut Known) {
        for (i, c) in self.0.iter().enumerate() {
            for (j, r) in c.reader.iter().enumerate() {
                known.source(&r.name, format!("{key}[{i}].reader[{j}].name"));
                for f in &r.fields {
                    known.tag(format!("{}/{}", r.name, f.name));
                }
            }
        }
    }

    fn claims(&self, key: &str, claims: &mut Claims) {
        // A unicast listen address is bound by one connection; a multicast group's port is
        // shared (SO_REUSEADDR) by whoever joins it.
        for (i, c) in self.0.iter().enumerate() {
            let Some(url) = c.listen.as_deref().and_then(|u| udp::parse_udp_url(u).ok()) else { continue };
            let multicast = url.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_multicast());
            if !multicast {
                let host = fxgate_config::checks::listen_host(&url.host);
                claims.exclusive(Resource::Udp(host, url.port), "PubSub connection", format!("{key}[{i}].listen"));
            }
        }
    }

    fn validate(&self, key: &str, cx: &mut Check<'_>) {
        let known = cx.known;
        validate::validate(key, &self.0, known, cx.errs());
    }
}

impl Protocol for PubSubConnections {
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let metrics = status::PubSubMetrics::default();
        metrics.register(cx.metrics);
        let controls = control::Controls::new(&self.0);
        // OPC UA FX (built before) offers a slot for the runtime of the connection set aside
        // for it (the ids it reserves, the readers and writers it configures).
        let runtime = self.0.iter().find(|c| c.fx).map(|c| std::sync::Arc::new(fx::FxRuntime::new(c, controls.clone())));
        if let (Some(rt), Some(slot)) = (&runtime, cx.service::<fxgate_plugin::FxPubSubSlot>()) {
            let _ = slot.0.set(rt.clone());
        }
        for c in &self.0 {
            let mut conn = PubSubConnection::new(c.clone(), metrics.connection(&c.name), controls.clone());
            if c.fx {
                conn.fx = runtime.clone();
            }
            cx.add_component(Box::new(conn));
        }
        cx.add_extension(std::sync::Arc::new(model::PubSubModel { runtime, list: self.0.clone(), table: cx.namespaces.clone(), controls }));
        Ok(())
    }
}
