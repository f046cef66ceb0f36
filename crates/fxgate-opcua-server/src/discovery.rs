//! Registration with a discovery server (seed 000 §4.5 "UA Discovery Registration"),
//! on the configured interval; failures are logged and retried, never fatal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opcua::client::ClientBuilder;
use opcua::server::ServerInfo;
use tokio_util::sync::CancellationToken;

/// Why one registration (RegisterServer, OPC 10000-4 §5.4.5) with the discovery server failed.
#[derive(Debug, thiserror::Error)]
enum RegisterError {
    /// GetEndpoints found no endpoint of the discovery server the client can use.
    #[error("no usable endpoint: {0}")]
    Endpoint(opcua::types::Error),
    /// The discovery server refused RegisterServer (or the call failed).
    #[error("RegisterServer failed: {0}")]
    Register(opcua::types::Error),
}

/// Registers `info`'s application with `lds_url` every `interval` until `shutdown`.
pub async fn register_periodically(
    info: Arc<ServerInfo>,
    lds_url: String,
    pki_dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let client = ClientBuilder::new()
        .application_name(info.application_name.to_string())
        .application_uri(info.application_uri.to_string())
        .pki_dir(pki_dir)
        .certificate_path(cert)
        .private_key_path(key)
        .create_sample_keypair(false)
        .trust_server_certs(true)
        .session_retry_limit(1)
        .client();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(?e, "cannot create the discovery registration client");
            return;
        }
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let online = tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = ticker.tick() => true,
        };
        let mut server = info.registered_server();
        // async-opcua derives `is_online` from a state field its server never sets, so
        // it would always announce the server as offline (= unregister). We know better:
        // online while running, offline once on shutdown.
        server.is_online = online;
        let result = async {
            let endpoint = client.get_best_endpoint(&lds_url).await.map_err(RegisterError::Endpoint)?;
            client
                .register_server(&lds_url, &endpoint, server)
                .await
                .map_err(RegisterError::Register)
        };
        let limit = Duration::from_secs(if online { 30 } else { 3 });
        let outcome = tokio::time::timeout(limit, result).await;
        if !online {
            if let Ok(Ok(())) = outcome {
                tracing::info!(lds = %lds_url, "unregistered from discovery server");
            }
            return;
        }
        match outcome {
            Ok(Ok(())) => tracing::info!(lds = %lds_url, "registered with discovery server"),
            Ok(Err(e)) => tracing::warn!(lds = %lds_url, error = %e, "discovery registration failed; will retry"),
            Err(_) => tracing::warn!(lds = %lds_url, "discovery registration timed out; will retry"),
        }
    }
}
