//! [`DaValue`]: a COM VARIANT as the gateway models it, the DA side of the value mappings
//! of OPC 10000-8 Tables A.32 and A.36.

use super::{DaDecimal, VarType};

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
    ///
    /// [`ole_date_from_ua`]: super::ole_date_from_ua
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
