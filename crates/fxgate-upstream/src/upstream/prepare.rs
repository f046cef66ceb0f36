//! Preparing a new session for use: the NamespaceArray of the upstream's Server Object
//! (OPC 10000-5 §8.3.2) read and given stable gateway indexes, its own types and event fields
//! found, and the one subscription (OPC 10000-4 §5.13.2) that carries every shared monitored
//! item created again.

use std::sync::Arc;
use std::time::Duration;

use opcua::client::Session;
use opcua::types::{AttributeId, ReadValueId, TimestampsToReturn, VariableId, Variant};

use super::notifications::Notifications;
use super::structure::find_subtypes;
use super::{Live, Upstream};
use crate::mapping::NsMapping;
use crate::names::NamesError;

/// Why a new session could not be prepared for use (`Upstream::prepare`).
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Reading `Server/NamespaceArray` failed.
    #[error("reading the NamespaceArray: {0}")]
    ReadNamespaceArray(opcua::types::Error),
    /// The NamespaceArray is not an array of Strings.
    #[error("the upstream's NamespaceArray is not an array of strings")]
    NamespaceArrayNotStrings,
    /// The NamespaceArray is empty (it always holds at least OPC UA's own namespace).
    #[error("the upstream's NamespaceArray is empty")]
    NamespaceArrayEmpty,
    /// The upstream's namespaces could not be given gateway indexes.
    #[error(transparent)]
    Namespaces(#[from] NamesError),
    /// CreateSubscription failed.
    #[error("creating the subscription: {0}")]
    CreateSubscription(opcua::types::Error),
}

impl Upstream {
    /// Reads the namespaces, maps them, finds the upstream's subtypes of standard types
    /// and recreates every shared monitored item.
    pub(super) async fn prepare(self: Arc<Self>, session: Arc<Session>) -> Result<Live, PrepareError> {
        let ns = session
            .read(
                &[ReadValueId {
                    node_id: VariableId::Server_NamespaceArray.into(),
                    attribute_id: AttributeId::Value as u32,
                    ..Default::default()
                }],
                TimestampsToReturn::Neither,
                0.0,
            )
            .await
            .map_err(PrepareError::ReadNamespaceArray)?;
        let uris: Vec<String> = match ns.into_iter().next().and_then(|d| d.value) {
            Some(Variant::Array(a)) => a
                .values
                .into_iter()
                .map(|v| match v {
                    Variant::String(s) => s.as_ref().to_string(),
                    other => other.to_string(),
                })
                .collect(),
            _ => return Err(PrepareError::NamespaceArrayNotStrings),
        };
        if uris.is_empty() {
            return Err(PrepareError::NamespaceArrayEmpty);
        }
        let to_gw = self.names.register(&self.name, &uris)?;
        let map = Arc::new(NsMapping::new(to_gw, self.folder.clone(), self.known.clone()));
        let subtypes = Arc::new(find_subtypes(&session, &map).await);
        let (events, event_types) = crate::events::discover(&session, &map).await;
        let events = Arc::new(events);
        tracing::debug!(upstream = %self.name, fields = events.len(), own_types = event_types.types.len(), "upstream event fields");
        if let Some(n) = self.notify.get() {
            n.event_types(event_types);
        }
        self.prefetch_structure(&session, &map).await;
        let notifications = Notifications {
            up: Arc::downgrade(&self),
            map: map.clone(),
            events: events.clone(),
        };
        let subscription_id = session
            .create_subscription(
                Duration::from_millis(self.config.publishing_interval_ms),
                60,
                10,
                // bounded Publish responses: an unbounded one for 10,000 items is refused
                // (BadResponseTooLarge) or exceeds decoding limits
                1000,
                0,
                true,
                notifications,
            )
            .await
            .map_err(PrepareError::CreateSubscription)?;
        let live = Live {
            session,
            map,
            subscription_id,
            subtypes,
            events,
            no_stamps: Arc::default(),
        };
        let all = self.items.all();
        if !all.is_empty() {
            let chs: Vec<u32> = all.iter().map(|s| s.client_handle).collect();
            self.create_items(&live, &chs).await;
        }
        Ok(live)
    }
}
