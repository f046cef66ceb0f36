//! Client lines: connect to the configured addresses in turn.
//!
//! Alternating policy ([`LineClient::connect`]): one connection; every failed or
//! broken connection moves on to the next address of the cycle primary addresses →
//! backup addresses → first primary address again (seed 002: "After all configured IP
//! addresses are tried, it uses again the first"). So after a fail-over the line stays
//! on the backup until that connection breaks.
//!
//! Parallel policy ([`LineClient::connect_device`], IEC 104): one connection per device,
//! each cycling through its own addresses.

use std::path::Path;
use std::time::{Duration, Instant};

use fxgate_config::LineConfig;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::error::LineError;
use crate::status::{LineState, LineStatus};
use crate::stream::LineStream;
use crate::target::{targets, Device, Target};
use crate::tls::LineTls;

/// An established connection.
#[derive(Debug)]
pub struct Connection {
    /// The stream.
    pub stream: LineStream,
    /// Where it goes.
    pub target: Target,
}

/// The connecting side of a line.
pub struct LineClient {
    cfg: LineConfig,
    targets: Vec<Target>,
    /// Next index into `targets`, per device for the parallel policy.
    next: usize,
    next_primary: usize,
    next_backup: usize,
    tls: Option<LineTls>,
    status: LineStatus,
    backoff: fxgate_core::Backoff,
    last_connected: Option<Instant>,
    attempts: u64,
    /// Whether connecting sets the line's State/ActiveDevice (off when a protocol keeps
    /// several connections and shows them itself).
    shows_state: bool,
}

impl LineClient {
    /// Prepares the line (loads TLS material); `config_dir` (the configuration file's directory) expands `#APPDIR#`.
    pub fn new(cfg: LineConfig, config_dir: &Path, status: LineStatus) -> Result<Self, LineError> {
        let tls = LineTls::new(cfg.tls.as_ref(), config_dir, false)?;
        if let Some(t) = &tls {
            if t.unverified {
                tracing::warn!(line = %cfg.name, "TLS PEER VERIFICATION IS DISABLED on this line (disable_peer_verification): anyone can impersonate the device");
            }
        }
        Ok(Self {
            targets: targets(&cfg),
            backoff: fxgate_core::Backoff::new(cfg.backoff()),
            cfg,
            next: 0,
            next_primary: 0,
            next_backup: 0,
            tls,
            status,
            last_connected: None,
            attempts: 0,
            shows_state: true,
        })
    }

    /// The line's status.
    pub fn status(&self) -> &LineStatus {
        &self.status
    }

    /// The line's name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// Leaves the line's `State` and `ActiveDevice` to the protocol (errors, reconnects
    /// and connections are still counted): for the parallel policy, whose two connections
    /// the protocol shows together.
    pub fn leave_state_to_protocol(&mut self) {
        self.shows_state = false;
    }

    /// Whether the line has a backup device.
    pub fn is_redundant(&self) -> bool {
        self.targets.iter().any(|t| t.device == Device::Backup)
    }

    /// Connects (alternating policy), trying the addresses in turn and waiting between
    /// rounds, until connected or `shutdown`. Returns `None` on shutdown.
    pub async fn connect(&mut self, shutdown: &CancellationToken) -> Option<Connection> {
        let candidates: Vec<usize> = (0..self.targets.len()).collect();
        let mut next = self.next;
        let found = self.cycle(&candidates, &mut next, shutdown).await;
        self.next = next;
        found
    }

    /// Connects to one device of a redundant line (parallel policy), cycling through
    /// that device's addresses. Returns `None` on shutdown or if the device has none.
    pub async fn connect_device(&mut self, device: Device, shutdown: &CancellationToken) -> Option<Connection> {
        let candidates: Vec<usize> = (0..self.targets.len()).filter(|&i| self.targets[i].device == device).collect();
        if candidates.is_empty() {
            return None;
        }
        let mut next = match device {
            Device::Primary => self.next_primary,
            Device::Backup => self.next_backup,
        };
        let found = self.cycle(&candidates, &mut next, shutdown).await;
        match device {
            Device::Primary => self.next_primary = next,
            Device::Backup => self.next_backup = next,
        }
        found
    }

    /// Tells the line that the connection it gave out broke (or the protocol gave up on it).
    pub fn broken(&mut self, reason: &str) {
        tracing::warn!(line = %self.cfg.name, %reason, "connection lost");
        self.status.error(reason);
        self.status.set(LineState::Disconnected, "");
    }

    async fn cycle(&mut self, candidates: &[usize], next: &mut usize, shutdown: &CancellationToken) -> Option<Connection> {
        let initial = Duration::from_millis(self.cfg.reconnect_min_ms);
        // A connection that broke soon after it was made must not make us hammer the device.
        if let Some(t) = self.last_connected.take() {
            if t.elapsed() < initial {
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(initial - t.elapsed()) => {}
                }
            }
        }
        loop {
            for _ in 0..candidates.len() {
                let idx = candidates[*next % candidates.len()];
                *next = (*next + 1) % candidates.len();
                let target = self.targets[idx].clone();
                if self.attempts > 0 {
                    self.status.reconnect();
                }
                self.attempts += 1;
                if self.shows_state {
                    self.status.set(LineState::Connecting, &target.to_string());
                }
                let attempt = tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    r = self.open(&target) => r,
                };
                match attempt {
                    Ok(stream) => {
                        // Start the next search after this address (the other device first).
                        *next = (candidates.iter().position(|&c| c == idx).unwrap_or(0) + 1) % candidates.len();
                        self.backoff.reset();
                        self.last_connected = Some(Instant::now());
                        self.status.connection();
                        if self.shows_state {
                            self.status.set(LineState::Connected, &target.to_string());
                        }
                        tracing::info!(line = %self.cfg.name, %target, tls = self.tls.as_ref().map(|t| t.kind), "connected");
                        return Some(Connection { stream, target });
                    }
                    Err(e) => {
                        tracing::warn!(line = %self.cfg.name, %target, error = %e, "connection failed");
                        self.status.error(&e.to_string());
                    }
                }
            }
            if self.shows_state {
                self.status.set(LineState::Disconnected, "");
            }
            if !self.backoff.wait(shutdown).await {
                return None;
            }
        }
    }

    async fn open(&self, target: &Target) -> Result<LineStream, LineError> {
        let timeout = Duration::from_millis(self.cfg.connect_timeout_ms);
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|source| LineError::Resolve {
                host: target.host.clone(),
                source,
            })?
            .collect();
        let mut last = None;
        for addr in addrs {
            let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    last = Some(LineError::Connect { addr: addr.to_string(), reason: e.to_string() });
                    continue;
                }
                Err(_) => {
                    last = Some(LineError::Connect {
                        addr: addr.to_string(),
                        reason: format!("no answer within {} ms", timeout.as_millis()),
                    });
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            return match &self.tls {
                None => Ok(LineStream::Tcp(tcp)),
                Some(tls) => {
                    if tls.unverified {
                        tracing::warn!(line = %self.cfg.name, %target, "TLS peer verification is disabled");
                    }
                    let sni = target.is_name().then_some(target.host.as_str());
                    tls.connect(tcp, sni, &addr.to_string(), timeout).await
                }
            };
        }
        Err(last.unwrap_or_else(|| LineError::Connect {
            addr: target.authority(),
            reason: "the name resolved to no address".into(),
        }))
    }
}
