//! Macros declaring an FX DataType once: the Rust type with its OPC UA binary codec (async-opcua's
//! derive macros), its encoding ids resolved by namespace URI at run time
//! (`ExpandedMessageInfo`), and its `DEF` description for the address space.
//!
//! Field lines read `rust_name: RustType => "UaName": Ns(id), value_rank, kind;` where `Ns` is a
//! [`Ns`](super::def::Ns) variant and `kind` a [`FieldKind`](super::def::FieldKind) variant. An
//! `Optional` field must also carry `#[opcua(optional)]` and be an `Option`; a `Subtyped` one is an
//! `ExtensionObject` (or a `Variant`).

/// A structure: a Rust struct whose fields are encoded in order.
macro_rules! fx_structure {
    (
        $(#[$meta:meta])*
        $name:ident ($ns:ident $id:expr) : $pns:ident($pid:expr),
        encodings($bin:literal, $xml:literal, $json:literal), abstract $abs:literal
        {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $fty:ty => $uaname:literal : $fns:ident($fid:expr), $rank:expr, $kind:ident;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Default,
            opcua::types::BinaryEncodable, opcua::types::BinaryDecodable, opcua::types::UaNullable,
        )]
        pub struct $name {
            $(
                #[doc = concat!("The field `", $uaname, "`.")]
                $(#[$fmeta])*
                pub $field: $fty,
            )*
        }

        impl $name {
            /// The DataType's description (NodeIds, supertype, fields, encodings).
            pub const DEF: $crate::types::def::StructDef = $crate::types::def::StructDef {
                name: stringify!($name),
                id: $crate::types::def::TypeRef::new($crate::types::def::Ns::$ns, $id as u32),
                parent: $crate::types::def::TypeRef::new($crate::types::def::Ns::$pns, $pid as u32),
                kind: $crate::types::def::StructKind::Structure,
                is_abstract: $abs,
                encodings: Some($crate::types::def::Encodings { binary: $bin, xml: $xml, json: $json }),
                fields: &[$(
                    $crate::types::def::FieldDef {
                        name: $uaname,
                        data_type: $crate::types::def::TypeRef::new(
                            $crate::types::def::Ns::$fns, $fid as u32,
                        ),
                        value_rank: $rank,
                        kind: $crate::types::def::FieldKind::$kind,
                    },
                )*],
            };
        }

        fx_message_info!($name);
    };
}

/// A union: a Rust enum with a `Null` variant (switch 0) and one variant per alternative, the
/// switch values following the declaration order from 1.
macro_rules! fx_union {
    (
        $(#[$meta:meta])*
        $name:ident ($ns:ident $id:expr), encodings($bin:literal, $xml:literal, $json:literal)
        {
            $( $variant:ident($vty:ty) => $fns:ident($fid:expr), $rank:expr, $kind:ident; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Default,
            opcua::types::BinaryEncodable, opcua::types::BinaryDecodable, opcua::types::UaNullable,
        )]
        pub enum $name {
            /// No alternative selected (switch 0).
            #[default]
            Null,
            $(
                #[doc = concat!("The alternative `", stringify!($variant), "`.")]
                $variant($vty),
            )*
        }

        impl $name {
            /// The DataType's description (NodeIds, alternatives, encodings).
            pub const DEF: $crate::types::def::StructDef = $crate::types::def::StructDef {
                name: stringify!($name),
                id: $crate::types::def::TypeRef::new($crate::types::def::Ns::$ns, $id as u32),
                parent: $crate::types::def::TypeRef::new(
                    $crate::types::def::Ns::Ua, opcua::types::DataTypeId::Union as u32,
                ),
                kind: $crate::types::def::StructKind::Union,
                is_abstract: false,
                encodings: Some($crate::types::def::Encodings { binary: $bin, xml: $xml, json: $json }),
                fields: &[$(
                    $crate::types::def::FieldDef {
                        name: stringify!($variant),
                        data_type: $crate::types::def::TypeRef::new(
                            $crate::types::def::Ns::$fns, $fid as u32,
                        ),
                        value_rank: $rank,
                        kind: $crate::types::def::FieldKind::$kind,
                    },
                )*],
            };
        }

        fx_message_info!($name);
    };
}

/// [`FxStructure`](super::def::FxStructure) and `ExpandedMessageInfo` from `DEF`: the encoding ids carry the namespace URI, so they are right
/// whatever index the server gives the namespace.
macro_rules! fx_message_info {
    ($name:ident) => {
        impl $crate::types::def::FxStructure for $name {
            const DEF: $crate::types::def::StructDef = $name::DEF;
        }

        impl opcua::types::ExpandedMessageInfo for $name {
            fn full_type_id(&self) -> opcua::types::ExpandedNodeId {
                Self::DEF.binary_encoding()
            }
            fn full_json_type_id(&self) -> opcua::types::ExpandedNodeId {
                Self::DEF.json_encoding()
            }
            fn full_xml_type_id(&self) -> opcua::types::ExpandedNodeId {
                Self::DEF.xml_encoding()
            }
            fn full_data_type_id(&self) -> opcua::types::ExpandedNodeId {
                Self::DEF.id.expanded()
            }
        }
    };
}

/// An enumeration, encoded as Int32. The first value is the default.
macro_rules! fx_enum {
    (
        $(#[$meta:meta])*
        $name:ident ($ns:ident $id:expr), $prop:ident($pid:literal)
        { $first:ident = $fval:literal $(, $variant:ident = $val:literal)* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            opcua::types::BinaryEncodable, opcua::types::BinaryDecodable,
            opcua::types::UaEnum, opcua::types::UaNullable,
        )]
        #[repr(i32)]
        pub enum $name {
            #[doc = concat!("`", stringify!($first), "` (", stringify!($fval), ").")]
            #[opcua(default)]
            $first = $fval,
            $(
                #[doc = concat!("`", stringify!($variant), "` (", stringify!($val), ").")]
                $variant = $val,
            )*
        }

        impl $name {
            /// The DataType's description (NodeId, values, EnumStrings/EnumValues property).
            pub const DEF: $crate::types::def::EnumDef = $crate::types::def::EnumDef {
                name: stringify!($name),
                id: $crate::types::def::TypeRef::new($crate::types::def::Ns::$ns, $id as u32),
                parent: $crate::types::def::TypeRef::new(
                    $crate::types::def::Ns::Ua, opcua::types::DataTypeId::Enumeration as u32,
                ),
                values: &[(stringify!($first), $fval) $(, (stringify!($variant), $val))*],
                property: $crate::types::def::EnumProperty::$prop($pid),
            };
        }
    };
}

/// An option set: bit flags over an unsigned integer, with its flags named as in the NodeSet and
/// numbered by bit.
macro_rules! fx_option_set {
    (
        $(#[$meta:meta])*
        $name:ident: $repr:ty = $parent:ident ($ns:ident $id:expr), OptionSetValues($pid:literal)
        { $($flag:ident = $bit:literal),* $(,)? }
    ) => {
        bitflags::bitflags! {
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
            pub struct $name: $repr {
                $(
                    #[doc = concat!("`", stringify!($flag), "` (bit ", stringify!($bit), ").")]
                    #[allow(non_upper_case_globals)]
                    const $flag = 1 << $bit;
                )*
            }
        }

        impl $name {
            /// The DataType's description (NodeId, bits, OptionSetValues property).
            pub const DEF: $crate::types::def::EnumDef = $crate::types::def::EnumDef {
                name: stringify!($name),
                id: $crate::types::def::TypeRef::new($crate::types::def::Ns::$ns, $id as u32),
                parent: $crate::types::def::TypeRef::new(
                    $crate::types::def::Ns::Ua, opcua::types::DataTypeId::$parent as u32,
                ),
                values: &[$((stringify!($flag), $bit)),*],
                property: $crate::types::def::EnumProperty::OptionSetValues($pid),
            };
        }

        impl opcua::types::SimpleBinaryEncodable for $name {
            fn byte_len(&self) -> usize {
                std::mem::size_of::<$repr>()
            }
            fn encode<S: std::io::Write + ?Sized>(
                &self,
                stream: &mut S,
            ) -> opcua::types::EncodingResult<()> {
                opcua::types::SimpleBinaryEncodable::encode(&self.bits(), stream)
            }
        }

        impl opcua::types::SimpleBinaryDecodable for $name {
            fn decode<S: std::io::Read + ?Sized>(
                stream: &mut S,
                options: &opcua::types::DecodingOptions,
            ) -> opcua::types::EncodingResult<Self> {
                let bits = <$repr as opcua::types::SimpleBinaryDecodable>::decode(stream, options)?;
                // Unknown bits are kept: later versions of the specification may add flags.
                Ok(Self::from_bits_retain(bits))
            }
        }

        impl opcua::types::UaNullable for $name {
            fn is_ua_null(&self) -> bool {
                self.is_empty()
            }
        }

        impl opcua::types::IntoVariant for $name {
            fn into_variant(self) -> opcua::types::Variant {
                opcua::types::IntoVariant::into_variant(self.bits())
            }
        }
    };
}
