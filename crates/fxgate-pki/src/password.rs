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

/// Why [`validate_hash`] does not accept a password hash.
///
/// The Display text says what is wrong, for the configuration check's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateHashError {
    /// Not a PHC string at all (the PHC string format of the Password Hashing Competition).
    #[error("not a PHC password hash string ($argon2id$v=19$m=..,t=..,p=..$salt$hash): {0}")]
    NotPhc(argon2::password_hash::Error),
    /// A PHC string of another algorithm than argon2id (RFC 9106).
    #[error("hash algorithm is `{0}`, expected `argon2id` (create one with `fxgate users hash`)")]
    Algorithm(String),
    /// The `v=` field names an argon2 version this implementation does not know.
    #[error("unsupported argon2 version {version}: {reason}")]
    Version {
        /// The version as written.
        version: u32,
        /// Why argon2 refuses it.
        reason: argon2::Error,
    },
    /// The `m=`, `t=`, `p=` parameters are out of range or malformed.
    #[error("invalid argon2id parameters: {0}")]
    Params(argon2::password_hash::Error),
    /// The salt field is missing.
    #[error("the salt is missing")]
    NoSalt,
    /// The hash output field is missing.
    #[error("the hash output is missing")]
    NoOutput,
}

/// Checks that `phc` is a complete argon2id PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`)
/// with valid parameters. The error says what is wrong.
pub fn validate_hash(phc: &str) -> Result<(), ValidateHashError> {
    let hash = PasswordHash::new(phc.trim()).map_err(ValidateHashError::NotPhc)?;
    if hash.algorithm != ARGON2ID_IDENT {
        return Err(ValidateHashError::Algorithm(hash.algorithm.to_string()));
    }
    if let Some(version) = hash.version {
        Version::try_from(version).map_err(|reason| ValidateHashError::Version { version, reason })?;
    }
    Params::try_from(&hash).map_err(ValidateHashError::Params)?;
    if hash.salt.is_none() {
        return Err(ValidateHashError::NoSalt);
    }
    if hash.hash.is_none() {
        return Err(ValidateHashError::NoOutput);
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
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("argon2i"), "{msg}");
    }
}
