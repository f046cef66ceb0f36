//! `opc.udp://<host>:<port>` addresses (OPC 10000-14 §7.3.2.2), parsed once for every section
//! that names one: the PubSub connections and the FX ConnectionManager's PubSub flows.

/// Why a text is not an `opc.udp://` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UdpUrlError {
    /// Not `opc.udp://…`.
    #[error("not an opc.udp:// URL")]
    Scheme,
    /// No host.
    #[error("the address is missing")]
    Host,
    /// No port, or not a number 1–65535.
    #[error("the port is missing or not 1 to 65535")]
    Port,
}

/// An `opc.udp://<host>:<port>` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpUrl {
    /// The host: an IP address or a name.
    pub host: String,
    /// The port.
    pub port: u16,
}

/// Parses `opc.udp://<host>:<port>` (IPv6 in brackets).
pub fn parse_udp_url(url: &str) -> Result<UdpUrl, UdpUrlError> {
    let rest = url.trim().strip_prefix("opc.udp://").ok_or(UdpUrlError::Scheme)?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or(UdpUrlError::Port)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(UdpUrlError::Host);
    }
    let port: u16 = port.parse().map_err(|_| UdpUrlError::Port)?;
    if port == 0 {
        return Err(UdpUrlError::Port);
    }
    Ok(UdpUrl { host: host.to_string(), port })
}
