//! Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce (`X-WC-Webhook-Signature`): base64 of
//! HMAC-SHA256 over the raw body with the shop's secret. Neither scheme signs a timestamp, so
//! replays are refused by the delivery id ([`super::first_delivery`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SignatureError;

/// The header value a sender with `secret` puts on `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    STANDARD.encode(mac(secret, body).finalize().into_bytes())
}

/// Checks `signature` (the header's base64 value) in constant time.
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> Result<(), SignatureError> {
    let expected = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Malformed("signature"))?;
    mac(secret, body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independent_implementation() {
        // `printf '{"id":1}' | openssl dgst -sha256 -hmac secret`, as Shopify's docs compute it.
        let openssl = "03def589620c813f198fd03d7967e292b163ef0435ebf43071ce0e9519763cb7";
        let body = br#"{"id":1}"#;
        let signature = sign(b"secret", body);
        assert_eq!(signature, STANDARD.encode(hex::decode(openssl).unwrap()));
        assert_eq!(verify(b"secret", body, &signature), Ok(()));
    }

    #[test]
    fn refuses_other_bodies_secrets_and_garbage() {
        let signature = sign(b"secret", b"body");
        assert_eq!(verify(b"secret", b"body!", &signature), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", b"body", &signature), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(b"secret", b"body", "%%%"),
            Err(SignatureError::Malformed("signature"))
        );
        assert_eq!(verify(b"secret", b"body", ""), Err(SignatureError::Mismatch));
    }
}
