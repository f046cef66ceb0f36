//! `[[upstream]]` as a protocol of the registry (seed 000 §4.1, §4.6): the aggregation is an
//! extension of the OPC UA server (its namespace, the forwarding node manager, the wrapped
//! core node manager for standard methods on upstream objects, and the `configure` role of
//! the run-time configuration methods), a component that runs the upstream sessions and
//! whose health is their state,
//! and the provider of the upstream sessions other protocols call (OPC UA FX).

use std::sync::Arc;

use fxgate_config::Role;
use fxgate_core::BuildError;
use fxgate_opcua_server::extension::{BoxedNodeManagerBuilder, ExtensionContext, ServerExtension};
use fxgate_plugin::{BuildContext, Protocol, SharedUpstreamLinks, UpstreamLink, UpstreamLinks};
use opcua::types::NodeId;

use crate::config::Upstreams;
use crate::upstream::{ClientSettings, State};
use crate::{Aggregator, UpstreamMetrics, UpstreamNamespaces, AGGREGATION_NAMESPACE};

/// The role of the run-time configuration methods.
const CONFIGURE: &[Role] = &[Role::Configure];

/// Why the aggregation could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AggregationBuildError {
    /// A path could not be made absolute.
    #[error("{what} {path}: {source}")]
    Path {
        /// Which path.
        what: &'static str,
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The client certificate could not be made or read.
    #[error("client certificate: {0}")]
    Certificate(String),
}

impl Protocol for Upstreams {
    /// The aggregation is always built: with no `[[upstream]]`, users with the `configure`
    /// role can still add upstreams at run time.
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        let metrics = UpstreamMetrics::default();
        metrics.register(cx.metrics);
        let absolute = |what: &'static str, p: &std::path::Path| {
            std::path::absolute(p).map_err(|source| {
                BuildError::protocol(AggregationBuildError::Path { what, path: p.display().to_string(), source })
            })
        };
        let data_dir = absolute("data dir", cx.data_dir)?;
        let (cert, application_uri) = fxgate_pki::ensure_client_certificate(&data_dir)
            .map_err(|e| BuildError::protocol(AggregationBuildError::Certificate(e.to_string())))?;
        let settings = ClientSettings {
            pki_dir: data_dir.join(fxgate_pki::CLIENT_PKI),
            cert: cert.cert_path,
            key: cert.key_path,
            application_uri,
            config_dir: cx.config_dir.to_path_buf(),
        };
        let config_file = cx.config_file.map(|f| absolute("config file", f)).transpose()?;
        let names = Arc::new(UpstreamNamespaces::new(cx.namespaces.clone()));
        let aggregator = Aggregator::new(
            self.0.clone(),
            names,
            settings,
            metrics,
            cx.shutdown.child_token(),
            config_file,
            cx.check_config,
        );
        for u in self.0.iter().filter(|u| !u.alias.is_empty()) {
            cx.add_item_alias(u.alias.clone(), crate::names::key(&u.name, &u.alias_namespace));
        }
        let links: SharedUpstreamLinks = Arc::new(Links(aggregator.clone()));
        cx.provide(links);
        let admin: fxgate_core::SharedServerAdmin = Arc::new(crate::admin::Admin(aggregator.clone()));
        cx.provide(admin);
        cx.add_extension(Arc::new(AggregationExtension(aggregator.clone())));
        cx.add_component(Box::new(crate::AggregatorComponent::new(aggregator)));
        Ok(())
    }
}

/// The upstream sessions, for other protocols.
struct Links(Arc<Aggregator>);

impl UpstreamLinks for Links {
    fn link(&self, server: &str) -> Option<UpstreamLink> {
        let up = self.0.find(server)?;
        Some(UpstreamLink {
            endpoint_url: up.config.endpoint_url.clone(),
            session: up.live().filter(|_| up.status().state == State::Connected).map(|l| l.session),
        })
    }
}

/// The aggregation as an extension of the OPC UA server.
struct AggregationExtension(Arc<Aggregator>);

impl ServerExtension for AggregationExtension {
    fn name(&self) -> &str {
        "aggregation"
    }

    fn namespaces(&self) -> Vec<String> {
        vec![AGGREGATION_NAMESPACE.to_string()]
    }

    fn core_diverter(&self) -> Option<fxgate_opcua_server::DiverterBuilder> {
        Some(crate::standard_calls::upstream_calls())
    }

    fn node_managers(&self, cx: &ExtensionContext) -> Vec<BoxedNodeManagerBuilder> {
        vec![Box::new(crate::forward_node_manager(self.0.clone(), cx.tags_namespace))]
    }

    fn method_roles(&self, method: &NodeId) -> Option<&'static [Role]> {
        crate::local::is_configuration_method(method).then_some(CONFIGURE)
    }
}
