//! Email: which provider a tenant sends through, its own provider account, the dev outbox.

pub mod provider;

pub use provider::{for_tenant, OutboxEmail, ProviderSettings};
