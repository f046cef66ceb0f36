//! ConnectionsDiagnostics of a ConnectionConfigurationSet (OPC 10000-81 §10.19, §10.20): what
//! the last run did to each Connection, computed from the run's outcome per endpoint.

use opcua::types::{QualifiedName, StatusCode, Variant};

use crate::health::status;
use crate::types::{ConnectionDiagnosticsDataType, ConnectionStateEnum, FxErrorEnum, LastActivityMask};

/// What the last run did to one endpoint of a Connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointOutcome {
    /// All its operations succeeded.
    Done,
    /// One of its operations failed.
    Failed {
        /// Which kind of operation.
        error: FxErrorEnum,
        /// The StatusCode of the failure.
        status: StatusCode,
    },
    /// Skipped because of a failure elsewhere in the set.
    Stopped,
    /// Established, then removed by the rollback of the set.
    RolledBack,
}

/// The run's outcome for a Connection: Endpoint1 and (if the Connection has one) Endpoint2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionOutcome {
    /// Endpoint1.
    pub endpoint1: EndpointOutcome,
    /// Endpoint2.
    pub endpoint2: Option<EndpointOutcome>,
}

impl ConnectionOutcome {
    /// Both endpoints (the second only if the Connection has one) with the same outcome.
    pub fn all(o: EndpointOutcome, two: bool) -> Self {
        Self { endpoint1: o, endpoint2: two.then_some(o) }
    }

    fn failed(&self) -> bool {
        std::iter::once(self.endpoint1).chain(self.endpoint2).any(|o| o != EndpointOutcome::Done)
    }
}

/// The LastActivityMask bit of an FxProcessEnum action (0 EstablishEnabled … 5 Disable).
pub fn activity(action: i32) -> LastActivityMask {
    match action {
        0 => LastActivityMask::EstablishEnabled,
        1 => LastActivityMask::EstablishDisabled,
        2 => LastActivityMask::Establish,
        3 => LastActivityMask::Remove,
        4 => LastActivityMask::Enable,
        _ => LastActivityMask::Disable,
    }
}

/// ConnectionStateEnum of a Connection from its endpoints' Status (None: the endpoint does not
/// exist), by the table of §10.20 (Figure 58).
pub fn connection_state(endpoint1: Option<i32>, endpoint2: Option<i32>, two: bool) -> ConnectionStateEnum {
    use ConnectionStateEnum as C;
    let (Some(a), Some(b)) = (endpoint1, if two { endpoint2 } else { endpoint1 }) else {
        return C::ConnectionNotEstablished;
    };
    if a == status::INITIAL || b == status::INITIAL {
        return C::ConnectionInitial;
    }
    if a == status::ERROR || b == status::ERROR {
        return C::ConnectionError;
    }
    match a.min(b) {
        status::READY => C::ConnectionReady,
        status::PRE_OPERATIONAL => C::ConnectionPreOperational,
        _ => C::ConnectionOperational,
    }
}

/// The diagnostics element of Connection `name` after a run of `action` with `outcome`, its
/// endpoints now in the states `state`.
pub fn diagnostics(name: QualifiedName, action: i32, outcome: &ConnectionOutcome, state: ConnectionStateEnum) -> ConnectionDiagnosticsDataType {
    let mut last_activity = activity(action);
    if outcome.failed() {
        last_activity |= LastActivityMask::Error;
    }
    let (error_endpoint1, endpoint1_status) = error_of(outcome.endpoint1);
    let (error_endpoint2, endpoint2_status) = outcome.endpoint2.map_or((FxErrorEnum::NoError, StatusCode::Good), error_of);
    ConnectionDiagnosticsDataType {
        name,
        last_activity,
        connection_state: state,
        error_endpoint1,
        endpoint1_status,
        error_endpoint2,
        endpoint2_status,
    }
}

/// The element of a Connection no run has touched yet: LastActivity 0, NotEstablished.
pub fn initial(name: QualifiedName) -> ConnectionDiagnosticsDataType {
    ConnectionDiagnosticsDataType {
        name,
        last_activity: LastActivityMask::empty(),
        connection_state: ConnectionStateEnum::ConnectionNotEstablished,
        error_endpoint1: FxErrorEnum::NoError,
        endpoint1_status: StatusCode::Good,
        error_endpoint2: FxErrorEnum::NoError,
        endpoint2_status: StatusCode::Good,
    }
}

/// The value of a ConnectionsDiagnostics variable.
pub fn value(list: Vec<ConnectionDiagnosticsDataType>) -> Variant {
    crate::values::structure_array(list)
}

/// ErrorEndpoint and EndpointStatus of an endpoint outcome (§10.19 rules).
fn error_of(o: EndpointOutcome) -> (FxErrorEnum, StatusCode) {
    match o {
        EndpointOutcome::Done => (FxErrorEnum::NoError, StatusCode::Good),
        EndpointOutcome::Failed { error, status } => (error, status),
        EndpointOutcome::Stopped => (FxErrorEnum::ProcessingStopped, StatusCode::Good),
        EndpointOutcome::RolledBack => (FxErrorEnum::Rollback, StatusCode::Good),
    }
}

/// The FxErrorEnum and StatusCode of the first failing command of an EstablishConnections call,
/// judged from its results: a VerifyAsset failure, else the first failing result of the
/// endpoint in processing order.
pub fn establish_error(outcome: &crate::establish::Outcome) -> (FxErrorEnum, StatusCode) {
    let bad = |s: StatusCode| s.is_bad() && s != StatusCode::BadNothingToDo;
    if let Some(a) = outcome.assets.iter().find(|a| a.verification_status.is_bad() || a.verification_result != crate::types::AssetVerificationResultEnum::Match) {
        let s = if a.verification_status.is_bad() { a.verification_status } else { StatusCode::BadNoMatch };
        return (FxErrorEnum::VerifyAssetError, s);
    }
    if let Some(r) = outcome.reserve.iter().find(|r| bad(r.result)) {
        return (FxErrorEnum::ReserveCommunicationIdsError, r.result);
    }
    for r in &outcome.endpoints {
        if bad(r.functional_entity_node_result) {
            return (FxErrorEnum::CreateConnectionEndpointError, r.functional_entity_node_result);
        }
        if bad(r.verification_status) || r.verification_result == crate::types::FunctionalEntityVerificationResultEnum::Mismatch {
            let s = if r.verification_status.is_bad() { r.verification_status } else { StatusCode::BadNoMatch };
            return (FxErrorEnum::VerifyFunctionalEntityError, s);
        }
        if bad(r.connection_endpoint_result) {
            return (FxErrorEnum::CreateConnectionEndpointError, r.connection_endpoint_result);
        }
        if let Some(s) = r.establish_control_result.iter().flatten().copied().find(|s| bad(*s)) {
            return (FxErrorEnum::EstablishControlError, s);
        }
        if let Some(s) = r.configuration_data_result.iter().flatten().copied().find(|s| bad(*s)) {
            return (FxErrorEnum::SetConfigurationDataError, s);
        }
        if let Some(s) = r.reassign_control_result.iter().flatten().copied().find(|s| bad(*s)) {
            return (FxErrorEnum::ReassignControlError, s);
        }
        if bad(r.communication_links_result) {
            return (FxErrorEnum::SetCommunicationConfigurationError, r.communication_links_result);
        }
        if bad(r.enable_communication_result) {
            return (FxErrorEnum::EnableCommunicationError, r.enable_communication_result);
        }
    }
    if let Some(c) = outcome.communication.iter().find(|c| bad(c.result)) {
        return (FxErrorEnum::SetCommunicationConfigurationError, c.result);
    }
    (FxErrorEnum::RuntimeError, outcome.status)
}

/// FxErrorEnum and StatusCode of a failure to resolve or reach a remote endpoint.
pub fn remote_error(e: &super::remote::RemoteError) -> (FxErrorEnum, StatusCode) {
    use super::remote::RemoteError as R;
    match e {
        R::UnknownServer(_) | R::NotConnected(_) => (FxErrorEnum::TargetServerConnectionError, StatusCode::BadNotConnected),
        R::Service { status, .. } => (FxErrorEnum::TargetServerConnectionError, *status),
        R::UnknownNamespace { .. } => (FxErrorEnum::ResolvingNamespacesError, StatusCode::BadNoMatch),
        R::NoMatch { .. } | R::Ambiguous { .. } => (FxErrorEnum::ResolvingPathsError, StatusCode::BadNoMatch),
        R::InvalidNodeId(_) => (FxErrorEnum::ResolvingPathsError, StatusCode::BadNodeIdInvalid),
        R::Answer { .. } => (FxErrorEnum::ResolvingPathsError, StatusCode::BadInvalidArgument),
    }
}

/// FxErrorEnum and StatusCode of a failure to plan a set (resolving its local nodes).
pub fn failure_error(f: &super::process::Failure) -> (FxErrorEnum, StatusCode) {
    use super::process::Failure as F;
    use super::resolve::ResolveError as L;
    match f {
        F::Resolve(L::UnknownNamespace(_)) => (FxErrorEnum::ResolvingNamespacesError, StatusCode::BadNoMatch),
        F::Resolve(L::InvalidNodeId(_)) => (FxErrorEnum::ResolvingPathsError, StatusCode::BadNodeIdInvalid),
        F::Resolve(L::NoMatch(_) | L::Ambiguous(_)) => (FxErrorEnum::ResolvingPathsError, StatusCode::BadNoMatch),
        F::Resolve(L::Wrong(_)) | F::Unresolved(_) => (FxErrorEnum::ResolvingPathsError, StatusCode::BadInvalidArgument),
        F::Remote(e) => remote_error(e),
        F::Establish { status, .. } => (FxErrorEnum::CreateConnectionEndpointError, *status),
        F::Close { status, .. } => (FxErrorEnum::CloseConnectionError, *status),
        F::Flow(_) => (FxErrorEnum::SetCommunicationConfigurationError, StatusCode::BadConfigurationError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_state_follows_figure_58() {
        use ConnectionStateEnum as C;
        assert_eq!(connection_state(None, None, true), C::ConnectionNotEstablished);
        assert_eq!(connection_state(Some(status::INITIAL), None, true), C::ConnectionNotEstablished);
        assert_eq!(connection_state(Some(status::INITIAL), Some(status::OPERATIONAL), true), C::ConnectionInitial);
        assert_eq!(connection_state(Some(status::READY), Some(status::ERROR), true), C::ConnectionError);
        assert_eq!(connection_state(Some(status::OPERATIONAL), Some(status::PRE_OPERATIONAL), true), C::ConnectionPreOperational);
        assert_eq!(connection_state(Some(status::OPERATIONAL), Some(status::OPERATIONAL), true), C::ConnectionOperational);
        assert_eq!(connection_state(Some(status::READY), None, false), C::ConnectionReady, "one endpoint only");
    }

    #[test]
    fn diagnostics_follow_the_rules_of_10_19() {
        let q = QualifiedName::new(8, "C");
        let ok = diagnostics(q.clone(), 1, &ConnectionOutcome::all(EndpointOutcome::Done, true), ConnectionStateEnum::ConnectionInitial);
        assert_eq!(ok.last_activity, LastActivityMask::EstablishDisabled);
        assert_eq!((ok.error_endpoint1, ok.endpoint1_status), (FxErrorEnum::NoError, StatusCode::Good));
        let failed = ConnectionOutcome {
            endpoint1: EndpointOutcome::Failed { error: FxErrorEnum::ResolvingPathsError, status: StatusCode::BadNoMatch },
            endpoint2: Some(EndpointOutcome::Stopped),
        };
        let d = diagnostics(q.clone(), 1, &failed, ConnectionStateEnum::ConnectionNotEstablished);
        assert_eq!(d.last_activity.bits(), 0x8002);
        assert_eq!((d.error_endpoint1, d.endpoint1_status), (FxErrorEnum::ResolvingPathsError, StatusCode::BadNoMatch));
        assert_eq!((d.error_endpoint2, d.endpoint2_status), (FxErrorEnum::ProcessingStopped, StatusCode::Good));
        let rolled = diagnostics(q, 2, &ConnectionOutcome::all(EndpointOutcome::RolledBack, false), ConnectionStateEnum::ConnectionNotEstablished);
        assert_eq!(rolled.last_activity.bits(), 0x8004);
        assert_eq!((rolled.error_endpoint1, rolled.error_endpoint2), (FxErrorEnum::Rollback, FxErrorEnum::NoError));
    }
}
