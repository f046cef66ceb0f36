//! Push management of the server's certificate and trust list (OPC 10000-12 §7.10, "GDS
//! push"): a GDS, or any client, manages them remotely through the standard
//! ServerConfiguration object (i=12637) of namespace 0.
//!
//! - The TrustList of the DefaultApplicationGroup as a file ([`trust_file`]): Open, Read,
//!   Write, Close, GetPosition, SetPosition, OpenWithMasks, CloseAndUpdate, AddCertificate,
//!   RemoveCertificate; its content is `pki/` (trusted and issuer certificates, their CRLs).
//! - CreateSigningRequest, UpdateCertificate, ApplyChanges, GetRejectedList ([`certificate`]).
//! - The properties of both ([`properties`]).
//! - Audit events of the changes, refused ones included ([`audit`]).
//!
//! Every method needs the `security_admin` role (Bad_UserAccessDenied) over a SignAndEncrypt
//! channel (Bad_SecurityModeInsufficient). The calls and reads are diverted from the core node
//! manager ([`crate::core_calls`]), which holds these standard nodes without behaviour.

pub mod args;
pub mod audit;
pub mod certificate;
pub mod properties;
pub mod trust_file;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use fxgate_config::Role;
use opcua::server::node_manager::{MethodCall, ReadNode, RequestContext, ServerContext};
use opcua::types::{MessageSecurityMode, MethodId, NodeId, ObjectId, StatusCode, TimestampsToReturn, Variant};

use crate::auth::Authenticator;
use crate::core_calls::{CoreDiverter, DiverterBuilder};
use args::{Args, CallError};
use certificate::{CertificateManager, Restart};
use trust_file::TrustListFile;

/// The methods of the DefaultApplicationGroup's TrustList.
const TRUST_LIST_METHODS: [MethodId; 10] = [
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Open,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Close,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Read,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Write,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_GetPosition,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_SetPosition,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_OpenWithMasks,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_CloseAndUpdate,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_AddCertificate,
    MethodId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_RemoveCertificate,
];

/// The methods of ServerConfiguration.
const SERVER_CONFIGURATION_METHODS: [MethodId; 4] = [
    MethodId::ServerConfiguration_CreateSigningRequest,
    MethodId::ServerConfiguration_UpdateCertificate,
    MethodId::ServerConfiguration_ApplyChanges,
    MethodId::ServerConfiguration_GetRejectedList,
];

/// What push management needs from the server.
pub struct GdsSettings {
    /// The server's PKI directory (`<data>/pki`).
    pub pki_dir: PathBuf,
    /// The server's certificate file.
    pub cert_path: PathBuf,
    /// Its private key file.
    pub key_path: PathBuf,
    /// The server's ApplicationUri (a new certificate must name it).
    pub application_uri: String,
    /// Restarts the gateway (ApplyChanges); none: the new certificate is used from the next start.
    pub restart: Option<Restart>,
    /// The users' roles.
    pub auth: Arc<Authenticator>,
}

/// The diverter of push management, made when the server is built.
pub fn push_management(settings: GdsSettings) -> DiverterBuilder {
    Box::new(move |_: &ServerContext| -> Arc<dyn CoreDiverter> {
        Arc::new(PushManagement {
            trust: TrustListFile::new(settings.pki_dir.clone()),
            certificates: CertificateManager::new(settings.pki_dir, settings.cert_path, settings.key_path, settings.application_uri, settings.restart),
            auth: settings.auth,
        })
    })
}

/// Answers the methods of ServerConfiguration and its TrustList.
pub struct PushManagement {
    trust: TrustListFile,
    certificates: CertificateManager,
    auth: Arc<Authenticator>,
}

/// Whether `id` is one of the methods push management answers (they need `security_admin`).
pub fn is_push_management_method(id: &NodeId) -> bool {
    is_one_of(id, &TRUST_LIST_METHODS) || is_one_of(id, &SERVER_CONFIGURATION_METHODS)
}

fn is_one_of(id: &NodeId, ids: &[MethodId]) -> bool {
    id.namespace == 0 && ids.iter().any(|m| *id == NodeId::from(*m))
}

impl PushManagement {
    /// Bad_SecurityModeInsufficient without encryption, Bad_UserAccessDenied without the role.
    fn check_access(&self, context: &RequestContext) -> Result<(), StatusCode> {
        if context.session.read().message_security_mode() != MessageSecurityMode::SignAndEncrypt {
            return Err(StatusCode::BadSecurityModeInsufficient);
        }
        if !self.auth.roles(&context.token).has(Role::SecurityAdmin) {
            return Err(StatusCode::BadUserAccessDenied);
        }
        Ok(())
    }

    fn dispatch(&self, session: u32, method: &NodeId, values: &[Variant]) -> Result<Vec<Variant>, CallError> {
        use MethodId as M;
        let is = |m: MethodId| *method == NodeId::from(m);
        let t = &self.trust;
        if is(M::ServerConfiguration_CreateSigningRequest) {
            self.certificates.create_signing_request(values)
        } else if is(M::ServerConfiguration_UpdateCertificate) {
            self.certificates.update_certificate(values)
        } else if is(M::ServerConfiguration_ApplyChanges) {
            self.certificates.apply_changes(values)
        } else if is(M::ServerConfiguration_GetRejectedList) {
            self.certificates.rejected_list(values)
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Open) {
            let a = Args::new(values, 1)?;
            Ok(vec![Variant::UInt32(t.open(session, a.byte(0)?)?)])
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_OpenWithMasks) {
            let a = Args::new(values, 1)?;
            Ok(vec![Variant::UInt32(t.open_with_masks(session, a.u32(0)?)?)])
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Read) {
            let a = Args::new(values, 2)?;
            Ok(vec![Variant::ByteString(t.read(session, a.u32(0)?, a.i32(1)?)?.into())])
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Write) {
            let a = Args::new(values, 2)?;
            t.write(session, a.u32(0)?, &a.bytes(1)?)?;
            Ok(Vec::new())
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_GetPosition) {
            let a = Args::new(values, 1)?;
            Ok(vec![Variant::UInt64(t.position(session, a.u32(0)?)?)])
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_SetPosition) {
            let a = Args::new(values, 2)?;
            t.set_position(session, a.u32(0)?, a.u64(1)?)?;
            Ok(Vec::new())
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_Close) {
            let a = Args::new(values, 1)?;
            t.close(session, a.u32(0)?)?;
            Ok(Vec::new())
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_CloseAndUpdate) {
            let a = Args::new(values, 1)?;
            Ok(vec![Variant::Boolean(t.close_and_update(session, a.u32(0)?)?)])
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_AddCertificate) {
            let a = Args::new(values, 2)?;
            t.add_certificate(&a.bytes(0)?, a.bool(1)?)?;
            Ok(Vec::new())
        } else if is(M::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList_RemoveCertificate) {
            let a = Args::new(values, 2)?;
            t.remove_certificate(&a.string(0)?, a.bool(1)?)?;
            Ok(Vec::new())
        } else {
            Err(StatusCode::BadMethodInvalid.into())
        }
    }
}

#[async_trait]
impl CoreDiverter for PushManagement {
    fn takes_call(&self, call: &MethodCall) -> bool {
        let object = call.object_id();
        let trust_list = NodeId::from(ObjectId::ServerConfiguration_CertificateGroups_DefaultApplicationGroup_TrustList);
        (*object == trust_list && is_one_of(call.method_id(), &TRUST_LIST_METHODS))
            || (*object == ObjectId::ServerConfiguration && is_one_of(call.method_id(), &SERVER_CONFIGURATION_METHODS))
    }

    async fn call(&self, context: &RequestContext, calls: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        for call in calls.iter_mut() {
            match self.check_access(context) {
                Err(status) => {
                    tracing::warn!(method = %call.method_id(), %status, user = %context.token.0, "certificate management call refused");
                    call.set_status(status);
                }
                Ok(()) => {
                    let values = call.arguments().to_vec();
                    match self.dispatch(context.session_id, call.method_id(), &values) {
                        Ok(outputs) => {
                            call.set_outputs(outputs);
                            call.set_status(StatusCode::Good);
                        }
                        Err(CallError::Status(status)) => call.set_status(status),
                        Err(CallError::Argument { index, count, status }) => {
                            call.set_argument_error((0..count).map(|i| if i == index { status } else { StatusCode::Good }).collect());
                        }
                    }
                }
            }
            if let Some(event) = audit::event_for(context, call.method_id(), call.status()) {
                audit::report(context, event.as_ref());
            }
        }
        Ok(())
    }

    fn takes_read(&self, node: &ReadNode) -> bool {
        properties::takes(node)
    }

    async fn read(&self, context: &RequestContext, timestamps: TimestampsToReturn, nodes: &mut [&mut ReadNode]) {
        let writable = self.check_access(context).is_ok();
        for node in nodes.iter_mut() {
            properties::read(node, &self.trust, writable, timestamps);
        }
    }
}
