//! Counters the OPC UA server keeps for `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label of per-service counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabel {
    /// OPC UA service name (`Read`, `Write`, …).
    pub service: String,
}

/// Label of refused logins: why (`unknown_user`, `wrong_password`, `anonymous_disabled`,
/// `untrusted_user_certificate`, `user_certificate_chain`). The client is told the same for an unknown user and a
/// wrong password; the operator sees which.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabel {
    /// Why the login was refused.
    pub reason: &'static str,
}

/// Label of refused client certificates: the status code of the failed check
/// (`BadCertificateRevoked`, `BadCertificateChainIncomplete`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertificateLabel {
    /// The status code's name.
    pub status: String,
}

/// OPC UA server metrics.
#[derive(Clone)]
pub struct ServerMetrics {
    /// Operations handled by the tag address space, by service.
    pub requests: Family<ServiceLabel, Counter>,
    /// `requests{service="Read"}`, held so the hot path does no lookup.
    pub reads: Counter,
    /// `requests{service="Write"}`.
    pub writes: Counter,
    /// `requests{service="CreateMonitoredItems"}`.
    pub monitored_items_created: Counter,
    /// `requests{service="DeleteMonitoredItems"}`.
    pub monitored_items_deleted: Counter,
    /// Sessions open now.
    pub sessions: Gauge,
    /// Sessions created since start.
    pub sessions_created: Gauge,
    /// Subscriptions open now.
    pub subscriptions: Gauge,
    /// Requests and sessions refused for security reasons since start.
    pub security_rejections: Gauge,
    /// Writes refused (access, type, source verdict).
    pub write_errors: Counter,
    /// Logins refused, by reason.
    pub login_failures: Family<LoginLabel, Counter>,
    /// Client connections cut by the chunk guard (a chunk larger than the receive buffer).
    pub refused_chunks: Counter,
    /// Client certificates refused by the chain check, by status code.
    pub refused_certificates: Family<CertificateLabel, Counter>,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        let requests = Family::<ServiceLabel, Counter>::default();
        let counter = |service: &str| {
            requests
                .get_or_create(&ServiceLabel {
                    service: service.to_string(),
                })
                .clone()
        };
        Self {
            reads: counter("Read"),
            writes: counter("Write"),
            monitored_items_created: counter("CreateMonitoredItems"),
            monitored_items_deleted: counter("DeleteMonitoredItems"),
            requests,
            sessions: Gauge::default(),
            sessions_created: Gauge::default(),
            subscriptions: Gauge::default(),
            security_rejections: Gauge::default(),
            write_errors: Counter::default(),
            login_failures: Family::default(),
            refused_chunks: Counter::default(),
            refused_certificates: Family::default(),
        }
    }
}

impl ServerMetrics {
    /// Registers every metric under the `fxgate_opcua_` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("opcua");
        r.register("operations", "Operations handled by the tag address space, by service", self.requests.clone());
        r.register("sessions", "Sessions open now", self.sessions.clone());
        r.register("sessions_created", "Sessions created since start", self.sessions_created.clone());
        r.register("subscriptions", "Subscriptions open now", self.subscriptions.clone());
        r.register("security_rejections", "Requests and sessions refused for security reasons", self.security_rejections.clone());
        r.register("write_errors", "Writes refused", self.write_errors.clone());
        r.register("refused_chunks", "Client connections cut for a message chunk larger than the receive buffer (Bad_TcpMessageTooLarge)", self.refused_chunks.clone());
        r.register("refused_certificates", "Client connections refused by the chain check of their certificate (CA chains, CRLs), by status code", self.refused_certificates.clone());
        r.register("login_failures", "Logins refused, by reason (the client is told the same for an unknown user and a wrong password)", self.login_failures.clone());
    }
}
