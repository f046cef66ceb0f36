//! The configuration types of the gateway itself: server, users, HTTP and logging.
//! The file as a whole is [`crate::file`]'s business.

use serde::{Deserialize, Serialize};


/// A role a user may hold (seed 000 §4.9.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Browse, read and subscribe.
    Read,
    /// Write values and call methods.
    Write,
    /// Change the gateway's configuration at run time.
    Configure,
    /// Establish and close OPC UA FX connections (OPC 10000-81 §5.9 ConnectionAdmin):
    /// EstablishConnections, CloseConnections and the ConnectionManager's methods.
    #[serde(rename = "connection_admin")]
    ConnectionAdmin,
    /// Manage the server's certificate and trust list remotely (OPC 10000-12 §7.10 push
    /// management: the TrustList, CreateSigningRequest, UpdateCertificate, ApplyChanges), over an
    /// encrypted channel only.
    #[serde(rename = "security_admin")]
    SecurityAdmin,
}

/// `[server]`: the OPC UA server.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Application name (also the certificate's common name).
    pub application_name: String,
    /// Address to listen on.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Endpoint URL announced to clients; empty: `opc.tcp://<hostname>:<port>/`.
    pub endpoint_url: String,
    /// Offer the None security policy (unsigned, unencrypted).
    pub allow_none: bool,
    /// Offer the deprecated Basic128Rsa15 and Basic256 policies.
    pub allow_deprecated: bool,
    /// Trust every client certificate (delivery state of the seed; warned about at start).
    pub accept_all_certificates: bool,
    /// Allow anonymous logins.
    pub anonymous: bool,
    /// Roles of anonymous users.
    pub anonymous_roles: Vec<Role>,
    /// Roles of users who log in with a certificate from `pki-user/` that no `[[users]]` entry names.
    pub certificate_roles: Vec<Role>,
    /// Application certificate file (DER or PEM); empty: a self-signed one is made in the data dir.
    pub certificate: String,
    /// Private key of `certificate` (PEM).
    pub private_key: String,
    /// Discovery server to register with (e.g. `opc.tcp://127.0.0.1:4840/`); empty: none.
    pub register_with_lds: String,
    /// Seconds between registrations.
    pub register_interval_s: u64,
    /// Client URLs the server connects out to (reverse connect).
    pub reverse_connect: Vec<String>,
    /// Most sessions at once; a CreateSession beyond them is refused with BadTooManySessions.
    pub max_sessions: usize,
    /// Most subscriptions one session may hold; one more is refused with
    /// BadTooManySubscriptions (async-opcua's default, 10).
    pub max_subscriptions_per_session: usize,
    /// Most monitored items one subscription may hold; a CreateMonitoredItems call that would
    /// go beyond them is refused as a whole with BadTooManyMonitoredItems.
    pub max_monitored_items_per_subscription: usize,
    /// The shortest sampling interval a monitored item gets, in ms. 0 (the default) lets a
    /// client ask for 0: every change a source pushes is queued with its own source
    /// timestamp (OPC 10000-4 §5.12.1.2); async-opcua otherwise holds back a value that
    /// arrives within one interval of the previous one and moves its timestamp.
    pub min_sampling_interval_ms: f64,
    /// The largest queue a monitored item (data or events) gets; larger requests are revised
    /// down to it.
    pub max_queue_size: usize,
    /// The most notifications one Publish response carries; more wait for the next response
    /// (MoreNotifications). A client asking for more, or for 0 (no limit), gets this many: a
    /// response must fit the message size (327,675 bytes), or async-opcua drops it whole
    /// (BadResponseTooLarge) and the client loses those values.
    pub max_notifications_per_publish: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            application_name: "fxgate".into(),
            host: "0.0.0.0".into(),
            port: 48050,
            endpoint_url: String::new(),
            allow_none: false,
            allow_deprecated: false,
            accept_all_certificates: true,
            anonymous: true,
            anonymous_roles: vec![Role::Read],
            certificate_roles: vec![Role::Read],
            certificate: String::new(),
            private_key: String::new(),
            register_with_lds: String::new(),
            register_interval_s: 60,
            reverse_connect: Vec::new(),
            max_sessions: 100,
            max_subscriptions_per_session: 10,
            max_monitored_items_per_subscription: 1_000_000,
            min_sampling_interval_ms: 0.0,
            max_queue_size: 10_000,
            max_notifications_per_publish: 1_000,
        }
    }
}

/// `[[users]]`: one user.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UserConfig {
    /// Login name.
    pub name: String,
    /// argon2id PHC hash of the password (`fxgate users hash`); empty: no password login.
    pub password_hash: String,
    /// SHA-1 thumbprint (hex) of an X.509 user certificate in `pki-user/` that logs in as this user.
    pub certificate_thumbprint: String,
    /// Roles.
    pub roles: Vec<Role>,
}

/// `[http]`: health, metrics and the DA item API.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port` to listen on; empty: no HTTP listener.
    pub listen: String,
    /// Serve HTTPS (TLS 1.2 and 1.3) instead of plain HTTP.
    pub tls: bool,
    /// The HTTPS certificate (PEM or DER), relative to the config file; empty: the OPC UA
    /// server's application certificate.
    pub certificate: String,
    /// Its private key (PEM).
    pub private_key: String,
    /// Allow plain HTTP on an address other than loopback (passwords then travel in clear).
    pub allow_plain: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8480".into(),
            tls: false,
            certificate: String::new(),
            private_key: String::new(),
            allow_plain: false,
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter (`info`, `fxgate=debug,async_opcua=warn`); `RUST_LOG` overrides it.
    pub level: String,
    /// Write rolling log files to `<data-dir>/logs`.
    pub file: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            file: true,
        }
    }
}
