//! The DA-style metadata keys a tag entry of any source may carry (OPC 10000-8 §5.3:
//! AnalogItem ranges and units, TwoStateDiscrete labels, MultiStateDiscrete strings),
//! checked alike for every protocol.

use crate::error::Invalid;
use fxgate_core::TagType;

/// The DA-style metadata fields of a tag entry, as configured.
pub struct RawMeta<'a> {
    /// Engineering units (AnalogItem EngineeringUnits).
    pub eu_units: &'a Option<String>,
    /// EURange low.
    pub eu_low: Option<f64>,
    /// EURange high.
    pub eu_high: Option<f64>,
    /// InstrumentRange low.
    pub instrument_low: Option<f64>,
    /// InstrumentRange high.
    pub instrument_high: Option<f64>,
    /// TwoStateDiscrete FalseState.
    pub open_label: &'a Option<String>,
    /// TwoStateDiscrete TrueState.
    pub close_label: &'a Option<String>,
    /// MultiStateDiscrete EnumStrings.
    pub enum_strings: &'a [String],
    /// MinimumSamplingInterval in ms.
    pub scan_rate: Option<f64>,
}

/// DA-style metadata: ranges come in pairs with low < high and fit numeric tags, labels fit
/// Booleans, enumerations fit integers.
pub fn check_meta(t: &RawMeta<'_>, data_type: TagType, g: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    for (low, high, lname, hname) in [
        (t.eu_low, t.eu_high, "eu_low", "eu_high"),
        (t.instrument_low, t.instrument_high, "instrument_low", "instrument_high"),
    ] {
        match (low, high) {
            (Some(l), Some(h)) if l.partial_cmp(&h) != Some(std::cmp::Ordering::Less) => {
                errs.push(Invalid::new(g(hname), format!("must be above {lname}")))
            }
            (Some(_), None) => errs.push(Invalid::new(g(hname), format!("needed with {lname}"))),
            (None, Some(_)) => errs.push(Invalid::new(g(lname), format!("needed with {hname}"))),
            _ => {}
        }
        if (low.is_some() || high.is_some()) && !data_type.is_numeric() {
            errs.push(Invalid::new(g(lname), format!("a range needs a numeric type, not {data_type:?}")));
        }
    }
    if t.eu_units.is_some() && !data_type.is_numeric() {
        errs.push(Invalid::new(g("eu_units"), format!("units need a numeric type, not {data_type:?}")));
    }
    if (t.open_label.is_some() || t.close_label.is_some()) && data_type != TagType::Boolean {
        let f = if t.open_label.is_some() { "open_label" } else { "close_label" };
        errs.push(Invalid::new(g(f), format!("contact labels need type Boolean, not {data_type:?}")));
    }
    if t.open_label.is_some() != t.close_label.is_some() {
        let f = if t.open_label.is_some() { "close_label" } else { "open_label" };
        errs.push(Invalid::new(g(f), "open_label and close_label come together"));
    }
    let integer = data_type.is_numeric() && !matches!(data_type, TagType::Float | TagType::Double);
    if !t.enum_strings.is_empty() && !integer {
        errs.push(Invalid::new(g("enum_strings"), format!("enumerations need an integer type, not {data_type:?}")));
    }
    if let Some(r) = t.scan_rate {
        if !(r > 0.0 && r.is_finite()) {
            errs.push(Invalid::new(g("scan_rate"), "must be a positive number of milliseconds"));
        }
    }
}
