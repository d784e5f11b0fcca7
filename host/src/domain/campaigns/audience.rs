//! A campaign's audience: `{"segment_ids": [...], "tags": [...], "exclude_segment_ids": [...]}`,
//! the union of segments and tags minus the excluded segments, compiled to SQL per walk.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::crm::segments;
use crate::domain::{validate, DomainError, Result};
use crate::ids::{PrefixedId, SegmentId};
use crate::store::email_messages::{self, Audience, Recipient};
use crate::store::sql::Sql;
use crate::store::Conn;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AudienceSpec {
    #[serde(default)]
    pub segment_ids: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub exclude_segment_ids: Vec<String>,
}

impl AudienceSpec {
    /// Parses the client's JSON; segment ids must be well-formed (existence is checked by
    /// [`AudienceSpec::check`]).
    pub fn parse(raw: &Value) -> Result<Self> {
        let spec: AudienceSpec = serde_json::from_value(raw.clone()).map_err(|_| {
            DomainError::invalid(
                "audience",
                "must be {\"segment_ids\": [...], \"tags\": [...], \"exclude_segment_ids\": [...]}",
            )
        })?;
        if spec.segment_ids.len() + spec.tags.len() + spec.exclude_segment_ids.len() > 100 {
            return Err(DomainError::invalid("audience", "at most 100 segments and tags"));
        }
        Ok(spec)
    }

    pub fn from_stored(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)).into())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks that every segment exists in this tenant (naming the field otherwise).
    pub async fn check(&self, tx: &mut Conn, ctx: &TenantCtx) -> Result<()> {
        self.compiled(tx, ctx).await.map(|_| ())
    }

    async fn compiled(&self, tx: &mut Conn, ctx: &TenantCtx) -> Result<(Vec<Sql>, Vec<Sql>)> {
        let mut compile = async |field: &str, ids: &[String]| -> Result<Vec<Sql>> {
            let mut out = Vec::with_capacity(ids.len());
            for raw in ids {
                let unknown = || DomainError::invalid(field, format!("no segment {raw}"));
                let id = SegmentId::parse(raw).ok_or_else(unknown)?;
                match segments::predicate_of(tx, ctx, &id).await {
                    Err(DomainError::NotFound) => return Err(unknown()),
                    other => out.push(other?),
                }
            }
            Ok(out)
        };
        let include = compile("audience.segment_ids", &self.segment_ids).await?;
        let exclude = compile("audience.exclude_segment_ids", &self.exclude_segment_ids).await?;
        Ok((include, exclude))
    }
}

/// Walks the reachable audience a page at a time.
pub struct Walk {
    include: Vec<Sql>,
    exclude: Vec<Sql>,
    tags: Vec<String>,
}

impl Walk {
    pub async fn new(tx: &mut Conn, ctx: &TenantCtx, spec: &AudienceSpec) -> Result<Self> {
        let (include, exclude) = spec.compiled(tx, ctx).await?;
        Ok(Self {
            include,
            exclude,
            tags: spec.tags.clone(),
        })
    }

    /// The next `limit` reachable recipients after customer `after`.
    pub async fn page(&self, conn: &mut Conn, ctx: &TenantCtx, after: &str, limit: i64) -> Result<Vec<Recipient>> {
        let audience = Audience {
            include: &self.include,
            tags: &self.tags,
            exclude: &self.exclude,
        };
        Ok(email_messages::audience_page(conn, ctx, &audience, after, limit).await?)
    }
}

impl Walk {
    /// Whether anybody in the audience can be emailed: reachable, with a sendable address.
    pub async fn any_sendable(&self, conn: &mut Conn, ctx: &TenantCtx) -> Result<bool> {
        const PAGE: i64 = 1000;
        let mut after = String::new();
        loop {
            let page = self.page(conn, ctx, &after, PAGE).await?;
            if page.iter().any(|r| validate::sendable_email(&r.email)) {
                return Ok(true);
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = last.id.clone(),
                _ => return Ok(false),
            }
        }
    }
}
