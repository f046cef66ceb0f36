//! DA values ↔ JSON.

use fxgate_da::types::{ua_from_ole_date, DaValue, VarType};
use serde_json::{json, Value};

/// A DA value as JSON: numbers, booleans, strings, arrays; a date as RFC 3339 text.
pub fn to_json(v: &DaValue) -> Value {
    match v {
        DaValue::Empty => Value::Null,
        DaValue::I1(x) => json!(x),
        DaValue::UI1(x) => json!(x),
        DaValue::I2(x) => json!(x),
        DaValue::UI2(x) => json!(x),
        DaValue::I4(x) | DaValue::Int(x) => json!(x),
        DaValue::UI4(x) | DaValue::UInt(x) => json!(x),
        DaValue::I8(x) => json!(x),
        DaValue::UI8(x) => json!(x),
        DaValue::R4(x) => float(f64::from(*x)),
        DaValue::R8(x) => float(*x),
        DaValue::Cy(x) => float(*x as f64 / 10_000.0),
        DaValue::Date(d) => match ua_from_ole_date(*d) {
            Some(dt) => json!(dt.as_chrono().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            None => Value::Null,
        },
        DaValue::Bstr(s) => json!(s),
        DaValue::Error(e) => json!(e),
        DaValue::Bool(b) => json!(b),
        DaValue::Decimal(d) => json!(d.to_string()),
        DaValue::Array(_, items) => Value::Array(items.iter().map(to_json).collect()),
    }
}

fn float(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A JSON value a client wants written, as the VARIANT a DA client would send.
pub fn from_json(v: &Value) -> DaValue {
    match v {
        Value::Null => DaValue::Empty,
        Value::Bool(b) => DaValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                DaValue::I8(i)
            } else if let Some(u) = n.as_u64() {
                DaValue::UI8(u)
            } else {
                DaValue::R8(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => DaValue::Bstr(s.clone()),
        Value::Array(items) => DaValue::Array(VarType::VT_VARIANT, items.iter().map(from_json).collect()),
        Value::Object(_) => DaValue::Bstr(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert() {
        assert_eq!(to_json(&DaValue::R8(1.5)), json!(1.5));
        assert_eq!(to_json(&DaValue::R8(f64::NAN)), Value::Null);
        assert_eq!(to_json(&DaValue::Bool(true)), json!(true));
        assert_eq!(to_json(&DaValue::Date(0.0)), json!("1899-12-30T00:00:00.000Z"));
        assert_eq!(
            to_json(&DaValue::Array(VarType::VT_I4, vec![DaValue::I4(1), DaValue::I4(2)])),
            json!([1, 2])
        );
        assert_eq!(from_json(&json!(42)), DaValue::I8(42));
        assert_eq!(from_json(&json!(42.5)), DaValue::R8(42.5));
        assert_eq!(from_json(&json!("x")), DaValue::Bstr("x".into()));
    }
}
