//! Open and click tracking. Each campaign email gets its links rewritten to
//! `/t/c/<token>` and a 1×1 pixel `/t/o/<token>` before `</body>`; a token is the message id
//! (and for a click the target URL) signed with the link key, so a forged or altered token
//! finds nothing (404) and never redirects anywhere it was not sent to. Hits are written by the
//! group-committing [`recorder`](crate::domain::email::recorder).

use std::sync::LazyLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use regex::{Captures, Regex};

use crate::domain::email::links;
use crate::domain::email::recorder::Hit;
use crate::domain::{DomainError, Result};
use crate::ids::TenantId;
use crate::state::AppState;

const OPEN: &str = "open";
const CLICK: &str = "click";

/// `href` attributes of `<a>` tags, quoted either way.
static HREF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)(<a\s[^>]*?\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')"#).expect("a valid pattern"));

/// The open pixel's URL of a message.
pub fn pixel_url(base: &str, key: &[u8], message_id: &str) -> String {
    format!("{base}/t/o/{}", links::sign(key, OPEN, message_id))
}

/// The tracked URL that redirects to `url` for a message.
pub fn click_url(base: &str, key: &[u8], message_id: &str, url: &str) -> String {
    let payload = format!("{message_id}.{}", URL_SAFE_NO_PAD.encode(url));
    format!("{base}/t/c/{}", links::sign(key, CLICK, &payload))
}

/// What HTML escaping does to URLs in attributes, undone (minijinja escapes `&` and `/`).
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Rewrites every `http(s)` link of `html` to its tracked URL and adds the open pixel.
pub fn instrument(html: &str, base: &str, key: &[u8], message_id: &str) -> String {
    let linked = HREF.replace_all(html, |c: &Captures| {
        let raw = c.get(2).or_else(|| c.get(3)).map_or("", |m| m.as_str());
        let url = unescape(raw.trim());
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let tracked = click_url(base, key, message_id, &url);
            format!("{}\"{}\"", &c[1], tracked.replace('&', "&amp;"))
        } else {
            c[0].to_owned()
        }
    });
    let pixel = format!(
        "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">",
        pixel_url(base, key, message_id)
    );
    match linked.to_ascii_lowercase().rfind("</body>") {
        Some(at) => format!("{}{pixel}{}", &linked[..at], &linked[at..]),
        None => format!("{linked}{pixel}"),
    }
}

/// Records an open; `NotFound` for a forged token or a message not here.
#[tracing::instrument(skip_all)]
pub async fn open(state: &AppState, token: &str, host_tenant: Option<&TenantId>) -> Result<()> {
    let id = links::verify(&state.link_key, OPEN, token).ok_or(DomainError::NotFound)?;
    let hit = Hit {
        message_id: id.to_owned(),
        url: None,
        host_tenant: host_tenant.cloned(),
    };
    state.tracking_recorder.record(hit).await
}

/// Records a click and answers where to redirect; `NotFound` for a forged token or a message
/// not here.
#[tracing::instrument(skip_all)]
pub async fn click(state: &AppState, token: &str, host_tenant: Option<&TenantId>) -> Result<String> {
    let payload = links::verify(&state.link_key, CLICK, token).ok_or(DomainError::NotFound)?;
    let (id, url) = payload.split_once('.').ok_or(DomainError::NotFound)?;
    let url = URL_SAFE_NO_PAD
        .decode(url)
        .ok()
        .and_then(|u| String::from_utf8(u).ok())
        .ok_or(DomainError::NotFound)?;
    let hit = Hit {
        message_id: id.to_owned(),
        url: Some(url.clone()),
        host_tenant: host_tenant.cloned(),
    };
    state.tracking_recorder.record(hit).await?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_rewritten_and_the_pixel_added_before_the_body_ends() {
        let html = r#"<body><a href="https://x.test/a?b=1&amp;c=2">x</a> <A class=k HREF='http://y.test'>y</A> <a href="mailto:m@x.test">m</a></body>"#;
        let out = instrument(html, "https://t.test", b"k", "msg_1");
        assert!(!out.contains("https://x.test"), "{out}");
        assert!(!out.contains("http://y.test"), "{out}");
        assert!(out.contains(r#"href="mailto:m@x.test""#), "{out}");
        assert_eq!(out.matches("https://t.test/t/c/").count(), 2, "{out}");
        assert!(out.ends_with(r#"style="display:none"></body>"#), "{out}");
        let token = out.split("/t/c/").nth(1).unwrap().split('"').next().unwrap();
        let payload = links::verify(b"k", CLICK, token).unwrap();
        let (id, url) = payload.split_once('.').unwrap();
        assert_eq!(id, "msg_1");
        assert_eq!(URL_SAFE_NO_PAD.decode(url).unwrap(), b"https://x.test/a?b=1&c=2");
    }
}
