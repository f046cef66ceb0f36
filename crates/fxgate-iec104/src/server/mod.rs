//! fxgate as a controlled station (IEC 60870-5-104 server) on a server line: tags of any
//! source as information objects, spontaneous changes with their source time, general and
//! counter interrogation, clock synchronisation, commands through the store's write path,
//! an allow-list, a connection limit and redundancy groups (ed. 2) with their own queues.

mod connection;
pub mod group;
mod table;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fxgate_config::LineConfig;
use fxgate_core::store::StoreError;
use fxgate_core::{BuildError, Component, ComponentContext, Declared, RunningComponent, TagStore, TagStoreBuilder};
use fxgate_lines::{LineMetrics, LineServer, LineStatus};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::config::Iec104ServerConfig;
use crate::error::SetupError;
use connection::{serve, Shared};
use group::{Groups, ServerMetrics};
use table::{Change, Entry, Table};

/// A server line with an IEC 104 server on it.
pub struct Iec104ServerLine {
    line: LineConfig,
    server: Iec104ServerConfig,
    config_dir: PathBuf,
    status: LineStatus,
    metrics: ServerMetrics,
}

impl Iec104ServerLine {
    /// The server `server` on `line`; `config_dir` expands `#APPDIR#` in TLS paths.
    pub fn new(line: LineConfig, server: Iec104ServerConfig, config_dir: PathBuf, metrics: LineMetrics) -> Self {
        let status = LineStatus::new(&line.name, metrics);
        Self { line, server, config_dir, status, metrics: ServerMetrics::default() }
    }

    /// Counts dropped events into `metrics` (registered once by the protocol).
    pub fn with_metrics(mut self, metrics: ServerMetrics) -> Self {
        self.metrics = metrics;
        self
    }
}

/// Forwards the store's changes of mapped tags to every group's queue.
async fn distribute(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut rx = shared.store.subscribe();
    loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => return,
            b = rx.recv() => b,
        };
        let changes: Vec<Change> = match batch {
            Ok(batch) => batch
                .iter()
                .flat_map(|(tag, v)| {
                    shared.table.of_tag(*tag).iter().map(move |&i| (i, v))
                })
                .map(|(i, v)| Change {
                    entry: i,
                    out: crate::points::Outgoing {
                        ioa: shared.table.entries[i].ioa,
                        value: v.value.clone(),
                        quality: crate::quality::Quality::of_status(v.status),
                        time: v.source_timestamp,
                    },
                })
                .collect(),
            Err(RecvError::Lagged(n)) => {
                // Changes were missed: send every point's current value instead.
                tracing::warn!(server = %shared.server, missed = n, "IEC 104 server lagged behind the store; sending every point's current value");
                (0..shared.table.entries.len()).map(|i| shared.table.current(&shared.store, i)).collect()
            }
            Err(RecvError::Closed) => return,
        };
        if !changes.is_empty() {
            shared.groups.push(&changes);
        }
    }
}

fn table(cfg: &Iec104ServerConfig, store: &TagStore) -> Result<Table, SetupError> {
    let mut t = Table::default();
    for (index, m) in cfg.map.iter().enumerate() {
        let tag = store
            .id_of(&m.tag)
            .ok_or_else(|| SetupError::UnknownTag { server: cfg.name.clone(), index, tag: m.tag.clone() })?;
        t.add(Entry { tag, ioa: m.ioa, family: m.monitor, command: m.command }, m.command_address());
    }
    Ok(t)
}

impl Component for Iec104ServerLine {
    fn kind(&self) -> &'static str {
        "iec104 server line"
    }

    fn name(&self) -> String {
        self.line.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        Ok(Declared { tags: self.status.declare(b)?, writes: None })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        async move {
            let this = *self;
            this.status.attach(cx.store.clone(), &cx.tags);
            let table = table(&this.server, &cx.store).map_err(BuildError::protocol)?;
            let setup = |e: fxgate_lines::LineError| BuildError::protocol(SetupError::Line { line: this.line.name.clone(), reason: e.to_string() });
            let server = LineServer::new(this.line.clone(), &this.config_dir, this.status.clone()).map_err(setup)?;
            let listener = server.bind().map_err(setup)?;
            let cfg = this.server;
            let shared = Arc::new(Shared {
                table,
                groups: Groups::new(&cfg, &this.metrics),
                store: cx.store.clone(),
                ca: cfg.common_address,
                server: cfg.name.clone(),
                status: this.status.clone(),
                params: cfg.link(),
            });
            let allowed: Vec<IpAddr> = cfg.allowed_masters.iter().filter_map(|m| m.trim().parse().ok()).collect();
            let max = cfg.max_connections;
            let shutdown = cx.shutdown.clone();
            let task = async move {
                let mut tasks = tokio::task::JoinSet::new();
                tasks.spawn(distribute(shared.clone(), shutdown.clone()));
                let ids = AtomicU64::new(1);
                // The distributor is one of the tasks: connections are the others.
                let connections = |t: &tokio::task::JoinSet<()>| t.len().saturating_sub(1);
                loop {
                    let (tcp, peer) = tokio::select! {
                        _ = shutdown.cancelled() => {
                            let drain = async { while tasks.join_next().await.is_some() {} };
                            if tokio::time::timeout(Duration::from_secs(2), drain).await.is_err() {
                                tasks.abort_all();
                            }
                            return Ok(());
                        }
                        Some(ended) = tasks.join_next() => {
                            if let Err(e) = ended {
                                tracing::error!(server = %shared.server, error = %e, "an IEC 104 server task ended abnormally");
                            }
                            continue;
                        }
                        a = listener.accept() => match a {
                            Ok(a) => a,
                            Err(e) => {
                                tracing::warn!(server = %shared.server, error = %e, "cannot accept an IEC 104 master");
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            }
                        },
                    };
                    let ip = match peer.ip() {
                        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer.ip()),
                        v4 => v4,
                    };
                    if !allowed.is_empty() && !allowed.contains(&ip) {
                        tracing::info!(server = %shared.server, %peer, "IEC 104 master refused: not in allowed_masters");
                        continue;
                    }
                    let Some(group) = shared.groups.of(ip) else {
                        tracing::info!(server = %shared.server, %peer, "IEC 104 master refused: in no redundancy group");
                        continue;
                    };
                    if connections(&tasks) >= max {
                        tracing::info!(server = %shared.server, %peer, max_connections = max, "IEC 104 master refused: too many connections");
                        continue;
                    }
                    tracing::info!(server = %shared.server, %peer, group = %shared.groups.name(group), "IEC 104 master connected");
                    let stream = server.wrap(tcp, peer);
                    let id = ids.fetch_add(1, Ordering::Relaxed);
                    tasks.spawn(serve(shared.clone(), stream, peer, group, id, shutdown.clone()));
                }
            }
            .boxed();
            Ok(RunningComponent { task, health: Arc::new(|| Ok(())) })
        }
        .boxed()
    }
}
