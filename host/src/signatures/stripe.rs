//! Stripe's `Stripe-Signature: t=<unix secs>,v1=<hex HMAC-SHA256 of "{t}.{body}">[,v1=…]`, keyed
//! with the endpoint secret's text as given (`whsec_…`, not decoded).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{check_timestamp, SignatureError};

const HEADER: &str = "Stripe-Signature";

/// The header a sender with `secret` puts on `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = mac(secret, &timestamp.to_string(), body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Accepts `header` when its timestamp is within the tolerance and any `v1` signature matches.
pub fn verify(secret: &str, header: &str, body: &[u8], now_secs: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for (key, value) in header.split(',').filter_map(|part| part.trim().split_once('=')) {
        match key {
            "t" => timestamp = Some(value),
            "v1" => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed(HEADER))?;
    check_timestamp(
        timestamp.parse().map_err(|_| SignatureError::Malformed(HEADER))?,
        now_secs,
    )?;
    if signatures
        .iter()
        .any(|sig| mac(secret, timestamp, body).verify_slice(sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1492774577;
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    // Python's hmac over "1492774577.{body}" with key b"whsec_test".
    const V1: &str = "7656fc2882a7ca0a651666b36bf2f2f22ee204f54f608f227498a2419f2890b2";

    #[test]
    fn matches_an_independent_implementation() {
        assert_eq!(sign("whsec_test", T, BODY), format!("t={T},v1={V1}"));
    }

    #[test]
    fn accepts_any_v1_among_other_schemes() {
        let header = format!("t={T},v0=abc,v1=00ff,v1={V1}");
        assert_eq!(verify("whsec_test", &header, BODY, T + 299), Ok(()));
    }

    #[test]
    fn refuses_tampering_staleness_and_garbage() {
        let header = sign("whsec_test", T, BODY);
        assert_eq!(verify("whsec_other", &header, BODY, T), Err(SignatureError::Mismatch));
        assert_eq!(verify("whsec_test", &header, b"{}", T), Err(SignatureError::Mismatch));
        assert_eq!(verify("whsec_test", &header, BODY, T + 301), Err(SignatureError::Stale));
        let replayed_later = header.replace(&T.to_string(), &(T + 100).to_string());
        assert_eq!(
            verify("whsec_test", &replayed_later, BODY, T + 100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_test", &format!("v1={V1}"), BODY, T),
            Err(SignatureError::Malformed(HEADER))
        );
        assert_eq!(
            verify("whsec_test", "t=x,v1=00", BODY, T),
            Err(SignatureError::Malformed(HEADER))
        );
    }
}
