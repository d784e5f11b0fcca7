//! Walks every route with every built-in role, as an API key and as a logged-in user, and checks
//! the answer against the permission each role is meant to have.

use std::collections::{BTreeSet, HashSet};

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{Session, TestServer};

/// `(operationId, method, path, body, permission)`; `None` marks a public operation.
type Route = (&'static str, Method, String, Option<Value>, Option<&'static str>);

#[rustfmt::skip]
fn routes() -> Vec<Route> {
    let missing_user = "usr_00000000000070008000000000000000";
    let missing_customer = "cus_00000000000070008000000000000000";
    let missing_segment = "seg_00000000000070008000000000000000";
    let missing_endpoint = "wep_00000000000070008000000000000000";
    let missing_delivery = "wdl_00000000000070008000000000000000";
    let missing_job = "job_00000000000070008000000000000000";
    let missing_campaign = "cmp_00000000000070008000000000000000";
    let missing_installation = "ins_00000000000070008000000000000000";
    let rules = json!({"field": "email", "op": "is_set"});
    let unique = || uuid::Uuid::now_v7().simple().to_string();
    vec![
        ("getMe", Method::GET, "/v1/me".into(), None, Some("profile:read")),
        ("getTenant", Method::GET, "/v1/tenant".into(), None, Some("tenant:read")),
        (
            "updateTenant",
            Method::PATCH,
            "/v1/tenant".into(),
            Some(json!({"name": "Renamed"})),
            Some("tenant:write"),
        ),
        ("listUsers", Method::GET, "/v1/users".into(), None, Some("users:read")),
        (
            "getUser",
            Method::GET,
            format!("/v1/users/{missing_user}"),
            None,
            Some("users:read"),
        ),
        (
            "updateUser",
            Method::PATCH,
            format!("/v1/users/{missing_user}"),
            Some(json!({"role": "viewer"})),
            Some("users:write"),
        ),
        (
            "deleteUser",
            Method::DELETE,
            format!("/v1/users/{missing_user}"),
            None,
            Some("users:write"),
        ),
        (
            "createInvitation",
            Method::POST,
            "/v1/invitations".into(),
            Some(json!({"email": format!("{}@m.example", unique()), "role": "viewer"})),
            Some("invitations:write"),
        ),
        (
            "listInvitations",
            Method::GET,
            "/v1/invitations".into(),
            None,
            Some("invitations:read"),
        ),
        (
            "revokeInvitation",
            Method::DELETE,
            "/v1/invitations/inv_00000000000070008000000000000000".into(),
            None,
            Some("invitations:write"),
        ),
        (
            "createApiKey",
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"name": "matrix", "role": "viewer"})),
            Some("api_keys:write"),
        ),
        (
            "listApiKeys",
            Method::GET,
            "/v1/api-keys".into(),
            None,
            Some("api_keys:read"),
        ),
        (
            "revokeApiKey",
            Method::DELETE,
            "/v1/api-keys/key_00000000000070008000000000000000".into(),
            None,
            Some("api_keys:write"),
        ),
        ("listRoles", Method::GET, "/v1/roles".into(), None, Some("roles:read")),
        (
            "createRole",
            Method::POST,
            "/v1/roles".into(),
            Some(json!({"name": format!("r{}", unique()), "permissions": ["profile:read"]})),
            Some("roles:write"),
        ),
        (
            "deleteRole",
            Method::DELETE,
            "/v1/roles/none-such".into(),
            None,
            Some("roles:write"),
        ),
        (
            "listPermissions",
            Method::GET,
            "/v1/permissions".into(),
            None,
            Some("roles:read"),
        ),
        (
            "listAuditLogs",
            Method::GET,
            "/v1/audit-logs".into(),
            None,
            Some("audit_logs:read"),
        ),
        ("createCustomer", Method::POST, "/v1/customers".into(), Some(json!({"first_name": "Matrix"})), Some("customers:write")),
        ("upsertCustomer", Method::POST, "/v1/customers:upsert".into(), Some(json!({"external_id": unique()})), Some("customers:write")),
        ("listCustomers", Method::GET, "/v1/customers".into(), None, Some("customers:read")),
        ("getCustomer", Method::GET, format!("/v1/customers/{missing_customer}"), None, Some("customers:read")),
        ("updateCustomer", Method::PATCH, format!("/v1/customers/{missing_customer}"), Some(json!({"first_name": "x"})), Some("customers:write")),
        ("deleteCustomer", Method::DELETE, format!("/v1/customers/{missing_customer}"), None, Some("customers:write")),
        ("bulkTagCustomers", Method::POST, "/v1/customers/tags".into(), Some(json!({"add": ["m"], "customer_ids": [missing_customer]})), Some("customers:write")),
        ("listTags", Method::GET, "/v1/tags".into(), None, Some("customers:read")),
        ("setConsent", Method::PUT, format!("/v1/customers/{missing_customer}/consent/email"), Some(json!({"status": "subscribed"})), Some("customers:write")),
        ("createCustomField", Method::POST, "/v1/custom-fields".into(), Some(json!({"key": format!("f{}", unique()), "type": "text"})), Some("custom_fields:write")),
        ("listCustomFields", Method::GET, "/v1/custom-fields".into(), None, Some("customers:read")),
        ("updateCustomField", Method::PATCH, "/v1/custom-fields/none_such".into(), Some(json!({"label": "x"})), Some("custom_fields:write")),
        ("deleteCustomField", Method::DELETE, "/v1/custom-fields/none_such".into(), None, Some("custom_fields:write")),
        ("listSuppressions", Method::GET, "/v1/suppressions".into(), None, Some("customers:read")),
        ("createSuppression", Method::POST, "/v1/suppressions".into(), Some(json!({"channel": "email", "address": format!("{}@s.example", unique()), "reason": "matrix"})), Some("suppressions:write")),
        ("deleteSuppression", Method::DELETE, "/v1/suppressions/email/nobody@s.example".into(), None, Some("suppressions:write")),
        ("trackCustomerEvent", Method::POST, format!("/v1/customers/{missing_customer}/events"), Some(json!({"type": "x"})), Some("events:write")),
        ("trackEvent", Method::POST, "/v1/events".into(), Some(json!({"type": "x", "external_id": "nobody"})), Some("events:write")),
        ("getCustomerTimeline", Method::GET, format!("/v1/customers/{missing_customer}/timeline"), None, Some("customers:read")),
        ("listDomainEvents", Method::GET, "/v1/domain-events".into(), None, Some("domain_events:read")),
        ("listDomainEventTypes", Method::GET, "/v1/domain-event-types".into(), None, Some("domain_events:read")),
        ("exportCustomerData", Method::GET, format!("/v1/customers/{missing_customer}/data-export"), None, Some("customers:export")),
        ("eraseCustomer", Method::POST, format!("/v1/customers/{missing_customer}/erase"), Some(json!({})), Some("customers:erase")),
        ("exportCustomers", Method::GET, "/v1/customers/export?tag=none".into(), None, Some("customers:export")),
        ("createSegment", Method::POST, "/v1/segments".into(), Some(json!({"name": "m", "rules": rules.clone()})), Some("segments:write")),
        ("listSegments", Method::GET, "/v1/segments".into(), None, Some("segments:read")),
        ("getSegment", Method::GET, format!("/v1/segments/{missing_segment}"), None, Some("segments:read")),
        ("updateSegment", Method::PATCH, format!("/v1/segments/{missing_segment}"), Some(json!({"name": "x"})), Some("segments:write")),
        ("deleteSegment", Method::DELETE, format!("/v1/segments/{missing_segment}"), None, Some("segments:write")),
        ("countSegment", Method::GET, format!("/v1/segments/{missing_segment}/count"), None, Some("segments:read")),
        // Also needs customers:read, which every role reading segments holds.
        ("previewSegment", Method::GET, format!("/v1/segments/{missing_segment}/preview"), None, Some("segments:read")),
        ("countSegmentRules", Method::POST, "/v1/segments/count".into(), Some(json!({"rules": rules})), Some("segments:read")),
        ("createImport", Method::POST, "/v1/imports".into(), None, Some("imports:write")),
        ("listPluginCatalog", Method::GET, "/v1/plugin-catalog".into(), None, Some("plugins:read")),
        ("uploadPlugin", Method::POST, "/v1/plugins".into(), None, Some("plugins:write")),
        ("createInstallation", Method::POST, "/v1/installations".into(), Some(json!({"plugin": "none"})), Some("plugins:write")),
        ("listInstallations", Method::GET, "/v1/installations".into(), None, Some("plugins:read")),
        ("getInstallation", Method::GET, format!("/v1/installations/{missing_installation}"), None, Some("plugins:read")),
        ("updateInstallation", Method::PATCH, format!("/v1/installations/{missing_installation}"), Some(json!({"enabled": false})), Some("plugins:write")),
        ("deleteInstallation", Method::DELETE, format!("/v1/installations/{missing_installation}"), None, Some("plugins:write")),
        ("invokeInstallation", Method::POST, format!("/v1/installations/{missing_installation}/invoke"), Some(json!({"event": {"type": "noop"}})), Some("plugins:write")),
        ("listInstallationRuns", Method::GET, format!("/v1/installations/{missing_installation}/runs"), None, Some("plugins:read")),
        ("listInstallationLogs", Method::GET, format!("/v1/installations/{missing_installation}/logs"), None, Some("plugins:read")),
        ("getImport", Method::GET, "/v1/imports/imp_00000000000070008000000000000000".into(), None, Some("imports:write")),
        ("getImportErrors", Method::GET, "/v1/imports/imp_00000000000070008000000000000000/errors".into(), None, Some("imports:write")),
        ("listJobs", Method::GET, "/v1/jobs".into(), None, Some("imports:write")),
        ("createWebhookEndpoint", Method::POST, "/v1/webhook-endpoints".into(), Some(json!({"url": "https://hooks.example.com/in"})), Some("webhooks:write")),
        ("listWebhookEndpoints", Method::GET, "/v1/webhook-endpoints".into(), None, Some("webhooks:read")),
        ("getWebhookEndpoint", Method::GET, format!("/v1/webhook-endpoints/{missing_endpoint}"), None, Some("webhooks:read")),
        ("updateWebhookEndpoint", Method::PATCH, format!("/v1/webhook-endpoints/{missing_endpoint}"), Some(json!({"description": "x"})), Some("webhooks:write")),
        ("deleteWebhookEndpoint", Method::DELETE, format!("/v1/webhook-endpoints/{missing_endpoint}"), None, Some("webhooks:write")),
        ("rotateWebhookEndpointSecret", Method::POST, format!("/v1/webhook-endpoints/{missing_endpoint}/rotate-secret"), Some(json!({})), Some("webhooks:write")),
        ("testWebhookEndpoint", Method::POST, format!("/v1/webhook-endpoints/{missing_endpoint}/test"), Some(json!({})), Some("webhooks:write")),
        ("listWebhookDeliveries", Method::GET, format!("/v1/webhook-endpoints/{missing_endpoint}/deliveries"), None, Some("webhooks:read")),
        ("getWebhookDelivery", Method::GET, format!("/v1/webhook-endpoints/{missing_endpoint}/deliveries/{missing_delivery}"), None, Some("webhooks:read")),
        ("retryWebhookDelivery", Method::POST, format!("/v1/webhook-endpoints/{missing_endpoint}/deliveries/{missing_delivery}/retry"), Some(json!({})), Some("webhooks:write")),
        ("replayWebhookDeliveries", Method::POST, format!("/v1/webhook-endpoints/{missing_endpoint}/replay"), Some(json!({"since": "2020-01-01T00:00:00Z"})), Some("webhooks:write")),
        ("listWebhookAttempts", Method::GET, format!("/v1/webhook-endpoints/{missing_endpoint}/attempts"), None, Some("webhooks:read")),
        ("listEventTypes", Method::GET, "/v1/event-types".into(), None, Some("domain_events:read")),
        ("getJob", Method::GET, format!("/v1/jobs/{missing_job}"), None, Some("imports:write")),
        ("retryJob", Method::POST, format!("/v1/jobs/{missing_job}/retry"), None, Some("jobs:write")),
        ("getEmailProvider", Method::GET, "/v1/email-provider".into(), None, Some("tenant:read")),
        ("setEmailProvider", Method::PUT, "/v1/email-provider".into(), Some(json!({"provider": "resend", "api_key": "re_x", "base_url": "http://127.0.0.1:9"})), Some("email_settings:write")),
        ("clearEmailProvider", Method::DELETE, "/v1/email-provider".into(), None, Some("email_settings:write")),
        ("listOutbox", Method::GET, "/v1/outbox".into(), None, Some("outbox:read")),
        ("createEmailCampaign", Method::POST, "/v1/email-campaigns".into(), Some(json!({"name": "m", "from_email": "a@b.test", "subject": "s", "html": "h", "audience": {"tags": ["x"]}})), Some("campaigns:write")),
        ("listEmailCampaigns", Method::GET, "/v1/email-campaigns".into(), None, Some("campaigns:read")),
        ("getEmailCampaign", Method::GET, format!("/v1/email-campaigns/{missing_campaign}"), None, Some("campaigns:read")),
        ("updateEmailCampaign", Method::PATCH, format!("/v1/email-campaigns/{missing_campaign}"), Some(json!({"name": "x"})), Some("campaigns:write")),
        ("deleteEmailCampaign", Method::DELETE, format!("/v1/email-campaigns/{missing_campaign}"), None, Some("campaigns:write")),
        ("previewEmailCampaign", Method::POST, format!("/v1/email-campaigns/{missing_campaign}/preview"), Some(json!({"customer_id": missing_customer})), Some("campaigns:read")),
        ("testSendEmailCampaign", Method::POST, format!("/v1/email-campaigns/{missing_campaign}/test-send"), Some(json!({"to": ["a@b.test"]})), Some("campaigns:send")),
        ("sendEmailCampaign", Method::POST, format!("/v1/email-campaigns/{missing_campaign}/send"), None, Some("campaigns:send")),
        ("pauseEmailCampaign", Method::POST, format!("/v1/email-campaigns/{missing_campaign}/pause"), None, Some("campaigns:send")),
        ("resumeEmailCampaign", Method::POST, format!("/v1/email-campaigns/{missing_campaign}/resume"), None, Some("campaigns:send")),
        ("cancelEmailCampaign", Method::POST, format!("/v1/email-campaigns/{missing_campaign}/cancel"), None, Some("campaigns:send")),
        ("getEmailCampaignStats", Method::GET, format!("/v1/email-campaigns/{missing_campaign}/stats"), None, Some("campaigns:read")),
        ("createEmailSender", Method::POST, "/v1/email-senders".into(), Some(json!({"email": format!("{}@senders.example", unique())})), Some("campaigns:write")),
        ("listEmailSenders", Method::GET, "/v1/email-senders".into(), None, Some("campaigns:read")),
        ("resendEmailSenderVerification", Method::POST, "/v1/email-senders/snd_00000000000070008000000000000000/resend-verification".into(), None, Some("campaigns:write")),
        ("deleteEmailSender", Method::DELETE, "/v1/email-senders/snd_00000000000070008000000000000000".into(), None, Some("campaigns:write")),
        ("verifyEmailSender", Method::GET, "/verify-sender/x".into(), None, None),
        ("getTrackingDomain", Method::GET, "/v1/tracking-domain".into(), None, Some("tenant:read")),
        ("setTrackingDomain", Method::PUT, "/v1/tracking-domain".into(), Some(json!({"domain": format!("t{}.links.example", unique())})), Some("email_settings:write")),
        ("clearTrackingDomain", Method::DELETE, "/v1/tracking-domain".into(), None, Some("email_settings:write")),
        ("trackOpen", Method::GET, "/t/o/x".into(), None, None),
        ("trackClick", Method::GET, "/t/c/x".into(), None, None),
        ("showUnsubscribe", Method::GET, "/u/x".into(), None, None),
        ("unsubscribe", Method::POST, "/u/x".into(), None, None),
        ("signup", Method::POST, "/v1/signup".into(), None, None),
        ("login", Method::POST, "/v1/auth/login".into(), None, None),
        ("refreshToken", Method::POST, "/v1/auth/refresh".into(), None, None),
        ("logout", Method::POST, "/v1/auth/logout".into(), None, None),
        (
            "acceptInvitation",
            Method::POST,
            "/v1/invitations/accept".into(),
            None,
            None,
        ),
        ("healthz", Method::GET, "/healthz".into(), None, None),
        ("readyz", Method::GET, "/readyz".into(), None, None),
    ]
}

/// What each built-in role is meant to be able to do.
fn expected(role: &str) -> HashSet<&'static str> {
    let basics = [
        "profile:read",
        "tenant:read",
        "users:read",
        "customers:read",
        "segments:read",
    ];
    let marketing = [
        "customers:write",
        "customers:export",
        "custom_fields:write",
        "segments:write",
        "events:write",
        "imports:write",
        "jobs:write",
        "outbox:read",
        "campaigns:read",
        "campaigns:write",
        "campaigns:send",
        "suppressions:write",
        "plugins:read",
    ];
    let admin_only = [
        "users:write",
        "invitations:read",
        "invitations:write",
        "api_keys:read",
        "api_keys:write",
        "roles:read",
        "roles:write",
        "audit_logs:read",
        "customers:erase",
        "domain_events:read",
        "webhooks:read",
        "webhooks:write",
        "email_settings:write",
        "plugins:write",
    ];
    let admin = || basics.into_iter().chain(marketing).chain(admin_only);
    match role {
        "owner" => admin().chain(["tenant:write"]).collect(),
        "admin" => admin().collect(),
        "marketer" => basics.into_iter().chain(marketing).collect(),
        "agent" => basics.into_iter().chain(["customers:write", "events:write"]).collect(),
        "viewer" => basics
            .into_iter()
            .chain(["roles:read", "invitations:read", "campaigns:read"])
            .collect(),
        other => panic!("no expectation for {other}"),
    }
}

async fn walk(who: &str, role: &str, session: &Session) {
    let allowed = expected(role);
    for (op, method, path, body, perm) in routes() {
        let Some(perm) = perm else { continue };
        let reply = match op {
            // The one operation whose body is not JSON.
            "createImport" => {
                let req = session
                    .request(method.clone(), &path)
                    .header(reqwest::header::CONTENT_TYPE, "text/csv")
                    .body("email\n");
                session.send(req).await
            }
            // Multipart: a form that is well-formed but no plugin.
            "uploadPlugin" => switchboard_tests::plugins::upload(session, b"no".to_vec(), "name = 1").await,
            _ => session.call(method.clone(), &path, body).await,
        };
        if allowed.contains(perm) {
            assert!(
                reply.status != 403 && reply.status != 401 && reply.status < 500,
                "{role} {who} should be allowed {op} ({perm}): {} {}",
                reply.status,
                reply.body
            );
        } else {
            assert_eq!(
                reply.status, 403,
                "{role} {who} must be refused {op} ({perm}): {}",
                reply.body
            );
            reply.assert_problem(403);
        }
    }
}

#[tokio::test]
async fn every_route_with_every_builtin_role() {
    let server = TestServer::start().await;
    let owner = server.signup("Matrix").await;
    for role in ["viewer", "agent", "marketer", "admin", "owner"] {
        let key = owner.api_key(role).await;
        walk("api key", role, &key).await;
        let user = owner.invite_user(role).await;
        walk("user", role, &user).await;
    }
}

#[test]
fn the_matrix_covers_every_operation_in_the_spec() {
    let spec: Value = serde_json::from_str(&switchboard::api::service("http://x").spec()).unwrap();
    let in_spec: BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| {
            item.as_object()
                .unwrap()
                .values()
                .map(|op| op["operationId"].as_str().unwrap().to_owned())
        })
        .collect();
    let in_matrix: BTreeSet<String> = routes().into_iter().map(|(op, ..)| op.to_owned()).collect();
    assert_eq!(in_spec, in_matrix, "add new operations to the role matrix");
}
