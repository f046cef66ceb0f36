//! The input arguments of a call, taken by index and type.

use opcua::types::{ByteString, NodeId, StatusCode, Variant};

/// Why a call was not made: a status for the whole call, or one argument that is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// The call's status.
    Status(StatusCode),
    /// The argument at `index` (of `count`) has this status; the call's is Bad_InvalidArgument.
    Argument {
        /// Which argument.
        index: usize,
        /// How many arguments the call had.
        count: usize,
        /// Its status (Bad_TypeMismatch, Bad_InvalidArgument).
        status: StatusCode,
    },
}

impl From<StatusCode> for CallError {
    fn from(s: StatusCode) -> Self {
        CallError::Status(s)
    }
}

/// The input arguments of one call, of a method taking `expected` of them.
pub struct Args<'a> {
    values: &'a [Variant],
}

impl<'a> Args<'a> {
    /// Checks the count: fewer is Bad_ArgumentsMissing, more Bad_TooManyArguments.
    pub fn new(values: &'a [Variant], expected: usize) -> Result<Self, CallError> {
        match values.len().cmp(&expected) {
            std::cmp::Ordering::Less => Err(StatusCode::BadArgumentsMissing.into()),
            std::cmp::Ordering::Greater => Err(StatusCode::BadTooManyArguments.into()),
            std::cmp::Ordering::Equal => Ok(Self { values }),
        }
    }

    /// Argument `index` is wrong in the way `status` says.
    pub fn invalid(&self, index: usize, status: StatusCode) -> CallError {
        CallError::Argument { index, count: self.values.len(), status }
    }

    fn get<T>(&self, index: usize, pick: impl FnOnce(&'a Variant) -> Option<T>) -> Result<T, CallError> {
        self.values.get(index).and_then(pick).ok_or_else(|| self.invalid(index, StatusCode::BadTypeMismatch))
    }

    /// A Byte.
    pub fn byte(&self, index: usize) -> Result<u8, CallError> {
        self.get(index, |v| if let Variant::Byte(b) = v { Some(*b) } else { None })
    }

    /// A UInt32.
    pub fn u32(&self, index: usize) -> Result<u32, CallError> {
        self.get(index, |v| if let Variant::UInt32(n) = v { Some(*n) } else { None })
    }

    /// An Int32.
    pub fn i32(&self, index: usize) -> Result<i32, CallError> {
        self.get(index, |v| if let Variant::Int32(n) = v { Some(*n) } else { None })
    }

    /// A UInt64.
    pub fn u64(&self, index: usize) -> Result<u64, CallError> {
        self.get(index, |v| if let Variant::UInt64(n) = v { Some(*n) } else { None })
    }

    /// A Boolean.
    pub fn bool(&self, index: usize) -> Result<bool, CallError> {
        self.get(index, |v| if let Variant::Boolean(b) = v { Some(*b) } else { None })
    }

    /// A String (null: empty).
    pub fn string(&self, index: usize) -> Result<String, CallError> {
        self.get(index, |v| match v {
            Variant::String(s) => Some(s.as_ref().to_string()),
            Variant::Empty => Some(String::new()),
            _ => None,
        })
    }

    /// A ByteString (null: empty).
    pub fn bytes(&self, index: usize) -> Result<Vec<u8>, CallError> {
        self.get(index, |v| match v {
            Variant::ByteString(b) => Some(bytes_of(b)),
            Variant::Empty => Some(Vec::new()),
            _ => None,
        })
    }

    /// A ByteString array (null: empty).
    pub fn bytes_list(&self, index: usize) -> Result<Vec<Vec<u8>>, CallError> {
        self.get(index, |v| match v {
            Variant::Empty => Some(Vec::new()),
            Variant::Array(a) => a
                .values
                .iter()
                .map(|e| match e {
                    Variant::ByteString(b) => Some(bytes_of(b)),
                    Variant::Empty => Some(Vec::new()),
                    _ => None,
                })
                .collect(),
            _ => None,
        })
    }

    /// A NodeId (null: the null NodeId).
    pub fn node_id(&self, index: usize) -> Result<NodeId, CallError> {
        self.get(index, |v| match v {
            Variant::NodeId(n) => Some((**n).clone()),
            Variant::Empty => Some(NodeId::null()),
            _ => None,
        })
    }
}

fn bytes_of(b: &ByteString) -> Vec<u8> {
    b.value.clone().unwrap_or_default()
}
