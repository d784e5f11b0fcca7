//! Black-box tests of the API: one binary, many modules, each test with its own server and
//! database, run on SQLite or (with SWITCHBOARD_TEST_POSTGRES_URL) PostgreSQL.

mod api_keys;
mod audit;
mod auth;
mod bulk;
mod catalog_plugins;
mod customers;
mod email_campaigns;
mod email_providers;
mod email_senders;
mod email_tracking;
mod errors;
mod gdpr;
mod idempotency;
mod imports;
mod invitations;
mod isolation;
mod jobs;
mod one_trip;
mod openapi;
mod plugin_dispatch;
mod plugin_kv;
mod plugins;
mod resend_webhooks;
mod role_matrix;
mod roles;
mod savepoint;
mod segments;
mod service;
mod signup;
mod webhook_receipts;
mod webhook_retention;
mod webhooks;
mod welcome_series;
