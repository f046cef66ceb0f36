//! ControlGroups at run time (OPC 10000-81 §6.5): who controls which group, the write guard
//! that enforces it on the tag store, and EstablishControl / ReleaseControl / ReassignControl,
//! called directly or by EstablishConnections (EstablishControlCmd with the caller's
//! ApplicationUri, ReassignControlCmd with the endpoint's NodeId) and released when the
//! endpoint that holds them is closed.
//!
//! While a group is controlled, its ListToBlock tags cannot be written by anyone and its
//! ListToRestrict tags only by the lock owner (a session of the client whose ApplicationUri is
//! the LockingClient); values a PubSub reader or the owning source puts into the store are not
//! writes and pass. EstablishControl takes both Locks of a group, ReleaseControl gives both back
//! and clears IsControlled; the DI methods of each Lock ([`locks`]) exit, take again and renew
//! that Lock alone. A Lock exits by itself after the group's MaxInactiveLockTime without
//! activity: a RenewLock or a write by the owner to a restricted variable, or, for a Lock an
//! endpoint holds, any second in which the endpoint's Status is not Error.

pub mod calls;
pub mod locks;

use std::collections::HashMap;
use std::time::Instant;

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

/// ListToBlock (0) or ListToRestrict (1): which Lock of a group.
pub type List = usize;
/// The ListToBlock Lock.
pub const BLOCK: List = 0;
/// The ListToRestrict Lock.
pub const RESTRICT: List = 1;

/// A controlled group: its owner and, per Lock, when it was last active (None: exited).
#[derive(Debug, Clone)]
pub struct Hold {
    /// LockingClient and LockingUser.
    pub owner: Owner,
    /// The ListToBlock and ListToRestrict Locks.
    pub locks: [Option<Instant>; 2],
}

/// Every group's controller, and which groups block or restrict each tag.
pub struct ControlState {
    held: Mutex<HashMap<NodeId, Hold>>,
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
        self.held.lock().get(group).map(|h| h.owner.clone())
    }

    /// The state of `group` (None: not controlled).
    pub fn hold(&self, group: &NodeId) -> Option<Hold> {
        self.held.lock().get(group).cloned()
    }

    /// Every controlled group.
    pub fn holds(&self) -> Vec<(NodeId, Hold)> {
        self.held.lock().iter().map(|(g, h)| (g.clone(), h.clone())).collect()
    }

    /// Runs `f` on the state of the controlled `group` (None: not controlled).
    pub fn with<R>(&self, group: &NodeId, f: impl FnOnce(&mut Hold) -> R) -> Option<R> {
        self.held.lock().get_mut(group).map(f)
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
            .filter(|(_, h)| h.owner.client != owner.client)
            .any(|(g, _)| self.tags.get(g).is_some_and(|theirs| theirs.iter().any(|t| mine.contains(t))));
        if clash {
            return E_LOCKED;
        }
        let now = Instant::now();
        held.insert(group.clone(), Hold { owner, locks: [Some(now), Some(now)] });
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
            Some(h) => {
                let now = Instant::now();
                for l in h.locks.iter_mut().flatten() {
                    *l = now;
                }
                Ok(std::mem::replace(&mut h.owner, owner))
            }
            None => Err(E_LOCKED),
        }
    }

    /// The groups controlled by `client`.
    pub fn held_by(&self, client: &str) -> Vec<NodeId> {
        self.held.lock().iter().filter(|(_, h)| h.owner.client == client).map(|(g, _)| g.clone()).collect()
    }
}

impl WriteGuard for ControlState {
    fn refuse(&self, tag: TagId, caller: Option<&Caller>) -> Option<StatusCode> {
        let mut held = self.held.lock();
        let locked = |h: Option<&Hold>, list: List| h.is_some_and(|h| h.locks[list].is_some());
        if self.block.get(&tag).is_some_and(|gs| gs.iter().any(|g| locked(held.get(g), BLOCK))) {
            return Some(StatusCode::BadLocked);
        }
        for g in self.restrict.get(&tag).into_iter().flatten() {
            let Some(h) = held.get_mut(g).filter(|h| h.locks[RESTRICT].is_some()) else { continue };
            if caller.is_none_or(|c| c.client != h.owner.client) {
                return Some(StatusCode::BadLocked);
            }
            // a write by the owner is activity on the Lock
            h.locks[RESTRICT] = Some(Instant::now());
        }
        None
    }
}

/// Every ControlGroup of `model`.
pub fn groups(model: &Model) -> impl Iterator<Item = &ControlGroup> {
    model.components.iter().flat_map(|c| c.entities.iter()).flat_map(|e| e.control_groups.iter())
}

/// The values of a group's IsControlled and Lock variables for its state `hold`: a Lock that
/// is not held shows no client and user, and RemainingLockTime 0.
pub fn values(g: &ControlGroup, hold: Option<&Hold>) -> Vec<(NodeId, Variant)> {
    let mut v = vec![(g.is_controlled.clone(), hold.is_some().into())];
    for (list, l) in g.locks.iter().enumerate() {
        let owner = hold.filter(|h| h.locks[list].is_some()).map(|h| &h.owner);
        let remaining = hold.and_then(|h| h.locks[list]).map_or(0.0, |t| g.max_inactive.saturating_sub(t.elapsed()).as_millis() as f64);
        v.push((l.locked.clone(), owner.is_some().into()));
        v.push((l.client.clone(), UAString::from(owner.map_or("", |o| o.client.as_str())).into()));
        v.push((l.user.clone(), UAString::from(owner.map_or("", |o| o.user.as_str())).into()));
        v.push((l.remaining.clone(), Variant::Double(remaining)));
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
