//! CRM: customers, custom fields, tags, consent and tracked events.

pub mod bulk;
pub mod consent;
pub mod custom_fields;
pub mod customers;
pub mod events;
pub mod export;
pub mod gdpr;
pub mod tags;
pub mod validate;
