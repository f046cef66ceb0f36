//! The simulator source: a device whose tags move by waveforms, so a new user
//! sees live data at once and benchmarks have a load of any size.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use crate::config::SimulatorConfig;
use fxgate_core::tag_type::{data_type_id, has_type};
use fxgate_core::{
    AccessMode, BuildError, Component, ComponentContext, ComponentResult, Declared, RunningComponent, TagDef,
    TagStoreBuilder, TagValue, WriteRequest,
};
use fxgate_core::store::StoreError;
use opcua::types::{StatusCode, Variant};
use tokio::time::MissedTickBehavior;

use crate::wave::Wave;

/// The simulator built other tags than it declared (a defect, never a config problem).
#[derive(Debug, thiserror::Error)]
#[error("declared {declared} tags, built {built}")]
pub struct TagCountMismatch {
    /// Tags declared in the store.
    pub declared: usize,
    /// Waves built.
    pub built: usize,
}

/// A configured simulator.
pub struct SimulatorSource {
    cfg: SimulatorConfig,
}

impl SimulatorSource {
    /// From its configuration.
    pub fn new(cfg: SimulatorConfig) -> Self {
        Self { cfg }
    }

    fn waves(&self) -> Vec<Wave> {
        let mut out = Vec::new();
        for t in &self.cfg.tags {
            let shared = std::sync::Arc::new(t.clone());
            out.extend((0..t.count.max(1)).map(|i| Wave::new(&shared, i)));
        }
        out
    }
}

impl Component for SimulatorSource {
    fn kind(&self) -> &'static str {
        "simulator"
    }

    fn name(&self) -> String {
        self.cfg.name.clone()
    }

    fn declare(&self, store: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        let mut tags = Vec::new();
        let mut any_writable = false;
        let source: std::sync::Arc<str> = self.cfg.name.as_str().into();
        for t in &self.cfg.tags {
            any_writable |= t.writable;
            let meta = t.meta().map(std::sync::Arc::new);
            for name in t.names() {
                tags.push(store.add_tag(TagDef {
                    source: source.clone(),
                    name,
                    data_type: data_type_id(t.data_type),
                    access: if t.writable { AccessMode::ReadWrite } else { AccessMode::Read },
                    description: t.description.clone(),
                    meta: meta.clone(),
                })?);
            }
        }
        let writes = if any_writable {
            Some(store.add_writer(&self.cfg.name)?)
        } else {
            None
        };
        Ok(Declared { tags, writes })
    }

    fn build(
        self: Box<Self>,
        cx: ComponentContext,
    ) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        let waves = self.waves();
        let interval = Duration::from_millis(self.cfg.interval_ms);
        let name = self.cfg.name.clone();
        async move {
            if waves.len() != cx.tags.len() {
                return Err(BuildError::protocol(TagCountMismatch { declared: cx.tags.len(), built: waves.len() }));
            }
            let task = run(name, waves, interval, cx).boxed();
            Ok(RunningComponent {
                task,
                health: std::sync::Arc::new(|| Ok(())),
            })
        }
        .boxed()
    }
}

/// Most changes published as one change batch.
const BATCH: usize = 10_000;

async fn run(
    name: String,
    mut waves: Vec<Wave>,
    interval: Duration,
    mut cx: ComponentContext,
) -> ComponentResult {
    let start = Instant::now();
    // Publish the initial values at once (in batches of at most BATCH).
    for (ids, waves) in cx.tags.chunks(BATCH).zip(waves.chunks(BATCH)) {
        cx.store.update(ids.iter().zip(waves).map(|(&id, w)| (id, TagValue::good(w.current().clone()))).collect());
    }
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ticker.tick().await;
    let mut n: u64 = 0;
    tracing::info!(source = %name, tags = waves.len(), ?interval, "simulator running");
    loop {
        tokio::select! {
            _ = cx.shutdown.cancelled() => return Ok(()),
            _ = ticker.tick() => {
                n += 1;
                let t = start.elapsed().as_secs_f64();
                let stamp = TagValue::good(Variant::Empty);
                // In batches of at most BATCH: a million changed tags in one batch would hold
                // 72 MB until every sink has seen it.
                for (ids, waves) in cx.tags.chunks(BATCH).zip(waves.chunks_mut(BATCH)) {
                    let batch: Vec<_> = ids.iter().zip(waves.iter_mut())
                        .filter_map(|(&id, w)| w.tick(n, t).then(|| (id, TagValue { value: w.current().clone(), ..stamp.clone() })))
                        .collect();
                    cx.store.update(batch);
                    // Let the sinks take it before the next one is made, so that a tick does
                    // not queue all its batches at once.
                    tokio::task::yield_now().await;
                }
            }
            Some(req) = recv(&mut cx.writes) => {
                handle_write(&cx, &mut waves, req);
            }
        }
    }
}

async fn recv(rx: &mut Option<fxgate_core::WriteReceiver>) -> Option<WriteRequest> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn handle_write(cx: &ComponentContext, waves: &mut [Wave], req: WriteRequest) {
    let Some(pos) = cx.tags.iter().position(|&t| t == req.tag) else {
        req.answer(StatusCode::BadNodeIdUnknown);
        return;
    };
    let wave = &mut waves[pos];
    if !has_type(wave.data_type(), &req.value) {
        req.answer(StatusCode::BadTypeMismatch);
        return;
    }
    wave.set(req.value.clone());
    cx.store.update(vec![(req.tag, TagValue::good(req.value.clone()))]);
    req.answer(StatusCode::Good);
}
