//! Ids taken from request paths.

use super::problem::{ApiError, ApiResult};
use crate::ids::PrefixedId;

/// Parses a path id of the expected kind; a malformed id names nothing that exists, so it is a
/// 404 like a missing one.
pub fn path_id<T: PrefixedId>(raw: &str) -> ApiResult<T> {
    T::parse(raw).ok_or_else(ApiError::not_found)
}
