//! The API's client of the gateway's own OPC UA server: one session per HTTP identity,
//! created on first use and kept while it lives.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use opcua::client::{Client, ClientBuilder, IdentityToken, Session};
use opcua::crypto::SecurityPolicy;
use fxgate_core::SharedNamespaceTable;
use opcua::types::{
    AttributeId, MessageSecurityMode, ReadValueId, StatusCode, TimestampsToReturn, VariableId, Variant,
};

use crate::ns_map::{ComAlias, NsMap};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// Most identities with a cached session; beyond that the oldest is closed.
const MAX_SESSIONS: usize = 32;

/// Why no session could be had.
#[derive(Debug)]
pub enum SessionError {
    /// The server refused the identity (wrong password, anonymous disabled, …).
    Refused(StatusCode),
    /// The server could not be reached or the session failed otherwise.
    Unavailable(String),
}

/// Why [`InternalClient::new`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client's application certificate could not be loaded or created.
    #[error("client certificate: {0}")]
    Certificate(#[source] fxgate_pki::PkiError),
    /// The client and server certificates could not be placed in each other's trusted folders.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// async-opcua refused the client configuration (its messages, in order).
    #[error("internal OPC UA client: {}", .0.join("; "))]
    Config(Vec<String>),
}

/// Why a certificate could not be made trusted by the other side (the PKI folder layout
/// async-opcua reads, `trusted/` and `rejected/`).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The certificate could not be read.
    #[error("certificate {}: {reason}", .path.display())]
    ReadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// async-opcua's reason.
        reason: String,
    },
    /// The `trusted/` folder could not be created.
    #[error("{}: {source}", .path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate could not be copied into `trusted/`.
    #[error("{}: {source}", .path.display())]
    Copy {
        /// The copy that was to be written.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate could not be removed from `rejected/`.
    #[error("{}: {source}", .path.display())]
    Remove {
        /// The rejected copy.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Why the server's namespace translation could not be made (the NamespaceArray of
/// the Server Object, OPC 10000-5 §8.3.2, against the persisted namespace table).
#[derive(Debug, thiserror::Error)]
enum NamespaceMapError {
    /// Reading `Server.NamespaceArray` failed.
    #[error("reading the NamespaceArray: {0}")]
    Read(#[source] opcua::types::Error),
    /// The NamespaceArray's value is not an array of strings.
    #[error("the server's NamespaceArray is not an array of strings")]
    NotStrings,
    /// A thread panicked holding the namespace table.
    #[error("namespace table lock poisoned")]
    Poisoned,
    /// The namespace table could not be extended.
    #[error(transparent)]
    Table(#[from] fxgate_core::NamespaceError),
}

/// Who the HTTP caller is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// No credentials.
    Anonymous,
    /// HTTP Basic user and password.
    User(String, String),
}

/// A session with the namespace translation of its server.
#[derive(Clone)]
pub struct ApiSession {
    /// The OPC UA session.
    pub session: Arc<Session>,
    /// ItemID ↔ NodeId namespace translation.
    pub ns: Arc<NsMap>,
}

struct Live {
    api: ApiSession,
    event_loop: JoinHandle<StatusCode>,
    used: u64,
    /// Length of the namespace table when `api.ns` was made.
    table_len: usize,
}

/// A client of the gateway's own server with a session per identity.
pub struct InternalClient {
    client: Mutex<Client>,
    url: String,
    sessions: Mutex<HashMap<Identity, Live>>,
    tick: std::sync::atomic::AtomicU64,
    namespaces: SharedNamespaceTable,
    aliases: Vec<ComAlias>,
}

impl InternalClient {
    /// A client of the server at `url`, with its application certificate in the gateway's
    /// client PKI (`<data-dir>/pki-client`). Client and server certificates are placed in
    /// each other's trusted folders, so the API works with `accept_all_certificates = false`.
    /// Call it after the server has its certificate. `aliases` are the ComAliases of the
    /// ItemIDs (seed 000 §4.8).
    pub fn new(
        data_dir: &Path,
        url: String,
        namespaces: SharedNamespaceTable,
        aliases: Vec<ComAlias>,
    ) -> Result<Self, ClientError> {
        let pki = data_dir.join(fxgate_pki::CLIENT_PKI);
        let (cert, uri) = fxgate_pki::ensure_client_certificate(data_dir).map_err(ClientError::Certificate)?;
        trust_each_other(data_dir, &cert.cert_path)?;
        let client = ClientBuilder::new()
            .application_name("fxgate client")
            .application_uri(uri)
            .product_uri("urn:fxgate")
            .pki_dir(pki)
            .certificate_path(cert.cert_path)
            .private_key_path(cert.key_path)
            .create_sample_keypair(false)
            .session_retry_limit(0)
            .request_timeout(Duration::from_secs(10))
            .session_timeout(120_000)
            .client()
            .map_err(ClientError::Config)?;
        Ok(Self {
            client: Mutex::new(client),
            url,
            sessions: Mutex::new(HashMap::new()),
            tick: Default::default(),
            namespaces,
            aliases,
        })
    }

    /// A live session for `who`. A cached session's namespace translation is made again
    /// when the namespace table has grown since (e.g. an upstream connected for the first
    /// time), so that its namespaces and aliases resolve.
    pub async fn session(&self, who: &Identity) -> Result<ApiSession, SessionError> {
        let now = self.tick.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stale = {
            let mut sessions = self.sessions.lock().await;
            match sessions.get_mut(who) {
                Some(live) if !live.event_loop.is_finished() => {
                    live.used = now;
                    if live.table_len == self.table_len() {
                        return Ok(live.api.clone());
                    }
                    Some(live.api.session.clone())
                }
                Some(_) => {
                    sessions.remove(who);
                    None
                }
                None => None,
            }
        };
        if let Some(session) = stale {
            return self.refresh(who, session).await;
        }
        let token = match who {
            Identity::Anonymous => IdentityToken::new_anonymous(),
            Identity::User(u, p) => IdentityToken::new_user_name(u.clone(), p.clone()),
        };
        let endpoint = (
            self.url.as_str(),
            SecurityPolicy::Basic256Sha256.to_uri(),
            MessageSecurityMode::SignAndEncrypt,
        );
        let (session, event_loop) = {
            let mut client = self.client.lock().await;
            tokio::time::timeout(Duration::from_secs(15), client.connect_to_matching_endpoint(endpoint, token))
                .await
                .map_err(|_| SessionError::Unavailable("timed out reaching the OPC UA server".into()))?
                .map_err(|e| SessionError::Unavailable(e.to_string()))?
        };
        let mut event_loop = event_loop.spawn();
        // The event loop ends at once when the server refuses us; wait_for_connection would
        // only notice at its time-out.
        let failed = tokio::select! {
            ok = session.wait_for_connection() => if ok { None } else { Some(StatusCode::BadNotConnected) },
            ended = &mut event_loop => Some(ended.unwrap_or(StatusCode::BadUnexpectedError)),
            _ = tokio::time::sleep(Duration::from_secs(15)) => Some(StatusCode::BadTimeout),
        };
        if let Some(status) = failed {
            event_loop.abort();
            return Err(match status {
                StatusCode::BadIdentityTokenRejected
                | StatusCode::BadIdentityTokenInvalid
                | StatusCode::BadUserAccessDenied
                // the client's own verdict when the endpoint offers no token of that kind
                // (e.g. anonymous disabled)
                | StatusCode::BadSecurityPolicyRejected => SessionError::Refused(status),
                s => SessionError::Unavailable(format!("session failed: {s}")),
            });
        }
        let (ns, table_len) = match self.namespace_map(&session).await {
            Ok((ns, len)) => (Arc::new(ns), len),
            Err(e) => {
                event_loop.abort();
                return Err(SessionError::Unavailable(e.to_string()));
            }
        };
        let api = ApiSession { session, ns };
        let mut sessions = self.sessions.lock().await;
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions.iter().min_by_key(|(_, l)| l.used).map(|(k, _)| k.clone()) {
                if let Some(old) = sessions.remove(&oldest) {
                    let _ = old.api.session.disconnect().await;
                }
            }
        }
        sessions.insert(
            who.clone(),
            Live {
                api: api.clone(),
                event_loop,
                used: now,
                table_len,
            },
        );
        Ok(api)
    }

    /// `session` of `who` with a new namespace translation, which replaces the cached one.
    async fn refresh(&self, who: &Identity, session: Arc<Session>) -> Result<ApiSession, SessionError> {
        let (ns, table_len) = self.namespace_map(&session).await.map_err(|e| SessionError::Unavailable(e.to_string()))?;
        let api = ApiSession {
            session,
            ns: Arc::new(ns),
        };
        if let Some(live) = self.sessions.lock().await.get_mut(who) {
            if Arc::ptr_eq(&live.api.session, &api.session) {
                live.api = api.clone();
                live.table_len = table_len;
            }
        }
        Ok(api)
    }

    /// The namespace table's length now (0 if its lock is poisoned, which forces a refresh
    /// that then reports the poisoning).
    fn table_len(&self) -> usize {
        self.namespaces.lock().map(|t| t.uris().len()).unwrap_or(0)
    }

    /// Reads the server's NamespaceArray, appends what is new to the persisted table and
    /// returns the translation with the table's length.
    async fn namespace_map(&self, session: &Session) -> Result<(NsMap, usize), NamespaceMapError> {
        let read = ReadValueId {
            node_id: VariableId::Server_NamespaceArray.into(),
            attribute_id: AttributeId::Value as u32,
            ..Default::default()
        };
        let dv = session
            .read(&[read], TimestampsToReturn::Neither, 0.0)
            .await
            .map_err(NamespaceMapError::Read)?
            .pop()
            .and_then(|d| d.value);
        let server: Vec<String> = match dv {
            Some(Variant::Array(a)) => a
                .values
                .iter()
                .map(|v| match v {
                    Variant::String(s) => s.as_ref().to_string(),
                    other => other.to_string(),
                })
                .collect(),
            _ => return Err(NamespaceMapError::NotStrings),
        };
        let mut table = self.namespaces.lock().map_err(|_| NamespaceMapError::Poisoned)?;
        // Holes in the NamespaceArray ("": table entries of upstreams not served now) are not namespaces.
        if table.ensure(server.iter().map(String::as_str).filter(|u| !u.is_empty()))? {
            tracing::info!(namespaces = table.uris().len(), "namespace table extended");
        }
        Ok((NsMap::new(&server, &table, &self.aliases), table.uris().len()))
    }
}

/// Makes the internal client and the gateway's own server trust each other: the client
/// certificate goes into the server's `trusted/`, the server certificate into the client
/// PKI's `trusted/` (and out of its `rejected/`), under the names async-opcua looks for.
fn trust_each_other(data_dir: &Path, client_cert: &Path) -> Result<(), TrustError> {
    let server_pki = data_dir.join(fxgate_pki::SERVER_PKI);
    let client_pki = data_dir.join(fxgate_pki::CLIENT_PKI);
    place(client_cert, &server_pki)?;
    place(&server_pki.join("own").join("cert.der"), &client_pki)
}

/// Puts the certificate at `cert_path` into `<pki>/trusted/` and removes it from `<pki>/rejected/`.
fn place(cert_path: &Path, pki: &Path) -> Result<(), TrustError> {
    use opcua::crypto::CertificateStore;
    let cert = CertificateStore::read_cert(cert_path).map_err(|reason| TrustError::ReadCertificate {
        path: cert_path.to_path_buf(),
        reason,
    })?;
    let name = CertificateStore::cert_file_name(&cert);
    let trusted = pki.join("trusted");
    std::fs::create_dir_all(&trusted).map_err(|source| TrustError::CreateDir { path: trusted.clone(), source })?;
    let target = trusted.join(&name);
    if !target.exists() {
        std::fs::copy(cert_path, &target).map_err(|source| TrustError::Copy { path: target.clone(), source })?;
    }
    let rejected = pki.join("rejected").join(&name);
    if rejected.exists() {
        std::fs::remove_file(&rejected).map_err(|source| TrustError::Remove { path: rejected.clone(), source })?;
    }
    Ok(())
}
