//! Prefixed, typed identifiers (Stripe style: `ten_…`, `usr_…`).
//!
//! Every id is a UUIDv7 (time-ordered, so ids sort by creation and make good cursors)
//! rendered as 32 lowercase hex digits behind a resource prefix. Each resource has its own
//! newtype so an id of one kind can never be passed where another is expected.

use std::fmt;

/// Implemented by every id newtype.
pub trait PrefixedId: Sized {
    const PREFIX: &'static str;
    /// Wraps an id without checking it: for ids read back from our own database.
    fn from_raw(raw: String) -> Self;

    /// Parses a client-supplied id; `None` when the prefix or body is wrong.
    fn parse(s: &str) -> Option<Self> {
        let body = s.strip_prefix(Self::PREFIX)?.strip_prefix('_')?;
        let valid = body.len() == 32 && body.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        valid.then(|| Self::from_raw(s.to_owned()))
    }

    fn generate() -> Self {
        Self::from_raw(format!("{}_{}", Self::PREFIX, uuid::Uuid::now_v7().simple()))
    }
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl PrefixedId for $name {
            const PREFIX: &'static str = $prefix;
            fn from_raw(raw: String) -> Self {
                Self(raw)
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

define_id!(/// A tenant (a business using Switchboard).
    TenantId, "ten");
define_id!(/// A human user of a tenant.
    UserId, "usr");
define_id!(/// A machine credential of a tenant.
    ApiKeyId, "key");
define_id!(/// A pending invitation to join a tenant.
    InvitationId, "inv");
define_id!(/// A custom role.
    RoleId, "rol");
define_id!(/// An audit log entry.
    AuditLogId, "aud");
define_id!(/// A customer of a tenant.
    CustomerId, "cus");
define_id!(/// A custom field definition.
    CustomFieldId, "cfd");
define_id!(/// A tracked customer event.
    EventId, "evt");
define_id!(/// A domain event in the outbox.
    DomainEventId, "dev");
define_id!(/// A saved segment.
    SegmentId, "seg");
define_id!(/// A CSV import.
    ImportId, "imp");
define_id!(/// A background job.
    JobId, "job");
define_id!(/// A webhook endpoint.
    WebhookEndpointId, "wep");
define_id!(/// A webhook delivery: one event to one endpoint.
    WebhookDeliveryId, "wdl");
define_id!(/// One attempt of a webhook delivery.
    WebhookAttemptId, "wat");
define_id!(/// An email recorded by the dev outbox instead of being sent.
    OutboxEmailId, "obx");
define_id!(/// An email campaign.
    EmailCampaignId, "cmp");
define_id!(/// One email of a campaign to one recipient.
    EmailMessageId, "msg");
define_id!(/// Something that happened to a sent email (opened, clicked, delivered…).
    EmailEventId, "eev");
define_id!(/// A sender address a tenant verified (or is verifying).
    EmailSenderId, "snd");
define_id!(/// A tenant's uploaded plugin (all its versions).
    PluginId, "plg");
define_id!(/// A plugin installed in a tenant.
    InstallationId, "ins");
define_id!(/// One invocation of an installation.
    PluginRunId, "run");
define_id!(/// A line in an installation's log.
    PluginLogId, "log");
define_id!(/// A refresh token; its family id is the id of the first token in the chain.
    RefreshTokenId, "rtk");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_time() {
        let a = UserId::generate();
        let b = UserId::generate();
        assert_eq!(UserId::parse(a.as_str()), Some(a.clone()));
        assert!(a < b);
    }

    #[test]
    fn wrong_prefix_or_body_is_rejected() {
        let id = TenantId::generate();
        assert!(UserId::parse(id.as_str()).is_none());
        assert!(UserId::parse("usr_' OR 1=1 --").is_none());
        assert!(UserId::parse("usr_").is_none());
        assert!(UserId::parse(&id.as_str().to_uppercase()).is_none());
    }
}
