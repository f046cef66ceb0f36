//! Reconnecting: the first attempt at once, then after every failure or loss a delay of the
//! shared back-off (`reconnect_min_ms` doubling up to `reconnect_max_ms`, shortened by up to
//! `reconnect_jitter`); a connection that is up resets it. The client's loop waits for a due
//! time rather than sleeping, so this keeps the time the next attempt is due.

use crate::config::WebSocketConfig;
use tokio::time::Instant;

/// When the next connection attempt is due.
pub(super) struct Backoff {
    delays: fxgate_core::Backoff,
    next_attempt: Instant,
    attempted: bool,
}

impl Backoff {
    /// The delays `cfg` asks for; the first attempt is due now.
    pub(super) fn new(cfg: &WebSocketConfig) -> Self {
        let settings = fxgate_core::BackoffSettings::from_millis(cfg.reconnect_min_ms, cfg.reconnect_max_ms)
            .with_jitter(cfg.reconnect_jitter);
        Self { delays: fxgate_core::Backoff::new(settings), next_attempt: Instant::now(), attempted: false }
    }

    /// When the next attempt is due.
    pub(super) fn next_attempt(&self) -> Instant {
        self.next_attempt
    }

    /// An attempt starts; whether it is a reconnect (any but the first).
    pub(super) fn attempt(&mut self) -> bool {
        std::mem::replace(&mut self.attempted, true)
    }

    /// A connection is up: the next failure waits the shortest delay again.
    pub(super) fn connected(&mut self) {
        self.delays.reset();
    }

    /// An attempt failed or a connection was lost: wait, and wait longer next time.
    pub(super) fn failed(&mut self) {
        self.next_attempt = Instant::now() + self.delays.next_delay();
    }

    /// The attempt did not get to try (its task died): wait as long as now, no longer next time.
    pub(super) fn retry(&mut self) {
        self.next_attempt = Instant::now() + self.delays.current();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cfg() -> WebSocketConfig {
        let mut c: WebSocketConfig = serde_json::from_value(serde_json::json!({"name": "t", "url": "ws://127.0.0.1:1/"})).unwrap();
        (c.reconnect_min_ms, c.reconnect_max_ms, c.reconnect_jitter) = (1000, 3000, 0.0);
        c
    }

    /// How far away the next attempt is, in whole seconds.
    fn wait_s(b: &Backoff) -> u64 {
        (b.next_attempt() + Duration::from_millis(500)).saturating_duration_since(Instant::now()).as_secs()
    }

    #[test]
    fn doubles_up_to_the_max_and_resets_when_connected() {
        let mut b = Backoff::new(&cfg());
        assert_eq!(wait_s(&b), 0);
        assert!(!b.attempt(), "the first attempt is no reconnect");
        assert!(b.attempt());
        let waits: Vec<u64> = (0..4)
            .map(|_| {
                b.failed();
                wait_s(&b)
            })
            .collect();
        assert_eq!(waits, [1, 2, 3, 3]);
        b.retry();
        assert_eq!(wait_s(&b), 3);
        b.connected();
        b.failed();
        assert_eq!(wait_s(&b), 1);
    }
}
