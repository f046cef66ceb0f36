//! The one reconnect back-off of the gateway: exponential with jitter (after Vector's
//! `ExponentialBackoff` and the "equal jitter" scheme of AWS's architecture blog).
//!
//! Lines, upstream sessions and northbound clients all wait with it between connection
//! attempts. The delay starts at `min`, doubles after every failed round up to `max`, and
//! each wait is shortened by a random part of up to `jitter` of itself, so that gateways
//! restarted together do not hammer a device or broker in lock-step. Jitter only ever
//! shortens a wait: the configured `max` stays the longest a reconnect can take.

use std::time::Duration;

/// The settings of a [`Backoff`], from a component's `reconnect_min_ms`,
/// `reconnect_max_ms` and `reconnect_jitter` keys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffSettings {
    /// The first delay.
    pub min: Duration,
    /// The longest delay.
    pub max: Duration,
    /// The share of each delay (0.0 to 1.0) that is taken off at random.
    pub jitter: f64,
}

impl BackoffSettings {
    /// The default jitter: up to a fifth of each delay.
    pub const DEFAULT_JITTER: f64 = 0.2;

    /// Settings from milliseconds, with the default jitter.
    pub fn from_millis(min_ms: u64, max_ms: u64) -> Self {
        Self {
            min: Duration::from_millis(min_ms),
            max: Duration::from_millis(max_ms.max(min_ms)),
            jitter: Self::DEFAULT_JITTER,
        }
    }

    /// The same settings with another jitter (clamped to 0.0 to 1.0).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        self
    }
}

/// An exponential back-off with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    settings: BackoffSettings,
    current: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    /// A back-off at its first delay.
    pub fn new(settings: BackoffSettings) -> Self {
        Self {
            current: settings.min,
            settings,
            rng: fastrand::Rng::new(),
        }
    }

    /// The same, with a fixed random seed (tests).
    pub fn with_seed(settings: BackoffSettings, seed: u64) -> Self {
        Self {
            current: settings.min,
            settings,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The delay to wait now; the next one is twice as long, up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = self.current.saturating_mul(2).min(self.settings.max);
        let cut = base.mul_f64(self.settings.jitter * self.rng.f64());
        base.saturating_sub(cut)
    }

    /// The delay [`next_delay`](Self::next_delay) would start from, without jitter.
    pub fn current(&self) -> Duration {
        self.current
    }

    /// Back to the first delay, after a connection that worked.
    pub fn reset(&mut self) {
        self.current = self.settings.min;
    }

    /// Waits for the next delay, or until `shutdown` is cancelled; `false` when cancelled.
    pub async fn wait(&mut self, shutdown: &tokio_util::sync::CancellationToken) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_max_without_jitter() {
        let mut b = Backoff::new(BackoffSettings::from_millis(100, 1000).with_jitter(0.0));
        let got: Vec<u128> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_only_shortens_and_varies() {
        let mut b = Backoff::with_seed(BackoffSettings::from_millis(1000, 1000).with_jitter(0.5), 7);
        let got: Vec<Duration> = (0..50).map(|_| b.next_delay()).collect();
        assert!(got.iter().all(|d| *d <= Duration::from_millis(1000) && *d >= Duration::from_millis(500)));
        let distinct: std::collections::HashSet<_> = got.iter().collect();
        assert!(distinct.len() > 10, "jitter must spread the delays: {got:?}");
    }

    #[test]
    fn settings_are_sane() {
        let s = BackoffSettings::from_millis(500, 100);
        assert_eq!(s.max, Duration::from_millis(500), "max is never below min");
        assert_eq!(s.with_jitter(7.0).jitter, 1.0);
        assert_eq!(s.with_jitter(f64::NAN).jitter, 0.0);
    }
}
