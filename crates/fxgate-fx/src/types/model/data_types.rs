//! DataType nodes from the type descriptions: DataTypeDefinition, HasSubtype from the supertype,
//! the encoding objects (HasEncoding), and EnumStrings/EnumValues/OptionSetValues.

use opcua::server::address_space::{DataTypeBuilder, ObjectBuilder, ReferenceDirection};
use opcua::types::{
    DataTypeDefinition, DataTypeId, EnumDefinition, EnumField, EnumValueType, ExtensionObject,
    LocalizedText, NodeId, ObjectTypeId, QualifiedName, ReferenceTypeId, StructureDefinition,
    StructureField, StructureType, Variant, VariantScalarTypeId,
};

use super::insert::{Model, Rule};
use super::ModelError;
use crate::types::def::{
    EnumDef, EnumProperty, FieldDef, FieldKind, Ns, StructDef, StructKind, TypeRef, ARRAY,
};

/// Inserts a structured DataType with its encodings.
pub(super) fn structure(model: &mut Model<'_>, def: &StructDef) -> Result<(), ModelError> {
    let id = model.id(def.id);
    let default_encoding = match (&def.encodings, def.is_abstract) {
        // OPC 10000-3 §8.48: an abstract DataType has a null DefaultEncodingId.
        (Some(e), false) => model.id(TypeRef::new(def.id.ns, e.binary)),
        _ => NodeId::null(),
    };
    let definition = StructureDefinition {
        default_encoding_id: default_encoding,
        base_data_type: model.id(def.parent),
        structure_type: structure_type(def),
        fields: Some(
            def.fields
                .iter()
                .map(|f| field(model, def.kind, f))
                .collect(),
        ),
    };
    let inserted = DataTypeBuilder::new(&id, model.name(def.id.ns, def.name), def.name)
        .is_abstract(def.is_abstract)
        .subtype_of(model.id(def.parent))
        .data_type_definition(DataTypeDefinition::Structure(definition))
        .insert(model.space);
    Model::inserted(inserted, id.clone())?;
    let Some(encodings) = def.encodings else {
        return Ok(());
    };
    for (encoding, name) in [
        (encodings.binary, "Default Binary"),
        (encodings.xml, "Default XML"),
        (encodings.json, "Default JSON"),
    ] {
        let encoding_id = model.id(TypeRef::new(def.id.ns, encoding));
        let inserted = ObjectBuilder::new(&encoding_id, QualifiedName::new(0, name), name)
            .has_type_definition(ObjectTypeId::DataTypeEncodingType)
            .reference(
                id.clone(),
                ReferenceTypeId::HasEncoding,
                ReferenceDirection::Inverse,
            )
            .insert(model.space);
        Model::inserted(inserted, encoding_id)?;
    }
    Ok(())
}

/// The StructureType: a union, or a structure with optional or subtyped fields.
fn structure_type(def: &StructDef) -> StructureType {
    let has = |kind| def.fields.iter().any(|f| f.kind == kind);
    match def.kind {
        // A field allowing subtypes is published as a plain field of DataType Structure (see
        // `field`), so unions stay `Union` and such structures `Structure`.
        StructKind::Union => StructureType::Union,
        StructKind::Structure if has(FieldKind::Optional) => {
            StructureType::StructureWithOptionalFields
        }
        StructKind::Structure => StructureType::Structure,
    }
}

/// A StructureField; `IsOptional` marks an optional field.
///
/// A field allowing subtypes (ConnectionEndpointDefinitionDataType.Parameter,
/// ConnectionEndpointConfigurationDataType.CommunicationLinks, …) would make its type a
/// UnionWithSubtypedValues or StructureWithSubtypedValues (OPC 10000-3 §8.51). Common clients
/// get those wrong: Python asyncua 2.1 cannot load the union, and in the structure it treats the
/// field as optional and leaves it out of the encoding. Such a field is published with DataType
/// Structure instead: the encoding is the same (an ExtensionObject holding the subtype), only the
/// declared supertype is lost.
fn field(model: &Model<'_>, _kind: StructKind, f: &FieldDef) -> StructureField {
    let subtyped = f.kind == FieldKind::Subtyped;
    let data_type = if subtyped {
        DataTypeId::Structure.into()
    } else {
        model.id(f.data_type)
    };
    StructureField {
        name: f.name.into(),
        description: LocalizedText::null(),
        data_type,
        value_rank: f.value_rank,
        array_dimensions: (f.value_rank == ARRAY).then(|| vec![0]),
        max_string_length: 0,
        is_optional: f.kind == FieldKind::Optional,
    }
}

/// Inserts an enumeration or option set with its EnumDefinition and naming property.
pub(super) fn enumeration(model: &mut Model<'_>, def: &EnumDef) -> Result<(), ModelError> {
    let id = model.id(def.id);
    let fields = def
        .values
        .iter()
        .map(|(name, value)| EnumField {
            value: *value,
            display_name: LocalizedText::new("", name),
            description: LocalizedText::null(),
            name: (*name).into(),
        })
        .collect();
    let definition = EnumDefinition {
        fields: Some(fields),
    };
    let inserted = DataTypeBuilder::new(&id, model.name(def.id.ns, def.name), def.name)
        .is_abstract(false)
        .subtype_of(model.id(def.parent))
        .data_type_definition(DataTypeDefinition::Enum(definition))
        .insert(model.space);
    Model::inserted(inserted, id.clone())?;

    let (property_id, name, data_type, value) = match def.property {
        EnumProperty::EnumStrings(p) => (
            p,
            "EnumStrings",
            DataTypeId::LocalizedText,
            enum_strings(def),
        ),
        EnumProperty::EnumValues(p) => {
            (p, "EnumValues", DataTypeId::EnumValueType, enum_values(def))
        }
        EnumProperty::OptionSetValues(p) => (
            p,
            "OptionSetValues",
            DataTypeId::LocalizedText,
            option_set_values(def),
        ),
    };
    model.variable(
        &id,
        TypeRef::new(def.id.ns, property_id),
        QualifiedName::new(0, name),
        TypeRef::new(Ns::Ua, data_type as u32),
        ARRAY,
        None,
        Rule::None,
        Some(value),
    )
}

fn texts(names: impl Iterator<Item = String>) -> Variant {
    let texts: Vec<Variant> = names
        .map(|n| Variant::from(LocalizedText::new("", &n)))
        .collect();
    Variant::from((VariantScalarTypeId::LocalizedText, texts))
}

/// EnumStrings: the names of the values 0, 1, …
fn enum_strings(def: &EnumDef) -> Variant {
    texts(def.values.iter().map(|(name, _)| (*name).to_owned()))
}

/// EnumValues: value and display name of each value.
fn enum_values(def: &EnumDef) -> Variant {
    let values: Vec<Variant> = def
        .values
        .iter()
        .map(|(name, value)| {
            Variant::from(ExtensionObject::from_message(EnumValueType {
                value: *value,
                display_name: LocalizedText::new("", name),
                description: LocalizedText::null(),
            }))
        })
        .collect();
    Variant::from((VariantScalarTypeId::ExtensionObject, values))
}

/// OptionSetValues: one name per bit up to the highest used, empty for unused bits.
fn option_set_values(def: &EnumDef) -> Variant {
    let len = def
        .values
        .iter()
        .map(|(_, bit)| *bit + 1)
        .max()
        .unwrap_or(0);
    texts((0..len).map(|bit| {
        def.values
            .iter()
            .find(|(_, b)| *b == bit)
            .map(|(name, _)| (*name).to_owned())
            .unwrap_or_default()
    }))
}
