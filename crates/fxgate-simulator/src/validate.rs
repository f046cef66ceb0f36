//! Checks of `[[simulator]]`.

use std::collections::HashSet;

use fxgate_config::meta::{check_meta, RawMeta};
use fxgate_config::{check_name, Invalid};
use fxgate_core::TagType;

use crate::config::{SimTagConfig, SimulatorConfig, Waveform};

/// Adds every problem of the simulators (under `key`) to `errs`; source names are checked
/// for uniqueness by the generic checks.
pub(crate) fn validate(key: &str, list: &[SimulatorConfig], errs: &mut Vec<Invalid>) {
    for (i, sim) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        if let Err(e) = check_name(&sim.name) {
            errs.push(Invalid::new(f("name"), e.to_string()));
        }
        if !(10..=3_600_000).contains(&sim.interval_ms) {
            errs.push(Invalid::new(f("interval_ms"), "must be 10 to 3600000 ms"));
        }
        let mut tags = HashSet::new();
        for (j, t) in sim.tags.iter().enumerate() {
            let g = |k: &str| format!("{key}[{i}].tags[{j}].{k}");
            if let Err(e) = check_name(&t.name) {
                errs.push(Invalid::new(g("name"), e.to_string()));
                continue;
            }
            if t.count == 0 || t.count > 1_000_000 {
                errs.push(Invalid::new(g("count"), "must be 1 to 1000000"));
                continue;
            }
            tags.reserve(t.count as usize);
            // One hash per name; the name is made again only for the message.
            if let Some(k) = t.names().position(|n| !tags.insert(n)) {
                let n = t.names().nth(k).unwrap_or_default();
                errs.push(Invalid::new(g("name"), format!("tag `{n}` is defined twice in simulator `{}`", sim.name)));
            }
            let ok = match t.waveform {
                Waveform::Sine | Waveform::Ramp | Waveform::Random | Waveform::Counter => {
                    t.data_type.is_numeric()
                }
                Waveform::Toggle => t.data_type == TagType::Boolean,
                Waveform::Text => t.data_type == TagType::String,
                Waveform::Constant => true,
            };
            if !ok {
                errs.push(Invalid::new(
                    g("waveform"),
                    format!("waveform {:?} does not fit type {:?}", t.waveform, t.data_type),
                ));
            }
            if t.waveform == Waveform::Sine && t.period_s <= 0.0 {
                errs.push(Invalid::new(g("period_s"), "must be above 0"));
            }
            if matches!(t.waveform, Waveform::Ramp | Waveform::Random) && t.min >= t.max {
                errs.push(Invalid::new(g("max"), "must be above min"));
            }
            check_meta(&raw_meta(t), t.data_type, &g, errs);
            if let Some(init) = &t.initial {
                let fits = match (t.data_type, init) {
                    (TagType::Boolean, toml::Value::Boolean(_)) => true,
                    (TagType::String, toml::Value::String(_)) => true,
                    (ty, toml::Value::Integer(_) | toml::Value::Float(_)) => ty.is_numeric(),
                    _ => false,
                };
                if !fits {
                    errs.push(Invalid::new(
                        g("initial"),
                        format!("`{init}` does not fit type {:?}", t.data_type),
                    ));
                }
            }
        }
    }
}

/// The DA-style metadata of a simulated tag.
fn raw_meta(t: &SimTagConfig) -> RawMeta<'_> {
    RawMeta {
        eu_units: &t.eu_units,
        eu_low: t.eu_low,
        eu_high: t.eu_high,
        instrument_low: t.instrument_low,
        instrument_high: t.instrument_high,
        open_label: &t.open_label,
        close_label: &t.close_label,
        enum_strings: &t.enum_strings,
        scan_rate: t.scan_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct File {
        simulator: Vec<SimulatorConfig>,
    }

    fn errors(text: &str) -> Vec<(String, String)> {
        let file: File = toml::from_str(text).expect("test config parses");
        let mut errs = Vec::new();
        validate("simulator", &file.simulator, &mut errs);
        errs.into_iter().map(|e| (e.field, e.message)).collect()
    }

    #[test]
    fn an_expanded_name_taken_twice_is_named() {
        let base = "[[simulator]]\nname = 'S'\n[[simulator.tags]]\nname = 'T'\ntype = 'Double'\ncount = 3\n";
        assert!(errors(base).is_empty());
        let dup = format!("{base}[[simulator.tags]]\nname = 'T1'\ntype = 'Double'\n");
        assert_eq!(
            errors(&dup),
            [("simulator[0].tags[1].name".to_string(), "tag `T1` is defined twice in simulator `S`".to_string())]
        );
    }
}
