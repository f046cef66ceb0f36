//! The content of the file (§F.2): a UABinaryFileDataType in OPC UA Binary, its Namespaces
//! giving the meaning of every namespace index in the Body (index 1 is the first entry), and its
//! Body an array of ConnectionConfigurationSetConfDataType.

use std::io::Cursor;

use opcua::types::{
    BinaryDecodable, BinaryEncodable, ContextOwned, DecodingOptions, ExtensionObject, NamespaceMap,
    TypeLoaderCollection, UABinaryFileDataType, UAString, Variant,
};

use crate::node_manager::FxNodeManagerImpl;
use crate::types::ConnectionConfigurationSetConfDataType;

/// Why the content is not a UABinaryFileDataType with ConnectionConfigurationSetConfDataType
/// elements (CloseAndUpdate answers Bad_TypeMismatch), or could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    /// The bytes do not decode (or bytes are left over).
    #[error("the content is not a UABinaryFileDataType: {0}")]
    Decode(String),
    /// An element of the Body is something else.
    #[error("Body element {0} is not a ConnectionConfigurationSetConfDataType")]
    Element(usize),
    /// The Body is neither an array nor empty.
    #[error("the Body is not an array")]
    Body,
    /// Encoding failed.
    #[error("encoding the sets: {0}")]
    Encode(String),
}

/// The OPC UA namespace (index 0).
pub const OPC_UA: &str = "http://opcfoundation.org/UA/";

/// A decoded file: its namespaces (index 1 first) and its sets.
#[derive(Debug, Clone)]
pub struct Content {
    /// Namespaces (the URI of index `i` is `namespaces[i - 1]`).
    pub namespaces: Vec<String>,
    /// The Body's sets.
    pub sets: Vec<ConnectionConfigurationSetConfDataType>,
}

impl Content {
    /// The URI of namespace index `i` in the file (0: OPC UA).
    pub fn uri(&self, i: u16) -> Option<&str> {
        match i {
            0 => Some(OPC_UA),
            i => self.namespaces.get(usize::from(i) - 1).map(String::as_str),
        }
    }
}

/// An encoding/decoding context whose namespace table is the file's.
fn context(namespaces: &[String], options: DecodingOptions) -> ContextOwned {
    let mut map = NamespaceMap::new();
    for uri in namespaces {
        map.add_namespace(uri);
    }
    let mut loaders = TypeLoaderCollection::new();
    for l in crate::types::type_loaders() {
        loaders.add(l);
    }
    ContextOwned::new(map, loaders, options)
}

/// Encodes `content`.
pub fn encode(content: &Content) -> Result<Vec<u8>, CodecError> {
    let ctx = context(&content.namespaces, DecodingOptions::default());
    let body: Vec<ExtensionObject> = content.sets.iter().map(|s| ExtensionObject::from_message(s.clone())).collect();
    let file = UABinaryFileDataType {
        namespaces: Some(content.namespaces.iter().map(|u| UAString::from(u.as_str())).collect()),
        structure_data_types: None,
        enum_data_types: None,
        simple_data_types: None,
        schema_location: UAString::null(),
        file_header: None,
        body: Variant::from(body),
    };
    let mut out = Vec::new();
    file.encode(&mut out, &ctx.context()).map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes a file written by a client.
pub fn decode(bytes: &[u8], options: DecodingOptions) -> Result<Content, CodecError> {
    // the Namespaces come first: read them with a plain context, then decode again with the
    // file's namespace table so that the Body's encoding ids resolve
    let plain = context(&[], options.clone());
    let first = UABinaryFileDataType::decode(&mut Cursor::new(bytes), &plain.context()).map_err(|e| CodecError::Decode(e.to_string()))?;
    let namespaces: Vec<String> = first.namespaces.unwrap_or_default().iter().map(|u| u.as_ref().to_string()).collect();
    let ctx = context(&namespaces, options);
    let mut cursor = Cursor::new(bytes);
    let file = UABinaryFileDataType::decode(&mut cursor, &ctx.context()).map_err(|e| CodecError::Decode(e.to_string()))?;
    if usize::try_from(cursor.position()).unwrap_or(usize::MAX) != bytes.len() {
        return Err(CodecError::Decode(format!("{} bytes after the structure", bytes.len() as u64 - cursor.position())));
    }
    let elements = match &file.body {
        Variant::Empty => Vec::new(),
        Variant::Array(a) => a.values.clone(),
        _ => return Err(CodecError::Body),
    };
    let sets = elements
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Variant::ExtensionObject(o) => {
                crate::types::body::<ConnectionConfigurationSetConfDataType>(o).cloned().map_err(|_| CodecError::Element(i))
            }
            _ => Err(CodecError::Element(i)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Content { namespaces, sets })
}

/// The file content for the sets as they are now (Open with Read).
pub fn current(nm: &FxNodeManagerImpl) -> Result<Vec<u8>, CodecError> {
    let content = super::from_config::content(nm);
    encode(&content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_and_every_truncation_is_an_error() {
        let sets: Vec<ConnectionConfigurationSetConfDataType> = crate::types::tests::conf_sets();
        let content = Content { namespaces: vec![crate::namespaces::FX_CM.into(), "urn:x".into()], sets };
        let bytes = encode(&content).expect("encodes");
        let back = decode(&bytes, DecodingOptions::default()).expect("decodes");
        assert_eq!(back.namespaces, content.namespaces);
        assert_eq!(back.sets, content.sets);
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], DecodingOptions::default()).is_err(), "{n} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(decode(&longer, DecodingOptions::default()), Err(CodecError::Decode(_))), "trailing bytes");
    }
}
