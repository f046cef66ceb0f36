//! Tag values to Sparkplug metric values and back (§6.4.16: signed integers of up to 32
//! bits travel as their two's complement in `int_value`, 64-bit ones in `long_value`).

use opcua::types::{DataTypeId, Variant};

use super::proto::{DataType, MetricValue};

/// The Sparkplug datatype of an OPC UA data type.
pub fn datatype(t: DataTypeId) -> Option<DataType> {
    Some(match t {
        DataTypeId::Boolean => DataType::Boolean,
        DataTypeId::SByte => DataType::Int8,
        DataTypeId::Int16 => DataType::Int16,
        DataTypeId::Int32 => DataType::Int32,
        DataTypeId::Int64 => DataType::Int64,
        DataTypeId::Byte => DataType::UInt8,
        DataTypeId::UInt16 => DataType::UInt16,
        DataTypeId::UInt32 => DataType::UInt32,
        DataTypeId::UInt64 => DataType::UInt64,
        DataTypeId::Float => DataType::Float,
        DataTypeId::Double => DataType::Double,
        DataTypeId::String => DataType::String,
        DataTypeId::DateTime => DataType::DateTime,
        _ => return None,
    })
}

/// A tag's value as a metric value; `None` for no value (the metric is sent `is_null`).
pub fn metric_value(v: &Variant) -> Option<MetricValue> {
    Some(match v {
        Variant::Boolean(b) => MetricValue::BooleanValue(*b),
        Variant::SByte(x) => MetricValue::IntValue(i32::from(*x) as u32),
        Variant::Int16(x) => MetricValue::IntValue(i32::from(*x) as u32),
        Variant::Int32(x) => MetricValue::IntValue(*x as u32),
        Variant::Byte(x) => MetricValue::IntValue(u32::from(*x)),
        Variant::UInt16(x) => MetricValue::IntValue(u32::from(*x)),
        Variant::UInt32(x) => MetricValue::IntValue(*x),
        Variant::Int64(x) => MetricValue::LongValue(*x as u64),
        Variant::UInt64(x) => MetricValue::LongValue(*x),
        Variant::Float(x) => MetricValue::FloatValue(*x),
        Variant::Double(x) => MetricValue::DoubleValue(*x),
        Variant::String(s) => MetricValue::StringValue(s.as_ref().to_string()),
        Variant::DateTime(d) => MetricValue::LongValue(u64::try_from(d.as_chrono().timestamp_millis()).unwrap_or(0)),
        _ => return None,
    })
}

/// A command's metric value as a value of a tag of `data_type`; `None` if it does not fit.
pub fn to_variant(v: &MetricValue, data_type: DataTypeId) -> Option<Variant> {
    use DataTypeId as D;
    use MetricValue as M;
    let int = |v: &MetricValue| -> Option<i128> {
        match v {
            M::IntValue(x) => Some(i128::from(*x)),
            M::LongValue(x) => Some(i128::from(*x)),
            _ => None,
        }
    };
    // Signed types arrive as two's complement in 32 bits (as Tahu sends them), or of their
    // own width.
    let signed = |bits: u32| -> Option<i128> {
        let raw = int(v)?;
        let wide = i128::from(u32::try_from(raw).ok()? as i32);
        let half = 1i128 << (bits - 1);
        if (-half..half).contains(&wide) {
            return Some(wide);
        }
        let width = 1i128 << bits;
        (raw < width).then(|| if raw >= half { raw - width } else { raw })
    };
    Some(match (data_type, v) {
        (D::Boolean, M::BooleanValue(b)) => Variant::Boolean(*b),
        (D::String, M::StringValue(s)) => Variant::from(s.clone()),
        (D::Double, M::DoubleValue(x)) => Variant::Double(*x),
        (D::Double, M::FloatValue(x)) => Variant::Double(f64::from(*x)),
        (D::Float, M::FloatValue(x)) => Variant::Float(*x),
        (D::Float, M::DoubleValue(x)) => Variant::Float(*x as f32),
        (D::SByte, _) => Variant::SByte(i8::try_from(signed(8)?).ok()?),
        (D::Int16, _) => Variant::Int16(i16::try_from(signed(16)?).ok()?),
        (D::Int32, M::IntValue(x)) => Variant::Int32(*x as i32),
        (D::Int64, M::LongValue(x)) => Variant::Int64(*x as i64),
        (D::Byte, _) => Variant::Byte(u8::try_from(int(v)?).ok()?),
        (D::UInt16, _) => Variant::UInt16(u16::try_from(int(v)?).ok()?),
        (D::UInt32, _) => Variant::UInt32(u32::try_from(int(v)?).ok()?),
        (D::UInt64, M::LongValue(x)) => Variant::UInt64(*x),
        _ => return None,
    })
}
