//! The verticals' rules. Nothing here knows about HTTP.

pub mod api_keys;
pub mod audit;
pub mod campaigns;
pub mod crm;
pub mod email;
pub mod imports;
pub mod invitations;
pub mod messages;
pub mod outbox;
pub mod plugins;
pub mod principal;
pub mod profiles;
pub mod relay;
pub mod roles;
pub mod sessions;
pub mod tenants;
pub mod users;
pub mod validate;
pub mod webhooks;

use std::time::Duration;

use crate::auth::authz::AuthzError;
use crate::auth::jwt::JwtError;
use crate::auth::password::HashError;
use crate::store::StoreError;

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests")]
    RateLimited(Duration),
    #[error("the upload exceeds {0} bytes")]
    TooLarge(u64),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("feature disabled: {0}")]
    Disabled(&'static str),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Authz(#[from] AuthzError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Jwt(#[from] JwtError),
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DomainError::NotFound,
            StoreError::Conflict { field } => DomainError::Conflict {
                field: Some(field.to_owned()),
                message: format!("{field} is already in use"),
            },
            other => DomainError::Store(other),
        }
    }
}

impl From<sqlx::Error> for DomainError {
    fn from(e: sqlx::Error) -> Self {
        DomainError::Store(StoreError::Db(e))
    }
}

impl DomainError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Page size bounds shared by every list.
pub fn page_limit(limit: Option<u32>) -> i64 {
    limit.unwrap_or(50).clamp(1, 500) as i64
}
