//! Which schemas, tables and columns are captured, and which columns make
//! a table's key: Debezium's include/exclude lists (regular expressions
//! matched, case-insensitively, against the whole name) and
//! `message.key.columns`.

use regex::{Regex, RegexBuilder};
use sluice_connect_api::config::ConfigValue;

pub fn regex_list_ok(v: &ConfigValue) -> Result<(), String> {
    if let ConfigValue::List(items) = v {
        for i in items {
            whole(i).map_err(|e| format!("'{i}' is not a valid regex: {e}"))?;
        }
    }
    Ok(())
}

fn whole(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{})$", pattern.trim()))
        .case_insensitive(true)
        .build()
}

fn compile(list: &[String]) -> Result<Vec<Regex>, String> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| whole(s).map_err(|e| format!("'{s}' is not a valid regex: {e}")))
        .collect()
}

/// An include list, an exclude list, or neither.
#[derive(Debug, Clone, Default)]
struct IncludeExclude {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl IncludeExclude {
    fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        Ok(Self {
            include: compile(include)?,
            exclude: compile(exclude)?,
        })
    }
    fn allows(&self, name: &str) -> bool {
        if !self.include.is_empty() {
            return self.include.iter().any(|r| r.is_match(name));
        }
        !self.exclude.iter().any(|r| r.is_match(name))
    }
}

/// `message.key.columns`: `<table regex>:<col>,<col>;<table regex>:<col>`.
#[derive(Debug, Clone, Default)]
pub struct KeyColumns(Vec<(Regex, Vec<String>)>);

impl KeyColumns {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (table, cols) = part.rsplit_once(':').ok_or_else(|| {
                format!(
                    "'{part}' is not <table>:<column>[,<column>...] (entries are separated by ';')"
                )
            })?;
            let cols: Vec<String> = cols
                .split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            if cols.is_empty() {
                return Err(format!("'{part}' names no key column"));
            }
            let re = whole(table).map_err(|e| format!("'{table}' is not a valid regex: {e}"))?;
            out.push((re, cols));
        }
        Ok(Self(out))
    }

    /// The key columns configured for `schema.table`, if any.
    pub fn for_table(&self, qualified: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(r, _)| r.is_match(qualified))
            .map(|(_, c)| c.as_slice())
    }
}

/// The connector's filters.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    schemas: IncludeExclude,
    tables: IncludeExclude,
    columns: IncludeExclude,
    pub key_columns: KeyColumns,
}

impl Filters {
    pub fn new(
        schema_include: &[String],
        schema_exclude: &[String],
        table_include: &[String],
        table_exclude: &[String],
        column_include: &[String],
        column_exclude: &[String],
        key_columns: &str,
    ) -> Result<Self, String> {
        Ok(Self {
            schemas: IncludeExclude::new(schema_include, schema_exclude)?,
            tables: IncludeExclude::new(table_include, table_exclude)?,
            columns: IncludeExclude::new(column_include, column_exclude)?,
            key_columns: KeyColumns::parse(key_columns)?,
        })
    }

    /// Whether `schema.table` is captured. System schemas never are.
    pub fn table(&self, schema: &str, table: &str) -> bool {
        if matches!(schema, "pg_catalog" | "information_schema") || schema.starts_with("pg_") {
            return false;
        }
        self.schemas.allows(schema) && self.tables.allows(&format!("{schema}.{table}"))
    }

    /// Whether a column of a captured table is kept.
    pub fn column(&self, schema: &str, table: &str, column: &str) -> bool {
        self.columns.allows(&format!("{schema}.{table}.{column}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn lists_match_whole_names() {
        let f = Filters::new(
            &[],
            &[],
            &s(&["public.orders.*"]),
            &[],
            &[],
            &s(&[".*\\.secret"]),
            "",
        )
        .unwrap();
        assert!(f.table("public", "orders"));
        assert!(f.table("public", "Orders_2024"));
        assert!(!f.table("public", "users"));
        assert!(!f.table("other", "orders"));
        assert!(!f.table("pg_catalog", "orders"));
        assert!(f.column("public", "orders", "id"));
        assert!(!f.column("public", "orders", "secret"));
        let f = Filters::new(&[], &s(&["audit"]), &[], &[], &[], &[], "").unwrap();
        assert!(!f.table("audit", "log"));
        assert!(f.table("public", "log"));
    }

    #[test]
    fn key_columns_parse() {
        let k = KeyColumns::parse("public.a:x,y; (.*).b:z").unwrap();
        assert_eq!(k.for_table("public.a").unwrap(), ["x", "y"]);
        assert_eq!(k.for_table("s.b").unwrap(), ["z"]);
        assert!(k.for_table("public.c").is_none());
        assert!(KeyColumns::parse("public.a").is_err());
        assert!(KeyColumns::parse("public.a:").is_err());
        assert!(KeyColumns::parse("(:x").is_err());
    }
}
