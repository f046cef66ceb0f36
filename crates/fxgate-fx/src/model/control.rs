//! A FunctionalEntity's ControlGroups (§6.5) in the address space: `<fe>/ControlGroups`
//! (ControlGroupsFolderType) with one ControlGroupType object per configured group
//! (HasControlGroup): ListToBlock and ListToRestrict (ControlItemFolderType, organizing their
//! tag variables, each with its DI Lock), ListOfRelated, IsControlled and the
//! EstablishControl / ReleaseControl / ReassignControl methods.

use opcua::nodes::{MethodBuilder, ObjectBuilder};
use opcua::types::{DataTypeId, NodeId, ObjectTypeId, QualifiedName, ReferenceTypeId};

use super::build::{arg, Builder};
use super::{ControlGroup, TagRef};
use crate::config::ControlGroupConfig;
use crate::types::ids::ac;

impl Builder<'_> {
    /// The ControlGroups of the entity `fe` (path `path`), over its `variables`.
    pub(super) fn control_groups(&mut self, fe: &NodeId, path: &str, groups: &[ControlGroupConfig], variables: &[TagRef]) -> Vec<ControlGroup> {
        if groups.is_empty() {
            return Vec::new();
        }
        let folder_type = self.ac(ac::CONTROL_GROUPS_FOLDER_TYPE);
        let folder = self.child_object(fe, &format!("{path}/ControlGroups"), "ControlGroups", folder_type);
        groups.iter().map(|g| self.control_group(&folder, &format!("{path}/ControlGroups/{}", g.name), g, variables)).collect()
    }

    fn control_group(&mut self, folder: &NodeId, path: &str, cfg: &ControlGroupConfig, variables: &[TagRef]) -> ControlGroup {
        let node = self.id(path);
        ObjectBuilder::new(&node, QualifiedName::new(self.ns.instances, cfg.name.as_str()), cfg.name.as_str())
            .has_type_definition(self.ac(ac::CONTROL_GROUP_TYPE))
            .insert(self.space);
        self.space.insert_reference(folder, &node, self.ac(ac::HAS_CONTROL_GROUP));
        let pick = |list: &[String]| -> Vec<TagRef> {
            list.iter().filter_map(|t| variables.iter().find(|v| matches!(&v.node.identifier, opcua::types::Identifier::String(s) if s.as_ref() == t))).cloned().collect()
        };
        let (block, restrict, related) = (pick(&cfg.block), pick(&cfg.restrict), pick(&cfg.related));
        let item_type = self.ac(ac::CONTROL_ITEM_FOLDER_TYPE);
        let mut locks = Vec::new();
        let mut lock_methods = Vec::new();
        for (name, tags) in [("ListToBlock", &block), ("ListToRestrict", &restrict)] {
            let p = format!("{path}/{name}");
            let list = self.child_object(&node, &p, name, item_type.clone());
            for t in tags {
                self.space.insert_reference(&list, &t.node, ReferenceTypeId::Organizes);
            }
            let (nodes, methods) = crate::lock_nodes::insert(self.space, &self.ns, &list, &p, None);
            let max = cfg.max_inactive_lock_time_ms as f64;
            self.property(&list, &format!("{p}/MaxInactiveLockTime"), QualifiedName::new(self.ns.di, "MaxInactiveLockTime"), DataTypeId::Duration.into(), max.into());
            locks.push(nodes);
            lock_methods.extend(methods);
        }
        let related_folder = self.child_object(&node, &format!("{path}/ListOfRelated"), "ListOfRelated", ObjectTypeId::FolderType.into());
        for t in &related {
            self.space.insert_reference(&related_folder, &t.node, ReferenceTypeId::Organizes);
        }
        let is_controlled =
            self.property(&node, &format!("{path}/IsControlled"), QualifiedName::new(self.ns.ac, "IsControlled"), DataTypeId::Boolean.into(), false.into());
        let context = [arg("LockContext", DataTypeId::String.into(), -1)];
        let establish = self.control_method(&node, path, "EstablishControl", &context, "LockStatus");
        let release = self.control_method(&node, path, "ReleaseControl", &[], "");
        let reassign = self.control_method(&node, path, "ReassignControl", &context, "LockStatus");
        let [block_lock, restrict_lock]: [_; 2] = match locks.try_into() {
            Ok(l) => l,
            Err(_) => unreachable!("two lists, two locks"),
        };
        ControlGroup {
            name: cfg.name.clone(),
            node,
            block,
            restrict,
            is_controlled,
            locks: [block_lock, restrict_lock],
            establish,
            release,
            reassign,
            lock_methods,
            max_inactive: std::time::Duration::from_millis(cfg.max_inactive_lock_time_ms),
        }
    }

    fn control_method(&mut self, group: &NodeId, path: &str, name: &str, inputs: &[opcua::types::Argument], output: &str) -> NodeId {
        let id = self.id(&format!("{path}/{name}"));
        let mut m = MethodBuilder::new(&id, QualifiedName::new(self.ns.ac, name), name).executable(true).user_executable(true).component_of(group.clone());
        if !inputs.is_empty() {
            m = m.input_args(self.space, &self.id(&format!("{path}/{name}/InputArguments")), inputs);
        }
        if !output.is_empty() {
            m = m.output_args(self.space, &self.id(&format!("{path}/{name}/OutputArguments")), &[arg(output, DataTypeId::Int32.into(), -1)]);
        }
        m.insert(self.space);
        id
    }
}
