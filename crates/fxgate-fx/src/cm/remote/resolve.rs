//! Node resolution on an upstream server (§13.3): `2:FxRoot` by its BrowseName in the FX Data
//! namespace under Objects, the AutomationComponent by its BrowseName under FxRoot, its
//! methods by their BrowseNames in the FX AC namespace, the FunctionalEntity by name (in the
//! component's FunctionalEntities folder), by PortableNodeId (through the upstream's
//! NamespaceArray) or by PortableRelativePath from FxRoot (TranslateBrowsePathsToNodeIds), and
//! the endpoint's variables by browse paths from the FunctionalEntity.

use std::str::FromStr;
use std::sync::Arc;

use crate::config::{parse_portable_node_id, EndpointConfig, NodeValueConfig, PathElementConfig};
use opcua::types::{AttributeId, NodeId, ObjectId, PortableQualifiedName, QualifiedName};

use super::session::Remote;
use super::{RemoteAc, RemoteEndpoint, RemoteError};
use crate::cm::plan::typed;
use crate::namespaces::{FX_AC, FX_DATA};
use crate::types::{NodeIdArray, NodeIdValuePair};

/// The AutomationComponent `name` under the upstream's FxRoot, with its methods.
pub async fn component(r: &Remote, name: &str) -> Result<(Arc<RemoteAc>, NodeId), RemoteError> {
    let (data_ns, ac_ns) = (r.index(FX_DATA)?, r.index(FX_AC)?);
    let fx_root = r.translate(&ObjectId::ObjectsFolder.into(), &[QualifiedName::new(data_ns, "FxRoot")]).await?;
    let (object, browse_name) = r
        .child_named(&fx_root, name)
        .await?
        .ok_or_else(|| RemoteError::NoMatch { server: r.server.clone(), path: format!("FxRoot/{name}") })?;
    let establish = r.translate(&object, &[QualifiedName::new(ac_ns, "EstablishConnections")]).await?;
    let close = r.translate(&object, &[QualifiedName::new(ac_ns, "CloseConnections")]).await?;
    let ac = RemoteAc {
        server: r.server.clone(),
        url: r.url.clone(),
        name: name.to_string(),
        object,
        browse_name: r.portable(&browse_name),
        establish,
        close,
        ac_ns,
        namespaces: r.map.clone(),
    };
    Ok((Arc::new(ac), fx_root))
}

/// How much of an endpoint configuration to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The FunctionalEntity only (to find the endpoint for closing it).
    Entity,
    /// Everything EstablishConnections needs.
    Full,
}

/// Resolves endpoint configuration `e` on component `ac` (whose FxRoot is `fx_root`).
pub async fn endpoint(r: &Remote, ac: &Arc<RemoteAc>, fx_root: &NodeId, e: &EndpointConfig, depth: Depth) -> Result<RemoteEndpoint, RemoteError> {
    let (fe, fe_path) = entity(r, ac, fx_root, e).await?;
    if depth == Depth::Entity {
        let (inputs, outputs, verify, configuration) = (vec![], vec![], vec![], vec![]);
        return Ok(RemoteEndpoint { ac: ac.clone(), fe, fe_path, inputs, outputs, verify, configuration });
    }
    let mut inputs = Vec::with_capacity(e.input_paths.len());
    for p in &e.input_paths {
        inputs.push(r.translate(&fe, &names(r, p)?).await?);
    }
    let mut outputs = Vec::with_capacity(e.output_paths.len());
    for p in &e.output_paths {
        outputs.push(r.translate(&fe, &names(r, p)?).await?);
    }
    let verify = pairs(r, &e.expected_verification).await?;
    let configuration = pairs(r, &e.configuration_data).await?;
    Ok(RemoteEndpoint { ac: ac.clone(), fe, fe_path, inputs, outputs, verify, configuration })
}

/// The endpoint named `name` of FunctionalEntity `fe`, if it exists.
pub async fn existing(r: &Remote, ac: &RemoteAc, fe: &NodeId, name: &str) -> Result<Option<NodeId>, RemoteError> {
    let folder = match r.translate(fe, &[QualifiedName::new(ac.ac_ns, "ConnectionEndpoints")]).await {
        Ok(f) => f,
        Err(RemoteError::NoMatch { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(r.child_named(&folder, name).await?.map(|(n, _)| n))
}

/// The FunctionalEntity of `e` and the BrowseNames from FxRoot to it.
async fn entity(r: &Remote, ac: &RemoteAc, fx_root: &NodeId, e: &EndpointConfig) -> Result<(NodeId, Vec<PortableQualifiedName>), RemoteError> {
    let folder = PortableQualifiedName { namespace_uri: FX_AC.into(), name: "FunctionalEntities".into() };
    if !e.functional_entity_path.is_empty() {
        let path = names(r, &e.functional_entity_path)?;
        let fe = r.translate(fx_root, &path).await?;
        return Ok((fe, path.iter().map(|q| r.portable(q)).collect()));
    }
    if !e.functional_entity_node.is_empty() {
        let fe = node(r, &e.functional_entity_node)?;
        let name = r.browse_name(&fe).await?;
        return Ok((fe, vec![ac.browse_name.clone(), folder, r.portable(&name)]));
    }
    let entities = r.translate(&ac.object, &[QualifiedName::new(ac.ac_ns, "FunctionalEntities")]).await?;
    let (fe, name) = r.child_named(&entities, &e.functional_entity).await?.ok_or_else(|| RemoteError::NoMatch {
        server: r.server.clone(),
        path: format!("{}/FunctionalEntities/{}", ac.name, e.functional_entity),
    })?;
    Ok((fe, vec![ac.browse_name.clone(), folder, r.portable(&name)]))
}

/// A configured browse path as upstream QualifiedNames.
fn names(r: &Remote, path: &[PathElementConfig]) -> Result<Vec<QualifiedName>, RemoteError> {
    path.iter().map(|p| Ok(QualifiedName::new(r.index(&p.namespace)?, p.name.as_str()))).collect()
}

/// A portable NodeId text as an upstream NodeId.
fn node(r: &Remote, text: &str) -> Result<NodeId, RemoteError> {
    let invalid = || RemoteError::InvalidNodeId(text.to_string());
    let p = parse_portable_node_id(text).map_err(|_| invalid())?;
    let mut id = NodeId::from_str(&format!("ns=0;{}", p.identifier)).map_err(|_| invalid())?;
    id.namespace = r.index(&p.namespace)?;
    Ok(id)
}

/// NodeIdValuePairs on the upstream, each value converted to the type of the node's value.
async fn pairs(r: &Remote, list: &[NodeValueConfig]) -> Result<Vec<NodeIdValuePair>, RemoteError> {
    let mut out = Vec::with_capacity(list.len());
    for nv in list {
        let id = node(r, &nv.node)?;
        let scalar = r.read(&id, AttributeId::Value).await?.value.and_then(|v| v.scalar_type_id());
        out.push(NodeIdValuePair { key: NodeIdArray { node: id, array_index: None }, value: typed(&nv.value, scalar) });
    }
    Ok(out)
}
