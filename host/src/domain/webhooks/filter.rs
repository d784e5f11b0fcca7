//! Event-type filters of an endpoint: exact types (`customer.created`), wildcards over a prefix
//! (`customer.*`), or `*`. An empty filter subscribes to every type.

use crate::domain::{DomainError, FieldError, Result};

/// Most patterns one endpoint may list.
pub const MAX_PATTERNS: usize = 100;

/// Checks patterns against the catalog: each must match at least one known type, so a typo is
/// a 422 rather than an endpoint that silently never receives anything.
pub fn validate(field: &str, patterns: &[String], catalog: &[&str]) -> Result<Vec<String>> {
    if patterns.len() > MAX_PATTERNS {
        return Err(DomainError::invalid(
            field,
            format!("must list at most {MAX_PATTERNS} types"),
        ));
    }
    let mut errors = Vec::new();
    let mut clean = Vec::new();
    for (i, raw) in patterns.iter().enumerate() {
        let pattern = raw.trim();
        if !catalog.iter().any(|t| matches_one(pattern, t)) {
            let message = format!("{pattern:?} matches no event type (see GET /v1/event-types)");
            errors.push(FieldError::new(format!("{field}[{i}]"), message));
        } else if !clean.iter().any(|p| p == pattern) {
            clean.push(pattern.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(clean)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// Whether an endpoint with these patterns receives `event_type`.
pub fn matches(patterns: &[String], event_type: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches_one(p, event_type))
}

/// Whether one pattern (an exact type, `prefix.*` or `*`) matches `event_type`; plugins'
/// subscriptions use the same patterns.
pub fn matches_one(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => prefix.ends_with('.') && event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &[&str] = &["customer.created", "customer.updated", "consent.changed"];

    fn patterns(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_wildcard_and_empty_filters_match() {
        assert!(matches(&[], "anything.at_all"));
        assert!(matches(&patterns(&["*"]), "consent.changed"));
        assert!(matches(&patterns(&["customer.*"]), "customer.created"));
        assert!(!matches(&patterns(&["customer.*"]), "consent.changed"));
        assert!(!matches(&patterns(&["customer.*"]), "customers.created"));
        assert!(matches(&patterns(&["consent.changed"]), "consent.changed"));
        assert!(!matches(&patterns(&["consent.changed"]), "consent.changed.more"));
        assert!(
            !matches(&patterns(&["customer*"]), "customer.created"),
            "a wildcard follows a dot"
        );
    }

    #[test]
    fn unknown_patterns_are_named() {
        let ok = validate(
            "event_types",
            &patterns(&["customer.*", " consent.changed", "customer.*"]),
            CATALOG,
        );
        assert_eq!(ok.unwrap(), patterns(&["customer.*", "consent.changed"]));
        let Err(DomainError::Invalid(errors)) = validate(
            "event_types",
            &patterns(&["customer.created", "custmer.*", "order.placed"]),
            CATALOG,
        ) else {
            panic!("typos must be refused");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["event_types[1]", "event_types[2]"]);
    }
}
