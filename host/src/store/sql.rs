//! A statement built at run time with numbered placeholders: values are always bound, never
//! spliced into the text. Used where filters are optional (lists, segments).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, FromRow};

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
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `(` placeholders `)` for a non-empty list.
    pub fn bind_list<A: Into<Arg>>(&mut self, values: impl IntoIterator<Item = A>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
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
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::Int(v) => q.bind(*v),
                Arg::Float(v) => q.bind(*v),
            };
        }
        q
    }

    pub fn query_as<T>(&self) -> QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        let mut q = sqlx::query_as(&self.text);
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::Int(v) => q.bind(*v),
                Arg::Float(v) => q.bind(*v),
            };
        }
        q
    }

    pub fn query_scalar<T>(&self) -> QueryScalar<'_, Any, T, AnyArguments<'_>>
    where
        (T,): for<'r> FromRow<'r, AnyRow>,
    {
        let mut q = sqlx::query_scalar(&self.text);
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::Int(v) => q.bind(*v),
                Arg::Float(v) => q.bind(*v),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order_and_renumber_on_append() {
        let mut inner = Sql::new("x = ");
        inner.bind("a").push(" AND y IN ").bind_list([1i64, 2]);
        let mut outer = Sql::new("SELECT 1 WHERE t = ");
        outer.bind("t").push(" AND ").append(&inner);
        assert_eq!(outer.text(), "SELECT 1 WHERE t = $1 AND x = $2 AND y IN ($3, $4)");
        assert_eq!(
            outer.args,
            vec![Arg::from("t"), Arg::from("a"), Arg::Int(1), Arg::Int(2)]
        );
    }
}
