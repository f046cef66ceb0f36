//! Wires the configured sources and sinks around one tag store and runs them
//! until shutdown (Ctrl-C / SIGTERM) or until one of them fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fxgate_config::Config;
use fxgate_core::{Component, ComponentContext, HealthCheck, TagStoreBuilder};
use fxgate_opcua_server::{OpcUaServerSink, ServerMetrics};
use fxgate_lines::LineMetrics;
use fxgate_websocket::{WebSocketSink, WsMetrics};
use fxgate_sources::modbus::{ModbusClientLine, ModbusServerLine};
use fxgate_sources::simulator::SimulatorSource;
use fxgate_upstream::{Aggregator, AggregatorComponent, UpstreamMetrics};
use tokio_util::sync::CancellationToken;

/// The components a configuration asks for: sources first, then sinks.
fn components(
    config: &Config,
    config_dir: PathBuf,
    metrics: ServerMetrics,
    line_metrics: &LineMetrics,
    ws_metrics: &WsMetrics,
    aggregator: Arc<Aggregator>,
    fx: fxgate_fx::namespaces::FxNamespaces,
) -> Vec<Box<dyn Component>> {
    let mut out: Vec<Box<dyn Component>> = Vec::new();
    for sim in &config.simulator {
        out.push(Box::new(SimulatorSource::new(sim.clone())));
    }
    // Each line carries one protocol: the devices on it (client line) or a server.
    for line in &config.line {
        let devices: Vec<_> = config.device.iter().filter(|d| d.line == line.name).cloned().collect();
        let servers: Vec<_> = config.modbus_server.iter().filter(|s| s.line == line.name).cloned().collect();
        if !devices.is_empty() {
            out.push(Box::new(ModbusClientLine::new(
                line.clone(),
                devices,
                config_dir.clone(),
                line_metrics.clone(),
            )));
        } else if let Some(server) = servers.into_iter().next() {
            out.push(Box::new(ModbusServerLine::new(
                line.clone(),
                server,
                config_dir.clone(),
                line_metrics.clone(),
            )));
        } else {
            tracing::warn!(line = %line.name, "no device or server uses this line; it stays closed");
        }
    }
    for ws in &config.websocket {
        out.push(Box::new(WebSocketSink::new(ws.clone(), &config.users, config_dir.clone(), ws_metrics.clone())));
    }
    out.push(Box::new(
        OpcUaServerSink::new(config.clone(), config_dir, metrics).with_aggregator(aggregator.clone()).with_fx(fx),
    ));
    // the upstream sessions; on /healthz as `upstreams`
    out.push(Box::new(AggregatorComponent::new(aggregator)));
    out
}

/// Runs the gateway.
/// `config_file` is the configuration file (none: the embedded default), where run-time
/// configuration changes are written.
pub async fn run(
    config: Config,
    config_file: Option<PathBuf>,
    config_dir: PathBuf,
    data_dir: PathBuf,
) -> Result<(), String> {
    let shutdown = CancellationToken::new();
    let server_metrics = ServerMetrics::default();
    let line_metrics = LineMetrics::default();
    let ws_metrics = WsMetrics::default();
    let upstream_metrics = UpstreamMetrics::default();
    let namespaces = namespace_table(&data_dir)?;
    let aggregator = aggregator(
        &config,
        config_file,
        &config_dir,
        &data_dir,
        namespaces.clone(),
        upstream_metrics.clone(),
        &shutdown,
    )?;
    let comps = components(
        &config,
        config_dir,
        server_metrics.clone(),
        &line_metrics,
        &ws_metrics,
        aggregator.clone(),
        fx_namespaces(&namespaces)?,
    );

    let mut builder = TagStoreBuilder::new();
    let mut declared = Vec::with_capacity(comps.len());
    for c in &comps {
        let d = c
            .declare(&mut builder)
            .map_err(|e| format!("{} `{}`: {e}", c.kind(), c.name()))?;
        declared.push(d);
    }
    let store = builder.build();
    tracing::info!(tags = store.len(), "tag store built");

    let mut tasks = tokio::task::JoinSet::new();
    let mut health: Vec<(String, HealthCheck)> = Vec::new();
    for (c, d) in comps.into_iter().zip(declared) {
        let label = match c.name() {
            n if n.is_empty() => c.kind().to_string(),
            n => format!("{} `{n}`", c.kind()),
        };
        let cx = ComponentContext {
            store: store.clone(),
            tags: d.tags,
            writes: d.writes,
            shutdown: shutdown.clone(),
            data_dir: data_dir.clone(),
        };
        let running = match c.build(cx).await {
            Ok(r) => r,
            Err(e) => {
                shutdown.cancel();
                return Err(format!("{label}: {e}"));
            }
        };
        health.push((label.clone(), running.health));
        let task = running.task;
        tasks.spawn(async move { (label, task.await) });
    }

    let http = if config.http.listen.is_empty() {
        None
    } else {
        let state = crate::http::HttpState::new(
            store.clone(),
            server_metrics,
            line_metrics,
            ws_metrics,
            upstream_metrics,
            health,
        );
        let da = match da_api(&config, &data_dir, namespaces.clone()) {
            Ok(r) => r,
            Err(e) => {
                shutdown.cancel();
                return Err(e);
            }
        };
        match crate::http::serve(&config.http.listen, state, da, shutdown.clone()).await {
            Ok(h) => Some(h),
            Err(e) => {
                shutdown.cancel();
                return Err(e);
            }
        }
    };
    release_startup_memory();
    tracing::info!("fxgate ready");

    let result = tokio::select! {
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            Ok(())
        }
        Some(ended) = tasks.join_next() => match ended {
            Ok((label, Ok(()))) => Err(format!("{label} stopped unexpectedly")),
            Ok((label, Err(e))) => Err(format!("{label}: {e}")),
            Err(e) => Err(format!("a component panicked: {e}")),
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
) -> Result<axum::Router, String> {
    let host = match config.server.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
        h => h,
    };
    let url = format!("opc.tcp://{host}:{}/", config.server.port);
    let client = fxgate_da_api::InternalClient::new(data_dir, url, namespaces, com_aliases(config))
        .map_err(|e| format!("DA item API: {e}"))?;
    Ok(fxgate_da_api::router(std::sync::Arc::new(client)))
}

/// The ComAliases of the configured upstreams: `alias` stands for the gateway namespace
/// `<name>/<alias_namespace>`.
fn com_aliases(config: &Config) -> Vec<fxgate_da_api::ComAlias> {
    config
        .upstream
        .iter()
        .filter(|u| !u.alias.is_empty())
        .map(|u| fxgate_da_api::ComAlias {
            alias: u.alias.clone(),
            namespace_uri: fxgate_upstream::names::key(&u.name, &u.alias_namespace),
        })
        .collect()
}

/// The table indexes of the FX namespaces (the table holds them: [`namespace_table`]).
fn fx_namespaces(table: &fxgate_core::SharedNamespaceTable) -> Result<fxgate_fx::namespaces::FxNamespaces, String> {
    use fxgate_fx::namespaces as fx;
    let t = table.lock().map_err(|_| "namespace table lock poisoned".to_string())?;
    let at = |uri: &str| t.index_of(uri).ok_or_else(|| format!("namespace table: {uri} missing"));
    Ok(fx::FxNamespaces {
        data: at(fx::FX_DATA)?,
        ac: at(fx::FX_AC)?,
        cm: at(fx::FX_CM)?,
        di: at(fx::DI)?,
        instances: at(fx::FX_INSTANCES)?,
    })
}

/// The persisted namespace table, with the server's own namespaces first so that their
/// table indexes are the server's indexes (1 application, 2 tags, 3 aggregation, then the
/// OPC UA FX ones: FX Data, FX AC, FX CM, DI, FX instances).
fn namespace_table(data_dir: &Path) -> Result<fxgate_core::SharedNamespaceTable, String> {
    let mut table =
        fxgate_core::NamespaceTable::open(&data_dir.join("namespaces.toml")).map_err(|e| e.to_string())?;
    let app = fxgate_opcua_server::application_uri();
    table
        .ensure([
            app.as_str(),
            fxgate_opcua_server::TAG_NAMESPACE,
            fxgate_upstream::AGGREGATION_NAMESPACE,
        ])
        .map_err(|e| e.to_string())?;
    table.ensure(fxgate_fx::namespaces::ALL).map_err(|e| e.to_string())?;
    Ok(Arc::new(std::sync::Mutex::new(table)))
}

/// The upstream servers and the client identity the gateway uses with them.
fn aggregator(
    config: &Config,
    config_file: Option<PathBuf>,
    config_dir: &Path,
    data_dir: &Path,
    namespaces: fxgate_core::SharedNamespaceTable,
    metrics: UpstreamMetrics,
    shutdown: &CancellationToken,
) -> Result<Arc<Aggregator>, String> {
    let data_dir = std::path::absolute(data_dir).map_err(|e| format!("data dir: {e}"))?;
    let pki_dir = data_dir.join(fxgate_pki::CLIENT_PKI);
    let (cert, application_uri) =
        fxgate_pki::ensure_client_certificate(&data_dir).map_err(|e| format!("client certificate: {e}"))?;
    let settings = fxgate_upstream::upstream::ClientSettings {
        pki_dir,
        cert: cert.cert_path,
        key: cert.key_path,
        application_uri,
        config_dir: config_dir.to_path_buf(),
    };
    let names = Arc::new(fxgate_upstream::UpstreamNamespaces::new(namespaces));
    let config_file = config_file
        .map(|f| std::path::absolute(&f).map_err(|e| format!("config file {}: {e}", f.display())))
        .transpose()?;
    Ok(Aggregator::new(config.upstream.clone(), names, settings, metrics, shutdown.child_token(), config_file))
}
