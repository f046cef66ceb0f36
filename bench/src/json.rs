//! The one-line JSON reports of the bench binaries (shared by `fxgate-load` and `modbus-poll`).

use std::collections::BTreeMap;

/// Minimal JSON object writer.
pub struct Json(Vec<(String, String)>);

impl Json {
    pub fn new() -> Self {
        Json(Vec::new())
    }
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
    pub fn opt(&mut self, k: &str, v: Option<f64>) {
        match v {
            Some(v) => self.num(k, v),
            None => self.0.push((k.to_owned(), "null".to_owned())),
        }
    }
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

