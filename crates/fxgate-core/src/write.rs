//! The write path: a sink asks the store to write a tag, the store forwards the
//! request to the owning source, the source answers with a status.

use opcua::types::{StatusCode, Variant};
use tokio::sync::{mpsc, oneshot};

use crate::TagId;

/// A write travelling from a sink to the source that owns the tag.
#[derive(Debug)]
pub struct WriteRequest {
    /// The tag to write.
    pub tag: TagId,
    /// The value the client wants written (already checked against the tag's data type by the sink).
    pub value: Variant,
    /// Where the source sends its verdict. Dropping it without answering counts as
    /// `Bad_NoCommunication`.
    pub reply: oneshot::Sender<StatusCode>,
}

impl WriteRequest {
    /// Answers the request; a sink that has given up waiting is not an error.
    pub fn answer(self, status: StatusCode) {
        let _ = self.reply.send(status);
    }
}

/// The receiving end a source holds for the writes to its tags.
pub type WriteReceiver = mpsc::Receiver<WriteRequest>;
