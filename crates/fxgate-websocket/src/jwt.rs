//! JSON Web Tokens (RFC 7519) for the handshake's `Authorization: Bearer` header (seed 001
//! §4.3.2.1), signed with HS256 (shared secret) or RS256 (RSA key), made fresh per connection.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crate::config::{JwtAlgorithm, JwtConfig};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;

/// A prepared signer.
pub struct Jwt {
    cfg: JwtConfig,
    key: PKey<Private>,
}

impl Jwt {
    /// Loads the key or secret.
    pub fn new(cfg: &JwtConfig, app_dir: &Path) -> Result<Self, String> {
        let key = match cfg.algorithm {
            JwtAlgorithm::HS256 => PKey::hmac(cfg.secret.as_bytes()).map_err(|e| e.to_string())?,
            JwtAlgorithm::RS256 => {
                let path = fxgate_config::expand_appdir(&cfg.key_file, app_dir);
                let pem = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                PKey::private_key_from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        Ok(Self { cfg: cfg.clone(), key })
    }

    /// A token issued now.
    pub fn token(&self, now_s: u64) -> Result<String, String> {
        let alg = match self.cfg.algorithm {
            JwtAlgorithm::HS256 => "HS256",
            JwtAlgorithm::RS256 => "RS256",
        };
        let header = serde_json::json!({"alg": alg, "typ": "JWT"});
        let mut claims = serde_json::json!({"iat": now_s, "exp": now_s + self.cfg.exp_s});
        if !self.cfg.iss.is_empty() {
            claims["iss"] = self.cfg.iss.clone().into();
        }
        if !self.cfg.sub.is_empty() {
            claims["sub"] = self.cfg.sub.clone().into();
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key).map_err(|e| e.to_string())?;
        signer.update(input.as_bytes()).map_err(|e| e.to_string())?;
        let sig = signer.sign_to_vec().map_err(|e| e.to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_matches_an_independent_hmac() {
        let cfg = JwtConfig {
            algorithm: JwtAlgorithm::HS256,
            secret: "s3cret".into(),
            key_file: String::new(),
            iss: "fxgate".into(),
            sub: "gw".into(),
            exp_s: 60,
        };
        let t = Jwt::new(&cfg, Path::new(".")).unwrap().token(1000).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["exp"], 1060);
        assert_eq!(claims["iss"], "fxgate");
        let mac = openssl::sign::Signer::new(MessageDigest::sha256(), &PKey::hmac(b"s3cret").unwrap())
            .and_then(|mut s| {
                s.update(format!("{}.{}", parts[0], parts[1]).as_bytes())?;
                s.sign_to_vec()
            })
            .unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap(), mac);
    }
}
