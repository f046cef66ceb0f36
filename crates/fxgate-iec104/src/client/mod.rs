//! The controlling station (IEC 60870-5-104 client) on a client line.
//!
//! One connection per line carries every station of the line (told apart by their
//! common address). On a redundant line fxgate keeps a connection to the primary and one
//! to the backup station at once (seed 002, parallel policy): one is started (STARTDT),
//! the other stands by (kept alive by TESTFR) and takes over when the active one is lost.

mod command;
mod driver;
mod station;

use std::path::PathBuf;

use fxgate_config::LineConfig;
use fxgate_core::store::StoreError;
use fxgate_core::{BuildError, Component, ComponentContext, Declared, RunningComponent, TagStoreBuilder};
use fxgate_lines::{Connection, Device, LineClient, LineMetrics, LineStatus};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Iec104DeviceConfig;
use crate::error::SetupError;
use driver::Driver;
use station::Station;

/// A client line with the IEC 104 stations behind it.
pub struct Iec104ClientLine {
    line: LineConfig,
    devices: Vec<Iec104DeviceConfig>,
    config_dir: PathBuf,
    status: LineStatus,
}

impl Iec104ClientLine {
    /// The line `line` with `devices`; `config_dir` expands `#APPDIR#` in TLS paths.
    pub fn new(line: LineConfig, devices: Vec<Iec104DeviceConfig>, config_dir: PathBuf, metrics: LineMetrics) -> Self {
        let status = LineStatus::new(&line.name, metrics);
        Self { line, devices, config_dir, status }
    }
}

impl Component for Iec104ClientLine {
    fn kind(&self) -> &'static str {
        "iec104 client line"
    }

    fn name(&self) -> String {
        self.line.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        let mut tags = self.status.declare(b)?;
        let first = b.len();
        let mut writers = Vec::new();
        for d in &self.devices {
            if station::declare(d, b)? {
                writers.push(d.name.as_str());
            }
        }
        tags.extend((first..b.len()).map(|i| i as fxgate_core::TagId));
        let writes = if writers.is_empty() { None } else { Some(b.add_writer_for(&writers)?) };
        Ok(Declared { tags, writes })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        async move {
            let this = *self;
            let (status_ids, rest) = cx.tags.split_at(4.min(cx.tags.len()));
            this.status.attach(cx.store.clone(), status_ids);
            let mut stations = Vec::new();
            let mut at = 0;
            for d in &this.devices {
                let ids = rest.get(at..at + d.tag.len()).ok_or(BuildError::protocol(SetupError::TagIds))?;
                stations.push(Station::new(d, ids));
                at += d.tag.len();
            }
            let setup = |e: fxgate_lines::LineError| BuildError::protocol(SetupError::Line { line: this.line.name.clone(), reason: e.to_string() });
            let params = this.devices.first().map(|d| d.link()).unwrap_or_default();
            // t0 bounds connection establishment, as the line's connect_timeout_ms does.
            let mut line_cfg = this.line.clone();
            line_cfg.connect_timeout_ms = line_cfg.connect_timeout_ms.min(params.t0.as_millis() as u64);
            let mut primary = LineClient::new(line_cfg.clone(), &this.config_dir, this.status.clone()).map_err(setup)?;
            let redundant = primary.is_redundant();
            primary.leave_state_to_protocol();
            let (got_tx, got_rx) = mpsc::channel(2);
            let mut connectors = Vec::new();
            let (want_p, rx) = mpsc::channel(1);
            connectors.push(connector(primary, Device::Primary, redundant, rx, got_tx.clone(), cx.shutdown.clone()).boxed());
            let mut wants = vec![want_p];
            if redundant {
                let mut backup = LineClient::new(line_cfg.clone(), &this.config_dir, this.status.clone()).map_err(setup)?;
                backup.leave_state_to_protocol();
                let (want_b, rx) = mpsc::channel(1);
                connectors.push(connector(backup, Device::Backup, true, rx, got_tx, cx.shutdown.clone()).boxed());
                wants.push(want_b);
            }
            let health = this.status.health();
            let driver = Driver::new(stations, cx.store.clone(), cx.writes, cx.shutdown.clone(), this.status.clone(), params, wants, got_rx);
            let connect_timeout = std::time::Duration::from_millis(line_cfg.connect_timeout_ms);
            let task = async move {
                // The connectors are this component's tasks too: they end with it.
                let mut set = tokio::task::JoinSet::new();
                for c in connectors {
                    set.spawn(c);
                }
                let r = driver.run(connect_timeout).await;
                set.abort_all();
                r
            };
            Ok(RunningComponent { task: task.boxed(), health })
        }
        .boxed()
    }
}

/// Connects to `device` (or, on a plain line, to the line's addresses in turn) each time
/// the driver asks, and hands the connection over.
async fn connector(
    mut line: LineClient,
    device: Device,
    redundant: bool,
    mut want: mpsc::Receiver<()>,
    got: mpsc::Sender<(Device, Connection)>,
    shutdown: CancellationToken,
) {
    loop {
        let asked = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = want.recv() => a,
        };
        if asked.is_none() {
            return;
        }
        let conn = if redundant { line.connect_device(device, &shutdown).await } else { line.connect(&shutdown).await };
        let Some(conn) = conn else { return };
        if got.send((device, conn)).await.is_err() {
            return;
        }
    }
}
