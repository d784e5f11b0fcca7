//! Short-lived access tokens: HS256 JWTs naming the user and tenant.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ids::{PrefixedId, TenantId, UserId};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    tid: String,
    iat: i64,
    exp: i64,
    iss: String,
}

const ISSUER: &str = "switchboard";

pub struct AccessClaims {
    pub user_id: UserId,
    pub tenant_id: TenantId,
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("access token is invalid or expired")]
    Invalid,
    #[error("signing failed: {0}")]
    Sign(jsonwebtoken::errors::Error),
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        // Only HS256 is accepted: `alg: none` and algorithm-confusion tokens fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs: ttl_secs as i64,
        }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user: &UserId, tenant: &TenantId) -> Result<String, JwtError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            tid: tenant.to_string(),
            iat: now,
            exp: now + self.ttl_secs,
            iss: ISSUER.into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(JwtError::Sign)
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, JwtError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| JwtError::Invalid)?;
        let user_id = UserId::parse(&data.claims.sub).ok_or(JwtError::Invalid)?;
        let tenant_id = TenantId::parse(&data.claims.tid).ok_or(JwtError::Invalid)?;
        Ok(AccessClaims { user_id, tenant_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn round_trip_and_rejections() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let (u, t) = (UserId::generate(), TenantId::generate());
        let token = keys.issue(&u, &t).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.user_id, u);
        assert_eq!(claims.tenant_id, t);

        let other = JwtKeys::new(b"another-key-another-key-another!", 60);
        assert!(other.verify(&token).is_err(), "token signed with another key");

        let payload = token.split('.').nth(1).unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{none_header}.{payload}.")).is_err(), "alg none");

        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let stale = Claims {
            sub: u.to_string(),
            tid: t.to_string(),
            iat: now - 120,
            exp: now - 60,
            iss: ISSUER.into(),
        };
        let old = encode(&Header::new(Algorithm::HS256), &stale, &keys.encoding).unwrap();
        assert!(keys.verify(&old).is_err(), "expired");
    }
}
