//! Summaries in the JSON lines: percentiles of latency lists, CPU use, and the rounding of the
//! figures (the sinks' `serde_json` values, and the load tools' [`Latencies`] for [`Json`]).

use serde_json::{json, Value};

use crate::json::Json;

/// The `p`th percentile (0-100) of µs values sorted ascending, in ms: the value at the rounded
/// position `p`/100 × (n − 1). `None` when empty.
pub fn pct(sorted: &[i64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)] as f64 / 1000.0)
}

/// The mean of µs values, in ms. `None` when empty.
pub fn mean_ms(us: &[i64]) -> Option<f64> {
    (!us.is_empty()).then(|| us.iter().sum::<i64>() as f64 / us.len() as f64 / 1000.0)
}

/// A µs value in ms (for the first or last of a sorted list).
pub fn us_to_ms(us: Option<&i64>) -> Option<f64> {
    us.map(|&x| x as f64 / 1000.0)
}

/// Milliseconds rounded to 3 decimals (µs), `null` for `None`.
pub fn ms3(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |v| json!((v * 1000.0).round() / 1000.0))
}

/// `x` rounded to 2 decimals, `null` when not finite.
pub fn r2(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 100.0).round() / 100.0)
    } else {
        Value::Null
    }
}

/// CPU use over a window in cores (1.0 = one core busy), rounded to 3 decimals, from the CPU
/// ticks at its start and end (`clk_tck` per second); `null` when either is missing.
pub fn cores(start: Option<u64>, end: Option<u64>, clk_tck: u64, window_s: f64) -> Value {
    match (start, end) {
        (Some(a), Some(b)) => json!(
            (b.saturating_sub(a) as f64 / clk_tck as f64 / window_s * 1000.0).round() / 1000.0
        ),
        _ => Value::Null,
    }
}

/// Values expected in a window of `window_s` from `tags` tags that change every `interval_ms`
/// ms; `None` when either is 0 (unknown).
pub fn expected_values(tags: u64, interval_ms: u64, window_s: f64) -> Option<f64> {
    (tags > 0 && interval_ms > 0).then(|| tags as f64 * window_s * 1000.0 / interval_ms as f64)
}

/// Latencies in µs (saturated at `u32::MAX`), summarised by nearest rank.
#[derive(Default)]
pub struct Latencies(pub Vec<u32>);

impl Latencies {
    /// Adds one latency, µs.
    pub fn push(&mut self, us: u64) {
        self.0.push(us.min(u32::MAX as u64) as u32);
    }

    /// The mean, µs. `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (!self.0.is_empty())
            .then(|| self.0.iter().map(|v| *v as f64).sum::<f64>() / self.0.len() as f64)
    }

    /// (p50, p99, max), µs: the percentiles by nearest rank (the ⌈p × n⌉th smallest). All
    /// `None` when empty.
    pub fn summary(mut self) -> (Option<u64>, Option<u64>, Option<u64>) {
        if self.0.is_empty() {
            return (None, None, None);
        }
        self.0.sort_unstable();
        let n = self.0.len();
        let pick = |p: f64| self.0[((p * n as f64).ceil() as usize).clamp(1, n) - 1] as u64;
        (
            Some(pick(0.50)),
            Some(pick(0.99)),
            self.0.last().map(|v| *v as u64),
        )
    }

    /// Adds the [`summary`](Self::summary) to `j` as `<name>_p50_us`, `<name>_p99_us` and
    /// `<name>_max_us` (`null` when empty).
    pub fn add_to(self, j: &mut Json, name: &str) {
        let (p50, p99, max) = self.summary();
        j.opt(&format!("{name}_p50_us"), p50.map(|v| v as f64));
        j.opt(&format!("{name}_p99_us"), p99.map(|v| v as f64));
        j.opt(&format!("{name}_max_us"), max.map(|v| v as f64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_of_a_small_slice() {
        let us = [1_000, 2_000, 3_000, 4_000, 5_000];
        assert_eq!(pct(&us, 50.0), Some(3.0));
        assert_eq!(pct(&us, 0.0), Some(1.0));
        assert_eq!(pct(&us, 99.0), Some(5.0));
        assert_eq!(pct(&us, 100.0), Some(5.0));
        // Position 0.25 × 4 = 1 → the second value; 0.4 × 4 = 1.6 → rounded to the third.
        assert_eq!(pct(&us, 25.0), Some(2.0));
        assert_eq!(pct(&us, 40.0), Some(3.0));
        assert_eq!(pct(&[], 50.0), None);
        assert_eq!(mean_ms(&us), Some(3.0));
        assert_eq!(mean_ms(&[]), None);
        assert_eq!(us_to_ms(us.last()), Some(5.0));
    }

    #[test]
    fn rounding() {
        assert_eq!(ms3(Some(1.234_56)), json!(1.235));
        assert_eq!(ms3(None), Value::Null);
        assert_eq!(r2(2.0 / 3.0), json!(0.67));
        assert_eq!(r2(f64::INFINITY), Value::Null);
        assert_eq!(r2(f64::NAN), Value::Null);
    }

    #[test]
    fn cpu_cores() {
        // 150 ticks of 100/s over 3 s: half a core.
        assert_eq!(cores(Some(100), Some(250), 100, 3.0), json!(0.5));
        assert_eq!(cores(None, Some(250), 100, 3.0), Value::Null);
        assert_eq!(expected_values(1000, 100, 2.0), Some(20_000.0));
        assert_eq!(expected_values(0, 100, 2.0), None);
    }

    #[test]
    fn latencies_by_nearest_rank() {
        let mut l = Latencies::default();
        for us in [5, 1, 4, 2, 3] {
            l.push(us);
        }
        l.push(u64::MAX);
        assert_eq!(l.mean(), Some((15.0 + u32::MAX as f64) / 6.0));
        assert_eq!(
            l.summary(),
            (
                Some(3),
                Some(u64::from(u32::MAX)),
                Some(u64::from(u32::MAX))
            )
        );
        assert_eq!(Latencies::default().summary(), (None, None, None));
        assert_eq!(Latencies::default().mean(), None);
    }

    #[test]
    fn latencies_in_the_json_line() {
        let mut l = Latencies::default();
        l.push(7);
        let mut j = Json::new();
        l.add_to(&mut j, "latency");
        Latencies::default().add_to(&mut j, "age");
        assert_eq!(
            j.render(),
            r#"{"latency_p50_us":7,"latency_p99_us":7,"latency_max_us":7,"age_p50_us":null,"age_p99_us":null,"age_max_us":null}"#
        );
    }
}
