//! The encryption of accounts' keys at rest: XChaCha20-Poly1305 (RustCrypto's
//! `chacha20poly1305`) under an operator key from the environment, with a random 24-byte nonce
//! per key and the key's row (account and provider) as associated data, so a ciphertext moved
//! to another row does not decrypt.
//!
//! The variable holds one or more keys, `id:base64` separated by commas, the first current:
//! new keys are sealed under it, and every listed key still opens what it sealed. Rotation is
//! adding a new key first, re-encrypting (`switchyard admin byok rotate` or
//! `POST /admin/byok/rotate`), then dropping the old key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::Rng;

use switchyard_domain::store_error::CipherError;

/// A key sealed for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The operator key it is sealed under.
    pub key_id: String,
    /// Base64 nonce.
    pub nonce: String,
    /// Base64 ciphertext with its tag.
    pub ciphertext: String,
}

/// The operator's keys: the first seals, all open.
pub struct Keyring {
    keys: Vec<(String, XChaCha20Poly1305)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// The keys in `value`, read from `variable` (named in errors).
    pub fn parse(variable: &str, value: &str) -> Result<Keyring, CipherError> {
        let malformed = |problem: String| CipherError::Malformed {
            variable: variable.to_owned(),
            problem,
        };
        let mut keys: Vec<(String, XChaCha20Poly1305)> = Vec::new();
        for (position, entry) in (1..).zip(value.split(',').map(str::trim)) {
            let Some((id, encoded)) = entry.split_once(':') else {
                return Err(malformed(format!("entry {position} is not id:base64")));
            };
            let id = id.trim();
            if id.is_empty() || keys.iter().any(|(known, _)| known == id) {
                return Err(malformed(format!(
                    "entry {position}: the key id is empty or repeated"
                )));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| malformed(format!("key {id:?} is not base64")))?;
            if bytes.len() != 32 {
                return Err(malformed(format!(
                    "key {id:?} is {} bytes, not 32",
                    bytes.len()
                )));
            }
            let cipher = XChaCha20Poly1305::new(Key::from_slice(&bytes));
            keys.push((id.to_owned(), cipher));
        }
        Ok(Keyring { keys })
    }

    /// The id of the key new keys are sealed under.
    pub fn current(&self) -> &str {
        self.keys.first().map_or("", |(id, _)| id.as_str())
    }

    /// Seals `secret` for the row `context` under the current key.
    pub fn seal(&self, secret: &str, context: &str) -> Result<Sealed, CipherError> {
        let (id, cipher) = self.keys.first().ok_or(CipherError::Corrupt)?;
        let mut nonce = [0_u8; 24];
        rand::rng().fill(&mut nonce);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: context.as_bytes(),
        };
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| CipherError::Corrupt)?;
        Ok(Sealed {
            key_id: id.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }

    /// Opens `sealed`, stored for the row `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<String, CipherError> {
        let (_, cipher) = (self.keys.iter())
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| CipherError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = STANDARD
            .decode(&sealed.nonce)
            .map_err(|_| CipherError::Corrupt)?;
        let ciphertext = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| CipherError::Corrupt)?;
        if nonce.len() != 24 {
            return Err(CipherError::Corrupt);
        }
        let payload = Payload {
            msg: &ciphertext,
            aad: context.as_bytes(),
        };
        let plain = cipher
            .decrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| CipherError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| CipherError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "old:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const NEW: &str = "new:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn a_rotated_ring_opens_what_the_old_key_sealed_and_seals_under_the_new() {
        let old = Keyring::parse("V", OLD).expect("one key");
        let sealed = old.seal("sk-secret", "acct/openai").expect("sealed");
        assert_eq!(sealed.key_id, "old");
        assert!(!sealed.ciphertext.contains("secret"));
        let rotated = Keyring::parse("V", &format!("{NEW},{OLD}")).expect("two keys");
        assert_eq!(
            rotated.open(&sealed, "acct/openai").expect("opens"),
            "sk-secret"
        );
        assert_eq!(rotated.seal("x", "c").expect("sealed").key_id, "new");
        let dropped = Keyring::parse("V", NEW).expect("new only");
        assert!(matches!(
            dropped.open(&sealed, "acct/openai"),
            Err(CipherError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_open() {
        let ring = Keyring::parse("V", OLD).expect("one key");
        let sealed = ring.seal("sk-secret", "a/openai").expect("sealed");
        assert!(matches!(
            ring.open(&sealed, "b/openai"),
            Err(CipherError::Corrupt)
        ));
    }

    #[test]
    fn malformed_rings_name_the_problem_never_the_key() {
        for (value, problem) in [
            ("nocolon", "not id:base64"),
            ("a:!!!", "not base64"),
            ("a:AAAA", "not 32"),
            (&format!("{OLD},{OLD}") as &str, "repeated"),
        ] {
            let error = Keyring::parse("V", value).expect_err(value).to_string();
            assert!(error.contains(problem), "{error}");
        }
    }
}
