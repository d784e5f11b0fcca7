//! Webhook routes: `POST /v1/hooks/{tenant}/{installation}/{route}` runs the installation's
//! transform with the raw request. There is no credential: the plugin verifies the sender. The
//! tenant in the URL must own the installation, or there is no such hook.

use std::sync::Arc;

use super::installations;
use super::invoke::{self, Trigger};
use crate::domain::{DomainError, Result};
use crate::ids::{InstallationId, PrefixedId, TenantId};
use crate::plugins::bindings::{HttpRequest, HttpResponse};
use crate::plugins::{Input, Outcome, Output};
use crate::state::AppState;
use crate::tenancy::{Actor, TenantCtx};

/// What the hook answers.
pub enum HookReply {
    /// The plugin's response, passed through.
    Response(HttpResponse),
    /// The plugin failed; the run log says why.
    Failed(Outcome),
}

pub async fn deliver(
    state: &Arc<AppState>,
    tenant: &str,
    installation: &str,
    request: HttpRequest,
) -> Result<HookReply> {
    let tenant = TenantId::parse(tenant).ok_or(DomainError::NotFound)?;
    let id = InstallationId::parse(installation).ok_or(DomainError::NotFound)?;
    let ctx = TenantCtx::new(tenant, Actor::System, None);
    // The run's slot first, then the connection the installation is read on, which the run
    // goes on with.
    let mut slot = invoke::Slot::take(state).await?;
    let mut conn = state.store.connection().await?;
    let loaded = installations::load_on(state, &mut conn, &ctx, &id).await?;
    if !loaded.enabled || !loaded.code.manifest.webhooks.contains(&request.route) {
        return Err(DomainError::NotFound);
    }
    slot.hold(conn);
    let input = Input::Transform(request);
    let (_, run) = invoke::run_in(state, &ctx, (&loaded, slot), Trigger::Webhook, input).await?;
    Ok(match (run.outcome, run.output) {
        (Outcome::Ok, Some(Output::Transform(response))) => HookReply::Response(response),
        (outcome, _) => HookReply::Failed(outcome),
    })
}
