//! `[fx.connection_manager]`: the OPC UA FX ConnectionManager (OPC 10000-81 §6.7) and its
//! ConnectionConfigurationSets, loaded from the configuration (and the form of the sets written
//! at run time, see `cm::persist`). The target AutomationComponents are local ones (`[[fx.automation_component]]`, §13.2.1) or those of an
//! upstream server (`server = "<upstream name>"`), reached over the upstream's client session.

use serde::{Deserialize, Serialize};

/// `[fx.connection_manager]`: `4:ConnectionManager` under FxRoot.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionManagerConfig {
    /// MaxInactiveLockTime of a set's Lock while a client edits it
    /// (EditConnectionConfigurationSets), in ms (1,000 to 86,400,000): the edit is discarded
    /// when the client neither renews the Lock (RenewLock, StartEditing) nor writes for this long.
    pub max_inactive_lock_time_ms: u64,
    /// `[[fx.connection_manager.set]]`: the ConnectionConfigurationSets.
    pub set: Vec<ConnectionSetConfig>,
}

impl Default for ConnectionManagerConfig {
    fn default() -> Self {
        Self { max_inactive_lock_time_ms: 600_000, set: Vec::new() }
    }
}

/// `[[fx.connection_manager.set]]`: one ConnectionConfigurationSet (§6.8).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionSetConfig {
    /// BrowseName in the ConnectionConfigurationSets folder (unique across the
    /// ConnectionManager, whatever the folder).
    pub name: String,
    /// ConnectionConfigurationSetFolder: the path of folders below ConnectionConfigurationSets
    /// the set is organised in (empty: directly in it); missing folders are made.
    pub folder: Vec<String>,
    /// RollbackOnError: on a failure, close (remove) every endpoint the run created.
    pub rollback_on_error: bool,
    /// `[[fx.connection_manager.set.asset_verification]]`: Assets verified (VerifyAssetCmd)
    /// before the connections are established.
    pub asset_verification: Vec<AssetVerificationConfig>,
    /// `[[fx.connection_manager.set.connection]]`: the Connections (at least one).
    pub connection: Vec<ConnectionConfig>,
}

/// `[[fx.connection_manager.set.connection]]`: one `<Connection>` (§6.10).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionConfig {
    /// BrowseName of the Connection in its set.
    pub name: String,
    /// Endpoint1.
    pub endpoint1: EndpointConfig,
    /// Endpoint2 (optional: a connection to a peer outside the configuration needs
    /// `related_address`/`related_endpoint` on Endpoint1 instead).
    pub endpoint2: Option<EndpointConfig>,
    /// `[…connection.pubsub]`: the connection's communication model (a CommunicationModelConfig,
    /// §6.16): UADP over UDP between the two endpoints' `[[pubsub]]` connections with `fx = true`,
    /// set up with SetCommunicationConfigurationCmd and the id handshake of E.2.2 (absent: the
    /// endpoints are created without communication).
    pub pubsub: Option<PubSubFlowConfig>,
}

/// `[fx.connection_manager.set.connection.pubsub]`: the PubSub flows of a connection (a
/// PubSubCommunicationFlowConfiguration each way the Modes allow, and a
/// SubscriberConfiguration for each subscribing end).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PubSubFlowConfig {
    /// PublishingInterval of both writer groups, in ms (1 to 3,600,000).
    pub publishing_interval_ms: u64,
    /// MessageReceiveTimeout of both readers, in ms (at least the publishing interval).
    pub message_receive_timeout_ms: u64,
}

impl Default for PubSubFlowConfig {
    fn default() -> Self {
        Self { publishing_interval_ms: 10, message_receive_timeout_ms: 100 }
    }
}

/// One element of a PortableRelativePath: a BrowseName given by namespace URI and name,
/// followed over hierarchical references (forward, with subtypes). An empty namespace is the
/// server's local namespace (index 1, §13.3.3).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PathElementConfig {
    /// Namespace URI of the BrowseName.
    pub namespace: String,
    /// Name of the BrowseName.
    pub name: String,
}

/// PubSubConnectionEndpointModeEnum.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EndpointModeConfig {
    /// PublisherSubscriber (1).
    #[default]
    PublisherSubscriber,
    /// Publisher (2).
    Publisher,
    /// Subscriber (3).
    Subscriber,
}

/// A scalar value in the configuration, converted to the DataType of its node when the set
/// is processed.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ScalarConfig {
    /// A Boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A floating point number.
    Float(f64),
    /// A string.
    Text(String),
}

/// A node and the value expected in it (ExpectedVerificationVariables) or to write into it
/// (ConfigurationData).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeValueConfig {
    /// A tag path (`Cell/Gain`) or a portable NodeId (`nsu=<uri>;s=…`, also `ns=<uri>;s=…`);
    /// on an endpoint with `server` only a portable NodeId (resolved by the upstream's
    /// NamespaceArray).
    pub node: String,
    /// The value.
    pub value: ScalarConfig,
}

/// `endpoint1`/`endpoint2` of a Connection: a ConnectionEndpointConfiguration (§6.11).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointConfig {
    /// The server the AutomationComponent is on: empty for this server, else the name of an
    /// `[[upstream]]`, whose component is called over the upstream's client session.
    pub server: String,
    /// The AutomationComponent of the FunctionalEntity: the name of a local
    /// `[[fx.automation_component]]`, or with `server` the BrowseName (name part) of the
    /// component under the upstream's FxRoot.
    pub automation_component: String,
    /// The FunctionalEntity by name (a top-level FE of the component, for a remote component
    /// the BrowseName's name in its FunctionalEntities folder) …
    pub functional_entity: String,
    /// … or by portable NodeId (`nsu=<uri>;s=…` or `ns=<uri>;s=…`) …
    pub functional_entity_node: String,
    /// … or by browse path from FxRoot (PortableRelativePath).
    pub functional_entity_path: Vec<PathElementConfig>,
    /// Name of the ConnectionEndpoint to create.
    pub name: String,
    /// Mode of the PubSubConnectionEndpoint.
    pub mode: EndpointModeConfig,
    /// InputVariableIds as tag paths (local components only).
    pub inputs: Vec<String>,
    /// OutputVariableIds as tag paths (local components only).
    pub outputs: Vec<String>,
    /// InputVariableIds as browse paths relative to the FunctionalEntity.
    pub input_paths: Vec<Vec<PathElementConfig>>,
    /// OutputVariableIds as browse paths relative to the FunctionalEntity.
    pub output_paths: Vec<Vec<PathElementConfig>>,
    /// CleanupTimeout in milliseconds (negative: never, 0: immediately).
    pub cleanup_timeout: f64,
    /// RelatedEndpoint.Address when the connection has no endpoint2.
    pub related_address: String,
    /// RelatedEndpoint.ConnectionEndpointName when the connection has no endpoint2.
    pub related_endpoint: String,
    /// With `pubsub`: where this endpoint's component receives (`opc.udp://host:port`, the
    /// `listen` address of its `[[pubsub]]` connection with `fx = true`, or a multicast group):
    /// the destination of the other end's writer. Needed when the endpoint subscribes.
    pub address: String,
    /// ExpectedVerificationVariables (VerifyFunctionalEntityCmd when not empty).
    pub expected_verification: Vec<NodeValueConfig>,
    /// ConfigurationData (SetConfigurationDataCmd when not empty).
    pub configuration_data: Vec<NodeValueConfig>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            server: String::new(),
            automation_component: String::new(),
            functional_entity: String::new(),
            functional_entity_node: String::new(),
            functional_entity_path: Vec::new(),
            name: String::new(),
            mode: EndpointModeConfig::default(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            input_paths: Vec::new(),
            output_paths: Vec::new(),
            cleanup_timeout: 5000.0,
            related_address: String::new(),
            related_endpoint: String::new(),
            address: String::new(),
            expected_verification: Vec::new(),
            configuration_data: Vec::new(),
        }
    }
}

/// AssetVerificationModeEnum.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AssetVerificationModeConfig {
    /// AssetCompatibility (0).
    #[default]
    Compatibility,
    /// AssetIdentity (1).
    Identity,
    /// AssetIdentityAndCompatibility (2).
    IdentityAndCompatibility,
}

/// The VerificationResult an asset verification must reach.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedAssetResultConfig {
    /// Match.
    #[default]
    Match,
    /// Compatible (or Match).
    Compatible,
}

/// `[[fx.connection_manager.set.asset_verification]]`: one AssetVerification of an
/// AutomationComponentConfiguration (§6.14).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AssetVerificationConfig {
    /// The AutomationComponent of the Asset (a local `[[fx.automation_component]]`, as for
    /// endpoints).
    pub automation_component: String,
    /// The Asset by name in the component's Assets folder.
    pub asset: String,
    /// VerificationMode.
    pub mode: AssetVerificationModeConfig,
    /// ExpectedVerificationResult.
    pub expected_result: ExpectedAssetResultConfig,
    /// ExpectedVerificationVariables by BrowseName name (`ManufacturerUri`, `ProductCode`,
    /// `SerialNumber`, `ProductInstanceUri`, `MajorAssetVersion`, …).
    pub variables: std::collections::BTreeMap<String, ScalarConfig>,
}

/// A portable NodeId as text: namespace URI and the identifier part (`s=…`, `i=…`, `g=…`, `b=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortableNodeIdText {
    /// Namespace URI (empty: the server's local namespace, index 1).
    pub namespace: String,
    /// `i=…`, `s=…`, `g=…` or `b=…`.
    pub identifier: String,
}

/// Why [`parse_portable_node_id`] rejects a text (the `nsu=` ExpandedNodeId text form of
/// OPC 10000-6: a namespace URI in place of the index).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortableNodeIdError {
    /// Neither `nsu=` nor `ns=` followed by a URI (an index is not portable).
    #[error("`{0}` is no portable NodeId (`nsu=<namespace uri>;s=<name>`)")]
    NotPortable(String),
    /// No `;i=`, `;s=`, `;g=` or `;b=` after the namespace.
    #[error("`{0}`: no `;i=`, `;s=`, `;g=` or `;b=` identifier")]
    NoIdentifier(String),
    /// The identifier after `i=`, `s=`, `g=` or `b=` is empty.
    #[error("`{0}`: the identifier is empty")]
    EmptyIdentifier(String),
    /// An `i=` identifier that is not a UInt32.
    #[error("`{text}`: `{number}` is no numeric identifier")]
    NotNumeric {
        /// The whole NodeId text.
        text: String,
        /// What follows `i=`.
        number: String,
    },
}

impl From<PortableNodeIdError> for String {
    fn from(e: PortableNodeIdError) -> Self {
        e.to_string()
    }
}

/// Parses `nsu=<uri>;<id>` or `ns=<uri>;<id>` (a URI, not an index), with `<id>` one of
/// `i=<number>`, `s=<text>`, `g=<guid>`, `b=<base64>`.
pub fn parse_portable_node_id(text: &str) -> Result<PortableNodeIdText, PortableNodeIdError> {
    let rest = text
        .strip_prefix("nsu=")
        .or_else(|| text.strip_prefix("ns=").filter(|r| !r.starts_with(|c: char| c.is_ascii_digit())))
        .ok_or_else(|| PortableNodeIdError::NotPortable(text.to_string()))?;
    let cut = ["i=", "s=", "g=", "b="]
        .iter()
        .filter_map(|k| rest.find(&format!(";{k}")))
        .min()
        .ok_or_else(|| PortableNodeIdError::NoIdentifier(text.to_string()))?;
    let (namespace, identifier) = (&rest[..cut], &rest[cut + 1..]);
    if identifier.len() <= 2 {
        return Err(PortableNodeIdError::EmptyIdentifier(text.to_string()));
    }
    if let Some(n) = identifier.strip_prefix("i=") {
        n.parse::<u32>().map_err(|_| PortableNodeIdError::NotNumeric {
            text: text.to_string(),
            number: n.to_string(),
        })?;
    }
    Ok(PortableNodeIdText { namespace: namespace.to_string(), identifier: identifier.to_string() })
}

/// Whether a node text is a portable NodeId (else it is a tag path).
pub fn is_portable_node_id(text: &str) -> bool {
    text.starts_with("nsu=") || text.starts_with("ns=")
}
