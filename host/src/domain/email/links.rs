//! Signed links in emails (unsubscribe, opens, clicks, sender verification): a token is a
//! payload followed by an HMAC-SHA256 tag over the link's purpose and the payload, keyed with
//! the state's link key. A forged or altered token verifies as nothing, and a token made for one
//! purpose is worthless for another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(key: &[u8], purpose: &str, payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(payload.as_bytes());
    mac
}

/// The token of `payload` for `purpose`. The payload must be URL-safe; it may hold dots.
pub fn sign(key: &[u8], purpose: &str, payload: &str) -> String {
    let tag = mac(key, purpose, payload).finalize().into_bytes();
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The payload a token was made for with `key` and `purpose`; `None` otherwise. Compared in
/// constant time.
pub fn verify<'t>(key: &[u8], purpose: &str, token: &'t str) -> Option<&'t str> {
    let (payload, tag) = token.rsplit_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, purpose, payload).verify_slice(&tag).ok()?;
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_with_their_key_and_purpose() {
        let t = sign(b"key", "open", "msg_1.abc");
        assert_eq!(verify(b"key", "open", &t), Some("msg_1.abc"));
        assert_eq!(verify(b"other key", "open", &t), None);
        assert_eq!(verify(b"key", "click", &t), None);
        let altered = t.replacen("msg_1", "msg_2", 1);
        assert_eq!(verify(b"key", "open", &altered), None);
        assert_eq!(verify(b"key", "open", "garbage"), None);
        assert_eq!(verify(b"key", "open", "a.%%%"), None);
    }
}
