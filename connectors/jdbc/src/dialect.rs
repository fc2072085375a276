//! What differs in SQL between PostgreSQL and MySQL/MariaDB.

use sluice_connect_api::config::ConfigEnum;

/// `quote.sql.identifiers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quoting {
    #[default]
    Always,
    Never,
}

impl ConfigEnum for Quoting {
    fn variants() -> &'static [(&'static str, Self)] {
        &[("always", Quoting::Always), ("never", Quoting::Never)]
    }
}

/// The SQL dialect of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    /// MySQL and MariaDB.
    MySql,
}

impl Dialect {
    pub fn quote_char(self) -> char {
        match self {
            Dialect::Postgres => '"',
            Dialect::MySql => '`',
        }
    }

    /// One identifier, quoted unless `quoting` is `Never`.
    pub fn ident(self, name: &str, quoting: Quoting) -> String {
        match quoting {
            Quoting::Never => name.to_string(),
            Quoting::Always => {
                let q = self.quote_char();
                let mut out = String::with_capacity(name.len() + 2);
                out.push(q);
                for c in name.chars() {
                    if c == q {
                        out.push(q);
                    }
                    out.push(c);
                }
                out.push(q);
                out
            }
        }
    }

    /// Placeholder for the `n`th (1-based) parameter.
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::MySql => "?".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_quotes_doubled() {
        assert_eq!(
            Dialect::Postgres.ident("a\"b", Quoting::Always),
            "\"a\"\"b\""
        );
        assert_eq!(Dialect::MySql.ident("a`b", Quoting::Always), "`a``b`");
        assert_eq!(Dialect::MySql.ident("ab", Quoting::Never), "ab");
        assert_eq!(Dialect::Postgres.param(2), "$2");
        assert_eq!(Dialect::MySql.param(2), "?");
    }
}
