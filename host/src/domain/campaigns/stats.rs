//! A campaign's figures: what was sent, delivered, opened, clicked, bounced, complained about
//! and unsubscribed from, unique and total, with rates, and the same per hour.
//!
//! Rates follow the usual definitions: delivery and bounce rates over messages sent; open,
//! click, complaint and unsubscribe rates over messages sent that did not bounce.

use std::collections::BTreeMap;

use crate::domain::Result;
use crate::ids::EmailCampaignId;
use crate::state::AppState;
use crate::store::{self, email_events::KindCount};
use crate::tenancy::TenantCtx;

/// How often something happened, and to how many messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub total: i64,
    pub unique: i64,
}

/// Counts per kind of event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub sent: i64,
    pub delivered: i64,
    pub bounced: i64,
    pub complained: i64,
    pub unsubscribed: i64,
    pub opened: Count,
    pub clicked: Count,
}

impl Counts {
    fn add(&mut self, row: &KindCount) {
        let count = Count {
            total: row.total,
            unique: row.messages,
        };
        match row.kind.as_str() {
            "sent" => self.sent += row.messages,
            "delivered" => self.delivered += row.messages,
            "bounced" => self.bounced += row.messages,
            "complained" => self.complained += row.messages,
            "unsubscribed" => self.unsubscribed += row.messages,
            "opened" => self.opened = count,
            "clicked" => self.clicked = count,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub delivery: f64,
    pub bounce: f64,
    pub open: f64,
    pub click: f64,
    pub complaint: f64,
    pub unsubscribe: f64,
}

pub struct Stats {
    pub recipients: i64,
    pub skipped: i64,
    pub invalid: i64,
    pub counts: Counts,
    pub rates: Rates,
    /// Hours since the epoch, oldest first.
    pub hourly: Vec<(i64, Counts)>,
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn rates(c: &Counts) -> Rates {
    let reached = c.sent - c.bounced;
    Rates {
        delivery: ratio(c.delivered, c.sent),
        bounce: ratio(c.bounced, c.sent),
        open: ratio(c.opened.unique, reached),
        click: ratio(c.clicked.unique, reached),
        complaint: ratio(c.complained, reached),
        unsubscribe: ratio(c.unsubscribed, reached),
    }
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, campaign = %id))]
pub async fn of(state: &AppState, ctx: &TenantCtx, id: &EmailCampaignId) -> Result<Stats> {
    let mut read = state.store.tenant_read(ctx).await?;
    let campaign = store::email_campaigns::get(&mut read, ctx, id).await?;
    let messages = store::email_events::message_counts(&mut read, ctx, id.as_str()).await?;
    let totals = store::email_events::totals(&mut read, ctx, id.as_str()).await?;
    let hourly_rows = store::email_events::hourly(&mut read, ctx, id.as_str()).await?;
    read.commit().await?;
    let mut counts = Counts::default();
    for row in &totals {
        counts.add(row);
    }
    // Delivery outcomes come from each message's final status, so a message that was
    // delivered and later bounced counts once, as bounced.
    counts.sent = messages.sent;
    counts.delivered = messages.delivered;
    counts.bounced = messages.bounced;
    counts.complained = messages.complained;
    let mut hours: BTreeMap<i64, Counts> = BTreeMap::new();
    for row in &hourly_rows {
        if let Some(hour) = row.hour {
            hours.entry(hour).or_default().add(row);
        }
    }
    Ok(Stats {
        recipients: campaign.recipients,
        skipped: campaign.skipped,
        invalid: campaign.invalid,
        rates: rates(&counts),
        counts,
        hourly: hours.into_iter().collect(),
    })
}
