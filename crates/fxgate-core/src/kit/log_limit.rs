//! Log lines for things that can happen thousands of times a second (a full buffer dropping
//! messages, bad frames from a device): at most one line per period, and that line says how
//! many it stands for. The counters in the status folder count every occurrence.

use std::time::{Duration, Instant};

/// The default period: one line per ten seconds at most.
pub const LOG_PERIOD: Duration = Duration::from_secs(10);

/// Lets one log line through per period.
#[derive(Debug)]
pub struct LogLimit {
    period: Duration,
    last: Option<Instant>,
    held: u64,
}

impl Default for LogLimit {
    fn default() -> Self {
        Self::new(LOG_PERIOD)
    }
}

impl LogLimit {
    /// At most one line per `period`.
    pub const fn new(period: Duration) -> Self {
        Self { period, last: None, held: 0 }
    }

    /// Whether to log the occurrence that happens now: `Some(n)` with the number of
    /// occurrences held back since the last line, or `None` to stay silent (it is counted).
    pub fn allow(&mut self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.period => {
                self.held += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_held_back() {
        let mut l = LogLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(l.allow_at(t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(l.allow_at(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(l.allow_at(t0 + Duration::from_secs(10)), Some(1000));
        assert_eq!(l.allow_at(t0 + Duration::from_secs(11)), None);
        assert_eq!(l.allow_at(t0 + Duration::from_secs(21)), Some(1));
    }
}
