//! One connection attempt: a new session to the upstream (OPC 10000-4 §5.6.2 CreateSession,
//! §5.6.3 ActivateSession) on the endpoint chosen afresh from its endpoint list, the checks of
//! its certificate, and the session prepared for use; and what the operator is told when an
//! attempt fails.

use std::sync::Arc;
use std::time::Duration;

use opcua::client::{SessionEventLoop, SessionPollResult};
use opcua::types::StatusCode;

use super::certificate::{check_server_certificate, CertificateError};
use super::endpoint::{self, NoMatchingEndpoint};
use super::prepare::PrepareError;
use super::settings::{ClientError, IdentityError};
use super::Upstream;
use crate::commissioning::TrustSnapshot;

/// Why a connection attempt failed ([`Upstream::run`] makes them). Its text is the upstream's
/// `LastError` (`Objects/fxgate/Upstreams/<name>/LastError`), with a hint for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The client could not be made from the settings.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The upstream did not answer GetEndpoints (OPC 10000-4 §5.5.4) within twice the request
    /// timeout.
    #[error("timed out reading the endpoints of {endpoint_url}")]
    EndpointsTimeout {
        /// The configured `endpoint_url`.
        endpoint_url: String,
    },
    /// GetEndpoints failed.
    #[error("{}", failure(.0))]
    Endpoints(opcua::types::Error),
    /// No endpoint has the configured security policy and mode.
    #[error(transparent)]
    NoMatchingEndpoint(#[from] NoMatchingEndpoint),
    /// The user identity token could not be made.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The session could not be started.
    #[error("{}", failure(.0))]
    Connect(opcua::types::Error),
    /// The upstream refused the gateway's certificate and async-opcua stored the upstream's
    /// certificate in `pki-client/rejected` as `file`: the session was not established.
    #[error("session not established: {status} (the upstream's certificate is not trusted: move pki-client/rejected/{file} to pki-client/trusted, or set accept_all_server_certificates while commissioning)")]
    Untrusted {
        /// The status the attempt ended with.
        status: StatusCode,
        /// The file name of the upstream's certificate in `pki-client/rejected`.
        file: String,
    },
    /// The session was not established (and the reason is not a rejected certificate).
    #[error("session not established: {status} ({})", describe(*.status))]
    NotEstablished {
        /// The status the attempt ended with.
        status: StatusCode,
    },
    /// The upstream's certificate failed the gateway's own checks.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The upstream's CA-issued certificate failed its chain check (`fxgate_pki::chain`): the
    /// session was not attempted, and the certificate is filed in `pki-client/rejected`.
    #[error("the upstream's certificate is refused: {} ({}); trust its CA in pki-client/trusted/, add intermediates with `fxgate pki add-issuer --store client` and CRLs with `fxgate pki add-crl --store client`", .0.status, .0.reason)]
    Chain(fxgate_pki::ChainRefusal),
    /// The session could not be prepared for use.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
}

impl Upstream {
    /// Makes one session and prepares it; returns the running event loop.
    pub(super) async fn connect_once(
        self: Arc<Self>,
    ) -> Result<tokio::task::JoinHandle<StatusCode>, ConnectError> {
        let c = &self.config;
        let timeout = Duration::from_millis(c.request_timeout_ms);
        let mut client = self.settings.client(&self.name, c)?;
        // the endpoint list is read on every attempt, and the endpoint chosen from it here, so
        // that a missing endpoint is reported as such (async-opcua's own matching reports
        // BadTcpEndpointUrlInvalid, as if the upstream could not be reached)
        let endpoints = tokio::time::timeout(
            timeout * 2,
            client.get_server_endpoints_from_url(c.endpoint_url.as_str()),
        )
        .await
        .map_err(|_| ConnectError::EndpointsTimeout { endpoint_url: c.endpoint_url.clone() })?
        .map_err(ConnectError::Endpoints)?;
        let endpoint = endpoint::choose(c, &endpoints)?;
        let server_certificate = endpoint.server_certificate.clone();
        if !c.accept_all_server_certificates {
            self.check_chain(&endpoint).await?;
        }
        // accepted for commissioning only: whatever async-opcua adds to trusted/ goes again
        let _commissioning = c.accept_all_server_certificates.then(|| {
            Restore(TrustSnapshot::take(
                &self.settings.pki_dir.join("trusted"),
                endpoint.server_certificate.as_ref(),
            ))
        });
        let (session, event_loop) = client
            .connect_to_endpoint_directly(endpoint, self.settings.identity(c)?)
            .map_err(ConnectError::Connect)?;
        let mut handle = drive(event_loop);
        let failed = tokio::select! {
            ok = session.wait_for_connection() => if ok { None } else { Some(StatusCode::BadNotConnected) },
            ended = &mut handle => Some(ended.unwrap_or(StatusCode::BadUnexpectedError)),
            _ = tokio::time::sleep(timeout * 2) => Some(StatusCode::BadTimeout),
        };
        if let Some(status) = failed {
            handle.abort();
            let rejected = crate::commissioning::rejected_file(&self.settings.pki_dir, server_certificate.as_ref());
            return Err(match rejected {
                Some(file) if is_untrusted(status) => ConnectError::Untrusted { status, file },
                _ => ConnectError::NotEstablished { status },
            });
        }
        if let Err(e) = check_server_certificate(&session, &c.endpoint_url) {
            handle.abort();
            let _ = session.disconnect().await;
            return Err(e.into());
        }
        match self.clone().prepare(session.clone()).await {
            Ok(live) => {
                *self.live.write() = Some(live);
            }
            Err(e) => {
                handle.abort();
                let _ = session.disconnect().await;
                return Err(e.into());
            }
        }
        Ok(handle)
    }
}

impl Upstream {
    /// The chain check of a CA-issued server certificate (issue 18 §1), before async-opcua,
    /// which trusts certificate files by exact name only: a valid chain puts the certificate in
    /// `pki-client/trusted`, a refused one ends the attempt with the check's status code.
    async fn check_chain(&self, endpoint: &opcua::types::EndpointDescription) -> Result<(), ConnectError> {
        let none = endpoint.security_policy_uri.as_ref().ends_with("#None");
        let Some(der) = endpoint.server_certificate.value.clone().filter(|d| !d.is_empty() && !none) else { return Ok(()) };
        let dir = self.settings.pki_dir.clone();
        match tokio::task::spawn_blocking(move || fxgate_pki::judge_peer_certificate(&dir, &der, fxgate_pki::PeerRole::Server)).await {
            Ok(Ok(fxgate_pki::PeerDecision::Refuse(r))) => Err(ConnectError::Chain(r)),
            // Forwarded, or not judged (not a certificate): async-opcua judges it as before.
            _ => Ok(()),
        }
    }
}

/// Drives a session's event loop until its connection is lost, and no further: the next
/// connection is made by [`Upstream::run`] (a new session, namespaces read again, shared items
/// recreated, values Bad in between, trust of `accept_all_server_certificates` undone), never by
/// async-opcua's own reconnect, which stores an accepted-for-commissioning certificate as trusted
/// again and sends no more Publish requests afterwards. Ends with the status of the loss (or of
/// the failed first connection).
fn drive<T>(event_loop: SessionEventLoop<T>) -> tokio::task::JoinHandle<StatusCode>
where
    T: opcua::client::transport::Connector + 'static,
{
    use futures::StreamExt;
    tokio::spawn(async move {
        let events = event_loop.enter();
        futures::pin_mut!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(SessionPollResult::ConnectionLost(status) | SessionPollResult::ReconnectFailed(status)) => {
                    return status;
                }
                Ok(_) => {}
                Err(status) => return status,
            }
        }
        StatusCode::BadConnectionClosed
    })
}

/// Restores the trusted folder when a connection attempt ends, however it ends.
struct Restore(TrustSnapshot);

impl Drop for Restore {
    fn drop(&mut self) {
        self.0.restore();
    }
}

/// The text of a failed connection step, with a hint for the operator.
fn failure(e: &opcua::types::Error) -> String {
    let text = e.to_string();
    format!("{text} ({})", describe_failure(e.status(), &text))
}

/// [`describe`], told apart by the client's message where the status alone is ambiguous: a
/// peer that accepts the connection but answers the Hello with something else (or nothing) is
/// reachable, but it is not an OPC UA server.
fn describe_failure(s: StatusCode, message: &str) -> &'static str {
    if s == StatusCode::BadConnectionClosed && message.contains("waiting for server ACK") {
        return "the upstream accepted the connection but did not answer as an OPC UA server: check the port of endpoint_url";
    }
    describe(s)
}

/// Statuses of a refused server certificate.
fn is_untrusted(s: StatusCode) -> bool {
    matches!(s, StatusCode::BadCertificateUntrusted | StatusCode::BadSecurityChecksFailed)
}

fn describe(s: StatusCode) -> &'static str {
    match s {
        StatusCode::BadCertificateUntrusted | StatusCode::BadSecurityChecksFailed => {
            "the upstream's certificate is not trusted: move it from pki-client/rejected to pki-client/trusted, or set accept_all_server_certificates while commissioning"
        }
        StatusCode::BadIdentityTokenRejected | StatusCode::BadIdentityTokenInvalid | StatusCode::BadUserAccessDenied => {
            "the upstream refused the user name, password or user certificate"
        }
        StatusCode::BadTcpEndpointUrlInvalid | StatusCode::BadNotConnected | StatusCode::BadConnectionClosed | StatusCode::BadCommunicationError => {
            "the upstream is not reachable at endpoint_url"
        }
        StatusCode::BadCertificateHostNameInvalid => {
            "the upstream's certificate does not name the host of endpoint_url (use the host name or address its certificate lists)"
        }
        StatusCode::BadSecurityPolicyRejected => "the upstream offers no endpoint with this security_policy/security_mode",
        _ => "see the log",
    }
}
