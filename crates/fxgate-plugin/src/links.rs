//! OPC UA sessions the gateway holds to other servers, offered by one plug-in (the
//! aggregation's upstreams) and used by another (OPC UA FX calls AutomationComponents on
//! upstream servers, OPC 10000-81 §13.3), so that neither crate depends on the other.

use std::sync::Arc;

use opcua::client::Session;

/// One server the gateway is linked to.
#[derive(Clone)]
pub struct UpstreamLink {
    /// Its endpoint URL.
    pub endpoint_url: String,
    /// The live session, while connected.
    pub session: Option<Arc<Session>>,
}

impl UpstreamLink {
    /// Whether the link is connected now.
    pub fn connected(&self) -> bool {
        self.session.is_some()
    }
}

/// The servers the gateway is linked to, by name.
pub trait UpstreamLinks: Send + Sync {
    /// The link to the server named `server`, if one is configured.
    fn link(&self, server: &str) -> Option<UpstreamLink>;
}

/// The service a plug-in offers through the build context.
pub type SharedUpstreamLinks = Arc<dyn UpstreamLinks>;
