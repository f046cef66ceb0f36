//! IEC 60870-5-101 quality bits ↔ OPC UA status codes (the table in docs/interfaces.md).
//!
//! | IEC | OPC UA | why |
//! |---|---|---|
//! | IV invalid | Bad | the value must not be used (Annex A: BAD) |
//! | NT not topical | Uncertain_LastUsableValue | not refreshed: the last usable value |
//! | OV overflow | Uncertain_EngineeringUnitsExceeded | outside the range it can carry |
//! | BL blocked | Uncertain | frozen for transmission at the value before blocking |
//! | SB substituted | Good_LocalOverride | set by an operator (Annex A: LOCAL_OVERRIDE) |
//! | CY carry (counters) | Uncertain_EngineeringUnitsExceeded | the counter overflowed |
//! | CP56 IV (time invalid) | Uncertain, receive time as SourceTimestamp | the value is valid, its time is not |
//!
//! Precedence: IV, then NT, OV/CY, BL, then the time's IV, then SB.

use opcua::types::StatusCode;

/// The quality bits of a monitored value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quality {
    /// Invalid.
    pub iv: bool,
    /// Not topical.
    pub nt: bool,
    /// Substituted.
    pub sb: bool,
    /// Blocked.
    pub bl: bool,
    /// Overflow (or, for integrated totals, carry).
    pub ov: bool,
}

impl Quality {
    /// The OPC UA status of a value with these bits; `time_invalid` when its CP56 time was
    /// marked invalid.
    pub fn status(self, time_invalid: bool) -> StatusCode {
        if self.iv {
            StatusCode::Bad
        } else if self.nt {
            StatusCode::UncertainLastUsableValue
        } else if self.ov {
            StatusCode::UncertainEngineeringUnitsExceeded
        } else if self.bl || time_invalid {
            StatusCode::Uncertain
        } else if self.sb {
            StatusCode::GoodLocalOverride
        } else {
            StatusCode::Good
        }
    }

    /// The bits an OPC UA status is sent with by fxgate's server (the inverse of
    /// [`Quality::status`]; other Bad codes, e.g. Bad_NoCommunication, are IV, other
    /// Uncertain codes NT).
    pub fn of_status(s: StatusCode) -> Self {
        let mut q = Quality::default();
        let code = s.bits() & 0xFFFF_0000;
        if s.is_bad() {
            q.iv = true;
        } else if code == StatusCode::UncertainEngineeringUnitsExceeded.bits() {
            q.ov = true;
        } else if code == StatusCode::Uncertain.bits() {
            q.bl = true;
        } else if s.is_uncertain() {
            q.nt = true;
        } else if code == StatusCode::GoodLocalOverride.bits() {
            q.sb = true;
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bit_has_its_status_and_back() {
        let cases = [
            (Quality { iv: true, ..Default::default() }, StatusCode::Bad),
            (Quality { nt: true, ..Default::default() }, StatusCode::UncertainLastUsableValue),
            (Quality { ov: true, ..Default::default() }, StatusCode::UncertainEngineeringUnitsExceeded),
            (Quality { bl: true, ..Default::default() }, StatusCode::Uncertain),
            (Quality { sb: true, ..Default::default() }, StatusCode::GoodLocalOverride),
            (Quality::default(), StatusCode::Good),
        ];
        for (q, s) in cases {
            assert_eq!(q.status(false), s, "{q:?}");
            assert_eq!(Quality::of_status(s), q, "{s}");
        }
        assert_eq!(Quality::default().status(true), StatusCode::Uncertain);
        assert_eq!(Quality { iv: true, nt: true, sb: true, ..Default::default() }.status(false), StatusCode::Bad);
        assert_eq!(Quality::of_status(StatusCode::BadNoCommunication), Quality { iv: true, ..Default::default() });
    }
}
