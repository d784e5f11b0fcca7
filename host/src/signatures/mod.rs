//! Verifying the signatures providers put on the webhooks they send us, and signing the ones we
//! send (Standard Webhooks). One module so every inbound route compares in constant time, checks
//! timestamps where the scheme has them and refuses replays the same way.

pub mod body_hmac;
pub mod receipts;
pub mod standard_webhooks;
pub mod stripe;
pub mod twilio;

pub use receipts::first_delivery;

/// Why a signed request was refused. Callers answer 401 (or 400 for malformed headers) and write
/// nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    #[error("the signing secret is malformed")]
    BadSecret,
    #[error("the timestamp is outside the tolerated window")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// How far a signed timestamp may be from our clock (both ways), as Standard Webhooks and Stripe
/// recommend.
pub const TOLERANCE_SECS: i64 = 5 * 60;

fn check_timestamp(timestamp: i64, now_secs: i64) -> Result<(), SignatureError> {
    if (now_secs - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}
