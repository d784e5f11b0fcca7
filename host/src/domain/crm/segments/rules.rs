//! A segment's rule tree: JSON from the client, checked against the tenant's custom fields and
//! parsed into the store's typed predicate (`store::segment_sql::Rule`).
//!
//! A node is `{"and": [..]}`, `{"or": [..]}`, `{"not": node}` or a condition
//! `{"field", "op", "value"}`. Errors name the offending node as a path from `rules`
//! (`rules.and[1].op`, `rules.or[0].not.value`) and stop at the first one found.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::domain::crm::consent::{CHANNELS, STATUSES};
use crate::domain::crm::custom_fields::{parse_date, parse_datetime, Definition, FieldType};
use crate::domain::{DomainError, Result};
use crate::store::segment_sql::{Cmp, Condition, Match, Rule, Subject};
use crate::store::sql::Arg;

/// Deepest nesting of nodes, counting the root as level 1.
pub const MAX_DEPTH: usize = 10;
pub const MAX_CONDITIONS: usize = 200;
/// Most values in an `in` list: with the condition limit this keeps a compiled segment well
/// under both backends' bound-parameter limits.
pub const MAX_LIST: usize = 100;
const MAX_TEXT: usize = 1000;
const MAX_DAYS: i64 = 36_500;

const TEXT_COLUMNS: [&str; 7] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "locale",
    "timezone",
    "external_id",
];
const TIME_COLUMNS: [&str; 2] = ["created_at", "updated_at"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Neq,
    Contains,
    StartsWith,
    Cmp(Cmp),
    Between,
    In,
    IsSet,
    WithinDays,
    CountGte,
}

/// Every operator name; `before` and `after` are the date spellings of `lt` and `gt`.
const OPS: [(&str, Op); 15] = [
    ("eq", Op::Eq),
    ("neq", Op::Neq),
    ("contains", Op::Contains),
    ("starts_with", Op::StartsWith),
    ("gt", Op::Cmp(Cmp::Gt)),
    ("gte", Op::Cmp(Cmp::Gte)),
    ("lt", Op::Cmp(Cmp::Lt)),
    ("lte", Op::Cmp(Cmp::Lte)),
    ("before", Op::Cmp(Cmp::Lt)),
    ("after", Op::Cmp(Cmp::Gt)),
    ("between", Op::Between),
    ("in", Op::In),
    ("is_set", Op::IsSet),
    ("within_days", Op::WithinDays),
    ("count_gte", Op::CountGte),
];

const TEXT_OPS: &[&str] = &["eq", "neq", "contains", "starts_with", "in", "is_set"];
const TIME_OPS: &[&str] = &["gt", "gte", "lt", "lte", "before", "after", "between", "within_days"];
const DATE_OPS: &[&str] = &[
    "eq",
    "gt",
    "gte",
    "lt",
    "lte",
    "before",
    "after",
    "between",
    "within_days",
    "is_set",
];
const NUMBER_OPS: &[&str] = &["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "is_set"];
const BOOLEAN_OPS: &[&str] = &["eq", "is_set"];
const TAG_OPS: &[&str] = &["contains", "in", "is_set"];
const CONSENT_OPS: &[&str] = &["eq", "neq", "in"];
const ACTIVITY_OPS: &[&str] = &["is_set", "within_days", "count_gte"];

/// Parses and validates `rules` against the tenant's custom field definitions.
pub fn parse(rules: &Value, defs: &HashMap<String, Definition>) -> Result<Rule> {
    Parser { defs, conditions: 0 }.node(rules, "rules", 1)
}

struct Parser<'a> {
    defs: &'a HashMap<String, Definition>,
    conditions: usize,
}

impl Parser<'_> {
    fn node(&mut self, v: &Value, path: &str, depth: usize) -> Result<Rule> {
        if depth > MAX_DEPTH {
            return Err(DomainError::invalid(
                path,
                format!("rules nest at most {MAX_DEPTH} levels deep"),
            ));
        }
        let shape = "must be {\"and\": [..]}, {\"or\": [..]}, {\"not\": rule} or {\"field\", \"op\", \"value\"}";
        let Some(obj) = v.as_object() else {
            return Err(DomainError::invalid(path, shape));
        };
        if obj.contains_key("field") {
            return self.condition(obj, path);
        }
        let mut entries = obj.iter();
        let (Some((key, inner)), None) = (entries.next(), entries.next()) else {
            return Err(DomainError::invalid(path, shape));
        };
        let here = format!("{path}.{key}");
        match key.as_str() {
            "and" | "or" => {
                let items = inner
                    .as_array()
                    .ok_or_else(|| DomainError::invalid(&here, "must be an array of rules"))?;
                if items.is_empty() {
                    return Err(DomainError::invalid(&here, "must not be empty"));
                }
                let rules = items
                    .iter()
                    .enumerate()
                    .map(|(i, r)| self.node(r, &format!("{here}[{i}]"), depth + 1))
                    .collect::<Result<Vec<_>>>()?;
                Ok(if key == "and" {
                    Rule::All(rules)
                } else {
                    Rule::Any(rules)
                })
            }
            "not" => Ok(Rule::Not(Box::new(self.node(inner, &here, depth + 1)?))),
            _ => Err(DomainError::invalid(path, shape)),
        }
    }

    fn condition(&mut self, obj: &Map<String, Value>, path: &str) -> Result<Rule> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(DomainError::invalid(
                "rules",
                format!("at most {MAX_CONDITIONS} conditions"),
            ));
        }
        if let Some(extra) = obj.keys().find(|k| !["field", "op", "value"].contains(&k.as_str())) {
            return Err(DomainError::invalid(
                &format!("{path}.{extra}"),
                "is not part of a condition",
            ));
        }
        let (field_path, op_path, value_path) =
            (format!("{path}.field"), format!("{path}.op"), format!("{path}.value"));
        let field = obj["field"]
            .as_str()
            .ok_or_else(|| DomainError::invalid(&field_path, "must be a string"))?;
        let kind = self.kind(field).map_err(|msg| DomainError::invalid(&field_path, msg))?;
        let op_name = obj
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| DomainError::invalid(&op_path, "must be a string"))?;
        let op = OPS
            .iter()
            .find(|(name, _)| *name == op_name)
            .map(|(_, op)| *op)
            .ok_or_else(|| DomainError::invalid(&op_path, format!("unknown operator {op_name:?}")))?;
        if !kind.ops().contains(&op_name) {
            let allowed = kind.ops().join(", ");
            return Err(DomainError::invalid(
                &op_path,
                format!("{field} takes one of {allowed}"),
            ));
        }
        let condition = kind
            .condition(op, obj.get("value"))
            .ok_or_else(|| DomainError::invalid(&value_path, kind.expects(op)))?;
        Ok(Rule::Condition(condition))
    }

    fn kind(&self, field: &str) -> std::result::Result<Kind<'_>, String> {
        if let Some(column) = TEXT_COLUMNS.iter().find(|c| **c == field) {
            return Ok(Kind::Text(column));
        }
        if let Some(column) = TIME_COLUMNS.iter().find(|c| **c == field) {
            return Ok(Kind::Time(column));
        }
        if field == "tags" {
            return Ok(Kind::Tags);
        }
        if let Some(key) = field.strip_prefix("custom_fields.") {
            return self
                .defs
                .get(key)
                .map(Kind::Custom)
                .ok_or_else(|| format!("no custom field has the key {key:?}"));
        }
        if let Some(channel) = field.strip_prefix("consent.") {
            return CHANNELS
                .iter()
                .find(|c| **c == channel)
                .map(|c| Kind::Consent(c))
                .ok_or_else(|| format!("consent channels are {}", CHANNELS.join(", ")));
        }
        if let Some(event_type) = field.strip_prefix("activity.") {
            return if event_type.is_empty() {
                Err("name an event type, e.g. activity.order.placed".into())
            } else {
                Ok(Kind::Activity(event_type.to_owned()))
            };
        }
        Err(format!(
            "unknown field; use {}, {}, tags, custom_fields.<key>, consent.<channel> or activity.<event type>",
            TEXT_COLUMNS.join(", "),
            TIME_COLUMNS.join(", ")
        ))
    }
}

/// What a condition's field refers to, which decides its operators and value type.
enum Kind<'a> {
    /// A standard text column.
    Text(&'static str),
    Time(&'static str),
    Tags,
    Custom(&'a Definition),
    Consent(&'static str),
    Activity(String),
}

impl Kind<'_> {
    fn ops(&self) -> &'static [&'static str] {
        match self {
            Kind::Text(_) => TEXT_OPS,
            Kind::Time(_) => TIME_OPS,
            Kind::Tags => TAG_OPS,
            Kind::Custom(def) => match def.field_type {
                FieldType::Text | FieldType::Enum => TEXT_OPS,
                FieldType::Number => NUMBER_OPS,
                FieldType::Boolean => BOOLEAN_OPS,
                FieldType::Date | FieldType::DateTime => DATE_OPS,
            },
            Kind::Consent(_) => CONSENT_OPS,
            Kind::Activity(_) => ACTIVITY_OPS,
        }
    }

    /// Where the values live; consent has statuses rather than values.
    fn subject(&self) -> Option<Subject> {
        Some(match self {
            Kind::Text(column) | Kind::Time(column) => Subject::Column(column),
            Kind::Tags => Subject::Tags,
            Kind::Custom(def) => Subject::Field {
                key: def.key.clone(),
                numeric: !matches!(def.field_type, FieldType::Text | FieldType::Enum),
            },
            Kind::Consent(_) => return None,
            Kind::Activity(event_type) => Subject::Events(event_type.clone()),
        })
    }

    /// One operand of this kind's type, as bound into SQL.
    fn scalar(&self, v: &Value) -> Option<Arg> {
        match self {
            Kind::Text(_) | Kind::Tags => text(v).map(Arg::Text),
            Kind::Time(_) => parse_datetime(v.as_str()?).map(|(ms, _)| Arg::Int(ms as i64)),
            Kind::Custom(def) => match def.field_type {
                FieldType::Text | FieldType::Enum => text(v).map(Arg::Text),
                FieldType::Number => v.as_f64().map(Arg::Float),
                FieldType::Boolean => v.as_bool().map(|b| Arg::Float(if b { 1.0 } else { 0.0 })),
                FieldType::Date => parse_date(v.as_str()?).map(Arg::Float),
                FieldType::DateTime => parse_datetime(v.as_str()?).map(|(ms, _)| Arg::Float(ms)),
            },
            Kind::Consent(_) | Kind::Activity(_) => None,
        }
    }

    fn expects_one(&self) -> &'static str {
        match self {
            Kind::Text(_) | Kind::Tags => "a string of at most 1000 characters",
            Kind::Time(_) => "an RFC 3339 date-time",
            Kind::Custom(def) => match def.field_type {
                FieldType::Text | FieldType::Enum => "a string of at most 1000 characters",
                FieldType::Number => "a number",
                FieldType::Boolean => "true or false",
                FieldType::Date => "a date, YYYY-MM-DD",
                FieldType::DateTime => "an RFC 3339 date-time",
            },
            Kind::Consent(_) => "one of subscribed, unsubscribed, never",
            Kind::Activity(_) => "nothing",
        }
    }

    /// The message for a value `op` cannot take.
    fn expects(&self, op: Op) -> String {
        let one = self.expects_one();
        match op {
            Op::IsSet => "must be true or false, or left out".into(),
            Op::WithinDays => format!("must be a whole number of days, 1 to {MAX_DAYS}"),
            Op::CountGte => "must be a whole number, at least 1".into(),
            Op::In => format!("must be a list of 1 to {MAX_LIST} values, each {one}"),
            Op::Between => format!("must be [from, to], each {one}, from not after to"),
            _ => format!("must be {one}"),
        }
    }

    /// The condition for `op` on `value`; `None` when the value does not fit.
    fn condition(&self, op: Op, value: Option<&Value>) -> Option<Condition> {
        if let Kind::Consent(channel) = self {
            let statuses = statuses(op, value?)?;
            return Some(Condition::Consent { channel, statuses });
        }
        let subject = self.subject()?;
        let has = |matching| {
            Some(Condition::Value {
                subject: subject.clone(),
                negated: false,
                matching: Some(matching),
            })
        };
        match op {
            Op::IsSet => {
                let set = match value {
                    None => true,
                    Some(v) => v.as_bool()?,
                };
                Some(Condition::Value {
                    subject: subject.clone(),
                    negated: !set,
                    matching: None,
                })
            }
            Op::Neq => Some(Condition::Value {
                subject: subject.clone(),
                negated: true,
                matching: Some(Match::Eq(self.scalar(value?)?)),
            }),
            // A tag is contained when the customer carries exactly it.
            Op::Contains if matches!(self, Kind::Tags) => has(Match::Eq(self.scalar(value?)?)),
            Op::Contains => has(Match::Contains(text(value?)?)),
            Op::StartsWith => has(Match::StartsWith(text(value?)?)),
            Op::Eq => has(Match::Eq(self.scalar(value?)?)),
            Op::Cmp(cmp) => has(Match::Cmp(cmp, self.scalar(value?)?)),
            Op::In => {
                let values = list(value?)?
                    .iter()
                    .map(|v| self.scalar(v))
                    .collect::<Option<Vec<_>>>()?;
                has(Match::In(values))
            }
            Op::Between => match list(value?)?.as_slice() {
                [a, b] => {
                    let (a, b) = (self.scalar(a)?, self.scalar(b)?);
                    if ordered(&a, &b) {
                        has(Match::Between(a, b))
                    } else {
                        None
                    }
                }
                _ => None,
            },
            Op::WithinDays => has(Match::WithinDays(whole(value?, MAX_DAYS)?)),
            Op::CountGte => match self {
                Kind::Activity(event_type) => Some(Condition::EventCount {
                    event_type: event_type.clone(),
                    at_least: whole(value?, i64::from(u32::MAX))?,
                }),
                // Only activity fields list `count_gte`.
                _ => None,
            },
        }
    }
}

/// The consent statuses `op` names; `neq` names the other two.
fn statuses(op: Op, value: &Value) -> Option<Vec<&'static str>> {
    let status = |v: &Value| STATUSES.iter().copied().find(|s| Some(*s) == v.as_str());
    match op {
        Op::Eq => Some(vec![status(value)?]),
        Op::Neq => {
            let excluded = status(value)?;
            Some(STATUSES.iter().copied().filter(|s| *s != excluded).collect())
        }
        Op::In => list(value)?.iter().map(status).collect(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| s.chars().count() <= MAX_TEXT).map(str::to_owned)
}

fn list(v: &Value) -> Option<&Vec<Value>> {
    v.as_array().filter(|a| (1..=MAX_LIST).contains(&a.len()))
}

/// A whole number from 1 to `max`.
fn whole(v: &Value, max: i64) -> Option<i64> {
    v.as_i64().filter(|n| (1..=max).contains(n))
}

fn ordered(a: &Arg, b: &Arg) -> bool {
    match (a, b) {
        (Arg::Int(a), Arg::Int(b)) => a <= b,
        (Arg::Float(a), Arg::Float(b)) => a <= b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> HashMap<String, Definition> {
        [
            ("plan", FieldType::Enum),
            ("spend", FieldType::Number),
            ("vip", FieldType::Boolean),
            ("birthday", FieldType::Date),
        ]
        .into_iter()
        .map(|(key, field_type)| {
            let def = Definition {
                key: key.into(),
                field_type,
                options: vec!["gold".into()],
            };
            (key.to_owned(), def)
        })
        .collect()
    }

    fn error_field(rules: Value) -> String {
        match parse(&rules, &defs()) {
            Err(DomainError::Invalid(errors)) => errors[0].field.clone(),
            other => panic!("{rules} parsed: {other:?}"),
        }
    }

    fn value(subject: Subject, negated: bool, matching: Option<Match>) -> Rule {
        Rule::Condition(Condition::Value {
            subject,
            negated,
            matching,
        })
    }

    #[test]
    fn trees_parse_into_typed_conditions() {
        let rules = json!({"and": [
            {"field": "email", "op": "neq", "value": "a@x.io"},
            {"or": [
                {"field": "custom_fields.spend", "op": "between", "value": [10, 20.5]},
                {"not": {"field": "tags", "op": "is_set"}}
            ]},
            {"field": "created_at", "op": "before", "value": "2024-01-01T00:00:00Z"},
            {"field": "consent.sms", "op": "neq", "value": "subscribed"},
            {"field": "activity.order.placed", "op": "count_gte", "value": 2},
            {"field": "custom_fields.vip", "op": "is_set", "value": false}
        ]});
        let expected = Rule::All(vec![
            value(Subject::Column("email"), true, Some(Match::Eq(Arg::from("a@x.io")))),
            Rule::Any(vec![
                value(
                    Subject::Field {
                        key: "spend".into(),
                        numeric: true,
                    },
                    false,
                    Some(Match::Between(Arg::Float(10.0), Arg::Float(20.5))),
                ),
                Rule::Not(Box::new(value(Subject::Tags, false, None))),
            ]),
            value(
                Subject::Column("created_at"),
                false,
                Some(Match::Cmp(Cmp::Lt, Arg::Int(1_704_067_200_000))),
            ),
            Rule::Condition(Condition::Consent {
                channel: "sms",
                statuses: vec!["unsubscribed", "never"],
            }),
            Rule::Condition(Condition::EventCount {
                event_type: "order.placed".into(),
                at_least: 2,
            }),
            value(
                Subject::Field {
                    key: "vip".into(),
                    numeric: true,
                },
                true,
                None,
            ),
        ]);
        assert_eq!(parse(&rules, &defs()).unwrap(), expected);
    }

    #[test]
    fn errors_name_the_bad_node() {
        let cases = [
            (
                json!({"and": [{"field": "email", "op": "eq", "value": "a"}, {"field": "email", "op": "gt", "value": "a"}]}),
                "rules.and[1].op",
            ),
            (
                json!({"or": [{"not": {"field": "custom_fields.spend", "op": "eq", "value": "7"}}]}),
                "rules.or[0].not.value",
            ),
            (json!({"field": "email", "op": "like", "value": "a"}), "rules.op"),
            (
                json!({"field": "custom_fields.nope", "op": "eq", "value": "a"}),
                "rules.field",
            ),
            (json!({"field": "shoe_size", "op": "eq", "value": "a"}), "rules.field"),
            (
                json!({"field": "consent.fax", "op": "eq", "value": "never"}),
                "rules.field",
            ),
            (
                json!({"field": "consent.email", "op": "eq", "value": "maybe"}),
                "rules.value",
            ),
            (
                json!({"field": "created_at", "op": "between", "value": ["2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z"]}),
                "rules.value",
            ),
            (
                json!({"field": "custom_fields.birthday", "op": "eq", "value": "2024-02-30"}),
                "rules.value",
            ),
            (
                json!({"field": "activity.signup", "op": "within_days", "value": 0}),
                "rules.value",
            ),
            (json!({"field": "email", "op": "in", "value": []}), "rules.value"),
            (json!({"field": "email", "op": "is_set", "value": "yes"}), "rules.value"),
            (
                json!({"field": "email", "op": "eq", "value": "a", "extra": 1}),
                "rules.extra",
            ),
            (json!({"and": []}), "rules.and"),
            (json!({"and": [], "or": []}), "rules"),
            (json!({"xor": [{"field": "email", "op": "is_set"}]}), "rules"),
            (json!(["not an object"]), "rules"),
        ];
        for (rules, field) in cases {
            assert_eq!(error_field(rules.clone()), field, "{rules}");
        }
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let nest = |levels: usize| {
            (1..levels).fold(
                json!({"field": "email", "op": "is_set"}),
                |inner, _| json!({"not": inner}),
            )
        };
        assert!(parse(&nest(MAX_DEPTH), &defs()).is_ok());
        let too_deep = format!("rules{}", ".not".repeat(MAX_DEPTH));
        assert_eq!(error_field(nest(MAX_DEPTH + 1)), too_deep);

        let many = |n: usize| json!({"or": vec![json!({"field": "tags", "op": "contains", "value": "x"}); n]});
        assert!(parse(&many(MAX_CONDITIONS), &defs()).is_ok());
        assert_eq!(error_field(many(MAX_CONDITIONS + 1)), "rules");
    }
}
