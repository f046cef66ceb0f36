//! The AutomationComponent as [`establish::Host`](crate::establish::Host): what
//! EstablishConnections does to the address space, the endpoint registry and the tag store.

use async_trait::async_trait;
use opcua::server::address_space::AddressSpace;
use opcua::sync::RwLock;
use opcua::types::{ExtensionObject, NodeId, StatusCode, VariantScalarTypeId};

use crate::compare::ExpectedNodeValue;
use crate::establish::Host;
use crate::node_manager::FxNodeManagerImpl;
use crate::types::{
    AssetVerificationDataType, AssetVerificationResultDataType, AssetVerificationResultEnum, NodeIdValuePair,
    PubSubReserveCommunicationIdsDataType,
};
use crate::verify::FeVerdict;
use crate::{communication, endpoints, verify, verify_asset};

/// One call's view of the component it is called on.
pub struct ComponentHost<'a> {
    /// The node manager.
    pub nm: &'a FxNodeManagerImpl,
    /// Its address space.
    pub space: &'a RwLock<AddressSpace>,
    /// Index of the component in the model.
    pub component: usize,
    /// Who calls (EstablishControlCmd's LockContext, SetConfigurationData's writer).
    pub caller: fxgate_core::Caller,
}

impl ComponentHost<'_> {
    /// ControlGroup `group` of entity `fe` (Table 13: Bad_NodeIdInvalid, Bad_NodeIdUnknown,
    /// Bad_InvalidArgument when the node is no ControlGroup).
    fn group(&self, fe: &NodeId, group: &NodeId) -> Result<&crate::model::ControlGroup, StatusCode> {
        if group.is_null() {
            return Err(StatusCode::BadNodeIdInvalid);
        }
        let entity = self.component().entities.iter().find(|e| &e.node == fe).ok_or(StatusCode::BadInvalidArgument)?;
        match entity.control_groups.iter().find(|g| &g.node == group) {
            Some(g) => Ok(g),
            None if crate::control::groups(self.nm.model()).any(|g| &g.node == group) => Err(StatusCode::BadNodeIdUnknown),
            None if self.exists(group) => Err(StatusCode::BadInvalidArgument),
            None => Err(StatusCode::BadNodeIdUnknown),
        }
    }

    fn component(&self) -> &crate::model::Component {
        &self.nm.model().components[self.component]
    }

    /// Whether `node` exists at all (FX node or tag).
    fn exists(&self, node: &NodeId) -> bool {
        self.nm.exists(&self.space.read(), node)
    }
}

#[async_trait]
impl Host for ComponentHost<'_> {
    fn reserve_ids(&self, request: &PubSubReserveCommunicationIdsDataType) -> Result<fxgate_plugin::Reservation, StatusCode> {
        let ids = self.nm.pubsub().ok_or(StatusCode::BadNotSupported)?;
        ids.reserve(request.transport_profile_uri.as_ref(), request.num_req_writer_group_ids, request.num_req_data_set_writer_ids)
            .map_err(|e| match e {
                fxgate_plugin::ReserveError::Transport => StatusCode::BadNotSupported,
                fxgate_plugin::ReserveError::Exhausted => StatusCode::BadResourceUnavailable,
            })
    }

    fn release_ids(&self, reservation: &fxgate_plugin::Reservation) {
        if let Some(ids) = self.nm.pubsub() {
            ids.release(reservation);
        }
    }

    fn set_communication(&self, configuration: &ExtensionObject, targets: &[(Option<NodeId>, &ExtensionObject)]) -> communication::SetOutcome {
        communication::set(self.nm, self.space, self.component, configuration, targets)
    }

    fn undo_communication(&self, undo: &communication::Undo) {
        communication::rollback(self.nm, self.space, undo);
    }

    fn enable_communication(&self, endpoint: &NodeId) -> Result<Vec<fxgate_plugin::PubSubObject>, StatusCode> {
        communication::enable(self.nm, self.space, endpoint)
    }

    fn establish_control(&self, fe: &NodeId, group: &NodeId) -> StatusCode {
        let g = match self.group(fe, group) {
            Ok(g) => g,
            Err(s) => return s,
        };
        let owner = crate::control::calls::owner(self.nm, self.caller.client.clone(), &self.caller);
        match crate::control::calls::establish(self.nm, self.space, g, owner) {
            crate::control::OK => StatusCode::Good,
            crate::control::E_LOCKED => StatusCode::BadLocked,
            _ => StatusCode::BadInvalidArgument,
        }
    }

    fn reassign_control(&self, fe: &NodeId, group: &NodeId, endpoint: &NodeId) -> StatusCode {
        let g = match self.group(fe, group) {
            Ok(g) => g,
            Err(s) => return s,
        };
        let owner = crate::control::Owner { client: endpoint.to_string(), user: crate::control::ENDPOINT_USER.into() };
        match crate::control::calls::reassign(self.nm, self.space, g, owner) {
            crate::control::OK => StatusCode::Good,
            _ => StatusCode::BadInvalidState,
        }
    }

    fn release_control(&self, group: &NodeId) {
        if let Some(g) = crate::control::groups(self.nm.model()).find(|g| &g.node == group) {
            crate::control::calls::release(self.nm, self.space, g);
        }
    }

    fn disable_communication(&self, objects: &[fxgate_plugin::PubSubObject]) {
        if let (Some(rt), false) = (self.nm.pubsub(), objects.is_empty()) {
            rt.disable(objects);
            communication::status::refresh(self.nm, self.space);
        }
    }

    fn max_connections_per_call(&self) -> u32 {
        self.component().max_connections_per_call
    }

    fn verify_asset(&self, v: &AssetVerificationDataType) -> AssetVerificationResultDataType {
        let fail = |s: StatusCode| AssetVerificationResultDataType {
            verification_status: s,
            verification_result: AssetVerificationResultEnum::NotSet,
            ..Default::default()
        };
        if v.asset_to_verify.is_null() {
            return fail(StatusCode::BadNodeIdInvalid);
        }
        let Some(asset) = self.component().assets.iter().find(|a| a.node == v.asset_to_verify) else {
            let s = if self.exists(&v.asset_to_verify) { StatusCode::BadInvalidArgument } else { StatusCode::BadNodeIdUnknown };
            return fail(s);
        };
        let keys: Vec<_> = v
            .expected_verification_variables
            .iter()
            .flatten()
            .map(|kv| (kv.key.clone(), kv.value.clone()))
            .collect();
        let additional: Vec<_> = v.expected_additional_verification_variables.iter().flatten().map(ExpectedNodeValue::from).collect();
        let space = self.space.read();
        let lookup = |e: &ExpectedNodeValue| self.nm.lookup(&space, &e.node);
        let verdict = verify_asset::verify_asset(
            v.verification_mode as i32,
            &keys,
            &additional,
            &asset.nameplate,
            &self.nm.model().names,
            &lookup,
        );
        AssetVerificationResultDataType {
            verification_status: verdict.status,
            verification_result: verdict.result.unwrap_or(AssetVerificationResultEnum::NotSet),
            verification_variables_errors: (!verdict.errors.is_empty()).then_some(verdict.errors),
            verification_additional_variables_errors: (!verdict.additional_errors.is_empty())
                .then_some(verdict.additional_errors),
        }
    }

    fn entity(&self, fe: &NodeId) -> StatusCode {
        if fe.is_null() {
            StatusCode::BadNodeIdInvalid
        } else if self.component().entities.iter().any(|e| &e.node == fe) {
            StatusCode::Good
        } else if self.exists(fe) {
            StatusCode::BadInvalidArgument
        } else {
            StatusCode::BadNodeIdUnknown
        }
    }

    fn verify_entity(&self, _fe: &NodeId, expected_values: &[NodeIdValuePair]) -> FeVerdict {
        let list: Vec<_> = expected_values.iter().map(ExpectedNodeValue::from).collect();
        let space = self.space.read();
        verify::verify(&list, &|e: &ExpectedNodeValue| self.nm.lookup(&space, &e.node))
    }

    fn create_endpoint(&self, fe: &NodeId, parameter: &ExtensionObject) -> Result<NodeId, StatusCode> {
        let component = self.component();
        let entity = component.entities.iter().find(|e| &e.node == fe).ok_or(StatusCode::BadInvalidArgument)?;
        let ns = self.nm.model().ns;
        let mut registry = self.nm.endpoints().lock();
        let p = endpoints::check(parameter, &ns, component, entity, &registry)?;
        let mut space = self.space.write();
        let e = endpoints::insert(&mut space, &ns, self.component, entity, &p);
        let id = e.node.clone();
        registry.push(e);
        self.nm.update_health(&mut space, &registry, self.component);
        tracing::info!(endpoint = %id, "FX ConnectionEndpoint created");
        Ok(id)
    }

    fn endpoint(&self, fe: &NodeId, endpoint: &NodeId) -> StatusCode {
        if endpoint.is_null() {
            return StatusCode::BadNodeIdInvalid;
        }
        let registry = self.nm.endpoints().lock();
        match registry.iter().find(|e| &e.node == endpoint) {
            Some(e) if &e.entity == fe => StatusCode::Good,
            Some(_) => StatusCode::BadNodeIdUnknown,
            None if self.exists(endpoint) => StatusCode::BadInvalidArgument,
            None => StatusCode::BadNodeIdUnknown,
        }
    }

    fn delete_endpoint(&self, endpoint: &NodeId) {
        self.nm.remove_endpoint(self.space, endpoint);
    }

    async fn set_configuration(&self, fe: &NodeId, pair: &NodeIdValuePair) -> StatusCode {
        let key = &pair.key.node;
        if key.is_null() {
            return StatusCode::BadNodeIdInvalid;
        }
        let Some(entity) = self.component().entities.iter().find(|e| &e.node == fe) else {
            return StatusCode::BadInvalidArgument;
        };
        let Some(tag) = entity.configuration.iter().find(|t| &t.node == key) else {
            return if self.exists(key) { StatusCode::BadInvalidArgument } else { StatusCode::BadNodeIdUnknown };
        };
        if pair.key.array_index.as_ref().is_some_and(|a| !a.is_empty()) {
            return StatusCode::BadInvalidArgument; // configuration tags are scalars
        }
        let declared = self
            .nm
            .store()
            .def(tag.tag)
            .and_then(|d| VariantScalarTypeId::try_from(&NodeId::from(d.data_type)).ok());
        if pair.value.is_empty() || pair.value.is_array() || declared != pair.value.scalar_type_id() {
            return StatusCode::BadTypeMismatch;
        }
        match self.nm.store().write_as(tag.tag, pair.value.clone(), Some(&self.caller)).await {
            // Table 14: a lock on the variable is a refusal too
            StatusCode::BadNotWritable | StatusCode::BadUserAccessDenied | StatusCode::BadLocked => StatusCode::BadUserAccessDenied,
            s => s,
        }
    }
}
