//! Email campaigns: drafts with templates and an audience, sent (now or at `send_at`) by a job
//! that walks the audience into message rows, then hands them to the provider in batches.
//!
//! States: draft → scheduled → sending → sent; sending or scheduled → paused → sending;
//! anything unfinished → cancelled.

pub mod audience;
pub mod send;
pub mod stats;
pub mod template;
pub mod tracking;
pub mod unsubscribe;

use serde_json::{json, Map, Value};

use self::audience::{AudienceSpec, Walk};
use self::template::{Rendered, Renderer};
use crate::domain::crm::consent;
use crate::domain::email::senders;
use crate::domain::{audit, page_limit, validate, DomainError, Result};
use crate::ids::{CustomerId, EmailCampaignId, PrefixedId};
use crate::jobs::NewJob;
use crate::providers::email::Email;
use crate::state::AppState;
use crate::store::email_campaigns::{CampaignRow, Fields};
use crate::store::{self, now_ms, Conn};
use crate::tenancy::TenantCtx;

/// Recipients per provider request unless configured.
pub const DEFAULT_BATCH_SIZE: i32 = 50;

/// A campaign as the client writes it.
#[derive(Debug, Clone, Default)]
pub struct CampaignInput {
    pub name: String,
    pub from_name: Option<String>,
    pub from_email: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: Option<String>,
    pub audience: Value,
    /// Epoch ms.
    pub send_at: Option<i64>,
    pub timezone: Option<String>,
}

/// Checked input, ready to store.
struct Checked {
    name: String,
    from_name: Option<String>,
    from_email: String,
    reply_to: Option<String>,
    audience: AudienceSpec,
    timezone: Option<String>,
}

async fn check(tx: &mut Conn, ctx: &TenantCtx, input: &CampaignInput) -> Result<Checked> {
    let name = validate::name("name", &input.name, 200)?;
    let from_name = input
        .from_name
        .as_deref()
        .map(|n| validate::name("from_name", n, 200))
        .transpose()?;
    let from_email = validate::email("from_email", &input.from_email)?;
    let reply_to = input
        .reply_to
        .as_deref()
        .map(|r| validate::email("reply_to", r))
        .transpose()?;
    if input.subject.trim().is_empty() {
        return Err(DomainError::invalid("subject", "must not be empty"));
    }
    template::check("subject", &input.subject)?;
    template::check("html", &input.html)?;
    if let Some(text) = &input.text {
        template::check("text", text)?;
    }
    let timezone = match &input.timezone {
        Some(tz) if tz.parse::<chrono_tz::Tz>().is_err() => {
            return Err(DomainError::invalid("timezone", "must be an IANA time zone"));
        }
        other => other.clone(),
    };
    let audience = AudienceSpec::parse(&input.audience)?;
    audience.check(tx, ctx).await?;
    Ok(Checked {
        name,
        from_name,
        from_email,
        reply_to,
        audience,
        timezone,
    })
}

fn fields<'a>(input: &'a CampaignInput, c: &'a Checked, audience: &'a str) -> Fields<'a> {
    Fields {
        name: &c.name,
        from_name: c.from_name.as_deref(),
        from_email: &c.from_email,
        reply_to: c.reply_to.as_deref(),
        subject: &input.subject,
        html: &input.html,
        text_body: input.text.as_deref(),
        audience,
        send_at: input.send_at,
        timezone: c.timezone.as_deref(),
    }
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn create(state: &AppState, ctx: &TenantCtx, input: CampaignInput) -> Result<CampaignRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let checked = check(&mut tx, ctx, &input).await?;
    let audience = checked.audience.to_json();
    let id = EmailCampaignId::generate();
    let batch_size = state.config.email_batch_size.clamp(1, 100) as i32;
    let row =
        store::email_campaigns::insert(&mut tx, ctx, &id, &fields(&input, &checked, &audience), batch_size).await?;
    audit::record(&mut tx, ctx, "email_campaign.created", "email_campaign", id.as_str()).await?;
    tx.commit().await?;
    Ok(row)
}

/// The campaign as input, for applying a patch over it.
pub fn as_input(row: &CampaignRow) -> Result<CampaignInput> {
    Ok(CampaignInput {
        name: row.name.clone(),
        from_name: row.from_name.clone(),
        from_email: row.from_email.clone(),
        reply_to: row.reply_to.clone(),
        subject: row.subject.clone(),
        html: row.html.clone(),
        text: row.text_body.clone(),
        audience: serde_json::to_value(AudienceSpec::from_stored(&row.audience)?).unwrap_or_default(),
        send_at: row.send_at,
        timezone: row.timezone.clone(),
    })
}

/// Rewrites a draft; a campaign past draft is a conflict.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, campaign = %id))]
pub async fn update(
    state: &AppState,
    ctx: &TenantCtx,
    id: &EmailCampaignId,
    patch: impl FnOnce(&mut CampaignInput),
) -> Result<CampaignRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let current = store::email_campaigns::get(&mut tx, ctx, id).await?;
    if current.status != "draft" {
        return Err(not_draft());
    }
    let mut input = as_input(&current)?;
    patch(&mut input);
    let checked = check(&mut tx, ctx, &input).await?;
    let audience = checked.audience.to_json();
    let row = store::email_campaigns::update_draft(&mut tx, ctx, id, &fields(&input, &checked, &audience)).await?;
    audit::record(&mut tx, ctx, "email_campaign.updated", "email_campaign", id.as_str()).await?;
    tx.commit().await?;
    Ok(row)
}

fn not_draft() -> DomainError {
    DomainError::Conflict {
        field: Some("status".into()),
        message: "only a draft campaign can be changed or deleted".into(),
    }
}

pub async fn get(state: &AppState, ctx: &TenantCtx, id: &EmailCampaignId) -> Result<CampaignRow> {
    let mut read = state.store.tenant_read(ctx).await?;
    let row = store::email_campaigns::get(&mut read, ctx, id).await?;
    read.commit().await?;
    Ok(row)
}

pub async fn list(
    state: &AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<CampaignRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::email_campaigns::page(&mut read, ctx, after, page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}

pub async fn delete(state: &AppState, ctx: &TenantCtx, id: &EmailCampaignId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    if !store::email_campaigns::delete_draft(&mut tx, ctx, id).await? {
        store::email_campaigns::get(&mut tx, ctx, id).await?;
        return Err(not_draft());
    }
    audit::record(&mut tx, ctx, "email_campaign.deleted", "email_campaign", id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

/// The template data of one customer: standard fields and custom fields.
pub async fn customer_data(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId) -> Result<Value> {
    let person = store::email_messages::person(tx, ctx, id.as_str()).await?;
    let custom = custom_values(tx, ctx, &[id.as_str()])
        .await?
        .remove(id.as_str())
        .unwrap_or_default();
    Ok(template::person_data(&person, custom))
}

/// Custom field values of the given customers, as template values.
pub async fn custom_values(
    tx: &mut Conn,
    ctx: &TenantCtx,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Map<String, Value>>> {
    let mut out: std::collections::HashMap<String, Map<String, Value>> = std::collections::HashMap::new();
    for v in store::customers::field_values(tx, ctx, ids).await? {
        let value = match (v.value_text, v.value_num) {
            (Some(t), _) => Value::from(t),
            (None, Some(n)) if n.fract() == 0.0 && n.abs() < 9e15 => Value::from(n as i64),
            (None, Some(n)) => Value::from(n),
            (None, None) => Value::Null,
        };
        out.entry(v.customer_id).or_default().insert(v.field_key, value);
    }
    Ok(out)
}

/// Renders the campaign for one customer.
pub async fn preview(
    state: &AppState,
    ctx: &TenantCtx,
    id: &EmailCampaignId,
    customer: &CustomerId,
) -> Result<Rendered> {
    let mut read = state.store.tenant_read(ctx).await?;
    let row = store::email_campaigns::get(&mut read, ctx, id).await?;
    let data = customer_data(&mut read, ctx, customer).await?;
    read.commit().await?;
    Renderer::new(&row.subject, &row.html, row.text_body.as_deref())?.render(&data)
}

/// The `From` header.
pub fn from_header(row: &CampaignRow) -> String {
    match &row.from_name {
        Some(name) => format!("{} <{}>", name.replace(['"', '<', '>'], ""), row.from_email),
        None => row.from_email.clone(),
    }
}

/// Sends the campaign now to the listed addresses (at most 10), rendered for `customer` when
/// given, with a `[Test]` subject. Suppressed addresses are skipped; answers those sent to.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, campaign = %id))]
pub async fn test_send(
    state: &AppState,
    ctx: &TenantCtx,
    id: &EmailCampaignId,
    to: &[String],
    customer: Option<&CustomerId>,
) -> Result<Vec<String>> {
    if to.is_empty() || to.len() > 10 {
        return Err(DomainError::invalid("to", "must list 1 to 10 addresses"));
    }
    let to = to
        .iter()
        .enumerate()
        .map(|(i, a)| validate::email(&format!("to[{i}]"), a))
        .collect::<Result<Vec<_>>>()?;
    let mut read = state.store.tenant_read(ctx).await?;
    let row = store::email_campaigns::get(&mut read, ctx, id).await?;
    senders::require_verified(&mut read, ctx, &row.from_email).await?;
    let data = match customer {
        Some(c) => customer_data(&mut read, ctx, c).await?,
        None => template::recipient_data(&[], Map::new()),
    };
    let mut reachable = Vec::with_capacity(to.len());
    for address in to {
        if consent::may_contact(&mut read, ctx, consent::EMAIL, &address, customer).await? {
            reachable.push(address);
        }
    }
    read.commit().await?;
    let rendered = Renderer::new(&row.subject, &row.html, row.text_body.as_deref())?.render(&data)?;
    let emails: Vec<Email> = reachable
        .iter()
        .map(|a| Email {
            from: from_header(&row),
            to: a.clone(),
            reply_to: row.reply_to.clone(),
            subject: format!("[Test] {}", rendered.subject),
            html: rendered.html.clone(),
            text: rendered.text.clone(),
            headers: Vec::new(),
            key: format!("test/{}/{}", id, uuid::Uuid::now_v7().simple()),
        })
        .collect();
    let provider = crate::domain::email::for_tenant(state, ctx).await?;
    provider
        .send(&emails, &format!("test/{}/{}", id, uuid::Uuid::now_v7().simple()))
        .await
        .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
    Ok(emails.into_iter().map(|e| e.to).collect())
}

/// Starts sending now, or schedules it for `send_at`. An audience with nobody reachable is
/// refused.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, campaign = %id))]
pub async fn send(state: &AppState, ctx: &TenantCtx, id: &EmailCampaignId) -> Result<CampaignRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::email_campaigns::get(&mut tx, ctx, id).await?;
    if row.status != "draft" {
        return Err(DomainError::Conflict {
            field: Some("status".into()),
            message: format!("the campaign is {}, not a draft", row.status),
        });
    }
    senders::require_verified(&mut tx, ctx, &row.from_email).await?;
    let walk = Walk::new(&mut tx, ctx, &AudienceSpec::from_stored(&row.audience)?).await?;
    if !walk.any_sendable(&mut tx, ctx).await? {
        return Err(DomainError::invalid(
            "audience",
            "matches no customer that can be emailed (none with a valid address, or all unsubscribed or suppressed)",
        ));
    }
    let now = now_ms();
    let (status, run_at) = match row.send_at {
        Some(at) if at > now => ("scheduled", at),
        _ => ("sending", now),
    };
    store::email_campaigns::transition(&mut tx, ctx, id, &["draft"], status).await?;
    enqueue(state, &mut tx, ctx, id, run_at).await?;
    audit::record(&mut tx, ctx, "email_campaign.sent", "email_campaign", id.as_str()).await?;
    let row = store::email_campaigns::get(&mut tx, ctx, id).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(row)
}

/// Queues a run of the send job.
async fn enqueue(state: &AppState, tx: &mut Conn, ctx: &TenantCtx, id: &EmailCampaignId, run_at: i64) -> Result<()> {
    let job = NewJob {
        tenant_id: Some(ctx.tenant_id.to_string()),
        kind: send::JOB_KIND,
        payload: json!({ "campaign_id": id }),
        idempotency_key: None,
    };
    state.jobs.enqueue_at(tx, &job, run_at).await?;
    Ok(())
}

/// Moves the campaign between states on the client's request: `pause`, `resume`, `cancel`.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, campaign = %id))]
pub async fn control(state: &AppState, ctx: &TenantCtx, id: &EmailCampaignId, action: Action) -> Result<CampaignRow> {
    let (from, to): (&[&str], &str) = match action {
        Action::Pause => (&["scheduled", "sending"], "paused"),
        Action::Resume => (&["paused"], "sending"),
        Action::Cancel => (&["draft", "scheduled", "sending", "paused"], "cancelled"),
    };
    let mut tx = state.store.tenant_tx(ctx).await?;
    if !store::email_campaigns::transition(&mut tx, ctx, id, from, to).await? {
        let row = store::email_campaigns::get(&mut tx, ctx, id).await?;
        return Err(DomainError::Conflict {
            field: Some("status".into()),
            message: format!("a {} campaign cannot be {}", row.status, action.done()),
        });
    }
    if matches!(action, Action::Resume) {
        enqueue(state, &mut tx, ctx, id, now_ms()).await?;
    }
    audit::record(
        &mut tx,
        ctx,
        &format!("email_campaign.{}", action.done()),
        "email_campaign",
        id.as_str(),
    )
    .await?;
    let row = store::email_campaigns::get(&mut tx, ctx, id).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(row)
}

#[derive(Debug, Clone, Copy)]
pub enum Action {
    Pause,
    Resume,
    Cancel,
}

impl Action {
    fn done(self) -> &'static str {
        match self {
            Action::Pause => "paused",
            Action::Resume => "resumed",
            Action::Cancel => "cancelled",
        }
    }
}
