//! The nodes of a DI Lock (OPC 10000-100 LockingServicesType): Locked, LockingClient,
//! LockingUser, RemainingLockTime and the InitLock/RenewLock/ExitLock/BreakLock methods; used by
//! the ConnectionConfigurationSets (held by the ConnectionManager) and by the ControlGroups.

use opcua::nodes::{MethodBuilder, ObjectBuilder};
use opcua::server::address_space::AddressSpace;
use opcua::types::{DataTypeId, NodeId, QualifiedName, UAString, Variant};

use crate::model::arg;
use crate::model::LockNodes;
use crate::namespaces::FxNamespaces;
use crate::types::ids::di;
use crate::variables::Kind;

/// Inserts `<path>/Lock` below `parent` (NodeIds `s=<path>/Lock/…` in the instance namespace),
/// locked by `holder` (client, user) or free; returns its variables and its methods.
pub fn insert(space: &mut AddressSpace, ns: &FxNamespaces, parent: &NodeId, path: &str, holder: Option<(&str, &str)>) -> (LockNodes, Vec<NodeId>) {
    let di_q = |n: &str| QualifiedName::new(ns.di, n);
    let id = |p: &str| NodeId::new(ns.instances, p.to_string());
    let lp = format!("{path}/Lock");
    let lock = id(&lp);
    ObjectBuilder::new(&lock, di_q("Lock"), "Lock")
        .has_type_definition(NodeId::new(ns.di, di::LOCKING_SERVICES_TYPE))
        .component_of(parent.clone())
        .insert(space);
    let mut property = |name: &str, data_type: DataTypeId, value: Variant| {
        let n = id(&format!("{lp}/{name}"));
        crate::variables::insert(space, &lock, &n, di_q(name), data_type.into(), value, Kind::Property);
        n
    };
    let (client, user) = holder.unwrap_or_default();
    let nodes = LockNodes {
        locked: property("Locked", DataTypeId::Boolean, holder.is_some().into()),
        client: property("LockingClient", DataTypeId::String, UAString::from(client).into()),
        user: property("LockingUser", DataTypeId::String, UAString::from(user).into()),
        remaining: property("RemainingLockTime", DataTypeId::Duration, 0.0f64.into()),
    };
    let methods = [("InitLock", "InitLockStatus"), ("RenewLock", "RenewLockStatus"), ("ExitLock", "ExitLockStatus"), ("BreakLock", "BreakLockStatus")];
    let mut out = Vec::new();
    for (name, status) in methods {
        let m_id = id(&format!("{lp}/{name}"));
        let mut m = MethodBuilder::new(&m_id, di_q(name), name).executable(true).user_executable(true).component_of(lock.clone());
        if name == "InitLock" {
            m = m.input_args(space, &id(&format!("{lp}/{name}/InputArguments")), &[arg("Context", DataTypeId::String.into(), -1)]);
        }
        m = m.output_args(space, &id(&format!("{lp}/{name}/OutputArguments")), &[arg(status, DataTypeId::Int32.into(), -1)]);
        m.insert(space);
        out.push(m_id);
    }
    (nodes, out)
}
