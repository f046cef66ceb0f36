//! JSON Web Tokens (RFC 7519) for the handshake's `Authorization: Bearer` header (seed 001
//! §4.3.2.1: signed over a shared secret with HMAC or with an RSA private key), made fresh
//! per connection by the `jsonwebtoken` crate:
//! - HS256 (RFC 7518 §3.2, HMAC-SHA256) with `secret`;
//! - RS256 (RFC 7518 §3.3, RSASSA-PKCS1-v1_5 with SHA-256) with the RSA private key in
//!   `key_file`, PEM, PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`).
//!
//! Header `{"alg","typ":"JWT"}`; claims `iat`, `exp` = `iat` + `exp_s`, and `iss`, `sub`
//! when configured.

use std::path::{Path, PathBuf};

use crate::config::{JwtAlgorithm, JwtConfig};
use jsonwebtoken::crypto::{rust_crypto, CryptoProvider};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Why a token cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The HS256 secret is refused (it is empty; the config's validation refuses that first).
    #[error("secret: {0}")]
    Secret(#[source] jsonwebtoken::errors::Error),
    /// The RS256 key file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The RS256 key file holds no RSA private key in PEM.
    #[error("{}: {source}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    /// Signing failed.
    #[error(transparent)]
    Sign(jsonwebtoken::errors::Error),
}

/// A prepared signer.
pub struct Jwt {
    header: Header,
    key: EncodingKey,
    iss: String,
    sub: String,
    exp_s: u64,
}

impl Jwt {
    /// Loads the key or secret; an RS256 key that cannot sign fails here, not at the first
    /// connection.
    pub fn new(cfg: &JwtConfig, config_dir: &Path) -> Result<Self, JwtError> {
        // jsonwebtoken picks its crypto backend from its features and panics at the first
        // signature when it cannot tell (both backends enabled by some other crate in the
        // build): name ours.
        if CryptoProvider::try_get_default().is_none() {
            let _ = CryptoProvider::install_default(&rust_crypto::DEFAULT_PROVIDER);
        }
        let (algorithm, key) = match cfg.algorithm {
            JwtAlgorithm::HS256 => {
                (Algorithm::HS256, EncodingKey::from_secret(cfg.secret.as_bytes()).map_err(JwtError::Secret)?)
            }
            JwtAlgorithm::RS256 => {
                let path = fxgate_config::expand_appdir(&cfg.key_file, config_dir);
                let pem = std::fs::read(&path).map_err(|source| JwtError::Read { path: path.clone(), source })?;
                let key = EncodingKey::from_rsa_pem(&pem).map_err(|source| JwtError::Key { path: path.clone(), source })?;
                // from_rsa_pem only takes the key out of its PEM; the RSA key itself is parsed
                // when signing.
                jsonwebtoken::crypto::sign(b"fxgate", &key, Algorithm::RS256)
                    .map_err(|source| JwtError::Key { path, source })?;
                (Algorithm::RS256, key)
            }
        };
        Ok(Self {
            header: Header::new(algorithm),
            key,
            iss: cfg.iss.clone(),
            sub: cfg.sub.clone(),
            exp_s: cfg.exp_s,
        })
    }

    /// A token issued at `now_s` (seconds since the Unix epoch).
    pub fn token(&self, now_s: u64) -> Result<String, JwtError> {
        let mut claims = serde_json::json!({"iat": now_s, "exp": now_s + self.exp_s});
        if !self.iss.is_empty() {
            claims["iss"] = self.iss.clone().into();
        }
        if !self.sub.is_empty() {
            claims["sub"] = self.sub.clone().into();
        }
        jsonwebtoken::encode(&self.header, &claims, &self.key).map_err(JwtError::Sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use serde_json::{json, Value};

    fn cfg(algorithm: JwtAlgorithm, secret: &str, key_file: &str) -> JwtConfig {
        JwtConfig {
            algorithm,
            secret: secret.into(),
            key_file: key_file.into(),
            iss: "fxgate".into(),
            sub: "gw".into(),
            exp_s: 60,
        }
    }

    /// The three parts, the header and the claims decoded.
    fn parts(t: &str) -> (Vec<&str>, Value, Value) {
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |p: &str| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
        let (header, claims) = (decode(parts[0]), decode(parts[1]));
        (parts, header, claims)
    }

    #[test]
    fn hs256_matches_an_independent_hmac() {
        let t = Jwt::new(&cfg(JwtAlgorithm::HS256, "s3cret", ""), Path::new(".")).unwrap().token(1000).unwrap();
        let (parts, header, claims) = parts(&t);
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(claims, json!({"iat": 1000, "exp": 1060, "iss": "fxgate", "sub": "gw"}));
        let mac = openssl::sign::Signer::new(MessageDigest::sha256(), &PKey::hmac(b"s3cret").unwrap())
            .and_then(|mut s| {
                s.update(format!("{}.{}", parts[0], parts[1]).as_bytes())?;
                s.sign_to_vec()
            })
            .unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap(), mac);
    }

    #[test]
    fn rs256_from_pkcs1_and_pkcs8_verifies_with_the_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let pkey = PKey::from_rsa(rsa.clone()).unwrap();
        for (file, pem) in [
            ("pkcs1.pem", rsa.private_key_to_pem().unwrap()),
            ("pkcs8.pem", pkey.private_key_to_pem_pkcs8().unwrap()),
        ] {
            std::fs::write(dir.path().join(file), pem).unwrap();
            let mut c = cfg(JwtAlgorithm::RS256, "", file);
            c.iss.clear();
            let t = Jwt::new(&c, dir.path()).unwrap().token(5).unwrap();
            let (parts, header, claims) = parts(&t);
            assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}), "{file}");
            assert_eq!(claims, json!({"iat": 5, "exp": 65, "sub": "gw"}), "{file}");
            let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &pkey).unwrap();
            v.update(format!("{}.{}", parts[0], parts[1]).as_bytes()).unwrap();
            assert!(v.verify(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap(), "{file}");
        }
    }

    #[test]
    fn key_errors_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let empty = Jwt::new(&cfg(JwtAlgorithm::HS256, "", ""), dir.path());
        assert!(matches!(empty, Err(JwtError::Secret(_))), "{:?}", empty.err());
        let missing = Jwt::new(&cfg(JwtAlgorithm::RS256, "", "missing.pem"), dir.path());
        assert!(matches!(missing, Err(JwtError::Read { .. })), "{:?}", missing.err());
        let ec = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("ec.pem"), PKey::from_ec_key(ec).unwrap().private_key_to_pem_pkcs8().unwrap())
            .unwrap();
        std::fs::write(dir.path().join("junk.pem"), "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
            .unwrap();
        for file in ["ec.pem", "junk.pem"] {
            let r = Jwt::new(&cfg(JwtAlgorithm::RS256, "", file), dir.path());
            assert!(matches!(r, Err(JwtError::Key { .. })), "{file}: {:?}", r.err());
        }
    }
}
