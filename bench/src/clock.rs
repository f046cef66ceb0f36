//! Wall-clock time as the bench tools stamp and read it: µs or ms since the Unix epoch, RFC 3339
//! UTC with milliseconds (`YYYY-MM-DDTHH:MM:SS.fffZ`, as fxgate writes source timestamps), and the
//! civil-date arithmetic behind both directions (H. Hinnant's algorithms).

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch, now (0 if the clock is before the epoch).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch of `t` (0 before the epoch).
pub fn ms_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// Days since 1970-01-01 of the civil date `y`-`m`-`d` (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of day `z` since 1970-01-01 (proleptic Gregorian).
pub fn days_to_civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z` → µs since the epoch (digits past µs are ignored); `None` for
/// anything else, a zone other than `Z` included (fxgate only sends UTC).
pub fn parse_rfc3339_us(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut frac_us = 0i64;
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let mut scale = 100_000i64;
        while i < b.len() && b[i].is_ascii_digit() {
            frac_us += i64::from(b[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    if i >= b.len() || b[i] != b'Z' {
        return None; // only UTC is sent
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
    Some(secs * 1_000_000 + frac_us)
}

/// RFC 3339 UTC with milliseconds (truncated), as fxgate writes it.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, m, day) = days_to_civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_rfc3339_with_millis() {
        assert_eq!(
            parse_rfc3339_us("2026-12-06T02:11:25.123Z"),
            Some(1_796_523_085_123_000)
        );
        assert_eq!(parse_rfc3339_us("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_us("1970-01-01T00:00:00.0000019Z"), Some(1));
    }

    #[test]
    fn refuses_other_forms() {
        assert_eq!(parse_rfc3339_us("2026-12-06T02:11:25.123+01:00"), None);
        assert_eq!(parse_rfc3339_us("2026-12-06 02:11:25.123Z"), None);
        assert_eq!(parse_rfc3339_us("2026-12-06T02:11:25"), None);
        assert_eq!(parse_rfc3339_us("2026-12-06T02:11:2x.123Z"), None);
        assert_eq!(parse_rfc3339_us(""), None);
    }

    #[test]
    fn formats_and_parses_back() {
        let us = 1_796_523_085_123_456u64;
        let t = UNIX_EPOCH + Duration::from_micros(us);
        let s = rfc3339(t);
        assert_eq!(s, "2026-12-06T02:11:25.123Z");
        // Formatting truncates to ms.
        assert_eq!(parse_rfc3339_us(&s), Some((us / 1000 * 1000) as i64));
        assert_eq!(ms_since_epoch(t), us / 1000);
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(2026, 12, 6), 20_793);
        for z in (-800_000..800_000).step_by(97) {
            let (y, m, d) = days_to_civil(z);
            assert!(
                (1..=12).contains(&m) && (1..=31).contains(&d),
                "{z}: {y}-{m}-{d}"
            );
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_us() > 1_577_836_800_000_000);
    }
}
