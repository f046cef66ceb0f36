//! The PubSub side of EstablishConnections (OPC 10000-81 §6.2.4.3.9–10) on the runtime the
//! PubSub plug-in offers ([`fxgate_plugin::FxPubSub`]):
//!
//! - SetCommunicationConfigurationCmd checks each endpoint's CommunicationLinks against the
//!   configuration (Table 16: the references' masks, the elements, the DataSet versions, the
//!   endpoint's variables in the DataSets, its Mode), then applies the configuration
//!   atomically and links the endpoints to the readers and writers it made;
//! - EnableCommunicationCmd enables the linked readers and writers with their parents (Table 17);
//! - the endpoint Status follows their states ([`status`]), and CleanupTimeout removes an
//!   endpoint that stayed out of Operational too long ([`status`], [`audit`]).

pub mod audit;
mod links;
pub mod status;

use opcua::server::address_space::AddressSpace;
use opcua::sync::RwLock;
use opcua::types::{ExtensionObject, NodeId, StatusCode};

use fxgate_plugin::{ApplyRequest, PubSubObject};

use crate::node_manager::FxNodeManagerImpl;
use crate::types::{body, PubSubCommunicationConfigurationDataType, PubSubCommunicationConfigurationResultDataType};

/// What SetCommunicationConfigurationCmd did.
pub struct SetOutcome {
    /// The CommunicationConfigurationResult.
    pub result: PubSubCommunicationConfigurationResultDataType,
    /// CommunicationLinksResult per endpoint configuration.
    pub links: Vec<StatusCode>,
    /// What to undo if the call aborts later.
    pub undo: Undo,
}

/// What a SetCommunicationConfigurationCmd made (rolled back when the call aborts).
#[derive(Debug, Default)]
pub struct Undo {
    /// The readers and writers made.
    pub objects: Vec<PubSubObject>,
    /// The endpoints linked to them.
    pub endpoints: Vec<NodeId>,
}

/// SetCommunicationConfigurationCmd for the endpoints `targets` (one per endpoint
/// configuration, with its CommunicationLinks) of component `component`.
pub fn set(
    nm: &FxNodeManagerImpl,
    space: &RwLock<AddressSpace>,
    component: usize,
    configuration: &ExtensionObject,
    targets: &[(Option<NodeId>, &ExtensionObject)],
) -> SetOutcome {
    let fail = |result: StatusCode, links: Vec<StatusCode>| SetOutcome {
        result: PubSubCommunicationConfigurationResultDataType { result, ..Default::default() },
        links,
        undo: Undo::default(),
    };
    let nothing = vec![StatusCode::BadNothingToDo; targets.len()];
    let Ok(cfg) = body::<PubSubCommunicationConfigurationDataType>(configuration) else {
        return fail(StatusCode::BadInvalidArgument, nothing);
    };
    let references = cfg.configuration_references.as_deref().unwrap_or_default();
    if references.is_empty() {
        return fail(StatusCode::BadNothingToDo, nothing);
    }
    let Some(runtime) = nm.pubsub() else {
        return fail(StatusCode::BadNotSupported, nothing);
    };
    // Table 16, before anything is made.
    let checked = {
        let registry = nm.endpoints().lock();
        links::check(&registry, &cfg.pub_sub_configuration, targets)
    };
    let wanted = match checked {
        Ok(w) => w,
        Err(links) => return fail(StatusCode::BadNothingToDo, links),
    };
    let Some(c) = nm.model().components.get(component) else {
        return fail(StatusCode::BadInvalidState, nothing);
    };
    // Writers publish the component's OutputData, readers write its InputData.
    let published = |node: &NodeId| c.entities.iter().flat_map(|e| &e.outputs).find(|t| &t.node == node).map(|t| t.tag);
    let inputs = |node: &NodeId| c.entities.iter().flat_map(|e| &e.inputs).find(|t| &t.node == node).map(|t| t.tag);
    let request = ApplyRequest { configuration: &cfg.pub_sub_configuration, references, published: &published, targets: &inputs };
    let applied = match runtime.apply(&request) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "FX SetCommunicationConfiguration: not applied");
            let mut out = fail(e.status(), nothing);
            out.result.reference_results = Some(e.reference_results(references.len()));
            return out;
        }
    };
    let mut undo = Undo { objects: applied.readers.iter().chain(&applied.writers).map(|(_, o)| *o).collect(), endpoints: Vec::new() };
    let mut results = vec![StatusCode::Good; targets.len()];
    let ns = nm.model().ns;
    let model_ns = nm.type_tree().and_then(|t| t.read().namespaces().get_index(fxgate_plugin::PUBSUB_MODEL_NAMESPACE));
    let node_of = |o: PubSubObject| {
        let path = applied.paths.iter().find(|(x, _)| *x == o).map(|(_, p)| p.clone())?;
        model_ns.map(|i| NodeId::new(i, path))
    };
    let mut references = Vec::new();
    {
        let mut registry = nm.endpoints().lock();
        for (i, w) in wanted.iter().enumerate() {
            let Some(w) = w else { continue };
            let reader = w.reader.and_then(|at| applied.readers.iter().find(|(p, _)| *p == at).map(|(_, o)| *o));
            let writer = w.writer.and_then(|at| applied.writers.iter().find(|(p, _)| *p == at).map(|(_, o)| *o));
            // A linked element the references did not add.
            if w.reader.is_some() != reader.is_some() || w.writer.is_some() != writer.is_some() {
                results[i] = StatusCode::BadNotFound;
                continue;
            }
            if let Some(e) = registry.iter_mut().find(|e| e.node == w.endpoint) {
                e.reader = reader;
                e.writer = writer;
                let to_reader = reader.and_then(node_of).map(|n| (n, NodeId::new(ns.ac, crate::types::ids::ac::TO_DATA_SET_READER)));
                let to_writer = writer.and_then(node_of).map(|n| (n, NodeId::new(ns.ac, crate::types::ids::ac::TO_DATA_SET_WRITER)));
                e.links = to_reader.into_iter().chain(to_writer).collect();
                references.push((e.node.clone(), e.links.clone()));
                undo.endpoints.push(e.node.clone());
            }
        }
    }
    if results.iter().any(|r| r.is_bad()) {
        rollback(nm, space, &undo);
        for r in results.iter_mut().filter(|r| r.is_good()) {
            *r = StatusCode::BadNothingToDo;
        }
        return SetOutcome {
            result: PubSubCommunicationConfigurationResultDataType { result: StatusCode::BadNothingToDo, ..Default::default() },
            links: results,
            undo: Undo::default(),
        };
    }
    {
        let mut space = space.write();
        for (endpoint, links) in &references {
            for (target, kind) in links {
                space.insert_reference(endpoint, target, kind.clone());
            }
        }
    }
    status::refresh(nm, space);
    tracing::info!(readers = applied.readers.len(), writers = applied.writers.len(), "FX SetCommunicationConfiguration applied");
    let objects: Vec<NodeId> = applied.paths.iter().filter_map(|(o, _)| node_of(*o)).collect();
    SetOutcome {
        result: PubSubCommunicationConfigurationResultDataType {
            result: StatusCode::Good,
            changes_applied: true,
            reference_results: Some(applied.reference_results),
            configuration_values: Some(applied.values),
            configuration_objects: Some(objects),
        },
        links: results,
        undo,
    }
}

/// Deletes what a SetCommunicationConfigurationCmd made (the call aborted).
pub fn rollback(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, undo: &Undo) {
    {
        let mut registry = nm.endpoints().lock();
        let mut space = space.write();
        for e in registry.iter_mut().filter(|e| undo.endpoints.contains(&e.node)) {
            e.reader = None;
            e.writer = None;
            for (target, kind) in e.links.drain(..) {
                space.delete_reference(&e.node, &target, &kind);
            }
        }
    }
    if let Some(rt) = nm.pubsub() {
        rt.remove(&undo.objects);
    }
    status::refresh(nm, space);
}

/// EnableCommunicationCmd for `endpoint`: its readers and writers and their parents (Table
/// 17). Returns the objects it switched on (disabled again on rollback).
pub fn enable(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, endpoint: &NodeId) -> Result<Vec<PubSubObject>, StatusCode> {
    let objects = {
        let registry = nm.endpoints().lock();
        let e = registry.iter().find(|e| &e.node == endpoint).ok_or(StatusCode::BadNodeIdUnknown)?;
        let (need_reader, need_writer) = links::required(e.mode);
        if (need_reader && e.reader.is_none()) || (need_writer && e.writer.is_none()) {
            return Err(StatusCode::BadInvalidState);
        }
        // Two enabled readers must not write the same inputs.
        let rt = nm.pubsub().ok_or(StatusCode::BadInvalidState)?;
        let enabled = |o: Option<PubSubObject>| o.and_then(|o| rt.state(o)).is_some_and(|s| s != fxgate_plugin::PubSubObjectState::Disabled);
        let clash = registry
            .iter()
            .filter(|o| o.node != e.node && enabled(o.reader))
            .any(|o| o.inputs.iter().any(|i| e.inputs.contains(i)));
        if clash {
            return Err(StatusCode::BadRequestNotAllowed);
        }
        e.reader.into_iter().chain(e.writer).collect::<Vec<_>>()
    };
    let rt = nm.pubsub().ok_or(StatusCode::BadInvalidState)?;
    rt.enable(&objects)?;
    status::refresh(nm, space);
    Ok(objects)
}

/// Disables the readers and writers of the endpoints `endpoints` that no other endpoint links
/// to (CloseConnections); with `remove` they are deleted.
pub fn close(nm: &FxNodeManagerImpl, endpoints: &[NodeId], remove: bool) {
    let Some(rt) = nm.pubsub() else { return };
    let objects: Vec<PubSubObject> = {
        let registry = nm.endpoints().lock();
        let mine: Vec<PubSubObject> =
            registry.iter().filter(|e| endpoints.contains(&e.node)).flat_map(|e| e.reader.into_iter().chain(e.writer)).collect();
        mine.into_iter()
            .filter(|o| !registry.iter().any(|e| !endpoints.contains(&e.node) && (e.reader == Some(*o) || e.writer == Some(*o))))
            .collect()
    };
    if remove {
        rt.remove(&objects);
    } else {
        rt.disable(&objects);
    }
}
