//! The server's own certificate, managed remotely (OPC 10000-12 §7.10.4–7.10.9):
//! CreateSigningRequest, UpdateCertificate, ApplyChanges and GetRejectedList.
//!
//! UpdateCertificate only checks and keeps the new certificate; ApplyChanges writes it and its
//! key in place of the old pair and restarts the gateway, since async-opcua 0.19 reads its
//! certificate once, when the server is built (`ServerInfo::server_certificate`). New sessions
//! then use the new certificate.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fxgate_pki::RotationError;
use opcua::types::{ByteString, ObjectId, ObjectTypeId, StatusCode, Variant};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use parking_lot::Mutex;

use super::args::{Args, CallError};

/// Restarts the gateway (the topology's restart: every component stopped, then started again).
pub type Restart = Arc<dyn Fn() + Send + Sync>;

/// How long ApplyChanges waits before the restart, so that its response reaches the client.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// The least entropy a client gives when a new key is made (OPC 10000-12 §7.10.6).
const MIN_NONCE: usize = 32;

/// Where the server's certificate and key are, and what it waits to apply.
pub struct CertificateManager {
    pki_dir: PathBuf,
    cert_path: PathBuf,
    key_path: PathBuf,
    application_uri: String,
    restart: Option<Restart>,
    /// The key made by the last CreateSigningRequest with regeneratePrivateKey.
    new_key: Mutex<Option<PKey<Private>>>,
    /// The certificate UpdateCertificate accepted, with its key, until ApplyChanges.
    pending: Mutex<Option<(X509, PKey<Private>)>>,
}

fn internal(what: &str, e: impl std::fmt::Display) -> CallError {
    tracing::warn!(error = %e, "{what}");
    StatusCode::BadInternalError.into()
}

impl CertificateManager {
    /// The certificate and key files the server uses, its ApplicationUri, and how to restart.
    pub fn new(pki_dir: PathBuf, cert_path: PathBuf, key_path: PathBuf, application_uri: String, restart: Option<Restart>) -> Self {
        Self { pki_dir, cert_path, key_path, application_uri, restart, new_key: Mutex::new(None), pending: Mutex::new(None) }
    }

    fn current(&self) -> Result<(X509, PKey<Private>), CallError> {
        let cert_bytes = std::fs::read(&self.cert_path).map_err(|e| internal("the server certificate cannot be read", e))?;
        let cert = X509::from_der(&cert_bytes).or_else(|_| X509::from_pem(&cert_bytes)).map_err(|e| internal("the server certificate cannot be parsed", e))?;
        let key_bytes = std::fs::read(&self.key_path).map_err(|e| internal("the server key cannot be read", e))?;
        let key = fxgate_pki::read_private_key(&key_bytes).map_err(|e| internal("the server key cannot be parsed", e))?;
        Ok((cert, key))
    }

    /// The group and type arguments: the DefaultApplicationGroup and an RSA application
    /// certificate type (null means those).
    fn check_group_and_type(args: &Args<'_>) -> Result<(), CallError> {
        let group = args.node_id(0)?;
        if !group.is_null() && group != ObjectId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup {
            return Err(args.invalid(0, StatusCode::BadInvalidArgument));
        }
        let kind = args.node_id(1)?;
        let known = [ObjectTypeId::RsaSha256ApplicationCertificateType, ObjectTypeId::ApplicationCertificateType];
        if !kind.is_null() && !known.iter().any(|k| kind == *k) {
            return Err(args.invalid(1, StatusCode::BadInvalidArgument));
        }
        Ok(())
    }

    /// CreateSigningRequest(certificateGroupId, certificateTypeId, subjectName,
    /// regeneratePrivateKey, nonce) → certificateRequest (DER PKCS#10).
    pub fn create_signing_request(&self, values: &[Variant]) -> Result<Vec<Variant>, CallError> {
        let args = Args::new(values, 5)?;
        Self::check_group_and_type(&args)?;
        let subject = args.string(2)?;
        let regenerate = args.bool(3)?;
        let nonce = args.bytes(4)?;
        if regenerate && nonce.len() < MIN_NONCE {
            return Err(args.invalid(4, StatusCode::BadInvalidArgument));
        }
        let (cert, current_key) = self.current()?;
        let key = if regenerate { fxgate_pki::generate_key().map_err(|e| internal("a new key cannot be made", e))? } else { current_key };
        let subject = (!subject.trim().is_empty()).then_some(subject.as_str());
        let request = fxgate_pki::create_signing_request(&cert, &key, subject).map_err(|e| match e {
            RotationError::Subject(_) => args.invalid(2, StatusCode::BadInvalidArgument),
            other => internal("the signing request cannot be made", other),
        })?;
        *self.new_key.lock() = regenerate.then_some(key);
        tracing::info!(new_key = regenerate, "certificate signing request created");
        Ok(vec![Variant::ByteString(ByteString::from(request))])
    }

    /// UpdateCertificate(certificateGroupId, certificateTypeId, certificate, issuerCertificates,
    /// privateKeyFormat, privateKey) → applyChangesRequired (true: ApplyChanges takes it).
    pub fn update_certificate(&self, values: &[Variant]) -> Result<Vec<Variant>, CallError> {
        let args = Args::new(values, 6)?;
        Self::check_group_and_type(&args)?;
        let der = args.bytes(2)?;
        let issuers = args.bytes_list(3)?;
        let format = args.string(4)?;
        let key_bytes = args.bytes(5)?;
        let key = match format.as_str() {
            "" => match self.new_key.lock().clone() {
                Some(k) => k,
                None => self.current()?.1,
            },
            "PEM" => fxgate_pki::read_private_key(&key_bytes).map_err(|_| args.invalid(5, StatusCode::BadInvalidArgument))?,
            _ => return Err(StatusCode::BadNotSupported.into()),
        };
        let cert = fxgate_pki::check_new_certificate(&der, &key, &self.application_uri, &issuers).map_err(|e| {
            tracing::warn!(error = %e, "UpdateCertificate refused");
            match e {
                RotationError::KeyMismatch => StatusCode::BadSecurityChecksFailed.into(),
                RotationError::UriMismatch(_) => StatusCode::BadCertificateUriInvalid.into(),
                RotationError::TimeInvalid => StatusCode::BadCertificateTimeInvalid.into(),
                RotationError::NotACertificate | RotationError::NotSignedByIssuer => StatusCode::BadCertificateInvalid.into(),
                other => internal("the new certificate cannot be checked", other),
            }
        })?;
        *self.pending.lock() = Some((cert, key));
        tracing::info!("new application certificate accepted; ApplyChanges puts it in use");
        Ok(vec![Variant::Boolean(true)])
    }

    /// ApplyChanges: the pending certificate is written and the gateway restarted (after the
    /// response). Without one, nothing happens.
    pub fn apply_changes(&self, values: &[Variant]) -> Result<Vec<Variant>, CallError> {
        Args::new(values, 0)?;
        let Some((cert, key)) = self.pending.lock().take() else {
            return Ok(Vec::new());
        };
        fxgate_pki::install_certificate(&self.cert_path, &self.key_path, &cert, &key).map_err(|e| internal("the new certificate cannot be written", e))?;
        *self.new_key.lock() = None;
        match &self.restart {
            Some(restart) => {
                let restart = restart.clone();
                tracing::info!("ApplyChanges: the gateway restarts with its new certificate");
                tokio::spawn(async move {
                    tokio::time::sleep(RESTART_DELAY).await;
                    restart();
                });
            }
            None => tracing::warn!("ApplyChanges: the new certificate is used from the next start"),
        }
        Ok(Vec::new())
    }

    /// GetRejectedList() → certificates: the DER of each certificate in `rejected/`.
    pub fn rejected_list(&self, values: &[Variant]) -> Result<Vec<Variant>, CallError> {
        Args::new(values, 0)?;
        let certs = fxgate_pki::rejected_certificates(&self.pki_dir).map_err(|e| internal("rejected/ cannot be read", e))?;
        let list: Vec<ByteString> = certs.into_iter().map(ByteString::from).collect();
        Ok(vec![Variant::from(list)])
    }
}
