//! CP56Time2a (IEC 60870-5-4 §6.8) ↔ OPC UA DateTime. fxgate reads and writes CP56 times
//! as UTC (the SU bit is kept informational), to the millisecond.

use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};
use iec104::types::time::Cp56Time2a;
use opcua::types::DateTime;

/// The UTC time of a CP56Time2a, `None` when it is marked invalid or is not a date.
pub fn from_cp56(t: &Cp56Time2a) -> Option<DateTime> {
    if t.iv {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(2000 + i32::from(t.year), u32::from(t.month), u32::from(t.day))?;
    let time = date.and_hms_milli_opt(u32::from(t.hour), u32::from(t.min), u32::from(t.ms / 1000), u32::from(t.ms % 1000))?;
    Some(DateTime::from(Utc.from_utc_datetime(&time)))
}

/// The CP56Time2a of a UTC time (years 2000 to 2099; others are marked invalid).
pub fn to_cp56(t: &DateTime) -> Cp56Time2a {
    let c = t.as_chrono();
    let year = c.year();
    let ms = (c.second().min(59) * 1000 + c.timestamp_subsec_millis().min(999)) as u16;
    Cp56Time2a {
        ms,
        iv: !(2000..=2099).contains(&year),
        min: c.minute() as u8,
        summer_time: false,
        hour: c.hour() as u8,
        weekday: c.weekday().number_from_monday() as u8,
        day: c.day() as u8,
        month: c.month() as u8,
        year: (year.rem_euclid(100)) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_to_the_millisecond() {
        let t = DateTime::from(Utc.with_ymd_and_hms(2026, 12, 4, 21, 7, 9).unwrap() + chrono::Duration::milliseconds(345));
        let c = to_cp56(&t);
        assert_eq!((c.year, c.month, c.day, c.hour, c.min, c.ms, c.weekday), (26, 12, 4, 21, 7, 9345, 5));
        assert!(!c.iv);
        assert_eq!(from_cp56(&c), Some(t));
    }

    #[test]
    fn invalid_times_are_none() {
        let mut c = to_cp56(&DateTime::now());
        c.iv = true;
        assert_eq!(from_cp56(&c), None);
        let c = Cp56Time2a { month: 13, day: 1, ..Default::default() };
        assert_eq!(from_cp56(&c), None);
    }
}
