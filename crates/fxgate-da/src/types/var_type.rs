//! [`VarType`]: the COM `VARTYPE` tag of a VARIANT, with the constants of the `VT_…` types
//! the mapping of OPC 10000-8 Annex A uses (Tables A.32, A.36).

use std::fmt;

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
