//! A statement built at run time with numbered placeholders: values are always bound, never
//! spliced into the text. Used where filters are optional (lists, segments).

use std::borrow::Cow;

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, FromRow};

use super::Conn;

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Int(i64),
    Float(f64),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(v)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
    planned_per_call: bool,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
            planned_per_call: false,
        }
    }

    /// Has PostgreSQL plan this statement for its values at every call instead of caching a
    /// generic plan: for filters whose selectivity depends on the value (a tenant, a tag, a
    /// field range), where a generic plan took 1 s for a 1 ms page over 1M customers. It costs
    /// a parse and a round trip per call, so only such reads ask for it. Carried by
    /// [`Sql::append`] into the statements a fragment joins.
    pub fn planned_per_call(&mut self) -> &mut Self {
        self.planned_per_call = true;
        self
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        use std::fmt::Write;
        self.args.push(value.into());
        // Formatting in place: a bulk insert binds thousands of values.
        let _ = write!(self.text, "${}", self.args.len());
        self
    }

    /// Appends `(` placeholders `)` for a non-empty list.
    pub fn bind_list<A: Into<Arg>>(&mut self, values: impl IntoIterator<Item = A>) -> &mut Self {
        self.push("(").bind_separated(values).push(")")
    }

    /// Appends comma-separated placeholders for `values`, for a list or an `ARRAY[…]`.
    pub fn bind_separated<A: Into<Arg>>(&mut self, values: impl IntoIterator<Item = A>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self
    }

    /// Binds `value`, or writes a literal NULL: sqlx 0.8's `Any` driver sends a NULL without the
    /// column's type (a missing f64 as a float4, which then poisons the cached PostgreSQL
    /// statement for real values).
    pub fn bind_opt<A: Into<Arg>>(&mut self, value: Option<A>) -> &mut Self {
        match value {
            Some(v) => self.bind(v),
            None => self.push("NULL"),
        }
    }

    /// Appends `(…), (…)`, one tuple per row written by `row`: a multi-row `VALUES`.
    pub fn push_rows<T>(&mut self, rows: impl IntoIterator<Item = T>, mut row: impl FnMut(&mut Sql, T)) -> &mut Self {
        for (i, r) in rows.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            row(self, r);
            self.push(")");
        }
        self
    }

    /// Appends another statement fragment, renumbering its placeholders.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        let offset = self.args.len();
        let mut rest = other.text.as_str();
        while let Some(pos) = rest.find('$') {
            self.text.push_str(&rest[..pos]);
            let digits: String = rest[pos + 1..].chars().take_while(char::is_ascii_digit).collect();
            match digits.parse::<usize>() {
                Ok(n) => self.text.push_str(&format!("${}", n + offset)),
                Err(_) => self.text.push('$'),
            }
            rest = &rest[pos + 1 + digits.len()..];
        }
        self.text.push_str(rest);
        self.args.extend(other.args.iter().cloned());
        self.planned_per_call |= other.planned_per_call;
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The statement text for the connection's backend. SQLite gets anonymous `?` placeholders:
    /// it resolves `$n` names with a linear scan per parameter, which makes binding a multi-row
    /// insert quadratic (measured: 43% of an import's time). Placeholders appear in argument
    /// order, so the rewrite is positional.
    fn text_for(&self, conn: &Conn) -> Cow<'_, str> {
        if !is_sqlite(conn) {
            return Cow::Borrowed(&self.text);
        }
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let digits = rest[pos + 1..].bytes().take_while(u8::is_ascii_digit).count();
            out.push(if digits > 0 { '?' } else { '$' });
            rest = &rest[pos + 1 + digits..];
        }
        out.push_str(rest);
        Cow::Owned(out)
    }

    fn bind_all<'q, Q: Bindable<'q>>(&'q self, conn: &Conn, mut q: Q) -> Q {
        // An unnamed statement is planned with the values bound to it.
        q = q.persistent(!self.planned_per_call || is_sqlite(conn));
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind_text(v.as_str()),
                Arg::Int(v) => q.bind_int(*v),
                Arg::Float(v) => q.bind_float(*v),
            };
        }
        q
    }

    pub async fn execute(&self, conn: &mut Conn) -> Result<AnyQueryResult, sqlx::Error> {
        let text = self.text_for(conn);
        self.bind_all(conn, sqlx::query(&text)).execute(&mut *conn).await
    }

    pub async fn fetch_all<T>(&self, conn: &mut Conn) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        let text = self.text_for(conn);
        self.bind_all(conn, sqlx::query_as::<_, T>(&text))
            .fetch_all(&mut *conn)
            .await
    }

    pub async fn fetch_scalar<T>(&self, conn: &mut Conn) -> Result<T, sqlx::Error>
    where
        (T,): for<'r> FromRow<'r, AnyRow>,
        T: Send + Unpin,
    {
        let text = self.text_for(conn);
        self.bind_all(conn, sqlx::query_scalar::<_, T>(&text))
            .fetch_one(&mut *conn)
            .await
    }

    pub async fn fetch_scalars<T>(&self, conn: &mut Conn) -> Result<Vec<T>, sqlx::Error>
    where
        (T,): for<'r> FromRow<'r, AnyRow>,
        T: Send + Unpin,
    {
        let text = self.text_for(conn);
        self.bind_all(conn, sqlx::query_scalar::<_, T>(&text))
            .fetch_all(&mut *conn)
            .await
    }
}

/// Whether `conn` is SQLite's, for SQL that differs by backend where only a connection is at hand.
pub(super) fn is_sqlite(conn: &Conn) -> bool {
    conn.backend_name() == "SQLite"
}

/// The three sqlx query kinds, bound the same way.
trait Bindable<'q>: Sized {
    fn persistent(self, v: bool) -> Self;
    fn bind_text(self, v: &'q str) -> Self;
    fn bind_int(self, v: i64) -> Self;
    fn bind_float(self, v: f64) -> Self;
}

macro_rules! bindable {
    ($ty:ty; $($generic:ident)?; $($bound:tt)*) => {
        impl<'q $(, $generic)?> Bindable<'q> for $ty
        where
            $($bound)*
        {
            fn persistent(self, v: bool) -> Self {
                self.persistent(v)
            }
            fn bind_text(self, v: &'q str) -> Self {
                self.bind(v)
            }
            fn bind_int(self, v: i64) -> Self {
                self.bind(v)
            }
            fn bind_float(self, v: f64) -> Self {
                self.bind(v)
            }
        }
    };
}

bindable!(Query<'q, Any, AnyArguments<'q>>; ; );
bindable!(QueryAs<'q, Any, O, AnyArguments<'q>>; O; O: Send + Unpin + for<'r> FromRow<'r, AnyRow>);
bindable!(QueryScalar<'q, Any, O, AnyArguments<'q>>; O; (O,): for<'r> FromRow<'r, AnyRow>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order_and_renumber_on_append() {
        let mut inner = Sql::new("x = ");
        inner
            .planned_per_call()
            .bind("a")
            .push(" AND y IN ")
            .bind_list([1i64, 2]);
        let mut outer = Sql::new("SELECT 1 WHERE t = ");
        outer.bind("t").push(" AND ").append(&inner);
        assert_eq!(outer.text(), "SELECT 1 WHERE t = $1 AND x = $2 AND y IN ($3, $4)");
        assert_eq!(
            outer.args,
            vec![Arg::from("t"), Arg::from("a"), Arg::Int(1), Arg::Int(2)]
        );
        assert!(
            outer.planned_per_call,
            "a selective fragment makes its statement one too"
        );
    }

    #[test]
    fn rows_are_tuples_and_absent_values_literal_nulls() {
        let mut sql = Sql::new("INSERT INTO t (a, b) VALUES ");
        sql.push_rows([("x", Some(1i64)), ("y", None)], |sql, (a, b)| {
            sql.bind(a).push(", ").bind_opt(b);
        });
        assert_eq!(sql.text(), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, NULL)");
        assert_eq!(sql.args, vec![Arg::from("x"), Arg::Int(1), Arg::from("y")]);
    }
}
