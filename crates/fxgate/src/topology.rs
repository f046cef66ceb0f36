//! Wires the configured sources and sinks around one tag store and runs them until
//! shutdown (Ctrl-C / SIGTERM) or until one of them fails. Walks the registry's list of
//! protocols; names none of them (after Vector's `topology/builder.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fxgate_config::{Claims, ConfigFile};
use fxgate_core::{BuildError, HealthCheck, RunError, TagStoreBuilder};
use fxgate_lines::LineMetrics;
use fxgate_opcua_server::{OpcUaServerSink, ServerMetrics};
use fxgate_plugin::{BuildContext, Built};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::registry::Config;

/// Why the gateway stopped or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunFailure {
    /// The persisted namespace table could not be opened or extended.
    #[error("namespace table: {0}")]
    Namespaces(#[from] fxgate_core::NamespaceError),
    /// The namespace table's lock was poisoned by a panic.
    #[error("namespace table lock poisoned")]
    NamespaceLock,
    /// A protocol could not be built.
    #[error("{section}: {source}")]
    Build {
        /// The section's key.
        section: &'static str,
        /// Why.
        #[source]
        source: BuildError,
    },
    /// A component's tags could not be declared.
    #[error("{label}: {source}")]
    Declare {
        /// The component.
        label: String,
        /// Why.
        #[source]
        source: fxgate_core::StoreError,
    },
    /// A component could not start.
    #[error("{label}: {source}")]
    Start {
        /// The component.
        label: String,
        /// Why.
        #[source]
        source: BuildError,
    },
    /// A component stopped on its own, without an error.
    #[error("{0} stopped unexpectedly")]
    Stopped(String),
    /// A component failed.
    #[error("{label}: {source}")]
    Failed {
        /// The component.
        label: String,
        /// Why.
        #[source]
        source: RunError,
    },
    /// A component's task panicked.
    #[error("a component panicked: {0}")]
    Panicked(tokio::task::JoinError),
    /// The DA item API could not be set up.
    #[error("DA item API: {0}")]
    DaApi(#[source] fxgate_da_api::ClientError),
    /// The HTTP listener could not start.
    #[error(transparent)]
    Http(#[from] crate::http::ListenError),
}

/// How a run ended without a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Stopped by a signal.
    Stopped,
    /// Stopped to be started again (the configurator's Restart).
    Restart,
}

/// Runs the gateway.
/// `config_file` is the configuration file (none: the embedded default), where run-time
/// configuration changes are written.
pub async fn run(
    config: Config,
    config_file: Option<PathBuf>,
    config_dir: PathBuf,
    data_dir: PathBuf,
    logs: fxgate_core::LogRing,
    log_level: Arc<dyn fxgate_configurator::LogFilter>,
) -> Result<Ended, RunFailure> {
    let shutdown = CancellationToken::new();
    let result = start_and_run(&config, config_file.as_deref(), &config_dir, &data_dir, (logs, log_level), &shutdown).await;
    shutdown.cancel();
    result
}

async fn start_and_run(
    config: &Config,
    config_file: Option<&Path>,
    config_dir: &Path,
    data_dir: &Path,
    (logs, log_level): (fxgate_core::LogRing, Arc<dyn fxgate_configurator::LogFilter>),
    shutdown: &CancellationToken,
) -> Result<Ended, RunFailure> {
    let gateway = config.gateway();
    let namespaces = namespace_table(data_dir)?;
    let mut registry = Registry::default();
    let server_metrics = ServerMetrics::default();
    let line_metrics = LineMetrics::default();
    let built = {
        let fxgate = registry.sub_registry_with_prefix("fxgate");
        server_metrics.register(fxgate);
        line_metrics.register(fxgate);
        let mut cx = BuildContext::new(
            config_dir,
            config_file,
            data_dir,
            gateway.line,
            gateway.users,
            &line_metrics,
            fxgate,
            &namespaces,
            crate::registry::check_text,
            shutdown,
        );
        for (key, protocol) in config.protocols() {
            protocol.build(key, &mut cx).map_err(|source| RunFailure::Build { section: key, source })?;
        }
        cx.finish()
    };
    warn_unclaimed_lines(config);
    let Built { mut components, extensions, item_aliases, server_admin } = built;
    {
        let mut table = namespaces.lock().map_err(|_| RunFailure::NamespaceLock)?;
        for e in &extensions {
            table.ensure(e.namespaces().iter().map(String::as_str))?;
        }
    }
    let opcua_sessions = server_metrics.sessions.clone();
    let anonymous = gateway.server.anonymous.then(|| gateway.server.anonymous_roles.clone());
    let users = fxgate_config::UserDirectory::new(gateway.users.to_vec(), anonymous);
    let restart = Arc::new(tokio::sync::Notify::new());
    let restart_fn: Arc<dyn Fn() + Send + Sync> = Arc::new({
        let restart = restart.clone();
        move || restart.notify_one()
    });
    components.push(Box::new(
        OpcUaServerSink::new(gateway.server.clone(), users.clone(), config_dir.to_path_buf(), server_metrics, Arc::new(extensions))
            .with_restart(restart_fn.clone()),
    ));

    let mut builder = TagStoreBuilder::new();
    let mut declared = Vec::with_capacity(components.len());
    for c in &components {
        let d = c.declare(&mut builder).map_err(|source| RunFailure::Declare { label: label(c.as_ref()), source })?;
        declared.push(d);
    }
    let store = builder.build();
    tracing::info!(tags = store.len(), "tag store built");

    let mut tasks = tokio::task::JoinSet::new();
    let mut health: Vec<(String, HealthCheck)> = Vec::new();
    for (c, d) in components.into_iter().zip(declared) {
        let label = label(c.as_ref());
        let cx = fxgate_core::ComponentContext {
            store: store.clone(),
            tags: d.tags,
            writes: d.writes,
            shutdown: shutdown.clone(),
            data_dir: data_dir.to_path_buf(),
        };
        let running = c.build(cx).await.map_err(|source| RunFailure::Start { label: label.clone(), source })?;
        health.push((label.clone(), running.health));
        let task = running.task;
        tasks.spawn(async move { (label, task.await) });
    }

    let http = if gateway.http.listen.is_empty() {
        None
    } else {
        let ui_metrics = fxgate_configurator::UiMetrics::default();
        ui_metrics.register(&mut registry);
        let running = crate::ui::Running {
            users,
            logs,
            health: health.clone(),
            sessions: opcua_sessions,
            store: store.clone(),
            metrics: ui_metrics,
            servers: server_admin,
            log_level,
            restart: Some(restart_fn),
        };
        let ui = crate::ui::router(gateway, config_file, data_dir, running);
        let state = crate::http::HttpState::new(store.clone(), registry, health);
        let da = da_api(config, data_dir, namespaces.clone(), item_aliases)?.merge(ui);
        let transport = if gateway.http.tls {
            let (certificate, private_key) = crate::https::certificate_files(gateway.http, gateway.server, config_dir, data_dir);
            crate::http::Transport::Https { certificate, private_key }
        } else {
            crate::http::Transport::Plain
        };
        Some(crate::http::serve(&gateway.http.listen, transport, state, da, shutdown.clone()).await?)
    };
    release_startup_memory();
    tracing::info!("fxgate ready");

    let result = tokio::select! {
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            Ok(Ended::Stopped)
        }
        _ = restart.notified() => {
            tracing::info!("restarting: stopping every component, then starting again on the configuration file");
            Ok(Ended::Restart)
        }
        Some(ended) = tasks.join_next() => match ended {
            Ok((label, Ok(()))) => Err(RunFailure::Stopped(label)),
            Ok((label, Err(source))) => Err(RunFailure::Failed { label, source }),
            Err(e) => Err(RunFailure::Panicked(e)),
        },
    };
    shutdown.cancel();
    let drain = async {
        while tasks.join_next().await.is_some() {}
        if let Some(h) = http {
            let _ = h.await;
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(5), drain).await.is_err() {
        tracing::warn!("components did not stop within 5 s");
    }
    result
}

/// How a component is named in logs and on `/healthz`.
fn label(c: &dyn fxgate_core::Component) -> String {
    let (kind, name) = (c.kind(), c.name());
    if name.is_empty() || kind == name {
        kind.to_string()
    } else {
        format!("{kind} `{name}`")
    }
}

/// A line no section claims stays closed; say so.
fn warn_unclaimed_lines(config: &Config) {
    let mut claims = Claims::default();
    for (key, s) in config.sections() {
        s.claims(key, &mut claims);
    }
    for line in config.gateway().line {
        if claims.line_owner(&line.name).is_none() {
            tracing::warn!(line = %line.name, "no protocol uses this line; it stays closed");
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Building the address space and the store allocates and frees a lot once; hand the
/// freed heap back to the OS so the idle footprint reflects what is really in use.
fn release_startup_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's allocator; it has no
    // preconditions and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The DA item API, a client of our own OPC UA server over loopback.
fn da_api(
    config: &Config,
    data_dir: &std::path::Path,
    namespaces: fxgate_core::SharedNamespaceTable,
    aliases: Vec<(String, String)>,
) -> Result<axum::Router, RunFailure> {
    let host = match config.server.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
        h => h,
    };
    let url = format!("opc.tcp://{host}:{}/", config.server.port);
    let client = fxgate_da_api::InternalClient::new(data_dir, url, namespaces, aliases.into_iter().map(|(alias, namespace_uri)| fxgate_da_api::ComAlias { alias, namespace_uri }).collect())
        .map_err(RunFailure::DaApi)?;
    Ok(fxgate_da_api::router(std::sync::Arc::new(client)))
}

/// The persisted namespace table, with the server's own namespaces first so that their
/// table indexes are the server's indexes (1 application, 2 tags); the server extensions'
/// namespaces follow in extension order (3 aggregation, then the OPC UA FX ones).
fn namespace_table(data_dir: &Path) -> Result<fxgate_core::SharedNamespaceTable, RunFailure> {
    let mut table = fxgate_core::NamespaceTable::open(&data_dir.join("namespaces.toml"))?;
    let app = fxgate_opcua_server::application_uri();
    table.ensure([app.as_str(), fxgate_opcua_server::TAG_NAMESPACE])?;
    Ok(Arc::new(std::sync::Mutex::new(table)))
}
