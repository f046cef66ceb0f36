//! Unit tests: UA DateTimes outside 1601–9999 are clamped on the way to `VT_DATE`
//! (OPC 10000-6 5.2.2.5).

use opcua::types::{DateTime, Variant};

use super::*;

#[test]
fn out_of_range_datetimes_are_clamped_not_overflowed() {
    let lowest = ole_date_from_ua(&DateTime::from(0i64));
    assert_eq!(ole_date_from_ua(&DateTime::from(i64::MIN)), lowest);
    let highest = ole_date_from_ua(&DateTime::from(DateTime::endtimes_ticks()));
    assert_eq!(ole_date_from_ua(&DateTime::from(i64::MAX)), highest);
    assert!(ua_to_da_value(&Variant::DateTime(Box::new(DateTime::from(i64::MIN)))) == DaValue::Date(lowest));
}
