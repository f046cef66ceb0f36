//! Ticks of a periodic source: how many ticks a step between two of its timestamps skipped, the
//! rule every loss estimate of the bench tools uses.

/// The ticks skipped by a step of `step` between two timestamps of a source that ticks every
/// `interval` (same unit): round(step / interval) − 1 when the step is at least 1.5 intervals
/// (that is always ≥ 1), `None` for a shorter step or an unknown interval (≤ 0).
pub fn skipped(step: i64, interval: i64) -> Option<u64> {
    if interval <= 0 || step * 2 < interval * 3 {
        return None;
    }
    let n = (step + interval / 2) / interval;
    Some((n - 1).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_skipped_ticks() {
        assert_eq!(skipped(100, 100), None);
        assert_eq!(skipped(149, 100), None);
        assert_eq!(skipped(150, 100), Some(1));
        assert_eq!(skipped(249, 100), Some(1));
        assert_eq!(skipped(250, 100), Some(2));
        assert_eq!(skipped(1_000, 100), Some(9));
        assert_eq!(skipped(5, 3), Some(1));
        assert_eq!(skipped(-300, 100), None);
        assert_eq!(skipped(1_000, 0), None);
        for interval in 1..50 {
            for step in 0..500 {
                if let Some(n) = skipped(step, interval) {
                    assert!(n >= 1, "{step}/{interval}");
                }
            }
        }
    }
}
