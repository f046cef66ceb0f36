//! ProcessConnectionConfigurationSets (§6.7.5) and the processing of a set (§6.7.3).
//!
//! The method checks each set (Table 86), starts transition 1 (or 4 from Error) with a
//! ProcessingStarted event and returns at once; a spawned task then processes the set and ends
//! with transition 2 (ProcessingSucceeded) or 3 (ProcessingFailed).
//!
//! Actions: ActionEstablishConnectionsEnabled (0), …Disabled (1) and ActionEstablishConnections
//! (2) establish the set's connections (with a PubSub communication model through the E.2.2
//! handshake of [`super::flow`], the readers and writers enabled by 0 and 2);
//! ActionRemoveConnections (3) closes and removes the set's endpoints, ActionEnableConnections
//! (4) enables their communication and ActionDisableConnections (5) disables it. A set being
//! edited is not processed.
//!
//! Target components are local or on upstream servers ([`super::target`]); a lost upstream
//! session, an unresolvable remote node or an Uncertain/Bad remote result fails the run like a
//! local failure.

use std::sync::Arc;

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::MethodCall;
use opcua::sync::RwLock;
use opcua::types::{DateTime, NodeId, ObjectId, QualifiedName, StatusCode, Variant};

use super::events::SetEvent;
use super::flow;
use super::remote::resolve::Depth;
use super::remote::set::Which;
use super::remote::{self, RemoteError};
use super::resolve::ResolveError;
use super::state::{self, State, Transition};
use super::target::{self, Created, Target};
use super::calls::{self, At};
use super::Set;
use super::diagnostics::{self, ConnectionOutcome, EndpointOutcome};
use crate::{args, health};
use crate::node_manager::{FxNodeManager, FxNodeManagerImpl};

/// What a Process call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// ActionEstablishConnectionsEnabled (0), …Disabled (1) or ActionEstablishConnections (2).
    Establish(i32),
    /// ActionRemoveConnections (3).
    Remove,
    /// ActionEnableConnections (4): EnableCommunicationCmd on the set's endpoints.
    Enable,
    /// ActionDisableConnections (5): CloseConnections(Remove=FALSE) on them.
    Disable,
}

impl Action {
    /// The FxProcessEnum value, or the method result for an action that is not processed.
    pub fn from_enum(v: i32) -> Result<Self, StatusCode> {
        match v {
            0..=2 => Ok(Action::Establish(v)),
            3 => Ok(Action::Remove),
            4 => Ok(Action::Enable),
            5 => Ok(Action::Disable),
            _ => Err(StatusCode::BadInvalidArgument),
        }
    }

    fn value(self) -> i32 {
        match self {
            Action::Establish(v) => v,
            Action::Remove => 3,
            Action::Enable => 4,
            Action::Disable => 5,
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
    /// A CloseConnections call on an upstream's component did not succeed.
    #[error("CloseConnections on `{component}` returned {status}")]
    Close {
        /// The component (`<upstream>:<component>`).
        component: String,
        /// Its method result.
        status: StatusCode,
    },
    /// Resolving nodes on, or calling, an upstream server failed (or its session is lost).
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// An endpoint was not resolved.
    #[error("{0} was not resolved")]
    Unresolved(String),
    /// The PubSub id handshake of a connection failed.
    #[error(transparent)]
    Flow(#[from] super::flow::FlowError),
}

/// The method: checks the arguments and sets, starts processing, answers at once.
pub fn call(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, call: &mut MethodCall) {
    let Some(cm) = nm.connection_manager() else {
        call.set_status(StatusCode::BadMethodInvalid);
        return;
    };
    let a = call.arguments();
    let (Some(action), Some(sets)) = (a.first().and_then(args::enum_value), a.get(1).and_then(args::node_ids)) else {
        let ok = |b: bool| if b { StatusCode::Good } else { StatusCode::BadTypeMismatch };
        call.set_argument_error(vec![ok(a.first().and_then(args::enum_value).is_some()), ok(a.get(1).and_then(args::node_ids).is_some())]);
        return;
    };
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
            Some(set) => {
                let started = {
                    let mut rt = set.runtime.lock();
                    // a set being edited is not processed (§6.7.4: only committed updates)
                    state::start(rt.state).filter(|_| rt.editor.is_none()).inspect(|_| rt.state = State::Processing)
                };
                match started {
                    Some(t) => {
                        transition(nm, &mut space.write(), &set, t, action.value());
                        let handle = handle.clone();
                        tokio::spawn(async move { run(handle, set, action).await });
                        StatusCode::Good
                    }
                    None => StatusCode::BadInvalidState,
                }
            }
            None => {
                if nm.exists(&space.read(), id) {
                    StatusCode::BadInvalidArgument
                } else {
                    StatusCode::BadNodeIdUnknown
                }
            }
        };
        results.push(result);
    }
    let status = if results.iter().all(|r| r.is_good()) { StatusCode::Good } else { StatusCode::Uncertain };
    call.set_status(status);
    call.set_outputs(vec![Variant::from(results)]);
}

/// Applies `t` to `set`: its state variables, AggregatedCurrentState, and the event.
fn transition(nm: &FxNodeManagerImpl, space: &mut AddressSpace, set: &Set, t: Transition, action: i32) {
    let Some(cm) = nm.connection_manager() else { return };
    let ns = nm.model().ns;
    let mut values = set.machine.transition_values(&ns, t, DateTime::now());
    let any_error = cm.any_error();
    values.push((cm.aggregated_current_state.clone(), any_error.into()));
    nm.set_values(space, values);
    let event = SetEvent::new(&ns, t, &cm.node, &set.node, &set.name, action);
    if let Some(subs) = nm.subscriptions() {
        let server: NodeId = ObjectId::Server.into();
        subs.notify_events([(&event as &dyn opcua::nodes::Event, &cm.node), (&event as &dyn opcua::nodes::Event, &server)].into_iter());
    }
    tracing::info!(set = %set.name, transition = t.describe().0, "FX ConnectionConfigurationSet");
}

/// Processes `set` and ends its run with transition 2 or 3.
async fn run(handle: Arc<FxNodeManager>, set: Arc<Set>, action: Action) {
    let nm = handle.inner();
    let space = handle.address_space();
    let outcome = match action {
        Action::Establish(v) => establish_set(nm, space, &set, v).await,
        Action::Remove => endpoints_action(nm, space, &set, 3).await,
        Action::Enable => endpoints_action(nm, space, &set, 4).await,
        Action::Disable => endpoints_action(nm, space, &set, 5).await,
    };
    let t = match &outcome {
        Ok(()) => Transition::ProcessingToReady,
        Err(e) => {
            tracing::warn!(set = %set.name, error = %e, "FX ConnectionConfigurationSet processing failed");
            Transition::ProcessingToError
        }
    };
    set.runtime.lock().state = t.to();
    transition(nm, &mut space.write(), &set, t, action.value());
}

/// Resolves the set (its remote endpoints over the upstreams' sessions first, without holding
/// any lock), verifies its assets, then creates its endpoints connection by connection; on a
/// failure stops, and with RollbackOnError removes what this run created, locally and remotely.
/// The set's ConnectionsDiagnostics tell what happened to each connection.
async fn establish_set(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, set: &Set, action: i32) -> Result<(), Failure> {
    let mut diag = Outcomes::new(&set.config);
    let remotes = match remote::set::resolve_located(nm.aggregator(), &set.config, Depth::Full).await {
        Ok(r) => r,
        Err((e, at)) => {
            diag.fail(Some(at), diagnostics::remote_error(&e));
            diag.write(nm, space, set, action);
            return Err(e.into());
        }
    };
    let planned = calls::plan_set(nm, &space.read(), set, &remotes);
    let calls = match planned {
        Ok(c) => c,
        Err((f, at)) => {
            diag.fail(at, diagnostics::failure_error(&f));
            diag.write(nm, space, set, action);
            return Err(f);
        }
    };
    let targets: Vec<(At, String)> = calls.iter().map(|(at, c)| (*at, c.target.name(nm))).collect();
    let steps = flow::sequence(&set.config, calls);
    let mut flows = flow::Flows::default();
    let mut created = Vec::new();
    let mut failure = None;
    for (at, stage, mut c) in steps {
        if let Err(e) = flows.prepare(&set.config, stage, &mut c, action) {
            let f = Failure::Flow(e);
            diag.fail(at, diagnostics::failure_error(&f));
            failure = Some(f);
            break;
        }
        let out = match target::establish(nm, space, &c.target, &c.request).await {
            Ok(out) => out,
            Err(e) => {
                diag.fail(at, diagnostics::remote_error(&e));
                failure = Some(Failure::Remote(e));
                break;
            }
        };
        let made = out.endpoints.iter().map(|r| r.connection_endpoint_id.clone()).filter(|n| !n.is_null());
        let fe = c.request.endpoints.first().map(|e| e.functional_entity_node.clone()).unwrap_or_default();
        created.extend(made.map(|node| Created { target: c.target.clone(), node, fe: fe.clone() }));
        if out.status != StatusCode::Good {
            let error = diagnostics::establish_error(&out);
            match at {
                Some(_) => diag.fail(at, error),
                // a failed asset verification: the ends on that component are affected
                None => {
                    let name = c.target.name(nm);
                    for (end, _) in targets.iter().filter(|(e, t)| e.is_some() && t == &name) {
                        diag.fail(*end, error);
                    }
                }
            }
            failure = Some(Failure::Establish { component: c.target.name(nm), status: out.status });
            break;
        }
        if let Err(e) = flows.record(&set.config, stage, &out) {
            let f = Failure::Flow(e);
            diag.fail(at, diagnostics::failure_error(&f));
            failure = Some(f);
            break;
        }
        if !matches!(stage, flow::Stage::Reserve(_)) {
            diag.done(at);
        }
    }
    let result = match failure {
        None => {
            set.runtime.lock().created.extend(created);
            Ok(())
        }
        Some(f) => {
            if set.config.rollback_on_error {
                if let Err(e) = target::close(nm, space, &created, true).await {
                    tracing::warn!(set = %set.name, error = %e, "FX rollback");
                }
                diag.rolled_back();
            } else {
                set.runtime.lock().created.extend(created);
            }
            Err(f)
        }
    };
    diag.write(nm, space, set, action);
    result
}

/// What a run did to each end of each connection of a set (for ConnectionsDiagnostics).
struct Outcomes {
    ends: Vec<[Option<EndpointOutcome>; 2]>,
    two: Vec<bool>,
    names: Vec<String>,
}

impl Outcomes {
    fn new(cfg: &crate::config::cm::ConnectionSetConfig) -> Self {
        Self {
            ends: cfg.connection.iter().map(|_| [None, None]).collect(),
            two: cfg.connection.iter().map(|c| c.endpoint2.is_some()).collect(),
            names: cfg.connection.iter().map(|c| c.name.clone()).collect(),
        }
    }

    fn slot(&mut self, at: At) -> Option<&mut Option<EndpointOutcome>> {
        let (j, which) = at?;
        self.ends.get_mut(j).map(|e| &mut e[if which == Which::One { 0 } else { 1 }])
    }

    fn done(&mut self, at: At) {
        if let Some(s) = self.slot(at) {
            *s = Some(EndpointOutcome::Done);
        }
    }

    /// End `at` failed (None: the failure concerns no end in particular, e.g. a set-wide one).
    fn fail(&mut self, at: At, (error, status): (crate::types::FxErrorEnum, StatusCode)) {
        let failed = EndpointOutcome::Failed { error, status };
        match self.slot(at) {
            Some(s) => *s = Some(failed),
            None => {
                for e in &mut self.ends {
                    e[0].get_or_insert(failed);
                }
            }
        }
    }

    /// The ends this run had established were removed again.
    fn rolled_back(&mut self) {
        for e in self.ends.iter_mut().flatten() {
            if *e == Some(EndpointOutcome::Done) {
                *e = Some(EndpointOutcome::RolledBack);
            }
        }
    }

    /// Every end of every connection with `o`.
    fn all(&mut self, o: EndpointOutcome) {
        for e in self.ends.iter_mut().flatten() {
            *e = Some(o);
        }
    }

    /// Writes `set`'s ConnectionsDiagnostics after a run of `action`; ends the run did not
    /// reach were stopped by a failure elsewhere.
    fn write(&self, nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, set: &Set, action: i32) {
        let ns = nm.model().ns;
        let list = self
            .ends
            .iter()
            .zip(&self.two)
            .zip(&self.names)
            .map(|((e, two), name)| {
                let stopped = |o: Option<EndpointOutcome>| o.unwrap_or(EndpointOutcome::Stopped);
                let outcome = ConnectionOutcome { endpoint1: stopped(e[0]), endpoint2: two.then(|| stopped(e[1])) };
                let exists = |o: EndpointOutcome| (o == EndpointOutcome::Done && action != 3).then_some(health::status::INITIAL);
                let state = diagnostics::connection_state(exists(outcome.endpoint1), outcome.endpoint2.and_then(exists), *two);
                diagnostics::diagnostics(QualifiedName::new(ns.instances, name.as_str()), action, &outcome, state)
            })
            .collect();
        nm.set_values(&mut space.write(), vec![(set.diagnostics.clone(), diagnostics::value(list))]);
    }
}

/// ActionRemoveConnections (3), ActionEnableConnections (4) or ActionDisableConnections (5) on
/// every endpoint of the set that exists (found by FunctionalEntity and name, locally and on the
/// upstreams), and on those its runs created: CloseConnections(Remove=TRUE),
/// EnableCommunicationCmd, CloseConnections(Remove=FALSE).
pub async fn endpoints_action(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, set: &Set, action: i32) -> Result<(), Failure> {
    let remotes = remote::set::resolve(nm.aggregator(), &set.config, Depth::Entity).await?;
    let mut targets: Vec<Created> = set.runtime.lock().created.clone();
    for (j, conn) in set.config.connection.iter().enumerate() {
        let ends = [(Which::One, Some(&conn.endpoint1)), (Which::Two, conn.endpoint2.as_ref())];
        for (which, e) in ends {
            let (Some(e), Some(ep)) = (e, remotes.get(j, which)) else { continue };
            let Some(r) = remotes.remote(&e.server) else { continue };
            if let Some(node) = remote::resolve::existing(r, &ep.ac, &ep.fe, &e.name).await? {
                targets.push(Created { target: Target::Remote(ep.ac.clone()), node, fe: ep.fe.clone() });
            }
        }
    }
    targets.extend(calls::local_endpoints(nm, &space.read(), set)?);
    let key = |c: &Created| format!("{}|{}", c.target.name(nm), c.node);
    targets.sort_by_key(key);
    targets.dedup_by(|a, b| key(a) == key(b));
    let mut diag = Outcomes::new(&set.config);
    let done = match action {
        3 => target::close(nm, space, &targets, true).await,
        4 => target::enable(nm, space, &targets).await,
        _ => target::close(nm, space, &targets, false).await,
    };
    match done {
        Ok(()) => {
            diag.all(EndpointOutcome::Done);
            diag.write(nm, space, set, action);
            if action == 3 {
                set.runtime.lock().created.clear();
            }
            Ok(())
        }
        Err(e) => {
            diag.fail(None, diagnostics::failure_error(&e));
            diag.write(nm, space, set, action);
            Err(e)
        }
    }
}
