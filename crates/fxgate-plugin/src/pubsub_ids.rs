//! PubSub ids an AutomationComponent hands out (OPC 10000-81 §6.2.4.3.3,
//! ReserveCommunicationIdsCmd), offered by the PubSub plug-in and used by OPC UA FX, so that
//! neither crate depends on the other.

use std::sync::{Arc, OnceLock};

use opcua::types::Variant;

/// Ids reserved for one ReserveCommunicationIds request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// The PublisherId of the connection the ids are on (DefaultPublisherId).
    pub publisher_id: Variant,
    /// WriterGroupIds no configured or reserved group has.
    pub writer_group_ids: Vec<u16>,
    /// DataSetWriterIds no configured or reserved writer has.
    pub data_set_writer_ids: Vec<u16>,
    /// The UDP port the connection receives unicast traffic on (the transport-specific info of
    /// UDP-UADP), if it listens.
    pub unicast_port: Option<u16>,
}

/// Why ids were not reserved (the request's Result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    /// Another transport than the connection's (Bad_NotSupported).
    #[error("the transport profile is not supported")]
    Transport,
    /// Not that many free ids (Bad_ResourceUnavailable).
    #[error("not that many free ids")]
    Exhausted,
}

/// Reserves PubSub ids on the connection set aside for OPC UA FX.
pub trait PubSubIds: Send + Sync {
    /// Reserves `writer_groups` WriterGroupIds and `writers` DataSetWriterIds for
    /// `transport_profile_uri` (all or nothing).
    fn reserve(&self, transport_profile_uri: &str, writer_groups: u16, writers: u16) -> Result<Reservation, ReserveError>;
    /// Gives reserved ids back (a call that reserved them was rolled back).
    fn release(&self, reservation: &Reservation);
}

/// Where the PubSub plug-in puts its runtime for OPC UA FX ([`crate::FxPubSub`]: the ids
/// and the objects of SetCommunicationConfigurationCmd). FX is built first and offers
/// the slot, so that its namespaces keep their indexes whether PubSub is configured or not;
/// the PubSub plug-in, built after it, fills the slot when a connection is set aside for FX.
#[derive(Clone, Default)]
pub struct FxPubSubSlot(pub Arc<OnceLock<crate::SharedFxPubSub>>);
