//! The dev outbox: when no provider is configured, emails are recorded in the database
//! (`GET /v1/outbox` shows them) instead of being sent. Keyed like the real providers, so a
//! retried batch records each email once.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{Email, EmailProvider, SendError};
use crate::store::{self, Store};
use crate::tenancy::TenantCtx;

pub struct Outbox {
    store: Store,
    ctx: TenantCtx,
}

impl Outbox {
    pub fn new(store: Store, ctx: TenantCtx) -> Self {
        Self { store, ctx }
    }

    async fn record(&self, emails: &[Email]) -> Result<Vec<String>, store::StoreError> {
        let mut tx = self.store.tenant_tx(&self.ctx).await?;
        let mut ids = Vec::with_capacity(emails.len());
        for email in emails {
            ids.push(store::email_outbox::record(&mut tx, &self.ctx, email).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }
}

impl EmailProvider for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn send<'a>(&'a self, emails: &'a [Email], _batch_key: &'a str) -> BoxFuture<'a, Result<Vec<String>, SendError>> {
        async move {
            self.record(emails)
                .await
                .map_err(|e| SendError::Unavailable(e.to_string()))
        }
        .boxed()
    }
}
