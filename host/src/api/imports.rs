//! CSV imports of customers.

use std::sync::Arc;

use poem::web::Data;
use poem::Body;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiRequest, ApiResponse, Multipart, Object, OpenApi};
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::at;
use super::security::BearerAuth;
use super::Tag;
use crate::auth::permissions::IMPORTS_WRITE;
use crate::domain::imports::{self, Options};
use crate::state::AppState;
use crate::store::imports::ImportRow;

/// An import and how far it has got.
#[derive(Object)]
pub struct ImportOut {
    /// `imp_…`
    pub id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// `create` or `upsert`.
    pub mode: String,
    /// Data rows processed so far.
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    /// Rows refused; `GET /v1/imports/{id}/errors` says why.
    pub failed: i64,
    /// Why the whole import failed, when it did.
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<ImportRow> for ImportOut {
    fn from(r: ImportRow) -> Self {
        Self {
            id: r.id,
            status: r.status,
            mode: r.mode,
            rows_done: r.rows_done,
            created: r.created,
            updated: r.updated,
            failed: r.failed,
            error: r.error,
            created_at: at(r.created_at),
            updated_at: at(r.updated_at),
        }
    }
}

/// A CSV file as a form upload, with the options as form fields.
#[derive(Multipart)]
pub struct ImportForm {
    /// The CSV file.
    pub file: Upload,
    pub mapping: Option<String>,
    pub mode: Option<String>,
}

#[derive(ApiRequest)]
pub enum ImportBody {
    /// The CSV file as the request body.
    #[oai(content_type = "text/csv")]
    Csv(Binary<Body>),
    Form(ImportForm),
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Queued: poll `GET /v1/imports/{id}` for progress.
    #[oai(status = 202)]
    Accepted(Json<ImportOut>),
}

#[derive(ApiResponse)]
pub enum ErrorsCsv {
    /// `row,column,reason`, one line per refused field or row.
    #[oai(status = 200, content_type = "text/csv")]
    Csv(Binary<Vec<u8>>),
}

#[derive(Default)]
pub struct ImportsApi;

#[OpenApi(tag = "Tag::Imports")]
impl ImportsApi {
    /// Import customers from a CSV file (`text/csv` body or a `file` form field).
    #[oai(path = "/v1/imports", method = "post", operation_id = "createImport")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: ImportBody,
        /// JSON `{"<csv header>": "<target>"}`; targets are standard fields (`email`, `phone`,
        /// `first_name`, `last_name`, `locale`, `timezone`, `external_id`), `tags` or
        /// `custom_fields.<key>`. Default: headers named like a standard field.
        mapping: Query<Option<String>>,
        /// `create` (default: existing identifiers are row errors) or `upsert`.
        mode: Query<Option<String>>,
    ) -> ApiResult<Accepted> {
        let ctx = auth.0.require(&state, IMPORTS_WRITE).await?;
        let options = Options {
            mode: mode.0,
            mapping: mapping.0,
        };
        let row = match body {
            ImportBody::Csv(csv) => imports::create(&state, &ctx, options, csv.0.into_async_read()).await?,
            ImportBody::Form(form) => {
                let options = Options {
                    mode: form.mode.or(options.mode),
                    mapping: form.mapping.or(options.mapping),
                };
                imports::create(&state, &ctx, options, form.file.into_async_read()).await?
            }
        };
        Ok(Accepted::Accepted(Json(row.into())))
    }

    /// An import's progress.
    #[oai(path = "/v1/imports/:id", method = "get", operation_id = "getImport")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<Json<ImportOut>> {
        let ctx = auth.0.require(&state, IMPORTS_WRITE).await?;
        Ok(Json(imports::get(&state, &ctx, &path_id(&id)?).await?.into()))
    }

    /// The rows an import refused, as CSV.
    #[oai(path = "/v1/imports/:id/errors", method = "get", operation_id = "getImportErrors")]
    async fn errors(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<ErrorsCsv> {
        let ctx = auth.0.require(&state, IMPORTS_WRITE).await?;
        Ok(ErrorsCsv::Csv(Binary(
            imports::errors_csv(&state, &ctx, &path_id(&id)?).await?,
        )))
    }
}
