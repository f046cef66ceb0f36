//! The one-line JSON reports of `fxgate-load` and `modbus-poll`: a minimal writer that keeps the
//! keys in the order they are added.

use std::collections::BTreeMap;

/// Minimal JSON object writer: keys in insertion order, numbers as integers when whole.
#[derive(Default)]
pub struct Json(Vec<(String, String)>);

impl Json {
    /// An empty object.
    pub fn new() -> Self {
        Json(Vec::new())
    }

    /// Adds `k` with the string `v` (quotes, backslashes and control characters escaped).
    pub fn str(&mut self, k: &str, v: &str) {
        let mut e = String::with_capacity(v.len() + 2);
        e.push('"');
        for c in v.chars() {
            match c {
                '"' => e.push_str("\\\""),
                '\\' => e.push_str("\\\\"),
                c if (c as u32) < 0x20 => e.push_str(&format!("\\u{:04x}", c as u32)),
                c => e.push(c),
            }
        }
        e.push('"');
        self.0.push((k.to_owned(), e));
    }

    /// Adds `k` with the number `v`: whole numbers below 10^15 without a fraction, others with
    /// two decimals, non-finite ones as `null`.
    pub fn num(&mut self, k: &str, v: impl Into<f64>) {
        let v: f64 = v.into();
        let s = if !v.is_finite() {
            "null".to_owned()
        } else if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{}", v as i64)
        } else {
            format!("{v:.2}")
        };
        self.0.push((k.to_owned(), s));
    }

    /// Adds `k` with the number `v`, or `null` for `None`.
    pub fn opt(&mut self, k: &str, v: Option<f64>) {
        match v {
            Some(v) => self.num(k, v),
            None => self.0.push((k.to_owned(), "null".to_owned())),
        }
    }

    /// The object on one line.
    pub fn render(&self) -> String {
        let body: Vec<String> = self.0.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(","))
    }
}

/// `code=count` pairs, space-separated.
pub fn codes_string(codes: &BTreeMap<String, u64>) -> String {
    codes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_order() {
        let mut j = Json::new();
        j.str("s", "a\"b\\c\n");
        j.num("i", 3.0);
        j.num("f", 1.25);
        j.num("nan", f64::NAN);
        j.opt("none", None);
        j.opt("some", Some(7.0));
        assert_eq!(
            j.render(),
            r#"{"s":"a\"b\\c\u000a","i":3,"f":1.25,"nan":null,"none":null,"some":7}"#
        );
    }

    #[test]
    fn codes() {
        let mut c = BTreeMap::new();
        c.insert("BadTimeout".to_string(), 2);
        c.insert("BadNoData".to_string(), 1);
        assert_eq!(codes_string(&c), "BadNoData=1 BadTimeout=2");
        assert_eq!(codes_string(&BTreeMap::new()), "");
    }
}
