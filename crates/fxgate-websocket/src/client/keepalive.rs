//! Keep-alive (seed 001 §5.1.1 `bKeepAlive`, `nKeepAliveInterval`, `nKeepAliveCloseTimeout`):
//! a ping after `keep_alive_interval` s without anything from the server, and the connection
//! ends when nothing arrives within `keep_alive_close_timeout` s of the ping.

use std::time::Duration;

use crate::config::WebSocketConfig;
use tokio::time::Instant;

/// What is due when [`KeepAlive::deadline`] passes.
pub(super) enum Due {
    /// Send a ping.
    Ping,
    /// The ping went unanswered: the connection is dead.
    TimedOut,
}

/// The keep-alive timing of one client.
pub(super) struct KeepAlive {
    enabled: bool,
    interval: Duration,
    close_timeout: Duration,
    last_rx: Instant,
    ping_sent: Option<Instant>,
}

impl KeepAlive {
    /// The timing `cfg` asks for.
    pub(super) fn new(cfg: &WebSocketConfig) -> Self {
        Self {
            enabled: cfg.keep_alive,
            interval: Duration::from_secs(cfg.keep_alive_interval),
            close_timeout: Duration::from_secs(cfg.keep_alive_close_timeout),
            last_rx: Instant::now(),
            ping_sent: None,
        }
    }

    /// When something is due; `None` when keep-alive is off or there is no connection.
    pub(super) fn deadline(&self, connected: bool) -> Option<Instant> {
        if !self.enabled || !connected {
            None
        } else if let Some(p) = self.ping_sent {
            Some(p + self.close_timeout)
        } else {
            Some(self.last_rx + self.interval)
        }
    }

    /// Something arrived from the server, or a new connection is up.
    pub(super) fn heard(&mut self) {
        self.last_rx = Instant::now();
        self.ping_sent = None;
    }

    /// The deadline passed: a ping is due (and counted as sent now), or the last one timed out.
    pub(super) fn due(&mut self) -> Due {
        if self.ping_sent.is_some() {
            Due::TimedOut
        } else {
            self.ping_sent = Some(Instant::now());
            Due::Ping
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(keep_alive: bool) -> WebSocketConfig {
        let mut c: WebSocketConfig = serde_json::from_value(serde_json::json!({"name": "t", "url": "ws://127.0.0.1:1/"})).unwrap();
        (c.keep_alive, c.keep_alive_interval, c.keep_alive_close_timeout) = (keep_alive, 30, 10);
        c
    }

    /// Seconds from now to the deadline, rounded.
    fn in_s(k: &KeepAlive) -> Option<u64> {
        k.deadline(true).map(|d| (d + Duration::from_millis(500)).saturating_duration_since(Instant::now()).as_secs())
    }

    #[test]
    fn ping_after_silence_then_timeout() {
        assert_eq!(KeepAlive::new(&cfg(false)).deadline(true), None);
        let mut k = KeepAlive::new(&cfg(true));
        assert_eq!(k.deadline(false), None);
        assert_eq!(in_s(&k), Some(30));
        assert!(matches!(k.due(), Due::Ping));
        assert_eq!(in_s(&k), Some(10));
        assert!(matches!(k.due(), Due::TimedOut));
        k.heard();
        assert_eq!(in_s(&k), Some(30));
        assert!(matches!(k.due(), Due::Ping));
    }
}
