//! The simulator protocol (`[[simulator]]`): a device whose tags move by waveforms, so a new
//! user sees live data at once and benchmarks have a load of any size. One folder: the
//! config type, its validation and the running source.

#![warn(missing_docs)]

mod config;
mod source;
mod validate;
mod wave;

pub use config::{SimTagConfig, SimulatorConfig, Waveform};
pub use source::SimulatorSource;
pub use wave::Wave;

use fxgate_config::{Check, Known, Section};
use fxgate_core::BuildError;
use fxgate_plugin::{BuildContext, Protocol};
use serde::{Deserialize, Serialize};

/// `[[simulator]]`: every simulated device.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Simulators(pub Vec<SimulatorConfig>);

impl std::ops::Deref for Simulators {
    type Target = Vec<SimulatorConfig>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Section for Simulators {
    fn declare(&self, key: &str, known: &mut Known) {
        for (i, s) in self.0.iter().enumerate() {
            known.source(&s.name, format!("{key}[{i}].name"));
            for t in &s.tags {
                known.reserve_tags(t.count as usize);
                for n in t.names() {
                    known.tag(format!("{}/{n}", s.name));
                }
            }
        }
    }

    fn validate(&self, key: &str, cx: &mut Check<'_>) {
        validate::validate(key, &self.0, cx.errs());
    }
}

impl Protocol for Simulators {
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        for s in &self.0 {
            cx.add_component(Box::new(SimulatorSource::new(s.clone())));
        }
        Ok(())
    }
}
