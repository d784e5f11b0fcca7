//! Input normalisation and validation shared by the verticals.

use email_address::EmailAddress;

use super::{DomainError, FieldError, Result};
use crate::auth::password;

/// Lower-cases and checks an email address.
pub fn email(field: &str, raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || !EmailAddress::is_valid(&email) {
        return Err(DomainError::invalid(field, "must be a valid email address"));
    }
    Ok(email)
}

/// Whether a stored address can be sent to through a provider: a valid address whose domain is
/// a dotted host name (not `localhost`, not an IP literal) and whose local part is not quoted.
/// Campaigns skip and count the others instead of failing on them.
pub fn sendable_email(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    EmailAddress::is_valid(address)
        && !local.starts_with('"')
        && domain.contains('.')
        && !domain.starts_with('[')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'))
}

/// A display name: trimmed, 1 to `max` characters, no control characters.
pub fn name(field: &str, raw: &str, max: usize) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be at most {max} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(name.to_owned())
}

pub fn password(field: &str, raw: &str) -> Result<()> {
    let len = raw.chars().count();
    if !(password::MIN_LEN..=password::MAX_LEN).contains(&len) {
        let msg = format!("must be {} to {} characters", password::MIN_LEN, password::MAX_LEN);
        return Err(DomainError::invalid(field, msg));
    }
    Ok(())
}

/// The field errors of one check, for [`report`].
pub fn errors_of<T>(result: &Result<T>) -> Vec<FieldError> {
    match result {
        Err(DomainError::Invalid(errors)) => errors.clone(),
        _ => Vec::new(),
    }
}

/// Reports every failing field of several checks at once.
pub fn report<const N: usize>(errors: [Vec<FieldError>; N]) -> Result<()> {
    let errors: Vec<FieldError> = errors.into_iter().flatten().collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_a_provider_takes_are_sendable() {
        for ok in ["ann@example.com", "a.b+c@mail.example.co.uk", "x@xn--bcher-kva.example"] {
            assert!(sendable_email(ok), "{ok}");
        }
        for bad in [
            "a@localhost",
            "a@[127.0.0.1]",
            "\"a b\"@example.com",
            "a@example..com",
            "nope",
        ] {
            assert!(!sendable_email(bad), "{bad}");
        }
    }

    #[test]
    fn emails_normalise_and_reject() {
        assert_eq!(email("email", "  Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "no-at-sign",
            "a@",
            "' OR 1=1 --@x",
            "a@b@c",
            &format!("{}@x.io", "a".repeat(250)),
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(name("n", "  Zoë 🚀 ", 10).unwrap(), "Zoë 🚀");
        assert!(name("n", "   ", 10).is_err());
        assert!(name("n", "a\u{0}b", 10).is_err());
        assert!(name("n", &"é".repeat(11), 10).is_err());
    }

    #[test]
    fn report_collects_every_field() {
        let pw = password("password", "short");
        let mail = email("email", "bad");
        let err = report([errors_of(&pw), errors_of(&mail), errors_of(&Ok(()))]);
        match err {
            Err(DomainError::Invalid(errs)) => {
                let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["password", "email"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
