//! Twilio's `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the account's auth token, over
//! the full URL Twilio requested followed by every POST parameter's name and value, sorted by name
//! (and, for repeated names, by value). Twilio signs no timestamp: replays are refused by the
//! message or call SID ([`super::first_delivery`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::SignatureError;

/// The header Twilio puts on a POST of `params` to `url`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Checks `signature` in constant time. `url` must be the URL as Twilio was told it (scheme, host,
/// port, path and query), which is the public URL, not what a proxy forwarded.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> Result<(), SignatureError> {
    let expected = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Malformed("X-Twilio-Signature"))?;
    mac(auth_token, url, params)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params() -> Vec<(String, String)> {
        [
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+12349013030"),
            ("Caller", "+12349013030"),
            ("CallSid", "CA1234567890ABCDE"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn matches_twilios_published_example() {
        assert_eq!(sign("12345", URL, &params()), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert_eq!(verify("12345", URL, &params(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), Ok(()));
    }

    #[test]
    fn refuses_other_urls_params_tokens_and_garbage() {
        let signature = sign("12345", URL, &params());
        let mut changed = params();
        changed[0].1 = "9".into();
        assert_eq!(
            verify("12345", URL, &changed, &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("12345", "https://mycompany.com/other", &params(), &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("54321", URL, &params(), &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("12345", URL, &params(), "not base64!"),
            Err(SignatureError::Malformed("X-Twilio-Signature"))
        );
    }
}
