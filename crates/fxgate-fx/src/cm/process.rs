//! ProcessConnectionConfigurationSets (§6.7.5) and the processing of a set (§6.7.3).
//!
//! The method checks each set (Table 86), starts transition 1 (or 4 from Error) with a
//! ProcessingStarted event and returns at once; a spawned task then processes the set and ends
//! with transition 2 (ProcessingSucceeded) or 3 (ProcessingFailed).
//!
//! Actions: ActionEstablishConnectionsDisabled (1) and ActionEstablishConnections (2) establish
//! the set's connections (identical in tier 1: the sets have no communication model, so neither
//! SetCommunicationConfigurationCmd nor EnableCommunicationCmd is used); ActionRemoveConnections
//! (3) closes and removes the set's endpoints. ActionEstablishConnectionsEnabled (0),
//! ActionEnableConnections (4) and ActionDisableConnections (5) need a PubSub communication
//! model and answer Bad_NotSupported.

use std::sync::Arc;

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::MethodCall;
use opcua::sync::RwLock;
use opcua::types::{DateTime, NodeId, ObjectId, StatusCode, Variant};

use super::events::SetEvent;
use super::plan::{self, Call, Peer};
use super::resolve::{ResolveError, Resolver};
use super::state::{self, State, Transition};
use crate::compare::{ExpectedNodeValue, NodeLookup};
use crate::host::ComponentHost;
use crate::node_manager::{FxNodeManager, FxNodeManagerImpl};
use crate::{args, establish};

/// What a Process call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// ActionEstablishConnectionsDisabled (1) or ActionEstablishConnections (2).
    Establish(i32),
    /// ActionRemoveConnections (3).
    Remove,
}

impl Action {
    /// The FxProcessEnum value, or the method result for an action that is not processed.
    pub fn from_enum(v: i32) -> Result<Self, StatusCode> {
        match v {
            1 | 2 => Ok(Action::Establish(v)),
            3 => Ok(Action::Remove),
            0 | 4 | 5 => Err(StatusCode::BadNotSupported),
            _ => Err(StatusCode::BadInvalidArgument),
        }
    }

    fn value(self) -> i32 {
        match self {
            Action::Establish(v) => v,
            Action::Remove => 3,
        }
    }
}

/// Why processing a set failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// A node could not be resolved.
    #[error("resolving the set's nodes: {0}")]
    Resolve(#[from] ResolveError),
    /// An EstablishConnections call did not succeed.
    #[error("EstablishConnections on `{component}` returned {status}")]
    Establish {
        /// The component.
        component: String,
        /// Its method result.
        status: StatusCode,
    },
}

/// The method: checks the arguments and sets, starts processing, answers at once.
pub fn call(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, call: &mut MethodCall) {
    let Some(cm) = nm.connection_manager() else {
        call.set_status(StatusCode::BadMethodInvalid);
        return;
    };
    let a = call.arguments();
    let (Some(action), Some(list)) = (a.first().and_then(args::enum_value), a.get(1).and_then(args::array)) else {
        call.set_argument_error(vec![StatusCode::BadTypeMismatch, StatusCode::BadTypeMismatch]);
        return;
    };
    let mut sets = Vec::with_capacity(list.len());
    for v in list {
        match v {
            Variant::NodeId(n) => sets.push((**n).clone()),
            _ => {
                call.set_argument_error(vec![StatusCode::Good, StatusCode::BadTypeMismatch]);
                return;
            }
        }
    }
    let action = match Action::from_enum(action) {
        Ok(a) => a,
        Err(s) => {
            call.set_status(s);
            return;
        }
    };
    let Some(handle) = nm.handle() else {
        call.set_status(StatusCode::BadInternalError);
        return;
    };
    let mut results = Vec::with_capacity(sets.len());
    for id in &sets {
        let result = match cm.set(id) {
            _ if id.is_null() => StatusCode::BadNodeIdInvalid,
            Some((i, set)) => {
                let started = {
                    let mut rt = set.runtime.lock();
                    state::start(rt.state).inspect(|_| rt.state = State::Processing)
                };
                match started {
                    Some(t) => {
                        transition(nm, &mut space.write(), i, t, action.value());
                        let handle = handle.clone();
                        tokio::spawn(async move { run(handle, i, action).await });
                        StatusCode::Good
                    }
                    None => StatusCode::BadInvalidState,
                }
            }
            None => {
                let e = ExpectedNodeValue { node: id.clone(), array_index: vec![], value: Variant::Empty };
                if nm.lookup(&space.read(), &e) == NodeLookup::Missing {
                    StatusCode::BadNodeIdUnknown
                } else {
                    StatusCode::BadInvalidArgument
                }
            }
        };
        results.push(result);
    }
    let status = if results.iter().all(|r| r.is_good()) { StatusCode::Good } else { StatusCode::Uncertain };
    call.set_status(status);
    call.set_outputs(vec![Variant::from(results)]);
}

/// Applies `t` to set `i`: its state variables, AggregatedCurrentState, and the event.
fn transition(nm: &FxNodeManagerImpl, space: &mut AddressSpace, i: usize, t: Transition, action: i32) {
    let Some(cm) = nm.connection_manager() else { return };
    let Some(set) = cm.sets.get(i) else { return };
    let ns = nm.model().ns;
    let mut values = set.machine.transition_values(&ns, t, DateTime::now());
    let any_error = cm.sets.iter().any(|s| s.runtime.lock().state == State::Error);
    values.push((cm.aggregated_current_state.clone(), any_error.into()));
    nm.set_values(space, values);
    let event = SetEvent::new(&ns, t, &cm.node, &set.node, &set.name, action);
    if let Some(subs) = nm.subscriptions() {
        let server: NodeId = ObjectId::Server.into();
        subs.notify_events([(&event as &dyn opcua::nodes::Event, &cm.node), (&event as &dyn opcua::nodes::Event, &server)].into_iter());
    }
    tracing::info!(set = %set.name, transition = t.describe().0, "FX ConnectionConfigurationSet");
}

/// Processes set `i` and ends its run with transition 2 or 3.
async fn run(handle: Arc<FxNodeManager>, i: usize, action: Action) {
    let nm = handle.inner();
    let space = handle.address_space();
    let outcome = match action {
        Action::Establish(_) => establish_set(nm, space, i).await,
        Action::Remove => remove_set(nm, space, i),
    };
    let Some(set) = nm.connection_manager().and_then(|cm| cm.sets.get(i)) else { return };
    let t = match &outcome {
        Ok(()) => Transition::ProcessingToReady,
        Err(e) => {
            tracing::warn!(set = %set.name, error = %e, "FX ConnectionConfigurationSet processing failed");
            Transition::ProcessingToError
        }
    };
    set.runtime.lock().state = t.to();
    transition(nm, &mut space.write(), i, t, action.value());
}

/// Resolves the set, verifies its assets, then creates its endpoints connection by connection;
/// on a failure stops, and with RollbackOnError removes what this run created.
async fn establish_set(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, i: usize) -> Result<(), Failure> {
    let calls = plan_set(nm, &space.read(), i)?;
    let mut created = Vec::new();
    let mut failure = None;
    for c in calls {
        let host = ComponentHost { nm, space, component: c.component };
        let out = establish::establish(&host, &c.request).await;
        if out.status != StatusCode::Good {
            let component = nm.model().components.get(c.component).map(|x| x.name.clone()).unwrap_or_default();
            failure = Some(Failure::Establish { component, status: out.status });
            break;
        }
        created.extend(out.endpoints.into_iter().map(|r| r.connection_endpoint_id).filter(|n| !n.is_null()));
    }
    let Some(set) = nm.connection_manager().and_then(|cm| cm.sets.get(i)) else { return Ok(()) };
    match failure {
        None => {
            set.runtime.lock().created.extend(created);
            Ok(())
        }
        Some(f) => {
            if set.config.rollback_on_error {
                for e in &created {
                    nm.remove_endpoint(space, e); // CloseConnections(Remove=TRUE)
                }
            } else {
                set.runtime.lock().created.extend(created);
            }
            Err(f)
        }
    }
}

/// The EstablishConnections calls of set `i`, in order: asset verifications, then each
/// connection's Endpoint1 and Endpoint2.
fn plan_set(nm: &FxNodeManagerImpl, space: &AddressSpace, i: usize) -> Result<Vec<Call>, Failure> {
    let Some(set) = nm.connection_manager().and_then(|cm| cm.sets.get(i)) else { return Ok(vec![]) };
    let Some(types) = nm.type_tree() else { return Ok(vec![]) };
    let types = types.read();
    let r = Resolver { nm, space, namespaces: types.namespaces(), types: &*types };
    let mut calls = Vec::new();
    for a in &set.config.asset_verification {
        calls.push(plan::asset(&r, a)?);
    }
    for conn in &set.config.connection {
        let (c1, fe1) = r.entity(&conn.endpoint1)?;
        let name = |c: usize| nm.model().components.get(c).map(|x| x.name.clone()).unwrap_or_default();
        match &conn.endpoint2 {
            Some(e2) => {
                let (c2, fe2) = r.entity(e2)?;
                let peer1 = Peer::local(&name(c1), fe1, &conn.endpoint1);
                let peer2 = Peer::local(&name(c2), fe2, e2);
                calls.push(plan::endpoint(&r, c1, fe1, &conn.endpoint1, &peer2)?);
                calls.push(plan::endpoint(&r, c2, fe2, e2, &peer1)?);
            }
            None => calls.push(plan::endpoint(&r, c1, fe1, &conn.endpoint1, &Peer::configured(&conn.endpoint1))?),
        }
    }
    Ok(calls)
}

/// ActionRemoveConnections: CloseConnections(Remove=TRUE) on every endpoint of the set that
/// exists (found by FunctionalEntity and name), and on those its runs created.
fn remove_set(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, i: usize) -> Result<(), Failure> {
    let Some(set) = nm.connection_manager().and_then(|cm| cm.sets.get(i)) else { return Ok(()) };
    let mut targets: Vec<NodeId> = std::mem::take(&mut set.runtime.lock().created);
    {
        let space = space.read();
        let Some(types) = nm.type_tree() else { return Ok(()) };
        let types = types.read();
        let r = Resolver { nm, space: &space, namespaces: types.namespaces(), types: &*types };
        let registry = nm.endpoints().lock();
        for conn in &set.config.connection {
            for e in std::iter::once(&conn.endpoint1).chain(conn.endpoint2.as_ref()) {
                let (_, fe) = r.entity(e)?;
                targets.extend(registry.iter().filter(|x| x.entity == fe.node && x.name == e.name).map(|x| x.node.clone()));
            }
        }
    }
    targets.sort_by_key(|n| n.to_string());
    targets.dedup();
    for t in &targets {
        nm.remove_endpoint(space, t);
    }
    Ok(())
}
