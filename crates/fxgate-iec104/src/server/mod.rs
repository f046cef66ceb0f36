//! fxgate as a controlled station (IEC 60870-5-104 server) on a server line.
//! STUB: being written.

use std::path::PathBuf;

use fxgate_config::LineConfig;
use fxgate_core::store::StoreError;
use fxgate_core::{BuildError, Component, ComponentContext, Declared, RunningComponent, TagStoreBuilder};
use fxgate_lines::{LineMetrics, LineStatus};
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::config::Iec104ServerConfig;

/// A server line with an IEC 104 server on it.
pub struct Iec104ServerLine {
    line: LineConfig,
    server: Iec104ServerConfig,
    config_dir: PathBuf,
    status: LineStatus,
}

impl Iec104ServerLine {
    /// The server `server` on `line`; `config_dir` expands `#APPDIR#` in TLS paths.
    pub fn new(line: LineConfig, server: Iec104ServerConfig, config_dir: PathBuf, metrics: LineMetrics) -> Self {
        let status = LineStatus::new(&line.name, metrics);
        Self { line, server, config_dir, status }
    }
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
            let _ = (&this.server, &this.config_dir);
            let shutdown = cx.shutdown.clone();
            let task = async move {
                shutdown.cancelled().await;
                Ok(())
            }
            .boxed();
            Ok(RunningComponent { task, health: std::sync::Arc::new(|| Ok(())) })
        }
        .boxed()
    }
}
