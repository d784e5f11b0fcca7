//! Email campaigns: drafts, previews, test sends, sending and its controls.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page, Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CAMPAIGNS_READ, CAMPAIGNS_SEND, CAMPAIGNS_WRITE};
use crate::domain::campaigns::stats::{self, Count, Counts, Stats};
use crate::domain::campaigns::{self, Action, CampaignInput};
use crate::state::AppState;
use crate::store::email_campaigns::CampaignRow;

/// An email campaign.
#[derive(Object)]
pub struct CampaignOut {
    /// `cmp_…`
    pub id: String,
    pub name: String,
    /// `draft`, `scheduled`, `sending`, `sent`, `paused` or `cancelled`.
    pub status: String,
    pub from_name: Option<String>,
    pub from_email: String,
    pub reply_to: Option<String>,
    /// Template (minijinja).
    pub subject: String,
    /// Template (minijinja, HTML auto-escaped).
    pub html: String,
    /// Template; made from the HTML when absent.
    pub text: Option<String>,
    /// `{"segment_ids": [...], "tags": [...], "exclude_segment_ids": [...]}`.
    pub audience: Value,
    pub send_at: Option<OffsetDateTime>,
    pub timezone: Option<String>,
    /// Recipients with a message (once sending started).
    pub recipients: i64,
    pub sent: i64,
    /// Unsubscribed or suppressed by the time their batch went.
    pub skipped: i64,
    /// Audience members skipped because their address cannot be sent to.
    pub invalid: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
}

impl From<CampaignRow> for CampaignOut {
    fn from(r: CampaignRow) -> Self {
        Self {
            audience: serde_json::from_str(&r.audience).unwrap_or_default(),
            id: r.id,
            name: r.name,
            status: r.status,
            from_name: r.from_name,
            from_email: r.from_email,
            reply_to: r.reply_to,
            subject: r.subject,
            html: r.html,
            text: r.text_body,
            send_at: r.send_at.map(at),
            timezone: r.timezone,
            recipients: r.recipients,
            sent: r.sent,
            skipped: r.skipped,
            invalid: r.invalid,
            created_at: at(r.created_at),
            updated_at: at(r.updated_at),
            started_at: r.started_at.map(at),
            finished_at: r.finished_at.map(at),
        }
    }
}

/// A new campaign (a draft).
#[derive(Object)]
pub struct CampaignIn {
    pub name: Text,
    pub from_name: Option<Text>,
    pub from_email: Text,
    pub reply_to: Option<Text>,
    /// Template: `Hello {{ first_name | default("there") }}`.
    pub subject: Text,
    /// Template; customer fields (`first_name`, `email`, …) and `custom_fields.<key>`.
    pub html: String,
    /// Template; made from the HTML when absent.
    pub text: Option<String>,
    /// `{"segment_ids": [...], "tags": [...], "exclude_segment_ids": [...]}`.
    pub audience: Value,
    /// When to send (`POST …/send` schedules it); absent: at once.
    pub send_at: Option<OffsetDateTime>,
    /// IANA time zone the schedule was chosen in, for display.
    pub timezone: Option<Text>,
}

impl From<CampaignIn> for CampaignInput {
    fn from(c: CampaignIn) -> Self {
        Self {
            name: c.name.0,
            from_name: c.from_name.map(|t| t.0),
            from_email: c.from_email.0,
            reply_to: c.reply_to.map(|t| t.0),
            subject: c.subject.0,
            html: c.html,
            text: c.text,
            audience: c.audience,
            send_at: c.send_at.map(ms),
            timezone: c.timezone.map(|t| t.0),
        }
    }
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Changes to a draft: absent fields stay.
#[derive(Object)]
pub struct CampaignPatch {
    pub name: Option<Text>,
    pub from_name: Option<Text>,
    pub from_email: Option<Text>,
    pub reply_to: Option<Text>,
    pub subject: Option<Text>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub audience: Option<Value>,
    pub send_at: Option<OffsetDateTime>,
    pub timezone: Option<Text>,
}

impl CampaignPatch {
    fn apply(self, c: &mut CampaignInput) {
        let set = |dst: &mut String, v: Option<Text>| {
            if let Some(v) = v {
                *dst = v.0;
            }
        };
        set(&mut c.name, self.name);
        set(&mut c.from_email, self.from_email);
        set(&mut c.subject, self.subject);
        if let Some(v) = self.from_name {
            c.from_name = Some(v.0);
        }
        if let Some(v) = self.reply_to {
            c.reply_to = Some(v.0);
        }
        if let Some(v) = self.html {
            c.html = v;
        }
        if let Some(v) = self.text {
            c.text = Some(v);
        }
        if let Some(v) = self.audience {
            c.audience = v;
        }
        if let Some(v) = self.send_at {
            c.send_at = Some(ms(v));
        }
        if let Some(v) = self.timezone {
            c.timezone = Some(v.0);
        }
    }
}

#[derive(Object)]
pub struct CampaignList {
    pub data: Vec<CampaignOut>,
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct PreviewIn {
    /// `cus_…` whose fields fill the templates.
    pub customer_id: String,
}

/// The campaign rendered for one recipient.
#[derive(Object)]
pub struct PreviewOut {
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Object)]
pub struct TestSendIn {
    /// 1 to 10 addresses.
    pub to: Vec<String>,
    /// Render for this customer (`cus_…`); absent: every field falls back.
    pub customer_id: Option<String>,
}

#[derive(Object)]
pub struct TestSendOut {
    /// The addresses sent to (suppressed ones are skipped).
    pub sent_to: Vec<String>,
}

/// A count of events and of the distinct messages they happened to.
#[derive(Object)]
pub struct CountOut {
    pub total: i64,
    pub unique: i64,
}

impl From<Count> for CountOut {
    fn from(c: Count) -> Self {
        Self {
            total: c.total,
            unique: c.unique,
        }
    }
}

/// Figures of a campaign, or of one hour of it.
#[derive(Object)]
pub struct CountsOut {
    /// Messages handed to the provider.
    pub sent: i64,
    /// Messages the provider reported delivered (and not bounced since).
    pub delivered: i64,
    pub bounced: i64,
    pub complained: i64,
    /// Recipients who unsubscribed through the campaign's link.
    pub unsubscribed: i64,
    pub opened: CountOut,
    pub clicked: CountOut,
}

impl From<Counts> for CountsOut {
    fn from(c: Counts) -> Self {
        Self {
            sent: c.sent,
            delivered: c.delivered,
            bounced: c.bounced,
            complained: c.complained,
            unsubscribed: c.unsubscribed,
            opened: c.opened.into(),
            clicked: c.clicked.into(),
        }
    }
}

/// Rates from 0 to 1: delivery and bounce over sent; the others over sent minus bounced.
#[derive(Object)]
pub struct RatesOut {
    pub delivery: f64,
    pub bounce: f64,
    /// Unique opens.
    pub open: f64,
    /// Unique clicks.
    pub click: f64,
    pub complaint: f64,
    pub unsubscribe: f64,
}

/// One hour of a campaign (unique counts are distinct messages within the hour).
#[derive(Object)]
pub struct HourOut {
    pub hour: OffsetDateTime,
    #[oai(flatten)]
    pub counts: CountsOut,
}

/// A campaign's figures.
#[derive(Object)]
pub struct CampaignStatsOut {
    pub campaign_id: String,
    /// Recipients with a message.
    pub recipients: i64,
    /// Unsubscribed or suppressed by the time their batch went.
    pub skipped: i64,
    /// Audience members whose address cannot be sent to.
    pub invalid: i64,
    #[oai(flatten)]
    pub counts: CountsOut,
    pub rates: RatesOut,
    /// Hours with activity, oldest first.
    pub hourly: Vec<HourOut>,
}

/// 202 with the campaign: sending (or scheduled) in the background.
#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted.
    #[oai(status = 202)]
    Accepted(Json<CampaignOut>),
}

#[derive(Default)]
pub struct EmailCampaignsApi;

#[OpenApi(tag = "Tag::Email")]
impl EmailCampaignsApi {
    /// Create a draft campaign.
    #[oai(path = "/v1/email-campaigns", method = "post", operation_id = "createEmailCampaign")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<CampaignIn>,
    ) -> ApiResult<Created<CampaignOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_WRITE).await?;
        Ok(Created::Created(Json(
            campaigns::create(&state, &ctx, body.0.into()).await?.into(),
        )))
    }

    /// List campaigns, oldest first.
    #[oai(path = "/v1/email-campaigns", method = "get", operation_id = "listEmailCampaigns")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<CampaignList>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_READ).await?;
        let rows = campaigns::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |r: &CampaignRow| &r.id);
        Ok(Json(CampaignList { data, next_cursor }))
    }

    /// Get a campaign with its progress.
    #[oai(path = "/v1/email-campaigns/:id", method = "get", operation_id = "getEmailCampaign")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<CampaignOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_READ).await?;
        Ok(Json(campaigns::get(&state, &ctx, &path_id(&id)?).await?.into()))
    }

    /// Change a draft (409 once it was sent or scheduled).
    #[oai(
        path = "/v1/email-campaigns/:id",
        method = "patch",
        operation_id = "updateEmailCampaign"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<CampaignPatch>,
    ) -> ApiResult<Json<CampaignOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_WRITE).await?;
        let row = campaigns::update(&state, &ctx, &path_id(&id)?, |c| body.0.apply(c)).await?;
        Ok(Json(row.into()))
    }

    /// Delete a draft (409 otherwise).
    #[oai(
        path = "/v1/email-campaigns/:id",
        method = "delete",
        operation_id = "deleteEmailCampaign"
    )]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, CAMPAIGNS_WRITE).await?;
        campaigns::delete(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }

    /// Render the campaign for one customer.
    #[oai(
        path = "/v1/email-campaigns/:id/preview",
        method = "post",
        operation_id = "previewEmailCampaign"
    )]
    async fn preview(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<PreviewIn>,
    ) -> ApiResult<Json<PreviewOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_READ).await?;
        let customer = path_id(&body.0.customer_id)?;
        let r = campaigns::preview(&state, &ctx, &path_id(&id)?, &customer).await?;
        Ok(Json(PreviewOut {
            subject: r.subject,
            html: r.html,
            text: r.text,
        }))
    }

    /// Send the campaign now to a few addresses, with a `[Test]` subject.
    #[oai(
        path = "/v1/email-campaigns/:id/test-send",
        method = "post",
        operation_id = "testSendEmailCampaign"
    )]
    async fn test_send(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<TestSendIn>,
    ) -> ApiResult<Json<TestSendOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_SEND).await?;
        let customer = body.0.customer_id.as_deref().map(path_id).transpose()?;
        let sent_to = campaigns::test_send(&state, &ctx, &path_id(&id)?, &body.0.to, customer.as_ref()).await?;
        Ok(Json(TestSendOut { sent_to }))
    }

    /// Send the campaign (or schedule it for its `send_at`). 422 when nobody can be emailed.
    #[oai(
        path = "/v1/email-campaigns/:id/send",
        method = "post",
        operation_id = "sendEmailCampaign"
    )]
    async fn send(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<Accepted> {
        let ctx = auth.0.require(&state, CAMPAIGNS_SEND).await?;
        Ok(Accepted::Accepted(Json(
            campaigns::send(&state, &ctx, &path_id(&id)?).await?.into(),
        )))
    }

    /// The campaign's figures: sent, delivered, opened, clicked, bounced, complained,
    /// unsubscribed, unique counts, rates, and per hour.
    #[oai(
        path = "/v1/email-campaigns/:id/stats",
        method = "get",
        operation_id = "getEmailCampaignStats"
    )]
    async fn stats(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<CampaignStatsOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_READ).await?;
        let stats = stats::of(&state, &ctx, &path_id(&id)?).await?;
        Ok(Json(Self::stats_out(id.0, stats)))
    }

    /// Pause a scheduled or sending campaign.
    #[oai(
        path = "/v1/email-campaigns/:id/pause",
        method = "post",
        operation_id = "pauseEmailCampaign"
    )]
    async fn pause(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<CampaignOut>> {
        self.control(&state, &auth, &id, Action::Pause).await
    }

    /// Resume a paused campaign where it stopped.
    #[oai(
        path = "/v1/email-campaigns/:id/resume",
        method = "post",
        operation_id = "resumeEmailCampaign"
    )]
    async fn resume(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<CampaignOut>> {
        self.control(&state, &auth, &id, Action::Resume).await
    }

    /// Cancel a campaign that has not finished; what was sent stays sent.
    #[oai(
        path = "/v1/email-campaigns/:id/cancel",
        method = "post",
        operation_id = "cancelEmailCampaign"
    )]
    async fn cancel(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<CampaignOut>> {
        self.control(&state, &auth, &id, Action::Cancel).await
    }
}

impl EmailCampaignsApi {
    fn stats_out(id: String, s: Stats) -> CampaignStatsOut {
        CampaignStatsOut {
            campaign_id: id,
            recipients: s.recipients,
            skipped: s.skipped,
            invalid: s.invalid,
            counts: s.counts.into(),
            rates: RatesOut {
                delivery: s.rates.delivery,
                bounce: s.rates.bounce,
                open: s.rates.open,
                click: s.rates.click,
                complaint: s.rates.complaint,
                unsubscribe: s.rates.unsubscribe,
            },
            hourly: s
                .hourly
                .into_iter()
                .map(|(hour, counts)| HourOut {
                    hour: at(hour * 3_600_000),
                    counts: counts.into(),
                })
                .collect(),
        }
    }

    async fn control(
        &self,
        state: &Arc<AppState>,
        auth: &BearerAuth,
        id: &str,
        action: Action,
    ) -> ApiResult<Json<CampaignOut>> {
        let ctx = auth.0.require(state, CAMPAIGNS_SEND).await?;
        Ok(Json(
            campaigns::control(state, &ctx, &path_id(id)?, action).await?.into(),
        ))
    }
}
