//! Line metrics for `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The `line` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LineLabel {
    /// Line name.
    pub line: String,
}

/// Per-line metrics, shared by every line of the gateway.
#[derive(Clone, Default)]
pub struct LineMetrics {
    /// 1 while connected (client) or while at least one client is connected (server).
    pub connected: Family<LineLabel, Gauge>,
    /// The line's [`LineState`](crate::LineState) as its number.
    pub state: Family<LineLabel, Gauge>,
    /// Connections lost or failed after which the line tried again.
    pub reconnects: Family<LineLabel, Counter>,
    /// Connections established (client) or accepted (server).
    pub connections: Family<LineLabel, Counter>,
    /// Protocol requests sent or served on the line.
    pub requests: Family<LineLabel, Counter>,
    /// Protocol requests that failed (exception, timeout, broken connection).
    pub request_errors: Family<LineLabel, Counter>,
}

impl LineMetrics {
    /// Registers the families under `fxgate_line_…`.
    pub fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("line");
        r.register("connected", "1 while the line is connected", self.connected.clone());
        r.register(
            "state",
            "Line state: 0 Stopped, 1 Disconnected, 2 Connecting, 3 Connected, 4 Listening",
            self.state.clone(),
        );
        r.register("reconnects", "Connections lost or failed after which the line tried again", self.reconnects.clone());
        r.register("connections", "Connections established or accepted", self.connections.clone());
        r.register("requests", "Protocol requests sent or served", self.requests.clone());
        r.register("request_errors", "Protocol requests that failed", self.request_errors.clone());
    }

    /// The label of `line`.
    pub fn label(line: &str) -> LineLabel {
        LineLabel { line: line.to_string() }
    }
}
