//! Values ↔ Modbus registers: data type, word order, byte order, scaling.
//!
//! Registers are turned into bytes register by register (each register's two bytes in
//! `byte_order`), with the registers taken in `word_order`; the bytes are then read as a
//! big-endian number. So `float32` 1.0 = 0x3F80_0000 is `[0x3F80, 0x0000]` (big/big),
//! `[0x0000, 0x3F80]` (little words, "CDAB"), `[0x803F, 0x0000]` (little bytes, "BADC").

use crate::config::address::{Encoding, ModbusType, Order};
use opcua::types::{StatusCode, Variant};

use fxgate_core::tag_type::to_f64;

fn bytes_of(regs: &[u16], enc: &Encoding, reorder_words: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(regs.len() * 2);
    let mut push = |w: u16| match enc.byte_order {
        Order::Big => out.extend_from_slice(&w.to_be_bytes()),
        Order::Little => out.extend_from_slice(&w.to_le_bytes()),
    };
    if reorder_words && enc.word_order == Order::Little {
        regs.iter().rev().for_each(|&w| push(w));
    } else {
        regs.iter().for_each(|&w| push(w));
    }
    out
}

fn regs_of(bytes: &[u8], enc: &Encoding, reorder_words: bool) -> Vec<u16> {
    let mut regs: Vec<u16> = bytes
        .chunks(2)
        .map(|c| {
            let pair = [c[0], *c.get(1).unwrap_or(&0)];
            match enc.byte_order {
                Order::Big => u16::from_be_bytes(pair),
                Order::Little => u16::from_le_bytes(pair),
            }
        })
        .collect();
    if reorder_words && enc.word_order == Order::Little {
        regs.reverse();
    }
    regs
}

/// The raw number in `regs` (exactly `enc.data_type.registers()` of them) as f64 and as
/// its native variant. Not for bool or string.
fn raw_number(regs: &[u16], enc: &Encoding) -> Option<(f64, Variant)> {
    let b = bytes_of(regs, enc, true);
    Some(match enc.data_type {
        ModbusType::Int16 => {
            let v = i16::from_be_bytes(b.get(..2)?.try_into().ok()?);
            (f64::from(v), Variant::Int16(v))
        }
        ModbusType::Uint16 => {
            let v = u16::from_be_bytes(b.get(..2)?.try_into().ok()?);
            (f64::from(v), Variant::UInt16(v))
        }
        ModbusType::Int32 => {
            let v = i32::from_be_bytes(b.get(..4)?.try_into().ok()?);
            (f64::from(v), Variant::Int32(v))
        }
        ModbusType::Uint32 => {
            let v = u32::from_be_bytes(b.get(..4)?.try_into().ok()?);
            (f64::from(v), Variant::UInt32(v))
        }
        ModbusType::Float32 => {
            let v = f32::from_be_bytes(b.get(..4)?.try_into().ok()?);
            (f64::from(v), Variant::Float(v))
        }
        ModbusType::Int64 => {
            let v = i64::from_be_bytes(b.get(..8)?.try_into().ok()?);
            (v as f64, Variant::Int64(v))
        }
        ModbusType::Uint64 => {
            let v = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
            (v as f64, Variant::UInt64(v))
        }
        ModbusType::Float64 => {
            let v = f64::from_be_bytes(b.get(..8)?.try_into().ok()?);
            (v, Variant::Double(v))
        }
        ModbusType::Bool | ModbusType::String => return None,
    })
}

/// Decodes the registers of one value. `regs` must hold exactly the registers of the type.
pub fn decode_registers(regs: &[u16], enc: &Encoding) -> Result<Variant, StatusCode> {
    if enc.data_type == ModbusType::String {
        // Text runs register after register; only the bytes inside a register may swap.
        let b = bytes_of(regs, enc, false);
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        return Ok(Variant::from(String::from_utf8_lossy(&b[..end]).into_owned()));
    }
    let (raw, native) = raw_number(regs, enc).ok_or(StatusCode::BadDecodingError)?;
    Ok(if enc.is_scaled() {
        Variant::Double(raw * enc.scale + enc.offset)
    } else {
        native
    })
}

fn integer_bytes(v: f64, min: f64, max: f64) -> Result<i128, StatusCode> {
    if !v.is_finite() {
        return Err(StatusCode::BadOutOfRange);
    }
    let r = v.round();
    if r < min || r > max {
        return Err(StatusCode::BadOutOfRange);
    }
    Ok(r as i128)
}

/// Encodes a value into the registers of `enc`. Scaled encodings take any number and
/// send `(value - offset) / scale` rounded for integer types; values outside the wire
/// type's range are `Bad_OutOfRange`, non-numbers `Bad_TypeMismatch`.
pub fn encode_registers(value: &Variant, enc: &Encoding) -> Result<Vec<u16>, StatusCode> {
    if enc.data_type == ModbusType::String {
        let Variant::String(s) = value else {
            return Err(StatusCode::BadTypeMismatch);
        };
        let text = s.as_ref().as_bytes();
        let cap = usize::from(enc.length) * 2;
        if text.len() > cap {
            return Err(StatusCode::BadOutOfRange);
        }
        let mut b = text.to_vec();
        b.resize(cap, 0);
        return Ok(regs_of(&b, enc, false));
    }
    let v = to_f64(value).ok_or(StatusCode::BadTypeMismatch)?;
    if matches!(value, Variant::Boolean(_)) {
        return Err(StatusCode::BadTypeMismatch);
    }
    let raw = (v - enc.offset) / enc.scale;
    let bytes: Vec<u8> = match enc.data_type {
        ModbusType::Int16 => (integer_bytes(raw, i16::MIN.into(), i16::MAX.into())? as i16).to_be_bytes().to_vec(),
        ModbusType::Uint16 => (integer_bytes(raw, 0.0, u16::MAX.into())? as u16).to_be_bytes().to_vec(),
        ModbusType::Int32 => (integer_bytes(raw, i32::MIN.into(), i32::MAX.into())? as i32).to_be_bytes().to_vec(),
        ModbusType::Uint32 => (integer_bytes(raw, 0.0, u32::MAX.into())? as u32).to_be_bytes().to_vec(),
        ModbusType::Int64 => match value {
            // Exact for 64-bit integers that f64 cannot hold.
            Variant::Int64(i) if !enc.is_scaled() => i.to_be_bytes().to_vec(),
            Variant::UInt64(u) if !enc.is_scaled() => i64::try_from(*u).map_err(|_| StatusCode::BadOutOfRange)?.to_be_bytes().to_vec(),
            _ => (integer_bytes(raw, -9.223_372_036_854_776e18, 9.223_372_036_854_775e18)? as i64).to_be_bytes().to_vec(),
        },
        ModbusType::Uint64 => match value {
            Variant::UInt64(u) if !enc.is_scaled() => u.to_be_bytes().to_vec(),
            Variant::Int64(i) if !enc.is_scaled() => u64::try_from(*i).map_err(|_| StatusCode::BadOutOfRange)?.to_be_bytes().to_vec(),
            _ => (integer_bytes(raw, 0.0, 1.844_674_407_370_955e19)? as u64).to_be_bytes().to_vec(),
        },
        ModbusType::Float32 => {
            if raw.is_finite() && raw.abs() > f64::from(f32::MAX) {
                return Err(StatusCode::BadOutOfRange);
            }
            (raw as f32).to_be_bytes().to_vec()
        }
        ModbusType::Float64 => raw.to_be_bytes().to_vec(),
        ModbusType::Bool | ModbusType::String => return Err(StatusCode::BadTypeMismatch),
    };
    Ok(regs_of(&bytes, enc, true))
}

/// The boolean a value stands for (Boolean, or a number: non-zero is true).
pub fn to_bool(value: &Variant) -> Result<bool, StatusCode> {
    match value {
        Variant::Boolean(b) => Ok(*b),
        other => to_f64(other).map(|v| v != 0.0).ok_or(StatusCode::BadTypeMismatch),
    }
}

pub use fxgate_core::tag_type::to_tag_type;

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::DataTypeId;
    use proptest::prelude::*;

    fn enc(t: ModbusType, w: Order, b: Order) -> Encoding {
        Encoding { data_type: t, word_order: w, byte_order: b, length: 4, scale: 1.0, offset: 0.0 }
    }

    #[test]
    fn float32_in_the_four_orders() {
        use Order::*;
        let one = Variant::Float(1.0);
        assert_eq!(encode_registers(&one, &enc(ModbusType::Float32, Big, Big)).unwrap(), [0x3F80, 0x0000]);
        assert_eq!(encode_registers(&one, &enc(ModbusType::Float32, Little, Big)).unwrap(), [0x0000, 0x3F80]);
        assert_eq!(encode_registers(&one, &enc(ModbusType::Float32, Big, Little)).unwrap(), [0x803F, 0x0000]);
        assert_eq!(encode_registers(&one, &enc(ModbusType::Float32, Little, Little)).unwrap(), [0x0000, 0x803F]);
        assert_eq!(decode_registers(&[0x0000, 0x3F80], &enc(ModbusType::Float32, Little, Big)).unwrap(), one);
    }

    #[test]
    fn integers_scaling_and_ranges() {
        use Order::*;
        let e = enc(ModbusType::Int16, Big, Big);
        assert_eq!(decode_registers(&[0xFFFF], &e).unwrap(), Variant::Int16(-1));
        assert_eq!(encode_registers(&Variant::Int32(70000), &e), Err(StatusCode::BadOutOfRange));
        let scaled = Encoding { scale: 0.1, offset: -50.0, ..enc(ModbusType::Uint16, Big, Big) };
        assert_eq!(decode_registers(&[1000], &scaled).unwrap(), Variant::Double(50.0));
        assert_eq!(encode_registers(&Variant::Double(50.0), &scaled).unwrap(), [1000]);
        assert_eq!(encode_registers(&Variant::Double(-60.0), &scaled), Err(StatusCode::BadOutOfRange));
        let u32e = enc(ModbusType::Uint32, Big, Big);
        assert_eq!(decode_registers(&[0x0001, 0x0002], &u32e).unwrap(), Variant::UInt32(0x0001_0002));
        let i64e = enc(ModbusType::Int64, Little, Big);
        assert_eq!(encode_registers(&Variant::Int64(i64::MIN + 1), &i64e).unwrap(), [0x0001, 0, 0, 0x8000]);
        assert_eq!(encode_registers(&Variant::Boolean(true), &e), Err(StatusCode::BadTypeMismatch));
    }

    #[test]
    fn strings_pad_and_swap_bytes() {
        use Order::*;
        let e = enc(ModbusType::String, Little, Big);
        let r = encode_registers(&Variant::from("ABC"), &e).unwrap();
        assert_eq!(r, [0x4142, 0x4300, 0, 0]);
        assert_eq!(decode_registers(&r, &e).unwrap(), Variant::from("ABC"));
        let sw = enc(ModbusType::String, Big, Little);
        assert_eq!(encode_registers(&Variant::from("AB"), &sw).unwrap()[0], 0x4241);
        assert_eq!(encode_registers(&Variant::from("too long text"), &e), Err(StatusCode::BadOutOfRange));
    }

    #[test]
    fn tag_type_conversion_checks_ranges() {
        assert_eq!(to_tag_type(&Variant::Float(2.0), DataTypeId::Int16), Ok(Variant::Int16(2)));
        assert_eq!(to_tag_type(&Variant::Float(2.5), DataTypeId::Int16), Err(StatusCode::BadOutOfRange));
        assert_eq!(to_tag_type(&Variant::Int32(-1), DataTypeId::UInt32), Err(StatusCode::BadOutOfRange));
        assert_eq!(to_tag_type(&Variant::Boolean(true), DataTypeId::Double), Ok(Variant::Double(1.0)));
        assert_eq!(to_tag_type(&Variant::UInt16(3), DataTypeId::String), Err(StatusCode::BadTypeMismatch));
    }

    fn order() -> impl Strategy<Value = Order> {
        prop_oneof![Just(Order::Big), Just(Order::Little)]
    }

    proptest! {
        #[test]
        fn numbers_round_trip(x in any::<i64>(), w in order(), b in order()) {
            for (t, v) in [
                (ModbusType::Int16, Variant::Int16(x as i16)),
                (ModbusType::Uint16, Variant::UInt16(x as u16)),
                (ModbusType::Int32, Variant::Int32(x as i32)),
                (ModbusType::Uint32, Variant::UInt32(x as u32)),
                (ModbusType::Int64, Variant::Int64(x)),
                (ModbusType::Uint64, Variant::UInt64(x as u64)),
                (ModbusType::Float64, Variant::Double(x as f64)),
                (ModbusType::Float32, Variant::Float(x as f32)),
            ] {
                let e = enc(t, w, b);
                let regs = encode_registers(&v, &e).unwrap();
                prop_assert_eq!(regs.len(), usize::from(t.registers(0)));
                prop_assert_eq!(decode_registers(&regs, &e).unwrap(), v);
            }
        }

        #[test]
        fn any_registers_decode_without_panic(regs in proptest::collection::vec(any::<u16>(), 0..6), w in order(), b in order()) {
            for t in [ModbusType::Int16, ModbusType::Uint32, ModbusType::Float32, ModbusType::Float64, ModbusType::String] {
                let _ = decode_registers(&regs, &enc(t, w, b));
            }
        }
    }
}
