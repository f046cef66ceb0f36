//! The value of one simulated tag at each tick.

use fxgate_core::TagType;

use crate::config::{SimTagConfig, Waveform};
use opcua::types::Variant;

use fxgate_core::tag_type::{from_f64, from_toml};

/// State of one simulated tag.
#[derive(Debug, Clone)]
pub struct Wave {
    cfg: std::sync::Arc<SimTagConfig>,
    /// Phase shift for tags expanded from one entry, so they differ.
    index: u32,
    counter: f64,
    current: Variant,
    rng: u64,
}

impl Wave {
    /// A tag from its config; `index` is its position among `count` expanded tags.
    pub fn new(cfg: &std::sync::Arc<SimTagConfig>, index: u32) -> Self {
        let current = cfg
            .initial
            .as_ref()
            .and_then(|v| from_toml(cfg.data_type, v))
            .unwrap_or_else(|| zero(cfg.data_type));
        let counter = fxgate_core::tag_type::to_f64(&current).unwrap_or(0.0);
        Self {
            cfg: std::sync::Arc::clone(cfg),
            index,
            counter,
            current,
            rng: 0x9E37_79B9_7F4A_7C15 ^ (u64::from(index) << 17 | 1),
        }
    }

    /// The data type.
    pub fn data_type(&self) -> TagType {
        self.cfg.data_type
    }

    /// The current value.
    pub fn current(&self) -> &Variant {
        &self.current
    }

    /// Replaces the current value (a client's write).
    pub fn set(&mut self, v: Variant) {
        if let Some(x) = fxgate_core::tag_type::to_f64(&v) {
            self.counter = x;
        }
        self.current = v;
    }

    /// Advances to tick `n` at `t` seconds since start; returns whether the value moved.
    pub fn tick(&mut self, n: u64, t: f64) -> bool {
        let c = &self.cfg;
        let next = match c.waveform {
            Waveform::Constant => return false,
            Waveform::Sine => {
                let phase = f64::from(self.index) * 0.1;
                let x = c.offset
                    + c.amplitude * (2.0 * std::f64::consts::PI * t / c.period_s + phase).sin();
                from_f64(c.data_type, x)
            }
            Waveform::Ramp => {
                self.counter += c.step;
                if self.counter > c.max || self.counter < c.min {
                    self.counter = c.min;
                }
                from_f64(c.data_type, self.counter)
            }
            Waveform::Counter => {
                self.counter += c.step;
                let v = from_f64(c.data_type, self.counter);
                // wrap when the type saturated
                if fxgate_core::tag_type::to_f64(&v).is_some_and(|x| x < self.counter) {
                    self.counter = 0.0;
                    from_f64(c.data_type, 0.0)
                } else {
                    v
                }
            }
            Waveform::Toggle => Variant::Boolean(n % 2 == 1),
            Waveform::Text => Variant::from(format!("tick {n}")),
            Waveform::Random => {
                // xorshift64*: plenty for test data, no dependency
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                let r = (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64
                    / (1u64 << 53) as f64;
                from_f64(c.data_type, c.min + r * (c.max - c.min))
            }
        };
        let moved = next != self.current;
        self.current = next;
        moved
    }
}

fn zero(t: TagType) -> Variant {
    match t {
        TagType::String => Variant::from(String::new()),
        _ => from_f64(t, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> std::sync::Arc<SimTagConfig> {
        std::sync::Arc::new(toml::from_str(text).unwrap())
    }

    #[test]
    fn waves_move() {
        let mut ramp = Wave::new(&cfg("name='r'\ntype='Int32'\nwaveform='ramp'\nmin=0\nmax=2"), 0);
        let seq: Vec<_> = (1..=4).map(|n| { ramp.tick(n, 0.0); ramp.current().clone() }).collect();
        assert_eq!(seq, vec![Variant::Int32(1), Variant::Int32(2), Variant::Int32(0), Variant::Int32(1)]);
        let mut c = Wave::new(&cfg("name='c'\ntype='Byte'\nwaveform='counter'\ninitial=254"), 0);
        c.tick(1, 0.0);
        assert_eq!(c.current(), &Variant::Byte(255));
        c.tick(2, 0.0);
        assert_eq!(c.current(), &Variant::Byte(0));
        let mut s = Wave::new(&cfg("name='s'\ntype='Double'\nwaveform='sine'\nperiod_s=4"), 0);
        s.tick(1, 1.0);
        assert!((s.current().clone() == Variant::Double(1.0)) || matches!(s.current(), Variant::Double(x) if (x - 1.0).abs() < 1e-9));
        let mut k = Wave::new(&cfg("name='k'\ntype='Double'\ninitial=20.5"), 0);
        assert!(!k.tick(1, 1.0));
        assert_eq!(k.current(), &Variant::Double(20.5));
    }
}
