//! Typed access to the body of a decoded ExtensionObject, e.g. a method argument.

use opcua::types::{ExpandedNodeId, ExtensionObject};

/// Why an ExtensionObject does not hold the expected FX structure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BodyError {
    /// The ExtensionObject is null.
    #[error("the ExtensionObject is null")]
    Null,
    /// The body is of another type (or was not decoded: no type loader knew its encoding id).
    #[error("expected {expected}, found a body with encoding id {found}")]
    WrongType {
        /// The Rust type asked for.
        expected: &'static str,
        /// The binary encoding id of the body found.
        found: ExpandedNodeId,
    },
}

/// The body of `object` as a `T`.
pub fn body<T: Send + Sync + 'static>(object: &ExtensionObject) -> Result<&T, BodyError> {
    if object.is_null() {
        return Err(BodyError::Null);
    }
    object.inner_as::<T>().ok_or_else(|| BodyError::WrongType {
        expected: std::any::type_name::<T>(),
        found: object.binary_type_id(),
    })
}
