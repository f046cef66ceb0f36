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
    vec![
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
            (Action::Start, Some(true)) => StatusCode::Good,
            (Action::Start, Some(false)) => StatusCode::BadInvalidState,
            (Action::Start, None) if rt.state == State::Processing => StatusCode::BadInvalidState,
            (Action::Start, None) => {
                rt.editor = Some(Editor { owner: owner.clone() });
                changes.extend(values(cm, &set, Some(owner), rt.version));
                StatusCode::Good
            }
            (_, None) => StatusCode::Good,
            (_, Some(false)) => StatusCode::BadInvalidState,
            (_, Some(true)) => {
                rt.editor = None;
                if action == Action::Commit {
                    rt.version = rt.version.saturating_add(1);
                    let version = rt.version;
                    cm.record(|ch| ch.written(&set.config, version));
                }
                changes.extend(values(cm, &set, None, rt.version));
                StatusCode::Good
            }
        };
        drop(rt);
        results.push(result);
    }
    if !changes.is_empty() {
        nm.set_values(&mut space.write(), changes);
    }
    tracing::info!(action = ?action, sets = ids.len(), "FX EditConnectionConfigurationSets");
    let status = if results.iter().all(|r| r.is_good()) { StatusCode::Good } else { StatusCode::Uncertain };
    call.set_status(status);
    call.set_outputs(vec![Variant::from(results)]);
}

/// Discards the edits of sessions that ended (the Lock exits with its session).
pub fn discard_orphans(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>) {
    let Some(cm) = nm.connection_manager() else { return };
    let mut changes = Vec::new();
    for set in cm.sets.read().iter() {
        let mut rt = set.runtime.lock();
        if rt.editor.as_ref().is_some_and(|e| !e.owner.alive()) {
            tracing::info!(set = %set.name, "FX ConnectionConfigurationSet: the editing session ended, edit discarded");
            rt.editor = None;
            changes.extend(values(cm, set, None, rt.version));
        }
    }
    if !changes.is_empty() {
        nm.set_values(&mut space.write(), changes);
    }
}
