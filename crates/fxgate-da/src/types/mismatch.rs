//! [`TypeMismatch`]: why a VARIANT written by a DA client cannot become the UA value asked
//! for (the write direction of OPC 10000-8 Table A.32, and the conversion to the DataType
//! of the node written, A.4.3.2).

use opcua::types::DataTypeId;

use super::VarType;

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
