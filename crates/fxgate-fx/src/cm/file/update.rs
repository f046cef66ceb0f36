//! CloseAndUpdate (§F.3.3): closes the handle and applies the written sets, one
//! ConnectionConfigurationSetOperation per set.
//!
//! Every operation is checked first, in order (a set removed earlier in the file may be added
//! again later): ElementAdd needs a BrowseName no set has, in any folder
//! (Bad_BrowseNameDuplicated: fxgate keeps set names unique across the ConnectionManager),
//! ElementRemove and ElementReplace an existing set in the ConnectionConfigurationSetFolder given
//! (Bad_NoMatch) that is neither processing nor edited
//! (Bad_InvalidState); no bit is Bad_NothingToDo, several bits or reserved ones
//! Bad_InvalidArgument, as is a set fxgate cannot take (see [`super::to_config`]). With
//! RequireCompleteUpdate nothing is applied unless every check passed. Then, in order:
//! ElementRemove and ElementReplace close the set's connections (CloseConnections with
//! Remove=TRUE) and remove it; ElementAdd and ElementReplace add the new set, Ready, Version 1,
//! not processed. ConfigurationObjects holds the NodeId of each added set (null otherwise).

use std::sync::Arc;

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::MethodCall;
use opcua::sync::RwLock;
use opcua::types::{NodeId, StatusCode, Variant};

use super::codec;
use super::handles::Owner;
use super::to_config::{self, Context};
use crate::cm::state::State;
use crate::cm::{sets, Set};
use crate::config::cm::ConnectionSetConfig;
use crate::node_manager::FxNodeManagerImpl;
use crate::types::ConnectionConfigurationSetOperation as Op;

/// What one checked operation will do.
enum Plan {
    Add(ConnectionSetConfig),
    Remove(Arc<Set>),
    Replace(Arc<Set>, ConnectionSetConfig),
}

/// Whether a set may be removed or replaced now.
fn busy(set: &Set) -> bool {
    let rt = set.runtime.lock();
    rt.state == State::Processing || rt.editor.is_some()
}

/// The method.
pub async fn call(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, call: &mut MethodCall, owner: &Owner) {
    let Some(cm) = nm.connection_manager() else {
        call.set_status(StatusCode::BadMethodInvalid);
        return;
    };
    let a = call.arguments().to_vec();
    let (handle, require, ops) = match (a.first(), a.get(1), a.get(2).and_then(crate::args::array)) {
        (Some(Variant::UInt32(h)), Some(Variant::Boolean(r)), Some(ops)) => {
            let ops: Option<Vec<u8>> = ops.into_iter().map(|v| if let Variant::Byte(b) = v { Some(*b) } else { None }).collect();
            match ops {
                Some(ops) => (*h, *r, ops),
                None => {
                    call.set_argument_error(vec![StatusCode::Good, StatusCode::Good, StatusCode::BadTypeMismatch]);
                    return;
                }
            }
        }
        _ => {
            call.set_status(StatusCode::BadInvalidArgument);
            return;
        }
    };
    let bytes = match cm.file.handles.take_written(owner, handle) {
        Ok(b) => b,
        Err(s) => {
            call.set_status(s);
            return;
        }
    };
    let content = match codec::decode(&bytes, opcua::types::DecodingOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "FX ConnectionManagerConfiguration: CloseAndUpdate");
            call.set_status(StatusCode::BadTypeMismatch);
            return;
        }
    };
    if content.sets.is_empty() {
        call.set_status(StatusCode::BadNothingToDo);
        return;
    }
    if ops.len() != content.sets.len() {
        call.set_status(StatusCode::BadInvalidArgument);
        return;
    }
    let tags = super::from_config::tags_uri(nm);
    let cx = Context { file: &content, tags: &tags, own_url: nm.endpoint_url() };
    // check, in order, against the names as the earlier operations leave them
    let mut names: Vec<String> = cm.sets.read().iter().map(|s| s.name.clone()).collect();
    let mut plans: Vec<Result<Plan, StatusCode>> = Vec::with_capacity(ops.len());
    for (op_byte, s) in ops.iter().zip(&content.sets) {
        let name = s.browse_name.as_ref().to_string();
        let op = Op::from_bits(*op_byte).filter(|o| o.bits().count_ones() == 1);
        let folder: Vec<String> = s.connection_configuration_set_folder.iter().flatten().map(|f| f.as_ref().to_string()).collect();
        let convert = || {
            to_config::set(&cx, s).map_err(|e| {
                tracing::warn!(set = %name, error = %e, "FX ConnectionManagerConfiguration: set not taken");
                StatusCode::BadInvalidArgument
            })
        };
        // a set is addressed by its folder and name (names are unique across the manager)
        let existing = || cm.set_named(&name).filter(|s| names.contains(&name) && s.config.folder == folder);
        let plan = match (*op_byte, op) {
            (0, _) => Err(StatusCode::BadNothingToDo),
            (_, None) => Err(StatusCode::BadInvalidArgument),
            (_, Some(o)) if o == Op::ElementAdd => {
                if names.contains(&name) {
                    Err(StatusCode::BadBrowseNameDuplicated)
                } else {
                    convert().map(Plan::Add)
                }
            }
            (_, Some(o)) if o == Op::ElementRemove => match existing() {
                None => Err(StatusCode::BadNoMatch),
                Some(set) if busy(&set) => Err(StatusCode::BadInvalidState),
                Some(set) => Ok(Plan::Remove(set)),
            },
            (_, Some(_)) => match existing() {
                None => Err(StatusCode::BadNoMatch),
                Some(set) if busy(&set) => Err(StatusCode::BadInvalidState),
                Some(set) => convert().map(|c| Plan::Replace(set, c)),
            },
        };
        match &plan {
            Ok(Plan::Add(_)) => names.push(name),
            Ok(Plan::Remove(_)) => names.retain(|n| n != &name),
            _ => {}
        }
        plans.push(plan);
    }
    let all_ok = plans.iter().all(Result::is_ok);
    let mut results: Vec<StatusCode> = plans.iter().map(|p| p.as_ref().err().copied().unwrap_or(StatusCode::Good)).collect();
    let mut objects = vec![NodeId::null(); plans.len()];
    let mut applied = false;
    if all_ok || !require {
        for (i, plan) in plans.into_iter().enumerate() {
            let Ok(plan) = plan else { continue };
            let (old, new) = match plan {
                Plan::Add(c) => (None, Some(c)),
                Plan::Remove(s) => (Some(s), None),
                Plan::Replace(s, c) => (Some(s), Some(c)),
            };
            // the new set first: while the old one's nodes exist, it gets a new NodeId
            if let Some(old) = &old {
                cm.record(|ch| ch.removed(&old.name));
            }
            if let Some(c) = new {
                match sets::add(nm, &mut space.write(), &c) {
                    Some(set) => {
                        objects[i] = set.node.clone();
                        cm.record(|ch| ch.written(&c, 1));
                    }
                    None => results[i] = StatusCode::BadInternalError,
                }
            }
            if let Some(old) = old {
                old.runtime.lock().state = State::Processing;
                if let Err(e) = sets::close(nm, space, &old).await {
                    tracing::warn!(set = %old.name, error = %e, "FX ConnectionManagerConfiguration: closing the removed set's connections");
                }
                sets::remove(nm, &mut space.write(), &old);
            }
            applied = true;
        }
        let any_error = cm.any_error();
        nm.set_values(&mut space.write(), vec![(cm.aggregated_current_state.clone(), any_error.into())]);
    }
    call.set_status(StatusCode::Good);
    call.set_outputs(vec![Variant::Boolean(applied), Variant::from(results), Variant::from(objects)]);
}
