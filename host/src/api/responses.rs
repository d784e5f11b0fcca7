//! Small shared response shapes and conversions.

use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::ApiResponse;
use time::OffsetDateTime;

/// 201 with the created resource.
#[derive(ApiResponse)]
pub enum Created<T: ToJSON + ParseFromJSON> {
    /// Created.
    #[oai(status = 201)]
    Created(Json<T>),
}

/// 204 with no body.
#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

/// Database milliseconds to an RFC 3339 timestamp.
pub fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// One page of a list: the rows converted for output, and the cursor for the next page (the
/// last row's id when the page is full).
pub fn page<R, O: From<R>>(rows: Vec<R>, limit: Option<u32>, id: impl Fn(&R) -> &str) -> (Vec<O>, Option<String>) {
    let full = rows.len() as i64 >= crate::domain::page_limit(limit);
    let next = full.then(|| rows.last().map(|r| id(r).to_owned())).flatten();
    (rows.into_iter().map(O::from).collect(), next)
}
