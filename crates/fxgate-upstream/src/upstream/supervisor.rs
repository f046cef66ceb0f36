//! The connection supervisor of an upstream: it connects, keeps the session until it is
//! lost, marks every monitored value Bad_NoCommunication in between, and tries again with
//! exponential back-off until the gateway stops or the upstream is removed. Every connection
//! is a new session (OPC 10000-4 §5.6.2); async-opcua's own reconnect is not used.

use std::sync::Arc;
use std::time::Duration;

use opcua::types::{DataValue, DateTime, StatusCode};

use super::{State, Upstream};

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
        let min = Duration::from_millis(self.config.reconnect_min_ms);
        let max = Duration::from_millis(self.config.reconnect_max_ms.max(self.config.reconnect_min_ms));
        let mut backoff = min;
        let mut first = true;
        loop {
            if !first {
                self.set_status(|s| s.reconnects += 1);
            }
            first = false;
            self.set_status(|s| s.state = State::Connecting);
            let attempt = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = self.clone().connect_once() => r,
            };
            match attempt {
                Ok(event_loop) => {
                    backoff = min;
                    self.set_status(|s| s.state = State::Connected);
                    tracing::info!(upstream = %self.name, url = %self.config.endpoint_url, "upstream connected");
                    let ended = tokio::select! {
                        _ = self.shutdown.cancelled() => None,
                        r = event_loop => Some(r),
                    };
                    let session = self.live.write().take();
                    self.items.clear_upstream_ids();
                    self.mark_bad();
                    match ended {
                        None => {
                            if let Some(l) = session {
                                let _ = tokio::time::timeout(Duration::from_secs(2), l.session.disconnect()).await;
                            }
                            self.set_status(|s| s.state = State::Disconnected);
                            return;
                        }
                        Some(r) => {
                            let status = r.unwrap_or(StatusCode::BadUnexpectedError);
                            let msg = format!("connection lost: {status}");
                            tracing::warn!(upstream = %self.name, %status, "upstream connection lost");
                            self.set_status(|s| {
                                s.state = State::Disconnected;
                                s.last_error = msg;
                            });
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(upstream = %self.name, url = %self.config.endpoint_url, error = %e, "cannot connect to upstream");
                    self.set_status(|s| {
                        s.state = State::Disconnected;
                        s.last_error = e.to_string();
                    });
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(max);
        }
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
