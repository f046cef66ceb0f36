//! The checks of an upstream's application instance certificate that the gateway makes
//! itself (async-opcua checks only the trust list here, see
//! [`ClientSettings::client`](super::settings::ClientSettings)).

use opcua::client::Session;
use opcua::types::MessageSecurityMode;

/// Why the upstream's certificate was refused (`check_server_certificate`). The texts name
/// the status a server would report for the same fault (OPC 10000-4 §6.1.3).
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The certificate is not a readable DER X.509 certificate.
    #[error("the upstream's certificate cannot be read: {0}")]
    Unreadable(openssl::error::ErrorStack),
    /// The current time could not be had to compare the validity period with.
    #[error("{0}")]
    Clock(openssl::error::ErrorStack),
    /// Now is outside the certificate's validity period (Bad_CertificateTimeInvalid).
    #[error("the upstream's certificate is not valid now (valid {not_before} to {not_after}) (BadCertificateTimeInvalid)")]
    TimeInvalid {
        /// Start of the validity period.
        not_before: String,
        /// End of the validity period.
        not_after: String,
    },
    /// No subject alternative name is the host of the endpoint URL
    /// (Bad_CertificateHostNameInvalid).
    #[error("the upstream's certificate does not name {host}, the host of endpoint_url (BadCertificateHostNameInvalid)")]
    HostNameInvalid {
        /// The host of `endpoint_url`.
        host: String,
    },
    /// No subject alternative name is the server's application URI
    /// (Bad_CertificateUriInvalid).
    #[error("the upstream's certificate does not carry its application URI {uri} (BadCertificateUriInvalid)")]
    UriInvalid {
        /// The application URI of the server's ApplicationDescription.
        uri: String,
    },
}

/// Checks the upstream's certificate as OPC 10000-4 §6.1.3 asks: within its validity period,
/// naming the host of the endpoint URL, and carrying the server's application URI among its
/// subject alternative names (anywhere, not only first).
pub(super) fn check_server_certificate(session: &Session, endpoint_url: &str) -> Result<(), CertificateError> {
    let endpoint = &session.endpoint_info().endpoint;
    if endpoint.security_mode == MessageSecurityMode::None {
        return Ok(());
    }
    let der = endpoint.server_certificate.as_ref();
    let cert = openssl::x509::X509::from_der(der).map_err(CertificateError::Unreadable)?;
    let now = openssl::asn1::Asn1Time::days_from_now(0).map_err(CertificateError::Clock)?;
    if cert.not_before() > now || cert.not_after() < now {
        return Err(CertificateError::TimeInvalid {
            not_before: cert.not_before().to_string(),
            not_after: cert.not_after().to_string(),
        });
    }
    let host = fxgate_pki::url_host(endpoint_url);
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    let uri = endpoint.server.application_uri.as_ref();
    let mut host_ok = false;
    let mut uri_ok = false;
    if let Some(names) = cert.subject_alt_names() {
        for n in names.iter() {
            if let Some(d) = n.dnsname() {
                host_ok |= d.eq_ignore_ascii_case(&host);
            }
            if let (Some(bytes), Some(ip)) = (n.ipaddress(), ip) {
                host_ok |= match ip {
                    std::net::IpAddr::V4(v4) => bytes == v4.octets(),
                    std::net::IpAddr::V6(v6) => bytes == v6.octets(),
                };
            }
            if let Some(u) = n.uri() {
                uri_ok |= u == uri;
            }
        }
    }
    if !host_ok {
        return Err(CertificateError::HostNameInvalid { host });
    }
    if !uri_ok {
        return Err(CertificateError::UriInvalid { uri: uri.to_string() });
    }
    Ok(())
}
