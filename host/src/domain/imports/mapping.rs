//! Which CSV column feeds which customer field.
//!
//! A mapping is JSON `{"<csv header>": "<target>"}`; a target is a standard field, `tags` (the
//! cell split on `,` or `;`) or `custom_fields.<key>`. Without one, columns whose header is a
//! standard field's name are imported and the rest ignored.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::domain::crm::custom_fields::{Definition, FieldType};
use crate::domain::crm::customers::{CustomerInput, Patch};
use crate::domain::{DomainError, Result};

pub const STANDARD: [&str; 7] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "locale",
    "timezone",
    "external_id",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Standard(&'static str),
    Custom(String),
    Tags,
}

impl Target {
    fn parse(s: &str) -> Option<Self> {
        if s == "tags" {
            return Some(Target::Tags);
        }
        if let Some(key) = s.strip_prefix("custom_fields.") {
            return Some(Target::Custom(key.to_owned()));
        }
        STANDARD.iter().find(|f| **f == s).map(|f| Target::Standard(f))
    }

    /// The field name domain validation reports for this target.
    fn field(&self) -> String {
        match self {
            Target::Standard(f) => (*f).to_owned(),
            Target::Custom(key) => format!("custom_fields.{key}"),
            Target::Tags => "tags".to_owned(),
        }
    }
}

/// A validated mapping from the request, by header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping(BTreeMap<String, String>);

impl Mapping {
    /// Parses and checks a request's mapping: known targets, defined custom fields, and no two
    /// columns on one field (tags excepted: they add up).
    pub fn parse(raw: &str, defs: &HashMap<String, Definition>) -> Result<Self> {
        let bad = |msg: String| DomainError::invalid("mapping", msg);
        let map: BTreeMap<String, String> =
            serde_json::from_str(raw).map_err(|_| bad("must be a JSON object of CSV header to target field".into()))?;
        let mut seen = Vec::new();
        for target in map.values() {
            match Target::parse(target) {
                None => return Err(bad(format!("unknown target {target:?}"))),
                Some(Target::Custom(key)) if !defs.contains_key(&key) => {
                    return Err(bad(format!("no custom field has key {key:?}")))
                }
                Some(Target::Tags) => {}
                Some(_) if seen.contains(&target) => return Err(bad(format!("{target} is mapped twice"))),
                Some(_) => seen.push(target),
            }
        }
        Ok(Self(map))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// Reads back a mapping stored by [`Mapping::to_json`].
    pub fn from_stored(raw: &str) -> Self {
        Self(serde_json::from_str(raw).unwrap_or_default())
    }

    /// Binds the mapping to a file's header row; `None` maps by standard field names.
    pub fn bind(mapping: Option<&Mapping>, headers: &[String]) -> std::result::Result<Columns, String> {
        let mut columns = Vec::new();
        match mapping {
            Some(m) => {
                for (header, target) in &m.0 {
                    let index = headers
                        .iter()
                        .position(|h| h == header)
                        .ok_or_else(|| format!("the file has no column {header:?}"))?;
                    let target = Target::parse(target).ok_or_else(|| format!("unknown target {target:?}"))?;
                    columns.push((index, header.clone(), target));
                }
            }
            None => {
                for (index, header) in headers.iter().enumerate() {
                    if let Some(Target::Standard(f)) = Target::parse(header) {
                        columns.push((index, header.clone(), Target::Standard(f)));
                    }
                }
            }
        }
        Ok(Columns(columns))
    }
}

/// A mapping bound to a file: `(column index, header, target)`.
#[derive(Debug, Clone)]
pub struct Columns(Vec<(usize, String, Target)>);

impl Columns {
    /// The customer a row describes. Empty cells are left out, so an upsert never clears a field.
    pub fn input(&self, cells: &[&str], defs: &HashMap<String, Definition>) -> CustomerInput {
        let mut input = CustomerInput::default();
        let mut custom = Map::new();
        let mut tags: Vec<String> = Vec::new();
        for (index, _, target) in &self.0 {
            let cell = cells.get(*index).map(|c| c.trim()).unwrap_or("");
            if cell.is_empty() {
                continue;
            }
            match target {
                Target::Standard(f) => set_standard(&mut input, f, cell.to_owned()),
                Target::Custom(key) => {
                    custom.insert(key.clone(), typed(defs.get(key), cell));
                }
                Target::Tags => tags.extend(
                    cell.split([',', ';'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned),
                ),
            }
        }
        input.custom_fields = (!custom.is_empty()).then_some(custom);
        input.tags = (!tags.is_empty()).then_some(tags);
        input
    }

    /// The CSV header behind a field name from a validation error (`tags[2]` → the tags column).
    pub fn header_of(&self, field: &str) -> String {
        let field = field.split('[').next().unwrap_or(field);
        self.0
            .iter()
            .find(|(_, _, t)| t.field() == field)
            .map(|(_, h, _)| h.clone())
            .unwrap_or_default()
    }
}

fn set_standard(input: &mut CustomerInput, field: &str, value: String) {
    let slot = match field {
        "email" => &mut input.email,
        "phone" => &mut input.phone,
        "first_name" => &mut input.first_name,
        "last_name" => &mut input.last_name,
        "locale" => &mut input.locale,
        "timezone" => &mut input.timezone,
        _ => &mut input.external_id,
    };
    *slot = Patch::Set(value);
}

/// A cell as the JSON value its custom field expects. Text that does not parse stays text, so
/// the field's own validation reports it with the usual message.
fn typed(def: Option<&Definition>, cell: &str) -> Value {
    match def.map(|d| d.field_type) {
        Some(FieldType::Number) => cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(cell.to_owned())),
        Some(FieldType::Boolean) => match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => Value::String(cell.to_owned()),
        },
        _ => Value::String(cell.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> HashMap<String, Definition> {
        let score = Definition {
            key: "score".into(),
            field_type: FieldType::Number,
            options: vec![],
        };
        HashMap::from([("score".to_owned(), score)])
    }

    #[test]
    fn maps_columns_to_fields_tags_and_typed_custom_fields() {
        let m = Mapping::parse(
            r#"{"E-mail": "email", "Labels": "tags", "Score": "custom_fields.score"}"#,
            &defs(),
        )
        .unwrap();
        let headers: Vec<String> = ["Score", "E-mail", "Labels", "Other"].map(String::from).into();
        let cols = Mapping::bind(Some(&m), &headers).unwrap();
        let input = cols.input(&["4.5", " a@b.io ", "vip; new,x", "ignored"], &defs());
        assert_eq!(input.email, Patch::Set("a@b.io".into()));
        assert_eq!(input.tags, Some(vec!["vip".into(), "new".into(), "x".into()]));
        assert_eq!(input.custom_fields.unwrap()["score"], serde_json::json!(4.5));
        assert_eq!(cols.header_of("custom_fields.score"), "Score");
        assert_eq!(cols.header_of("tags[1]"), "Labels");
        assert_eq!(cols.header_of("phone"), "");
    }

    #[test]
    fn refuses_unknown_targets_undefined_fields_and_doubles() {
        for raw in [
            r#"{"a": "nickname"}"#,
            r#"{"a": "custom_fields.nope"}"#,
            r#"{"a": "email", "b": "email"}"#,
            "[1]",
        ] {
            assert!(Mapping::parse(raw, &defs()).is_err(), "{raw}");
        }
        assert!(Mapping::parse(r#"{"a": "tags", "b": "tags"}"#, &defs()).is_ok());
    }

    #[test]
    fn default_mapping_takes_standard_headers_only() {
        let headers: Vec<String> = ["first_name", "Email", "email"].map(String::from).into();
        let cols = Mapping::bind(None, &headers).unwrap();
        let input = cols.input(&["Ann", "x", "ann@b.io"], &HashMap::new());
        assert_eq!(input.first_name, Patch::Set("Ann".into()));
        assert_eq!(input.email, Patch::Set("ann@b.io".into()));
        assert!(Mapping::bind(Some(&Mapping::from_stored(r#"{"zz": "email"}"#)), &headers).is_err());
    }
}
