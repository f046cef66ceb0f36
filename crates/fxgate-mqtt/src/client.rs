//! The component of one `[[mqtt]]`: its line status and tags declared, then one connection
//! supervisor per broker and the driver started.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fxgate_config::{LineConfig, Role, UserConfig};
use fxgate_core::store::StoreError;
use fxgate_core::tag_type::data_type_id;
use fxgate_core::{AccessMode, BuildError, Component, ComponentContext, Declared, RunningComponent, TagDef, TagStoreBuilder};
use fxgate_forward::Fsync;
use fxgate_lines::{Device, LineClient, LineMetrics, LineStatus};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{MqttConfig, MqttVersion};
use std::sync::atomic::AtomicU64;

use crate::conn::{self, ConnEvent, SessionParams, WillPlan};
use crate::driver::{Driver, Inputs, Spb};
use crate::sparkplug::EdgeNode;
use crate::error::SetupError;
use crate::metrics::ClientMetrics;
use crate::northbound::Publisher;
use crate::outbox::Outbox;
use crate::requests::Requests;
use crate::session::SessionState;
use crate::southbound::Southbound;
use crate::wire::Codec;

/// Line status tags declared first (State, ActiveDevice, LastError, ReconnectCount).
const STATUS_TAGS: usize = 4;

/// A configured MQTT client.
pub struct MqttClient {
    cfg: MqttConfig,
    line: LineConfig,
    config_dir: PathBuf,
    status: LineStatus,
    metrics: ClientMetrics,
    may_write: bool,
    /// The users with the `write` role.
    writers: Vec<String>,
}

impl MqttClient {
    /// From its config and line; `users` decides whether requests may write.
    pub fn new(cfg: MqttConfig, line: LineConfig, users: &[UserConfig], config_dir: PathBuf, line_metrics: LineMetrics, metrics: ClientMetrics) -> Self {
        let writers: Vec<String> = users.iter().filter(|u| u.roles.contains(&Role::Write)).map(|u| u.name.clone()).collect();
        let may_write = writers.contains(&cfg.user);
        let status = LineStatus::new(&line.name, line_metrics);
        Self { cfg, line, config_dir, status, metrics, may_write, writers }
    }

}

impl Component for MqttClient {
    fn kind(&self) -> &'static str {
        "mqtt"
    }

    fn name(&self) -> String {
        self.cfg.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        let mut tags = self.status.declare(b)?;
        let source: Arc<str> = self.cfg.name.as_str().into();
        for t in &self.cfg.tag {
            tags.push(b.add_tag(TagDef {
                source: source.clone(),
                name: t.name.clone(),
                data_type: data_type_id(t.tag_type),
                access: if t.command_topic.is_empty() { AccessMode::Read } else { AccessMode::ReadWrite },
                description: t.description.clone(),
                meta: None,
            })?);
        }
        let writes = if self.cfg.tag.iter().any(|t| !t.command_topic.is_empty()) { Some(b.add_writer(&self.cfg.name)?) } else { None };
        Ok(Declared { tags, writes })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        async move { (*self).start(cx).map_err(BuildError::protocol) }.boxed()
    }
}

impl MqttClient {
    fn start(self, cx: ComponentContext) -> Result<RunningComponent, SetupError> {
        let cfg = self.cfg;
        let (status_ids, tag_ids) = cx.tags.split_at(STATUS_TAGS.min(cx.tags.len()));
        if tag_ids.len() < cfg.tag.len() {
            return Err(SetupError::TagIds);
        }
        self.status.attach(cx.store.clone(), status_ids);
        let south = Southbound::new(&cfg.name, &cfg.tag, tag_ids, cx.store.clone(), self.metrics.clone());
        let mut filters: Vec<(String, crate::config::Qos)> = south.filters().into_iter().map(|f| (f, cfg.subscribe_qos)).collect();
        if !cfg.request_topic.is_empty() && !filters.iter().any(|(f, _)| *f == cfg.request_topic) {
            filters.push((cfg.request_topic.clone(), cfg.subscribe_qos));
        }
        let sparkplug = match &cfg.sparkplug {
            Some(sp) => {
                let node = EdgeNode::new(sp, cx.store.clone())?;
                filters.extend(node.filters().into_iter().map(|f| (f, cfg.subscribe_qos)));
                let may_write = !sp.user.is_empty() && self.writers.contains(&sp.user);
                Some(Spb::new(node, may_write))
            }
            None => None,
        };
        let will = match &sparkplug {
            Some(s) => WillPlan::Sparkplug { topic: s.node.death_topic(), next: Arc::new(AtomicU64::new(0)) },
            None if !cfg.status_topic.is_empty() => WillPlan::Status(cfg.status_topic.clone()),
            None => WillPlan::None,
        };
        let params = Arc::new(SessionParams {
            codec: Codec(cfg.version),
            client_id: cfg.client_id(),
            keep_alive: cfg.keep_alive(),
            clean: cfg.clean_session,
            session_expiry: (cfg.version == MqttVersion::V5 && !cfg.clean_session).then(|| cfg.session_expiry()),
            login: (!cfg.username.is_empty() || !cfg.password.is_empty()).then(|| (cfg.username.clone(), cfg.password.clone())),
            filters,
            will,
        });
        let setup = |source| SetupError::Line { line: self.line.name.clone(), source };
        let mut primary = LineClient::new(self.line.clone(), &self.config_dir, self.status.clone()).map_err(setup)?;
        primary.leave_state_to_protocol();
        let redundant = primary.is_redundant();
        let mut lines = vec![(Device::Primary, primary)];
        if redundant {
            let mut backup = LineClient::new(self.line.clone(), &self.config_dir, self.status.clone()).map_err(setup)?;
            backup.leave_state_to_protocol();
            lines.push((Device::Backup, backup));
        }
        let publishers = cfg.publish.iter().map(|p| Publisher::new(p.clone(), cfg.publish_qos, &cx.store)).collect::<Result<Vec<_>, _>>()?;
        if !cfg.request_topic.is_empty() && !self.may_write {
            tracing::warn!(mqtt = %cfg.name, user = %cfg.user, "write requests on `{}` will be answered Bad_UserAccessDenied: `user` is empty or has no `write` role", cfg.request_topic);
        }
        let (answers_tx, answers) = mpsc::channel(256);
        let requests = (!cfg.request_topic.is_empty()).then(|| {
            let r = Requests { response_topic: cfg.response_topic.clone(), may_write: self.may_write, qos: cfg.publish_qos, store: cx.store.clone(), answers: answers_tx };
            (cfg.request_topic.clone(), r)
        });
        let outbox = Outbox::new(cfg.buffer_max_bytes as usize, cfg.buffer_memory_bytes as usize, Fsync::from_ms(cfg.buffer_fsync_ms), cx.data_dir.join("mqtt").join(&cfg.name), self.metrics.clone());
        let driver = Driver {
            name: cfg.name.clone(),
            status: self.status.clone(),
            redundant,
            grace: Duration::from_millis(self.line.connect_timeout_ms),
            fail_back: Duration::from_secs(cfg.fail_back_s),
            publish_qos: cfg.publish_qos,
            outbox,
            south,
            publishers,
            requests,
            sparkplug,
            store: cx.store.clone(),
            metrics: self.metrics.clone(),
        };
        let (events_tx, events) = mpsc::channel(4096);
        let inputs = Inputs { events, answers, writes: cx.writes, changes: cx.store.subscribe() };
        let health = self.status.health();
        let shutdown = cx.shutdown.clone();
        let task = async move {
            // Sessions end with the driver: they get their own token, cancelled after it.
            let sessions = CancellationToken::new();
            let mut set = tokio::task::JoinSet::new();
            for (slot, (device, line)) in lines.into_iter().enumerate() {
                set.spawn(supervise(slot, device, redundant, line, params.clone(), events_tx.clone(), sessions.clone()));
            }
            drop(events_tx);
            let driver = tokio::spawn(driver.run(inputs, shutdown.clone()));
            shutdown.cancelled().await;
            // Let the sessions say goodbye (status offline, DISCONNECT) before the driver saves.
            sessions.cancel();
            while set.join_next().await.is_some() {}
            let _ = driver.await;
            Ok(())
        };
        Ok(RunningComponent { task: task.boxed(), health })
    }
}

/// Keeps one broker connected: connect (cycling the device's addresses with back-off), run
/// the session until it ends, report, again.
async fn supervise(slot: usize, device: Device, redundant: bool, mut line: LineClient, params: Arc<SessionParams>, events: mpsc::Sender<ConnEvent>, shutdown: CancellationToken) {
    let mut state = SessionState::default();
    loop {
        let conn = if redundant { line.connect_device(device, &shutdown).await } else { line.connect(&shutdown).await };
        let Some(conn) = conn else { return };
        let target = conn.target.to_string();
        match conn::run(slot, target, conn.stream, params.clone(), &mut state, events.clone(), shutdown.clone()).await {
            Ok(()) => return,
            Err(error) => {
                if events.send(ConnEvent::Down { slot, error }).await.is_err() || shutdown.is_cancelled() {
                    return;
                }
            }
        }
    }
}
