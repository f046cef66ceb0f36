//! The connection supervisor of an upstream: it connects, keeps the session until it is
//! lost, marks every monitored value Bad_NoCommunication in between, and tries again with
//! exponential back-off until the gateway stops or the upstream is removed. Every connection
//! is a new session (OPC 10000-4 §5.6.2); async-opcua's own reconnect is not used.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fxgate_core::kit::supervisor::{supervise, Event, Supervised};
use fxgate_core::{Backoff, BackoffSettings};
use opcua::types::{DataValue, DateTime, StatusCode};
use tokio::task::JoinHandle;

use super::connect::ConnectError;
use super::{State, Upstream};

/// Why there is no session.
enum NoSession {
    /// The attempt failed.
    Connect(ConnectError),
    /// The session's event loop ended with this status.
    Lost(StatusCode),
}

/// The upstream as the shared supervisor loop sees it.
struct Session(Arc<Upstream>);

impl Supervised for Session {
    /// The session's event loop task.
    type Conn = JoinHandle<StatusCode>;
    type Error = NoSession;

    fn connect(&mut self) -> impl Future<Output = Result<Self::Conn, NoSession>> + Send {
        let up = self.0.clone();
        async move { up.connect_once().await.map_err(NoSession::Connect) }
    }

    async fn run(&mut self, conn: &mut Self::Conn) -> NoSession {
        NoSession::Lost(conn.await.unwrap_or(StatusCode::BadUnexpectedError))
    }

    fn event(&mut self, event: Event<'_, NoSession>) {
        let up = &self.0;
        match event {
            Event::Connecting { retry } => up.set_status(|s| {
                if retry {
                    s.reconnects += 1;
                }
                s.state = State::Connecting;
            }),
            Event::Connected => {
                up.set_status(|s| s.state = State::Connected);
                tracing::info!(upstream = %up.name, url = %up.config.endpoint_url, "upstream connected");
            }
            Event::Failed(NoSession::Connect(e)) => {
                tracing::warn!(upstream = %up.name, url = %up.config.endpoint_url, error = %e, "cannot connect to upstream");
                let msg = e.to_string();
                up.set_status(|s| {
                    s.state = State::Disconnected;
                    s.last_error = msg;
                });
            }
            Event::Lost(NoSession::Lost(status)) | Event::Failed(NoSession::Lost(status)) => {
                up.end_session();
                let msg = format!("connection lost: {status}");
                tracing::warn!(upstream = %up.name, %status, "upstream connection lost");
                up.set_status(|s| {
                    s.state = State::Disconnected;
                    s.last_error = msg;
                });
            }
            Event::Lost(NoSession::Connect(e)) => {
                up.end_session();
                let msg = e.to_string();
                up.set_status(|s| {
                    s.state = State::Disconnected;
                    s.last_error = msg;
                });
            }
        }
    }

    fn close(&mut self, _conn: Self::Conn) -> impl Future<Output = ()> + Send {
        let up = self.0.clone();
        async move {
            if let Some(l) = up.end_session() {
                let _ = tokio::time::timeout(Duration::from_secs(2), l.session.disconnect()).await;
            }
            up.set_status(|s| s.state = State::Disconnected);
        }
    }
}

impl Upstream {
    /// Runs the connection supervisor until shutdown.
    pub async fn run(self: Arc<Self>) {
        if !self.config.enabled {
            self.set_status(|s| {
                s.state = State::Disconnected;
                s.last_error = "disabled (enabled = false)".into();
            });
            return;
        }
        let c = &self.config;
        let mut backoff = Backoff::new(BackoffSettings::from_millis(c.reconnect_min_ms, c.reconnect_max_ms).with_jitter(c.reconnect_jitter));
        let shutdown = self.shutdown.clone();
        supervise(&mut Session(self), &mut backoff, &shutdown).await;
    }

    /// The session is over: it is forgotten, the shared items lose their upstream ids and
    /// every monitored value turns Bad_NoCommunication. Returns the session that was live.
    fn end_session(&self) -> Option<super::Live> {
        let session = self.live.write().take();
        self.items.clear_upstream_ids();
        self.mark_bad();
        session
    }

    /// Every monitored value turns Bad_NoCommunication. Reads keep answering with the last
    /// value and its source timestamp (from the cache). The notification itself carries no
    /// value and no source timestamp: async-opcua's server drops a notification whose source
    /// timestamp is not later than the previous one (its sampling-interval filter) and, for
    /// items without a DataChangeFilter, one whose value did not change, so a status-only
    /// change with the old timestamp would never reach the client.
    fn mark_bad(&self) {
        if self.is_removed() {
            return;
        }
        let now = DateTime::now();
        self.notify_items(|node, attr| {
            let last = self.cache.get(node, attr).map(|(dv, _)| dv);
            let kept = DataValue {
                value: last.as_ref().and_then(|d| d.value.clone()),
                status: Some(StatusCode::BadNoCommunication),
                source_timestamp: last.as_ref().and_then(|d| d.source_timestamp),
                server_timestamp: Some(now),
                ..Default::default()
            };
            self.cache.put(node, attr, &kept);
            DataValue {
                value: None,
                status: Some(StatusCode::BadNoCommunication),
                source_timestamp: None,
                server_timestamp: Some(now),
                ..Default::default()
            }
        });
    }
}
