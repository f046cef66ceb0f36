//! Password hashing for `[[users]]` entries: argon2id PHC strings.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params, Version, ARGON2ID_IDENT};
use rand_core::OsRng;

use crate::PkiError;

/// Hashes `password` with argon2id (default parameters, random 16-byte salt) and returns the
/// PHC string, e.g. `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
pub fn hash_password(password: &str) -> Result<String, PkiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PkiError::PasswordHash {
            reason: e.to_string(),
        })
}

/// `true` when `password` matches the argon2id PHC string `phc_hash`, using the parameters
/// stored in it; the final comparison is constant-time. `false` for a wrong password and for
/// a hash that is not a valid argon2id PHC string.
#[must_use]
pub fn verify_password(phc_hash: &str, password: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc_hash) else {
        return false;
    };
    if hash.algorithm != ARGON2ID_IDENT {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// Checks that `phc` is a complete argon2id PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`)
/// with valid parameters. The error message says what is wrong.
pub fn validate_hash(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc.trim()).map_err(|e| {
        format!("not a PHC password hash string ($argon2id$v=19$m=..,t=..,p=..$salt$hash): {e}")
    })?;
    if hash.algorithm != ARGON2ID_IDENT {
        return Err(format!(
            "hash algorithm is `{}`, expected `argon2id` (create one with `fxgate users hash`)",
            hash.algorithm
        ));
    }
    if let Some(version) = hash.version {
        Version::try_from(version)
            .map_err(|e| format!("unsupported argon2 version {version}: {e}"))?;
    }
    Params::try_from(&hash).map_err(|e| format!("invalid argon2id parameters: {e}"))?;
    if hash.salt.is_none() {
        return Err("the salt is missing".to_string());
    }
    if hash.hash.is_none() {
        return Err("the hash output is missing".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verify_roundtrip() {
        let hash = hash_password("s3cret pässword").expect("hashing works");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(validate_hash(&hash).is_ok());
        assert!(verify_password(&hash, "s3cret pässword"));
        assert!(!verify_password(&hash, "s3cret password"));
        assert!(!verify_password(&hash, ""));
        // Random salt: hashing twice differs.
        assert_ne!(
            hash,
            hash_password("s3cret pässword").expect("hashing works")
        );
    }

    #[test]
    fn empty_password_can_be_hashed() {
        let hash = hash_password("").expect("hashing works");
        assert!(verify_password(&hash, ""));
        assert!(!verify_password(&hash, "x"));
    }

    #[test]
    fn validate_rejects_garbage_and_other_algorithms() {
        for bad in [
            "",
            "garbage",
            "$argon2id$",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
            "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$gZiV/M1gPc22ElAH/Jh1Hw",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
        ] {
            let result = validate_hash(bad);
            assert!(result.is_err(), "{bad:?} should be rejected");
            assert!(!verify_password(bad, "password"));
        }
        let msg = validate_hash("$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$gZiV/M1gPc22ElAH/Jh1Hw")
            .err()
            .unwrap_or_default();
        assert!(msg.contains("argon2i"), "{msg}");
    }
}
