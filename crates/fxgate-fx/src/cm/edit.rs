//! EditConnectionConfigurationSets (§6.7.4): StartEditing gives a set's Lock to the calling
//! session and sets Edit; CommitUpdates and DiscardUpdates give it back to the ConnectionManager
//! and clear Edit, CommitUpdates also counting up Version. Another session gets
//! Bad_InvalidState; Commit or Discard on a set that is not being edited is ignored (Good). A
//! set being processed cannot be edited, nor processed, removed or replaced while edited. When
//! the editing session ends, the edit is discarded ([`discard_orphans`], run every second).

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::MethodCall;
use opcua::sync::RwLock;
use opcua::types::{NodeId, StatusCode, UAString, Variant};

use super::file::handles::Owner;
use super::state::State;
use super::{ConnectionManager, Set};
use crate::args;
use crate::node_manager::FxNodeManagerImpl;

/// The session editing a set.
#[derive(Debug, Clone)]
pub struct Editor {
    /// The session.
    pub owner: Owner,
    /// When the editor last renewed the Lock (StartEditing, RenewLock or a write); the edit is
    /// discarded MaxInactiveLockTime after it.
    pub renewed: std::time::Instant,
}

/// FxEditEnum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Commit,
    Discard,
}

/// The values of a set's Edit, Version and Lock after a change of editor.
fn values(cm: &ConnectionManager, set: &Set, editor: Option<&Owner>, version: u32) -> Vec<(NodeId, Variant)> {
    let (client, user) = match editor {
        Some(o) => (o.client.clone(), if o.user.is_empty() { "anonymous".to_string() } else { o.user.clone() }),
        None => (cm.node.to_string(), "CM".to_string()),
    };
    let remaining = if editor.is_some() { cm.max_inactive_lock_time.as_millis() as f64 } else { 0.0 };
    vec![
        (set.lock.remaining.clone(), Variant::Double(remaining)),
        (set.edit.clone(), editor.is_some().into()),
        (set.version.clone(), version.into()),
        (set.lock.locked.clone(), true.into()),
        (set.lock.client.clone(), UAString::from(client).into()),
        (set.lock.user.clone(), UAString::from(user).into()),
    ]
}

/// The method.
pub fn call(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, call: &mut MethodCall, owner: &Owner) {
    let Some(cm) = nm.connection_manager() else {
        call.set_status(StatusCode::BadMethodInvalid);
        return;
    };
    let a = call.arguments();
    let (Some(action), Some(ids)) = (a.first().and_then(args::enum_value), a.get(1).and_then(args::node_ids)) else {
        let ok = |b: bool| if b { StatusCode::Good } else { StatusCode::BadTypeMismatch };
        call.set_argument_error(vec![ok(a.first().and_then(args::enum_value).is_some()), ok(a.get(1).and_then(args::node_ids).is_some())]);
        return;
    };
    let action = match action {
        0 => Action::Start,
        1 => Action::Commit,
        2 => Action::Discard,
        _ => {
            call.set_argument_error(vec![StatusCode::BadInvalidArgument, StatusCode::Good]);
            return;
        }
    };
    let mut results = Vec::with_capacity(ids.len());
    let mut changes = Vec::new();
    let mut ended = Vec::new();
    for id in &ids {
        let Some(set) = cm.set(id) else {
            results.push(match () {
                _ if id.is_null() => StatusCode::BadNodeIdInvalid,
                _ if nm.exists(&space.read(), id) => StatusCode::BadInvalidArgument,
                _ => StatusCode::BadNodeIdUnknown,
            });
            continue;
        };
        let mut rt = set.runtime.lock();
        let mine = rt.editor.as_ref().map(|e| e.owner.same(owner));
        let result = match (action, mine) {
            (Action::Start, Some(true)) => {
                if let Some(e) = rt.editor.as_mut() {
                    e.renewed = std::time::Instant::now();
                }
                StatusCode::Good
            }
            (Action::Start, Some(false)) => StatusCode::BadInvalidState,
            (Action::Start, None) if rt.state == State::Processing => StatusCode::BadInvalidState,
            (Action::Start, None) => {
                rt.editor = Some(Editor { owner: owner.clone(), renewed: std::time::Instant::now() });
                changes.extend(values(cm, &set, Some(owner), rt.version));
                StatusCode::Good
            }
            (_, None) => StatusCode::Good,
            (_, Some(false)) => StatusCode::BadInvalidState,
            (_, Some(true)) => {
                ended.push((set.clone(), action == Action::Commit));
                StatusCode::Good
            }
        };
        drop(rt);
        results.push(result);
    }
    if !changes.is_empty() {
        nm.set_values(&mut space.write(), changes);
    }
    for (set, commit) in ended {
        end(nm, space, &set, commit);
    }
    tracing::info!(action = ?action, sets = ids.len(), "FX EditConnectionConfigurationSets");
    let status = if results.iter().all(|r| r.is_good()) { StatusCode::Good } else { StatusCode::Uncertain };
    call.set_status(status);
    call.set_outputs(vec![Variant::from(results)]);
}

/// Ends the edit of `set`: with `commit` the pending configuration is put in place and
/// Version counts up, else the committed values are written back; Edit is cleared and the Lock
/// goes back to the ConnectionManager.
pub fn end(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, set: &std::sync::Arc<Set>, commit: bool) {
    let Some(cm) = nm.connection_manager() else { return };
    let (pending, version) = {
        let mut rt = set.runtime.lock();
        if rt.editor.take().is_none() {
            return;
        }
        if commit {
            rt.version = rt.version.saturating_add(1);
        }
        (rt.pending.take(), rt.version)
    };
    let mut changes = values(cm, set, None, version);
    let current = match (commit, pending) {
        (true, Some(cfg)) => {
            let new = std::sync::Arc::new(set.with_config(cfg));
            if let Some(slot) = cm.sets.write().iter_mut().find(|s| std::sync::Arc::ptr_eq(s, set)) {
                *slot = new.clone();
            }
            new
        }
        _ => set.clone(),
    };
    changes.extend(super::edit_write::values(&current, &current.config));
    if commit {
        cm.record(|ch| ch.written(&current.config, version));
    }
    nm.set_values(&mut space.write(), changes);
    tracing::info!(set = %set.name, commit, version, "FX ConnectionConfigurationSet edit ended");
}

/// Discards the edits whose session ended or whose Lock was not renewed within
/// `max_inactive` (the Lock exits), and shows each edited set's RemainingLockTime.
pub fn expire(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, max_inactive: std::time::Duration) {
    let Some(cm) = nm.connection_manager() else { return };
    let mut expired = Vec::new();
    let mut remaining = Vec::new();
    for set in cm.sets.read().iter() {
        let rt = set.runtime.lock();
        let Some(e) = rt.editor.as_ref() else { continue };
        let left = max_inactive.saturating_sub(e.renewed.elapsed());
        if !e.owner.alive() || left.is_zero() {
            tracing::info!(set = %set.name, session_ended = !e.owner.alive(), "FX ConnectionConfigurationSet: the edit Lock exited, edit discarded");
            expired.push(set.clone());
        } else {
            remaining.push((set.lock.remaining.clone(), Variant::Double(left.as_millis() as f64)));
        }
    }
    for set in expired {
        end(nm, space, &set, false);
    }
    if !remaining.is_empty() {
        nm.set_values(&mut space.write(), remaining);
    }
}

/// The DI Lock methods of a set's Lock (`index`: InitLock, RenewLock, ExitLock, BreakLock), with
/// the LockStatus they answer: the Lock is only taken through EditConnectionConfigurationSets,
/// so InitLock is E_AlreadyLocked (−1); RenewLock and ExitLock (which discards the edit) work
/// for the editing session, BreakLock (ConnectionAdmin) discards anyone's edit; otherwise −1.
pub fn lock_call(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, call: &mut MethodCall, owner: &Owner, method: &NodeId) {
    let Some(cm) = nm.connection_manager() else { return };
    let found = cm.sets.read().iter().find_map(|s| s.lock_methods.iter().position(|m| m == method).map(|i| (s.clone(), i)));
    let Some((set, index)) = found else {
        call.set_status(StatusCode::BadMethodInvalid);
        return;
    };
    let mine = set.runtime.lock().editor.as_ref().map(|e| e.owner.same(owner));
    let status: i32 = match (index, mine) {
        (1, Some(true)) => {
            if let Some(e) = set.runtime.lock().editor.as_mut() {
                e.renewed = std::time::Instant::now();
            }
            0
        }
        (2, Some(true)) | (3, Some(_)) => {
            end(nm, space, &set, false);
            0
        }
        _ => -1,
    };
    call.set_status(StatusCode::Good);
    call.set_outputs(vec![Variant::Int32(status)]);
}