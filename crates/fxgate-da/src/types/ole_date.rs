//! OLE Automation dates (`VT_DATE`, days since 1899-12-30 as a double) ↔ UA DateTime
//! (100 ns ticks since 1601-01-01, OPC 10000-6 5.2.2.5), for the DateTime row of
//! OPC 10000-8 Table A.36.

use opcua::types::DateTime;

/// 100 ns ticks per millisecond.
pub(super) const TICKS_PER_MS: i64 = 10_000;
/// Milliseconds per day.
pub(super) const MS_PER_DAY: i64 = 86_400_000;
/// The OLE Automation epoch, 1899-12-30T00:00:00Z, in UA DateTime ticks (100 ns since
/// 1601-01-01): 109 205 days.
pub(super) const OLE_EPOCH_TICKS: i64 = 109_205 * MS_PER_DAY * TICKS_PER_MS;
/// Days beyond which an OLE date is far outside the UA DateTime range (year 9999 is
/// day 2 958 465).
const OLE_DAYS_LIMIT: f64 = 3_000_000.0;

/// A UA DateTime as an OLE Automation date (`VT_DATE`): days since 1899-12-30 00:00 UTC,
/// rounded to the millisecond.
///
/// Before the OLE epoch the integer part counts days backwards while the fraction is still
/// the (positive) time of day, so 1899-12-29 06:00 is -1.25. A `f64` holds every
/// millisecond of years 1601–9999 exactly enough for [`ua_from_ole_date`] to recover it.
/// A DateTime outside that range (a decoded one can hold any tick count) is clamped to it,
/// as the OPC UA encoder does.
pub fn ole_date_from_ua(dt: &DateTime) -> f64 {
    let ticks = dt.ticks().clamp(0, DateTime::endtimes_ticks());
    let ms = (ticks - OLE_EPOCH_TICKS + TICKS_PER_MS / 2).div_euclid(TICKS_PER_MS);
    let days = ms.div_euclid(MS_PER_DAY);
    let time_of_day = ms.rem_euclid(MS_PER_DAY) as f64 / MS_PER_DAY as f64;
    if days >= 0 {
        days as f64 + time_of_day
    } else {
        days as f64 - time_of_day
    }
}

/// The UA DateTime of an OLE Automation date, rounded to the millisecond; the inverse of
/// [`ole_date_from_ua`]. `None` if `ole` is not finite or lies outside the UA DateTime
/// range (1601-01-01 to 9999-12-31 23:59:59).
pub fn ua_from_ole_date(ole: f64) -> Option<DateTime> {
    if !ole.is_finite() || ole.abs() > OLE_DAYS_LIMIT {
        return None;
    }
    let days = ole.trunc();
    let ms_of_day = ((ole - days).abs() * MS_PER_DAY as f64).round() as i64;
    let ms = days as i64 * MS_PER_DAY + ms_of_day;
    let ticks = OLE_EPOCH_TICKS + ms * TICKS_PER_MS;
    (0..=DateTime::endtimes_ticks())
        .contains(&ticks)
        .then(|| DateTime::from(ticks))
}
