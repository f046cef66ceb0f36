//! Simulated inputs: the push tools' tags (fxgate's `random` simulator waveform) and the random
//! pauses the load tools put between writes. Both use xorshift generators (no rand crate in the
//! workspace).

use std::time::Duration;

/// fxgate's `random` waveform for a Double between 0 and 100 (xorshift64*, seeded per tag
/// index as fxgate's simulator seeds it).
pub struct Tag {
    rng: u64,
    /// The current value (0 before the first tick).
    pub value: f64,
}

impl Tag {
    /// Tag number `index` (0-based), value 0.
    pub fn new(index: u32) -> Self {
        Self {
            rng: 0x9E37_79B9_7F4A_7C15 ^ (u64::from(index) << 17 | 1),
            value: 0.0,
        }
    }

    /// The next value, uniformly random in [0, 100); true when it differs from the last one.
    pub fn tick(&mut self) -> bool {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        let next = r * 100.0;
        let moved = next != self.value;
        self.value = next;
        moved
    }
}

/// Pauses uniformly random in [0, 2 × mean) (mean `mean_ms`), so that requests arrive at random
/// moments relative to whatever the server does periodically (xorshift64).
pub struct Pace {
    rng: u64,
    mean_ms: f64,
}

impl Pace {
    /// Pauses of mean `mean_ms`, the generator seeded with `seed` (made odd, so never 0).
    pub fn new(seed: u64, mean_ms: f64) -> Self {
        Pace {
            rng: seed | 1,
            mean_ms,
        }
    }

    /// The next pause.
    pub fn next_pause(&mut self) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let u = (self.rng >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        Duration::from_secs_f64(2.0 * self.mean_ms * u / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_reproducible_and_in_range() {
        let (mut a, mut b, mut c) = (Tag::new(3), Tag::new(3), Tag::new(4));
        let mut differs = false;
        for _ in 0..1000 {
            assert!(a.tick() && b.tick() && c.tick());
            assert!((0.0..100.0).contains(&a.value));
            assert_eq!(a.value, b.value);
            differs |= a.value != c.value;
        }
        assert!(differs);
    }

    #[test]
    fn pauses_stay_below_twice_the_mean() {
        let mut p = Pace::new(0, 10.0);
        let mut sum = Duration::ZERO;
        for _ in 0..10_000 {
            let d = p.next_pause();
            assert!(d < Duration::from_millis(20));
            sum += d;
        }
        let mean_ms = sum.as_secs_f64() * 1000.0 / 10_000.0;
        assert!((9.0..11.0).contains(&mean_ms), "{mean_ms}");
        assert_eq!(Pace::new(7, 0.0).next_pause(), Duration::ZERO);
    }
}
