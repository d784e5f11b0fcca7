//! Roles and permissions.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::problem::ApiResult;
use super::responses::{Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{self, ROLES_READ, ROLES_WRITE};
use crate::domain::roles::{self, Role};
use crate::state::AppState;

#[derive(Object)]
pub struct RoleOut {
    pub name: String,
    pub description: Option<String>,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    /// `object:action` permissions.
    pub permissions: Vec<String>,
}

impl From<Role> for RoleOut {
    fn from(r: Role) -> Self {
        Self {
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            permissions: r.permissions,
        }
    }
}

#[derive(Object)]
pub struct RoleIn {
    /// 1 to 50 of a-z, 0-9, `_` and `-`; not a built-in role's name.
    pub name: Text,
    pub description: Option<Text>,
    /// Permissions from `GET /v1/permissions`; you must hold each of them.
    pub permissions: Vec<Text>,
}

#[derive(Object)]
pub struct RoleList {
    pub data: Vec<RoleOut>,
}

#[derive(Object)]
pub struct PermissionOut {
    /// `object:action`
    pub name: String,
    pub description: String,
}

#[derive(Object)]
pub struct PermissionList {
    pub data: Vec<PermissionOut>,
}

#[derive(Default)]
pub struct RolesApi;

#[OpenApi(tag = "Tag::Roles")]
impl RolesApi {
    /// List built-in and custom roles with their permissions.
    #[oai(path = "/v1/roles", method = "get", operation_id = "listRoles")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<RoleList>> {
        let ctx = auth.0.require(&state, ROLES_READ).await?;
        Ok(Json(RoleList {
            data: roles::list(&state, &ctx).await?.into_iter().map(Into::into).collect(),
        }))
    }

    /// Create a custom role from permissions you hold.
    #[oai(path = "/v1/roles", method = "post", operation_id = "createRole")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<RoleIn>,
    ) -> ApiResult<Created<RoleOut>> {
        let ctx = auth.0.require(&state, ROLES_WRITE).await?;
        let permissions: Vec<String> = body.permissions.iter().map(|p| p.0.clone()).collect();
        let role = roles::create(&state, &ctx, &body.name, body.description.as_deref(), &permissions).await?;
        Ok(Created::Created(Json(role.into())))
    }

    /// Delete a custom role nobody holds.
    #[oai(path = "/v1/roles/:name", method = "delete", operation_id = "deleteRole")]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, name: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, ROLES_WRITE).await?;
        roles::delete(&state, &ctx, &name).await?;
        Ok(NoContent::NoContent)
    }

    /// List every permission a role can hold.
    #[oai(path = "/v1/permissions", method = "get", operation_id = "listPermissions")]
    async fn permissions(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<PermissionList>> {
        auth.0.require(&state, ROLES_READ).await?;
        let data = permissions::ALL
            .iter()
            .map(|(p, d)| PermissionOut {
                name: p.to_string(),
                description: d.to_string(),
            })
            .collect();
        Ok(Json(PermissionList { data }))
    }
}
