//! What a protocol gets when it is built, and what it hands back.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use fxgate_config::{LineConfig, UserConfig};
use fxgate_core::{Component, SharedNamespaceTable};
use fxgate_lines::LineMetrics;
use fxgate_opcua_server::extension::ServerExtension;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// The gateway-wide things a protocol builds from.
pub struct BuildContext<'a> {
    /// The directory relative paths of the configuration resolve against.
    pub config_dir: &'a Path,
    /// The configuration file, where run-time configuration changes are written (none:
    /// the embedded default).
    pub config_file: Option<&'a Path>,
    /// The gateway's data directory.
    pub data_dir: &'a Path,
    /// The configured lines; a protocol uses the ones its section claims.
    pub lines: &'a [LineConfig],
    /// The configured users.
    pub users: &'a [UserConfig],
    /// The metrics of every line, registered once by the topology.
    pub line_metrics: &'a LineMetrics,
    /// The `fxgate_` metrics registry: a protocol registers its own metrics here, once.
    pub metrics: &'a mut Registry,
    /// The persisted namespace table (stable namespace indexes).
    pub namespaces: &'a SharedNamespaceTable,
    /// Validates a whole configuration text before a run-time change is written back.
    pub check_config: fxgate_config::CheckText,
    /// Cancelled when the gateway shuts down.
    pub shutdown: &'a CancellationToken,
    built: Built,
    services: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

/// What the protocols built.
#[derive(Default)]
pub struct Built {
    /// Sources and sinks, in build order.
    pub components: Vec<Box<dyn Component>>,
    /// Extensions of the OPC UA server, in build order.
    pub extensions: Vec<Arc<dyn ServerExtension>>,
    /// DA ComAliases (OPC 10000-8 A.4.2): short names that stand for a namespace URI in
    /// the DA item API's ItemIDs, as (alias, namespace URI).
    pub item_aliases: Vec<(String, String)>,
    /// The aggregated servers' run-time administration, if a protocol offers it (for the
    /// configurator's Servers page).
    pub server_admin: Option<fxgate_core::SharedServerAdmin>,
}

impl<'a> BuildContext<'a> {
    /// A context with nothing built yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config_dir: &'a Path,
        config_file: Option<&'a Path>,
        data_dir: &'a Path,
        lines: &'a [LineConfig],
        users: &'a [UserConfig],
        line_metrics: &'a LineMetrics,
        metrics: &'a mut Registry,
        namespaces: &'a SharedNamespaceTable,
        check_config: fxgate_config::CheckText,
        shutdown: &'a CancellationToken,
    ) -> Self {
        Self {
            config_dir,
            config_file,
            data_dir,
            lines,
            users,
            line_metrics,
            metrics,
            namespaces,
            check_config,
            shutdown,
            built: Built::default(),
            services: HashMap::new(),
        }
    }

    /// The line named `name` (validation made sure a claimed line exists).
    pub fn line(&self, name: &str) -> Option<&'a LineConfig> {
        self.lines.iter().find(|l| l.name == name)
    }

    /// Adds a running component.
    pub fn add_component(&mut self, c: Box<dyn Component>) {
        self.built.components.push(c);
    }

    /// Adds an extension of the OPC UA server.
    pub fn add_extension(&mut self, e: Arc<dyn ServerExtension>) {
        self.built.extensions.push(e);
    }

    /// Offers a DA ComAlias: `alias` stands for `namespace_uri` in ItemIDs.
    pub fn add_item_alias(&mut self, alias: String, namespace_uri: String) {
        self.built.item_aliases.push((alias, namespace_uri));
    }

    /// Offers a service to the protocols built later (e.g. the aggregation offers its
    /// upstream sessions, which OPC UA FX uses), one per type.
    pub fn provide<T: Any + Send + Sync + Clone>(&mut self, service: T) {
        self.services.insert(TypeId::of::<T>(), Box::new(service));
    }

    /// A service an earlier protocol offered.
    pub fn service<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        self.services.get(&TypeId::of::<T>()).and_then(|s| s.downcast_ref::<T>()).cloned()
    }

    /// Everything built, for the topology.
    pub fn finish(self) -> Built {
        let server_admin = self.service::<fxgate_core::SharedServerAdmin>();
        Built { server_admin, ..self.built }
    }
}
