//! Declarative descriptions of the FX DataTypes: which namespace and NodeId each type has, its
//! supertype, its fields or enumeration values and its encodings. The Rust types carry one of
//! these as `DEF` (written by the macros in `macros.rs` next to the Rust declaration, so the
//! codec and the address-space model cannot drift apart); `model` turns them into DataType nodes.

use opcua::types::{BinaryDecodable, DynEncodable, ExpandedNodeId, NodeId};

use crate::namespaces::{self, FxNamespaces};

/// The namespace a NodeId of the FX model belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ns {
    /// The OPC UA base namespace (index 0).
    Ua,
    /// [`namespaces::FX_DATA`].
    Data,
    /// [`namespaces::FX_AC`].
    Ac,
    /// [`namespaces::FX_CM`].
    Cm,
    /// [`namespaces::DI`].
    Di,
    /// [`namespaces::FX_INSTANCES`]: fxgate's own definitions of types the v1.00.03 text
    /// defines but the v1.00.02 NodeSets at hand do not (no official NodeIds for them).
    Fxgate,
}

impl Ns {
    /// The namespace URI.
    pub const fn uri(self) -> &'static str {
        match self {
            Ns::Ua => "http://opcfoundation.org/UA/",
            Ns::Data => namespaces::FX_DATA,
            Ns::Ac => namespaces::FX_AC,
            Ns::Cm => namespaces::FX_CM,
            Ns::Di => namespaces::DI,
            Ns::Fxgate => namespaces::FX_INSTANCES,
        }
    }

    /// The namespace's index in the server.
    pub fn index(self, ns: &FxNamespaces) -> u16 {
        match self {
            Ns::Ua => 0,
            Ns::Data => ns.data,
            Ns::Ac => ns.ac,
            Ns::Cm => ns.cm,
            Ns::Di => ns.di,
            Ns::Fxgate => ns.instances,
        }
    }
}

/// A numeric NodeId in one of the namespaces of the FX model, independent of the server's
/// namespace indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeRef {
    /// The namespace.
    pub ns: Ns,
    /// The numeric identifier inside the namespace.
    pub id: u32,
}

impl TypeRef {
    /// `i=id` in `ns`.
    pub const fn new(ns: Ns, id: u32) -> Self {
        Self { ns, id }
    }

    /// `i=id` in the OPC UA base namespace.
    pub const fn ua(id: u32) -> Self {
        Self::new(Ns::Ua, id)
    }

    /// `i=id` in the FX Data namespace.
    pub const fn data(id: u32) -> Self {
        Self::new(Ns::Data, id)
    }

    /// `i=id` in the FX AC namespace.
    pub const fn ac(id: u32) -> Self {
        Self::new(Ns::Ac, id)
    }

    /// `i=id` in the FX CM namespace.
    pub const fn cm(id: u32) -> Self {
        Self::new(Ns::Cm, id)
    }

    /// `i=id` in the DI namespace.
    pub const fn di(id: u32) -> Self {
        Self::new(Ns::Di, id)
    }

    /// The NodeId in a server with the namespace indexes `ns`.
    pub fn node_id(&self, ns: &FxNamespaces) -> NodeId {
        NodeId::new(self.ns.index(ns), self.id)
    }

    /// The NodeId with its namespace given by URI, resolved by the encoder at run time.
    pub fn expanded(&self) -> ExpandedNodeId {
        match self.ns {
            Ns::Ua => NodeId::new(0, self.id).into(),
            other => ExpandedNodeId::new_with_namespace(other.uri(), self.id),
        }
    }
}

/// Value rank of a scalar field.
pub const SCALAR: i32 = -1;
/// Value rank of a one-dimensional array field.
pub const ARRAY: i32 = 1;

/// How a structure field is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Always present, encoded with its declared type.
    Plain,
    /// `IsOptional` in the NodeSet: present only if its bit in the encoding mask is set.
    Optional,
    /// `AllowSubTypes` in the NodeSet: holds any subtype of the declared (structure) type, so it
    /// is encoded as an ExtensionObject (as a Variant for non-structure types).
    Subtyped,
}

/// One field of a structure or one alternative of a union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// The field's name in the NodeSet.
    pub name: &'static str,
    /// The field's DataType.
    pub data_type: TypeRef,
    /// [`SCALAR`] or [`ARRAY`].
    pub value_rank: i32,
    /// How the field is encoded.
    pub kind: FieldKind,
}

/// Whether a structured DataType is a structure or a union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructKind {
    /// All fields are encoded in order.
    Structure,
    /// A UInt32 switch selects the one encoded field (0 = null).
    Union,
}

/// The NodeIds of a DataType's encoding objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encodings {
    /// `Default Binary`.
    pub binary: u32,
    /// `Default XML`.
    pub xml: u32,
    /// `Default JSON`.
    pub json: u32,
}

/// A structured DataType (structure or union).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StructDef {
    /// The BrowseName (in the type's own namespace).
    pub name: &'static str,
    /// The DataType's NodeId.
    pub id: TypeRef,
    /// The direct supertype (Structure, Union or another FX structure).
    pub parent: TypeRef,
    /// Structure or union.
    pub kind: StructKind,
    /// IsAbstract.
    pub is_abstract: bool,
    /// The encoding objects, if the NodeSet defines them.
    pub encodings: Option<Encodings>,
    /// All fields in encoding order, the supertype's first (as OPC 10000-3 §8.48 requires of the
    /// DataTypeDefinition).
    pub fields: &'static [FieldDef],
}

impl StructDef {
    /// The `Default Binary` encoding id, resolved by namespace URI at encoding time.
    pub fn binary_encoding(&self) -> ExpandedNodeId {
        self.encoding(|e| e.binary)
    }

    /// The `Default XML` encoding id.
    pub fn xml_encoding(&self) -> ExpandedNodeId {
        self.encoding(|e| e.xml)
    }

    /// The `Default JSON` encoding id.
    pub fn json_encoding(&self) -> ExpandedNodeId {
        self.encoding(|e| e.json)
    }

    fn encoding(&self, pick: fn(&Encodings) -> u32) -> ExpandedNodeId {
        match &self.encodings {
            Some(e) => TypeRef::new(self.id.ns, pick(e)).expanded(),
            None => ExpandedNodeId::null(),
        }
    }
}

/// The property that names an enumeration's values, with its NodeId.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumProperty {
    /// `EnumStrings` (LocalizedText[], values 0..n).
    EnumStrings(u32),
    /// `EnumValues` (EnumValueType[]).
    EnumValues(u32),
    /// `OptionSetValues` (LocalizedText[] indexed by bit number).
    OptionSetValues(u32),
}

/// An enumeration or an option set (a UInteger subtype whose values are bit numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumDef {
    /// The BrowseName (in the type's own namespace).
    pub name: &'static str,
    /// The DataType's NodeId.
    pub id: TypeRef,
    /// Enumeration, or Byte/UInt16/UInt32 for option sets.
    pub parent: TypeRef,
    /// Names and values; for option sets the value is the bit number.
    pub values: &'static [(&'static str, i64)],
    /// The property naming the values.
    pub property: EnumProperty,
}

impl EnumDef {
    /// Whether this is an option set.
    pub fn is_option_set(&self) -> bool {
        matches!(self.property, EnumProperty::OptionSetValues(_))
    }
}

/// A Rust type of an FX structured DataType, with its description.
pub trait FxStructure: DynEncodable + BinaryDecodable {
    /// The DataType's description.
    const DEF: StructDef;
}
