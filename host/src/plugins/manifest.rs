//! `plugin.toml`: what a plugin is, what it subscribes to and what it asks for.
//!
//! ```toml
//! name = "shopify"                      # lower-case letters, digits, '-'
//! version = "0.1.0"                     # the plugin's own version (semver)
//! interface = "0.1.0"                   # the WIT interface version it was built for
//! description = "Shopify orders and customers into the CRM."
//! events = ["customer.created"]         # domain events delivered to on_event (`customer.*`, `*`)
//! webhooks = ["shopify"]                # routes: POST /v1/hooks/{tenant}/{installation}/{route}
//! capabilities = ["kv", "customers:write", "http:api.example.com"]
//! [[schedules]]                         # tick(name) every `every_secs` (the host's floor: 60)
//! name = "hourly"
//! every_secs = 3600
//! [config_schema]                       # JSON Schema of the installation's config;
//! type = "object"                       # properties with `secret = true` are encrypted at rest
//! required = ["webhook_secret"]         # and never returned
//! properties.webhook_secret = { type = "string", secret = true }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::capabilities::Capability;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub interface: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub webhooks: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    #[serde(default = "object_schema")]
    pub config_schema: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub name: String,
    pub every_secs: u64,
}

fn object_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// A manifest problem, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ManifestError {
    pub field: String,
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError {
        field: field.into(),
        message: message.into(),
    }
}

fn slug(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `s` can be an event type: 1 to 100 of ASCII letters, digits, '.', '_', '-', ':'.
pub fn is_event_type(s: &str) -> bool {
    (1..=100).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b))
}

pub fn is_semver(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
}

impl Manifest {
    /// Parses and checks a `plugin.toml`.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let m: Manifest = toml::from_str(text).map_err(|e| bad("manifest", e.message().to_owned()))?;
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), ManifestError> {
        if !slug(&self.name, 64) || self.name.contains('_') {
            return Err(bad("name", "must be 1 to 64 lower-case letters, digits and '-'"));
        }
        if !is_semver(&self.version) {
            return Err(bad("version", "must be a version like 1.2.3"));
        }
        if !is_semver(&self.interface) {
            return Err(bad("interface", "must be a version like 0.1.0"));
        }
        if !super::interface_compatible(&self.interface) {
            return Err(bad(
                "interface",
                format!(
                    "interface {} is not compatible with this host's {}",
                    self.interface,
                    super::INTERFACE_VERSION
                ),
            ));
        }
        if self.description.len() > 1000 {
            return Err(bad("description", "must be at most 1000 characters"));
        }
        for (i, e) in self.events.iter().enumerate() {
            // An exact type, or a wildcard over a prefix ending at a dot (`customer.*`), or `*`.
            let stem = match e.strip_suffix('*') {
                Some("") => "*",
                Some(prefix) => prefix.strip_suffix('.').unwrap_or(""),
                None => e,
            };
            let ok = stem == "*" || is_event_type(stem);
            if !ok {
                return Err(bad(
                    format!("events[{i}]"),
                    "must be an event type like customer.created, a wildcard like customer.* or *",
                ));
            }
        }
        for (i, r) in self.webhooks.iter().enumerate() {
            if !slug(r, 64) {
                return Err(bad(
                    format!("webhooks[{i}]"),
                    "must be 1 to 64 of a-z, 0-9, '-' and '_'",
                ));
            }
        }
        for (i, c) in self.capabilities.iter().enumerate() {
            if Capability::parse(c).is_none() {
                return Err(bad(
                    format!("capabilities[{i}]"),
                    "must be kv, customers:read, customers:write, messages:send or http:<host>",
                ));
            }
        }
        for (i, s) in self.schedules.iter().enumerate() {
            if !slug(&s.name, 64) {
                return Err(bad(
                    format!("schedules[{i}].name"),
                    "must be 1 to 64 of a-z, 0-9, '-' and '_'",
                ));
            }
            // The host also keeps its own floor (`plugin_tick_min_secs`).
            if s.every_secs == 0 {
                return Err(bad(format!("schedules[{i}].every_secs"), "must be at least 1"));
            }
        }
        if self.config_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(bad("config_schema", "must be a JSON Schema with type = \"object\""));
        }
        jsonschema::validator_for(&self.config_schema).map_err(|e| bad("config_schema", e.to_string()))?;
        Ok(())
    }

    /// The capabilities requested, parsed.
    pub fn requested(&self) -> Vec<Capability> {
        self.capabilities.iter().filter_map(|c| Capability::parse(c)).collect()
    }

    /// The top-level config properties marked `secret = true`.
    pub fn secret_fields(&self) -> Vec<String> {
        self.config_schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .filter(|(_, p)| p.get("secret").and_then(Value::as_bool) == Some(true))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every way `config` fails the schema, as (JSON pointer, message).
    pub fn config_errors(&self, config: &Value) -> Vec<(String, String)> {
        match jsonschema::validator_for(&self.config_schema) {
            Ok(v) => v
                .iter_errors(config)
                .map(|e| (e.instance_path.to_string(), e.to_string()))
                .collect(),
            Err(e) => vec![(String::new(), e.to_string())],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "shop"
version = "1.0.0"
interface = "0.1.0"
events = ["customer.created"]
webhooks = ["orders"]
capabilities = ["kv", "http:api.example.com"]
[config_schema]
type = "object"
required = ["webhook_secret"]
properties.webhook_secret = { type = "string", secret = true }
properties.tag = { type = "string" }
"#;

    #[test]
    fn a_good_manifest_parses_with_its_secrets_and_schema() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.secret_fields(), vec!["webhook_secret".to_owned()]);
        assert!(m.config_errors(&serde_json::json!({"webhook_secret": "s"})).is_empty());
        let errors = m.config_errors(&serde_json::json!({"tag": 3}));
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn bad_manifests_name_the_field() {
        let field = |text: String| Manifest::parse(&text).unwrap_err().field;
        assert_eq!(field(GOOD.replace("0.1.0", "1.0.0")), "interface");
        assert_eq!(field(GOOD.replace("\"shop\"", "\"Shop!\"")), "name");
        assert_eq!(field(GOOD.replace("\"kv\"", "\"files\"")), "capabilities[0]");
        assert_eq!(
            field(GOOD.replace("version = \"1.0.0\"", "version = \"one\"")),
            "version"
        );
        assert_eq!(field(format!("extra = 1\n{GOOD}")), "manifest");
        assert_eq!(field("not toml at all".into()), "manifest");
        for wrong in ["customer*", "customer.**", ".*", "a b"] {
            let text = GOOD.replace("\"customer.created\"", &format!("{wrong:?}"));
            assert_eq!(field(text), "events[0]", "{wrong}");
        }
        let every = |secs: u64| format!("{GOOD}\n[[schedules]]\nname = \"often\"\nevery_secs = {secs}\n");
        assert_eq!(field(every(0)), "schedules[0].every_secs");
        assert!(Manifest::parse(&every(1)).is_ok());
        for fine in ["customer.*", "*"] {
            assert!(Manifest::parse(&GOOD.replace("\"customer.created\"", &format!("{fine:?}"))).is_ok());
        }
    }
}
