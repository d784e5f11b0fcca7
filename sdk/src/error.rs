//! One error type for handlers, so `?` works on host calls, JSON and plain messages alike.

use std::fmt;

use crate::bindings::switchboard::plugin::types::HostError;

/// Why a handler failed; the host records it as the run's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Whether a host call was refused for good, so retrying the handler cannot change it:
    /// `denied` (a capability not granted; for `send_message`, a recipient who unsubscribed
    /// from the channel or whose address is suppressed) or `invalid` (such as a customer with
    /// no address on the channel).
    pub fn is_refusal(&self) -> bool {
        self.0.starts_with("denied: ") || self.0.starts_with("invalid: ")
    }
}

impl From<HostError> for Error {
    fn from(e: HostError) -> Self {
        Error(match e {
            HostError::Denied(m) => format!("denied: {m}"),
            HostError::NotFound => "not found".to_owned(),
            HostError::Invalid(m) => format!("invalid: {m}"),
            HostError::Quota(m) => format!("quota: {m}"),
            HostError::Unavailable(m) => format!("unavailable: {m}"),
        })
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(format!("json: {e}"))
    }
}

impl From<String> for Error {
    fn from(e: String) -> Self {
        Error(e)
    }
}

impl From<&str> for Error {
    fn from(e: &str) -> Self {
        Error(e.to_owned())
    }
}
