//! EstablishConnections (OPC 10000-81 §6.2.4): the commands of a call processed in the order
//! of §6.2.4.3.1, abort at the first failing command with Bad_NothingToDo for everything not
//! executed, and rollback of the endpoints created in the call (§6.2.4.3.11, Table 21).
//!
//! ReserveCommunicationIdsCmd reserves ids on the `[[pubsub]]` connection set aside for FX (the
//! PubSub plug-in's service; rolled back with the call). SetCommunicationConfigurationCmd applies
//! a PubSub configuration there and links the endpoints to its readers and writers, and
//! EnableCommunicationCmd switches them on ([`comm`], [`crate::communication`]); both are
//! rolled back with the call. EstablishControlCmd takes the named ControlGroups for the caller
//! (released again on rollback), ReassignControlCmd gives them to the endpoint
//! ([`crate::control`]).

mod comm;
pub mod request;
pub mod reserve;

use async_trait::async_trait;
use opcua::types::{ExtensionObject, NodeId, StatusCode, Variant};

use crate::types::{
    AssetVerificationDataType, AssetVerificationResultDataType, AssetVerificationResultEnum,
    ConnectionEndpointConfigurationDataType, ConnectionEndpointConfigurationResultDataType,
    ConnectionEndpointDefinitionDataType, FunctionalEntityVerificationResultEnum, FxCommandMask, NodeIdValuePair,
    PubSubCommunicationConfigurationResultDataType, PubSubReserveCommunicationIdsDataType, PubSubReserveCommunicationIdsResultDataType,
};
use crate::verify::FeVerdict;
pub use request::Request;

/// What EstablishConnections needs of the AutomationComponent it is called on.
#[async_trait]
pub trait Host: Send + Sync {
    /// ComponentCapabilities.MaxConnectionsPerCall (0: not limited).
    fn max_connections_per_call(&self) -> u32;
    /// VerifyAsset on `v.asset_to_verify` (Table 10: Bad_NodeIdUnknown, Bad_NodeIdInvalid,
    /// Bad_InvalidArgument in VerificationStatus when it is no Asset of this component).
    fn verify_asset(&self, v: &AssetVerificationDataType) -> AssetVerificationResultDataType;
    /// FunctionalEntityNodeResult (Table 11) of `fe`.
    fn entity(&self, fe: &NodeId) -> StatusCode;
    /// Verify on the FunctionalEntity `fe` (which [`Host::entity`] found).
    fn verify_entity(&self, fe: &NodeId, expected: &[NodeIdValuePair]) -> FeVerdict;
    /// Creates the endpoint described by `parameter` in `fe` (Table 12 errors).
    fn create_endpoint(&self, fe: &NodeId, parameter: &ExtensionObject) -> Result<NodeId, StatusCode>;
    /// Checks that `endpoint` is a ConnectionEndpoint of `fe` (Table 12 errors).
    fn endpoint(&self, fe: &NodeId, endpoint: &NodeId) -> StatusCode;
    /// Deletes an endpoint created by this call (rollback).
    fn delete_endpoint(&self, endpoint: &NodeId);
    /// Writes one ConfigurationData pair of `fe` (Table 14 errors).
    async fn set_configuration(&self, fe: &NodeId, pair: &NodeIdValuePair) -> StatusCode;
    /// Reserves the PubSub ids of one ReserveCommunicationIds request (its Result on failure:
    /// Bad_NotSupported without a PubSub connection for FX or for another transport,
    /// Bad_ResourceUnavailable when the ids run out).
    fn reserve_ids(&self, request: &PubSubReserveCommunicationIdsDataType) -> Result<fxgate_plugin::Reservation, StatusCode>;
    /// Gives reserved ids back (rollback).
    fn release_ids(&self, reservation: &fxgate_plugin::Reservation);
    /// SetCommunicationConfigurationCmd: applies `configuration` and links each target
    /// endpoint (with its CommunicationLinks) to its reader and writer.
    fn set_communication(
        &self,
        configuration: &ExtensionObject,
        targets: &[(Option<NodeId>, &ExtensionObject)],
    ) -> crate::communication::SetOutcome;
    /// Deletes what [`Host::set_communication`] made (rollback).
    fn undo_communication(&self, undo: &crate::communication::Undo);
    /// EnableCommunicationCmd on one endpoint: the objects it switched on (Table 17 errors).
    fn enable_communication(&self, endpoint: &NodeId) -> Result<Vec<fxgate_plugin::PubSubObject>, StatusCode>;
    /// Switches objects off again (rollback).
    fn disable_communication(&self, objects: &[fxgate_plugin::PubSubObject]);
    /// EstablishControl of ControlGroup `group` of `fe` for the caller (Table 13; Bad_Locked
    /// when it, or a group sharing a variable, is controlled by someone else).
    fn establish_control(&self, fe: &NodeId, group: &NodeId) -> StatusCode;
    /// ReassignControl of `group` of `fe` to the endpoint `endpoint` (Table 15;
    /// Bad_InvalidState when it is not controlled).
    fn reassign_control(&self, fe: &NodeId, group: &NodeId, endpoint: &NodeId) -> StatusCode;
    /// ReleaseControl of `group` (rollback).
    fn release_control(&self, group: &NodeId);
}

/// The outcome of a call: the method result and the four output arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Good, Uncertain (aborted), Bad_InvalidArgument or Bad_TooManyOperations.
    pub status: StatusCode,
    /// AssetVerificationResults.
    pub assets: Vec<AssetVerificationResultDataType>,
    /// ConnectionEndpointConfigurationResults.
    pub endpoints: Vec<ConnectionEndpointConfigurationResultDataType>,
    /// ReserveCommunicationIdsResults.
    pub reserve: Vec<PubSubReserveCommunicationIdsResultDataType>,
    /// Per reservation: the TransportSpecificInfo of a second-version answer (None: the request
    /// was the first version).
    pub reserve_info: Vec<Option<Variant>>,
    /// CommunicationConfigurationResults.
    pub communication: Vec<PubSubCommunicationConfigurationResultDataType>,
}

impl Outcome {
    /// An outcome without results.
    pub fn bad(status: StatusCode) -> Self {
        Self { status, assets: vec![], endpoints: vec![], reserve: vec![], reserve_info: vec![], communication: vec![] }
    }

    /// ReserveCommunicationIdsResults as the output argument: each in its request's version.
    pub fn reserve_results(&self) -> Vec<ExtensionObject> {
        self.reserve.iter().enumerate().map(|(i, r)| reserve::result_object(r, self.reserve_info.get(i).and_then(Option::as_ref))).collect()
    }
}

/// The commands in processing order (§6.2.4.3.1).
const ORDER: [FxCommandMask; 9] = [
    FxCommandMask::VerifyAssetCmd,
    FxCommandMask::VerifyFunctionalEntityCmd,
    FxCommandMask::ReserveCommunicationIdsCmd,
    FxCommandMask::CreateConnectionEndpointCmd,
    FxCommandMask::EstablishControlCmd,
    FxCommandMask::SetConfigurationDataCmd,
    FxCommandMask::ReassignControlCmd,
    FxCommandMask::SetCommunicationConfigurationCmd,
    FxCommandMask::EnableCommunicationCmd,
];

/// Runs an EstablishConnections call on `host`.
pub async fn establish(host: &dyn Host, req: &Request) -> Outcome {
    if let Err(e) = req.check() {
        return Outcome::bad(e);
    }
    let max = host.max_connections_per_call();
    if max > 0 && req.endpoints.len() > max as usize {
        return Outcome::bad(StatusCode::BadTooManyOperations);
    }
    let mut run = Run::new(req);
    for cmd in ORDER {
        if !req.mask.contains(cmd) {
            continue;
        }
        let ok = if run.aborted {
            run.skip(cmd);
            true
        } else {
            run.execute(host, cmd).await
        };
        if !ok {
            run.aborted = true;
        }
    }
    if run.aborted {
        run.rollback(host);
    }
    Outcome {
        status: if run.aborted { StatusCode::Uncertain } else { StatusCode::Good },
        assets: run.assets,
        endpoints: run.endpoints,
        reserve: run.reserve,
        reserve_info: run.reserve_info,
        communication: run.communication,
    }
}

/// The state of one call.
struct Run<'a> {
    req: &'a Request,
    aborted: bool,
    assets: Vec<AssetVerificationResultDataType>,
    endpoints: Vec<ConnectionEndpointConfigurationResultDataType>,
    reserve: Vec<PubSubReserveCommunicationIdsResultDataType>,
    reserve_info: Vec<Option<Variant>>,
    communication: Vec<PubSubCommunicationConfigurationResultDataType>,
    /// The endpoint each configuration works on (created or given), by index.
    targets: Vec<Option<NodeId>>,
    /// Endpoints created by this call.
    created: Vec<NodeId>,
    /// PubSub ids reserved by this call.
    reserved: Vec<fxgate_plugin::Reservation>,
    /// The communication configuration applied by this call.
    applied: Option<crate::communication::Undo>,
    /// The readers and writers enabled by this call.
    enabled: Vec<fxgate_plugin::PubSubObject>,
    /// The ControlGroups this call took control of.
    controlled: Vec<NodeId>,
}

impl<'a> Run<'a> {
    fn new(req: &'a Request) -> Self {
        let endpoints = if req.mask.intersects(request::endpoint_commands()) {
            req.endpoints.iter().map(|_| initial_result()).collect()
        } else {
            Vec::new()
        };
        let targets = req
            .endpoints
            .iter()
            .map(|e| match &e.connection_endpoint {
                ConnectionEndpointDefinitionDataType::Node(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        Self {
            req,
            aborted: false,
            assets: Vec::new(),
            endpoints,
            reserve: Vec::new(),
            reserve_info: Vec::new(),
            communication: Vec::new(),
            targets,
            created: Vec::new(),
            reserved: Vec::new(),
            applied: None,
            enabled: Vec::new(),
            controlled: Vec::new(),
        }
    }

    /// Executes `cmd`; false when it failed (the call aborts).
    async fn execute(&mut self, host: &dyn Host, cmd: FxCommandMask) -> bool {
        match cmd {
            FxCommandMask::VerifyAssetCmd => self.verify_assets(host),
            FxCommandMask::VerifyFunctionalEntityCmd => self.verify_entities(host),
            FxCommandMask::ReserveCommunicationIdsCmd => self.reserve_ids(host),
            FxCommandMask::CreateConnectionEndpointCmd => self.create(host),
            FxCommandMask::EstablishControlCmd => self.control(host, true),
            FxCommandMask::SetConfigurationDataCmd => self.configure(host).await,
            FxCommandMask::ReassignControlCmd => self.control(host, false),
            FxCommandMask::SetCommunicationConfigurationCmd => self.set_communication(host),
            _ => self.enable_communication(host),
        }
    }

    /// Marks the results of a command that was not executed (abort): Bad_NothingToDo.
    fn skip(&mut self, cmd: FxCommandMask) {
        let nothing = StatusCode::BadNothingToDo;
        match cmd {
            FxCommandMask::VerifyAssetCmd => {}
            FxCommandMask::ReserveCommunicationIdsCmd => {
                self.reserve = self.req.reserve.iter().map(|_| reserve_result(nothing)).collect();
                self.reserve_info = self.req.reserve.iter().map(|eo| reserve::parse(eo).and_then(|r| reserve::info(r.v2, None))).collect();
            }
            FxCommandMask::SetCommunicationConfigurationCmd => {
                self.communication = vec![communication_result(nothing)];
                for r in &mut self.endpoints {
                    r.communication_links_result = nothing;
                }
            }
            _ => {
                for (r, e) in self.endpoints.iter_mut().zip(&self.req.endpoints) {
                    skip_endpoint(r, e, cmd);
                }
            }
        }
    }

    fn verify_assets(&mut self, host: &dyn Host) -> bool {
        let mut ok = true;
        for v in &self.req.assets {
            let r = host.verify_asset(v);
            let expected_match = v.expected_verification_result == AssetVerificationResultEnum::Match;
            let result_ok = match r.verification_result {
                AssetVerificationResultEnum::Match => true,
                AssetVerificationResultEnum::Compatible => !expected_match,
                _ => false,
            };
            if r.verification_status.is_bad() || !result_ok {
                ok = false;
            }
            self.assets.push(r);
        }
        ok
    }

    fn verify_entities(&mut self, host: &dyn Host) -> bool {
        let mut ok = true;
        for (r, e) in self.endpoints.iter_mut().zip(&self.req.endpoints) {
            r.functional_entity_node_result = host.entity(&e.functional_entity_node);
            if r.functional_entity_node_result.is_bad() {
                r.verification_result = FunctionalEntityVerificationResultEnum::Mismatch;
                ok = false;
                continue;
            }
            let expected = e.expected_verification_variables.as_deref().unwrap_or_default();
            if expected.is_empty() {
                r.verification_status = StatusCode::GoodNoData;
                continue;
            }
            let v = host.verify_entity(&e.functional_entity_node, expected);
            r.verification_status = v.status;
            r.verification_result = v.result.unwrap_or(FunctionalEntityVerificationResultEnum::NotSet);
            let populated = !v.errors.is_empty();
            r.verification_variables_errors = populated.then_some(v.errors);
            let failed = match r.verification_result {
                FunctionalEntityVerificationResultEnum::Mismatch => true,
                FunctionalEntityVerificationResultEnum::NotSet => populated,
                FunctionalEntityVerificationResultEnum::Match => false,
            };
            if failed || v.status.is_bad() {
                ok = false;
            }
        }
        ok
    }

    /// CreateConnectionEndpointCmd: stops at the first error.
    fn create(&mut self, host: &dyn Host) -> bool {
        let mut failed = false;
        for (i, e) in self.req.endpoints.iter().enumerate() {
            let r = &mut self.endpoints[i];
            if failed {
                r.connection_endpoint_result = StatusCode::BadNothingToDo;
                continue;
            }
            r.functional_entity_node_result = host.entity(&e.functional_entity_node);
            if r.functional_entity_node_result.is_bad() {
                r.connection_endpoint_result = StatusCode::BadNothingToDo;
                failed = true;
                continue;
            }
            let result = match &e.connection_endpoint {
                ConnectionEndpointDefinitionDataType::Parameter(p) => {
                    host.create_endpoint(&e.functional_entity_node, p).inspect(|id| self.created.push(id.clone()))
                }
                ConnectionEndpointDefinitionDataType::Node(n) => match host.endpoint(&e.functional_entity_node, n) {
                    s if s.is_good() => Ok(n.clone()),
                    s => Err(s),
                },
                ConnectionEndpointDefinitionDataType::Null => Err(StatusCode::BadInvalidArgument),
            };
            match result {
                Ok(id) => {
                    r.connection_endpoint_id = id.clone();
                    self.targets[i] = Some(id);
                }
                Err(s) => {
                    r.connection_endpoint_result = s;
                    failed = true;
                }
            }
        }
        !failed
    }

    /// The endpoint of configuration `i` for the commands after CreateConnectionEndpointCmd:
    /// the one created or given, checked when it was given and not yet checked.
    fn target(&mut self, host: &dyn Host, i: usize) -> Result<NodeId, StatusCode> {
        let e = &self.req.endpoints[i];
        let Some(id) = self.targets[i].clone() else {
            return Err(StatusCode::BadInvalidArgument);
        };
        let r = &mut self.endpoints[i];
        if r.connection_endpoint_id.is_null() {
            r.functional_entity_node_result = host.entity(&e.functional_entity_node);
            if r.functional_entity_node_result.is_bad() {
                return Err(StatusCode::BadNothingToDo);
            }
            let s = host.endpoint(&e.functional_entity_node, &id);
            if s.is_bad() {
                return Err(s);
            }
            r.connection_endpoint_id = id.clone();
        }
        Ok(id)
    }

    /// EstablishControlCmd (`establish`, with the caller's ApplicationUri as LockContext) or
    /// ReassignControlCmd (to the endpoint): stops at the first error.
    fn control(&mut self, host: &dyn Host, establish: bool) -> bool {
        let mut failed = false;
        for i in 0..self.req.endpoints.len() {
            let groups = self.req.endpoints[i].control_groups.clone().unwrap_or_default();
            let fe = self.req.endpoints[i].functional_entity_node.clone();
            let target = if failed { Err(StatusCode::BadNothingToDo) } else { self.target(host, i) };
            let mut results = Vec::with_capacity(groups.len());
            match target {
                Err(s) => {
                    if !failed {
                        self.endpoints[i].connection_endpoint_result = s;
                        failed = true;
                    }
                    results.resize(groups.len(), StatusCode::BadNothingToDo);
                }
                Ok(endpoint) => {
                    for g in &groups {
                        if failed {
                            results.push(StatusCode::BadNothingToDo);
                            continue;
                        }
                        let s = if establish { host.establish_control(&fe, g) } else { host.reassign_control(&fe, g, &endpoint) };
                        if s.is_good() && establish {
                            self.controlled.push(g.clone());
                        }
                        failed |= s.is_bad();
                        results.push(s);
                    }
                }
            }
            let r = &mut self.endpoints[i];
            let slot = if establish { &mut r.establish_control_result } else { &mut r.reassign_control_result };
            *slot = (!results.is_empty()).then_some(results);
        }
        !failed
    }

    /// SetConfigurationDataCmd: stops at the first error.
    async fn configure(&mut self, host: &dyn Host) -> bool {
        let mut failed = false;
        for i in 0..self.req.endpoints.len() {
            let e = &self.req.endpoints[i];
            let pairs = e.configuration_data.clone().unwrap_or_default();
            let target = if failed { Err(StatusCode::BadNothingToDo) } else { self.target(host, i) };
            let mut results = Vec::with_capacity(pairs.len());
            match target {
                Err(s) => {
                    if !failed {
                        self.endpoints[i].connection_endpoint_result = s;
                        failed = true;
                    }
                    results.resize(pairs.len(), StatusCode::BadNothingToDo);
                }
                Ok(_) => {
                    for p in &pairs {
                        if failed {
                            results.push(StatusCode::BadNothingToDo);
                            continue;
                        }
                        let s = host.set_configuration(&e.functional_entity_node, p).await;
                        failed |= s.is_bad();
                        results.push(s);
                    }
                }
            }
            self.endpoints[i].configuration_data_result = (!results.is_empty()).then_some(results);
        }
        !failed
    }

    /// Deletes the endpoints created by this call; their ids in the results become null.
    /// ReserveCommunicationIdsCmd: ids for each request, all or the call aborts.
    fn reserve_ids(&mut self, host: &dyn Host) -> bool {
        let mut ok = true;
        let mut results = Vec::with_capacity(self.req.reserve.len());
        let mut infos = Vec::with_capacity(self.req.reserve.len());
        for eo in &self.req.reserve {
            let req = reserve::parse(eo);
            let v2 = req.as_ref().and_then(|r| r.v2);
            let r = match &req {
                None => Err(StatusCode::BadInvalidArgument),
                Some(req) => host.reserve_ids(&req.ids),
            };
            results.push(match r {
                Ok(res) => {
                    let out = PubSubReserveCommunicationIdsResultDataType {
                        result: StatusCode::Good,
                        default_publisher_id: res.publisher_id.clone(),
                        writer_group_ids: Some(res.writer_group_ids.clone()),
                        data_set_writer_ids: Some(res.data_set_writer_ids.clone()),
                    };
                    infos.push(reserve::info(v2, res.unicast_port));
                    self.reserved.push(res);
                    out
                }
                Err(s) => {
                    ok = false;
                    infos.push(reserve::info(v2, None));
                    reserve_result(s)
                }
            });
        }
        self.reserve = results;
        self.reserve_info = infos;
        ok
    }

    fn rollback(&mut self, host: &dyn Host) {
        for g in &self.controlled {
            host.release_control(g);
        }
        host.disable_communication(&self.enabled);
        if let Some(undo) = self.applied.take() {
            host.undo_communication(&undo);
            if let Some(c) = self.communication.first_mut().filter(|c| c.result.is_good()) {
                c.changes_applied = false;
            }
        }
        for id in &self.created {
            host.delete_endpoint(id);
        }
        // Reserved ids go back; the results no longer hand them out.
        for r in self.reserved.drain(..) {
            host.release_ids(&r);
        }
        for (r, info) in self.reserve.iter_mut().zip(self.reserve_info.iter_mut()) {
            if r.result.is_good() {
                r.result = StatusCode::BadNothingToDo;
                r.writer_group_ids = None;
                r.data_set_writer_ids = None;
                if let Some(i) = info {
                    *i = Variant::Empty;
                }
            }
        }
        for r in &mut self.endpoints {
            if self.created.contains(&r.connection_endpoint_id) {
                r.connection_endpoint_id = NodeId::null();
            }
        }
    }
}

/// The result of a configuration before any command ran (§10.15 defaults for commands not set).
fn initial_result() -> ConnectionEndpointConfigurationResultDataType {
    ConnectionEndpointConfigurationResultDataType {
        connection_endpoint_id: NodeId::null(),
        functional_entity_node_result: StatusCode::Good,
        connection_endpoint_result: StatusCode::Good,
        verification_result: FunctionalEntityVerificationResultEnum::NotSet,
        verification_status: StatusCode::Good,
        verification_variables_errors: None,
        establish_control_result: None,
        configuration_data_result: None,
        reassign_control_result: None,
        communication_links_result: StatusCode::Good,
        enable_communication_result: StatusCode::Good,
    }
}

/// Bad_NothingToDo for command `cmd` of one configuration (not executed after an abort).
fn skip_endpoint(r: &mut ConnectionEndpointConfigurationResultDataType, e: &ConnectionEndpointConfigurationDataType, cmd: FxCommandMask) {
    let nothing = StatusCode::BadNothingToDo;
    let each = |n: usize| (n > 0).then(|| vec![nothing; n]);
    let groups = e.control_groups.as_ref().map_or(0, Vec::len);
    match cmd {
        FxCommandMask::VerifyFunctionalEntityCmd => r.verification_status = nothing,
        FxCommandMask::CreateConnectionEndpointCmd => r.connection_endpoint_result = nothing,
        FxCommandMask::EstablishControlCmd => r.establish_control_result = each(groups),
        FxCommandMask::SetConfigurationDataCmd => {
            r.configuration_data_result = each(e.configuration_data.as_ref().map_or(0, Vec::len))
        }
        FxCommandMask::ReassignControlCmd => r.reassign_control_result = each(groups),
        FxCommandMask::EnableCommunicationCmd => r.enable_communication_result = nothing,
        _ => {}
    }
}

fn reserve_result(result: StatusCode) -> PubSubReserveCommunicationIdsResultDataType {
    PubSubReserveCommunicationIdsResultDataType { result, ..Default::default() }
}

fn communication_result(result: StatusCode) -> PubSubCommunicationConfigurationResultDataType {
    PubSubCommunicationConfigurationResultDataType { result, ..Default::default() }
}
