//! Upstream metrics for `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The `upstream` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabel {
    /// Upstream name.
    pub upstream: String,
}

/// Per-upstream metrics.
#[derive(Clone, Default)]
pub struct UpstreamMetrics {
    /// 1 while a session is active.
    pub connected: Family<UpstreamLabel, Gauge>,
    /// State: 0 Disconnected, 1 Connecting, 2 Connected.
    pub state: Family<UpstreamLabel, Gauge>,
    /// Sessions lost or not made after the first attempt.
    pub reconnects: Family<UpstreamLabel, Gauge>,
    /// Upstream monitored items (each shared by any number of clients).
    pub monitored_items: Family<UpstreamLabel, Gauge>,
    /// Service requests sent to the upstream.
    pub requests: Family<UpstreamLabel, Counter>,
    /// Reads answered from the cache (`maxAge`) without asking the upstream.
    pub cache_hits: Family<UpstreamLabel, Counter>,
}

impl UpstreamMetrics {
    /// Registers the families under `fxgate_upstream_…`.
    pub fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("upstream");
        r.register("connected", "1 while the upstream session is active", self.connected.clone());
        r.register("state", "Upstream state: 0 Disconnected, 1 Connecting, 2 Connected", self.state.clone());
        r.register("reconnects", "Upstream sessions lost or not made after the first attempt", self.reconnects.clone());
        r.register("monitored_items", "Monitored items on the upstream", self.monitored_items.clone());
        r.register("requests", "Service requests sent to the upstream", self.requests.clone());
        r.register("cache_hits", "Reads answered from the cache without an upstream round trip", self.cache_hits.clone());
    }

    /// Drops every series of a removed upstream.
    pub fn remove(&self, l: &UpstreamLabel) {
        for g in [&self.connected, &self.state, &self.reconnects, &self.monitored_items] {
            g.remove(l);
        }
        self.requests.remove(l);
        self.cache_hits.remove(l);
    }

    /// The label of `upstream`.
    pub fn label(upstream: &str) -> UpstreamLabel {
        UpstreamLabel {
            upstream: upstream.to_string(),
        }
    }
}
