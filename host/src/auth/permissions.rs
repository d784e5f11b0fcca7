//! The permission catalog and the built-in roles.
//!
//! A permission is `object:action`. Built-in role policies are defined here, in code, so that a
//! new release extends them for every tenant at once; custom roles are stored per tenant.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Permission {
    pub object: &'static str,
    pub action: &'static str,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.object, self.action)
    }
}

macro_rules! permissions {
    ($($name:ident = ($object:literal, $action:literal): $doc:literal;)*) => {
        $(#[doc = $doc] pub const $name: Permission = Permission { object: $object, action: $action };)*
        /// Every permission, with what it allows.
        pub const ALL: &[(Permission, &str)] = &[$(($name, $doc)),*];
    };
}

permissions! {
    PROFILE_READ = ("profile", "read"): "Read your own user, tenant and role.";
    TENANT_READ = ("tenant", "read"): "Read the tenant's settings.";
    TENANT_WRITE = ("tenant", "write"): "Change the tenant's settings.";
    USERS_READ = ("users", "read"): "List the tenant's users.";
    USERS_WRITE = ("users", "write"): "Change users' roles and remove users.";
    INVITATIONS_READ = ("invitations", "read"): "List invitations.";
    INVITATIONS_WRITE = ("invitations", "write"): "Invite people and revoke invitations.";
    API_KEYS_READ = ("api_keys", "read"): "List API keys.";
    API_KEYS_WRITE = ("api_keys", "write"): "Create and revoke API keys.";
    ROLES_READ = ("roles", "read"): "List roles and permissions.";
    ROLES_WRITE = ("roles", "write"): "Create and delete custom roles.";
    AUDIT_LOGS_READ = ("audit_logs", "read"): "Read the audit log.";
    CUSTOMERS_READ = ("customers", "read"): "Read customers, custom field definitions, tags and timelines.";
    CUSTOMERS_WRITE = ("customers", "write"): "Create, change, tag and delete customers; set consent.";
    CUSTOMERS_EXPORT = ("customers", "export"): "Export customers as CSV and a person's data as JSON.";
    CUSTOMERS_ERASE = ("customers", "erase"): "Erase a person's data (GDPR).";
    CUSTOM_FIELDS_WRITE = ("custom_fields", "write"): "Define, change and delete custom fields.";
    SEGMENTS_READ = ("segments", "read"): "Read segments, their counts and previews.";
    SEGMENTS_WRITE = ("segments", "write"): "Create, change and delete segments.";
    EVENTS_WRITE = ("events", "write"): "Track custom events on customers.";
    IMPORTS_WRITE = ("imports", "write"): "Import customers from CSV and read import reports.";
    CAMPAIGNS_READ = ("campaigns", "read"): "Read email campaigns and preview them.";
    CAMPAIGNS_WRITE = ("campaigns", "write"): "Create, change and delete draft email campaigns.";
    CAMPAIGNS_SEND = ("campaigns", "send"): "Send, test-send, schedule, pause, resume and cancel email campaigns.";
    EMAIL_SETTINGS_WRITE = ("email_settings", "write"): "Set the tenant's own email provider account.";
    OUTBOX_READ = ("outbox", "read"): "Read the dev outbox (emails recorded instead of sent).";
    JOBS_WRITE = ("jobs", "write"): "Retry dead-lettered background jobs.";
    SUPPRESSIONS_WRITE = ("suppressions", "write"): "Change the suppression list.";
    DOMAIN_EVENTS_READ = ("domain_events", "read"): "Read the domain-event outbox.";
    WEBHOOKS_READ = ("webhooks", "read"): "Read webhook endpoints (with their secrets) and the delivery log.";
    WEBHOOKS_WRITE = ("webhooks", "write"): "Create, change and delete webhook endpoints; rotate secrets; replay and test deliveries.";
    PLUGINS_READ = ("plugins", "read"): "Read the plugin catalog, installations, their runs and logs.";
    PLUGINS_WRITE = ("plugins", "write"): "Upload plugins; install, configure, invoke and remove them.";
}

pub fn parse(s: &str) -> Option<Permission> {
    ALL.iter().map(|(p, _)| *p).find(|p| p.to_string() == s)
}

pub const OWNER: &str = "owner";
pub const ADMIN: &str = "admin";
pub const MARKETER: &str = "marketer";
pub const AGENT: &str = "agent";
pub const VIEWER: &str = "viewer";

/// Built-in roles, most powerful first, with their descriptions.
pub const BUILTIN_ROLES: &[(&str, &str)] = &[
    (OWNER, "Everything, including the tenant's settings."),
    (ADMIN, "Everything but the tenant's settings."),
    (MARKETER, "Audiences and campaigns."),
    (AGENT, "Conversations with customers."),
    (VIEWER, "Read-only access."),
];

pub fn is_builtin(role: &str) -> bool {
    BUILTIN_ROLES.iter().any(|(name, _)| *name == role)
}

/// The permissions of a built-in role; `None` for any other name.
pub fn builtin_permissions(role: &str) -> Option<Vec<Permission>> {
    let everything = ALL.iter().map(|(p, _)| *p);
    let basics = [PROFILE_READ, TENANT_READ, USERS_READ, CUSTOMERS_READ, SEGMENTS_READ];
    Some(match role {
        OWNER => everything.collect(),
        ADMIN => everything.filter(|p| *p != TENANT_WRITE).collect(),
        MARKETER => [
            &basics[..],
            &[
                CUSTOMERS_WRITE,
                CUSTOMERS_EXPORT,
                CUSTOM_FIELDS_WRITE,
                SEGMENTS_WRITE,
                EVENTS_WRITE,
                IMPORTS_WRITE,
                JOBS_WRITE,
                OUTBOX_READ,
                CAMPAIGNS_READ,
                CAMPAIGNS_WRITE,
                CAMPAIGNS_SEND,
                SUPPRESSIONS_WRITE,
                PLUGINS_READ,
            ],
        ]
        .concat(),
        AGENT => [&basics[..], &[CUSTOMERS_WRITE, EVENTS_WRITE]].concat(),
        VIEWER => [&basics[..], &[ROLES_READ, INVITATIONS_READ, CAMPAIGNS_READ]].concat(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parses_and_roles_nest() {
        for (p, _) in ALL {
            assert_eq!(parse(&p.to_string()), Some(*p));
        }
        assert_eq!(parse("users:delete"), None);
        let owner = builtin_permissions(OWNER).unwrap();
        for (role, _) in BUILTIN_ROLES {
            let perms = builtin_permissions(role).unwrap();
            assert!(perms.iter().all(|p| owner.contains(p)), "{role} exceeds owner");
            assert!(perms.contains(&PROFILE_READ), "{role} cannot read its profile");
        }
        assert!(!builtin_permissions(ADMIN).unwrap().contains(&TENANT_WRITE));
        assert_eq!(builtin_permissions("custom"), None);
    }
}
