//! The nodes of `4:ConnectionManagerConfiguration` (ConnectionManagerConfigurationType, a
//! FileType): Size, Writable, UserWritable, OpenCount, the FileType methods with their
//! OPC 10000-20 arguments, and CloseAndUpdate with the arguments the CM NodeSet declares.

use opcua::nodes::{MethodBuilder, ObjectBuilder};
use opcua::server::address_space::AddressSpace;
use opcua::sync::RwLock;
use opcua::types::{Argument, DataTypeId, NodeId, QualifiedName, Variant};

use super::handles::Handles;
use crate::model::{arg, Model};
use crate::node_manager::FxNodeManagerImpl;
use crate::types::declared_arguments;
use crate::types::def::TypeRef;
use crate::types::ids::cm;
use crate::variables::Kind;

/// A method of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Open(Mode) → FileHandle.
    Open,
    /// Close(FileHandle).
    Close,
    /// Read(FileHandle, Length) → Data.
    Read,
    /// Write(FileHandle, Data).
    Write,
    /// GetPosition(FileHandle) → Position.
    GetPosition,
    /// SetPosition(FileHandle, Position).
    SetPosition,
    /// CloseAndUpdate(FileHandle, RequireCompleteUpdate, Operations) → (ChangesApplied,
    /// OperationResults, ConfigurationObjects).
    CloseAndUpdate,
}

/// The file object as built, and its open handles.
#[derive(Debug)]
pub struct ConfigFile {
    /// Its node.
    pub node: NodeId,
    /// Its methods.
    pub methods: Vec<(NodeId, Method)>,
    /// Size (UInt64).
    pub size: NodeId,
    /// OpenCount (UInt16).
    pub open_count: NodeId,
    /// The open handles.
    pub handles: Handles,
}

impl ConfigFile {
    /// Builds the file object below the ConnectionManager `manager`.
    pub fn build(space: &mut AddressSpace, model: &Model, manager: &NodeId) -> Self {
        let ns = model.ns;
        let id = |p: &str| NodeId::new(ns.instances, format!("ConnectionManager/ConnectionManagerConfiguration{p}"));
        let node = id("");
        ObjectBuilder::new(&node, QualifiedName::new(ns.cm, "ConnectionManagerConfiguration"), "ConnectionManagerConfiguration")
            .has_type_definition(NodeId::new(ns.cm, cm::CONNECTION_MANAGER_CONFIGURATION_TYPE))
            .component_of(manager.clone())
            .insert(space);
        let mut property = |name: &str, dt: DataTypeId, v: Variant| {
            let n = id(&format!("/{name}"));
            crate::variables::insert(space, &node, &n, QualifiedName::new(0, name), dt.into(), v, Kind::Property);
            n
        };
        let size = property("Size", DataTypeId::UInt64, 0u64.into());
        property("Writable", DataTypeId::Boolean, true.into());
        property("UserWritable", DataTypeId::Boolean, true.into());
        let open_count = property("OpenCount", DataTypeId::UInt16, 0u16.into());
        let handle = || arg("FileHandle", DataTypeId::UInt32.into(), -1);
        let file_methods: [(&str, Method, Vec<Argument>, Vec<Argument>); 6] = [
            ("Open", Method::Open, vec![arg("Mode", DataTypeId::Byte.into(), -1)], vec![handle()]),
            ("Close", Method::Close, vec![handle()], vec![]),
            ("Read", Method::Read, vec![handle(), arg("Length", DataTypeId::Int32.into(), -1)], vec![arg("Data", DataTypeId::ByteString.into(), -1)]),
            ("Write", Method::Write, vec![handle(), arg("Data", DataTypeId::ByteString.into(), -1)], vec![]),
            ("GetPosition", Method::GetPosition, vec![handle()], vec![arg("Position", DataTypeId::UInt64.into(), -1)]),
            ("SetPosition", Method::SetPosition, vec![handle(), arg("Position", DataTypeId::UInt64.into(), -1)], vec![]),
        ];
        let mut methods = Vec::new();
        for (name, m, inputs, outputs) in file_methods {
            let m_id = id(&format!("/{name}"));
            insert_method(space, &node, &m_id, QualifiedName::new(0, name), &inputs, &outputs, &id);
            methods.push((m_id, m));
        }
        let declaration = TypeRef::cm(cm::CONNECTION_MANAGER_CONFIGURATION_TYPE_CLOSE_AND_UPDATE);
        let (inputs, outputs) = declared_arguments(declaration, &ns).unwrap_or_default();
        let m_id = id("/CloseAndUpdate");
        insert_method(space, &node, &m_id, QualifiedName::new(ns.cm, "CloseAndUpdate"), &inputs, &outputs, &id);
        methods.push((m_id, Method::CloseAndUpdate));
        Self { node, methods, size, open_count, handles: Handles::default() }
    }

    /// The method `node` is, if it is one of the file's.
    pub fn method(&self, node: &NodeId) -> Option<Method> {
        self.methods.iter().find(|(n, _)| n == node).map(|(_, m)| *m)
    }

    /// Writes Size and OpenCount.
    pub fn publish(&self, nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>) {
        let values = vec![(self.size.clone(), self.handles.size().into()), (self.open_count.clone(), self.handles.count().into())];
        nm.set_values(&mut space.write(), values);
    }
}

/// A method with its argument properties (`/<name>/InputArguments`, `/<name>/OutputArguments`
/// below the file's path, made by `path`).
fn insert_method(
    space: &mut AddressSpace,
    parent: &NodeId,
    id: &NodeId,
    name: QualifiedName,
    inputs: &[Argument],
    outputs: &[Argument],
    path: &dyn Fn(&str) -> NodeId,
) {
    let display = name.name.as_ref().to_string();
    let sub = |p: &str| path(&format!("/{}/{p}", name.name.as_ref()));
    let mut m = MethodBuilder::new(id, name.clone(), display).executable(true).user_executable(true).component_of(parent.clone());
    if !inputs.is_empty() {
        m = m.input_args(space, &sub("InputArguments"), inputs);
    }
    if !outputs.is_empty() {
        m = m.output_args(space, &sub("OutputArguments"), outputs);
    }
    m.insert(space);
}
