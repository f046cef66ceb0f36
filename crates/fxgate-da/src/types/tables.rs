//! The type tables of OPC 10000-8 Annex A, transcribed row by row (Table A.32, COM UA
//! Wrapper; Table A.36, COM UA Proxy), the documented extensions for cases the Annex leaves
//! open, the ns=0 subtype resolution of A.4.3.2, and the type mappings built on them.

use opcua::types::value_rank::ValueRank;
use opcua::types::{DataTypeId, NodeId};

use super::VarType;

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
pub(super) fn base_data_type(dt: DataTypeId) -> DataTypeId {
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
