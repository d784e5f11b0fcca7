//! The small HTML pages public links answer with (unsubscribe, sender verification).

use poem_openapi::payload::Html;

/// A minimal page titled `title` around `body` (already HTML).
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{title}</title></head><body>{body}</body></html>"
    ))
}

/// `text` with the characters that mean something in HTML escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
