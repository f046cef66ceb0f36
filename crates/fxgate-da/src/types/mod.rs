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
//!
//! # Files
//!
//! - `var_type`: [`VarType`], the COM `VARTYPE` tag;
//! - `tables`: Tables A.32 and A.36 with their documented extensions, and the type
//!   mappings [`da_to_ua_type`] / [`ua_to_da_type`];
//! - `decimal`: [`DaDecimal`] (`VT_DECIMAL`) and the UA Decimal body (OPC 10000-6 5.1.10);
//! - `ole_date`: OLE Automation dates (`VT_DATE`) ↔ UA DateTime;
//! - `value`: [`DaValue`], a VARIANT;
//! - `text_forms`: the `VT_BSTR` text forms of ExpandedNodeId and QualifiedName;
//! - `ua_to_da`: UA value → VARIANT, [`ua_to_da_value`] (Table A.36);
//! - `mismatch`: [`TypeMismatch`], why a written VARIANT cannot become a UA value;
//! - `da_to_ua`: VARIANT → UA value, [`da_to_ua_value`] (Table A.32 or a target DataType);
//! - `convert_scalar`: one scalar VARIANT → a concrete DataType (`VariantChangeType`-like).
//!
//! [`Variant`]: opcua::types::Variant
//! [`ValueRank::ONE_OR_MORE_DIMENSIONS`]: opcua::types::value_rank::ValueRank::ONE_OR_MORE_DIMENSIONS
//! [`DataTypeId::Enumeration`]: opcua::types::DataTypeId::Enumeration

mod convert_scalar;
mod da_to_ua;
mod decimal;
mod mismatch;
mod ole_date;
mod tables;
mod text_forms;
mod ua_to_da;
mod value;
mod var_type;

pub use da_to_ua::da_to_ua_value;
pub use decimal::DaDecimal;
pub use mismatch::TypeMismatch;
pub use ole_date::{ole_date_from_ua, ua_from_ole_date};
pub use tables::{
    da_to_ua_type, ua_to_da_type, DA_TO_UA_EXTENSIONS, NS0_SUBTYPES, TABLE_A32, TABLE_A36,
    UA_TO_DA_EXTENSIONS,
};
pub use ua_to_da::ua_to_da_value;
pub use value::DaValue;
pub use var_type::VarType;

#[cfg(test)]
mod clamp_tests;
#[cfg(test)]
mod tests;
