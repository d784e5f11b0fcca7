//! The HTTP API: thin poem-openapi handlers that parse, authorize, call `domain` and convert.
//! No SQL here.

pub mod api_keys;
pub mod audit_logs;
pub mod auth;
pub mod consent;
pub mod custom_fields;
pub mod customers;
pub mod email_campaigns;
pub mod email_provider;
pub mod email_senders;
pub mod event_types;
pub mod events;
pub mod gdpr;
pub mod hooks;
pub mod html;
pub mod imports;
pub mod installations;
pub mod invitations;
pub mod jobs;
pub mod me;
pub mod path_id;
pub mod plugins;
pub mod problem;
pub mod resend_webhooks;
pub mod responses;
pub mod roles;
pub mod security;
pub mod segments;
pub mod service;
pub mod signup;
pub mod tags;
pub mod tenant;
pub mod text;
pub mod tracking;
pub mod unsubscribe;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum Tag {
    /// Liveness and readiness.
    Service,
    /// Creating tenants.
    Signup,
    /// Logging in and out, and refreshing access tokens.
    Auth,
    /// The caller's own identity.
    Me,
    /// The tenant's settings.
    Tenant,
    /// The tenant's users.
    Users,
    /// Inviting people to the tenant.
    Invitations,
    /// Machine credentials.
    ApiKeys,
    /// Roles and permissions.
    Roles,
    /// Who changed what, and when.
    AuditLogs,
    /// The people a tenant talks to.
    Customers,
    /// Tracked events, timelines and the domain-event outbox.
    Events,
    /// Saved rule trees over customers: counts and previews.
    Segments,
    /// Importing customers from CSV files.
    Imports,
    /// Background jobs and their dead letters.
    Jobs,
    /// Outgoing webhooks: endpoints, the event catalog, the delivery log and replays.
    Webhooks,
    /// Email providers, the dev outbox, and email campaigns.
    Email,
    /// WebAssembly plugins: the catalog, uploads, installations, runs and logs.
    Plugins,
}

/// Tuples of APIs are themselves APIs; grouped by area so each stays within `Default`'s arity.
pub type Apis = (PlatformApis, CrmApis, WebhookApis, EmailApis, PluginApis);

pub type PlatformApis = (
    service::ServiceApi,
    signup::SignupApi,
    auth::AuthApi,
    me::MeApi,
    tenant::TenantApi,
    users::UsersApi,
    invitations::InvitationsApi,
    api_keys::ApiKeysApi,
    roles::RolesApi,
    audit_logs::AuditLogsApi,
    jobs::JobsApi,
);

pub type CrmApis = (
    customers::CustomersApi,
    custom_fields::CustomFieldsApi,
    tags::TagsApi,
    consent::ConsentApi,
    events::EventsApi,
    gdpr::GdprApi,
    segments::SegmentsApi,
    imports::ImportsApi,
);

pub type WebhookApis = (
    webhooks::WebhooksApi,
    webhook_deliveries::WebhookDeliveriesApi,
    event_types::EventTypesApi,
);

pub type EmailApis = (
    email_provider::EmailProviderApi,
    email_campaigns::EmailCampaignsApi,
    email_senders::EmailSendersApi,
    tracking::TrackingApi,
    unsubscribe::UnsubscribeApi,
);

pub type PluginApis = (plugins::PluginsApi, installations::InstallationsApi);

/// The OpenAPI service; `switchboard openapi` prints its spec, which is checked in.
pub fn service(public_url: &str) -> OpenApiService<Apis, event_types::EventWebhooks> {
    OpenApiService::new(Apis::default(), "Switchboard", env!("CARGO_PKG_VERSION"))
        .webhooks::<event_types::EventWebhooks>()
        .description("The Switchboard customer-engagement platform API. Errors are RFC 9457 problem+json.")
        .server(public_url)
}
