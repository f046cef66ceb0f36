//! `[[simulator]]`: simulated devices, so a new user sees live data at once.

use serde::{Deserialize, Serialize};

use fxgate_core::TagType;

/// How a simulated value moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Waveform {
    /// `offset + amplitude * sin(2π t / period_s)`.
    Sine,
    /// From `min` to `max` by `step`, then back to `min`.
    Ramp,
    /// Flips every tick.
    Toggle,
    /// Counts up by `step` every tick (wrapping at the type's maximum).
    Counter,
    /// A text with the tick number and time.
    Text,
    /// Stays at `initial` until written.
    #[default]
    Constant,
    /// Uniformly random between `min` and `max`.
    Random,
}

/// One simulated device; it appears as a folder `Objects/<name>`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// Device (folder) name.
    pub name: String,
    /// Milliseconds between updates.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<SimTagConfig>,
}

fn default_interval_ms() -> u64 {
    1000
}

/// One simulated tag (or `count` of them).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimTagConfig {
    /// Tag name; with `count > 1` the tags are named `<name>0` … `<name><count-1>`.
    pub name: String,
    /// Data type.
    #[serde(rename = "type")]
    pub data_type: TagType,
    /// How the value moves.
    #[serde(default)]
    pub waveform: Waveform,
    /// Whether clients with the `write` role may write it.
    #[serde(default)]
    pub writable: bool,
    /// Number of tags this entry makes.
    #[serde(default = "one")]
    pub count: u32,
    /// Sine amplitude.
    #[serde(default = "one_f")]
    pub amplitude: f64,
    /// Sine offset.
    #[serde(default)]
    pub offset: f64,
    /// Sine period in seconds.
    #[serde(default = "ten")]
    pub period_s: f64,
    /// Lower bound of ramp and random.
    #[serde(default)]
    pub min: f64,
    /// Upper bound of ramp and random.
    #[serde(default = "hundred")]
    pub max: f64,
    /// Ramp and counter step.
    #[serde(default = "one_f")]
    pub step: f64,
    /// Initial value (a number, boolean or string fitting `type`).
    #[serde(default)]
    pub initial: Option<toml::Value>,
    /// Description shown on the node (DA property 101).
    #[serde(default)]
    pub description: String,
    /// Engineering units, e.g. `"°C"`: with `eu_low`/`eu_high` the tag is an AnalogItem.
    #[serde(default)]
    pub eu_units: Option<String>,
    /// Low end of the normal operating range (EURange).
    #[serde(default)]
    pub eu_low: Option<f64>,
    /// High end of the normal operating range (EURange).
    #[serde(default)]
    pub eu_high: Option<f64>,
    /// Low end of the instrument's range (InstrumentRange).
    #[serde(default)]
    pub instrument_low: Option<f64>,
    /// High end of the instrument's range (InstrumentRange).
    #[serde(default)]
    pub instrument_high: Option<f64>,
    /// Label of `false` for a Boolean (FalseState): the tag becomes a TwoStateDiscrete.
    #[serde(default)]
    pub open_label: Option<String>,
    /// Label of `true` for a Boolean (TrueState).
    #[serde(default)]
    pub close_label: Option<String>,
    /// Names of the values 0, 1, 2, … of an integer tag: it becomes a MultiStateDiscrete.
    #[serde(default)]
    pub enum_strings: Vec<String>,
    /// How often the source refreshes the value, in ms (MinimumSamplingInterval).
    #[serde(default)]
    pub scan_rate: Option<f64>,
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn ten() -> f64 {
    10.0
}
fn hundred() -> f64 {
    100.0
}

impl SimTagConfig {
    /// The DA-style metadata of the entry, if it has any.
    pub fn meta(&self) -> Option<fxgate_core::TagMeta> {
        let m = fxgate_core::TagMeta {
            eu_units: self.eu_units.clone(),
            eu_range: self.eu_low.zip(self.eu_high),
            instrument_range: self.instrument_low.zip(self.instrument_high),
            open_label: self.open_label.clone(),
            close_label: self.close_label.clone(),
            enum_strings: self.enum_strings.clone(),
            scan_rate_ms: self.scan_rate,
        };
        (m != fxgate_core::TagMeta::default()).then_some(m)
    }

    /// The tag names this entry expands to, made one at a time (a million of them are not
    /// collected first).
    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        let single = (self.count <= 1).then(|| self.name.clone());
        let many = (self.count > 1).then(|| (0..self.count).map(|i| format!("{}{i}", self.name)));
        single.into_iter().chain(many.into_iter().flatten())
    }
}
