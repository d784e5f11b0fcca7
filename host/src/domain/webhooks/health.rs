//! Endpoint health: a success ends an endpoint's run of failures; an endpoint that has failed
//! without a single success for `webhooks_disable_after_secs` is disabled, and the tenant is
//! told by a `webhook_endpoint.disabled` event (which its other endpoints may receive) and an
//! audit entry.

use serde_json::json;

use crate::domain::{audit, outbox, Result};
use crate::ids::{PrefixedId, TenantId};
use crate::state::AppState;
use crate::store::{webhook_endpoints, Conn};
use crate::tenancy::{Actor, TenantCtx};

pub const DISABLED_FOR_FAILURES: &str = "failing continuously";

/// Records a batch's outcome per endpoint (an endpoint with any success is healthy) and
/// disables the endpoints failing for too long, in the caller's transaction.
pub async fn record(state: &AppState, tx: &mut Conn, succeeded: &[&str], failed: &[&str], now: i64) -> Result<()> {
    let mut healthy = succeeded.to_vec();
    healthy.sort_unstable();
    healthy.dedup();
    let mut failing: Vec<&str> = failed
        .iter()
        .copied()
        .filter(|id| healthy.binary_search(id).is_err())
        .collect();
    failing.sort_unstable();
    failing.dedup();
    webhook_endpoints::record_health(tx, &healthy, &failing, now).await?;
    let window_ms = state.config.webhooks_disable_after_secs.saturating_mul(1000) as i64;
    for endpoint in webhook_endpoints::failing_since_before(tx, &failing, now - window_ms).await? {
        let ctx = TenantCtx::new(TenantId::from_raw(endpoint.tenant_id.clone()), Actor::System, None);
        webhook_endpoints::disable(tx, &ctx, &endpoint.id, DISABLED_FOR_FAILURES).await?;
        let data = json!({
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "reason": DISABLED_FOR_FAILURES,
            "failing_since": crate::domain::webhooks::envelope::rfc3339(endpoint.failing_since.unwrap_or(now)),
        });
        outbox::emit(tx, &ctx, outbox::WEBHOOK_ENDPOINT_DISABLED, &data).await?;
        audit::record(tx, &ctx, "webhook_endpoint.disabled", "webhook_endpoint", &endpoint.id).await?;
        tracing::warn!(tenant = %ctx.tenant_id, endpoint = %endpoint.id, "webhook endpoint disabled after failing continuously");
    }
    Ok(())
}
