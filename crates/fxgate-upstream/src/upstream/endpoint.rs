//! The endpoint of a connection attempt: chosen from the upstream's endpoint list
//! (GetEndpoints, OPC 10000-4 §5.5.4) by the configured security policy and mode at
//! `endpoint_url`, and what is said when the list has none.

use std::fmt;

use crate::config::{UpstreamConfig, UpstreamMode};
use opcua::client::Client;
use opcua::crypto::SecurityPolicy;
use opcua::types::{EndpointDescription, MessageSecurityMode};

/// The upstream's endpoint list has no endpoint with the configured security policy and mode
/// at `endpoint_url` (reported as Bad_SecurityPolicyRejected): what was asked for and what the
/// upstream offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMatchingEndpoint {
    /// `<security_policy>/<security_mode>` as configured.
    pub wanted: String,
    /// The configured `endpoint_url`.
    pub endpoint_url: String,
    /// The `<policy>/<mode>` pairs the upstream offers, each once, in its order.
    pub offered: Vec<String>,
    /// The URLs of endpoints with the wanted pair under another path.
    pub elsewhere: Vec<String>,
}

impl fmt::Display for NoMatchingEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offered = if self.offered.is_empty() { "none".to_string() } else { self.offered.join(", ") };
        write!(
            f,
            "the upstream offers no endpoint with security_policy/security_mode {} at {}; it offers {offered} (BadSecurityPolicyRejected)",
            self.wanted, self.endpoint_url
        )?;
        if !self.elsewhere.is_empty() {
            write!(
                f,
                "; {} is offered at {}, whose path differs from that of endpoint_url",
                self.wanted,
                self.elsewhere.join(", ")
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for NoMatchingEndpoint {}

/// The endpoint of `endpoints` with the security policy and mode of `c` at its
/// `endpoint_url`.
pub(super) fn choose(c: &UpstreamConfig, endpoints: &[EndpointDescription]) -> Result<EndpointDescription, NoMatchingEndpoint> {
    let policy = SecurityPolicy::from_uri(c.security_policy.uri());
    let mode = match c.security_mode {
        UpstreamMode::None => MessageSecurityMode::None,
        UpstreamMode::Sign => MessageSecurityMode::Sign,
        UpstreamMode::SignAndEncrypt => MessageSecurityMode::SignAndEncrypt,
    };
    Client::find_matching_endpoint(endpoints, &c.endpoint_url, policy, mode).ok_or_else(|| no_matching_endpoint(c, endpoints))
}

/// What is wanted of `c` and offered in `endpoints`, when none of them matches.
fn no_matching_endpoint(c: &UpstreamConfig, endpoints: &[EndpointDescription]) -> NoMatchingEndpoint {
    let wanted = format!("{}/{}", c.security_policy.name(), c.security_mode.name());
    let mut offered: Vec<String> = Vec::new();
    let mut elsewhere: Vec<String> = Vec::new();
    for e in endpoints {
        let uri = e.security_policy_uri.as_ref();
        let one = format!("{}/{:?}", uri.rsplit_once('#').map_or(uri, |(_, n)| n), e.security_mode);
        if one == wanted {
            elsewhere.push(e.endpoint_url.as_ref().to_string());
        }
        if !offered.contains(&one) {
            offered.push(one);
        }
    }
    NoMatchingEndpoint {
        wanted,
        endpoint_url: c.endpoint_url.clone(),
        offered,
        elsewhere,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamPolicy;

    fn ep(url: &str, policy: &str, mode: MessageSecurityMode) -> EndpointDescription {
        EndpointDescription {
            endpoint_url: url.into(),
            security_policy_uri: format!("http://opcfoundation.org/UA/SecurityPolicy#{policy}").into(),
            security_mode: mode,
            ..Default::default()
        }
    }

    #[test]
    fn missing_endpoint_names_what_is_wanted_and_offered() {
        let c = UpstreamConfig {
            endpoint_url: "opc.tcp://plc:4840/".into(),
            security_policy: UpstreamPolicy::Basic256Sha256,
            security_mode: UpstreamMode::Sign,
            ..Default::default()
        };
        let offered = [
            ep("opc.tcp://plc:4840/", "Aes128_Sha256_RsaOaep", MessageSecurityMode::Sign),
            ep("opc.tcp://plc:4840/", "Aes128_Sha256_RsaOaep", MessageSecurityMode::Sign),
            ep("opc.tcp://plc:4840/", "None", MessageSecurityMode::None),
        ];
        let url = "opc.tcp://plc:4840/";
        assert!(Client::find_matching_endpoint(&offered, url, SecurityPolicy::Basic256Sha256, MessageSecurityMode::Sign).is_none());
        assert_eq!(
            no_matching_endpoint(&c, &offered).to_string(),
            "the upstream offers no endpoint with security_policy/security_mode Basic256Sha256/Sign at opc.tcp://plc:4840/; it offers Aes128_Sha256_RsaOaep/Sign, None/None (BadSecurityPolicyRejected)"
        );
        assert!(no_matching_endpoint(&c, &[]).to_string().contains("; it offers none ("));
        // offered, but under another path: that is said too
        let elsewhere = [ep("opc.tcp://plc:4840/other", "Basic256Sha256", MessageSecurityMode::Sign)];
        assert!(Client::find_matching_endpoint(&elsewhere, url, SecurityPolicy::Basic256Sha256, MessageSecurityMode::Sign).is_none());
        let msg = no_matching_endpoint(&c, &elsewhere).to_string();
        assert!(msg.ends_with("; Basic256Sha256/Sign is offered at opc.tcp://plc:4840/other, whose path differs from that of endpoint_url"), "{msg}");
    }
}
