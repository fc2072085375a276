//! Table names: catalog, schema and table, quoted per dialect, and the
//! unquoted form Confluent's connector stores in source partitions.

use std::fmt;

use crate::dialect::{Dialect, Quoting};

/// A table as the database names it. PostgreSQL tables have a schema and
/// no catalog; MySQL/MariaDB tables have a catalog (the database) and no
/// schema, as their JDBC drivers report them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId {
    pub catalog: Option<String>,
    pub schema: Option<String>,
    pub table: String,
}

impl TableId {
    pub fn new(catalog: Option<&str>, schema: Option<&str>, table: &str) -> Self {
        Self {
            catalog: catalog.filter(|c| !c.is_empty()).map(str::to_string),
            schema: schema.filter(|s| !s.is_empty()).map(str::to_string),
            table: table.to_string(),
        }
    }

    fn parts(&self) -> impl Iterator<Item = &str> {
        self.catalog
            .as_deref()
            .into_iter()
            .chain(self.schema.as_deref())
            .chain(std::iter::once(self.table.as_str()))
    }

    /// `catalog.schema.table` without quotes, the parts that exist: the
    /// `table` value of Confluent's protocol-1 source partition.
    pub fn unquoted(&self) -> String {
        self.parts().collect::<Vec<_>>().join(".")
    }

    /// The name in SQL, quoted as `quoting` says.
    pub fn sql(&self, dialect: Dialect, quoting: Quoting) -> String {
        self.parts()
            .map(|p| dialect.ident(p, quoting))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Reads a name written by [`TableId::sql`] with [`Quoting::Always`]
    /// (how task configs carry tables) or a plain dotted name. A name
    /// with one part is a table; two parts are schema.table on PostgreSQL
    /// and catalog.table on MySQL; three are catalog.schema.table.
    pub fn parse(dialect: Dialect, text: &str) -> Result<Self, String> {
        let parts = split_identifier(dialect, text)?;
        let p = |i: usize| parts.get(i).map(String::as_str);
        Ok(match (parts.len(), dialect) {
            (1, _) => Self::new(None, None, &parts[0]),
            (2, Dialect::Postgres) => Self::new(None, p(0), &parts[1]),
            (2, Dialect::MySql) => Self::new(p(0), None, &parts[1]),
            (3, _) => Self::new(p(0), p(1), &parts[2]),
            _ => return Err(format!("'{text}' is not a table name")),
        })
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.unquoted())
    }
}

/// Splits `a."b.c".d` into its parts, undoing quotes (doubled quote
/// characters inside quotes stand for one).
pub fn split_identifier(dialect: Dialect, text: &str) -> Result<Vec<String>, String> {
    let q = dialect.quote_char();
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        if c == q && cur.is_empty() && !quoted_part {
            quoted_part = true;
            loop {
                match chars.next() {
                    Some(c2) if c2 == q => {
                        if chars.peek() == Some(&q) {
                            chars.next();
                            cur.push(q);
                        } else {
                            break;
                        }
                    }
                    Some(c2) => cur.push(c2),
                    None => return Err(format!("unterminated quote in '{text}'")),
                }
            }
        } else if c == '.' {
            parts.push(std::mem::take(&mut cur));
            quoted_part = false;
        } else if quoted_part {
            return Err(format!("unexpected '{c}' after a quoted name in '{text}'"));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    if parts.iter().any(String::is_empty) {
        return Err(format!("empty name part in '{text}'"));
    }
    Ok(parts)
}

/// Splits a list of names written with [`TableId::sql`], separated by
/// commas outside quotes.
pub fn split_list(dialect: Dialect, text: &str) -> Result<Vec<TableId>, String> {
    let q = dialect.quote_char();
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == q {
            in_quotes = !in_quotes;
        } else if c == ',' && !in_quotes {
            out.push(TableId::parse(dialect, &text[start..i])?);
            start = i + 1;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(TableId::parse(dialect, &text[start..])?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_quoting() {
        let t = TableId::new(None, Some("public"), "we\"ird, name");
        let sql = t.sql(Dialect::Postgres, Quoting::Always);
        assert_eq!(sql, "\"public\".\"we\"\"ird, name\"");
        assert_eq!(TableId::parse(Dialect::Postgres, &sql).unwrap(), t);
        assert_eq!(t.unquoted(), "public.we\"ird, name");
        let m = TableId::new(Some("shop"), None, "orders");
        assert_eq!(m.sql(Dialect::MySql, Quoting::Always), "`shop`.`orders`");
        assert_eq!(m.sql(Dialect::MySql, Quoting::Never), "shop.orders");
        assert_eq!(TableId::parse(Dialect::MySql, "shop.orders").unwrap(), m);
        let list = format!(
            "{},{}",
            sql,
            TableId::new(None, Some("s"), "t").sql(Dialect::Postgres, Quoting::Always)
        );
        let parsed = split_list(Dialect::Postgres, &list).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], t);
        assert!(TableId::parse(Dialect::Postgres, "a..b").is_err());
        assert!(TableId::parse(Dialect::Postgres, "\"a").is_err());
    }
}
