//! The few places SQLite and PostgreSQL differ, each behind one small function.

use super::sql::Sql;
use super::Backend;

/// A predicate on `c` (customers) true when, for every word, some indexed word starts with it.
/// Words are already lower-cased alphanumerics (`customers::search_words`), and are bound.
pub fn text_search(sql: &mut Sql, backend: Backend, words: &[String]) {
    match backend {
        Backend::Sqlite => {
            let query = words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND ");
            sql.push("c.rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ")
                .bind(query)
                .push(")");
        }
        Backend::Postgres => {
            let query = words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & ");
            sql.push("to_tsvector('simple', c.search_text) @@ to_tsquery('simple', ")
                .bind(query)
                .push(")");
        }
    }
}

/// An aggregate joining `column` with `separator`, in the column's order (SQLite 3.44+ and
/// PostgreSQL both take `ORDER BY` inside the aggregate; the names differ).
pub fn ordered_concat(backend: Backend, column: &str, separator: &str) -> String {
    let function = match backend {
        Backend::Sqlite => "group_concat",
        Backend::Postgres => "string_agg",
    };
    format!("{function}({column}, '{separator}' ORDER BY {column})")
}

/// What a JSON object built of `'key', value` pairs goes between, as text: SQLite's
/// `json_object` is text already; PostgreSQL's `json_build_object` is cast.
pub fn json_object_as_text(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Sqlite => ("json_object(", ")"),
        Backend::Postgres => ("CAST(json_build_object(", ") AS TEXT)"),
    }
}

/// The JSON functions a query builds one JSON text with.
pub struct JsonFunctions {
    /// Builds an array of its arguments.
    pub array: &'static str,
    /// Aggregates rows into one array.
    pub group: &'static str,
    /// Marks a subquery's text as JSON, so an array embeds it rather than quoting it (SQLite;
    /// PostgreSQL's `json` values embed as they are).
    pub embed: &'static str,
    /// The text of a floating-point column with every digit: SQLite's JSON and text
    /// conversions keep 15 significant digits, `%!.17g` all of them.
    pub number_text: fn(&str) -> String,
}

pub fn json_functions(backend: Backend) -> JsonFunctions {
    match backend {
        Backend::Sqlite => JsonFunctions {
            array: "json_array",
            group: "json_group_array",
            embed: "json",
            number_text: |column| format!("printf('%!.17g', {column})"),
        },
        Backend::Postgres => JsonFunctions {
            array: "json_build_array",
            group: "json_agg",
            embed: "",
            number_text: |column| format!("CAST({column} AS TEXT)"),
        },
    }
}

/// Row locking for a queue claim's inner SELECT. PostgreSQL skips rows another host is claiming,
/// so several hosts share one queue; SQLite has one writer at a time and the claim runs inside
/// `BEGIN IMMEDIATE`, so plain selection is already exclusive.
pub fn claim_lock(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    }
}
