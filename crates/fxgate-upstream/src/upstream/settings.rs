//! How the gateway is set up as a client of its upstreams: the client identity shared by all
//! upstreams (its application instance certificate), the client of one connection attempt,
//! and the user identity token of a session (OPC 10000-4 §7.41 UserIdentityToken).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::UpstreamConfig;
use opcua::client::{Client, ClientBuilder, IdentityToken};

/// Client-side settings shared by all upstreams.
#[derive(Clone)]
pub struct ClientSettings {
    /// `<data-dir>/pki-client`, absolute.
    pub pki_dir: PathBuf,
    /// The client certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// Application URI of the client certificate.
    pub application_uri: String,
    /// Directory relative paths of the config are resolved against.
    pub config_dir: PathBuf,
}

/// Why the client of a connection attempt could not be made (`ClientSettings::client`).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// async-opcua refused the client configuration; one message per fault.
    #[error("client configuration: {}", .0.join("; "))]
    Configuration(Vec<String>),
}

/// Why the user identity of a session could not be made (`ClientSettings::identity`).
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The `user_certificate` or its `user_private_key` could not be read.
    #[error("user certificate: {0}")]
    UserCertificate(opcua::types::Error),
}

impl ClientSettings {
    /// A client for one connection attempt to the upstream `name` configured as `c`.
    pub(super) fn client(&self, name: &str, c: &UpstreamConfig) -> Result<Client, ClientError> {
        ClientBuilder::new()
            .application_name("fxgate")
            .application_uri(self.application_uri.clone())
            .product_uri("urn:fxgate")
            .pki_dir(self.pki_dir.clone())
            .certificate_path(self.cert.clone())
            .private_key_path(self.key.clone())
            .create_sample_keypair(false)
            .trust_server_certs(c.accept_all_server_certificates)
            // async-opcua wants the application URI as the *first* subject alternative name,
            // which node-opcua and others do not do; the trust list is still checked by it,
            // validity, host name and URI by `check_server_certificate`.
            .verify_server_certs(false)
            .session_retry_limit(0)
            .request_timeout(Duration::from_millis(c.request_timeout_ms))
            .keep_alive_interval(Duration::from_millis(1000))
            .max_failed_keep_alive_count(3)
            .session_timeout(60_000)
            .session_name(format!("fxgate/{name}"))
            // one Publish response or Read of thousands of values must decode
            .max_array_length(1_000_000)
            .max_message_size(64 * 1024 * 1024)
            .max_chunk_count(4096)
            .client()
            .map_err(ClientError::Configuration)
    }

    /// The user identity token of a session to the upstream configured as `c`: its user
    /// certificate, else its user name and password, else anonymous. Relative paths are
    /// resolved against the configuration's directory.
    pub(super) fn identity(&self, c: &UpstreamConfig) -> Result<IdentityToken, IdentityError> {
        if !c.user_certificate.is_empty() {
            let abs = |p: &str| {
                let p = Path::new(p);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    self.config_dir.join(p)
                }
            };
            return IdentityToken::new_x509_path(abs(&c.user_certificate), abs(&c.user_private_key))
                .map_err(IdentityError::UserCertificate);
        }
        if !c.username.is_empty() {
            return Ok(IdentityToken::new_user_name(c.username.clone(), c.password.clone()));
        }
        Ok(IdentityToken::new_anonymous())
    }
}
