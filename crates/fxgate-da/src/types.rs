//! COM VARIANT types and values ↔ OPC UA DataTypes and Variants (OPC 10000-8 Tables A.32, A.36).
//!
//! Two directions, two tables:
//! - **COM UA Wrapper** (a DA server shown to UA clients): [`TABLE_A32`] maps the VARIANT
//!   type of a DA item to the UA DataType of its Variable ([`da_to_ua_type`]); for writes
//!   coming from DA clients through the Proxy, [`da_to_ua_value`] converts a VARIANT to a
//!   UA [`Variant`], by default per A.32 and otherwise to the DataType of the target node.
//! - **COM UA Proxy** (a UA server shown to DA clients): [`TABLE_A36`] maps a UA DataType to
//!   the canonical VARIANT type of the DA item ([`ua_to_da_type`]) and [`ua_to_da_value`]
//!   converts a UA value to a VARIANT ([`DaValue`]).
//!
//! The tables are transcribed row by row. Where the spec leaves a case open, the choice is
//! made in a separate, documented `const` ([`DA_TO_UA_EXTENSIONS`], [`UA_TO_DA_EXTENSIONS`],
//! [`NS0_SUBTYPES`]) so the spec tables stay verbatim:
//! - A.32 maps `VT_DATE` to **Double**, not DateTime (verbatim; so `VT_DATE` does not round
//!   trip through A.36, which maps Double to `VT_R8`).
//! - Arrays: A.3.1.3 ("If the item in the DA server is an array, the ValueRank Attribute is
//!   set as OneOrMoreDimensions") gives the ValueRank for the `VT_ARRAY` row of A.32:
//!   [`ValueRank::ONE_OR_MORE_DIMENSIONS`] (0). In the other direction every ValueRank ≥ 0
//!   (0 = one or more dimensions, n = n dimensions) is an array; `Any` (-2) and
//!   `ScalarOrOneDimension` (-3) give the scalar type, like the OPC Foundation sample proxy
//!   (the actual value still decides whether a `VT_ARRAY` is sent).
//! - ExtensionObject (a value of a Structure DataType) is "Array of VT_UI1": the bytes of
//!   the binary-encoded body. An array of them cannot be a SAFEARRAY of arrays, so it is
//!   `VT_ARRAY|VT_VARIANT` whose elements are `VT_ARRAY|VT_UI1`. DataTypes this module does
//!   not know (non-zero namespaces, ns=0 structures) fall under this row.
//! - ByteString is not in A.36; it maps to `VT_ARRAY|VT_UI1` like ExtensionObject (as in the
//!   OPC Foundation sample proxy).
//! - Decimal (`i=50`) travels in a UA Variant as an ExtensionObject whose TypeId is the
//!   Decimal DataType and whose body is Scale (Int16) + Value (two's complement,
//!   little-endian) (OPC 10000-6 5.1.10); it is converted to/from `VT_DECIMAL`.
//!
//! "For DataTypes that are subtypes of an existing base DataType the conversion for the
//! Base DataType is used" (A.4.3.2): [`NS0_SUBTYPES`] resolves the common ns=0 subtypes
//! (UtcTime, Duration, LocaleId, …). Subtypes from other namespaces cannot be resolved
//! without browsing; callers that know the nearest ns=0 ancestor should pass that
//! (e.g. [`DataTypeId::Enumeration`] for an enumerated type).

use std::fmt;
use std::str::FromStr;

use opcua::types::value_rank::ValueRank;

use opcua::types::{
    Array, ByteString, ByteStringBody, ContextOwned, DataTypeId, DateTime, ExpandedNodeId,
    ExtensionObject, Guid, LocalizedText, NodeId, QualifiedName, StatusCode, Variant,
    VariantScalarTypeId, XmlElement,
};

// ---------------------------------------------------------------------------------------
// VARTYPE
// ---------------------------------------------------------------------------------------

/// A COM `VARTYPE`: the type tag of a VARIANT, e.g. `VT_R8` or `VT_ARRAY|VT_I4`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarType(pub u16);

impl VarType {
    /// `VT_EMPTY` (0): no value.
    pub const VT_EMPTY: VarType = VarType(0);
    /// `VT_I2` (2): 16-bit signed integer.
    pub const VT_I2: VarType = VarType(2);
    /// `VT_I4` (3): 32-bit signed integer.
    pub const VT_I4: VarType = VarType(3);
    /// `VT_R4` (4): 32-bit IEEE float.
    pub const VT_R4: VarType = VarType(4);
    /// `VT_R8` (5): 64-bit IEEE float.
    pub const VT_R8: VarType = VarType(5);
    /// `VT_CY` (6): currency, a 64-bit integer scaled by 10 000.
    pub const VT_CY: VarType = VarType(6);
    /// `VT_DATE` (7): OLE Automation date, days since 1899-12-30 as a double.
    pub const VT_DATE: VarType = VarType(7);
    /// `VT_BSTR` (8): string.
    pub const VT_BSTR: VarType = VarType(8);
    /// `VT_ERROR` (10): an SCODE.
    pub const VT_ERROR: VarType = VarType(10);
    /// `VT_BOOL` (11): boolean (VARIANT_TRUE = -1).
    pub const VT_BOOL: VarType = VarType(11);
    /// `VT_VARIANT` (12): any VARIANT (meaningful as an array element type).
    pub const VT_VARIANT: VarType = VarType(12);
    /// `VT_DECIMAL` (14): 96-bit integer with a sign and a decimal scale 0..=28.
    pub const VT_DECIMAL: VarType = VarType(14);
    /// `VT_I1` (16): 8-bit signed integer.
    pub const VT_I1: VarType = VarType(16);
    /// `VT_UI1` (17): 8-bit unsigned integer.
    pub const VT_UI1: VarType = VarType(17);
    /// `VT_UI2` (18): 16-bit unsigned integer.
    pub const VT_UI2: VarType = VarType(18);
    /// `VT_UI4` (19): 32-bit unsigned integer.
    pub const VT_UI4: VarType = VarType(19);
    /// `VT_I8` (20): 64-bit signed integer.
    pub const VT_I8: VarType = VarType(20);
    /// `VT_UI8` (21): 64-bit unsigned integer.
    pub const VT_UI8: VarType = VarType(21);
    /// `VT_INT` (22): machine signed integer (32-bit).
    pub const VT_INT: VarType = VarType(22);
    /// `VT_UINT` (23): machine unsigned integer (32-bit).
    pub const VT_UINT: VarType = VarType(23);
    /// `VT_ARRAY` (0x2000): flag for a SAFEARRAY of the element type in the low bits.
    pub const VT_ARRAY: VarType = VarType(0x2000);

    /// `VT_ARRAY|element`.
    pub const fn array_of(element: VarType) -> VarType {
        VarType(element.0 | Self::VT_ARRAY.0)
    }

    /// Whether the `VT_ARRAY` flag is set.
    pub const fn is_array(self) -> bool {
        self.0 & Self::VT_ARRAY.0 != 0
    }

    /// The type without the `VT_ARRAY` flag (the element type of an array, or `self`).
    pub const fn element(self) -> VarType {
        VarType(self.0 & !Self::VT_ARRAY.0)
    }

    /// The `VT_…` name of a scalar type listed as a constant on [`VarType`].
    fn scalar_name(self) -> Option<&'static str> {
        Some(match self {
            Self::VT_EMPTY => "VT_EMPTY",
            Self::VT_I2 => "VT_I2",
            Self::VT_I4 => "VT_I4",
            Self::VT_R4 => "VT_R4",
            Self::VT_R8 => "VT_R8",
            Self::VT_CY => "VT_CY",
            Self::VT_DATE => "VT_DATE",
            Self::VT_BSTR => "VT_BSTR",
            Self::VT_ERROR => "VT_ERROR",
            Self::VT_BOOL => "VT_BOOL",
            Self::VT_VARIANT => "VT_VARIANT",
            Self::VT_DECIMAL => "VT_DECIMAL",
            Self::VT_I1 => "VT_I1",
            Self::VT_UI1 => "VT_UI1",
            Self::VT_UI2 => "VT_UI2",
            Self::VT_UI4 => "VT_UI4",
            Self::VT_I8 => "VT_I8",
            Self::VT_UI8 => "VT_UI8",
            Self::VT_INT => "VT_INT",
            Self::VT_UINT => "VT_UINT",
            _ => return None,
        })
    }
}

/// `VT_R8`, `VT_ARRAY|VT_R8`; types without a constant print as `VT(0x0063)`.
impl fmt::Display for VarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_array() {
            f.write_str("VT_ARRAY|")?;
        }
        let element = self.element();
        match element.scalar_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "VT({:#06x})", element.0),
        }
    }
}

impl fmt::Debug for VarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// ---------------------------------------------------------------------------------------
// Type tables
// ---------------------------------------------------------------------------------------

/// Table A.32 – DataTypes and mapping (COM UA Wrapper): Variant Data Type (in DA server)
/// → OPC UA Data type.
///
/// The last row of the table, "VT_ARRAY → Array of OPC UA types", is the rule in
/// [`da_to_ua_type`]: `VT_ARRAY|x` is the DataType of `x` with ValueRank
/// OneOrMoreDimensions.
pub const TABLE_A32: [(VarType, DataTypeId); 14] = [
    (VarType::VT_I2, DataTypeId::Int16),
    (VarType::VT_I4, DataTypeId::Int32),
    (VarType::VT_R4, DataTypeId::Float),
    (VarType::VT_R8, DataTypeId::Double),
    (VarType::VT_BSTR, DataTypeId::String),
    (VarType::VT_BOOL, DataTypeId::Boolean),
    (VarType::VT_UI1, DataTypeId::Byte),
    (VarType::VT_I1, DataTypeId::SByte),
    (VarType::VT_UI2, DataTypeId::UInt16),
    (VarType::VT_UI4, DataTypeId::UInt32),
    (VarType::VT_I8, DataTypeId::Int64),
    (VarType::VT_UI8, DataTypeId::UInt64),
    (VarType::VT_DATE, DataTypeId::Double),
    (VarType::VT_DECIMAL, DataTypeId::Decimal),
];

/// VARIANT types not in Table A.32 that DA servers still use as canonical types.
///
/// `VT_INT`/`VT_UINT` are the 32-bit integers under another tag; `VT_CY` becomes Double
/// (like `VT_DATE` in A.32: a number without a UA counterpart; exact up to 9·10^11);
/// `VT_VARIANT` is "any type", BaseDataType. None of them round-trips through A.36.
/// `VT_EMPTY` and `VT_ERROR` have no DataType.
pub const DA_TO_UA_EXTENSIONS: [(VarType, DataTypeId); 4] = [
    (VarType::VT_INT, DataTypeId::Int32),
    (VarType::VT_UINT, DataTypeId::UInt32),
    (VarType::VT_CY, DataTypeId::Double),
    (VarType::VT_VARIANT, DataTypeId::BaseDataType),
];

/// Table A.36 – DataTypes and Mapping (COM UA Proxy): OPC UA Data type → Variant Data Type.
///
/// The ExtensionObject row is keyed by the Structure DataType (`i=22`), the DataType whose
/// values are ExtensionObjects. The last row, "Array of above OPC UA types → Array of
/// corresponding Variant type", is the rule in [`ua_to_da_type`].
pub const TABLE_A36: [(DataTypeId, VarType); 22] = [
    (DataTypeId::Int16, VarType::VT_I2),
    (DataTypeId::Int32, VarType::VT_I4),
    (DataTypeId::Float, VarType::VT_R4),
    (DataTypeId::Double, VarType::VT_R8),
    (DataTypeId::Decimal, VarType::VT_DECIMAL),
    (DataTypeId::String, VarType::VT_BSTR),
    (DataTypeId::Boolean, VarType::VT_BOOL),
    (DataTypeId::Byte, VarType::VT_UI1),
    (DataTypeId::SByte, VarType::VT_I1),
    (DataTypeId::UInt16, VarType::VT_UI2),
    (DataTypeId::UInt32, VarType::VT_UI4),
    (DataTypeId::Int64, VarType::VT_I8),
    (DataTypeId::UInt64, VarType::VT_UI8),
    (DataTypeId::Guid, VarType::VT_BSTR),
    (DataTypeId::DateTime, VarType::VT_DATE),
    (DataTypeId::NodeId, VarType::VT_BSTR),
    (DataTypeId::XmlElement, VarType::VT_BSTR),
    (DataTypeId::ExpandedNodeId, VarType::VT_BSTR),
    (DataTypeId::QualifiedName, VarType::VT_BSTR),
    (DataTypeId::LocalizedText, VarType::VT_BSTR),
    (DataTypeId::StatusCode, VarType::VT_UI4),
    (DataTypeId::Structure, VarType::array_of(VarType::VT_UI1)), // ExtensionObject
];

/// ns=0 DataTypes not in Table A.36 that have a VARIANT type of their own, as in the
/// OPC Foundation sample proxy: ByteString is bytes, BaseDataType ("any") is `VT_VARIANT`,
/// Enumeration values are Int32, and the abstract numbers take their widest member.
pub const UA_TO_DA_EXTENSIONS: [(DataTypeId, VarType); 6] = [
    (DataTypeId::ByteString, VarType::array_of(VarType::VT_UI1)),
    (DataTypeId::BaseDataType, VarType::VT_VARIANT),
    (DataTypeId::Enumeration, VarType::VT_I4),
    (DataTypeId::Number, VarType::VT_R8),
    (DataTypeId::Integer, VarType::VT_I8),
    (DataTypeId::UInteger, VarType::VT_UI8),
];

/// Common ns=0 subtypes of built-in DataTypes → their base DataType (A.4.3.2: "For
/// DataTypes that are subtypes of an existing base DataType the conversion for the Base
/// DataType is used").
pub const NS0_SUBTYPES: [(DataTypeId, DataTypeId); 27] = [
    (DataTypeId::UtcTime, DataTypeId::DateTime),
    (DataTypeId::Duration, DataTypeId::Double),
    (DataTypeId::LocaleId, DataTypeId::String),
    (DataTypeId::NumericRange, DataTypeId::String),
    (DataTypeId::NormalizedString, DataTypeId::String),
    (DataTypeId::DecimalString, DataTypeId::String),
    (DataTypeId::DurationString, DataTypeId::String),
    (DataTypeId::TimeString, DataTypeId::String),
    (DataTypeId::DateString, DataTypeId::String),
    (DataTypeId::UriString, DataTypeId::String),
    (DataTypeId::TrimmedString, DataTypeId::String),
    (DataTypeId::SemanticVersionString, DataTypeId::String),
    (DataTypeId::EncodedTicket, DataTypeId::String),
    (DataTypeId::Counter, DataTypeId::UInt32),
    (DataTypeId::IntegerId, DataTypeId::UInt32),
    (DataTypeId::Index, DataTypeId::UInt32),
    (DataTypeId::VersionTime, DataTypeId::UInt32),
    (DataTypeId::Handle, DataTypeId::UInt32),
    (DataTypeId::Image, DataTypeId::ByteString),
    (DataTypeId::ImageBMP, DataTypeId::ByteString),
    (DataTypeId::ImageGIF, DataTypeId::ByteString),
    (DataTypeId::ImageJPG, DataTypeId::ByteString),
    (DataTypeId::ImagePNG, DataTypeId::ByteString),
    (DataTypeId::AudioDataType, DataTypeId::ByteString),
    (
        DataTypeId::ApplicationInstanceCertificate,
        DataTypeId::ByteString,
    ),
    (DataTypeId::ContinuationPoint, DataTypeId::ByteString),
    (DataTypeId::SessionAuthenticationToken, DataTypeId::NodeId),
];

/// The base DataType used for conversions of `dt` ([`NS0_SUBTYPES`]), or `dt` itself.
fn base_data_type(dt: DataTypeId) -> DataTypeId {
    NS0_SUBTYPES
        .iter()
        .find(|(sub, _)| *sub == dt)
        .map_or(dt, |(_, base)| *base)
}

/// The UA DataType and ValueRank of a DA item whose canonical VARIANT type is `vt`
/// (Table A.32 plus [`DA_TO_UA_EXTENSIONS`]).
///
/// Scalars get [`ValueRank::SCALAR`]; `VT_ARRAY|x` gets the DataType of `x` and
/// [`ValueRank::ONE_OR_MORE_DIMENSIONS`] (A.3.1.3). `None` for types with no DataType
/// (`VT_EMPTY`, `VT_ERROR`, `VT_BYREF`/`VT_VECTOR` types, unknown tags, bare `VT_ARRAY`).
pub fn da_to_ua_type(vt: VarType) -> Option<(DataTypeId, ValueRank)> {
    let element = vt.element();
    let data_type = TABLE_A32
        .iter()
        .chain(DA_TO_UA_EXTENSIONS.iter())
        .find(|(v, _)| *v == element)
        .map(|(_, dt)| *dt)?;
    let rank = if vt.is_array() {
        ValueRank::ONE_OR_MORE_DIMENSIONS
    } else {
        ValueRank::SCALAR
    };
    Some((data_type, rank))
}

/// The scalar VARIANT type for a ns=0 DataType, if the tables name one.
fn scalar_da_type(dt: DataTypeId) -> Option<VarType> {
    let base = base_data_type(dt);
    TABLE_A36
        .iter()
        .chain(UA_TO_DA_EXTENSIONS.iter())
        .find(|(d, _)| *d == base)
        .map(|(_, vt)| *vt)
}

/// `VT_ARRAY` of `element`, or `VT_ARRAY|VT_VARIANT` when the element is itself an array
/// (a SAFEARRAY cannot hold SAFEARRAYs directly).
fn da_array_of(element: VarType) -> VarType {
    if element.is_array() {
        VarType::array_of(VarType::VT_VARIANT)
    } else {
        VarType::array_of(element)
    }
}

/// The canonical VARIANT type the COM UA Proxy gives an item whose Variable has DataType
/// `data_type` and ValueRank `value_rank` (Table A.36 and the extensions in this module).
///
/// ValueRank ≥ 0 gives `VT_ARRAY|…`; -1, -2 and -3 give the scalar type. DataTypes not in
/// the tables — structures of any namespace, and every DataType outside ns=0 — fall under
/// the ExtensionObject row: `VT_ARRAY|VT_UI1` (arrays of them `VT_ARRAY|VT_VARIANT`).
/// Pass the nearest ns=0 ancestor for subtypes this module cannot resolve.
pub fn ua_to_da_type(data_type: &NodeId, value_rank: i32) -> VarType {
    let scalar = data_type
        .as_data_type_id()
        .ok()
        .and_then(scalar_da_type)
        .unwrap_or(VarType::array_of(VarType::VT_UI1));
    if value_rank >= 0 {
        da_array_of(scalar)
    } else {
        scalar
    }
}

// ---------------------------------------------------------------------------------------
// VT_DECIMAL
// ---------------------------------------------------------------------------------------

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

    /// `mantissa × 10^-scale` for any scale: a negative scale multiplies, a scale above 28
    /// rounds (half to even, like `VarDecRound`). `None` if the result does not fit.
    fn from_scaled(mantissa: i128, scale: i32) -> Option<DaDecimal> {
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
    fn round_to_integer(&self) -> i128 {
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
    Syntax,
    Range,
}

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
fn ua_decimal_body(d: &DaDecimal) -> Vec<u8> {
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
fn parse_ua_decimal_body(body: &[u8]) -> Option<(i128, i16)> {
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
fn decimal_type_id() -> NodeId {
    NodeId::from(DataTypeId::Decimal)
}

/// A UA Decimal as the ExtensionObject a Variant carries it in.
fn ua_decimal(d: &DaDecimal) -> Variant {
    let body = ByteStringBody::new(ByteString::from(ua_decimal_body(d)), decimal_type_id());
    Variant::ExtensionObject(ExtensionObject::new(body))
}

// ---------------------------------------------------------------------------------------
// OLE Automation dates
// ---------------------------------------------------------------------------------------

/// 100 ns ticks per millisecond.
const TICKS_PER_MS: i64 = 10_000;
/// Milliseconds per day.
const MS_PER_DAY: i64 = 86_400_000;
/// The OLE Automation epoch, 1899-12-30T00:00:00Z, in UA DateTime ticks (100 ns since
/// 1601-01-01): 109 205 days.
const OLE_EPOCH_TICKS: i64 = 109_205 * MS_PER_DAY * TICKS_PER_MS;
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

// ---------------------------------------------------------------------------------------
// VARIANT values
// ---------------------------------------------------------------------------------------

/// A COM VARIANT as the gateway models it.
///
/// Arrays are one-dimensional SAFEARRAYs: [`DaValue::Array`] holds the element type and
/// the elements; every element has that type, or any type (including arrays) when the
/// element type is `VT_VARIANT`.
#[derive(Debug, Clone, PartialEq)]
pub enum DaValue {
    /// `VT_EMPTY`.
    Empty,
    /// `VT_I1`.
    I1(i8),
    /// `VT_UI1`.
    UI1(u8),
    /// `VT_I2`.
    I2(i16),
    /// `VT_UI2`.
    UI2(u16),
    /// `VT_I4`.
    I4(i32),
    /// `VT_UI4`.
    UI4(u32),
    /// `VT_I8`.
    I8(i64),
    /// `VT_UI8`.
    UI8(u64),
    /// `VT_INT`.
    Int(i32),
    /// `VT_UINT`.
    UInt(u32),
    /// `VT_R4`.
    R4(f32),
    /// `VT_R8`.
    R8(f64),
    /// `VT_CY`: currency, the value × 10 000.
    Cy(i64),
    /// `VT_DATE`: OLE Automation date, days since 1899-12-30 (see [`ole_date_from_ua`]).
    Date(f64),
    /// `VT_BSTR`.
    Bstr(String),
    /// `VT_ERROR`: an SCODE.
    Error(i32),
    /// `VT_BOOL`.
    Bool(bool),
    /// `VT_DECIMAL`.
    Decimal(DaDecimal),
    /// `VT_ARRAY|element`: the element type (without `VT_ARRAY`) and the elements.
    Array(VarType, Vec<DaValue>),
}

impl DaValue {
    /// The VARTYPE of this VARIANT.
    pub fn var_type(&self) -> VarType {
        match self {
            DaValue::Empty => VarType::VT_EMPTY,
            DaValue::I1(_) => VarType::VT_I1,
            DaValue::UI1(_) => VarType::VT_UI1,
            DaValue::I2(_) => VarType::VT_I2,
            DaValue::UI2(_) => VarType::VT_UI2,
            DaValue::I4(_) => VarType::VT_I4,
            DaValue::UI4(_) => VarType::VT_UI4,
            DaValue::I8(_) => VarType::VT_I8,
            DaValue::UI8(_) => VarType::VT_UI8,
            DaValue::Int(_) => VarType::VT_INT,
            DaValue::UInt(_) => VarType::VT_UINT,
            DaValue::R4(_) => VarType::VT_R4,
            DaValue::R8(_) => VarType::VT_R8,
            DaValue::Cy(_) => VarType::VT_CY,
            DaValue::Date(_) => VarType::VT_DATE,
            DaValue::Bstr(_) => VarType::VT_BSTR,
            DaValue::Error(_) => VarType::VT_ERROR,
            DaValue::Bool(_) => VarType::VT_BOOL,
            DaValue::Decimal(_) => VarType::VT_DECIMAL,
            DaValue::Array(element, _) => VarType::array_of(*element),
        }
    }
}

/// `E_FAIL`, the VT_ERROR value for an ExtensionObject whose body cannot be encoded.
const E_FAIL: i32 = 0x8000_4005_u32 as i32;

/// The VARIANT the COM UA Proxy returns for a UA value (Table A.36).
///
/// - numbers and Boolean: the corresponding `VT_…`; StatusCode: `VT_UI4` of its bits;
/// - String, XmlElement: `VT_BSTR` of the text (a null string is the empty BSTR);
/// - DateTime: `VT_DATE` ([`ole_date_from_ua`], millisecond precision);
/// - Guid: `VT_BSTR` `72962b91-fa75-4ae6-8d28-b404dc7daf63`; NodeId, ExpandedNodeId:
///   `VT_BSTR` of the OPC 10000-6 string form (`ns=2;s=Pump` — the *server's* namespace
///   index, not an ItemID; `svr=1;nsu=urn:x;i=5` for a non-local ExpandedNodeId);
///   QualifiedName: `ns:name` (`name` for ns 0); LocalizedText:
///   the text (the locale is dropped);
/// - ExtensionObject: `VT_ARRAY|VT_UI1` of its binary-encoded body (empty for a null
///   ExtensionObject; `VT_ERROR` `E_FAIL` if the body cannot be encoded), except a Decimal,
///   which is `VT_DECIMAL` (or `VT_R8` if it exceeds the `VT_DECIMAL` range);
/// - ByteString (not in A.36): `VT_ARRAY|VT_UI1`;
/// - arrays: `VT_ARRAY` of the element type, element by element (multi-dimensional arrays
///   are flattened in their UA order); arrays of ByteString, ExtensionObject (other than
///   all-Decimal), Variant or DataValue are `VT_ARRAY|VT_VARIANT`;
/// - a nested Variant or a DataValue: its value; DiagnosticInfo, Empty: `VT_EMPTY`.
pub fn ua_to_da_value(value: &Variant) -> DaValue {
    match value {
        Variant::Empty => DaValue::Empty,
        Variant::Boolean(v) => DaValue::Bool(*v),
        Variant::SByte(v) => DaValue::I1(*v),
        Variant::Byte(v) => DaValue::UI1(*v),
        Variant::Int16(v) => DaValue::I2(*v),
        Variant::UInt16(v) => DaValue::UI2(*v),
        Variant::Int32(v) => DaValue::I4(*v),
        Variant::UInt32(v) => DaValue::UI4(*v),
        Variant::Int64(v) => DaValue::I8(*v),
        Variant::UInt64(v) => DaValue::UI8(*v),
        Variant::Float(v) => DaValue::R4(*v),
        Variant::Double(v) => DaValue::R8(*v),
        Variant::String(v) => DaValue::Bstr(v.as_ref().to_owned()),
        Variant::DateTime(v) => DaValue::Date(ole_date_from_ua(v)),
        Variant::Guid(v) => DaValue::Bstr(format!("{v:?}")),
        Variant::StatusCode(v) => DaValue::UI4(v.bits()),
        Variant::ByteString(v) => bytes_value(v.value.as_deref().unwrap_or_default()),
        Variant::XmlElement(v) => DaValue::Bstr(v.to_string()),
        Variant::QualifiedName(v) => DaValue::Bstr(v.to_string()),
        Variant::LocalizedText(v) => DaValue::Bstr(v.text.as_ref().to_owned()),
        Variant::NodeId(v) => DaValue::Bstr(v.to_string()),
        Variant::ExpandedNodeId(v) => DaValue::Bstr(expanded_node_id_text(v)),
        Variant::ExtensionObject(v) => extension_object_value(v),
        Variant::Variant(v) => ua_to_da_value(v),
        Variant::DataValue(v) => v.value.as_ref().map_or(DaValue::Empty, ua_to_da_value),
        Variant::DiagnosticInfo(_) => DaValue::Empty,
        Variant::Array(array) => array_value(array),
    }
}

/// The OPC 10000-6 text of an ExpandedNodeId: the plain NodeId text for a local NodeId
/// with a namespace index, else `svr=<index>;[ns=<index>|nsu=<uri>];<id>`.
fn expanded_node_id_text(id: &ExpandedNodeId) -> String {
    if id.server_index == 0 && id.namespace_uri.is_empty() {
        id.node_id.to_string()
    } else {
        id.to_string()
    }
}

/// Parses the forms [`expanded_node_id_text`] writes (and `svr=<index>;<NodeId>`).
fn parse_expanded_node_id(text: &str) -> Option<ExpandedNodeId> {
    if let Ok(id) = ExpandedNodeId::from_str(text) {
        return Some(id);
    }
    let (server_index, node_id) = match text.strip_prefix("svr=") {
        Some(rest) => {
            let (svr, node_id) = rest.split_once(';')?;
            (svr.parse().ok()?, node_id)
        }
        None => (0, text),
    };
    let mut id = ExpandedNodeId::new(NodeId::from_str(node_id).ok()?);
    id.server_index = server_index;
    Some(id)
}

/// `VT_ARRAY|VT_UI1` of `bytes`.
fn bytes_value(bytes: &[u8]) -> DaValue {
    DaValue::Array(
        VarType::VT_UI1,
        bytes.iter().copied().map(DaValue::UI1).collect(),
    )
}

/// A.36 for ExtensionObject: the binary body as bytes, or `VT_DECIMAL` for a Decimal.
fn extension_object_value(eo: &ExtensionObject) -> DaValue {
    let Some(body) = &eo.body else {
        return bytes_value(&[]);
    };
    if let Some(raw) = eo.inner_as::<ByteStringBody>() {
        if raw.encoding_id() == &decimal_type_id() {
            let bytes = raw.raw_body().value.as_deref().unwrap_or_default();
            if let Some((mantissa, scale)) = parse_ua_decimal_body(bytes) {
                return match DaDecimal::from_scaled(mantissa, i32::from(scale)) {
                    Some(d) => DaValue::Decimal(d),
                    None => DaValue::R8(
                        format!("{mantissa}e{}", -i32::from(scale))
                            .parse()
                            .unwrap_or(f64::NAN),
                    ),
                };
            }
        }
    }
    let ctx = ContextOwned::default();
    let mut encoded = Vec::new();
    match body.encode_binary(&mut encoded, &ctx.context()) {
        Ok(()) => bytes_value(&encoded),
        Err(_) => DaValue::Error(E_FAIL),
    }
}

/// The VARIANT element type for elements of UA built-in type `t` in an array.
fn array_element_type(t: VariantScalarTypeId) -> VarType {
    use VariantScalarTypeId as S;
    match t {
        S::Boolean => VarType::VT_BOOL,
        S::SByte => VarType::VT_I1,
        S::Byte => VarType::VT_UI1,
        S::Int16 => VarType::VT_I2,
        S::UInt16 => VarType::VT_UI2,
        S::Int32 => VarType::VT_I4,
        S::UInt32 => VarType::VT_UI4,
        S::Int64 => VarType::VT_I8,
        S::UInt64 => VarType::VT_UI8,
        S::Float => VarType::VT_R4,
        S::Double => VarType::VT_R8,
        S::DateTime => VarType::VT_DATE,
        S::StatusCode => VarType::VT_UI4,
        S::String
        | S::Guid
        | S::XmlElement
        | S::NodeId
        | S::ExpandedNodeId
        | S::QualifiedName
        | S::LocalizedText => VarType::VT_BSTR,
        S::ByteString | S::ExtensionObject | S::DataValue | S::Variant | S::DiagnosticInfo => {
            VarType::VT_VARIANT
        }
    }
}

/// "Array of above OPC UA types → Array of corresponding Variant type" (A.36).
fn array_value(array: &Array) -> DaValue {
    let elements: Vec<DaValue> = array.values.iter().map(ua_to_da_value).collect();
    let mut element = array_element_type(array.value_type);
    if array.value_type == VariantScalarTypeId::ExtensionObject
        && !elements.is_empty()
        && elements.iter().all(|e| matches!(e, DaValue::Decimal(_)))
    {
        element = VarType::VT_DECIMAL;
    }
    DaValue::Array(element, elements)
}

// ---------------------------------------------------------------------------------------
// VARIANT → UA
// ---------------------------------------------------------------------------------------

/// Why a VARIANT written by a DA client cannot become the UA value asked for.
///
/// [`TypeMismatch::Incompatible`] and [`TypeMismatch::Unparsable`] correspond to
/// `DISP_E_TYPEMISMATCH`/`Bad_TypeMismatch`, [`TypeMismatch::OutOfRange`] to
/// `DISP_E_OVERFLOW`/`Bad_OutOfRange`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TypeMismatch {
    /// No conversion from this VARIANT type to the DataType exists (or, for the default
    /// A.32 conversion, the VARIANT type has no DataType: `to` is then BaseDataType).
    #[error("a {from} value cannot be converted to {to:?}")]
    Incompatible {
        /// The VARIANT type written.
        from: VarType,
        /// The (base) DataType asked for.
        to: DataTypeId,
    },
    /// The conversion exists, but this value does not fit the DataType.
    #[error("the {from} value is out of range for {to:?}")]
    OutOfRange {
        /// The VARIANT type written.
        from: VarType,
        /// The (base) DataType asked for.
        to: DataTypeId,
    },
    /// A `VT_BSTR` whose text is not a literal of the DataType.
    #[error("the text {text:?} is not a valid {to:?}")]
    Unparsable {
        /// The text written.
        text: String,
        /// The (base) DataType asked for.
        to: DataTypeId,
    },
}

impl TypeMismatch {
    /// Whether this is [`TypeMismatch::OutOfRange`] (rather than a type error).
    pub fn is_out_of_range(&self) -> bool {
        matches!(self, TypeMismatch::OutOfRange { .. })
    }
}

/// The UA value for a VARIANT written by a DA client (the Proxy's Write; Table A.32).
///
/// Without a `target` (or with BaseDataType) the VARIANT type decides, per A.32:
/// `VT_I2` → Int16 … `VT_DATE` → Double (the OLE date number, verbatim from the table),
/// `VT_DECIMAL` → Decimal, `VT_ARRAY|x` → array of the DataType of `x`
/// (`VT_ARRAY|VT_VARIANT` → array of Variant); `VT_INT`/`VT_UINT` → Int32/UInt32 and
/// `VT_CY` → Double ([`DA_TO_UA_EXTENSIONS`]); `VT_EMPTY` → an empty Variant; `VT_ERROR` has
/// no DataType.
///
/// With a `target` DataType (that of the node written, resolved to its ns=0 base; see
/// [`NS0_SUBTYPES`], Enumeration is Int32) the value is converted like
/// `VariantChangeType` would, failing where it does not fit:
/// - numbers, `VT_BOOL` (true = 1), `VT_DATE` (its day number), `VT_CY`, `VT_DECIMAL` and
///   numeric `VT_BSTR` text convert between all numeric DataTypes; floating point to
///   integer rounds half to even; out-of-range values fail with
///   [`TypeMismatch::OutOfRange`];
/// - Boolean accepts numbers (non-zero is true) and the texts true/false/1/0/-1;
/// - String accepts every scalar except `VT_ERROR` (dates as RFC 3339 UTC);
/// - DateTime accepts `VT_DATE`, `VT_R8`/`VT_R4` (as OLE dates) and RFC 3339 text;
/// - Guid, NodeId, ExpandedNodeId, QualifiedName (`ns:name`), LocalizedText (no locale)
///   and XmlElement accept `VT_BSTR` in the text forms [`ua_to_da_value`] produces;
/// - StatusCode accepts unsigned integers and `VT_I4`/`VT_INT` (reinterpreted as 32 bits);
/// - Decimal accepts numbers and decimal text;
/// - ByteString accepts `VT_ARRAY|VT_UI1` (or a `VT_VARIANT` array of `VT_UI1`);
/// - Structures cannot be written: the bytes of A.36 carry no encoding id.
///
/// `VT_EMPTY` always gives an empty Variant. Any other array is converted element by
/// element to an array of the target DataType.
pub fn da_to_ua_value(
    value: &DaValue,
    target: Option<DataTypeId>,
) -> Result<Variant, TypeMismatch> {
    match target.map(base_data_type) {
        None | Some(DataTypeId::BaseDataType) => natural_value(value),
        Some(DataTypeId::Enumeration) => convert(value, DataTypeId::Int32),
        Some(abstract_type @ (DataTypeId::Number | DataTypeId::Integer | DataTypeId::UInteger)) => {
            abstract_number(value, abstract_type)
        }
        Some(to) => convert(value, to),
    }
}

/// A.32 without a target DataType.
fn natural_value(value: &DaValue) -> Result<Variant, TypeMismatch> {
    Ok(match value {
        DaValue::Empty => Variant::Empty,
        DaValue::I1(v) => Variant::SByte(*v),
        DaValue::UI1(v) => Variant::Byte(*v),
        DaValue::I2(v) => Variant::Int16(*v),
        DaValue::UI2(v) => Variant::UInt16(*v),
        DaValue::I4(v) | DaValue::Int(v) => Variant::Int32(*v),
        DaValue::UI4(v) | DaValue::UInt(v) => Variant::UInt32(*v),
        DaValue::I8(v) => Variant::Int64(*v),
        DaValue::UI8(v) => Variant::UInt64(*v),
        DaValue::R4(v) => Variant::Float(*v),
        DaValue::R8(v) | DaValue::Date(v) => Variant::Double(*v),
        DaValue::Cy(v) => Variant::Double(*v as f64 / 10_000.0),
        DaValue::Bstr(v) => Variant::String(v.as_str().into()),
        DaValue::Bool(v) => Variant::Boolean(*v),
        DaValue::Decimal(v) => ua_decimal(v),
        DaValue::Error(_) => {
            return Err(TypeMismatch::Incompatible {
                from: VarType::VT_ERROR,
                to: DataTypeId::BaseDataType,
            })
        }
        DaValue::Array(element, items) => {
            let from = value.var_type();
            if *element == VarType::VT_VARIANT {
                let values = items
                    .iter()
                    .map(|item| natural_value(item).map(|v| Variant::Variant(Box::new(v))))
                    .collect::<Result<Vec<_>, _>>()?;
                return ua_array(
                    VariantScalarTypeId::Variant,
                    values,
                    from,
                    DataTypeId::BaseDataType,
                );
            }
            let (data_type, _) = da_to_ua_type(*element)
                .filter(|_| !element.is_array())
                .ok_or(TypeMismatch::Incompatible {
                    from,
                    to: DataTypeId::BaseDataType,
                })?;
            let values = items
                .iter()
                .map(natural_value)
                .collect::<Result<Vec<_>, _>>()?;
            return ua_array(scalar_type_of(data_type), values, from, data_type);
        }
    })
}

/// Number, Integer and UInteger are abstract: the A.32 type, if it is one of them.
fn abstract_number(value: &DaValue, to: DataTypeId) -> Result<Variant, TypeMismatch> {
    let v = natural_value(value)?;
    let check = |v: &Variant| {
        use VariantScalarTypeId as S;
        let t = v.scalar_type_id();
        let signed = matches!(t, Some(S::SByte | S::Int16 | S::Int32 | S::Int64));
        let unsigned = matches!(t, Some(S::Byte | S::UInt16 | S::UInt32 | S::UInt64));
        let number = signed
            || unsigned
            || matches!(t, Some(S::Float | S::Double))
            || matches!(v, Variant::ExtensionObject(_)); // Decimal, the only EO here
        match to {
            DataTypeId::Integer => signed,
            DataTypeId::UInteger => unsigned,
            _ => number,
        }
    };
    let ok = match &v {
        Variant::Empty => true,
        Variant::Array(a) => a.values.iter().all(check),
        other => check(other),
    };
    if ok {
        Ok(v)
    } else {
        Err(TypeMismatch::Incompatible {
            from: value.var_type(),
            to,
        })
    }
}

/// The built-in type of values of a (base, ns=0) DataType.
fn scalar_type_of(data_type: DataTypeId) -> VariantScalarTypeId {
    match data_type {
        DataTypeId::Decimal | DataTypeId::Structure => VariantScalarTypeId::ExtensionObject,
        other => {
            VariantScalarTypeId::try_from(other as u32).unwrap_or(VariantScalarTypeId::Variant)
        }
    }
}

/// A UA array, or `Incompatible` if the values are not all of `value_type`.
fn ua_array(
    value_type: VariantScalarTypeId,
    values: Vec<Variant>,
    from: VarType,
    to: DataTypeId,
) -> Result<Variant, TypeMismatch> {
    Array::new(value_type, values)
        .map(|a| Variant::Array(Box::new(a)))
        .map_err(|_| TypeMismatch::Incompatible { from, to })
}

/// Conversion to a concrete (base, ns=0) DataType.
fn convert(value: &DaValue, to: DataTypeId) -> Result<Variant, TypeMismatch> {
    let from = value.var_type();
    match value {
        DaValue::Empty => Ok(Variant::Empty),
        DaValue::Array(_, items) if to == DataTypeId::ByteString => items
            .iter()
            .map(|item| match item {
                DaValue::UI1(b) => Ok(*b),
                _ => Err(TypeMismatch::Incompatible { from, to }),
            })
            .collect::<Result<Vec<u8>, _>>()
            .map(|bytes| Variant::ByteString(ByteString::from(bytes))),
        DaValue::Array(_, items) => {
            let values = items
                .iter()
                .map(|item| convert_scalar(item, to))
                .collect::<Result<Vec<_>, _>>()?;
            ua_array(scalar_type_of(to), values, from, to)
        }
        scalar => convert_scalar(scalar, to),
    }
}

/// A number extracted from a VARIANT for numeric conversions.
enum Number {
    Int(i128),
    Float(f64),
    Decimal(DaDecimal),
}

/// The number in `value`; VT_BSTR text is parsed (integer, then decimal, then float).
fn number(value: &DaValue, to: DataTypeId) -> Result<Number, TypeMismatch> {
    Ok(match value {
        DaValue::I1(v) => Number::Int((*v).into()),
        DaValue::UI1(v) => Number::Int((*v).into()),
        DaValue::I2(v) => Number::Int((*v).into()),
        DaValue::UI2(v) => Number::Int((*v).into()),
        DaValue::I4(v) | DaValue::Int(v) => Number::Int((*v).into()),
        DaValue::UI4(v) | DaValue::UInt(v) => Number::Int((*v).into()),
        DaValue::I8(v) => Number::Int((*v).into()),
        DaValue::UI8(v) => Number::Int((*v).into()),
        DaValue::Bool(v) => Number::Int((*v).into()),
        DaValue::R4(v) => Number::Float((*v).into()),
        DaValue::R8(v) | DaValue::Date(v) => Number::Float(*v),
        DaValue::Cy(v) => Number::Decimal(DaDecimal {
            mantissa: (*v).into(),
            scale: 4,
        }),
        DaValue::Decimal(v) => Number::Decimal(*v),
        DaValue::Bstr(text) => {
            let t = text.trim();
            if let Ok(i) = t.parse::<i128>() {
                Number::Int(i)
            } else if let Some(d) = DaDecimal::parse(t) {
                Number::Decimal(d)
            } else if let Ok(f) = t.parse::<f64>() {
                Number::Float(f)
            } else {
                return Err(TypeMismatch::Unparsable {
                    text: text.clone(),
                    to,
                });
            }
        }
        DaValue::Empty | DaValue::Error(_) | DaValue::Array(..) => {
            return Err(TypeMismatch::Incompatible {
                from: value.var_type(),
                to,
            })
        }
    })
}

/// The integer in `value`, rounded half to even, as `T`.
fn integer<T: TryFrom<i128>>(value: &DaValue, to: DataTypeId) -> Result<T, TypeMismatch> {
    let out_of_range = || TypeMismatch::OutOfRange {
        from: value.var_type(),
        to,
    };
    let i = match number(value, to)? {
        Number::Int(i) => i,
        Number::Decimal(d) => d.round_to_integer(),
        Number::Float(f) => {
            let r = f.round_ties_even();
            // ±1e38 is inside i128 and far outside every target integer type.
            if !r.is_finite() || r.abs() > 1e38 {
                return Err(out_of_range());
            }
            r as i128
        }
    };
    T::try_from(i).map_err(|_| out_of_range())
}

/// The number in `value` as an `f64`.
fn double(value: &DaValue, to: DataTypeId) -> Result<f64, TypeMismatch> {
    Ok(match number(value, to)? {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
        Number::Decimal(d) => d.to_f64(),
    })
}

/// The `VT_BSTR` text of `value`, or `Incompatible`.
fn bstr(value: &DaValue, to: DataTypeId) -> Result<&str, TypeMismatch> {
    match value {
        DaValue::Bstr(text) => Ok(text),
        other => Err(TypeMismatch::Incompatible {
            from: other.var_type(),
            to,
        }),
    }
}

/// Conversion of a scalar VARIANT to a concrete (base, ns=0) DataType.
fn convert_scalar(value: &DaValue, to: DataTypeId) -> Result<Variant, TypeMismatch> {
    use DataTypeId as D;
    let from = value.var_type();
    let incompatible = || TypeMismatch::Incompatible { from, to };
    let out_of_range = || TypeMismatch::OutOfRange { from, to };
    let unparsable = |text: &str| TypeMismatch::Unparsable {
        text: text.to_owned(),
        to,
    };
    if matches!(value, DaValue::Array(..) | DaValue::Error(_)) {
        return Err(incompatible());
    }
    Ok(match to {
        D::Boolean => Variant::Boolean(match value {
            DaValue::Bool(b) => *b,
            DaValue::Bstr(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "-1" => true,
                "false" | "0" => false,
                _ => return Err(unparsable(text)),
            },
            other => match number(other, to)? {
                Number::Int(i) => i != 0,
                Number::Float(f) => f != 0.0,
                Number::Decimal(d) => d.mantissa != 0,
            },
        }),
        D::SByte => Variant::SByte(integer(value, to)?),
        D::Byte => Variant::Byte(integer(value, to)?),
        D::Int16 => Variant::Int16(integer(value, to)?),
        D::UInt16 => Variant::UInt16(integer(value, to)?),
        D::Int32 => Variant::Int32(integer(value, to)?),
        D::UInt32 => Variant::UInt32(integer(value, to)?),
        D::Int64 => Variant::Int64(integer(value, to)?),
        D::UInt64 => Variant::UInt64(integer(value, to)?),
        D::Float => {
            let f = double(value, to)?;
            if f.is_finite() && f.abs() > f64::from(f32::MAX) {
                return Err(out_of_range());
            }
            Variant::Float(f as f32)
        }
        D::Double => Variant::Double(double(value, to)?),
        D::Decimal => {
            let d = match number(value, to)? {
                Number::Decimal(d) => Some(d),
                Number::Int(i) => DaDecimal::new(i, 0),
                Number::Float(f) if f.is_finite() => DaDecimal::parse(&f.to_string()),
                Number::Float(_) => None,
            };
            ua_decimal(&d.ok_or_else(out_of_range)?)
        }
        D::String => Variant::String(
            match value {
                DaValue::Bstr(text) => text.clone(),
                DaValue::Bool(b) => b.to_string(),
                DaValue::I1(v) => v.to_string(),
                DaValue::UI1(v) => v.to_string(),
                DaValue::I2(v) => v.to_string(),
                DaValue::UI2(v) => v.to_string(),
                DaValue::I4(v) | DaValue::Int(v) => v.to_string(),
                DaValue::UI4(v) | DaValue::UInt(v) => v.to_string(),
                DaValue::I8(v) => v.to_string(),
                DaValue::UI8(v) => v.to_string(),
                DaValue::R4(v) => v.to_string(),
                DaValue::R8(v) => v.to_string(),
                DaValue::Cy(v) => DaDecimal {
                    mantissa: (*v).into(),
                    scale: 4,
                }
                .to_string(),
                DaValue::Decimal(d) => d.to_string(),
                DaValue::Date(d) => ua_from_ole_date(*d).ok_or_else(out_of_range)?.to_rfc3339(),
                DaValue::Empty | DaValue::Error(_) | DaValue::Array(..) => {
                    return Err(incompatible())
                }
            }
            .into(),
        ),
        D::DateTime => Variant::DateTime(Box::new(match value {
            DaValue::Date(d) | DaValue::R8(d) => ua_from_ole_date(*d).ok_or_else(out_of_range)?,
            DaValue::R4(d) => ua_from_ole_date(f64::from(*d)).ok_or_else(out_of_range)?,
            DaValue::Bstr(text) => {
                DateTime::parse_from_rfc3339(text.trim()).map_err(|_| unparsable(text))?
            }
            _ => return Err(incompatible()),
        })),
        D::Guid => {
            let text = bstr(value, to)?;
            Variant::Guid(Box::new(
                Guid::from_str(text.trim()).map_err(|_| unparsable(text))?,
            ))
        }
        D::NodeId => {
            let text = bstr(value, to)?;
            Variant::NodeId(Box::new(
                NodeId::from_str(text).map_err(|_| unparsable(text))?,
            ))
        }
        D::ExpandedNodeId => {
            let text = bstr(value, to)?;
            Variant::ExpandedNodeId(Box::new(
                parse_expanded_node_id(text).ok_or_else(|| unparsable(text))?,
            ))
        }
        D::QualifiedName => {
            Variant::QualifiedName(Box::new(parse_qualified_name(bstr(value, to)?)))
        }
        D::LocalizedText => {
            Variant::LocalizedText(Box::new(LocalizedText::from(bstr(value, to)?.to_owned())))
        }
        D::XmlElement => Variant::XmlElement(XmlElement::from(bstr(value, to)?)),
        D::StatusCode => Variant::StatusCode(StatusCode::from(match value {
            DaValue::I4(v) | DaValue::Int(v) => *v as u32,
            other => integer::<u32>(other, to)?,
        })),
        _ => return Err(incompatible()),
    })
}

/// `ns:name` (ns a decimal UInt16) or `name` in namespace 0, the form
/// [`ua_to_da_value`] writes.
fn parse_qualified_name(text: &str) -> QualifiedName {
    if let Some((ns, name)) = text.split_once(':') {
        if !ns.is_empty() && ns.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(ns) = ns.parse::<u16>() {
                return QualifiedName::new(ns, name);
            }
        }
    }
    QualifiedName::new(0, text)
}

#[cfg(test)]
mod clamp_tests {
    use super::*;

    #[test]
    fn out_of_range_datetimes_are_clamped_not_overflowed() {
        let lowest = ole_date_from_ua(&DateTime::from(0i64));
        assert_eq!(ole_date_from_ua(&DateTime::from(i64::MIN)), lowest);
        let highest = ole_date_from_ua(&DateTime::from(DateTime::endtimes_ticks()));
        assert_eq!(ole_date_from_ua(&DateTime::from(i64::MAX)), highest);
        assert!(ua_to_da_value(&Variant::DateTime(Box::new(DateTime::from(i64::MIN)))) == DaValue::Date(lowest));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ARRAY: fn(VarType) -> VarType = VarType::array_of;

    /// Round trips that the tables deliberately do not have, with the type they end at.
    const ROUND_TRIP_EXCEPTIONS: [(VarType, VarType); 4] = [
        (VarType::VT_DATE, VarType::VT_R8), // A.32 VT_DATE → Double; A.36 Double → VT_R8
        (VarType::VT_CY, VarType::VT_R8),
        (VarType::VT_INT, VarType::VT_I4),
        (VarType::VT_UINT, VarType::VT_UI4),
    ];

    fn dt(id: DataTypeId) -> NodeId {
        NodeId::from(id)
    }

    /// A sample VARIANT of scalar type `vt`.
    fn sample_da(vt: VarType) -> DaValue {
        match vt {
            VarType::VT_I2 => DaValue::I2(-2),
            VarType::VT_I4 => DaValue::I4(-4),
            VarType::VT_R4 => DaValue::R4(4.5),
            VarType::VT_R8 => DaValue::R8(8.25),
            VarType::VT_BSTR => DaValue::Bstr("text".into()),
            VarType::VT_BOOL => DaValue::Bool(true),
            VarType::VT_UI1 => DaValue::UI1(1),
            VarType::VT_I1 => DaValue::I1(-1),
            VarType::VT_UI2 => DaValue::UI2(2),
            VarType::VT_UI4 => DaValue::UI4(4),
            VarType::VT_I8 => DaValue::I8(-8),
            VarType::VT_UI8 => DaValue::UI8(8),
            VarType::VT_DATE => DaValue::Date(45_000.5),
            VarType::VT_DECIMAL => DaValue::Decimal(DaDecimal::new(-12_345, 2).unwrap()),
            VarType::VT_INT => DaValue::Int(-22),
            VarType::VT_UINT => DaValue::UInt(23),
            VarType::VT_CY => DaValue::Cy(12_345),
            VarType::VT_VARIANT => DaValue::I4(12),
            other => panic!("no sample for {other}"),
        }
    }

    /// A sample UA value of DataType `id`.
    fn sample_ua(id: DataTypeId) -> Variant {
        match id {
            DataTypeId::Int16 => Variant::Int16(-16),
            DataTypeId::Int32 => Variant::Int32(-32),
            DataTypeId::Float => Variant::Float(1.5),
            DataTypeId::Double => Variant::Double(2.5),
            DataTypeId::Decimal => ua_decimal(&DaDecimal::new(31_415, 4).unwrap()),
            DataTypeId::String => Variant::from("text"),
            DataTypeId::Boolean => Variant::Boolean(false),
            DataTypeId::Byte => Variant::Byte(200),
            DataTypeId::SByte => Variant::SByte(-100),
            DataTypeId::UInt16 => Variant::UInt16(60_000),
            DataTypeId::UInt32 => Variant::UInt32(4_000_000_000),
            DataTypeId::Int64 => Variant::Int64(-1 << 40),
            DataTypeId::UInt64 => Variant::UInt64(1 << 63),
            DataTypeId::Guid => Variant::Guid(Box::new(
                Guid::from_str("72962B91-FA75-4AE6-8D28-B404DC7DAF63").unwrap(),
            )),
            DataTypeId::DateTime => {
                Variant::DateTime(Box::new(DateTime::ymd_hms(2024, 2, 29, 12, 0, 0)))
            }
            DataTypeId::NodeId => Variant::NodeId(Box::new(NodeId::new(2, "Pump"))),
            DataTypeId::XmlElement => Variant::XmlElement(XmlElement::from("<a/>")),
            DataTypeId::ExpandedNodeId => {
                Variant::ExpandedNodeId(Box::new(ExpandedNodeId::new(NodeId::new(2, 7u32))))
            }
            DataTypeId::QualifiedName => {
                Variant::QualifiedName(Box::new(QualifiedName::new(3, "Name")))
            }
            DataTypeId::LocalizedText => {
                Variant::LocalizedText(Box::new(LocalizedText::new("en", "Hello")))
            }
            DataTypeId::StatusCode => Variant::StatusCode(StatusCode::BadNodeIdUnknown),
            DataTypeId::Structure => {
                Variant::ExtensionObject(ExtensionObject::from_message(opcua::types::Range {
                    low: 0.0,
                    high: 1.0,
                }))
            }
            other => panic!("no sample for {other:?}"),
        }
    }

    // --- Table A.32 -------------------------------------------------------------------

    #[test]
    fn table_a32_every_row() {
        assert_eq!(
            TABLE_A32.len(),
            14,
            "A.32 has 14 scalar rows plus the VT_ARRAY rule"
        );
        for (vt, ua) in TABLE_A32 {
            // Type mapping, scalar and array (the VT_ARRAY row).
            assert_eq!(da_to_ua_type(vt), Some((ua, ValueRank::SCALAR)), "{vt}");
            assert_eq!(
                da_to_ua_type(ARRAY(vt)),
                Some((ua, ValueRank::ONE_OR_MORE_DIMENSIONS)),
                "{}",
                ARRAY(vt)
            );
            // Value mapping agrees with the type mapping.
            let value = sample_da(vt);
            let converted = da_to_ua_value(&value, None).unwrap();
            assert_eq!(
                converted.data_type(),
                Some(ExpandedNodeId::from(ua)),
                "{vt}"
            );
            let array = DaValue::Array(vt, vec![value.clone(), value]);
            match da_to_ua_value(&array, None).unwrap() {
                Variant::Array(a) => {
                    assert_eq!(a.values.len(), 2);
                    assert_eq!(
                        a.values[0].data_type(),
                        Some(ExpandedNodeId::from(ua)),
                        "{vt}"
                    );
                }
                other => panic!("{vt}: not an array: {other:?}"),
            }
        }
    }

    #[test]
    fn a32_extensions_and_unmapped_types() {
        for (vt, ua) in DA_TO_UA_EXTENSIONS {
            assert_eq!(da_to_ua_type(vt), Some((ua, ValueRank::SCALAR)), "{vt}");
            assert_eq!(
                da_to_ua_type(ARRAY(vt)),
                Some((ua, ValueRank::ONE_OR_MORE_DIMENSIONS))
            );
        }
        for vt in [
            VarType::VT_EMPTY,
            VarType::VT_ERROR,
            VarType::VT_ARRAY,
            VarType(0x4000 | 5), // VT_BYREF|VT_R8
            VarType(0x1000 | 5), // VT_VECTOR|VT_R8
            VarType(99),
        ] {
            assert_eq!(da_to_ua_type(vt), None, "{vt}");
        }
    }

    // --- Table A.36 -------------------------------------------------------------------

    #[test]
    fn table_a36_every_row() {
        assert_eq!(
            TABLE_A36.len(),
            22,
            "A.36 has 22 scalar rows plus the array rule"
        );
        for (ua, vt) in TABLE_A36 {
            assert_eq!(ua_to_da_type(&dt(ua), -1), vt, "{ua:?}");
            // "Array of above OPC UA types → Array of corresponding Variant type".
            let expected_array = if vt.is_array() {
                ARRAY(VarType::VT_VARIANT)
            } else {
                ARRAY(vt)
            };
            for rank in [0, 1, 2] {
                assert_eq!(
                    ua_to_da_type(&dt(ua), rank),
                    expected_array,
                    "{ua:?} rank {rank}"
                );
            }
            // Value mapping agrees with the type mapping.
            let value = sample_ua(ua);
            assert_eq!(ua_to_da_value(&value).var_type(), vt, "{ua:?}: {value:?}");
            let array = Variant::Array(Box::new(
                Array::new(
                    value.scalar_type_id().unwrap(),
                    vec![value.clone(), value.clone()],
                )
                .unwrap(),
            ));
            assert_eq!(
                ua_to_da_value(&array).var_type(),
                expected_array,
                "{ua:?} array"
            );
        }
    }

    #[test]
    fn a36_text_forms() {
        let text = |id| match ua_to_da_value(&sample_ua(id)) {
            DaValue::Bstr(s) => s,
            other => panic!("{id:?}: {other:?}"),
        };
        assert_eq!(
            text(DataTypeId::Guid),
            "72962b91-fa75-4ae6-8d28-b404dc7daf63"
        );
        assert_eq!(text(DataTypeId::NodeId), "ns=2;s=Pump");
        assert_eq!(text(DataTypeId::ExpandedNodeId), "ns=2;i=7");
        let mut remote = ExpandedNodeId::new(NodeId::new(0, 7u32));
        remote.server_index = 3;
        remote.namespace_uri = "urn:a;b".into();
        let remote_text = expanded_node_id_text(&remote);
        assert_eq!(remote_text, "svr=3;nsu=urn:a%3bb;i=7");
        assert_eq!(parse_expanded_node_id(&remote_text), Some(remote));
        for local in [NodeId::new(0, 7u32), NodeId::new(2, "a;b")] {
            let id = ExpandedNodeId::new(local);
            assert_eq!(
                parse_expanded_node_id(&expanded_node_id_text(&id)),
                Some(id.clone())
            );
            assert_eq!(parse_expanded_node_id(&id.to_string()), Some(id));
        }
        assert_eq!(text(DataTypeId::QualifiedName), "3:Name");
        assert_eq!(text(DataTypeId::LocalizedText), "Hello");
        assert_eq!(text(DataTypeId::XmlElement), "<a/>");
        assert_eq!(
            ua_to_da_value(&sample_ua(DataTypeId::StatusCode)),
            DaValue::UI4(StatusCode::BadNodeIdUnknown.bits())
        );
        assert_eq!(
            ua_to_da_value(&sample_ua(DataTypeId::Decimal)),
            DaValue::Decimal(DaDecimal::new(31_415, 4).unwrap())
        );
        // ExtensionObject: the binary body (Range = two doubles).
        let mut body = 0.0f64.to_le_bytes().to_vec();
        body.extend(1.0f64.to_le_bytes());
        assert_eq!(
            ua_to_da_value(&sample_ua(DataTypeId::Structure)),
            bytes_value(&body)
        );
        assert_eq!(
            ua_to_da_value(&Variant::ExtensionObject(ExtensionObject::null())),
            bytes_value(&[])
        );
        assert_eq!(
            ua_to_da_value(&Variant::ByteString(ByteString::from(vec![1u8, 2]))),
            bytes_value(&[1, 2])
        );
        assert_eq!(
            ua_to_da_value(&Variant::String(Default::default())),
            DaValue::Bstr(String::new())
        );
    }

    #[test]
    fn a36_extensions_subtypes_and_unknown_types() {
        for (ua, vt) in UA_TO_DA_EXTENSIONS {
            assert_eq!(ua_to_da_type(&dt(ua), -1), vt, "{ua:?}");
        }
        for (sub, base) in NS0_SUBTYPES {
            assert_eq!(
                ua_to_da_type(&dt(sub), -1),
                ua_to_da_type(&dt(base), -1),
                "{sub:?}"
            );
            assert_eq!(
                ua_to_da_type(&dt(sub), 1),
                ua_to_da_type(&dt(base), 1),
                "{sub:?}"
            );
        }
        // Any / ScalarOrOneDimension give the scalar type.
        assert_eq!(ua_to_da_type(&dt(DataTypeId::Double), -2), VarType::VT_R8);
        assert_eq!(ua_to_da_type(&dt(DataTypeId::Double), -3), VarType::VT_R8);
        // Structures (ns=0 or not) and unknown DataTypes: the ExtensionObject row.
        assert_eq!(
            ua_to_da_type(&dt(DataTypeId::Range), -1),
            ARRAY(VarType::VT_UI1)
        );
        assert_eq!(
            ua_to_da_type(&NodeId::new(2, 3003u32), -1),
            ARRAY(VarType::VT_UI1)
        );
        assert_eq!(
            ua_to_da_type(&NodeId::new(2, "MyStruct"), 1),
            ARRAY(VarType::VT_VARIANT)
        );
        assert_eq!(
            ua_to_da_type(&dt(DataTypeId::BaseDataType), 1),
            ARRAY(VarType::VT_VARIANT)
        );
    }

    #[test]
    fn types_round_trip_where_both_tables_agree() {
        for (vt, _) in TABLE_A32.iter().chain(DA_TO_UA_EXTENSIONS.iter()) {
            let expected = ROUND_TRIP_EXCEPTIONS
                .iter()
                .find(|(from, _)| from == vt)
                .map_or(*vt, |(_, to)| *to);
            for v in [*vt, ARRAY(*vt)] {
                let (ua, rank) = da_to_ua_type(v).unwrap();
                let back = ua_to_da_type(&dt(ua), rank.to_i32());
                let expected = if v.is_array() {
                    ARRAY(expected)
                } else {
                    expected
                };
                assert_eq!(back, expected, "{v} → {ua:?} → {back}");
            }
        }
    }

    // --- VarType ----------------------------------------------------------------------

    #[test]
    fn var_type_display_and_flags() {
        assert_eq!(VarType::VT_R8.to_string(), "VT_R8");
        assert_eq!(ARRAY(VarType::VT_R8).to_string(), "VT_ARRAY|VT_R8");
        assert_eq!(VarType(99).to_string(), "VT(0x0063)");
        assert_eq!(format!("{:?}", ARRAY(VarType::VT_UI1)), "VT_ARRAY|VT_UI1");
        assert!(ARRAY(VarType::VT_I4).is_array());
        assert!(!VarType::VT_I4.is_array());
        assert_eq!(ARRAY(VarType::VT_I4).element(), VarType::VT_I4);
        assert_eq!(VarType(0x2005), ARRAY(VarType::VT_R8));
    }

    // --- OLE dates --------------------------------------------------------------------

    #[test]
    fn ole_date_reference_points() {
        let cases = [
            (DateTime::ymd_hms(1899, 12, 30, 0, 0, 0), 0.0),
            (DateTime::ymd_hms(1900, 1, 1, 0, 0, 0), 2.0),
            (DateTime::ymd_hms(1899, 12, 29, 6, 0, 0), -1.25),
            (DateTime::ymd_hms(1899, 12, 28, 18, 0, 0), -2.75),
            (DateTime::ymd_hms(2000, 1, 1, 12, 0, 0), 36_526.5),
            (DateTime::ymd_hms(1601, 1, 1, 0, 0, 0), -109_205.0),
            (DateTime::ymd_hms(9999, 12, 31, 0, 0, 0), 2_958_465.0),
        ];
        for (dt, ole) in cases {
            assert_eq!(ole_date_from_ua(&dt), ole, "{dt}");
            assert_eq!(ua_from_ole_date(ole), Some(dt), "{ole}");
        }
        assert_eq!(
            ole_date_from_ua(&DateTime::ymd_hms_nano(2000, 1, 1, 0, 0, 0, 1_500_000)),
            36_526.0 + 2.0 / MS_PER_DAY as f64,
            "rounded to the nearest millisecond"
        );
        // (-1, 0) is 1899-12-30 again, with the time of day as |fraction|.
        assert_eq!(
            ua_from_ole_date(-0.5),
            Some(DateTime::ymd_hms(1899, 12, 30, 12, 0, 0))
        );
        for bad in [f64::NAN, f64::INFINITY, -109_206.0, 2_958_466.0, 1e300] {
            assert_eq!(ua_from_ole_date(bad), None, "{bad}");
        }
    }

    // --- Values -----------------------------------------------------------------------

    #[test]
    fn writes_convert_to_the_target_type() {
        use DataTypeId as D;
        let ok = |v: DaValue, t: D| da_to_ua_value(&v, Some(t)).unwrap();
        assert_eq!(ok(DaValue::R8(2.5), D::Int32), Variant::Int32(2));
        assert_eq!(ok(DaValue::R8(3.5), D::Int32), Variant::Int32(4));
        assert_eq!(
            ok(DaValue::Bstr(" 42 ".into()), D::UInt16),
            Variant::UInt16(42)
        );
        assert_eq!(ok(DaValue::I2(7), D::Double), Variant::Double(7.0));
        assert_eq!(ok(DaValue::Bool(true), D::Byte), Variant::Byte(1));
        assert_eq!(ok(DaValue::I4(0), D::Boolean), Variant::Boolean(false));
        assert_eq!(
            ok(DaValue::Bstr("True".into()), D::Boolean),
            Variant::Boolean(true)
        );
        assert_eq!(ok(DaValue::Cy(12_345), D::String), Variant::from("1.2345"));
        assert_eq!(ok(DaValue::Cy(12_345), D::Double), Variant::Double(1.2345));
        assert_eq!(ok(DaValue::I4(5), D::Enumeration), Variant::Int32(5));
        assert_eq!(ok(DaValue::R8(1.5), D::Duration), Variant::Double(1.5));
        assert_eq!(
            ok(DaValue::Date(36_526.5), D::UtcTime),
            Variant::DateTime(Box::new(DateTime::ymd_hms(2000, 1, 1, 12, 0, 0)))
        );
        assert_eq!(
            ok(DaValue::Bstr("2000-01-01T12:00:00Z".into()), D::DateTime),
            Variant::DateTime(Box::new(DateTime::ymd_hms(2000, 1, 1, 12, 0, 0)))
        );
        assert_eq!(
            ok(DaValue::Bstr("ns=2;s=Pump".into()), D::NodeId),
            Variant::NodeId(Box::new(NodeId::new(2, "Pump")))
        );
        assert_eq!(
            ok(DaValue::Bstr("3:Name".into()), D::QualifiedName),
            Variant::QualifiedName(Box::new(QualifiedName::new(3, "Name")))
        );
        assert_eq!(
            ok(
                DaValue::I4(StatusCode::BadNodeIdUnknown.bits() as i32),
                D::StatusCode
            ),
            Variant::StatusCode(StatusCode::BadNodeIdUnknown)
        );
        assert_eq!(
            ok(DaValue::Bstr("-1.50".into()), D::Decimal),
            ua_decimal(&DaDecimal::new(-150, 2).unwrap())
        );
        assert_eq!(
            ok(bytes_value(&[1, 2, 3]), D::ByteString),
            Variant::ByteString(ByteString::from(vec![1u8, 2, 3]))
        );
        assert_eq!(
            ok(
                DaValue::Array(VarType::VT_R8, vec![DaValue::R8(1.0), DaValue::R8(2.0)]),
                D::Float
            ),
            Variant::from(vec![1.0f32, 2.0])
        );
        assert_eq!(ok(DaValue::Empty, D::Int32), Variant::Empty);
        assert_eq!(ok(DaValue::I2(3), D::BaseDataType), Variant::Int16(3));
        assert_eq!(ok(DaValue::I2(3), D::Number), Variant::Int16(3));
    }

    #[test]
    fn writes_fail_with_typed_errors() {
        use DataTypeId as D;
        let err = |v: DaValue, t: Option<D>| da_to_ua_value(&v, t).unwrap_err();
        assert_eq!(
            err(DaValue::I4(300), Some(D::Byte)),
            TypeMismatch::OutOfRange {
                from: VarType::VT_I4,
                to: D::Byte
            }
        );
        assert!(err(DaValue::I4(-1), Some(D::UInt32)).is_out_of_range());
        assert!(err(DaValue::R8(f64::NAN), Some(D::Int64)).is_out_of_range());
        assert!(err(DaValue::R8(1e39), Some(D::Float)).is_out_of_range());
        assert!(err(DaValue::Date(1e7), Some(D::DateTime)).is_out_of_range());
        assert!(err(DaValue::R8(1e30), Some(D::Decimal)).is_out_of_range());
        assert_eq!(
            err(DaValue::Bstr("abc".into()), Some(D::Int32)),
            TypeMismatch::Unparsable {
                text: "abc".into(),
                to: D::Int32
            }
        );
        assert!(matches!(
            err(DaValue::Bstr("x".into()), Some(D::Guid)),
            TypeMismatch::Unparsable { .. }
        ));
        assert!(matches!(
            err(DaValue::Bstr("maybe".into()), Some(D::Boolean)),
            TypeMismatch::Unparsable { .. }
        ));
        let incompatible =
            |v: DaValue, t: Option<D>| matches!(err(v, t), TypeMismatch::Incompatible { .. });
        assert!(incompatible(DaValue::I4(1), Some(D::Guid)));
        assert!(incompatible(DaValue::Bool(true), Some(D::DateTime)));
        assert!(incompatible(DaValue::Error(5), None));
        assert!(incompatible(DaValue::Error(5), Some(D::Int32)));
        assert!(incompatible(bytes_value(&[1]), Some(D::Structure)));
        assert!(incompatible(DaValue::I4(1), Some(D::ByteString)));
        assert!(incompatible(
            DaValue::Array(VarType::VT_I4, vec![DaValue::I4(1)]),
            Some(D::Structure)
        ));
        assert!(incompatible(DaValue::Bstr("1".into()), Some(D::Integer)));
        assert!(incompatible(DaValue::I4(-1), Some(D::UInteger)));
        // An array whose elements do not have the declared element type.
        assert!(incompatible(
            DaValue::Array(VarType::VT_I4, vec![DaValue::R8(1.0)]),
            None
        ));
    }

    #[test]
    fn arrays_and_variant_arrays() {
        let mixed = DaValue::Array(
            VarType::VT_VARIANT,
            vec![DaValue::I4(1), DaValue::Bstr("x".into()), DaValue::Empty],
        );
        let ua = da_to_ua_value(&mixed, None).unwrap();
        let Variant::Array(a) = &ua else {
            panic!("{ua:?}")
        };
        assert_eq!(a.value_type, VariantScalarTypeId::Variant);
        assert_eq!(ua_to_da_value(&ua), mixed);

        let ints = Variant::from(vec![1i32, -2, 3]);
        let da = ua_to_da_value(&ints);
        assert_eq!(da.var_type(), ARRAY(VarType::VT_I4));
        assert_eq!(da_to_ua_value(&da, None).unwrap(), ints);
        assert_eq!(da_to_ua_value(&da, Some(DataTypeId::Int32)).unwrap(), ints);

        let decimals = DaValue::Array(
            VarType::VT_DECIMAL,
            vec![DaValue::Decimal(DaDecimal::new(1, 1).unwrap())],
        );
        let ua = da_to_ua_value(&decimals, None).unwrap();
        assert_eq!(ua_to_da_value(&ua), decimals);

        let bytestrings = Variant::from(vec![ByteString::from(vec![1u8])]);
        assert_eq!(
            ua_to_da_value(&bytestrings),
            DaValue::Array(VarType::VT_VARIANT, vec![bytes_value(&[1])])
        );
    }

    #[test]
    fn decimals() {
        let d = |m, s| DaDecimal::new(m, s).unwrap();
        assert_eq!(d(-12_345, 2).to_string(), "-123.45");
        assert_eq!(d(5, 3).to_string(), "0.005");
        assert_eq!(d(7, 0).to_string(), "7");
        assert_eq!(DaDecimal::parse("-0.005"), Some(d(-5, 3)));
        assert_eq!(DaDecimal::parse("+12."), Some(d(12, 0)));
        assert_eq!(DaDecimal::parse(".5"), Some(d(5, 1)));
        for bad in [
            "",
            ".",
            "-",
            "1e5",
            "1.2.3",
            "abc",
            "79228162514264337593543950336",
        ] {
            assert_eq!(DaDecimal::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            DaDecimal::parse("79228162514264337593543950335"),
            Some(d(DaDecimal::MAX_MANTISSA, 0))
        );
        assert_eq!(DaDecimal::new(DaDecimal::MAX_MANTISSA + 1, 0), None);
        assert_eq!(DaDecimal::new(1, 29), None);
        // Scale above 28 rounds half to even; negative scale multiplies.
        assert_eq!(DaDecimal::from_scaled(25, 29), Some(d(2, 28)));
        assert_eq!(DaDecimal::from_scaled(35, 29), Some(d(4, 28)));
        assert_eq!(DaDecimal::from_scaled(-35, 29), Some(d(-4, 28)));
        assert_eq!(DaDecimal::from_scaled(12, -3), Some(d(12_000, 0)));
        assert_eq!(d(25, 1).round_to_integer(), 2);
        assert_eq!(d(-35, 1).round_to_integer(), -4);
        assert_eq!(d(-12_345, 4).to_f64(), -1.2345);
        // UA Decimal body round trip, including sign-extension edge cases.
        for m in [
            0,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            i64::MAX.into(),
            DaDecimal::MAX_MANTISSA,
            -DaDecimal::MAX_MANTISSA,
        ] {
            let dec = d(m, 3);
            assert_eq!(
                parse_ua_decimal_body(&ua_decimal_body(&dec)),
                Some((m, 3)),
                "{m}"
            );
            assert_eq!(ua_to_da_value(&ua_decimal(&dec)), DaValue::Decimal(dec));
        }
        assert_eq!(ua_decimal_body(&d(128, 0)), vec![0, 0, 0x80, 0x00]);
        assert_eq!(ua_decimal_body(&d(-128, 0)), vec![0, 0, 0x80]);
        // A UA Decimal beyond VT_DECIMAL becomes VT_R8.
        let mut big = 0i16.to_le_bytes().to_vec();
        big.extend((1i128 << 100).to_le_bytes());
        let eo = ExtensionObject::new(ByteStringBody::new(
            ByteString::from(big),
            decimal_type_id(),
        ));
        assert_eq!(
            ua_to_da_value(&Variant::ExtensionObject(eo)),
            DaValue::R8(2f64.powi(100))
        );
    }

    fn ua_scalar() -> impl Strategy<Value = Variant> {
        prop_oneof![
            any::<bool>().prop_map(Variant::Boolean),
            any::<i8>().prop_map(Variant::SByte),
            any::<u8>().prop_map(Variant::Byte),
            any::<i16>().prop_map(Variant::Int16),
            any::<u16>().prop_map(Variant::UInt16),
            any::<i32>().prop_map(Variant::Int32),
            any::<u32>().prop_map(Variant::UInt32),
            any::<i64>().prop_map(Variant::Int64),
            any::<u64>().prop_map(Variant::UInt64),
            any::<f32>()
                .prop_filter("NaN", |f| !f.is_nan())
                .prop_map(Variant::Float),
            any::<f64>()
                .prop_filter("NaN", |f| !f.is_nan())
                .prop_map(Variant::Double),
            any::<String>().prop_map(Variant::from),
        ]
    }

    proptest! {
        #[test]
        fn values_round_trip_through_a36_then_a32(v in ua_scalar()) {
            let da = ua_to_da_value(&v);
            prop_assert_eq!(da_to_ua_value(&da, None)?, v.clone());
            let target = v.data_type().and_then(|t| t.node_id.as_data_type_id().ok());
            prop_assert_eq!(da_to_ua_value(&da, target)?, v);
        }

        #[test]
        fn arrays_round_trip(v in proptest::collection::vec(any::<i64>(), 0..8)) {
            let ua = Variant::from(v);
            prop_assert_eq!(da_to_ua_value(&ua_to_da_value(&ua), Some(DataTypeId::Int64))?, ua);
        }

        #[test]
        fn date_times_round_trip_to_the_millisecond(ticks in 0..=DateTime::endtimes_ticks()) {
            let dt = DateTime::from(ticks);
            let ms_ticks = (ticks + TICKS_PER_MS / 2) / TICKS_PER_MS * TICKS_PER_MS;
            let expected = Variant::DateTime(Box::new(DateTime::from(ms_ticks)));
            let da = ua_to_da_value(&Variant::DateTime(Box::new(dt)));
            prop_assert_eq!(da_to_ua_value(&da, Some(DataTypeId::DateTime))?, expected);
        }

        #[test]
        fn ole_dates_are_exact_to_the_millisecond(
            // 1601-01-01 to 9999-12-31 23:59:59, the UA DateTime range.
            ms in -109_205 * MS_PER_DAY..=2_958_465 * MS_PER_DAY + 86_399_000
        ) {
            let dt = DateTime::from(OLE_EPOCH_TICKS + ms * TICKS_PER_MS);
            let ole = ole_date_from_ua(&dt);
            prop_assert_eq!(ua_from_ole_date(ole), Some(dt));
            prop_assert_eq!(ole_date_from_ua(&DateTime::from(OLE_EPOCH_TICKS + ms * TICKS_PER_MS)), ole);
        }

        #[test]
        fn integer_writes_never_panic(f in any::<f64>(), s in ".*") {
            for t in [DataTypeId::SByte, DataTypeId::UInt64, DataTypeId::Decimal, DataTypeId::DateTime, DataTypeId::Float] {
                let _ = da_to_ua_value(&DaValue::R8(f), Some(t));
                let _ = da_to_ua_value(&DaValue::Bstr(s.clone()), Some(t));
            }
        }
    }
}
