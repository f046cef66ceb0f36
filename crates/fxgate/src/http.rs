//! The HTTP listener: `/healthz`, Prometheus `/metrics` and the routes given (the DA item
//! API), over plain HTTP or HTTPS ([`crate::https`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use fxgate_core::{HealthCheck, TagStore};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the handlers read.
#[derive(Clone)]
pub struct HttpState {
    registry: Arc<Registry>,
    health: Arc<Vec<(String, HealthCheck)>>,
    store: Arc<TagStore>,
    store_metrics: StoreMetrics,
}

#[derive(Clone, Default)]
struct StoreMetrics {
    tags: Gauge,
    changes: Counter,
    changes_per_second: Gauge,
    writes: Counter,
    write_errors: Counter,
}

impl HttpState {
    /// Adds the tag store's metrics to `registry`, where the topology and the protocols
    /// registered theirs.
    pub fn new(store: Arc<TagStore>, mut registry: Registry, health: Vec<(String, HealthCheck)>) -> Self {
        let m = StoreMetrics::default();
        let r = registry.sub_registry_with_prefix("fxgate");
        r.register("tags", "Tags in the tag store", m.tags.clone());
        r.register("tag_changes", "Values written into the tag store by sources", m.changes.clone());
        r.register("tag_changes_per_second", "Value changes per second over the last second", m.changes_per_second.clone());
        r.register("tag_writes", "Writes requested by clients", m.writes.clone());
        r.register("tag_write_errors", "Writes that did not end Good", m.write_errors.clone());
        m.tags.set(store.len() as i64);
        Self {
            registry: Arc::new(registry),
            health: Arc::new(health),
            store,
            store_metrics: m,
        }
    }

    fn sample(&self, last: &mut (u64, Instant)) {
        let s = self.store.stats();
        let changes = s.changes.load(Ordering::Relaxed);
        let m = &self.store_metrics;
        m.changes.inc_by(changes.saturating_sub(m.changes.get()));
        let writes = s.writes.load(Ordering::Relaxed);
        m.writes.inc_by(writes.saturating_sub(m.writes.get()));
        let errs = s.write_errors.load(Ordering::Relaxed);
        m.write_errors.inc_by(errs.saturating_sub(m.write_errors.get()));
        let dt = last.1.elapsed().as_secs_f64();
        if dt > 0.0 {
            m.changes_per_second
                .set((changes.saturating_sub(last.0) as f64 / dt).round() as i64);
        }
        *last = (changes, Instant::now());
    }
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            body,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("cannot encode metrics: {e}\n"),
        ),
    }
}

async fn healthz(State(state): State<HttpState>) -> impl IntoResponse {
    let failing: Vec<String> = state
        .health
        .iter()
        .filter_map(|(name, check)| check().err().map(|e| format!("{name}: {e}")))
        .collect();
    if failing.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, failing.join("\n") + "\n")
    }
}

/// The HTTP listener could not listen.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// HTTPS cannot be set up.
    #[error(transparent)]
    Https(#[from] crate::https::HttpsError),
    /// The address is taken.
    #[error("cannot listen on {0}: the address is already in use (http.listen)")]
    InUse(String),
    /// Another socket error.
    #[error("cannot listen on {0}: {1} (http.listen)")]
    Other(String, std::io::Error),
}

/// How the listener talks.
pub enum Transport {
    /// Plain HTTP.
    Plain,
    /// HTTPS with this certificate and key (PEM or DER, PEM).
    Https {
        /// The certificate file.
        certificate: std::path::PathBuf,
        /// Its private key.
        private_key: std::path::PathBuf,
    },
}

/// Binds `listen` and serves `/healthz`, `/metrics` and the routes of `extra` until `shutdown`.
pub async fn serve(
    listen: &str,
    transport: Transport,
    state: HttpState,
    extra: Router,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, ListenError> {
    let tls = match &transport {
        Transport::Plain => None,
        Transport::Https { certificate, private_key } => Some(Arc::new(crate::https::acceptor(certificate, private_key)?)),
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            ListenError::InUse(listen.to_string())
        } else {
            ListenError::Other(listen.to_string(), e)
        }
    })?;
    match &transport {
        Transport::Https { certificate, .. } => {
            tracing::info!(%listen, certificate = %certificate.display(), "HTTPS listener for /healthz, /metrics and /da (plain HTTP is not served)");
        }
        Transport::Plain if listener.local_addr().is_ok_and(|a| a.ip().is_loopback()) => {
            tracing::info!(%listen, "plain HTTP listener for /healthz, /metrics and /da, on loopback only ([http] tls = true for HTTPS)");
        }
        Transport::Plain => {
            tracing::warn!(%listen, "plain HTTP listener beyond loopback ([http] allow_plain): passwords of the DA API travel in clear; set [http] tls = true");
        }
    }
    let sampler = state.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let mut last = (0, Instant::now());
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => sampler.sample(&mut last),
            }
        }
    });
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(extra);
    if let Some(acceptor) = tls {
        return Ok(tokio::spawn(crate::https::serve(listener, acceptor, app, shutdown)));
    }
    Ok(tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!("HTTP listener failed: {e}");
        }
    }))
}
