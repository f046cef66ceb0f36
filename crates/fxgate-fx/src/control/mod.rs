//! ControlGroups at run time (OPC 10000-81 §6.5): who controls which group, the write guard
//! that enforces it on the tag store, and EstablishControl / ReleaseControl / ReassignControl,
//! called directly or by EstablishConnections (EstablishControlCmd with the caller's
//! ApplicationUri, ReassignControlCmd with the endpoint's NodeId) and released when the
//! endpoint that holds them is closed.
//!
//! While a group is controlled, its ListToBlock tags cannot be written by anyone and its
//! ListToRestrict tags only by the lock owner (a session of the client whose ApplicationUri is
//! the LockingClient); values a PubSub reader or the owning source puts into the store are not
//! writes and pass. Both Locks of a group are taken and given back together. Locks do not time
//! out (no MaxInactiveLockTime) and the DI Lock methods answer Bad_NotSupported.

pub mod calls;

use std::collections::HashMap;

use opcua::server::address_space::AddressSpace;
use opcua::types::{NodeId, ReferenceTypeId, StatusCode, UAString, Variant};
use parking_lot::Mutex;

use fxgate_core::{Caller, TagId, WriteGuard};

use crate::model::{ControlGroup, Model};

/// LockStatus of EstablishControl: OK.
pub const OK: i32 = 0;
/// LockStatus: E_AlreadyLocked (EstablishControl) or E_NotLocked (ReassignControl).
pub const E_LOCKED: i32 = -1;
/// LockStatus: E_Invalid.
pub const E_INVALID: i32 = -2;

/// The LockingUser of locks held by a ConnectionEndpoint.
pub const ENDPOINT_USER: &str = "UAFX";

/// Who controls a group: LockingClient and LockingUser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// LockingClient: an ApplicationUri, or a ConnectionEndpoint's NodeId as text.
    pub client: String,
    /// LockingUser.
    pub user: String,
}

/// Every group's controller, and which groups block or restrict each tag.
pub struct ControlState {
    held: Mutex<HashMap<NodeId, Owner>>,
    block: HashMap<TagId, Vec<NodeId>>,
    restrict: HashMap<TagId, Vec<NodeId>>,
    /// Each group's tags (block and restrict), for the overlap check.
    tags: HashMap<NodeId, Vec<TagId>>,
}

impl ControlState {
    /// The state of the groups of `model`, none controlled.
    pub fn new(model: &Model) -> Self {
        let mut s = Self { held: Mutex::new(HashMap::new()), block: HashMap::new(), restrict: HashMap::new(), tags: HashMap::new() };
        for g in groups(model) {
            for t in &g.block {
                s.block.entry(t.tag).or_default().push(g.node.clone());
            }
            for t in &g.restrict {
                s.restrict.entry(t.tag).or_default().push(g.node.clone());
            }
            s.tags.insert(g.node.clone(), g.block.iter().chain(&g.restrict).map(|t| t.tag).collect());
        }
        s
    }

    /// Whether any group exists (no guard is needed otherwise).
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The controller of `group`.
    pub fn owner(&self, group: &NodeId) -> Option<Owner> {
        self.held.lock().get(group).cloned()
    }

    /// EstablishControl: takes `group` for `owner` unless it or a group sharing a tag is
    /// controlled by someone else (E_AlreadyLocked).
    pub fn establish(&self, group: &NodeId, owner: Owner) -> i32 {
        let Some(mine) = self.tags.get(group) else { return E_INVALID };
        let mut held = self.held.lock();
        if held.contains_key(group) {
            return E_LOCKED;
        }
        let clash = held
            .iter()
            .filter(|(_, o)| o.client != owner.client)
            .any(|(g, _)| self.tags.get(g).is_some_and(|theirs| theirs.iter().any(|t| mine.contains(t))));
        if clash {
            return E_LOCKED;
        }
        held.insert(group.clone(), owner);
        OK
    }

    /// ReleaseControl: false when the group was not controlled.
    pub fn release(&self, group: &NodeId) -> bool {
        self.held.lock().remove(group).is_some()
    }

    /// ReassignControl: the controlled `group` to `owner` (E_NotLocked when it is not
    /// controlled). Returns the previous owner.
    pub fn reassign(&self, group: &NodeId, owner: Owner) -> Result<Owner, i32> {
        let mut held = self.held.lock();
        match held.get_mut(group) {
            Some(o) => Ok(std::mem::replace(o, owner)),
            None => Err(E_LOCKED),
        }
    }

    /// The groups controlled by `client`.
    pub fn held_by(&self, client: &str) -> Vec<NodeId> {
        self.held.lock().iter().filter(|(_, o)| o.client == client).map(|(g, _)| g.clone()).collect()
    }
}

impl WriteGuard for ControlState {
    fn refuse(&self, tag: TagId, caller: Option<&Caller>) -> Option<StatusCode> {
        let held = self.held.lock();
        if self.block.get(&tag).is_some_and(|gs| gs.iter().any(|g| held.contains_key(g))) {
            return Some(StatusCode::BadLocked);
        }
        let restricted = self.restrict.get(&tag).into_iter().flatten().filter_map(|g| held.get(g));
        for o in restricted {
            if caller.is_none_or(|c| c.client != o.client) {
                return Some(StatusCode::BadLocked);
            }
        }
        None
    }
}

/// Every ControlGroup of `model`.
pub fn groups(model: &Model) -> impl Iterator<Item = &ControlGroup> {
    model.components.iter().flat_map(|c| c.entities.iter()).flat_map(|e| e.control_groups.iter())
}

/// The values of a group's IsControlled and Lock variables for `owner`.
pub fn values(g: &ControlGroup, owner: Option<&Owner>) -> Vec<(NodeId, Variant)> {
    let mut v = vec![(g.is_controlled.clone(), owner.is_some().into())];
    for l in &g.locks {
        v.push((l.locked.clone(), owner.is_some().into()));
        v.push((l.client.clone(), UAString::from(owner.map_or("", |o| o.client.as_str())).into()));
        v.push((l.user.clone(), UAString::from(owner.map_or("", |o| o.user.as_str())).into()));
    }
    v
}

/// Moves the Controls reference of `g` from `from` to `to` (owners that are endpoints).
pub fn controls_reference(space: &mut AddressSpace, g: &ControlGroup, from: Option<&NodeId>, to: Option<&NodeId>) {
    if let Some(f) = from {
        space.delete_reference(f, &g.node, ReferenceTypeId::Controls);
    }
    if let Some(t) = to {
        space.insert_reference(t, &g.node, ReferenceTypeId::Controls);
    }
}
