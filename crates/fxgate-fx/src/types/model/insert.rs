//! Small helpers inserting type nodes and instance declarations, shared by the model's parts.

use opcua::server::address_space::{
    AddressSpace, MethodBuilder, ObjectBuilder, ObjectTypeBuilder, ReferenceDirection,
    ReferenceTypeBuilder, VariableBuilder, VariableTypeBuilder,
};
use opcua::types::{
    Argument, DataTypeId, ExtensionObject, LocalizedText, NodeId, ObjectId, QualifiedName,
    ReferenceTypeId, UAString, VariableTypeId, Variant, VariantScalarTypeId,
};

use super::ModelError;
use crate::namespaces::FxNamespaces;
use crate::types::def::{Ns, TypeRef, ARRAY, SCALAR};

/// The ModellingRule of an instance declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    /// `Mandatory` (i=78).
    Mandatory,
    /// `Optional` (i=80).
    Optional,
    /// No ModellingRule (e.g. the states of a state machine type).
    None,
}

impl Rule {
    fn id(self) -> Option<ObjectId> {
        match self {
            Rule::Mandatory => Some(ObjectId::ModellingRule_Mandatory),
            Rule::Optional => Some(ObjectId::ModellingRule_Optional),
            Rule::None => None,
        }
    }
}

/// A method argument as the NodeSet declares it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arg {
    pub name: &'static str,
    pub data_type: TypeRef,
    pub value_rank: i32,
}

/// A scalar argument.
pub(super) const fn scalar(name: &'static str, data_type: TypeRef) -> Arg {
    Arg {
        name,
        data_type,
        value_rank: SCALAR,
    }
}

/// A one-dimensional array argument.
pub(super) const fn array(name: &'static str, data_type: TypeRef) -> Arg {
    Arg {
        name,
        data_type,
        value_rank: ARRAY,
    }
}

/// The address space being filled and the server's namespace indexes.
pub(super) struct Model<'a> {
    pub space: &'a mut AddressSpace,
    pub ns: &'a FxNamespaces,
}

impl Model<'_> {
    /// The NodeId of `t` in this server.
    pub fn id(&self, t: TypeRef) -> NodeId {
        t.node_id(self.ns)
    }

    /// A BrowseName in the namespace `ns`.
    pub fn name(&self, ns: Ns, name: &str) -> QualifiedName {
        QualifiedName::new(ns.index(self.ns), name)
    }

    /// Fails if a builder's insert reported an existing node.
    pub fn inserted(inserted: bool, id: NodeId) -> Result<(), ModelError> {
        if inserted {
            Ok(())
        } else {
            Err(ModelError::DuplicateNode(id))
        }
    }

    /// An ObjectType with its supertype.
    pub fn object_type(
        &mut self,
        id: TypeRef,
        name: &str,
        parent: TypeRef,
        is_abstract: bool,
    ) -> Result<(), ModelError> {
        let node_id = self.id(id);
        let inserted = ObjectTypeBuilder::new(&node_id, self.name(id.ns, name), name)
            .is_abstract(is_abstract)
            .subtype_of(self.id(parent))
            .insert(self.space);
        Self::inserted(inserted, node_id)
    }

    /// A VariableType with its supertype, DataType and ValueRank.
    pub fn variable_type(
        &mut self,
        id: TypeRef,
        name: &str,
        parent: TypeRef,
        data_type: TypeRef,
    ) -> Result<(), ModelError> {
        let node_id = self.id(id);
        let inserted = VariableTypeBuilder::new(&node_id, self.name(id.ns, name), name)
            .is_abstract(false)
            .data_type(self.id(data_type))
            .value_rank(SCALAR)
            .subtype_of(self.id(parent))
            .insert(self.space);
        Self::inserted(inserted, node_id)
    }

    /// A ReferenceType with its supertype, symmetry and inverse name.
    pub fn reference_type(
        &mut self,
        id: TypeRef,
        name: &str,
        parent: TypeRef,
        is_abstract: bool,
        symmetric: bool,
        inverse_name: Option<&str>,
    ) -> Result<(), ModelError> {
        let node_id = self.id(id);
        let mut builder = ReferenceTypeBuilder::new(&node_id, self.name(id.ns, name), name)
            .is_abstract(is_abstract)
            .symmetric(symmetric)
            .subtype_of(self.id(parent));
        if let Some(inverse) = inverse_name {
            builder = builder.inverse_name(inverse);
        }
        Self::inserted(builder.insert(self.space), node_id)
    }

    /// A variable instance declaration: a property (PropertyType, HasProperty) or a component
    /// variable of type `type_definition` (HasComponent).
    #[allow(clippy::too_many_arguments)]
    pub fn variable(
        &mut self,
        parent: &NodeId,
        id: TypeRef,
        name: QualifiedName,
        data_type: TypeRef,
        value_rank: i32,
        type_definition: Option<VariableTypeId>,
        rule: Rule,
        value: Option<Variant>,
    ) -> Result<(), ModelError> {
        let node_id = self.id(id);
        let display = name.name.to_string();
        let mut builder = VariableBuilder::new(&node_id, name, display)
            .data_type(self.id(data_type))
            .value_rank(value_rank);
        if value_rank == ARRAY {
            builder = builder.array_dimensions(&[0]);
        }
        builder = match type_definition {
            None => builder
                .property_of(parent.clone())
                .has_type_definition(VariableTypeId::PropertyType),
            Some(td) => builder.component_of(parent.clone()).has_type_definition(td),
        };
        if let Some(rule) = rule.id() {
            builder = builder.has_modelling_rule(rule);
        }
        if let Some(value) = value {
            builder = builder.value(value);
        }
        Self::inserted(builder.insert(self.space), node_id)
    }

    /// A property instance declaration.
    pub fn property(
        &mut self,
        parent: &NodeId,
        id: TypeRef,
        name: QualifiedName,
        data_type: TypeRef,
        value_rank: i32,
        rule: Rule,
    ) -> Result<(), ModelError> {
        self.variable(parent, id, name, data_type, value_rank, None, rule, None)
    }

    /// An object instance declaration (HasComponent).
    pub fn object(
        &mut self,
        parent: &NodeId,
        id: TypeRef,
        name: &str,
        type_definition: NodeId,
        rule: Rule,
    ) -> Result<(), ModelError> {
        let node_id = self.id(id);
        let mut builder = ObjectBuilder::new(&node_id, self.name(id.ns, name), name)
            .component_of(parent.clone())
            .has_type_definition(type_definition);
        if let Some(rule) = rule.id() {
            builder = builder.reference(
                rule,
                ReferenceTypeId::HasModellingRule,
                ReferenceDirection::Forward,
            );
        }
        Self::inserted(builder.insert(self.space), node_id)
    }

    /// A method declaration with its InputArguments/OutputArguments properties (each given as
    /// its NodeId and the arguments; `None` when the method has none).
    pub fn method(
        &mut self,
        parent: &NodeId,
        id: TypeRef,
        name: &str,
        rule: Rule,
        inputs: Option<(u32, &[Arg])>,
        outputs: Option<(u32, &[Arg])>,
    ) -> Result<(), ModelError> {
        let node_id = self.id(id);
        let mut builder = MethodBuilder::new(&node_id, self.name(id.ns, name), name)
            .component_of(parent.clone())
            .executable(true)
            .user_executable(true);
        if let Some(rule) = rule.id() {
            builder = builder.reference(
                rule,
                ReferenceTypeId::HasModellingRule,
                ReferenceDirection::Forward,
            );
        }
        Self::inserted(builder.insert(self.space), node_id.clone())?;
        for (args, browse_name) in [(inputs, "InputArguments"), (outputs, "OutputArguments")] {
            let Some((args_id, args)) = args else {
                continue;
            };
            let value = self.arguments(args);
            self.variable(
                &node_id,
                TypeRef::new(id.ns, args_id),
                QualifiedName::new(0, browse_name),
                TypeRef::new(Ns::Ua, DataTypeId::Argument as u32),
                ARRAY,
                None,
                Rule::Mandatory,
                Some(value),
            )?;
        }
        Ok(())
    }

    fn arguments(&self, args: &[Arg]) -> Variant {
        let values: Vec<Variant> = arguments(args, self.ns)
            .into_iter()
            .map(|a| Variant::from(ExtensionObject::from_message(a)))
            .collect();
        Variant::from((VariantScalarTypeId::ExtensionObject, values))
    }
}

/// `args` as Arguments in a server with the namespace indexes `ns`.
pub(super) fn arguments(args: &[Arg], ns: &FxNamespaces) -> Vec<Argument> {
    args.iter()
        .map(|arg| Argument {
            name: UAString::from(arg.name),
            data_type: arg.data_type.node_id(ns),
            value_rank: arg.value_rank,
            array_dimensions: (arg.value_rank == ARRAY).then(|| vec![0]),
            description: LocalizedText::null(),
        })
        .collect()
}
