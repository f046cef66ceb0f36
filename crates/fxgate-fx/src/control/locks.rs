//! The DI methods of a ControlGroup's two Locks (OPC 10000-100 §7, OPC 10000-81 §6.5.2) and
//! their inactivity timeout.
//!
//! - InitLock, RenewLock and ExitLock may only be called by the lock owner: a session of the
//!   client whose ApplicationUri is the group's LockingClient (Bad_UserAccessDenied otherwise;
//!   a Lock an endpoint owns is the endpoint's, handled through EstablishConnections and
//!   CloseConnections). InitLock takes the Lock again after an ExitLock (0), or answers
//!   E_AlreadyLocked (−1) while it is held and E_Invalid (−2) when the group is not controlled.
//!   RenewLock and ExitLock answer E_NotLocked (−1) for a Lock not held.
//! - BreakLock (ConnectionAdmin) exits the Lock whoever holds it.
//! - ExitLock, BreakLock and a timeout release that Lock only; IsControlled and the Controls
//!   reference stay until ReleaseControl.

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::MethodCall;
use opcua::sync::RwLock;
use opcua::types::{NodeId, StatusCode, Variant};

use fxgate_core::Caller;

use super::{values, List, E_INVALID, E_LOCKED, ENDPOINT_USER, OK};
use crate::model::ControlGroup;
use crate::node_manager::FxNodeManagerImpl;

/// A DI method of a Lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// InitLock(Context).
    Init,
    /// RenewLock().
    Renew,
    /// ExitLock().
    Exit,
    /// BreakLock().
    Break,
}

/// The group, Lock and method that `method` is.
pub fn find<'a>(nm: &'a FxNodeManagerImpl, method: &NodeId) -> Option<(&'a ControlGroup, List, Op)> {
    super::groups(nm.model()).find_map(|g| {
        let i = g.lock_methods.iter().position(|m| m == method)?;
        let op = [Op::Init, Op::Renew, Op::Exit, Op::Break].get(i % 4).copied()?;
        Some((g, i / 4, op))
    })
}

/// The LockStatus of `op` on Lock `list` of `g` called by `caller`, or the method's status.
fn run(nm: &FxNodeManagerImpl, g: &ControlGroup, list: List, op: Op, caller: &Caller) -> Result<i32, StatusCode> {
    let control = nm.control();
    let Some(hold) = control.hold(&g.node) else {
        return match op {
            Op::Init => Ok(E_INVALID),
            _ => Ok(E_LOCKED),
        };
    };
    let owner = hold.owner.user != ENDPOINT_USER && hold.owner.client == caller.client;
    if op != Op::Break && !owner {
        return Err(StatusCode::BadUserAccessDenied);
    }
    let now = std::time::Instant::now();
    Ok(control
        .with(&g.node, |h| match (op, h.locks[list]) {
            (Op::Init, Some(_)) => E_LOCKED,
            (Op::Init, None) | (Op::Renew, Some(_)) => {
                h.locks[list] = Some(now);
                OK
            }
            (Op::Exit | Op::Break, Some(_)) => {
                h.locks[list] = None;
                OK
            }
            (_, None) => E_LOCKED,
        })
        .unwrap_or(E_LOCKED))
}

/// A call of a Lock's method.
pub fn call(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, call: &mut MethodCall, g: &ControlGroup, list: List, op: Op, caller: &Caller) {
    if op == Op::Init && !matches!(call.arguments().first(), Some(Variant::String(_)) | None | Some(Variant::Empty)) {
        call.set_argument_error(vec![StatusCode::BadTypeMismatch]);
        return;
    }
    match run(nm, g, list, op, caller) {
        Ok(s) => {
            if s == OK {
                tracing::info!(group = %g.node, list, op = ?op, client = %caller.client, "FX ControlGroup Lock");
                show(nm, space, g);
            }
            call.set_status(StatusCode::Good);
            call.set_outputs(vec![Variant::Int32(s)]);
        }
        Err(status) => call.set_status(status),
    }
}

fn show(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, g: &ControlGroup) {
    let hold = nm.control().hold(&g.node);
    nm.set_values(&mut space.write(), values(g, hold.as_ref()));
}

/// Renews the Locks endpoints hold while their Status is not Error, exits the Locks inactive for
/// their group's MaxInactiveLockTime, and shows every held Lock's RemainingLockTime. Run every
/// second.
pub fn expire(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>) {
    let control = nm.control();
    let holds = control.holds();
    if holds.is_empty() {
        return;
    }
    let now = std::time::Instant::now();
    for (node, hold) in holds {
        let Some(g) = super::groups(nm.model()).find(|g| g.node == node) else { continue };
        let endpoint_ok = super::calls::endpoint_alive(nm, &hold.owner.client);
        control.with(&node, |h| {
            for (list, lock) in h.locks.iter_mut().enumerate() {
                let Some(t) = *lock else { continue };
                if endpoint_ok == Some(true) {
                    *lock = Some(now);
                } else if now.duration_since(t) >= g.max_inactive {
                    tracing::info!(group = %node, list, client = %h.owner.client, "FX ControlGroup Lock exited after MaxInactiveLockTime");
                    *lock = None;
                }
            }
        });
        show(nm, space, g);
    }
}
