//! The OPC UA client and its sessions: security policy and mode from the command line, the
//! client's configuration (own PKI, server certificates trusted), and connecting a session.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use opcua::client::{
    Client, ClientBuilder, IdentityToken, OnSubscriptionNotificationCore, Session,
};
use opcua::crypto::SecurityPolicy;
use opcua::types::{
    MessageSecurityMode, MonitoredItemCreateRequest, MonitoringMode, MonitoringParameters, NodeId,
    ReadValueId,
};

use crate::args::Args;
use crate::BoxError;

/// `--security-policy` and `--security-mode`.
pub(crate) fn parse_security(
    args: &Args,
) -> Result<(SecurityPolicy, MessageSecurityMode), BoxError> {
    let policy = match args.security_policy.as_str() {
        "none" | "NONE" => SecurityPolicy::None,
        s => SecurityPolicy::from_str(s).map_err(|_| format!("unknown security policy {s:?}"))?,
    };
    if policy == SecurityPolicy::Unknown {
        return Err(format!("unknown security policy {:?}", args.security_policy).into());
    }
    let mode = match args.security_mode.as_deref() {
        None if policy == SecurityPolicy::None => MessageSecurityMode::None,
        None => MessageSecurityMode::SignAndEncrypt,
        Some(m) => match m.to_ascii_lowercase().as_str() {
            "none" => MessageSecurityMode::None,
            "sign" => MessageSecurityMode::Sign,
            "signandencrypt" | "sign_and_encrypt" | "sign-and-encrypt" => {
                MessageSecurityMode::SignAndEncrypt
            }
            _ => return Err(format!("unknown security mode {m:?}").into()),
        },
    };
    Ok((policy, mode))
}

/// The client, with `--pki-dir` (created if missing) and `--request-timeout-s`.
pub(crate) fn build_client(args: &Args) -> Result<Client, BoxError> {
    let pki = args
        .pki_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("fxgate-load-pki"));
    std::fs::create_dir_all(&pki)?;
    ClientBuilder::new()
        .application_name("fxgate-load")
        .application_uri("urn:fxgate-bench:fxgate-load")
        .product_uri("urn:fxgate-bench:fxgate-load")
        .pki_dir(pki)
        .create_sample_keypair(true)
        .trust_server_certs(true)
        .verify_server_certs(false)
        .session_retry_limit(3)
        .session_retry_initial(Duration::from_millis(200))
        .request_timeout(Duration::from_secs(args.request_timeout_s.max(1)))
        .session_timeout(60_000)
        .max_array_length(1_000_000)
        .max_message_size(64 * 1024 * 1024)
        .max_chunk_count(4096)
        .client()
        .map_err(|e| format!("invalid client configuration: {}", e.join("; ")).into())
}

/// A session to `url`, connected and activated (15 s for each), its event loop running.
pub(crate) async fn connect(
    client: &mut Client,
    url: &str,
    policy: SecurityPolicy,
    mode: MessageSecurityMode,
) -> Result<Arc<Session>, BoxError> {
    let fut =
        client.connect_to_matching_endpoint((url, policy.to_uri(), mode), IdentityToken::Anonymous);
    let (session, event_loop) = tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .map_err(|_| format!("timed out getting endpoints from {url}"))?
        .map_err(|e| format!("connect to {url} ({policy:?}/{mode:?}): {e}"))?;
    // The event loop must be driven for anything (incl. publish responses) to be processed.
    event_loop.spawn();
    match tokio::time::timeout(Duration::from_secs(15), session.wait_for_connection()).await {
        Ok(true) => Ok(session),
        Ok(false) => Err(format!("session to {url} failed to connect").into()),
        Err(_) => Err(format!("timed out activating session on {url}").into()),
    }
}

/// A subscription publishing every `publishing_ms` (at least 1 ms) with a keep-alive of about
/// 1 s and a lifetime of about 30 s without Publish requests; returns its id.
pub(crate) async fn create_subscription(
    session: &Session,
    publishing_ms: f64,
    max_notifications_per_publish: u32,
    callback: impl OnSubscriptionNotificationCore + 'static,
) -> Result<u32, BoxError> {
    let publishing = publishing_ms.max(1.0);
    let keep_alive = ((1000.0 / publishing).ceil() as u32).max(1);
    session
        .create_subscription(
            Duration::from_secs_f64(publishing / 1000.0),
            keep_alive * 30,
            keep_alive,
            max_notifications_per_publish,
            0,
            true,
            callback,
        )
        .await
        .map_err(|e| format!("CreateSubscription: {e}").into())
}

/// Reporting monitored items on the Value of `ids`, client handles from `first_handle` on,
/// discarding the oldest value when a queue overflows.
pub(crate) fn item_requests(
    ids: &[NodeId],
    first_handle: usize,
    sampling_ms: f64,
    queue_size: u32,
) -> Vec<MonitoredItemCreateRequest> {
    ids.iter()
        .enumerate()
        .map(|(k, id)| MonitoredItemCreateRequest {
            item_to_monitor: ReadValueId::from(id),
            monitoring_mode: MonitoringMode::Reporting,
            requested_parameters: MonitoringParameters {
                client_handle: (first_handle + k) as u32,
                sampling_interval: sampling_ms,
                queue_size,
                discard_oldest: true,
                ..Default::default()
            },
        })
        .collect()
}
