//! Campaign templates: minijinja, HTML auto-escaped, checked at save time (a syntax error is a
//! 422 naming the field, line and column), rendered per recipient with the customer's fields,
//! custom fields and fallbacks (`{{ first_name | default("there") }}`). Values are data, never
//! template source, so a customer named `{{ 7*7 }}` is greeted as such.

use minijinja::Environment;
use serde_json::{Map, Value};

use crate::domain::{DomainError, Result};
use crate::store::email_messages::Person;

const SUBJECT: &str = "subject.txt";
const HTML: &str = "body.html";
const TEXT: &str = "body.txt";
/// Line width of text bodies made from HTML.
const TEXT_WIDTH: usize = 78;

/// Checks that `source` compiles; the error names `field`, line and column.
pub fn check(field: &str, source: &str) -> Result<()> {
    let mut env = Environment::new();
    env.add_template(HTML, source)
        .map(|_| ())
        .map_err(|e| syntax(field, source, &e))
}

fn syntax(field: &str, source: &str, e: &minijinja::Error) -> DomainError {
    let line = e.line().unwrap_or(1);
    let column = e
        .range()
        .map(|r| {
            let start = r.start.min(source.len());
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            source[line_start..start].chars().count() + 1
        })
        .unwrap_or(1);
    let what = e.detail().unwrap_or("syntax error");
    DomainError::invalid(field, format!("template error at line {line}, column {column}: {what}"))
}

/// One rendered email's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// A campaign's templates compiled once, rendered per recipient.
pub struct Renderer<'s> {
    env: Environment<'s>,
    /// No text template: the text is made from each rendered HTML body.
    text_from_html: bool,
}

impl<'s> Renderer<'s> {
    pub fn new(subject: &'s str, html: &'s str, text: Option<&'s str>) -> Result<Self> {
        let mut env = Environment::new();
        env.add_template(SUBJECT, subject)
            .map_err(|e| syntax("subject", subject, &e))?;
        env.add_template(HTML, html).map_err(|e| syntax("html", html, &e))?;
        if let Some(text) = text {
            env.add_template(TEXT, text).map_err(|e| syntax("text", text, &e))?;
        }
        Ok(Self {
            env,
            text_from_html: text.is_none(),
        })
    }

    /// Renders for one recipient; `data` is [`recipient_data`]'s object.
    pub fn render(&self, data: &Value) -> Result<Rendered> {
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(data))
                .map_err(|e| DomainError::invalid(name.split('.').next().unwrap_or(name), e.to_string()))
        };
        let html = render(HTML)?;
        let text = if self.text_from_html {
            html2text::from_read(html.as_bytes(), TEXT_WIDTH)
                .map_err(|e| DomainError::invalid("html", e.to_string()))?
        } else {
            render(TEXT)?
        };
        Ok(Rendered {
            subject: render(SUBJECT)?.trim().to_owned(),
            html,
            text,
        })
    }
}

/// What a template sees of a recipient: the standard fields that are set (so `default(…)`
/// applies to the others), and `custom_fields`.
pub fn recipient_data(fields: &[(&str, Option<&str>)], custom: Map<String, Value>) -> Value {
    let mut data: Map<String, Value> = fields
        .iter()
        .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), Value::from(v))))
        .collect();
    data.insert("custom_fields".into(), Value::Object(custom));
    Value::Object(data)
}

/// [`recipient_data`] of a customer.
pub fn person_data(p: &Person, custom: Map<String, Value>) -> Value {
    recipient_data(
        &[
            ("email", p.email.as_deref()),
            ("first_name", p.first_name.as_deref()),
            ("last_name", p.last_name.as_deref()),
            ("phone", p.phone.as_deref()),
            ("external_id", p.external_id.as_deref()),
            ("locale", p.locale.as_deref()),
            ("timezone", p.timezone.as_deref()),
        ],
        custom,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_fallbacks_escaping_and_text_from_html() {
        let r = Renderer::new(
            "Hi {{ first_name | default('there') }}",
            "<p>Hello {{ first_name | default('there') }} ({{ custom_fields.plan }})</p>",
            None,
        )
        .unwrap();
        let data = recipient_data(
            &[("first_name", Some("<b>Ann</b> {{ 7*7 }}"))],
            json!({"plan": "pro"}).as_object().unwrap().clone(),
        );
        let out = r.render(&data).unwrap();
        assert_eq!(out.subject, "Hi <b>Ann</b> {{ 7*7 }}");
        assert_eq!(out.html, "<p>Hello &lt;b&gt;Ann&lt;&#x2f;b&gt; {{ 7*7 }} (pro)</p>");
        assert!(out.text.contains("Hello <b>Ann</b> {{ 7*7 }} (pro)"), "{}", out.text);
        let nobody = r.render(&recipient_data(&[("first_name", None)], Map::new())).unwrap();
        assert_eq!(nobody.subject, "Hi there");
    }

    #[test]
    fn syntax_errors_name_field_line_and_column() {
        let err = check("html", "<p>ok</p>\n<p>{{ name </p>").unwrap_err();
        let DomainError::Invalid(fields) = err else {
            panic!("{err:?}")
        };
        assert_eq!(fields[0].field, "html");
        assert!(fields[0].message.contains("line 2, column"), "{}", fields[0].message);
    }
}
