//! DeviceHealth of an AutomationComponent's Assets from the sources it stands for
//! (`[[fx.automation_component]] sources`): FAILURE while a source has lost communication — a
//! device's tags are Bad_NoCommunication (or another communication error), an
//! upstream server is not Connected — NORMAL otherwise. The component's AggregatedDeviceHealth
//! follows (§6.2.2: DeviceFailure).

use std::collections::HashSet;


use fxgate_core::{ChangeBatch, TagId, TagStore};
use fxgate_plugin::SharedUpstreamLinks;
use opcua::types::StatusCode;

use crate::model::Model;

/// Whether `status` says the source behind a tag is out of reach.
pub fn is_lost(status: StatusCode) -> bool {
    // compare without the info bits (overflow, limits) a value's status may carry
    let code = StatusCode::from(status.bits() & 0xFFFF_0000);
    matches!(
        code,
        StatusCode::BadNoCommunication
            | StatusCode::BadCommunicationError
            | StatusCode::BadNotConnected
            | StatusCode::BadConnectionClosed
            | StatusCode::BadServerNotConnected
    )
}

/// The sources of each component: the tags of its devices, and its upstream
/// servers.
#[derive(Clone, Default)]
pub struct SourceTags {
    per_component: Vec<HashSet<TagId>>,
    upstreams: Vec<Vec<String>>,
    aggregator: Option<SharedUpstreamLinks>,
}

impl SourceTags {
    /// The sources of every component of `model`: tags in `store`, upstream servers in
    /// `aggregator` (a source that is neither is taken as an upstream server).
    pub fn new(model: &Model, store: &TagStore, aggregator: Option<SharedUpstreamLinks>) -> Self {
        let upstreams = model
            .components
            .iter()
            .map(|c| {
                c.sources
                    .iter()
                    .filter(|s| !store.defs().any(|(_, d)| d.source.as_ref() == s.as_str()))
                    .cloned()
                    .collect()
            })
            .collect();
        let per_component = model
            .components
            .iter()
            .map(|c| {
                store
                    .defs()
                    .filter(|(_, d)| c.sources.iter().any(|s| s.as_str() == &*d.source))
                    .map(|(id, _)| id)
                    .collect()
            })
            .collect();
        Self { per_component, upstreams, aggregator }
    }

    /// The components with an upstream server among their sources (their state is polled).
    pub fn with_upstreams(&self) -> Vec<usize> {
        (0..self.upstreams.len()).filter(|c| !self.upstreams[*c].is_empty()).collect()
    }

    /// The components with a tag in `batch`.
    pub fn touched(&self, batch: &ChangeBatch) -> Vec<usize> {
        (0..self.per_component.len())
            .filter(|c| batch.iter().any(|(id, _)| self.per_component[*c].contains(id)))
            .collect()
    }

    /// Whether a source of component `c` has lost communication now.
    pub fn failed(&self, store: &TagStore, c: usize) -> bool {
        let tags = self
            .per_component
            .get(c)
            .is_some_and(|tags| tags.iter().any(|id| store.with_value(*id, |v| is_lost(v.status)).unwrap_or(false)));
        let upstream = self.upstreams.get(c).is_some_and(|names| {
            names.iter().any(|n| {
                let found = self.aggregator.as_ref().and_then(|a| a.link(n));
                found.is_none_or(|u| !u.connected())
            })
        });
        tags || upstream
    }

    /// The number of components.
    pub fn len(&self) -> usize {
        self.per_component.len()
    }

    /// Whether there are no components.
    pub fn is_empty(&self) -> bool {
        self.per_component.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communication_errors_are_lost_others_not() {
        assert!(is_lost(StatusCode::BadNoCommunication));
        assert!(is_lost(StatusCode::BadCommunicationError));
        assert!(!is_lost(StatusCode::Good));
        assert!(!is_lost(StatusCode::BadWaitingForInitialData), "not yet polled is no failure");
        assert!(!is_lost(StatusCode::BadOutOfRange));
    }
}
