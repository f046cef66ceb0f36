//! The RawData field encoding (Part 14 §7.2.4.5.9): each field in the binary encoding of its
//! built-in type, without the Variant's type byte, so a reader must know the types. Only
//! scalars are taken: arrays would need fixed dimensions in the DataSet metadata.

use std::io::{Cursor, Read};

use opcua::types::{BinaryDecodable, BinaryEncodable, Context, DataTypeId, Variant};

/// A field that cannot be raw-encoded or raw-decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RawError {
    /// The value is not a scalar of a built-in type the raw encoding takes.
    #[error("field {index}: {what} cannot be raw-encoded (scalars of built-in types only)")]
    NotRaw {
        /// The field's position.
        index: usize,
        /// What the value was.
        what: String,
    },
    /// The body ended inside a field, or a field did not decode.
    #[error("field {index} ({data_type:?}) does not decode: {status}")]
    Field {
        /// The field's position.
        index: usize,
        /// Its configured type.
        data_type: DataTypeId,
        /// async-opcua's status.
        status: opcua::types::StatusCode,
    },
    /// Bytes are left after the last field.
    #[error("{0} bytes left after the last field")]
    Trailing(usize),
}

/// The Variant type byte of a built-in scalar type (the DataTypeId's numeric id).
fn type_byte(t: DataTypeId) -> Option<u8> {
    raw_type(t as u32).then_some(t as u8)
}

/// Boolean (1) … DateTime (13) and StatusCode (19) are the built-in scalars taken.
fn raw_type(id: u32) -> bool {
    (1..=13).contains(&id) || id == 19
}

/// Appends the raw encoding of field `index`'s `value` to `out`.
pub fn encode_raw_field(index: usize, value: &Variant, ctx: &Context<'_>, out: &mut Vec<u8>) -> Result<(), RawError> {
    let not_raw = || RawError::NotRaw { index, what: format!("{:?}", value.type_id()) };
    let ok = matches!(value.type_id(), opcua::types::VariantTypeId::Scalar(t) if raw_type(t as u32));
    if !ok {
        return Err(not_raw());
    }
    let start = out.len();
    value.encode(out, ctx).map_err(|_| not_raw())?;
    // Drop the Variant's encoding-mask byte: what stays is the value's own encoding.
    out.remove(start);
    Ok(())
}

/// Decodes a RawData body into one value per type of `types`, in order.
pub fn decode_raw_fields(body: &[u8], types: &[DataTypeId], ctx: &Context<'_>) -> Result<Vec<Variant>, RawError> {
    let mut cur = Cursor::new(body);
    let mut values = Vec::with_capacity(types.len());
    for (index, &data_type) in types.iter().enumerate() {
        let err = |status| RawError::Field { index, data_type, status };
        let b = type_byte(data_type).ok_or(err(opcua::types::StatusCode::BadDataTypeIdUnknown))?;
        let prefix = [b];
        let mut prefixed = Read::chain(&prefix[..], &mut cur);
        let v = Variant::decode(&mut prefixed, ctx).map_err(|e| err(e.status()))?;
        values.push(v);
    }
    let left = body.len() - (cur.position() as usize).min(body.len());
    if left != 0 {
        return Err(RawError::Trailing(left));
    }
    Ok(values)
}

/// Decodes a RawData delta frame: FieldCount, then (FieldIndex, raw field) pairs, each
/// field decoded with the type at its index.
pub fn decode_raw_delta(body: &[u8], types: &[DataTypeId], ctx: &Context<'_>) -> Result<Vec<(u16, Variant)>, RawError> {
    let mut cur = Cursor::new(body);
    let mut word = [0u8; 2];
    let truncated = |index| RawError::Field { index, data_type: DataTypeId::UInt16, status: opcua::types::StatusCode::BadDecodingError };
    cur.read_exact(&mut word).map_err(|_| truncated(0))?;
    let count = u16::from_le_bytes(word) as usize;
    let mut values = Vec::with_capacity(count.min(types.len()));
    for n in 0..count {
        cur.read_exact(&mut word).map_err(|_| truncated(n))?;
        let index = u16::from_le_bytes(word);
        let data_type = *types.get(index as usize).ok_or(RawError::Field {
            index: index as usize,
            data_type: DataTypeId::BaseDataType,
            status: opcua::types::StatusCode::BadIndexRangeNoData,
        })?;
        let err = |status| RawError::Field { index: index as usize, data_type, status };
        let b = type_byte(data_type).ok_or(err(opcua::types::StatusCode::BadDataTypeIdUnknown))?;
        let prefix = [b];
        let mut prefixed = Read::chain(&prefix[..], &mut cur);
        let v = Variant::decode(&mut prefixed, ctx).map_err(|e| err(e.status()))?;
        values.push((index, v));
    }
    let left = body.len() - (cur.position() as usize).min(body.len());
    if left != 0 {
        return Err(RawError::Trailing(left));
    }
    Ok(values)
}
