//! Why a referenced element of a PubSub configuration cannot be made (the detail of
//! [`fxgate_plugin::ApplyError`]).

use crate::udp::UrlError;

/// What is wrong with one element.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ElementError {
    /// A transport profile other than UDP-UADP.
    #[error("transport profile {0} (only {uri})", uri = crate::model::UDP_UADP)]
    Transport(String),
    /// A connection other than the one set aside for FX.
    #[error("connection `{given}`: fxgate has one PubSub connection for FX, `{fx}`")]
    OtherConnection {
        /// The name in the configuration.
        given: String,
        /// The FX connection's name.
        fx: String,
    },
    /// A PublisherId other than the FX connection's.
    #[error("PublisherId {0} is not the FX connection's")]
    OtherPublisherId(String),
    /// A writer group without a destination.
    #[error("writer group {0}: no destination address (TransportSettings or the connection's Address)")]
    NoDestination(u16),
    /// A destination that is no `opc.udp://` URL.
    #[error("writer group {group}: address `{url}`: {source}")]
    Destination {
        /// The group's index.
        group: u16,
        /// The address.
        url: String,
        /// Why.
        #[source]
        source: UrlError,
    },
    /// A PublishingInterval outside 1 ms to 1 h.
    #[error("writer group {group}: PublishingInterval {ms} ms")]
    PublishingInterval {
        /// The group's index.
        group: u16,
        /// The interval.
        ms: f64,
    },
    /// A writer's DataSet is not among the PublishedDataSets.
    #[error("writer {writer}: no PublishedDataSet `{name}`")]
    NoDataSet {
        /// The writer's index.
        writer: u16,
        /// The DataSetName.
        name: String,
    },
    /// A PublishedDataSet whose source is not PublishedDataItems.
    #[error("PublishedDataSet `{0}`: only PublishedDataItems are supported")]
    NotDataItems(String),
    /// A published attribute other than Value.
    #[error("PublishedDataSet `{name}`: attribute {attribute} (only Value)")]
    PublishedAttribute {
        /// The PublishedDataSet.
        name: String,
        /// The AttributeId.
        attribute: u32,
    },
    /// A published variable that is not one of the component's outputs.
    #[error("PublishedDataSet `{name}`: {node} is not an output (OutputData) of this component")]
    NotAnOutput {
        /// The PublishedDataSet.
        name: String,
        /// The variable.
        node: String,
    },
    /// A reader's PublisherId that is none of Part 14's five types.
    #[error("reader {reader}: PublisherId {id}")]
    ReaderPublisherId {
        /// The reader's index.
        reader: u16,
        /// The value given.
        id: String,
    },
    /// A reader without the publisher's WriterGroupId and DataSetWriterId.
    #[error("reader {0}: WriterGroupId and DataSetWriterId must be set (the publisher's)")]
    ReaderIds(u16),
    /// A MessageReceiveTimeout outside 1 ms to 1 h.
    #[error("reader {reader}: MessageReceiveTimeout {ms} ms")]
    ReceiveTimeout {
        /// The reader's index.
        reader: u16,
        /// The timeout.
        ms: f64,
    },
    /// A reader whose SubscribedDataSet is not TargetVariables.
    #[error("reader {0}: only TargetVariables are supported")]
    NotTargetVariables(u16),
    /// A field without a target variable.
    #[error("reader {reader}: field `{field}` has no target variable")]
    NoTarget {
        /// The reader's index.
        reader: u16,
        /// The field.
        field: String,
    },
    /// A target attribute other than Value.
    #[error("reader {reader}: target attribute {attribute} (only Value)")]
    TargetAttribute {
        /// The reader's index.
        reader: u16,
        /// The AttributeId.
        attribute: u32,
    },
    /// A target that is not one of the component's inputs.
    #[error("reader {reader}: {node} is not an input (InputData) of this component")]
    NotAnInput {
        /// The reader's index.
        reader: u16,
        /// The variable.
        node: String,
    },
    /// The same WriterGroupId or DataSetWriterId twice in one configuration.
    #[error("a WriterGroupId or DataSetWriterId is given twice")]
    IdTwice,
}
