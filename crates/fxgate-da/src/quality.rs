//! DA quality word (QQSSSSLL) ↔ OPC UA `StatusCode`, OPC 10000-8 Annex A.
//!
//! - COM UA Wrapper direction (DA → UA): Figure A.7 and Table A.33, [`da_to_ua`].
//! - COM UA Proxy direction (UA → DA): Figure A.10 and Table A.37, [`ua_to_da`].
//!
//! The 16-bit DA quality carries, in its low byte, the primary quality `QQ`
//! (bits 6-7), the sub-status `SSSS` (bits 2-5) and the limit `LL` (bits 0-1);
//! the high byte is vendor specific. Annex A maps `QQSSSS` to the severity and
//! sub-code of the StatusCode, `LL` to the StatusCode limit bits (bits 8-9,
//! valid only with InfoType `DataValue`, bit 10) and discards the vendor byte.
//!
//! Round trips: every row of Table A.33 survives `ua_to_da(da_to_ua(q)) == q`
//! except `LAST_KNOWN`, which Table A.33 maps to `Bad_OutOfService` and Table
//! A.37 maps back to `OUT_OF_SERVICE`. Every row of Table A.37 survives
//! `da_to_ua(ua_to_da(s)) == s`.

use std::fmt;

use opcua::types::{StatusCode, StatusCodeInfoType, StatusCodeLimit, StatusCodeSeverity};

/// The primary quality `QQ` (bits 6-7) of a DA quality word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrimaryQuality {
    /// `QQ = 0`: the value is not useful (`OPC_QUALITY_BAD`).
    Bad,
    /// `QQ = 1`: the quality of the value is uncertain (`OPC_QUALITY_UNCERTAIN`).
    Uncertain,
    /// `QQ = 2`: not defined by OPC DA. [`da_to_ua`] treats it as Bad.
    Reserved,
    /// `QQ = 3`: the quality of the value is good (`OPC_QUALITY_GOOD`).
    Good,
}

/// The limit field `LL` (bits 0-1) of a DA quality word; the same four values
/// as the UA StatusCode limit bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Limit {
    /// `OPC_LIMIT_OK` (0): the value is free to move.
    #[default]
    None,
    /// `OPC_LIMIT_LOW` (1): the value has pegged at a low limit.
    Low,
    /// `OPC_LIMIT_HIGH` (2): the value has pegged at a high limit.
    High,
    /// `OPC_LIMIT_CONST` (3): the value is a constant and cannot move.
    Constant,
}

/// All four limits, in `LL` order.
pub const ALL_LIMITS: [Limit; 4] = [Limit::None, Limit::Low, Limit::High, Limit::Constant];

impl Limit {
    /// The two `LL` bits of this limit.
    pub const fn bits(self) -> u16 {
        match self {
            Limit::None => 0,
            Limit::Low => 1,
            Limit::High => 2,
            Limit::Constant => 3,
        }
    }

    /// The limit held in the two lowest bits of `bits` (other bits ignored).
    pub const fn from_bits(bits: u16) -> Self {
        match bits & 0b11 {
            0 => Limit::None,
            1 => Limit::Low,
            2 => Limit::High,
            _ => Limit::Constant,
        }
    }
}

impl From<Limit> for StatusCodeLimit {
    fn from(limit: Limit) -> Self {
        match limit {
            Limit::None => StatusCodeLimit::None,
            Limit::Low => StatusCodeLimit::Low,
            Limit::High => StatusCodeLimit::High,
            Limit::Constant => StatusCodeLimit::Constant,
        }
    }
}

impl From<StatusCodeLimit> for Limit {
    fn from(limit: StatusCodeLimit) -> Self {
        match limit {
            StatusCodeLimit::None => Limit::None,
            StatusCodeLimit::Low => Limit::Low,
            StatusCodeLimit::High => Limit::High,
            StatusCodeLimit::Constant => Limit::Constant,
        }
    }
}

/// A 16-bit OPC DA quality word: low byte `QQSSSSLL`, high byte vendor specific.
///
/// The associated constants are the standard `OPC_QUALITY_*` values of
/// OPC DA 3.00 (Data Access Custom Interface Standard) (primary quality and sub-status, limit `OPC_LIMIT_OK`, vendor 0).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DaQuality(pub u16);

impl DaQuality {
    /// `OPC_QUALITY_MASK`: the primary quality bits `QQ`.
    pub const QUALITY_MASK: u16 = 0x00C0;
    /// `OPC_STATUS_MASK`: the primary quality and sub-status bits `QQSSSS`.
    pub const STATUS_MASK: u16 = 0x00FC;
    /// `OPC_LIMIT_MASK`: the limit bits `LL`.
    pub const LIMIT_MASK: u16 = 0x0003;
    /// The vendor specific high byte.
    pub const VENDOR_MASK: u16 = 0xFF00;

    /// `OPC_QUALITY_BAD` (0x00): Bad, non-specific.
    pub const BAD: DaQuality = DaQuality(0x00);
    /// `OPC_QUALITY_CONFIG_ERROR` (0x04): Bad, configuration error.
    pub const CONFIG_ERROR: DaQuality = DaQuality(0x04);
    /// `OPC_QUALITY_NOT_CONNECTED` (0x08): Bad, input not connected.
    pub const NOT_CONNECTED: DaQuality = DaQuality(0x08);
    /// `OPC_QUALITY_DEVICE_FAILURE` (0x0C): Bad, device failure.
    pub const DEVICE_FAILURE: DaQuality = DaQuality(0x0C);
    /// `OPC_QUALITY_SENSOR_FAILURE` (0x10): Bad, sensor failure.
    pub const SENSOR_FAILURE: DaQuality = DaQuality(0x10);
    /// `OPC_QUALITY_LAST_KNOWN` (0x14): Bad, last known value (communication failed).
    pub const LAST_KNOWN: DaQuality = DaQuality(0x14);
    /// `OPC_QUALITY_COMM_FAILURE` (0x18): Bad, communication failure, no last known value.
    pub const COMM_FAILURE: DaQuality = DaQuality(0x18);
    /// `OPC_QUALITY_OUT_OF_SERVICE` (0x1C): Bad, out of service.
    pub const OUT_OF_SERVICE: DaQuality = DaQuality(0x1C);
    /// `OPC_QUALITY_WAITING_FOR_INITIAL_DATA` (0x20): Bad, waiting for initial data (DA 3.0).
    pub const WAITING_FOR_INITIAL_DATA: DaQuality = DaQuality(0x20);
    /// `OPC_QUALITY_UNCERTAIN` (0x40): Uncertain, non-specific.
    pub const UNCERTAIN: DaQuality = DaQuality(0x40);
    /// `OPC_QUALITY_LAST_USABLE` (0x44): Uncertain, last usable value.
    pub const LAST_USABLE: DaQuality = DaQuality(0x44);
    /// `OPC_QUALITY_SENSOR_CAL` (0x50): Uncertain, sensor not accurate.
    pub const SENSOR_CAL: DaQuality = DaQuality(0x50);
    /// `OPC_QUALITY_EGU_EXCEEDED` (0x54): Uncertain, engineering units exceeded.
    pub const EGU_EXCEEDED: DaQuality = DaQuality(0x54);
    /// `OPC_QUALITY_SUB_NORMAL` (0x58): Uncertain, sub-normal.
    pub const SUB_NORMAL: DaQuality = DaQuality(0x58);
    /// `OPC_QUALITY_GOOD` (0xC0): Good, non-specific.
    pub const GOOD: DaQuality = DaQuality(0xC0);
    /// `OPC_QUALITY_LOCAL_OVERRIDE` (0xD8): Good, local override.
    pub const LOCAL_OVERRIDE: DaQuality = DaQuality(0xD8);

    /// The primary quality `QQ`.
    pub const fn primary(self) -> PrimaryQuality {
        match (self.0 & Self::QUALITY_MASK) >> 6 {
            0 => PrimaryQuality::Bad,
            1 => PrimaryQuality::Uncertain,
            2 => PrimaryQuality::Reserved,
            _ => PrimaryQuality::Good,
        }
    }

    /// The sub-status `SSSS` (0..=15), whose meaning depends on [`primary`](Self::primary).
    pub const fn substatus(self) -> u8 {
        ((self.0 >> 2) & 0x0F) as u8
    }

    /// The limit `LL`.
    pub const fn limit(self) -> Limit {
        Limit::from_bits(self.0)
    }

    /// The vendor specific high byte.
    pub const fn vendor(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Only the `QQSSSS` bits (limit and vendor byte cleared): the key the
    /// Annex A tables are written in.
    pub const fn quality_status(self) -> DaQuality {
        DaQuality(self.0 & Self::STATUS_MASK)
    }

    /// This quality with its limit field replaced by `limit`.
    #[must_use]
    pub const fn with_limit(self, limit: Limit) -> DaQuality {
        DaQuality((self.0 & !Self::LIMIT_MASK) | limit.bits())
    }

    /// This quality with its vendor byte replaced by `vendor`.
    #[must_use]
    pub const fn with_vendor(self, vendor: u8) -> DaQuality {
        DaQuality((self.0 & !Self::VENDOR_MASK) | ((vendor as u16) << 8))
    }

    /// The DA text of the sub-status, `None` for a non-specific (0) or
    /// undefined sub-status.
    fn substatus_text(self) -> Option<&'static str> {
        let key = self.quality_status();
        SUBSTATUS_TEXT
            .iter()
            .find(|(q, _)| *q == key)
            .map(|(_, text)| *text)
    }
}

/// DA texts of the defined, specific sub-statuses (OPC DA 3.0, 6.8).
#[rustfmt::skip]
const SUBSTATUS_TEXT: &[(DaQuality, &str)] = &[
    (DaQuality::CONFIG_ERROR,             "Config Error"),
    (DaQuality::NOT_CONNECTED,            "Not Connected"),
    (DaQuality::DEVICE_FAILURE,           "Device Failure"),
    (DaQuality::SENSOR_FAILURE,           "Sensor Failure"),
    (DaQuality::LAST_KNOWN,               "Last Known Value"),
    (DaQuality::COMM_FAILURE,             "Comm Failure"),
    (DaQuality::OUT_OF_SERVICE,           "Out of Service"),
    (DaQuality::WAITING_FOR_INITIAL_DATA, "Waiting for Initial Data"),
    (DaQuality::LAST_USABLE,              "Last Usable Value"),
    (DaQuality::SENSOR_CAL,               "Sensor Not Accurate"),
    (DaQuality::EGU_EXCEEDED,             "EU Units Exceeded"),
    (DaQuality::SUB_NORMAL,               "Sub-Normal"),
    (DaQuality::LOCAL_OVERRIDE,           "Local Override"),
];

/// The DA text, e.g. `Bad [Comm Failure]`, `Good, Low Limited`,
/// `Uncertain [Sub-Normal], Constant`. An undefined sub-status prints as
/// `[Sub-status N]`; a non-zero vendor byte is appended as `, Vendor 0xNN`.
impl fmt::Display for DaQuality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let primary = match self.primary() {
            PrimaryQuality::Bad => "Bad",
            PrimaryQuality::Uncertain => "Uncertain",
            PrimaryQuality::Reserved => "Reserved",
            PrimaryQuality::Good => "Good",
        };
        f.write_str(primary)?;
        match self.substatus_text() {
            Some(text) => write!(f, " [{text}]")?,
            None if self.substatus() != 0 => write!(f, " [Sub-status {}]", self.substatus())?,
            None => {}
        }
        match self.limit() {
            Limit::None => {}
            Limit::Low => f.write_str(", Low Limited")?,
            Limit::High => f.write_str(", High Limited")?,
            Limit::Constant => f.write_str(", Constant")?,
        }
        if self.vendor() != 0 {
            write!(f, ", Vendor 0x{:02X}", self.vendor())?;
        }
        Ok(())
    }
}

impl fmt::Debug for DaQuality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DaQuality(0x{:04X} {})", self.0, self)
    }
}

/// Table A.33 – OPC DA primary quality (QQSSSS) → OPC UA StatusCode (COM UA
/// Wrapper), rows in the order of the spec.
///
/// Note the spec's `LAST_KNOWN → Bad_OutOfService` row (same code as
/// `OUT_OF_SERVICE`); it is kept exactly as written.
#[rustfmt::skip]
pub const DA_TO_UA_QUALITY: &[(DaQuality, StatusCode)] = &[
    // Table A.33
    (DaQuality::GOOD,                     StatusCode::Good),
    (DaQuality::LOCAL_OVERRIDE,           StatusCode::GoodLocalOverride),
    (DaQuality::UNCERTAIN,                StatusCode::Uncertain),
    (DaQuality::SUB_NORMAL,               StatusCode::UncertainSubNormal),
    (DaQuality::SENSOR_CAL,               StatusCode::UncertainSensorNotAccurate),
    (DaQuality::EGU_EXCEEDED,             StatusCode::UncertainEngineeringUnitsExceeded),
    (DaQuality::LAST_USABLE,              StatusCode::UncertainLastUsableValue),
    (DaQuality::BAD,                      StatusCode::Bad),
    (DaQuality::CONFIG_ERROR,             StatusCode::BadConfigurationError),
    (DaQuality::NOT_CONNECTED,            StatusCode::BadNotConnected),
    (DaQuality::COMM_FAILURE,             StatusCode::BadNoCommunication),
    (DaQuality::DEVICE_FAILURE,           StatusCode::BadDeviceFailure),
    (DaQuality::SENSOR_FAILURE,           StatusCode::BadSensorFailure),
    (DaQuality::LAST_KNOWN,               StatusCode::BadOutOfService),
    (DaQuality::OUT_OF_SERVICE,           StatusCode::BadOutOfService),
    (DaQuality::WAITING_FOR_INITIAL_DATA, StatusCode::BadWaitingForInitialData),
];

/// Table A.37 – OPC UA StatusCode → OPC DA primary quality (QQSSSS) (COM UA
/// Proxy), rows in the order of the spec. Matched on the StatusCode sub-code
/// (bits 16-31) only.
#[rustfmt::skip]
pub const UA_TO_DA_QUALITY: &[(StatusCode, DaQuality)] = &[
    // Table A.37
    (StatusCode::Good,                              DaQuality::GOOD),
    (StatusCode::GoodLocalOverride,                 DaQuality::LOCAL_OVERRIDE),
    (StatusCode::Uncertain,                         DaQuality::UNCERTAIN),
    (StatusCode::UncertainSubNormal,                DaQuality::SUB_NORMAL),
    (StatusCode::UncertainSensorNotAccurate,        DaQuality::SENSOR_CAL),
    (StatusCode::UncertainEngineeringUnitsExceeded, DaQuality::EGU_EXCEEDED),
    (StatusCode::UncertainLastUsableValue,          DaQuality::LAST_USABLE),
    (StatusCode::Bad,                               DaQuality::BAD),
    (StatusCode::BadConfigurationError,             DaQuality::CONFIG_ERROR),
    (StatusCode::BadNotConnected,                   DaQuality::NOT_CONNECTED),
    (StatusCode::BadNoCommunication,                DaQuality::COMM_FAILURE),
    (StatusCode::BadOutOfService,                   DaQuality::OUT_OF_SERVICE),
    (StatusCode::BadDeviceFailure,                  DaQuality::DEVICE_FAILURE),
    (StatusCode::BadSensorFailure,                  DaQuality::SENSOR_FAILURE),
    (StatusCode::BadWaitingForInitialData,          DaQuality::WAITING_FOR_INITIAL_DATA),
];

/// The StatusCode sub-code bits (severity and code, bits 16-31).
const SUB_CODE_MASK: u32 = 0xFFFF_0000;

/// Maps a DA quality to a UA StatusCode as the COM UA Wrapper does (Figure
/// A.7, Table A.33).
///
/// `QQSSSS` is looked up in [`DA_TO_UA_QUALITY`]; a sub-status the table does
/// not list yields the generic code of its primary quality (`Good`,
/// `Uncertain`, `Bad`; the undefined primary quality 2 yields `Bad`). A limit
/// other than [`Limit::None`] is carried into the limit bits, with InfoType
/// `DataValue`; with no limit the table's code is returned unchanged. The
/// vendor byte is discarded.
pub fn da_to_ua(q: DaQuality) -> StatusCode {
    let key = q.quality_status();
    let code = DA_TO_UA_QUALITY
        .iter()
        .find(|(da, _)| *da == key)
        .map(|(_, ua)| *ua)
        .unwrap_or(match q.primary() {
            PrimaryQuality::Good => StatusCode::Good,
            PrimaryQuality::Uncertain => StatusCode::Uncertain,
            PrimaryQuality::Bad | PrimaryQuality::Reserved => StatusCode::Bad,
        });
    match q.limit() {
        Limit::None => code,
        limit => code
            .set_info_type(StatusCodeInfoType::DataValue)
            .set_limit(limit.into()),
    }
}

/// Maps a UA StatusCode to a DA quality as the COM UA Proxy does (Figure
/// A.10, Table A.37).
///
/// The sub-code is looked up in [`UA_TO_DA_QUALITY`] (so `Bad_OutOfService`
/// gives `OUT_OF_SERVICE`, never `LAST_KNOWN`, and `Bad_NoCommunication` gives
/// `COMM_FAILURE`); any other code yields the generic `GOOD`, `UNCERTAIN` or
/// `BAD` of its severity (the reserved severity 3 counts as Bad). The limit
/// bits are carried when the InfoType is `DataValue` (otherwise they are not
/// defined and the limit is `OPC_LIMIT_OK`). The vendor byte is 0. Total: never
/// panics.
pub fn ua_to_da(s: StatusCode) -> DaQuality {
    let sub_code = s.bits() & SUB_CODE_MASK;
    let quality = UA_TO_DA_QUALITY
        .iter()
        .find(|(ua, _)| ua.bits() == sub_code)
        .map(|(_, da)| *da)
        .unwrap_or(match s.severity() {
            StatusCodeSeverity::Good => DaQuality::GOOD,
            StatusCodeSeverity::Uncertain => DaQuality::UNCERTAIN,
            StatusCodeSeverity::Bad => DaQuality::BAD,
        });
    let limit = match s.info_type() {
        StatusCodeInfoType::DataValue => Limit::from(s.limit()),
        StatusCodeInfoType::NotUsed => Limit::None,
    };
    quality.with_limit(limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::SubStatusCode;
    use proptest::prelude::*;
    use std::str::FromStr;

    /// Table A.33 transcribed verbatim from the spec text.
    const SPEC_A33: &[(&str, &str)] = &[
        ("GOOD", "Good"),
        ("LOCAL_OVERRIDE", "Good_LocalOverride"),
        ("UNCERTAIN", "Uncertain"),
        ("SUB_NORMAL", "Uncertain_SubNormal"),
        ("SENSOR_CAL", "Uncertain_SensorNotAccurate"),
        ("EGU_EXCEEDED", "Uncertain_EngineeringUnitsExceeded"),
        ("LAST_USABLE", "Uncertain_LastUsableValue"),
        ("BAD", "Bad"),
        ("CONFIG_ERROR", "Bad_ConfigurationError"),
        ("NOT_CONNECTED", "Bad_NotConnected"),
        ("COMM_FAILURE", "Bad_NoCommunication"),
        ("DEVICE_FAILURE", "Bad_DeviceFailure"),
        ("SENSOR_FAILURE", "Bad_SensorFailure"),
        ("LAST_KNOWN", "Bad_OutOfService"),
        ("OUT_OF_SERVICE", "Bad_OutOfService"),
        ("WAITING_FOR_INITIAL_DATA", "Bad_WaitingForInitialData"),
    ];

    /// Table A.37 transcribed verbatim from the spec text.
    const SPEC_A37: &[(&str, &str)] = &[
        ("Good", "GOOD"),
        ("Good_LocalOverride", "LOCAL_OVERRIDE"),
        ("Uncertain", "UNCERTAIN"),
        ("Uncertain_SubNormal", "SUB_NORMAL"),
        ("Uncertain_SensorNotAccurate", "SENSOR_CAL"),
        ("Uncertain_EngineeringUnitsExceeded", "EGU_EXCEEDED"),
        ("Uncertain_LastUsableValue", "LAST_USABLE"),
        ("Bad", "BAD"),
        ("Bad_ConfigurationError", "CONFIG_ERROR"),
        ("Bad_NotConnected", "NOT_CONNECTED"),
        ("Bad_NoCommunication", "COMM_FAILURE"),
        ("Bad_OutOfService", "OUT_OF_SERVICE"),
        ("Bad_DeviceFailure", "DEVICE_FAILURE"),
        ("Bad_SensorFailure", "SENSOR_FAILURE"),
        ("Bad_WaitingForInitialData", "WAITING_FOR_INITIAL_DATA"),
    ];

    /// The `OPC_QUALITY_*` suffixes with their OPC DA 3.00 (Data Access Custom Interface Standard) values.
    const DA_NAMES: &[(&str, u16)] = &[
        ("BAD", 0x00),
        ("CONFIG_ERROR", 0x04),
        ("NOT_CONNECTED", 0x08),
        ("DEVICE_FAILURE", 0x0C),
        ("SENSOR_FAILURE", 0x10),
        ("LAST_KNOWN", 0x14),
        ("COMM_FAILURE", 0x18),
        ("OUT_OF_SERVICE", 0x1C),
        ("WAITING_FOR_INITIAL_DATA", 0x20),
        ("UNCERTAIN", 0x40),
        ("LAST_USABLE", 0x44),
        ("SENSOR_CAL", 0x50),
        ("EGU_EXCEEDED", 0x54),
        ("SUB_NORMAL", 0x58),
        ("GOOD", 0xC0),
        ("LOCAL_OVERRIDE", 0xD8),
    ];

    fn da_named(name: &str) -> DaQuality {
        let (_, value) = DA_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("unknown DA quality name {name}"));
        DaQuality(*value)
    }

    /// `Bad_OutOfService` → `StatusCode::BadOutOfService` via async-opcua's own names.
    fn ua_named(name: &str) -> StatusCode {
        let sub = SubStatusCode::from_str(&name.replace('_', ""))
            .unwrap_or_else(|()| panic!("unknown UA status name {name}"));
        StatusCode::from_category(sub)
    }

    fn severity_of(primary: PrimaryQuality) -> StatusCodeSeverity {
        match primary {
            PrimaryQuality::Good => StatusCodeSeverity::Good,
            PrimaryQuality::Uncertain => StatusCodeSeverity::Uncertain,
            PrimaryQuality::Bad | PrimaryQuality::Reserved => StatusCodeSeverity::Bad,
        }
    }

    #[test]
    fn constants_are_the_opcda_h_values() {
        let consts = [
            DaQuality::BAD,
            DaQuality::CONFIG_ERROR,
            DaQuality::NOT_CONNECTED,
            DaQuality::DEVICE_FAILURE,
            DaQuality::SENSOR_FAILURE,
            DaQuality::LAST_KNOWN,
            DaQuality::COMM_FAILURE,
            DaQuality::OUT_OF_SERVICE,
            DaQuality::WAITING_FOR_INITIAL_DATA,
            DaQuality::UNCERTAIN,
            DaQuality::LAST_USABLE,
            DaQuality::SENSOR_CAL,
            DaQuality::EGU_EXCEEDED,
            DaQuality::SUB_NORMAL,
            DaQuality::GOOD,
            DaQuality::LOCAL_OVERRIDE,
        ];
        assert_eq!(consts.len(), DA_NAMES.len());
        for (c, (name, value)) in consts.iter().zip(DA_NAMES) {
            assert_eq!(c.0, *value, "{name}");
            assert_eq!(c.limit(), Limit::None, "{name}");
            assert_eq!(c.vendor(), 0, "{name}");
        }
    }

    #[test]
    fn table_a33_matches_spec_text() {
        assert_eq!(DA_TO_UA_QUALITY.len(), SPEC_A33.len());
        for ((da, ua), (spec_da, spec_ua)) in DA_TO_UA_QUALITY.iter().zip(SPEC_A33) {
            assert_eq!(*da, da_named(spec_da), "row {spec_da}");
            assert_eq!(*ua, ua_named(spec_ua), "row {spec_da}");
        }
    }

    #[test]
    fn table_a37_matches_spec_text() {
        assert_eq!(UA_TO_DA_QUALITY.len(), SPEC_A37.len());
        for ((ua, da), (spec_ua, spec_da)) in UA_TO_DA_QUALITY.iter().zip(SPEC_A37) {
            assert_eq!(*ua, ua_named(spec_ua), "row {spec_ua}");
            assert_eq!(*da, da_named(spec_da), "row {spec_ua}");
        }
    }

    #[test]
    fn every_a33_row_maps_as_written() {
        for (da, ua) in DA_TO_UA_QUALITY {
            assert_eq!(da_to_ua(*da), *ua, "Table A.33 row {da}");
        }
    }

    #[test]
    fn every_a37_row_maps_as_written() {
        for (ua, da) in UA_TO_DA_QUALITY {
            assert_eq!(ua_to_da(*ua), *da, "Table A.37 row {ua}");
        }
    }

    #[test]
    fn key_rows_spelled_out() {
        assert_eq!(da_to_ua(DaQuality::LAST_KNOWN), StatusCode::BadOutOfService);
        assert_eq!(
            da_to_ua(DaQuality::OUT_OF_SERVICE),
            StatusCode::BadOutOfService
        );
        assert_eq!(
            da_to_ua(DaQuality::COMM_FAILURE),
            StatusCode::BadNoCommunication
        );
        assert_eq!(
            ua_to_da(StatusCode::BadOutOfService),
            DaQuality::OUT_OF_SERVICE
        );
        assert_eq!(
            ua_to_da(StatusCode::BadNoCommunication),
            DaQuality::COMM_FAILURE
        );
        assert_eq!(
            ua_to_da(StatusCode::GoodLocalOverride),
            DaQuality::LOCAL_OVERRIDE
        );
    }

    /// The only Table A.33 row Annex A makes non-round-trip is LAST_KNOWN
    /// (A.33: → Bad_OutOfService; A.37: Bad_OutOfService → OUT_OF_SERVICE).
    #[test]
    fn non_round_trip_rows_are_exactly_last_known() {
        let broken: Vec<DaQuality> = DA_TO_UA_QUALITY
            .iter()
            .map(|(da, _)| *da)
            .filter(|da| ua_to_da(da_to_ua(*da)) != *da)
            .collect();
        assert_eq!(broken, vec![DaQuality::LAST_KNOWN]);
        for limit in ALL_LIMITS {
            let q = DaQuality::LAST_KNOWN.with_limit(limit);
            assert_eq!(
                ua_to_da(da_to_ua(q)),
                DaQuality::OUT_OF_SERVICE.with_limit(limit)
            );
        }
        // Every UA code of Table A.33 appears in Table A.37.
        for (_, ua) in DA_TO_UA_QUALITY {
            assert!(
                UA_TO_DA_QUALITY.iter().any(|(c, _)| c == ua),
                "{ua} not in A.37"
            );
        }
    }

    #[test]
    fn every_a37_row_round_trips_through_a33() {
        for (ua, _) in UA_TO_DA_QUALITY {
            assert_eq!(da_to_ua(ua_to_da(*ua)), *ua, "Table A.37 row {ua}");
        }
    }

    #[test]
    fn unlisted_substatus_gives_generic_code_of_primary() {
        // Uncertain sub-status 2 and 3, Good sub-status 1, Bad sub-status 9.. are undefined.
        assert_eq!(da_to_ua(DaQuality(0x48)), StatusCode::Uncertain);
        assert_eq!(da_to_ua(DaQuality(0x4C)), StatusCode::Uncertain);
        assert_eq!(da_to_ua(DaQuality(0xC4)), StatusCode::Good);
        assert_eq!(da_to_ua(DaQuality(0x24)), StatusCode::Bad);
        assert_eq!(da_to_ua(DaQuality(0x3C)), StatusCode::Bad);
        // Primary quality 2 is not defined by DA: Bad.
        assert_eq!(da_to_ua(DaQuality(0x80)), StatusCode::Bad);
        assert_eq!(da_to_ua(DaQuality(0x98)), StatusCode::Bad);
    }

    #[test]
    fn unlisted_ua_codes_give_generic_quality_of_severity() {
        assert_eq!(ua_to_da(StatusCode::GoodClamped), DaQuality::GOOD);
        assert_eq!(
            ua_to_da(StatusCode::UncertainNoCommunicationLastUsableValue),
            DaQuality::UNCERTAIN
        );
        assert_eq!(ua_to_da(StatusCode::BadNodeIdUnknown), DaQuality::BAD);
        // Reserved severity 0b11 counts as Bad.
        assert_eq!(ua_to_da(StatusCode::from(0xC000_0000)), DaQuality::BAD);
    }

    #[test]
    fn limit_bits_are_set_with_data_value_info_type() {
        let s = da_to_ua(DaQuality::SUB_NORMAL.with_limit(Limit::High));
        assert_eq!(s.bits(), 0x4095_0000 | 0x0400 | 0x0200);
        assert_eq!(s.limit(), StatusCodeLimit::High);
        assert_eq!(s.info_type(), StatusCodeInfoType::DataValue);
        // Limit bits without InfoType DataValue are undefined and ignored.
        assert_eq!(ua_to_da(StatusCode::from(0x0000_0100)), DaQuality::GOOD);
    }

    #[test]
    fn accessors() {
        let q = DaQuality(0xAB00 | 0x58 | 0x02);
        assert_eq!(q.primary(), PrimaryQuality::Uncertain);
        assert_eq!(q.substatus(), 6);
        assert_eq!(q.limit(), Limit::High);
        assert_eq!(q.vendor(), 0xAB);
        assert_eq!(q.quality_status(), DaQuality::SUB_NORMAL);
        assert_eq!(
            q.with_limit(Limit::None).with_vendor(0),
            DaQuality::SUB_NORMAL
        );
        for limit in ALL_LIMITS {
            assert_eq!(Limit::from_bits(limit.bits()), limit);
            assert_eq!(Limit::from(StatusCodeLimit::from(limit)), limit);
        }
    }

    #[test]
    fn display_gives_da_text() {
        assert_eq!(DaQuality::COMM_FAILURE.to_string(), "Bad [Comm Failure]");
        assert_eq!(
            DaQuality::GOOD.with_limit(Limit::Low).to_string(),
            "Good, Low Limited"
        );
        assert_eq!(DaQuality::BAD.to_string(), "Bad");
        assert_eq!(
            DaQuality::LOCAL_OVERRIDE
                .with_limit(Limit::High)
                .to_string(),
            "Good [Local Override], High Limited"
        );
        assert_eq!(
            DaQuality::SUB_NORMAL
                .with_limit(Limit::Constant)
                .to_string(),
            "Uncertain [Sub-Normal], Constant"
        );
        assert_eq!(DaQuality(0x48).to_string(), "Uncertain [Sub-status 2]");
        assert_eq!(DaQuality(0x80).to_string(), "Reserved");
        assert_eq!(
            DaQuality::LAST_KNOWN.with_vendor(0x12).to_string(),
            "Bad [Last Known Value], Vendor 0x12"
        );
        assert_eq!(format!("{:?}", DaQuality::GOOD), "DaQuality(0x00C0 Good)");
    }

    fn limit_strategy() -> impl Strategy<Value = Limit> {
        (0u16..4).prop_map(Limit::from_bits)
    }

    proptest! {
        /// Round trip for every Table A.33 row whose UA code is in Table A.37,
        /// except LAST_KNOWN (asserted explicitly above), with any limit and
        /// any vendor byte (which is dropped).
        #[test]
        fn a33_rows_round_trip(
            da in proptest::sample::select(
                DA_TO_UA_QUALITY
                    .iter()
                    .filter(|(da, ua)| {
                        *da != DaQuality::LAST_KNOWN && UA_TO_DA_QUALITY.iter().any(|(c, _)| c == ua)
                    })
                    .map(|(da, _)| *da)
                    .collect::<Vec<_>>()
            ),
            limit in limit_strategy(),
            vendor in any::<u8>(),
        ) {
            // Rows are drawn from the eligible ones (no rejection sampling, so no flaky
            // "too many rejects" failures).
            let q = da.with_limit(limit).with_vendor(vendor);
            prop_assert_eq!(ua_to_da(da_to_ua(q)), da.with_limit(limit));
        }

        /// DA → UA carries the limit of any quality word.
        #[test]
        fn limit_survives_da_to_ua(q in any::<u16>()) {
            let q = DaQuality(q);
            let s = da_to_ua(q);
            prop_assert_eq!(Limit::from(s.limit()), q.limit());
            prop_assert_eq!(
                s.info_type() == StatusCodeInfoType::DataValue,
                q.limit() != Limit::None
            );
        }

        /// UA → DA carries the limit bits of any DataValue StatusCode.
        #[test]
        fn limit_survives_ua_to_da(bits in any::<u32>(), limit in limit_strategy()) {
            let s = StatusCode::from(bits)
                .set_info_type(StatusCodeInfoType::DataValue)
                .set_limit(limit.into());
            prop_assert_eq!(ua_to_da(s).limit(), limit);
        }

        /// The vendor byte never changes the UA result.
        #[test]
        fn vendor_byte_is_ignored(q in any::<u16>(), vendor in any::<u8>()) {
            let q = DaQuality(q);
            prop_assert_eq!(da_to_ua(q.with_vendor(vendor)), da_to_ua(q.with_vendor(0)));
        }

        /// UA → DA is total and keeps the severity as primary quality.
        #[test]
        fn ua_to_da_is_total_and_keeps_severity(bits in any::<u32>()) {
            let s = StatusCode::from(bits);
            let q = ua_to_da(s);
            prop_assert_eq!(severity_of(q.primary()), s.severity());
            prop_assert_ne!(q.primary(), PrimaryQuality::Reserved);
            prop_assert_eq!(q.vendor(), 0);
        }

        /// DA → UA is total and keeps the primary quality as severity.
        #[test]
        fn da_to_ua_is_total_and_keeps_primary(q in any::<u16>()) {
            let q = DaQuality(q);
            prop_assert_eq!(da_to_ua(q).severity(), severity_of(q.primary()));
        }
    }
}
