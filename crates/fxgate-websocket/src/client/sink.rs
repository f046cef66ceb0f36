//! The component of one `[[websocket]]`: its state tags declared, then the client built from
//! the configuration (URL, `ST_IotSocketTls`, JWT, tag selection, buffer) and started.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use fxgate_config::{Role, UserConfig};

use crate::config::WebSocketConfig;
use fxgate_core::store::StoreError;
use fxgate_core::{Component, ComponentContext, Declared, RunningComponent, TagStoreBuilder};
use fxgate_forward::{Buffer, Collector, Fsync, Selection, TagFilter};

use super::connect::Connector;
use super::Client;
use crate::error::StartError;
use crate::jwt::Jwt;
use crate::message;
use crate::status::{WsMetrics, WsStatus};
use crate::tls;

/// A configured WebSocket client.
pub struct WebSocketSink {
    cfg: WebSocketConfig,
    config_dir: PathBuf,
    state: WsStatus,
    may_write: bool,
}

impl WebSocketSink {
    /// From its config; `users` decides whether commands may write.
    pub fn new(cfg: WebSocketConfig, users: &[UserConfig], config_dir: PathBuf, metrics: WsMetrics) -> Self {
        let may_write = users.iter().any(|u| u.name == cfg.user && u.roles.contains(&Role::Write));
        let state = WsStatus::new(&cfg.name, metrics);
        Self { cfg, config_dir, state, may_write }
    }
}

impl Component for WebSocketSink {
    fn kind(&self) -> &'static str {
        "websocket"
    }

    fn name(&self) -> String {
        self.cfg.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        Ok(Declared { tags: self.state.declare(b)?, writes: None })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, fxgate_core::BuildError>> {
        async move { (*self).start(cx).map_err(fxgate_core::BuildError::protocol) }.boxed()
    }
}

impl WebSocketSink {
    /// Builds the client and its task.
    fn start(self, cx: ComponentContext) -> Result<RunningComponent, StartError> {
        let this = self;
        this.state.attach(cx.store.clone(), &cx.tags);
        let url = url::Url::parse(&this.cfg.url)?;
        let tls = match (&this.cfg.tls, url.scheme()) {
            (Some(t), "wss") => Some(tls::connector(t, &this.config_dir)?),
            (None, "wss") => Some(tls::connector(&crate::config::WsTlsConfig::default(), &this.config_dir)?),
            _ => None,
        };
        if this.cfg.tls.as_ref().is_some_and(|t| t.no_server_cert_check) {
            tracing::warn!(websocket = %this.cfg.name, "SERVER CERTIFICATE CHECK IS OFF (no_server_cert_check): anyone can impersonate the server");
        }
        let jwt = match &this.cfg.jwt {
            Some(j) => Some(Jwt::new(j, &this.config_dir)?),
            None => None,
        };
        let filter = TagFilter::new(&this.cfg.tags)?;
        let selection = Selection::new(&cx.store, &filter);
        if selection.is_empty() {
            tracing::warn!(websocket = %this.cfg.name, tags = ?this.cfg.tags, "no tag matches; only state is exchanged");
        }
        let spill = cx.data_dir.join("websocket").join(&this.cfg.name).join("spill.bin");
        // The sequence number is kept on disk: after a kill no number is used for a second message.
        let buffer = Buffer::new(this.cfg.buffer_max_bytes as usize, this.cfg.buffer_memory_bytes as usize, spill)
            .with_durability(Fsync::from_ms(this.cfg.buffer_fsync_ms), true);
        let health = this.state.health();
        let changes = cx.store.subscribe();
        let conn = Connector {
            cfg: Arc::new(this.cfg.clone()),
            url,
            tls,
            jwt: jwt.map(Arc::new),
            written: Arc::new(AtomicU64::new(0)),
        };
        let persist = cx.data_dir.join("websocket").join(&this.cfg.name).join("pending.bin");
        let client = Client {
            encoding: message::encoding(this.cfg.encoding),
            cfg: this.cfg,
            state: this.state,
            store: cx.store,
            changes: Collector::new(selection),
            buffer,
            seq: 0,
            may_write: this.may_write,
            connector: conn,
            bytes_accounted: 0,
            full_log: fxgate_core::LogLimit::default(),
            persist,
        };
        Ok(RunningComponent { task: client.run(changes, cx.shutdown).map(Ok).boxed(), health })
    }
}
