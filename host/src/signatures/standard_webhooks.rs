//! Standard Webhooks (<https://www.standardwebhooks.com>), which Svix and so Resend use too:
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, several signatures
//! separated by spaces (so a rotated secret can sign alongside the old one), keys written
//! `whsec_<base64>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::{check_timestamp, SignatureError};

const PREFIX: &str = "whsec_";

/// A signing key. Its `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A fresh random key of 24 bytes (Svix's length).
    pub fn generate() -> Self {
        let mut key = vec![0u8; 24];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Reads `whsec_<base64>`; a bare base64 key is accepted too, as the reference libraries do.
    pub fn parse(s: &str) -> Result<Self, SignatureError> {
        let key = STANDARD
            .decode(s.strip_prefix(PREFIX).unwrap_or(s))
            .map_err(|_| SignatureError::BadSecret)?;
        if key.is_empty() {
            return Err(SignatureError::BadSecret);
        }
        Ok(Self(key))
    }

    pub fn to_whsec(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, msg_id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// One `v1,<base64>` signature of a message.
pub fn sign(secret: &Secret, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mac = secret.mac(msg_id, &timestamp_secs.to_string(), body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The three signed headers of a request.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

impl<'a> Headers<'a> {
    /// Reads `webhook-id`, `webhook-timestamp` and `webhook-signature`, or the same under Svix's
    /// `svix-` prefix; `get` looks a header up by its lower-case name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, SignatureError> {
        let either = |standard: &'static str, svix: &str| {
            get(standard)
                .or_else(|| get(svix))
                .ok_or(SignatureError::Missing(standard))
        };
        Ok(Self {
            id: either("webhook-id", "svix-id")?,
            timestamp: either("webhook-timestamp", "svix-timestamp")?,
            signature: either("webhook-signature", "svix-signature")?,
        })
    }
}

/// Accepts the request when its timestamp is within the tolerance and any `v1` signature in the
/// header matches any of `secrets`, compared in constant time.
pub fn verify(secrets: &[Secret], headers: &Headers, body: &[u8], now_secs: i64) -> Result<(), SignatureError> {
    let timestamp: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed("webhook-timestamp"))?;
    check_timestamp(timestamp, now_secs)?;
    let signatures: Vec<Vec<u8>> = headers
        .signature
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .collect();
    let matches = secrets.iter().any(|secret| {
        signatures.iter().any(|sig| {
            secret
                .mac(headers.id, headers.timestamp.trim(), body)
                .verify_slice(sig)
                .is_ok()
        })
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example in the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers<'a>(signature: &'a str, timestamp: &'a str) -> Headers<'a> {
        Headers {
            id: ID,
            timestamp,
            signature,
        }
    }

    #[test]
    fn signs_the_specifications_example() {
        assert_eq!(sign(&Secret::parse(SECRET).unwrap(), ID, TS, BODY), SIGNATURE);
    }

    #[test]
    fn verifies_any_listed_signature_with_any_secret() {
        let secret = Secret::parse(SECRET).unwrap();
        let ts = TS.to_string();
        let several = format!("v1,bm90IGl0 v2,whatever {SIGNATURE}");
        assert_eq!(
            verify(std::slice::from_ref(&secret), &headers(&several, &ts), BODY, TS + 10),
            Ok(())
        );
        let rotated = [Secret::generate(), secret];
        assert_eq!(verify(&rotated, &headers(SIGNATURE, &ts), BODY, TS), Ok(()));
    }

    #[test]
    fn refuses_tampering_staleness_and_garbage() {
        let secret = [Secret::parse(SECRET).unwrap()];
        let ts = TS.to_string();
        let ok = headers(SIGNATURE, &ts);
        assert_eq!(verify(&secret, &ok, b"{}", TS), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(&[Secret::generate()], &ok, BODY, TS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&secret, &ok, BODY, TS + 301), Err(SignatureError::Stale));
        assert_eq!(verify(&secret, &ok, BODY, TS - 301), Err(SignatureError::Stale));
        let moved = (TS + 1).to_string();
        assert_eq!(
            verify(&secret, &headers(SIGNATURE, &moved), BODY, TS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret, &headers(SIGNATURE, "soon"), BODY, TS),
            Err(SignatureError::Malformed("webhook-timestamp"))
        );
        assert_eq!(
            verify(&secret, &headers("v1,%%%", &ts), BODY, TS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn reads_standard_and_svix_header_names() {
        let svix = |name: &str| match name {
            "svix-id" => Some("a"),
            "svix-timestamp" => Some("1"),
            "svix-signature" => Some("v1,x"),
            _ => None,
        };
        let h = Headers::from_lookup(svix).unwrap();
        assert_eq!((h.id, h.timestamp, h.signature), ("a", "1", "v1,x"));
        let missing = Headers::from_lookup(|name| (name == "webhook-id").then_some("a"));
        assert_eq!(missing.unwrap_err(), SignatureError::Missing("webhook-timestamp"));
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_refused() {
        let secret = Secret::generate();
        assert_eq!(Secret::parse(&secret.to_whsec()).unwrap(), secret);
        assert!(secret.to_whsec().starts_with("whsec_"));
        assert_eq!(Secret::parse("whsec_!!").unwrap_err(), SignatureError::BadSecret);
        assert_eq!(Secret::parse("whsec_").unwrap_err(), SignatureError::BadSecret);
        assert!(!format!("{secret:?}").contains(&secret.to_whsec()[6..]));
    }
}
