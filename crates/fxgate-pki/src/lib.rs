//! Certificate store management and password hashing for the fxgate OPC UA gateway.
//!
//! The on-disk layout matches what the async-opcua server and client read (see
//! `docs/interfaces.md`):
//!
//! ```text
//! <data-dir>/pki/own/cert.der          application instance certificate (server)
//! <data-dir>/pki/private/private.pem   its private key
//! <data-dir>/pki/trusted/              trusted peer certificates, `<CN> [<thumbprint hex>].der`
//! <data-dir>/pki/rejected/             rejected peer certificates, same naming
//! <data-dir>/pki-client/...            same layout, for upstream (client) connections
//! <data-dir>/pki-user/                 trusted X.509 user certificates (.der or .pem)
//! <data-dir>/pki/issuers/              intermediate CA certificates (chains, not trusted themselves)
//! <data-dir>/<store>/crl/              CRLs, `<SHA-1 of the DER>.crl` (checked for pki/, see `chain`)
//! <data-dir>/pki/ca-accepted.txt       certificates put in trusted/ because their chain validated
//! ```
//!
//! Certificates and CRLs are listed ([`list`], [`list_crls`]), trusted or rejected by
//! thumbprint ([`trust`], [`reject`]), added from uploaded bytes ([`add_certificate`],
//! [`add_crl`]) and deleted by their whole thumbprint ([`delete`], [`delete_crl`]). Private
//! keys are never listed.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod app_cert;
mod ca_trust;
mod chain;
mod certfile;
mod crl;
mod delete;
mod error;
mod hostnames;
mod issuers;
mod layout;
mod password;
mod rotation;
mod store;
#[cfg(test)]
mod testutil;
mod trust_list;
mod upload;
mod user_certs;
mod user_chain;
mod x509text;

pub use ca_trust::{judge_peer_certificate, PeerDecision, CA_ACCEPTED};
pub use chain::{is_self_signed, split_chain, verify_chain, ChainError, ChainRefusal, ChainVerdict, PeerRole};
pub use app_cert::{ensure_application_certificate, ensure_client_certificate, url_host, AppCertificate};
pub use crl::{add_crl, list_crls, AddCrlError, CrlEntry, CRL_DIR, CRL_NOTE};
pub use delete::{delete, delete_crl, DeleteError};
pub use error::PkiError;
pub use issuers::{add_issuer, chain_state, ISSUERS_DIR};
pub use hostnames::{hostnames_for_certificate, machine_hostname};
pub use layout::{ensure_layout, own_cert_path, own_key_path, CLIENT_PKI, SERVER_PKI, USER_PKI};
pub use password::{hash_password, validate_hash, verify_password, ValidateHashError};
pub use store::{list, reject, trust, CertEntry, Store, TrustState};
pub use rotation::{check_new_certificate, create_signing_request, generate_key, install_certificate, read_private_key, RotationError};
pub use trust_list::{
    add_trust_list_certificate, read_trust_list, rejected_certificates, remove_trust_list_certificate, replace_trust_list,
    TrustListError, TrustListFiles, validate_trust_list, ALL_LISTS, ISSUER_CERTIFICATES, ISSUER_CRLS, TRUSTED_CERTIFICATES, TRUSTED_CRLS,
};
pub use upload::{add_certificate, AddCertError, AddedCert, MAX_UPLOAD_BYTES};
pub use user_certs::{thumbprint_hex, user_certificates, UserCert};
pub use user_chain::{check_user_certificate, UserCertCheck};
