//! Names the offending fields when a JSON body fails to parse.
//!
//! poem-openapi reports only which schema failed ("occurred while parsing \"SignupIn\""). When
//! that happens, this checks the body against that schema in our own spec and answers with an
//! RFC 9457 problem whose `errors` name each missing or mistyped field.

use std::future::Future;
use std::sync::LazyLock;

use poem::http::header::CONTENT_TYPE;
use poem::http::StatusCode;
use poem::{Body, Endpoint, Request, Response, Result};
use serde_json::Value;

use super::layer::{go_on, respond, slow, Layer};
use crate::api::problem::{Problem, ProblemField};
use crate::http::problem_errors::PROBLEM_JSON;

static SCHEMAS: LazyLock<Value> = LazyLock::new(|| {
    let spec: Value = serde_json::from_str(&crate::api::service("").spec()).unwrap_or_default();
    spec["components"]["schemas"].clone()
});

/// Names the fields of a JSON body that failed to parse.
#[derive(Clone)]
pub struct FieldErrors;

impl Layer for FieldErrors {
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        match is_json {
            true => slow(checked(next, req)),
            false => go_on(next, req),
        }
    }
}

/// Answers a JSON body's request, naming its bad fields when it failed to parse.
async fn checked<E: Endpoint>(next: &E, mut req: Request) -> Result<Response> {
    let body = req.take_body().into_bytes().await?;
    req.set_body(Body::from(body.clone()));
    let resp = respond(next.call(req).await);
    if resp.status() != StatusCode::BAD_REQUEST {
        return Ok(resp);
    }
    let (parts, resp_body) = resp.into_parts();
    let text = resp_body.into_string().await.unwrap_or_default();
    if !text.starts_with("parse request payload error") {
        return Ok(Response::from_parts(parts, Body::from(text)));
    }
    let problem = match (serde_json::from_slice::<Value>(&body), failed_schema(&text)) {
        (Err(e), _) => Problem::new(400, format!("the body is not valid JSON: {e}")),
        (Ok(value), Some(schema)) => {
            let mut errors = Vec::new();
            check(&SCHEMAS[schema], &value, "", &mut errors);
            let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            let mut p = Problem::new(400, format!("invalid {}", names.join(", ")));
            p.errors = errors;
            if p.errors.is_empty() {
                p.detail = Some(text.clone());
            }
            p
        }
        (Ok(_), None) => Problem::new(400, text.clone()),
    };
    let json = poem_openapi::types::ToJSON::to_json(&problem).unwrap_or_default();
    Ok(Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .content_type(PROBLEM_JSON)
        .body(json.to_string()))
}

fn failed_schema(text: &str) -> Option<&str> {
    let start = text.find("while parsing \"")? + "while parsing \"".len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

fn resolve(schema: &Value) -> &Value {
    match schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        Some(name) => &SCHEMAS[name],
        None => match schema["allOf"].as_array() {
            Some(all) if all.len() == 1 => resolve(&all[0]),
            _ => schema,
        },
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Appends a field error for every place `value` does not fit `schema`.
fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<ProblemField>) {
    let schema = resolve(schema);
    let expected = schema["type"]
        .as_str()
        .unwrap_or(if schema["properties"].is_object() { "object" } else { "" });
    let actual = json_type(value);
    let fits = expected.is_empty() || expected == actual || (expected == "number" && actual == "integer");
    if !fits {
        let field = if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        };
        errors.push(ProblemField {
            field,
            message: format!("must be {} {expected}", article(expected)),
        });
        return;
    }
    match value {
        Value::Object(map) => {
            for name in schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if map.get(name).is_none_or(Value::is_null) {
                    errors.push(ProblemField {
                        field: join(path, name),
                        message: "is required".into(),
                    });
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (name, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                    if let Some(prop) = props.get(name) {
                        check(prop, v, &join(path, name), errors);
                    }
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(&schema["items"], item, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_missing_and_mistyped_fields() {
        let mut errors = Vec::new();
        check(
            &SCHEMAS["SignupIn"],
            &json!({"tenant_name": 7, "email": "a@b.io"}),
            "",
            &mut errors,
        );
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
        assert_eq!(
            fields,
            [("password", "is required"), ("tenant_name", "must be a string")]
        );

        let mut errors = Vec::new();
        check(
            &SCHEMAS["RoleIn"],
            &json!({"name": "x", "permissions": ["a", 3]}),
            "",
            &mut errors,
        );
        assert_eq!(errors[0].field, "permissions[1]");
        assert_eq!(failed_schema("x (occurred while parsing \"RoleIn\")"), Some("RoleIn"));
    }
}
