//! EstablishControl, ReleaseControl and ReassignControl on the FX node manager: the state, the
//! group's IsControlled and Lock variables, and the Controls reference from an endpoint that
//! holds control.

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::MethodCall;
use opcua::sync::RwLock;
use opcua::types::{NodeId, StatusCode, Variant};

use fxgate_core::Caller;

use super::{controls_reference, values, Owner, ENDPOINT_USER, OK};
use crate::model::ControlGroup;
use crate::node_manager::FxNodeManagerImpl;

/// Which of a group's methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// EstablishControl.
    Establish,
    /// ReleaseControl.
    Release,
    /// ReassignControl.
    Reassign,
}

/// The group whose control method `method` is.
pub fn find<'a>(nm: &'a FxNodeManagerImpl, method: &NodeId) -> Option<(&'a ControlGroup, Method)> {
    super::groups(nm.model()).find_map(|g| {
        if &g.establish == method {
            Some((g, Method::Establish))
        } else if &g.release == method {
            Some((g, Method::Release))
        } else if &g.reassign == method {
            Some((g, Method::Reassign))
        } else {
            None
        }
    })
}

/// The endpoint whose NodeId text is `client`, if one exists.
fn endpoint_of(nm: &FxNodeManagerImpl, client: &str) -> Option<NodeId> {
    nm.endpoints().lock().iter().find(|e| e.node.to_string() == client).map(|e| e.node.clone())
}

/// The LockingUser for `client`: "UAFX" for an endpoint, else the caller's user.
pub fn owner(nm: &FxNodeManagerImpl, client: String, caller: &Caller) -> Owner {
    let user = if endpoint_of(nm, &client).is_some() { ENDPOINT_USER.to_string() } else { caller.user.clone() };
    Owner { client, user }
}

fn show(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, g: &ControlGroup, old: Option<&Owner>, new: Option<&Owner>) {
    let from = old.and_then(|o| endpoint_of(nm, &o.client));
    let to = new.and_then(|o| endpoint_of(nm, &o.client));
    let hold = nm.control().hold(&g.node);
    let mut space = space.write();
    controls_reference(&mut space, g, from.as_ref(), to.as_ref());
    nm.set_values(&mut space, values(g, hold.as_ref()));
}

/// Whether `client` (a LockingClient) is an endpoint that exists and is not in Error.
pub fn endpoint_alive(nm: &FxNodeManagerImpl, client: &str) -> Option<bool> {
    nm.endpoints().lock().iter().find(|e| e.node.to_string() == client).map(|e| e.status != crate::health::status::ERROR)
}

/// EstablishControl of `g` for `owner`: the LockStatus.
pub fn establish(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, g: &ControlGroup, owner: Owner) -> i32 {
    let s = nm.control().establish(&g.node, owner.clone());
    if s == OK {
        tracing::info!(group = %g.node, client = %owner.client, user = %owner.user, "FX ControlGroup controlled");
        show(nm, space, g, None, Some(&owner));
    }
    s
}

/// ReleaseControl of `g`: false when it was not controlled.
pub fn release(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, g: &ControlGroup) -> bool {
    let old = nm.control().owner(&g.node);
    if !nm.control().release(&g.node) {
        return false;
    }
    tracing::info!(group = %g.node, "FX ControlGroup released");
    show(nm, space, g, old.as_ref(), None);
    true
}

/// ReassignControl of `g` to `owner`: the LockStatus (E_NotLocked when not controlled).
pub fn reassign(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, g: &ControlGroup, owner: Owner) -> i32 {
    match nm.control().reassign(&g.node, owner.clone()) {
        Ok(old) => {
            tracing::info!(group = %g.node, client = %owner.client, "FX ControlGroup reassigned");
            show(nm, space, g, Some(&old), Some(&owner));
            OK
        }
        Err(s) => s,
    }
}

/// Releases the groups the endpoint `endpoint` controls (it is closed or removed).
pub fn release_endpoint(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, endpoint: &NodeId) {
    let held = nm.control().held_by(&endpoint.to_string());
    for node in held {
        if let Some(g) = super::groups(nm.model()).find(|g| g.node == node) {
            release(nm, space, g);
        }
    }
}

/// A call of a group's method by `caller`.
pub fn call(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, call: &mut MethodCall, g: &ControlGroup, m: Method, caller: &Caller) {
    let context = match (m, call.arguments().first()) {
        (Method::Release, _) => None,
        (_, Some(Variant::String(s))) => Some(s.as_ref().to_string()),
        (_, None | Some(Variant::Empty)) => Some(String::new()),
        _ => {
            call.set_argument_error(vec![StatusCode::BadTypeMismatch]);
            return;
        }
    };
    match m {
        Method::Establish => {
            let client = context.filter(|c| !c.is_empty()).unwrap_or_else(|| caller.client.clone());
            let s = establish(nm, space, g, owner(nm, client, caller));
            call.set_outputs(vec![Variant::Int32(s)]);
            call.set_status(StatusCode::Good);
        }
        Method::Release => call.set_status(if release(nm, space, g) { StatusCode::Good } else { StatusCode::BadInvalidState }),
        Method::Reassign => {
            let Some(client) = context.filter(|c| !c.is_empty()) else {
                call.set_status(StatusCode::BadInvalidArgument);
                return;
            };
            let s = reassign(nm, space, g, owner(nm, client, caller));
            call.set_outputs(vec![Variant::Int32(s)]);
            call.set_status(StatusCode::Good);
        }
    }
}
