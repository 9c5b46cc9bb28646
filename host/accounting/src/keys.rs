//! API key secrets: generated with 288 bits of randomness, shown once, stored as SHA-256.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// What every secret starts with, so that leaked keys are easy to recognise.
pub const SECRET_PREFIX: &str = "sk-sy-v1-";

/// A fresh secret: the prefix and 48 random alphanumerics.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", random_text(48))
}

/// The stored form of a secret: SHA-256 in hex (a slow hash is unneeded for random secrets).
pub fn hash_secret(secret: &str) -> String {
    SecretDigest::of(secret).hex()
}

/// The SHA-256 of a secret: what the key cache finds keys by, without the hex of
/// [`hash_secret`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &str) -> SecretDigest {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// In lowercase hex, as stored ([`hash_secret`]).
    pub fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }
}

/// A random id `<kind>_<16 alphanumerics>`.
pub fn random_id(kind: &str) -> String {
    format!("{kind}_{}", random_text(16))
}

fn random_text(length: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_distinct_and_hashed_stably() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == SECRET_PREFIX.len() + 48);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
