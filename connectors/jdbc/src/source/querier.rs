//! One table (or the query) of a task: the SQL each mode runs, its
//! position, and Confluent's source partitions and offsets.

use serde_json::{Value as Json, json};
use sluice_connect_api::{OffsetMap, SourceOffset, SourcePartition};

use super::config::Mode;
use crate::db::Param;
use crate::dialect::{Dialect, Quoting};
use crate::table_id::TableId;
use crate::types::time::MICROS_PER_SECOND;

pub const INCREMENTING_FIELD: &str = "incrementing";
pub const TIMESTAMP_FIELD: &str = "timestamp";
pub const TIMESTAMP_NANOS_FIELD: &str = "timestamp_nanos";

/// What a querier reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Table(TableId),
    Query(String),
}

/// Where a querier is: the last row read, in the mode's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// µs since the epoch.
    pub timestamp: Option<i64>,
    pub incrementing: Option<i64>,
}

impl Position {
    /// Confluent's offset map for `mode`.
    pub fn offset(&self, mode: Mode) -> SourceOffset {
        let ts = |us: i64| {
            let secs = us.div_euclid(MICROS_PER_SECOND);
            let sub = us.rem_euclid(MICROS_PER_SECOND);
            let ms = secs * 1000 + sub / 1000;
            (json!(ms), json!(sub * 1000))
        };
        match mode {
            Mode::Bulk => SourceOffset::empty(),
            Mode::Incrementing => match self.incrementing {
                Some(i) => SourceOffset::int(INCREMENTING_FIELD, i),
                None => SourceOffset::empty(),
            },
            Mode::Timestamp | Mode::TimestampIncrementing => {
                let mut fields = Vec::new();
                if let Some(us) = self.timestamp {
                    let (ms, nanos) = ts(us);
                    fields.push((TIMESTAMP_FIELD, ms));
                    fields.push((TIMESTAMP_NANOS_FIELD, nanos));
                }
                if mode == Mode::TimestampIncrementing
                    && let Some(i) = self.incrementing
                {
                    fields.push((INCREMENTING_FIELD, json!(i)));
                }
                SourceOffset::fields(fields)
            }
        }
    }

    /// Reads a stored offset (Confluent's or ours).
    pub fn from_offset(map: &OffsetMap) -> Self {
        let int = |k: &str| map.get(k).and_then(json_i64);
        let timestamp = int(TIMESTAMP_FIELD).map(|ms| {
            let secs = ms.div_euclid(1000);
            match int(TIMESTAMP_NANOS_FIELD) {
                Some(nanos) => secs * MICROS_PER_SECOND + nanos.div_euclid(1000),
                None => ms * 1000,
            }
        });
        Self {
            timestamp,
            incrementing: int(INCREMENTING_FIELD),
        }
    }
}

fn json_i64(v: &Json) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .or_else(|| v.as_f64().map(|f| f as i64))
}

/// Confluent's protocol-1 partition of a table (what incremental modes
/// write), the older form it still reads, and the query-mode partition.
pub fn partition_v1(table: &TableId) -> SourcePartition {
    let mut m = OffsetMap::new();
    m.insert("protocol".into(), json!("1"));
    m.insert("table".into(), json!(table.unquoted()));
    SourcePartition::new(m)
}

pub fn partition_v0(table: &TableId) -> SourcePartition {
    SourcePartition::one("table", table.table.clone())
}

pub fn partition_query() -> SourcePartition {
    SourcePartition::one("query", "query")
}

/// The columns a mode filters and orders by, resolved to names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria {
    pub mode: Mode,
    pub incrementing: Option<String>,
    pub timestamps: Vec<String>,
}

/// A statement and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Criteria {
    /// The statement for one run from `pos`, with `end` (µs) as the
    /// exclusive upper timestamp bound in timestamp modes. Table mode
    /// qualifies columns with the table; query mode appends the clauses
    /// to the query as written (Confluent's behaviour: a query with its
    /// own WHERE must be wrapped in a sub-select).
    pub fn sql(
        &self,
        dialect: Dialect,
        quoting: Quoting,
        target: &Target,
        pos: &Position,
        end: Option<i64>,
        suffix: &str,
    ) -> Sql {
        let (base, qualifier) = match target {
            Target::Table(t) => {
                let name = t.sql(dialect, quoting);
                (format!("SELECT * FROM {name}"), Some(name))
            }
            Target::Query(q) => (q.trim().to_string(), None),
        };
        let col = |c: &str| {
            let ident = dialect.ident(c, quoting);
            match &qualifier {
                Some(q) => format!("{q}.{ident}"),
                None => ident,
            }
        };
        let ts_expr = match self.timestamps.as_slice() {
            [] => String::new(),
            [one] => col(one),
            many => format!(
                "COALESCE({})",
                many.iter().map(|c| col(c)).collect::<Vec<_>>().join(",")
            ),
        };
        let inc = self.incrementing.as_deref().map(col);
        let mut text = base;
        let mut params = Vec::new();
        let mut n = 0;
        let mut p = |params: &mut Vec<Param>, v: Param| {
            n += 1;
            params.push(v);
            dialect.param(n)
        };
        match (self.mode, &inc) {
            (Mode::Incrementing, Some(i)) => {
                if let Some(last) = pos.incrementing {
                    let ph = p(&mut params, Param::Int(last));
                    text.push_str(&format!(" WHERE {i} > {ph}"));
                }
                text.push_str(&format!(" ORDER BY {i} ASC"));
            }
            (Mode::Timestamp, _) => {
                let end = end.unwrap_or(i64::MAX);
                match pos.timestamp {
                    Some(begin) => {
                        let a = p(&mut params, Param::Timestamp(begin));
                        let b = p(&mut params, Param::Timestamp(end));
                        text.push_str(&format!(" WHERE {ts_expr} > {a} AND {ts_expr} < {b}"));
                    }
                    None => {
                        let b = p(&mut params, Param::Timestamp(end));
                        text.push_str(&format!(" WHERE {ts_expr} < {b}"));
                    }
                }
                text.push_str(&format!(" ORDER BY {ts_expr} ASC"));
            }
            (Mode::TimestampIncrementing, Some(i)) => {
                let end = end.unwrap_or(i64::MAX);
                let e = p(&mut params, Param::Timestamp(end));
                match pos.timestamp {
                    Some(begin) => {
                        let b1 = p(&mut params, Param::Timestamp(begin));
                        let last = p(
                            &mut params,
                            Param::Int(pos.incrementing.unwrap_or(i64::MIN)),
                        );
                        let b2 = p(&mut params, Param::Timestamp(begin));
                        text.push_str(&format!(
                            " WHERE {ts_expr} < {e} AND (({ts_expr} = {b1} AND {i} > {last}) OR {ts_expr} > {b2})"
                        ));
                    }
                    None => text.push_str(&format!(" WHERE {ts_expr} < {e}")),
                }
                text.push_str(&format!(" ORDER BY {ts_expr},{i} ASC"));
            }
            _ => {}
        }
        let suffix = suffix.trim();
        if !suffix.is_empty() {
            text.push(' ');
            text.push_str(suffix);
        }
        Sql { text, params }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Target {
        Target::Table(TableId::new(None, Some("public"), "users"))
    }

    #[test]
    fn sql_per_mode_matches_confluent() {
        let inc = Criteria {
            mode: Mode::Incrementing,
            incrementing: Some("id".into()),
            timestamps: vec![],
        };
        let pos = Position {
            timestamp: None,
            incrementing: Some(41),
        };
        let s = inc.sql(Dialect::Postgres, Quoting::Always, &users(), &pos, None, "");
        assert_eq!(
            s.text,
            "SELECT * FROM \"public\".\"users\" WHERE \"public\".\"users\".\"id\" > $1 ORDER BY \"public\".\"users\".\"id\" ASC"
        );
        assert_eq!(s.params, vec![Param::Int(41)]);
        let s = inc.sql(
            Dialect::Postgres,
            Quoting::Never,
            &users(),
            &Position::default(),
            None,
            " LIMIT 10 ",
        );
        assert_eq!(
            s.text,
            "SELECT * FROM public.users ORDER BY public.users.id ASC LIMIT 10"
        );

        let ts = Criteria {
            mode: Mode::Timestamp,
            incrementing: None,
            timestamps: vec!["a".into(), "b".into()],
        };
        let pos = Position {
            timestamp: Some(5),
            incrementing: None,
        };
        let s = ts.sql(
            Dialect::MySql,
            Quoting::Always,
            &Target::Query("SELECT * FROM t".into()),
            &pos,
            Some(9),
            "",
        );
        assert_eq!(
            s.text,
            "SELECT * FROM t WHERE COALESCE(`a`,`b`) > ? AND COALESCE(`a`,`b`) < ? ORDER BY COALESCE(`a`,`b`) ASC"
        );
        assert_eq!(s.params, vec![Param::Timestamp(5), Param::Timestamp(9)]);

        let both = Criteria {
            mode: Mode::TimestampIncrementing,
            incrementing: Some("id".into()),
            timestamps: vec!["u".into()],
        };
        let pos = Position {
            timestamp: Some(5),
            incrementing: Some(7),
        };
        let s = both.sql(
            Dialect::Postgres,
            Quoting::Always,
            &Target::Query("SELECT * FROM t".into()),
            &pos,
            Some(9),
            "",
        );
        assert_eq!(
            s.text,
            "SELECT * FROM t WHERE \"u\" < $1 AND ((\"u\" = $2 AND \"id\" > $3) OR \"u\" > $4) ORDER BY \"u\",\"id\" ASC"
        );
        assert_eq!(
            s.params,
            vec![
                Param::Timestamp(9),
                Param::Timestamp(5),
                Param::Int(7),
                Param::Timestamp(5)
            ]
        );

        let bulk = Criteria {
            mode: Mode::Bulk,
            incrementing: None,
            timestamps: vec![],
        };
        assert_eq!(
            bulk.sql(
                Dialect::Postgres,
                Quoting::Always,
                &users(),
                &Position::default(),
                None,
                ""
            )
            .text,
            "SELECT * FROM \"public\".\"users\""
        );
    }

    #[test]
    fn offsets_are_confluents_maps() {
        // 2024-01-01T00:00:00.123456Z
        let us = 1_704_067_200_123_456;
        let pos = Position {
            timestamp: Some(us),
            incrementing: Some(42),
        };
        assert_eq!(
            Json::Object(pos.offset(Mode::TimestampIncrementing).to_map()),
            json!({"timestamp": 1_704_067_200_123i64, "timestamp_nanos": 123_456_000, "incrementing": 42})
        );
        assert_eq!(
            Json::Object(pos.offset(Mode::Incrementing).to_map()),
            json!({"incrementing": 42})
        );
        assert_eq!(
            Json::Object(pos.offset(Mode::Timestamp).to_map()),
            json!({"timestamp": 1_704_067_200_123i64, "timestamp_nanos": 123_456_000})
        );
        assert_eq!(
            Position::from_offset(&pos.offset(Mode::TimestampIncrementing).to_map()),
            pos
        );
        // Before 1970 the nanos stay within the second.
        let old = Position {
            timestamp: Some(-1_500_000),
            incrementing: None,
        };
        assert_eq!(
            Position::from_offset(&old.offset(Mode::Timestamp).to_map()),
            old
        );
        // timestamp without nanos (timestamp.initial, older writers).
        let m = json!({"timestamp": 1500})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(Position::from_offset(&m).timestamp, Some(1_500_000));
        assert_eq!(
            Json::Object(partition_v1(&TableId::new(Some("shop"), None, "orders")).into_map()),
            json!({"protocol": "1", "table": "shop.orders"})
        );
        assert_eq!(
            Json::Object(partition_v0(&TableId::new(Some("shop"), None, "orders")).into_map()),
            json!({"table": "orders"})
        );
    }
}
