//! A decoding context whose namespace table puts the FX namespaces at arbitrary indexes, so the
//! tests prove the encoding ids are resolved by URI at run time.

use std::io::Cursor;

use maps::namespace_map;
use opcua::types::{
    BinaryDecodable, BinaryEncodable, ContextOwned, DecodingOptions, EncodingResult,
    ExtensionObject, TypeLoaderCollection,
};

use crate::types::type_loaders;

/// Indexes of FX Data, AC, CM and DI in the test context.
pub const DATA: u16 = 7;
pub const AC: u16 = 8;
pub const CM: u16 = 9;
pub const DI: u16 = 10;
/// fxgate's own namespace.
pub const FXGATE: u16 = 11;

mod maps {
    use opcua::types::{NamespaceMap, Variant};

    use crate::namespaces;

    /// ns0, padding up to index 7, then FX Data, AC, CM, DI and urn:fxgate:fx at 7 to 11.
    pub fn namespace_map() -> NamespaceMap {
        let mut uris: Vec<String> = vec!["http://opcfoundation.org/UA/".to_owned()];
        uris.extend((1..super::DATA).map(|i| format!("urn:padding:{i}")));
        uris.extend(
            [
                namespaces::FX_DATA,
                namespaces::FX_AC,
                namespaces::FX_CM,
                namespaces::DI,
                namespaces::FX_INSTANCES,
            ]
            .map(String::from),
        );
        let array: Vec<Variant> = uris.into_iter().map(Variant::from).collect();
        NamespaceMap::new_from_variant_array(&array).expect("a namespace array")
    }
}

/// The core loaders (generated ns0 types and the fallback) plus the FX loaders.
pub fn context() -> ContextOwned {
    let mut loaders = TypeLoaderCollection::new();
    for loader in type_loaders() {
        loaders.add(loader);
    }
    ContextOwned::new(namespace_map(), loaders, DecodingOptions::test())
}

/// Only the FX loaders: no fallback that would accept unknown encodings as raw bytes.
pub fn strict_context() -> ContextOwned {
    let mut loaders = TypeLoaderCollection::new_empty();
    for loader in type_loaders() {
        loaders.add(loader);
    }
    ContextOwned::new(namespace_map(), loaders, DecodingOptions::test())
}

/// Encodes `object` in `ctx`.
pub fn encode(ctx: &ContextOwned, object: &ExtensionObject) -> Vec<u8> {
    let mut bytes = Vec::new();
    object.encode(&mut bytes, &ctx.context()).expect("encodes");
    assert_eq!(
        bytes.len(),
        object.byte_len(&ctx.context()),
        "byte_len matches the encoding"
    );
    bytes
}

/// Decodes an ExtensionObject from `bytes` in `ctx`.
pub fn decode(ctx: &ContextOwned, bytes: &[u8]) -> EncodingResult<ExtensionObject> {
    ExtensionObject::decode(&mut Cursor::new(bytes), &ctx.context())
}
