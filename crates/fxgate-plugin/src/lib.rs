//! The plug-in shape (after Vector's `SourceConfig::build(cx)`): every protocol's config
//! section implements [`Protocol`], and the topology builds whatever the registry lists
//! through it, naming no protocol.
//!
//! A protocol's section validates itself ([`fxgate_config::Section`]) and, once the file is
//! valid, [`Protocol::build`] turns it into running components (sources and sinks around
//! the tag store) and, for address-space features such as aggregation or OPC UA FX, into
//! extensions of the OPC UA server.

#![warn(missing_docs)]

mod context;
mod fx_pubsub;
mod links;
mod pubsub_ids;
mod registry;

pub use context::{BuildContext, Built};
pub use links::{SharedUpstreamLinks, UpstreamLink, UpstreamLinks};
pub use fx_pubsub::{
    Applied, ApplyError, ApplyRequest, ElementPath, FxPubSub, PubSubObject, PubSubObjectState, SharedFxPubSub, PUBSUB_MODEL_NAMESPACE, UDP_UADP,
};
pub use pubsub_ids::{FxPubSubSlot, PubSubIds, Reservation, ReserveError};

use fxgate_core::BuildError;

/// A protocol's configuration section, able to build what it configures.
pub trait Protocol: fxgate_config::Section + Sync {
    /// Adds this section's components, server extensions and shared services to `cx`.
    /// `key` is the section's top-level key. An empty section adds nothing.
    fn build(&self, key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError>;
}
