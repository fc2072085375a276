//! Which tables the connector copies and how they split over tasks.

use regex::Regex;

use crate::dialect::{Dialect, Quoting};
use crate::table_id::TableId;

/// `table.whitelist`/`table.blacklist` (exact names) or
/// `table.include.list`/`table.exclude.list` (regexes over the whole
/// qualified name).
#[derive(Debug, Clone)]
pub enum TableFilter {
    All,
    Whitelist(Vec<String>),
    Blacklist(Vec<String>),
    Regex {
        include: Vec<Regex>,
        exclude: Vec<Regex>,
    },
}

impl TableFilter {
    pub fn new(
        whitelist: &[String],
        blacklist: &[String],
        include: &[String],
        exclude: &[String],
    ) -> Result<Self, String> {
        let compile = |list: &[String]| -> Result<Vec<Regex>, String> {
            list.iter()
                .map(|r| Regex::new(&format!("^(?:{r})$")).map_err(|e| format!("'{r}': {e}")))
                .collect()
        };
        Ok(if !include.is_empty() || !exclude.is_empty() {
            TableFilter::Regex {
                include: compile(include)?,
                exclude: compile(exclude)?,
            }
        } else if !whitelist.is_empty() {
            TableFilter::Whitelist(whitelist.iter().map(|s| s.trim().to_string()).collect())
        } else if !blacklist.is_empty() {
            TableFilter::Blacklist(blacklist.iter().map(|s| s.trim().to_string()).collect())
        } else {
            TableFilter::All
        })
    }

    /// A listed name matches a table when it is its unquoted qualified
    /// name, its quoted qualified name or its bare name (Confluent's rule).
    fn listed(dialect: Dialect, names: &[String], t: &TableId) -> bool {
        let unquoted = t.unquoted();
        let quoted = t.sql(dialect, Quoting::Always);
        names
            .iter()
            .any(|n| *n == unquoted || *n == quoted || *n == t.table)
    }

    pub fn keeps(&self, dialect: Dialect, t: &TableId) -> bool {
        match self {
            TableFilter::All => true,
            TableFilter::Whitelist(names) => Self::listed(dialect, names, t),
            TableFilter::Blacklist(names) => !Self::listed(dialect, names, t),
            TableFilter::Regex { include, exclude } => {
                let name = t.unquoted();
                (include.is_empty() || include.iter().any(|r| r.is_match(&name)))
                    && !exclude.iter().any(|r| r.is_match(&name))
            }
        }
    }

    pub fn apply(&self, dialect: Dialect, tables: Vec<TableId>) -> Vec<TableId> {
        tables
            .into_iter()
            .filter(|t| self.keeps(dialect, t))
            .collect()
    }
}

/// Tables whose bare names collide (their topics would be the same).
pub fn duplicate_bare_names(tables: &[TableId]) -> Vec<String> {
    let mut names: Vec<&str> = tables.iter().map(|t| t.table.as_str()).collect();
    names.sort_unstable();
    let mut dups: Vec<String> = names
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].to_string())
        .collect();
    dups.dedup();
    dups
}

/// Kafka Connect's `ConnectorUtils.groupPartitions`: `groups` contiguous
/// chunks, the first `len % groups` one longer.
pub fn group<T: Clone>(items: &[T], groups: usize) -> Vec<Vec<T>> {
    let groups = groups.max(1).min(items.len().max(1));
    let per = items.len() / groups;
    let extra = items.len() % groups;
    let mut out = Vec::with_capacity(groups);
    let mut start = 0;
    for g in 0..groups {
        let n = per + usize::from(g < extra);
        out.push(items[start..start + n].to_vec());
        start += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(s: &str, t: &str) -> TableId {
        TableId::new(None, Some(s), t)
    }

    #[test]
    fn exact_names_match_three_ways() {
        let f = TableFilter::new(
            &[
                "users".into(),
                "\"sales\".\"orders\"".into(),
                "hr.staff".into(),
            ],
            &[],
            &[],
            &[],
        )
        .unwrap();
        assert!(f.keeps(Dialect::Postgres, &pg("public", "users")));
        assert!(f.keeps(Dialect::Postgres, &pg("sales", "orders")));
        assert!(!f.keeps(Dialect::Postgres, &pg("public", "orders")));
        assert!(f.keeps(Dialect::Postgres, &pg("hr", "staff")));
        assert!(!f.keeps(Dialect::Postgres, &pg("hr", "Staff")));
        let b = TableFilter::new(&[], &["users".into()], &[], &[]).unwrap();
        assert!(!b.keeps(Dialect::Postgres, &pg("x", "users")));
        assert!(b.keeps(Dialect::Postgres, &pg("x", "orders")));
    }

    #[test]
    fn regexes_match_the_whole_qualified_name() {
        let f = TableFilter::new(
            &[],
            &[],
            &["public\\..*".into()],
            &["public\\.tmp_.*".into()],
        )
        .unwrap();
        assert!(f.keeps(Dialect::Postgres, &pg("public", "users")));
        assert!(!f.keeps(Dialect::Postgres, &pg("public", "tmp_x")));
        assert!(!f.keeps(Dialect::Postgres, &pg("other", "users")));
        let f = TableFilter::new(&[], &[], &["users".into()], &[]).unwrap();
        assert!(
            !f.keeps(Dialect::Postgres, &pg("public", "users")),
            "full match, not search"
        );
        let ex = TableFilter::new(&[], &[], &[], &[".*\\.audit".into()]).unwrap();
        assert!(ex.keeps(Dialect::MySql, &TableId::new(Some("db"), None, "users")));
        assert!(!ex.keeps(Dialect::MySql, &TableId::new(Some("db"), None, "audit")));
    }

    #[test]
    fn groups_are_contiguous_like_kafka_connect() {
        assert_eq!(group(&[1, 2, 3, 4, 5], 2), vec![vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(group(&[1, 2], 5), vec![vec![1], vec![2]]);
        assert_eq!(group::<i32>(&[], 3), vec![Vec::<i32>::new()]);
        assert_eq!(
            duplicate_bare_names(&[pg("a", "t"), pg("b", "t"), pg("a", "u")]),
            vec!["t"]
        );
    }
}
