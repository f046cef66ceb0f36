//! Writing a set while it is edited (§6.7.4, §6.8.2): its editor may write RollbackOnError and
//! each endpoint's ConnectionEndpoint Name and CleanupTimeout. The writes go into the set's
//! pending configuration; CommitUpdates puts it in place (the set keeps its nodes), and
//! DiscardUpdates writes the committed values back. A set that is not being edited is locked to
//! the ConnectionManager (Bad_Locked), as it is for a session that does not hold its Lock; every
//! other FX node is not writable.

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::ParsedWriteValue;
use opcua::sync::RwLock;
use opcua::types::{AttributeId, NodeId, StatusCode, UAString, Variant};

use super::file::handles::Owner;
use super::remote::set::Which;
use super::Set;
use crate::config::cm::{ConnectionSetConfig, EndpointConfig};
use crate::node_manager::FxNodeManagerImpl;

/// What an editable variable of a set sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// RollbackOnError.
    RollbackOnError,
    /// The Name of an endpoint (connection index, end).
    Name(usize, Which),
    /// The CleanupTimeout of an endpoint.
    CleanupTimeout(usize, Which),
}

fn end(cfg: &mut ConnectionSetConfig, j: usize, which: Which) -> Option<&mut EndpointConfig> {
    let c = cfg.connection.get_mut(j)?;
    match which {
        Which::One => Some(&mut c.endpoint1),
        Which::Two => c.endpoint2.as_mut(),
    }
}

/// Sets `field` of `cfg` to `v`, or says why not.
fn apply(cfg: &mut ConnectionSetConfig, field: Field, v: &Variant) -> Result<(), StatusCode> {
    match (field, v) {
        (Field::RollbackOnError, Variant::Boolean(b)) => cfg.rollback_on_error = *b,
        (Field::Name(j, w), Variant::String(s)) => {
            let name = s.as_ref();
            if name.is_empty() || name.contains('/') {
                return Err(StatusCode::BadOutOfRange);
            }
            end(cfg, j, w).ok_or(StatusCode::BadNodeIdUnknown)?.name = name.to_string();
        }
        (Field::CleanupTimeout(j, w), Variant::Double(d)) if d.is_finite() => {
            end(cfg, j, w).ok_or(StatusCode::BadNodeIdUnknown)?.cleanup_timeout = *d;
        }
        _ => return Err(StatusCode::BadTypeMismatch),
    }
    Ok(())
}

/// The value of `field` in `cfg`.
pub fn value(cfg: &ConnectionSetConfig, field: Field) -> Variant {
    let get = |j: usize, w: Which| {
        let c = cfg.connection.get(j)?;
        match w {
            Which::One => Some(&c.endpoint1),
            Which::Two => c.endpoint2.as_ref(),
        }
    };
    match field {
        Field::RollbackOnError => cfg.rollback_on_error.into(),
        Field::Name(j, w) => get(j, w).map(|e| UAString::from(e.name.as_str()).into()).unwrap_or_default(),
        Field::CleanupTimeout(j, w) => get(j, w).map(|e| e.cleanup_timeout.into()).unwrap_or_default(),
    }
}

/// The values of the editable variables of `set` as `cfg` has them (DiscardUpdates).
pub fn values(set: &Set, cfg: &ConnectionSetConfig) -> Vec<(NodeId, Variant)> {
    set.editable.iter().map(|(n, f)| (n.clone(), value(cfg, *f))).collect()
}

/// One Write of the Write service to an FX node.
pub fn write(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, owner: &Owner, w: &ParsedWriteValue) -> StatusCode {
    let Some(cm) = nm.connection_manager() else { return StatusCode::BadNotWritable };
    let found = cm.sets.read().iter().find_map(|s| s.editable.iter().find(|(n, _)| n == &w.node_id).map(|(_, f)| (s.clone(), *f)));
    let Some((set, field)) = found else { return StatusCode::BadNotWritable };
    if w.attribute_id != AttributeId::Value {
        return StatusCode::BadNotWritable;
    }
    if w.index_range.has_range() {
        return StatusCode::BadIndexRangeInvalid;
    }
    let Some(v) = w.value.value.as_ref() else { return StatusCode::BadTypeMismatch };
    let mut rt = set.runtime.lock();
    if !rt.editor.as_ref().is_some_and(|e| e.owner.same(owner)) {
        return StatusCode::BadLocked;
    }
    let pending = rt.pending.get_or_insert_with(|| set.config.clone());
    if let Err(s) = apply(pending, field, v) {
        return s;
    }
    let stored = value(pending, field);
    if let Some(e) = rt.editor.as_mut() {
        e.renewed = std::time::Instant::now();
    }
    drop(rt);
    nm.set_values(&mut space.write(), vec![(w.node_id.clone(), stored)]);
    StatusCode::Good
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cm::ConnectionConfig;

    #[test]
    fn edits_change_only_their_field_and_are_checked() {
        let mut cfg = ConnectionSetConfig {
            name: "S".into(),
            connection: vec![ConnectionConfig { name: "C".into(), ..Default::default() }],
            ..Default::default()
        };
        apply(&mut cfg, Field::RollbackOnError, &Variant::Boolean(true)).expect("bool");
        apply(&mut cfg, Field::Name(0, Which::One), &Variant::String("E".into())).expect("name");
        apply(&mut cfg, Field::CleanupTimeout(0, Which::One), &Variant::Double(250.0)).expect("timeout");
        assert!(cfg.rollback_on_error);
        assert_eq!((cfg.connection[0].endpoint1.name.as_str(), cfg.connection[0].endpoint1.cleanup_timeout), ("E", 250.0));
        assert_eq!(apply(&mut cfg, Field::Name(0, Which::One), &Variant::String("a/b".into())), Err(StatusCode::BadOutOfRange));
        assert_eq!(apply(&mut cfg, Field::CleanupTimeout(0, Which::One), &Variant::Int32(1)), Err(StatusCode::BadTypeMismatch));
        assert_eq!(apply(&mut cfg, Field::Name(0, Which::Two), &Variant::String("x".into())), Err(StatusCode::BadNodeIdUnknown));
        assert_eq!(value(&cfg, Field::CleanupTimeout(0, Which::One)), Variant::Double(250.0));
    }
}
