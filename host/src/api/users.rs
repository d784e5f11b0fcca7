//! The tenant's users.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{USERS_READ, USERS_WRITE};
use crate::domain::users;
use crate::state::AppState;
use crate::store::users::UserRow;

/// A person who can log in to the tenant.
#[derive(Object)]
pub struct UserOut {
    /// `usr_…`
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<UserRow> for UserOut {
    fn from(u: UserRow) -> Self {
        Self {
            id: u.id,
            tenant_id: u.tenant_id,
            email: u.email,
            name: u.name,
            role: u.role,
            created_at: at(u.created_at),
            updated_at: at(u.updated_at),
        }
    }
}

#[derive(Object)]
pub struct UserList {
    pub data: Vec<UserOut>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct UserPatch {
    /// A built-in or custom role name.
    pub role: Text,
}

#[derive(Default)]
pub struct UsersApi;

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// List the tenant's users.
    #[oai(path = "/v1/users", method = "get", operation_id = "listUsers")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// Id of the last user of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<UserList>> {
        let ctx = auth.0.require(&state, USERS_READ).await?;
        let rows = users::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |u| &u.id);
        Ok(Json(UserList { data, next_cursor }))
    }

    /// Get one user.
    #[oai(path = "/v1/users/:id", method = "get", operation_id = "getUser")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<Json<UserOut>> {
        let ctx = auth.0.require(&state, USERS_READ).await?;
        Ok(Json(users::get(&state, &ctx, &path_id(&id)?).await?.into()))
    }

    /// Change a user's role. You can grant only roles whose permissions you hold.
    #[oai(path = "/v1/users/:id", method = "patch", operation_id = "updateUser")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<UserPatch>,
    ) -> ApiResult<Json<UserOut>> {
        let ctx = auth.0.require(&state, USERS_WRITE).await?;
        Ok(Json(
            users::set_role(&state, &ctx, &path_id(&id)?, &body.role).await?.into(),
        ))
    }

    /// Remove a user from the tenant.
    #[oai(path = "/v1/users/:id", method = "delete", operation_id = "deleteUser")]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, USERS_WRITE).await?;
        users::remove(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }
}
