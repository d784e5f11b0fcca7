//! Installation secrets at rest: XChaCha20-Poly1305 with a key from the configuration or, when
//! unset, generated once into the data dir. The installation id is the associated data, so a
//! ciphertext cannot be moved to another installation.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the plugin secrets key must be 32 bytes of base64")]
    BadKey,
    #[error("a stored secret could not be decrypted (wrong key?)")]
    Decrypt,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    /// The configured key (base64 of 32 bytes), or the one in `dir/secrets.key`, created on first
    /// use. Every host sharing a database must use the same key.
    pub fn load(configured: Option<&str>, dir: &Path) -> Result<Self, SecretsError> {
        let key = match configured {
            Some(b64) => STANDARD.decode(b64.trim()).map_err(|_| SecretsError::BadKey)?,
            None => {
                let path = dir.join("secrets.key");
                match std::fs::read_to_string(&path) {
                    Ok(b64) => STANDARD.decode(b64.trim()).map_err(|_| SecretsError::BadKey)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let mut key = vec![0u8; 32];
                        rand::thread_rng().fill_bytes(&mut key);
                        std::fs::create_dir_all(dir)?;
                        std::fs::write(&path, STANDARD.encode(&key))?;
                        key
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|_| SecretsError::BadKey)?;
        Ok(Self { cipher })
    }

    /// nonce ‖ ciphertext.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory data");
        [&nonce[..], &sealed].concat()
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SecretsError> {
        if sealed.len() < 24 {
            return Err(SecretsError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(24);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretsError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_in_their_context() {
        let dir = std::env::temp_dir().join(format!("sb_secrets_{}", uuid::Uuid::now_v7().simple()));
        let sb = SecretBox::load(None, &dir).unwrap();
        let sealed = sb.seal("ins_a", b"hush");
        assert!(!sealed.windows(4).any(|w| w == b"hush"));
        assert_eq!(sb.open("ins_a", &sealed).unwrap(), b"hush");
        assert!(sb.open("ins_b", &sealed).is_err());
        // The generated key is reused by the next load.
        assert_eq!(
            SecretBox::load(None, &dir).unwrap().open("ins_a", &sealed).unwrap(),
            b"hush"
        );
        assert!(SecretBox::load(Some("short"), &dir).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
