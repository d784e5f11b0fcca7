//! Identity and access: credentials, tokens, permissions and the casbin enforcer.

pub mod authz;
pub mod jwt;
pub mod password;
pub mod permissions;
pub mod rate_limit;
pub mod secrets;
