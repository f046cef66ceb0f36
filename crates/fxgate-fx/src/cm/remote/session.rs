//! One run's view of an upstream server: its live session and its NamespaceArray, read fresh
//! for each run (§13.3: the indexes may change between sessions), and the services node
//! resolution needs.

use std::sync::Arc;

use fxgate_plugin::SharedUpstreamLinks;
use opcua::client::Session;
use opcua::types::{
    AttributeId, BrowseDescription, BrowseDirection, BrowsePath, BrowseResultMask, DataValue, NamespaceMap, NodeClassMask,
    NodeId, PortableQualifiedName, QualifiedName, ReadValueId, ReferenceTypeId, RelativePath, RelativePathElement,
    StatusCode, TimestampsToReturn, VariableId, Variant,
};

use super::RemoteError;

/// The live session of upstream `server`.
pub fn session_of(aggregator: Option<&SharedUpstreamLinks>, server: &str) -> Result<Arc<Session>, RemoteError> {
    let upstream = aggregator.and_then(|a| a.link(server)).ok_or_else(|| RemoteError::UnknownServer(server.to_string()))?;
    upstream.session.ok_or_else(|| RemoteError::NotConnected(server.to_string()))
}

/// An upstream server with its session and namespaces.
pub struct Remote {
    /// The upstream's name.
    pub server: String,
    /// Its endpoint URL.
    pub url: String,
    session: Arc<Session>,
    uris: Vec<String>,
    /// Its namespaces by URI.
    pub map: Arc<NamespaceMap>,
}

impl Remote {
    /// Takes the live session of `server` and reads its NamespaceArray.
    pub async fn open(aggregator: Option<&SharedUpstreamLinks>, server: &str) -> Result<Self, RemoteError> {
        let upstream = aggregator.and_then(|a| a.link(server)).ok_or_else(|| RemoteError::UnknownServer(server.to_string()))?;
        let session = upstream.session.clone().ok_or_else(|| RemoteError::NotConnected(server.to_string()))?;
        let mut remote = Self {
            server: server.to_string(),
            url: upstream.endpoint_url.clone(),
            session,
            uris: Vec::new(),
            map: Arc::new(NamespaceMap::new()),
        };
        let value = remote.read(&VariableId::Server_NamespaceArray.into(), AttributeId::Value).await?;
        let Some(Variant::Array(a)) = value.value else {
            return Err(remote.answer("the NamespaceArray is no array"));
        };
        let uris: Vec<String> = a
            .values
            .iter()
            .map(|v| match v {
                Variant::String(s) => Ok(s.as_ref().to_string()),
                _ => Err(()),
            })
            .collect::<Result<_, _>>()
            .map_err(|_| remote.answer("the NamespaceArray holds no strings"))?;
        let map = uris.iter().enumerate().map(|(i, u)| (u.clone(), i as u16)).collect();
        remote.map = Arc::new(NamespaceMap::new_full(map));
        remote.uris = uris;
        Ok(remote)
    }

    /// An [`RemoteError::Answer`] of this upstream.
    pub fn answer(&self, what: impl Into<String>) -> RemoteError {
        RemoteError::Answer { server: self.server.clone(), what: what.into() }
    }

    fn service(&self, service: &'static str, status: StatusCode) -> RemoteError {
        RemoteError::Service { server: self.server.clone(), service, status }
    }

    /// The index of namespace `uri` (empty: 1, the server's local namespace, §13.3.3).
    pub fn index(&self, uri: &str) -> Result<u16, RemoteError> {
        if uri.is_empty() {
            return Ok(1);
        }
        self.map
            .get_index(uri)
            .ok_or_else(|| RemoteError::UnknownNamespace { server: self.server.clone(), uri: uri.to_string() })
    }

    /// `q` with its namespace as URI.
    pub fn portable(&self, q: &QualifiedName) -> PortableQualifiedName {
        let uri = self.uris.get(usize::from(q.namespace_index)).cloned().unwrap_or_default();
        PortableQualifiedName { namespace_uri: uri.into(), name: q.name.clone() }
    }

    /// Reads one attribute; a Bad status of the value is an error.
    pub async fn read(&self, node: &NodeId, attribute: AttributeId) -> Result<DataValue, RemoteError> {
        let request = ReadValueId { node_id: node.clone(), attribute_id: attribute as u32, ..Default::default() };
        let values = self
            .session
            .read(&[request], TimestampsToReturn::Neither, 0.0)
            .await
            .map_err(|e| self.service("Read", e.status()))?;
        let value = values.into_iter().next().ok_or_else(|| self.answer("Read returned no value"))?;
        match value.status {
            Some(s) if s.is_bad() => Err(self.answer(format!("reading {node}: {s}"))),
            _ => Ok(value),
        }
    }

    /// The BrowseName of `node`.
    pub async fn browse_name(&self, node: &NodeId) -> Result<QualifiedName, RemoteError> {
        match self.read(node, AttributeId::BrowseName).await?.value {
            Some(Variant::QualifiedName(q)) => Ok(*q),
            _ => Err(self.answer(format!("the BrowseName of {node} is no QualifiedName"))),
        }
    }

    /// TranslateBrowsePathsToNodeIds from `start` over hierarchical references (forward, with
    /// subtypes); none or more than one target is an error.
    pub async fn translate(&self, start: &NodeId, path: &[QualifiedName]) -> Result<NodeId, RemoteError> {
        let shown = || path.iter().map(|q| format!("{}:{}", q.namespace_index, q.name)).collect::<Vec<_>>().join("/");
        let elements = path
            .iter()
            .map(|q| RelativePathElement {
                reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
                is_inverse: false,
                include_subtypes: true,
                target_name: q.clone(),
            })
            .collect();
        let request = BrowsePath { starting_node: start.clone(), relative_path: RelativePath { elements: Some(elements) } };
        let results = self
            .session
            .translate_browse_paths_to_node_ids(&[request])
            .await
            .map_err(|e| self.service("TranslateBrowsePathsToNodeIds", e.status()))?;
        let result = results.into_iter().next().ok_or_else(|| self.answer("TranslateBrowsePathsToNodeIds returned no result"))?;
        let no_match = || RemoteError::NoMatch { server: self.server.clone(), path: shown() };
        if result.status_code == StatusCode::BadNoMatch {
            return Err(no_match());
        }
        if result.status_code.is_bad() {
            return Err(self.answer(format!("browse path {}: {}", shown(), result.status_code)));
        }
        let mut targets: Vec<NodeId> = result
            .targets
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.remaining_path_index == u32::MAX && t.target_id.server_index == 0 && t.target_id.namespace_uri.is_null())
            .map(|t| t.target_id.node_id)
            .collect();
        targets.dedup();
        match targets.len() {
            0 => Err(no_match()),
            1 => Ok(targets.remove(0)),
            _ => Err(RemoteError::Ambiguous { server: self.server.clone(), path: shown() }),
        }
    }

    /// The child of `parent` (forward hierarchical references) whose BrowseName has the name
    /// `name` in any namespace: None when there is none, an error when there are several.
    pub async fn child_named(&self, parent: &NodeId, name: &str) -> Result<Option<(NodeId, QualifiedName)>, RemoteError> {
        let request = BrowseDescription {
            node_id: parent.clone(),
            browse_direction: BrowseDirection::Forward,
            reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
            include_subtypes: true,
            node_class_mask: NodeClassMask::empty().bits(),
            result_mask: BrowseResultMask::BrowseName as u32,
        };
        let results = self.session.browse(&[request], 0, None).await.map_err(|e| self.service("Browse", e.status()))?;
        let result = results.into_iter().next().ok_or_else(|| self.answer("Browse returned no result"))?;
        if result.status_code.is_bad() {
            return Err(self.answer(format!("browsing {parent}: {}", result.status_code)));
        }
        let mut found: Vec<(NodeId, QualifiedName)> = result
            .references
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.browse_name.name.as_ref() == name && r.node_id.server_index == 0 && r.node_id.namespace_uri.is_null())
            .map(|r| (r.node_id.node_id, r.browse_name))
            .collect();
        found.dedup_by(|a, b| a.0 == b.0);
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(RemoteError::Ambiguous { server: self.server.clone(), path: format!("{parent}/{name}") }),
        }
    }
}
