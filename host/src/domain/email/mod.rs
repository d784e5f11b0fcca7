//! Email: which provider a tenant sends through, its own provider account, the dev outbox,
//! signed links, tracking domains, verified senders and what providers report back.

pub mod links;
pub mod message_events;
pub mod provider;
pub mod recorder;
pub mod resend_events;
pub mod senders;
pub mod tracking_domain;

pub use provider::{for_tenant, OutboxEmail, ProviderSettings};
