//! Renders `data.template` (Jinja syntax) with `data.values`, turns the result from Markdown into
//! HTML and lists the links in it. It exists to be large: the compile benchmark needs a plugin
//! of about 2 MB whose code is real.

use minijinja::Environment;
use pulldown_cmark::{html, Parser};
use regex::Regex;
use switchboard_sdk::serde_json::{json, Value};
use switchboard_sdk::{plugin, Event, Plugin, Result};
use url::Url;

struct Large;

impl Plugin for Large {
    fn on_event(event: Event) -> Result<Value> {
        let template = event.data["template"].as_str().unwrap_or_default();
        let markdown = Environment::new()
            .render_str(template, &event.data["values"])
            .map_err(|e| e.to_string())?;
        let mut body = String::new();
        html::push_html(&mut body, Parser::new(&markdown));
        let href = Regex::new(r#"href="([^"]+)""#).map_err(|e| e.to_string())?;
        let links: Vec<String> = href
            .captures_iter(&body)
            .filter_map(|c| Url::parse(&c[1]).ok())
            .map(|u| u.host_str().unwrap_or_default().to_owned())
            .collect();
        Ok(json!({"html": body, "hosts": links}))
    }
}

plugin!(Large);
