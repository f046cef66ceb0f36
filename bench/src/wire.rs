//! fxgate's JSON tag-change values, as its `[[mqtt]]` and `[[websocket]]` outputs write them
//! (docs/interfaces.md): a value `{"tag","v","q","st"}` (`st` the source time, RFC 3339 UTC
//! with ms), alone or in a batch `{"seq","ts","values":[…]}`. The push tools write them with
//! [`Sample`] and [`Batch`]; the sinks read a value's tag, quality and source time with
//! [`SampleIn`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::clock::parse_rfc3339_us;

/// One value as written.
#[derive(Serialize)]
pub struct Sample<'a> {
    /// The tag's path, e.g. `Sim/T7`.
    pub tag: &'a str,
    /// The value.
    pub v: f64,
    /// The quality: `Good`, `Uncertain…` or `Bad…`.
    pub q: &'static str,
    /// The source time, RFC 3339.
    pub st: &'a str,
}

/// A batch of values as written.
#[derive(Serialize)]
pub struct Batch<'a> {
    /// The message number, one more per message.
    pub seq: u64,
    /// The message's time, RFC 3339.
    pub ts: String,
    /// The values.
    pub values: Vec<Sample<'a>>,
}

/// One value as read: its tag, quality and source time (the value itself is skipped).
#[derive(Deserialize)]
pub struct SampleIn<'a> {
    /// The tag's path.
    #[serde(borrow)]
    pub tag: Cow<'a, str>,
    /// The quality, if given.
    #[serde(default, borrow)]
    pub q: Option<Cow<'a, str>>,
    /// The source time, if given.
    #[serde(default, borrow)]
    pub st: Option<Cow<'a, str>>,
}

impl SampleIn<'_> {
    /// The source time in µs since the epoch (`None`: missing or not RFC 3339 UTC).
    pub fn st_us(&self) -> Option<i64> {
        self.st.as_deref().and_then(parse_rfc3339_us)
    }

    /// True unless a quality other than `Good` is given.
    pub fn good(&self) -> bool {
        self.q.as_deref().is_none_or(|q| q == "Good")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_fxgate_format() {
        let b = Batch {
            seq: 3,
            ts: "2026-12-06T02:11:25.124Z".into(),
            values: vec![Sample {
                tag: "Sim/T0",
                v: 1.5,
                q: "Good",
                st: "2026-12-06T02:11:25.123Z",
            }],
        };
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"seq":3,"ts":"2026-12-06T02:11:25.124Z","values":[{"tag":"Sim/T0","v":1.5,"q":"Good","st":"2026-12-06T02:11:25.123Z"}]}"#
        );
    }

    #[test]
    fn reads_tag_quality_and_source_time() {
        let s: SampleIn<'_> = serde_json::from_str(
            r#"{"tag":"Sim/T0","v":1.5,"q":"Good","st":"2026-12-06T02:11:25.123Z"}"#,
        )
        .unwrap();
        assert_eq!(s.tag, "Sim/T0");
        assert!(s.good());
        assert_eq!(s.st_us(), Some(1_796_523_085_123_000));
        let s: SampleIn<'_> = serde_json::from_str(r#"{"tag":"a\"b","q":"Bad"}"#).unwrap();
        assert_eq!(s.tag, "a\"b");
        assert!(!s.good());
        assert_eq!(s.st_us(), None);
        let s: SampleIn<'_> = serde_json::from_str(r#"{"tag":"x"}"#).unwrap();
        assert!(s.good());
    }
}
