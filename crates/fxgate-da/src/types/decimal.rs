//! `VT_DECIMAL` ([`DaDecimal`]) and the UA Decimal DataType, which a Variant carries as an
//! ExtensionObject whose body is Scale (Int16) + Value (two's complement, little-endian)
//! (OPC 10000-6 5.1.10).

use std::fmt;

use opcua::types::{ByteString, ByteStringBody, DataTypeId, ExtensionObject, NodeId, Variant};

/// A `VT_DECIMAL` value: `mantissa × 10^-scale` with |mantissa| < 2^96 and scale ≤ 28.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DaDecimal {
    mantissa: i128,
    scale: u8,
}

impl DaDecimal {
    /// Largest scale of a `VT_DECIMAL`.
    pub const MAX_SCALE: u8 = 28;
    /// Largest magnitude of the mantissa of a `VT_DECIMAL` (2^96 - 1).
    pub const MAX_MANTISSA: i128 = (1i128 << 96) - 1;

    /// `mantissa × 10^-scale`, or `None` outside the `VT_DECIMAL` range.
    pub fn new(mantissa: i128, scale: u8) -> Option<DaDecimal> {
        (mantissa.abs() <= Self::MAX_MANTISSA && scale <= Self::MAX_SCALE)
            .then_some(DaDecimal { mantissa, scale })
    }

    /// The unscaled value.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// The number of decimal digits after the point.
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// A `VT_CY` value (the currency value × 10 000) as the decimal it denotes: the same
    /// mantissa with scale 4. Always in range, since |i64| < 2^96.
    pub(super) fn from_currency(cy: i64) -> DaDecimal {
        DaDecimal {
            mantissa: cy.into(),
            scale: 4,
        }
    }

    /// `mantissa × 10^-scale` for any scale: a negative scale multiplies, a scale above 28
    /// rounds (half to even, like `VarDecRound`). `None` if the result does not fit.
    pub(super) fn from_scaled(mantissa: i128, scale: i32) -> Option<DaDecimal> {
        if scale < 0 {
            let factor = pow10(u32::try_from(-scale).ok()?)?;
            return DaDecimal::new(mantissa.checked_mul(factor)?, 0);
        }
        let excess = scale - i32::from(Self::MAX_SCALE);
        if excess > 0 {
            let rounded = div_round_half_even(mantissa, u32::try_from(excess).ok()?);
            return DaDecimal::new(rounded, Self::MAX_SCALE);
        }
        DaDecimal::new(mantissa, u8::try_from(scale).ok()?)
    }

    /// Parses `[+|-]digits[.digits]` (no exponent); `None` if malformed or out of range.
    pub fn parse(text: &str) -> Option<DaDecimal> {
        parse_decimal(text).ok()
    }

    /// The nearest integer, ties to even.
    pub(super) fn round_to_integer(&self) -> i128 {
        div_round_half_even(self.mantissa, u32::from(self.scale))
    }

    /// The nearest `f64`.
    pub fn to_f64(&self) -> f64 {
        // The decimal text is exact and Rust's float parser rounds correctly.
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

impl fmt::Display for DaDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// 10^exp, if it fits an i128.
fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

/// `value / 10^exp` rounded half to even.
fn div_round_half_even(value: i128, exp: u32) -> i128 {
    let Some(divisor) = pow10(exp) else {
        return 0; // |value| < 10^39 ≤ divisor / 2
    };
    let quotient = value / divisor;
    let remainder = (value % divisor).abs();
    let half = divisor / 2;
    let away = remainder > half || (remainder == half && divisor % 2 == 0 && quotient % 2 != 0);
    if away {
        quotient + value.signum()
    } else {
        quotient
    }
}

/// Why a text is not a `VT_DECIMAL`.
enum DecimalParseError {
    /// Not `[+|-]digits[.digits]`.
    Syntax,
    /// Well-formed, but outside the `VT_DECIMAL` range.
    Range,
}

/// [`DaDecimal::parse`], with the reason for a failure.
fn parse_decimal(text: &str) -> Result<DaDecimal, DecimalParseError> {
    let text = text.trim();
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err(DecimalParseError::Syntax);
    }
    let digits = format!("{int}{frac}");
    let significant = digits.trim_start_matches('0');
    let magnitude: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().map_err(|_| DecimalParseError::Range)?
    };
    let scale = i32::try_from(frac.len()).map_err(|_| DecimalParseError::Range)?;
    let mantissa = if negative { -magnitude } else { magnitude };
    DaDecimal::from_scaled(mantissa, scale).ok_or(DecimalParseError::Range)
}

/// The UA Decimal DataType's binary body (OPC 10000-6 5.1.10): Scale (Int16, LE) followed
/// by the unscaled value as a little-endian two's complement integer.
pub(super) fn ua_decimal_body(d: &DaDecimal) -> Vec<u8> {
    let mut body = i16::from(d.scale).to_le_bytes().to_vec();
    let bytes = d.mantissa.to_le_bytes();
    // Drop redundant sign-extension bytes, keeping at least one.
    let mut len = bytes.len();
    while len > 1 {
        let (top, next) = (bytes[len - 1], bytes[len - 2]);
        let redundant = (top == 0x00 && next & 0x80 == 0) || (top == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        len -= 1;
    }
    body.extend_from_slice(&bytes[..len]);
    body
}

/// The unscaled value and scale of a UA Decimal body, if the value fits an i128.
pub(super) fn parse_ua_decimal_body(body: &[u8]) -> Option<(i128, i16)> {
    let (scale, value) = body.split_first_chunk::<2>()?;
    let negative = value.last().is_some_and(|b| b & 0x80 != 0);
    let fill = if negative { 0xff } else { 0x00 };
    // Sign-extension bytes beyond 16 carry no information; anything else does not fit.
    let significant = value.len() - value.iter().rev().take_while(|b| **b == fill).count();
    if significant > 16 || (significant == 16 && (value[15] & 0x80 != 0) != negative) {
        return None;
    }
    let mut bytes = [fill; 16];
    bytes[..significant].copy_from_slice(&value[..significant]);
    Some((i128::from_le_bytes(bytes), i16::from_le_bytes(*scale)))
}

/// The Decimal DataType NodeId (`i=50`), the TypeId of a Decimal in an ExtensionObject.
pub(super) fn decimal_type_id() -> NodeId {
    NodeId::from(DataTypeId::Decimal)
}

/// A UA Decimal as the ExtensionObject a Variant carries it in.
pub(super) fn ua_decimal(d: &DaDecimal) -> Variant {
    let body = ByteStringBody::new(ByteString::from(ua_decimal_body(d)), decimal_type_id());
    Variant::ExtensionObject(ExtensionObject::new(body))
}
