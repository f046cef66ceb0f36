//! The OPC UA server as a sink component: builds the server from `[server]`,
//! binds its port, and serves until shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use fxgate_config::{ServerConfig, UserDirectory};
use fxgate_core::{BuildError, Component, ComponentContext, RunError, RunningComponent, Unhealthy};
use opcua::server::diagnostics::DiagnosticsNodeManagerBuilder;
use opcua::server::{ReverseConnectTargetConfig, ServerBuilder, ServerHandle};
use opcua::types::{ExtensionObject, ServerDiagnosticsSummaryDataType, Variant};

use crate::auth::Authenticator;
use crate::chunk_guard::ChunkGuard;
use crate::opn_check::OpnCheck;
use crate::extension::{Boxed, ExtensionContext, Extensions};
use crate::endpoints::endpoints;
use crate::metrics::ServerMetrics;
use crate::tags::tag_node_manager;

/// The northbound OPC UA server.
pub struct OpcUaServerSink {
    server: ServerConfig,
    users: UserDirectory,
    config_dir: PathBuf,
    metrics: ServerMetrics,
    extensions: Extensions,
    restart: Option<crate::gds::certificate::Restart>,
}

impl OpcUaServerSink {
    /// From `[server]` and the users (`[[users]]`, changed at run time by the configurator);
    /// `config_dir` resolves relative certificate paths;
    /// `extensions` add to the address space (aggregation, OPC UA FX, …) in their order.
    pub fn new(
        server: ServerConfig,
        users: UserDirectory,
        config_dir: PathBuf,
        metrics: ServerMetrics,
        extensions: Extensions,
    ) -> Self {
        Self { server, users, config_dir, metrics, extensions, restart: None }
    }

    /// With the gateway's restart, which ApplyChanges (push management of the certificate)
    /// uses to put a new certificate in use.
    pub fn with_restart(mut self, restart: crate::gds::certificate::Restart) -> Self {
        self.restart = Some(restart);
        self
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerBuildError {
    /// The PKI directories could not be made.
    #[error("PKI directories: {0}")]
    Pki(String),
    /// The application certificate could not be made or read.
    #[error("application certificate: {0}")]
    Certificate(String),
    /// The port is taken.
    #[error("cannot listen on {address}: port {port} is already in use (server.port)")]
    PortInUse {
        /// `host:port`.
        address: String,
        /// The port.
        port: u16,
    },
    /// Another socket error.
    #[error("cannot listen on {address}: {source} (server.host / server.port)")]
    Listen {
        /// `host:port`.
        address: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// async-opcua refused the configuration.
    #[error("OPC UA server configuration: {0}")]
    Configuration(String),
}

/// The server stopped on its own.
#[derive(Debug, thiserror::Error)]
#[error("OPC UA server stopped: {0}")]
pub struct ServerStopped(String);

/// A reverse connect target that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReverseTargetError {
    /// The name does not resolve.
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, std::io::Error),
    /// It resolves to nothing.
    #[error("{0} resolves to no address")]
    NoAddress(String),
}

/// The server's application URI (also namespace 1 of its NamespaceArray).
pub fn application_uri() -> String {
    format!("urn:{}:fxgate", fxgate_pki::machine_hostname())
}

/// The URL clients are told to use.
pub fn endpoint_url(server: &ServerConfig) -> String {
    if server.endpoint_url.is_empty() {
        format!("opc.tcp://{}:{}/", fxgate_pki::machine_hostname(), server.port)
    } else {
        server.endpoint_url.clone()
    }
}

impl Component for OpcUaServerSink {
    fn kind(&self) -> &'static str {
        "opcua_server"
    }

    fn name(&self) -> String {
        "server".into()
    }

    fn build(
        self: Box<Self>,
        cx: ComponentContext,
    ) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        async move { self.start(cx).await.map_err(BuildError::protocol) }.boxed()
    }
}

impl OpcUaServerSink {
    async fn start(self, cx: ComponentContext) -> Result<RunningComponent, ServerBuildError> {
        let cfg = &self.server;
        let data_dir = cx.data_dir.clone();
        fxgate_pki::ensure_layout(&data_dir).map_err(|e| ServerBuildError::Pki(e.to_string()))?;
        let pki_dir = data_dir.join(fxgate_pki::SERVER_PKI);
        let app_uri = application_uri();
        let (cert, key) = if cfg.certificate.is_empty() {
            let hosts = fxgate_pki::hostnames_for_certificate(&cfg.host);
            let c = fxgate_pki::ensure_application_certificate(
                &pki_dir,
                &cfg.application_name,
                &app_uri,
                &hosts,
            )
            .map_err(|e| ServerBuildError::Certificate(e.to_string()))?;
            (c.cert_path, c.key_path)
        } else {
            (
                absolute(&self.config_dir, &cfg.certificate),
                absolute(&self.config_dir, &cfg.private_key),
            )
        };
        let url = endpoint_url(&self.server);
        let auth = Arc::new(
            Authenticator::new(&self.server, self.users.clone(), data_dir.clone())
                .with_extensions(self.extensions.clone())
                .with_failure_counter(self.metrics.login_failures.clone()),
        );
        let shutdown = cx.shutdown.child_token();

        let bind = format!("{}:{}", cfg.host, cfg.port);
        let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                ServerBuildError::PortInUse { address: bind.clone(), port: cfg.port }
            } else {
                ServerBuildError::Listen { address: bind.clone(), source: e }
            }
        })?;
        // async-opcua listens on loopback behind the chunk guard, which holds the public port.
        let inner_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ServerBuildError::Listen { address: "127.0.0.1:0".into(), source: e })?;
        let inner = inner_listener
            .local_addr()
            .map_err(|e| ServerBuildError::Listen { address: "127.0.0.1:0".into(), source: e })?;
        let mut reverse_targets = Vec::new();
        for target in &cfg.reverse_connect {
            match reverse_target(target, &url).await {
                Ok(t) => {
                    tracing::info!(client = %target, "reverse connect target added");
                    reverse_targets.push(t);
                }
                Err(e) => tracing::warn!(client = %target, error = %e, "reverse connect target not usable"),
            }
        }
        // async-opcua's default node managers (core, diagnostics); the core one with calls
        // and reads diverted: the extensions' (the aggregation's standard methods on upstream
        // objects), then push management of the certificate and trust list
        let mut diverters: Vec<_> = self.extensions.iter().filter_map(|e| e.core_diverter()).collect();
        diverters.push(crate::capabilities::server_limits(cfg));
        diverters.push(crate::gds::push_management(crate::gds::GdsSettings {
            pki_dir: pki_dir.clone(),
            cert_path: cert.clone(),
            key_path: key.clone(),
            application_uri: app_uri.clone(),
            restart: self.restart.clone(),
            auth: auth.clone(),
        }));
        let mut builder = ServerBuilder::new().without_node_managers();
        builder = builder
            .with_node_manager(crate::core_calls::core_node_manager(diverters))
            .with_node_manager(DiagnosticsNodeManagerBuilder)
            .application_name(cfg.application_name.clone())
            .application_uri(app_uri.clone())
            .product_uri("urn:fxgate")
            .create_sample_keypair(false)
            .certificate_path(cert.clone())
            .private_key_path(key.clone())
            .pki_dir(pki_dir.clone())
            .trust_client_certs(cfg.accept_all_certificates)
            .check_cert_time(true)
            .host(fxgate_pki::url_host(&url))
            .port(cfg.port)
            .discovery_urls(vec![url.clone()])
            .max_sessions(cfg.max_sessions)
            .diagnostics_enabled(true)
            .with_authenticator(auth.clone())
            .with_node_manager(tag_node_manager(
                cx.store.clone(),
                auth.clone(),
                self.metrics.clone(),
                shutdown.clone(),
            ))
            .token(shutdown.clone());
        // the extensions after the tag node manager, in order (the aggregation's namespace
        // keeps index 3, the FX ones take their table indexes)
        let ext_cx = ExtensionContext {
            store: cx.store.clone(),
            tags_namespace: crate::tags::TAG_NAMESPACE,
            endpoint_url: url.clone(),
            shutdown: shutdown.clone(),
        };
        for ext in self.extensions.iter() {
            for loader in ext.type_loaders() {
                builder = builder.with_type_loader(loader);
            }
            for nm in ext.node_managers(&ext_cx) {
                builder = builder.with_node_manager(Boxed(nm));
            }
            tracing::debug!(extension = ext.name(), "OPC UA server extension added");
        }
        for (id, e) in endpoints(cfg) {
            if e.security_policy() == opcua::crypto::SecurityPolicy::Basic256Sha256
                && e.message_security_mode() == opcua::types::MessageSecurityMode::SignAndEncrypt
            {
                builder = builder.default_endpoint(id.clone());
            }
            builder = builder.add_endpoint(id, e);
        }
        {
            let limits = builder.limits_mut();
            limits.subscriptions.max_subscriptions_per_session = cfg.max_subscriptions_per_session;
            limits.subscriptions.max_monitored_items_per_sub = cfg.max_monitored_items_per_subscription;
            limits.subscriptions.max_queued_notifications = 1_000_000;
            limits.subscriptions.min_sampling_interval_ms = cfg.min_sampling_interval_ms;
            limits.subscriptions.max_monitored_item_queue_size = cfg.max_queue_size;
            // async-opcua's default is 0 (no limit): 10,000 Double changes make a 340 kB
            // response, over the message size, which it drops whole.
            limits.subscriptions.max_notifications_per_publish = cfg.max_notifications_per_publish;
            limits.operational.max_monitored_items_per_call = 100_000;
            limits.operational.max_nodes_per_read = 100_000;
            limits.operational.max_nodes_per_write = 10_000;
            limits.operational.max_nodes_per_browse = 10_000;
        }
        let max_chunk = u32::try_from(builder.limits_mut().receive_buffer_size).unwrap_or(u32::MAX);
        let (server, handle) = builder
            .build()
            .map_err(|e| ServerBuildError::Configuration(e.to_string()))?;

        if cfg.accept_all_certificates {
            tracing::warn!(
                "accept_all_certificates = true: every client certificate is trusted (commissioning \
                 state, seed §4.2). Set it to false and trust clients with `fxgate pki trust` for production."
            );
        }
        if cfg.allow_none {
            tracing::warn!("allow_none = true: the unsecured None endpoint is offered");
        }
        if cfg.allow_deprecated {
            tracing::warn!("allow_deprecated = true: the deprecated Basic128Rsa15 and Basic256 policies are offered");
        }
        tracing::info!(endpoint = %url, listen = %bind, policies = endpoints(cfg).len(), "OPC UA server listening");

        for t in reverse_targets {
            handle.add_reverse_connect_target(t);
        }
        let mut lds_task = None;
        if !cfg.register_with_lds.is_empty() {
            lds_task = Some(tokio::spawn(crate::discovery::register_periodically(
                handle.info().clone(),
                cfg.register_with_lds.clone(),
                pki_dir.clone(),
                cert.clone(),
                key.clone(),
                Duration::from_secs(cfg.register_interval_s),
                shutdown.clone(),
            )));
        }
        tokio::spawn(update_metrics(handle.clone(), self.metrics.clone(), shutdown.clone()));
        let certificates = (!cfg.accept_all_certificates).then(|| OpnCheck::new(pki_dir.clone()));
        let guard = ChunkGuard { max_chunk, inner, info: handle.info().clone(), refused: self.metrics.refused_chunks.clone(), refused_certificates: self.metrics.refused_certificates.clone(), certificates };
        tokio::spawn(guard.serve(listener, shutdown.clone()));

        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let task = async move {
            let r = server.run_with(inner_listener).await;
            flag.store(false, Ordering::Relaxed);
            // Let the registration task unregister from the discovery server.
            if let Some(t) = lds_task {
                let _ = tokio::time::timeout(Duration::from_secs(4), t).await;
            }
            r.map_err(|e| RunError::protocol(ServerStopped(e.to_string())))
        }
        .boxed();
        let health = Arc::new(move || {
            if running.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err(Unhealthy("OPC UA server is not running".to_string()))
            }
        });
        Ok(RunningComponent { task, health })
    }
}

fn absolute(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

async fn reverse_target(client_url: &str, endpoint_url: &str) -> Result<ReverseConnectTargetConfig, ReverseTargetError> {
    let rest = client_url.trim_start_matches("opc.tcp://");
    let authority = rest.split('/').next().unwrap_or(rest);
    let address: SocketAddr = tokio::net::lookup_host(authority)
        .await
        .map_err(|e| ReverseTargetError::Resolve(authority.to_string(), e))?
        .next()
        .ok_or_else(|| ReverseTargetError::NoAddress(authority.to_string()))?;
    Ok(ReverseConnectTargetConfig {
        address,
        endpoint_url: endpoint_url.to_string(),
        id: client_url.to_string(),
    })
}

async fn update_metrics(handle: ServerHandle, metrics: ServerMetrics, shutdown: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let sample = handle.info().summary().sample();
        if let Some(Variant::ExtensionObject(ExtensionObject { body: Some(body) })) = sample.value {
            if let Some(s) = body.as_dyn_any().downcast_ref::<ServerDiagnosticsSummaryDataType>() {
                metrics.sessions.set(i64::from(s.current_session_count));
                metrics.sessions_created.set(i64::from(s.cumulated_session_count));
                metrics.subscriptions.set(i64::from(s.current_subscription_count));
                metrics.security_rejections.set(i64::from(
                    s.security_rejected_session_count + s.security_rejected_requests_count,
                ));
            }
        }
    }
}
