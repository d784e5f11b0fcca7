//! Opens and clicks written straight from their message rows: the hits are joined to
//! `email_messages` once, as the rows [`found`] names, and each hit's email event and domain
//! event are inserted from them, so the messages are not read first in a round trip of their
//! own (on SQLite that read was a third of the one writer's time) nor once per insert (on
//! PostgreSQL the second lookup was a sixth of its CPU per hit). The ids of the events written
//! come back (`RETURNING`), which tells the writer which hits found their message. Links are
//! public and their tokens were checked, so the message may belong to any tenant: each row
//! takes the tenant of its message, and a hit that came in on a tenant's tracking domain
//! matches only that tenant's messages.

use super::dialect;
use super::one_trip::Shared;
use super::sql::Sql;
use super::Backend;

/// An open (no `url`) or a click, with the ids its two rows take if its message is found.
#[derive(Clone, Copy)]
pub struct Hit<'a> {
    pub event_id: &'a str,
    pub domain_event_id: &'a str,
    pub message_id: &'a str,
    pub url: Option<&'a str>,
    /// The tenant whose tracking domain the hit came in on.
    pub host_tenant: Option<&'a str>,
}

impl Hit<'_> {
    fn kind(&self) -> &'static str {
        match self.url {
            Some(_) => "clicked",
            None => "opened",
        }
    }
}

/// The name [`statements`] read the found hits by.
const FOUND: &str = "hits_found";

/// The hits whose message is here, each with its message's columns, for
/// [`super::Store::write_at_once`]'s `with`.
pub fn found(hits: &[Hit<'_>]) -> Shared {
    let mut rows = Sql::new(
        "SELECT v.column1, v.column2, v.column4, v.column5, m.id, m.tenant_id, m.campaign_id, \
         m.customer_id, m.email",
    );
    from_hits(&mut rows, hits);
    Shared {
        name: FOUND,
        columns: &[
            "event_id",
            "domain_event_id",
            "kind",
            "url",
            "message_id",
            "tenant_id",
            "campaign_id",
            "customer_id",
            "email",
        ],
        rows,
    }
}

/// The statements recording the [`found`] hits at `at` (`occurred_at` is its RFC 3339 text),
/// for [`super::Store::write_at_once`]; they return the event id of every hit recorded. The
/// domain event's data is what `domain::email::message_events::data` builds, plus the `url` of
/// a click.
pub fn statements(backend: Backend, at: i64, occurred_at: &str) -> Vec<Sql> {
    let (open, close) = dialect::json_object_as_text(backend);
    let mut domain = Sql::new(
        "INSERT INTO domain_events (id, tenant_id, event_type, data, occurred_at) \
         SELECT f.domain_event_id, f.tenant_id, 'message.' || f.kind, CASE WHEN f.url = '' THEN ",
    );
    for click in [false, true] {
        domain
            .push(open)
            .push(
                "'message_id', f.message_id, 'channel', 'email', 'campaign_id', f.campaign_id, \
                 'customer_id', f.customer_id, 'to', f.email, 'occurred_at', CAST(",
            )
            .bind(occurred_at)
            .push(" AS TEXT)")
            .push(if click { ", 'url', f.url" } else { "" })
            .push(close)
            .push(if click { " END, " } else { " ELSE " });
    }
    domain.bind(at).push(&format!(" FROM {FOUND} f"));

    let mut events = Sql::new(
        "INSERT INTO email_events (id, tenant_id, campaign_id, message_id, kind, url, occurred_at) \
         SELECT f.event_id, f.tenant_id, f.campaign_id, f.message_id, f.kind, NULLIF(f.url, ''), ",
    );
    events.bind(at).push(&format!(" FROM {FOUND} f RETURNING id"));
    // Last, so PostgreSQL's chain returns its rows.
    vec![domain, events]
}

/// ` FROM` the hits joined to their messages. The statement's text depends only on the number
/// of rows, padded to a power of two with rows that match no message, so a few statements serve
/// every batch and stay prepared (with a text per batch size, PostgreSQL planned them over and
/// over: 163 µs of its CPU per hit instead of 106); absent values are bound as `''`, not NULL,
/// for the same reason. A click's `url` is never empty: only `http(s)` links are tracked.
fn from_hits(sql: &mut Sql, hits: &[Hit<'_>]) {
    const NOTHING: Hit<'static> = Hit {
        event_id: "",
        domain_event_id: "",
        message_id: "",
        url: None,
        host_tenant: None,
    };
    let padding = hits.len().next_power_of_two() - hits.len();
    sql.push(" FROM (VALUES ");
    sql.push_rows(hits.iter().chain(std::iter::repeat_n(&NOTHING, padding)), |sql, h| {
        sql.bind_separated([
            h.event_id,
            h.domain_event_id,
            h.message_id,
            h.kind(),
            h.url.unwrap_or(""),
            h.host_tenant.unwrap_or(""),
        ]);
    });
    sql.push(
        ") AS v JOIN email_messages m ON m.id = v.column3 \
         WHERE v.column6 = '' OR m.tenant_id = v.column6",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_found_rows_text_depends_only_on_the_number_of_hits_rounded_up_to_a_power_of_two() {
        let open = Hit {
            event_id: "eev_1",
            domain_event_id: "dev_1",
            message_id: "msg_1",
            url: None,
            host_tenant: None,
        };
        let click = Hit {
            event_id: "eev_2",
            domain_event_id: "dev_2",
            message_id: "msg_2",
            url: Some("https://x.test"),
            host_tenant: Some("ten_1"),
        };
        let a = found(&[open, click, open]);
        let b = found(&[click, open, click, click]);
        assert_eq!(a.rows.text(), b.rows.text());
        let five = found(&[open; 5]);
        assert_ne!(five.rows.text(), a.rows.text(), "eight rows, not four");
    }
}
