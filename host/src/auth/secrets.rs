//! Opaque secrets (API keys, refresh tokens, invitation tokens): random, prefixed so they are
//! recognisable (and findable by secret scanners), and stored only as SHA-256 hashes. They carry
//! 256 bits of entropy, so a fast hash is enough; passwords use argon2id instead.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const API_KEY_PREFIX: &str = "sb_key_";
pub const REFRESH_TOKEN_PREFIX: &str = "sb_rt_";
pub const INVITATION_PREFIX: &str = "sb_inv_";

/// Random characters of an API key shown in listings so people can tell keys apart.
const DISPLAY_CHARS: usize = 8;

pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The recognisable start of a key, safe to show.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(API_KEY_PREFIX.len() + DISPLAY_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_unique_and_hash_stably() {
        let a = generate(API_KEY_PREFIX);
        let b = generate(API_KEY_PREFIX);
        assert!(a.starts_with(API_KEY_PREFIX));
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert!(a.starts_with(&display_prefix(&a)));
        assert!(display_prefix(&a).len() < a.len() / 2);
    }
}
