//! Normalising the standard customer fields.

use std::str::FromStr;

use crate::domain::{validate, DomainError, Result};

/// Parses a phone number in international form and renders it as E.164.
pub fn phone(field: &str, raw: &str) -> Result<String> {
    let parsed = phonenumber::parse(None, raw.trim())
        .map_err(|_| DomainError::invalid(field, "must be a phone number in international form, e.g. +14155550100"))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(DomainError::invalid(field, "is not a valid phone number"));
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

/// An IANA time zone name.
pub fn timezone(field: &str, raw: &str) -> Result<String> {
    chrono_tz::Tz::from_str(raw.trim())
        .map(|tz| tz.name().to_owned())
        .map_err(|_| DomainError::invalid(field, "must be an IANA time zone, e.g. Europe/Paris"))
}

/// A BCP 47 language tag.
pub fn locale(field: &str, raw: &str) -> Result<String> {
    language_tags::LanguageTag::parse(raw.trim())
        .map(|t| t.to_string())
        .map_err(|_| DomainError::invalid(field, "must be a BCP 47 language tag, e.g. en-US"))
}

/// Free text identifiers and names: trimmed, bounded, no control characters.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    validate::name(field, raw, max)
}

/// A tag: 1 to 100 characters, no control characters; kept as given apart from trimming.
pub fn tag(field: &str, raw: &str) -> Result<String> {
    validate::name(field, raw, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_become_e164() {
        assert_eq!(phone("p", "+1 (415) 555-0100").unwrap(), "+14155550100");
        assert_eq!(phone("p", "+44 20 7946 0958").unwrap(), "+442079460958");
        for bad in ["0415 555 0100", "+1 555", "call me", ""] {
            assert!(phone("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zones_and_locales() {
        assert_eq!(timezone("t", "Europe/Paris").unwrap(), "Europe/Paris");
        assert!(timezone("t", "Mars/Olympus").is_err());
        assert_eq!(locale("l", "en-US").unwrap(), "en-US");
        assert!(locale("l", "not a locale!").is_err());
    }
}
