//! The PubSub objects OPC UA FX makes at run time (OPC 10000-81 §6.2.4.3.9–10,
//! SetCommunicationConfigurationCmd and EnableCommunicationCmd): a Part 14
//! PubSubConfiguration2DataType applied to the connection set aside for FX, the readers and
//! writers it made enabled, disabled, watched and removed. Offered by the PubSub plug-in and
//! used by FX, so that neither crate depends on the other.

use std::sync::Arc;

use opcua::types::{NodeId, PubSubConfiguration2DataType, PubSubConfigurationRefDataType, PubSubConfigurationValueDataType, StatusCode};

use fxgate_core::TagId;

use crate::pubsub_ids::PubSubIds;

/// The transport profile of UADP over UDP (OPC 10000-14), the one fxgate's PubSub speaks.
pub const UDP_UADP: &str = "http://opcfoundation.org/UA-Profile/Transport/pubsub-udp-uadp";

/// The namespace of the PubSub information model, where the objects' nodes are
/// (`s=<path>` with the paths [`Applied::paths`] gives).
pub const PUBSUB_MODEL_NAMESPACE: &str = "urn:fxgate:pubsub";

/// A DataSetReader or DataSetWriter made by [`FxPubSub::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PubSubObject(pub u32);

/// The state of a reader or writer (Part 14 PubSubState, as FX derives endpoint Status from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PubSubObjectState {
    /// Switched off, or a parent is.
    Disabled,
    /// Enabled and waiting (a reader before its first message).
    PreOperational,
    /// Publishing, or receiving.
    Operational,
    /// A reader without a message for MessageReceiveTimeout.
    Error,
}

/// Where an element sits in a PubSubConfiguration2DataType: connection, group and element
/// index (as a PubSubConfigurationRefDataType counts them).
pub type ElementPath = (u16, u16, u16);

/// What [`FxPubSub::apply`] is given.
pub struct ApplyRequest<'a> {
    /// The configuration.
    pub configuration: &'a PubSubConfiguration2DataType,
    /// The elements to apply (ElementAdd, ElementMatch).
    pub references: &'a [PubSubConfigurationRefDataType],
    /// The tag behind a PublishedVariable (None: not a variable this server publishes).
    pub published: &'a (dyn Fn(&NodeId) -> Option<TagId> + Sync),
    /// The tag behind a TargetNodeId (None: not a variable a reader may write).
    pub targets: &'a (dyn Fn(&NodeId) -> Option<TagId> + Sync),
}

/// What [`FxPubSub::apply`] made.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// One result per reference.
    pub reference_results: Vec<StatusCode>,
    /// The names and ids filled in for null ones (ConfigurationValues).
    pub values: Vec<PubSubConfigurationValueDataType>,
    /// The readers made, by where they are in the configuration.
    pub readers: Vec<(ElementPath, PubSubObject)>,
    /// The writers made, by where they are in the configuration.
    pub writers: Vec<(ElementPath, PubSubObject)>,
    /// Each object's node in the information model (the string identifier in
    /// [`PUBSUB_MODEL_NAMESPACE`]).
    pub paths: Vec<(PubSubObject, String)>,
}

/// Why a configuration was not applied (nothing of it was).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// No ConfigurationReferences (Bad_NothingToDo).
    #[error("no configuration references")]
    NothingToDo,
    /// A reference asks for what fxgate does not do, e.g. ElementRemove or a second connection
    /// (Bad_NotSupported for that reference).
    #[error("reference {index}: {detail}")]
    Unsupported {
        /// The reference.
        index: usize,
        /// What.
        detail: String,
    },
    /// A referenced element is inconsistent: a missing DataSet, an unknown variable, an id
    /// already in use (Bad_ConfigurationError for that reference).
    #[error("reference {index}: {detail}")]
    Invalid {
        /// The reference.
        index: usize,
        /// What.
        detail: String,
    },
    /// No free ids are left, or the run-time objects would exceed their limits
    /// (Bad_ResourceUnavailable).
    #[error("no free ids or too many PubSub objects")]
    Exhausted,
    /// The connection set aside for FX is not running (Bad_InvalidState).
    #[error("the PubSub connection is not running")]
    NotRunning,
}

impl ApplyError {
    /// The CommunicationConfigurationResult's Result.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NothingToDo => StatusCode::BadNothingToDo,
            Self::Unsupported { .. } => StatusCode::BadNotSupported,
            Self::Invalid { .. } => StatusCode::BadConfigurationError,
            Self::Exhausted => StatusCode::BadResourceUnavailable,
            Self::NotRunning => StatusCode::BadInvalidState,
        }
    }

    /// The ReferenceResults for `n` references: the failing one's status, Bad_NothingToDo for
    /// the others (nothing was applied).
    pub fn reference_results(&self, n: usize) -> Vec<StatusCode> {
        let failed = match self {
            Self::Unsupported { index, .. } | Self::Invalid { index, .. } => Some(*index),
            _ => None,
        };
        (0..n).map(|i| if Some(i) == failed { self.status() } else { StatusCode::BadNothingToDo }).collect()
    }
}

/// The PubSub runtime of the connection set aside for FX.
pub trait FxPubSub: PubSubIds {
    /// Applies the referenced elements of a configuration atomically (all or nothing): the
    /// connection is matched to the one set aside for FX; groups, readers and writers are
    /// added with their Enabled flags as given; null names and ids are filled in.
    fn apply(&self, request: &ApplyRequest<'_>) -> Result<Applied, ApplyError>;
    /// Removes readers and writers (and groups left empty).
    fn remove(&self, objects: &[PubSubObject]);
    /// Enables readers and writers and their parents (all or nothing; Bad_NodeIdUnknown for
    /// an object that does not exist).
    fn enable(&self, objects: &[PubSubObject]) -> Result<(), StatusCode>;
    /// Disables readers and writers (their parents stay as they are).
    fn disable(&self, objects: &[PubSubObject]);
    /// The state of an object (None: it does not exist).
    fn state(&self, object: PubSubObject) -> Option<PubSubObjectState>;
    /// A counter that moves whenever the state of an object may have changed.
    fn changes(&self) -> tokio::sync::watch::Receiver<u64>;
}

/// The runtime FX uses.
pub type SharedFxPubSub = Arc<dyn FxPubSub>;
