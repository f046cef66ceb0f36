//! The endpoints the server offers (seed 000 §4.9.2): secure policies always,
//! None and the deprecated policies only when configured.

use fxgate_config::ServerConfig;
use opcua::crypto::SecurityPolicy;
use opcua::server::ServerEndpoint;
use opcua::types::MessageSecurityMode;

/// `(id, endpoint)` pairs for the configuration. All share the path `/`.
pub fn endpoints(cfg: &ServerConfig) -> Vec<(String, ServerEndpoint)> {
    use MessageSecurityMode::{Sign, SignAndEncrypt};
    let mut policies = vec![
        SecurityPolicy::Basic256Sha256,
        SecurityPolicy::Aes128Sha256RsaOaep,
        SecurityPolicy::Aes256Sha256RsaPss,
    ];
    if cfg.allow_deprecated {
        policies.push(SecurityPolicy::Basic128Rsa15);
        policies.push(SecurityPolicy::Basic256);
    }
    let mut out = Vec::new();
    for policy in policies {
        for mode in [Sign, SignAndEncrypt] {
            let id = format!("{policy}_{mode}").to_ascii_lowercase();
            out.push((id, ServerEndpoint::new("/", policy, mode, &[])));
        }
    }
    if cfg.allow_none {
        let mut none = ServerEndpoint::new("/", SecurityPolicy::None, MessageSecurityMode::None, &[]);
        // Passwords are never sent in clear: on the None endpoint they are encrypted
        // with Basic256Sha256 under the server certificate.
        none.password_security_policy = Some(SecurityPolicy::Basic256Sha256.to_string());
        out.push(("none".to_string(), none));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(cfg: &ServerConfig) -> Vec<String> {
        endpoints(cfg).into_iter().map(|(_, e)| e.security_policy).collect()
    }

    #[test]
    fn secure_by_default() {
        let cfg = ServerConfig::default();
        let p = policies(&cfg);
        assert_eq!(p.len(), 6);
        assert!(!p.iter().any(|p| p == "None" || p == "Basic128Rsa15" || p == "Basic256"));
        let mut cfg = cfg;
        cfg.allow_none = true;
        cfg.allow_deprecated = true;
        let p = policies(&cfg);
        assert_eq!(p.len(), 11);
        assert!(p.iter().any(|p| p == "None"));
        assert!(p.iter().any(|p| p == "Basic128Rsa15"));
    }
}
