//! CRM: customers, custom fields, tags, consent, tracked events and segments.

pub mod bulk;
pub mod consent;
pub mod custom_fields;
pub mod customers;
pub mod events;
pub mod export;
pub mod gdpr;
pub mod segments;
pub mod tags;
pub mod validate;
