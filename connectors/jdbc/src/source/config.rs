//! `JdbcSourceConnector`'s keys: Confluent's names, defaults and checks.

use std::time::Duration;

use regex::Regex;
use sluice_connect_api::config::{
    ConfigEnum, ConfigKey, ConfigValue, ConnectorConfig, Importance, Password, TypedDef, Validator,
};

use crate::db::ConnectSettings;
use crate::dialect::Quoting;
use crate::types::time::DbZone;
use crate::types::{NumericMapping, TimestampGranularity};
use crate::url::JdbcUrl;

pub const CONNECTION_URL: &str = "connection.url";
pub const TABLES_TASK_KEY: &str = "tables";
pub const INCREMENTING_GAP_WAIT: &str = "incrementing.gap.wait.ms";

/// `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl ConfigEnum for Mode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("bulk", Mode::Bulk),
            ("timestamp", Mode::Timestamp),
            ("incrementing", Mode::Incrementing),
            ("timestamp+incrementing", Mode::TimestampIncrementing),
        ]
    }
}

impl Mode {
    pub fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }
    pub fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

/// `transaction.isolation.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    #[default]
    Default,
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl ConfigEnum for Isolation {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("DEFAULT", Isolation::Default),
            ("READ_UNCOMMITTED", Isolation::ReadUncommitted),
            ("READ_COMMITTED", Isolation::ReadCommitted),
            ("REPEATABLE_READ", Isolation::RepeatableRead),
            ("SERIALIZABLE", Isolation::Serializable),
        ]
    }
}

impl Isolation {
    pub fn sql(self) -> Option<&'static str> {
        match self {
            Isolation::Default => None,
            Isolation::ReadUncommitted => Some("READ UNCOMMITTED"),
            Isolation::ReadCommitted => Some("READ COMMITTED"),
            Isolation::RepeatableRead => Some("REPEATABLE READ"),
            Isolation::Serializable => Some("SERIALIZABLE"),
        }
    }
}

#[derive(Debug, Default)]
pub struct JdbcSourceConfig {
    pub connection_url: String,
    pub connection_user: Option<String>,
    pub connection_password: Option<Password>,
    pub connection_attempts: i32,
    pub connection_backoff: Duration,
    pub table_whitelist: Vec<String>,
    pub table_blacklist: Vec<String>,
    pub table_include_list: Vec<String>,
    pub table_exclude_list: Vec<String>,
    pub catalog_pattern: Option<String>,
    pub schema_pattern: Option<String>,
    pub numeric_precision_mapping: bool,
    pub numeric_mapping: Option<NumericMapping>,
    pub dialect_name: String,
    pub mode: Option<Mode>,
    pub incrementing_column: String,
    pub timestamp_columns: Vec<String>,
    pub timestamp_initial: Option<i64>,
    pub validate_non_null: bool,
    pub query: String,
    pub quoting: Quoting,
    pub query_suffix: String,
    pub isolation: Isolation,
    pub query_retry_attempts: i32,
    pub table_types: Vec<String>,
    pub poll_interval: Duration,
    pub batch_max_rows: i32,
    pub table_poll_interval: Duration,
    pub topic_prefix: String,
    pub timestamp_delay: Duration,
    pub db_timezone: String,
    pub timestamp_granularity: TimestampGranularity,
    pub incrementing_gap_wait: Duration,
    /// Task configs only: the tables this task reads.
    pub tables: Option<String>,
}

const DB: &str = "Database";
const MODE: &str = "Mode";
const CONNECTOR: &str = "Connector";

fn topic_prefix_ok(v: &ConfigValue) -> Result<(), String> {
    let s = v.to_string();
    let t = s.trim();
    if t.len() > 249 {
        return Err("must be at most 249 characters".into());
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("may contain only ASCII letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

fn regex_list_ok(v: &ConfigValue) -> Result<(), String> {
    if let ConfigValue::List(items) = v {
        for i in items {
            Regex::new(&format!("^(?:{i})$"))
                .map_err(|e| format!("'{i}' is not a valid regex: {e}"))?;
        }
    }
    Ok(())
}

impl ConnectorConfig for JdbcSourceConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(CONNECTION_URL)
                    .importance(Importance::High)
                    .group(DB, 1)
                    .display_name("JDBC URL")
                    .validator(Validator::custom(|v| {
                        JdbcUrl::parse(&v.to_string()).map(|_| ()).map_err(|e| e.to_string())
                    }))
                    .doc("JDBC connection URL: jdbc:postgresql://host:port/db, jdbc:mysql://host:port/db or jdbc:mariadb://host:port/db; user and password may be URL parameters."),
                |c, v| c.connection_url = v,
            )
            .field(
                ConfigKey::named("connection.user").importance(Importance::High).group(DB, 2).display_name("JDBC User").doc("JDBC connection user."),
                |c, v| c.connection_user = v,
            )
            .field(
                ConfigKey::named("connection.password").importance(Importance::High).group(DB, 3).display_name("JDBC Password").doc("JDBC connection password."),
                |c, v| c.connection_password = v,
            )
            .field(
                ConfigKey::named("connection.attempts").default_value("3").validator(Validator::at_least(1.0)).importance(Importance::Low).group(DB, 4)
                    .doc("Maximum number of attempts to open a connection."),
                |c, v| c.connection_attempts = v,
            )
            .field(
                ConfigKey::named("connection.backoff.ms").default_value("10000").importance(Importance::Low).group(DB, 5)
                    .doc("Backoff time in milliseconds between connection attempts."),
                |c, v| c.connection_backoff = v,
            )
            .field(
                ConfigKey::named("table.whitelist").default_value("").importance(Importance::Medium).group(DB, 6)
                    .doc("Tables to copy, by exact name: bare (users), qualified (public.users) or quoted (\"public\".\"users\"). Exclusive with table.blacklist."),
                |c, v| c.table_whitelist = v,
            )
            .field(
                ConfigKey::named("table.blacklist").default_value("").importance(Importance::Medium).group(DB, 7)
                    .doc("Tables not to copy, by exact name as for table.whitelist."),
                |c, v| c.table_blacklist = v,
            )
            .field(
                ConfigKey::named("table.include.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::Medium).group(DB, 8)
                    .doc("Regular expressions matched against the whole qualified table name (public.users, shop.orders); a table is copied when one matches. Not with table.whitelist/blacklist."),
                |c, v| c.table_include_list = v,
            )
            .field(
                ConfigKey::named("table.exclude.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::Medium).group(DB, 9)
                    .doc("Regular expressions of qualified table names not to copy."),
                |c, v| c.table_exclude_list = v,
            )
            .field(
                ConfigKey::named("catalog.pattern").importance(Importance::Medium).group(DB, 10)
                    .doc("Catalog (MySQL: database) LIKE pattern for table discovery; unset: the URL's database (MySQL) or any."),
                |c, v| c.catalog_pattern = v,
            )
            .field(
                ConfigKey::named("schema.pattern").importance(Importance::Medium).group(DB, 11)
                    .doc("Schema LIKE pattern for table discovery (PostgreSQL); unset: every schema but the system ones."),
                |c, v| c.schema_pattern = v,
            )
            .field(
                ConfigKey::named("numeric.precision.mapping").default_value("false").importance(Importance::Low).group(DB, 12)
                    .doc("Deprecated: true means numeric.mapping=precision_only when numeric.mapping is unset."),
                |c, v| c.numeric_precision_mapping = v,
            )
            .field(
                ConfigKey::named("numeric.mapping").importance(Importance::Low).group(DB, 13)
                    .doc("How NUMERIC/DECIMAL columns map: none (Decimal), precision_only (integers for scale 0), best_fit (integers or FLOAT64), best_fit_eager_double (FLOAT64 for any positive scale). Applies to MySQL DECIMAL too."),
                |c, v| c.numeric_mapping = v,
            )
            .field(
                ConfigKey::named("dialect.name").default_value("").importance(Importance::Low).group(DB, 14)
                    .validator(Validator::one_of(&["", "PostgreSqlDatabaseDialect", "MySqlDatabaseDialect", "GenericDatabaseDialect"]))
                    .doc("The dialect; empty: from connection.url."),
                |c, v| c.dialect_name = v,
            )
            .field(
                ConfigKey::named("mode").importance(Importance::High).group(MODE, 1)
                    .doc("How tables are polled: bulk (whole table each poll), incrementing (rows with a larger incrementing.column.name), timestamp (rows with a newer timestamp.column.name), timestamp+incrementing (both: new and updated rows)."),
                |c, v| c.mode = v,
            )
            .field(
                ConfigKey::named("incrementing.column.name").default_value("").importance(Importance::Medium).group(MODE, 2)
                    .doc("Strictly increasing column for incrementing modes; empty: the table's auto-increment column."),
                |c, v| c.incrementing_column = v,
            )
            .field(
                ConfigKey::named("timestamp.column.name").default_value("").importance(Importance::Medium).group(MODE, 3)
                    .doc("Timestamp column(s) for timestamp modes; several are COALESCEd in order."),
                |c, v| c.timestamp_columns = v,
            )
            .field(
                ConfigKey::named("timestamp.initial").importance(Importance::Low).group(MODE, 4)
                    .doc("Epoch milliseconds to start timestamp modes from when no offset is stored; -1: the database's current time; unset: from the beginning."),
                |c, v| c.timestamp_initial = v,
            )
            .field(
                ConfigKey::named("validate.non.null").default_value("true").importance(Importance::Low).group(MODE, 5)
                    .doc("Check that the incrementing column is NOT NULL and at least one timestamp column is."),
                |c, v| c.validate_non_null = v,
            )
            .field(
                ConfigKey::named("query").default_value("").importance(Importance::Medium).group(MODE, 6)
                    .doc("A SELECT to run instead of copying tables; incremental modes append their WHERE clause to it."),
                |c, v| c.query = v,
            )
            .field(
                ConfigKey::named("quote.sql.identifiers").default_value("always").importance(Importance::Medium).group(MODE, 7)
                    .doc("Quote table and column names in generated SQL: always or never."),
                |c, v| c.quoting = v,
            )
            .field(
                ConfigKey::named("query.suffix").default_value("").importance(Importance::Low).group(MODE, 8)
                    .doc("Appended to every generated query."),
                |c, v| c.query_suffix = v,
            )
            .field(
                ConfigKey::named("transaction.isolation.mode").default_value("DEFAULT").importance(Importance::Low).group(MODE, 9)
                    .doc("Isolation level of the task's connection: DEFAULT, READ_UNCOMMITTED, READ_COMMITTED, REPEATABLE_READ, SERIALIZABLE."),
                |c, v| c.isolation = v,
            )
            .field(
                ConfigKey::named("query.retry.attempts").default_value("-1").importance(Importance::Low).group(MODE, 10)
                    .doc("Failed queries in a row before the task fails; -1 or 0: retry forever."),
                |c, v| c.query_retry_attempts = v,
            )
            .field(
                ConfigKey::named("table.types").default_value("TABLE").importance(Importance::Low).group(CONNECTOR, 1)
                    .doc("Table types to copy: TABLE, VIEW, MATERIALIZED VIEW (PostgreSQL), FOREIGN TABLE (PostgreSQL)."),
                |c, v| c.table_types = v,
            )
            .field(
                ConfigKey::named("poll.interval.ms").default_value("5000").importance(Importance::High).group(CONNECTOR, 2)
                    .doc("How often each table is queried for new data."),
                |c, v| c.poll_interval = v,
            )
            .field(
                ConfigKey::named("batch.max.rows").default_value("100").validator(Validator::at_least(1.0)).importance(Importance::Low).group(CONNECTOR, 3)
                    .doc("Most rows in one batch handed to Kafka."),
                |c, v| c.batch_max_rows = v,
            )
            .field(
                ConfigKey::named("table.poll.interval.ms").default_value("60000").importance(Importance::Low).group(CONNECTOR, 4)
                    .doc("How often the connector looks for new or dropped tables; a change reconfigures the tasks."),
                |c, v| c.table_poll_interval = v,
            )
            .field(
                ConfigKey::named("topic.prefix").default_value("").importance(Importance::High).group(CONNECTOR, 5).validator(Validator::custom(topic_prefix_ok))
                    .doc("Prefix of topic names: the topic of a table is the prefix followed by the table's name; in query mode, the prefix is the topic."),
                |c, v| c.topic_prefix = v,
            )
            .field(
                ConfigKey::named("timestamp.delay.interval.ms").default_value("0").importance(Importance::High).group(CONNECTOR, 6)
                    .doc("Rows are read only once their timestamp is this much older than the database's clock, so transactions that commit late with older timestamps are not skipped."),
                |c, v| c.timestamp_delay = v,
            )
            .field(
                ConfigKey::named("db.timezone").default_value("UTC").importance(Importance::Medium).group(CONNECTOR, 7)
                    .validator(Validator::custom(|v| DbZone::parse(&v.to_string()).map(|_| ())))
                    .doc("Time zone of columns without one (PostgreSQL timestamp, MySQL DATETIME/TIMESTAMP)."),
                |c, v| c.db_timezone = v,
            )
            .field(
                ConfigKey::named("timestamp.granularity").default_value("connect_logical").importance(Importance::Low).group(CONNECTOR, 8)
                    .doc("Timestamps as Connect Timestamp (connect_logical, milliseconds), nanos_long, nanos_string or nanos_iso_datetime_string."),
                |c, v| c.timestamp_granularity = v,
            )
            .field(
                ConfigKey::named(INCREMENTING_GAP_WAIT).default_value("5000").importance(Importance::Medium).group(MODE, 11)
                    .doc("Sluice: in incrementing mode, a missing id (a gap) stops reading there for up to this long, so rows whose transaction commits after a larger id's are not skipped; 0 reads past gaps at once, as Confluent's connector does."),
                |c, v| c.incrementing_gap_wait = v,
            )
            .field(
                ConfigKey::named(TABLES_TASK_KEY).internal().doc("Set by the connector: the tables of one task."),
                |c, v| c.tables = v,
            )
            .check_with(|c| c.cross_checks())
    }
}

impl JdbcSourceConfig {
    fn cross_checks(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Err(e) = crate::url::dialect_matches(&self.dialect_name, &self.connection_url) {
            out.push(("dialect.name", e));
        }
        let Some(mode) = self.mode else {
            out.push(("mode", "Query mode must be specified".to_string()));
            return out;
        };
        let legacy = !self.table_whitelist.is_empty() || !self.table_blacklist.is_empty();
        let new = !self.table_include_list.is_empty() || !self.table_exclude_list.is_empty();
        if !self.table_whitelist.is_empty() && !self.table_blacklist.is_empty() {
            out.push((
                "table.blacklist",
                "table.whitelist and table.blacklist are exclusive.".to_string(),
            ));
        }
        if legacy && new {
            out.push((
                "table.include.list",
                "Cannot mix legacy and new configuration approaches: use table.whitelist/table.blacklist or table.include.list/table.exclude.list, not both.".to_string(),
            ));
        }
        let query_mode = !self.query.trim().is_empty();
        if query_mode && (legacy || new) {
            out.push((
                "query",
                "query may not be combined with whole-table copying settings.".to_string(),
            ));
        }
        if query_mode && mode.uses_incrementing() && self.incrementing_column.trim().is_empty() {
            out.push((
                "incrementing.column.name",
                "required in query mode with mode incrementing or timestamp+incrementing"
                    .to_string(),
            ));
        }
        if mode.uses_timestamp() && self.timestamp_columns.iter().all(|c| c.trim().is_empty()) {
            out.push((
                "timestamp.column.name",
                format!("required with mode {}", mode_name(mode)),
            ));
        }
        out
    }

    /// `numeric.mapping`, or precision_only when only the deprecated
    /// `numeric.precision.mapping` is true.
    pub fn numeric(&self) -> NumericMapping {
        self.numeric_mapping
            .unwrap_or(if self.numeric_precision_mapping {
                NumericMapping::PrecisionOnly
            } else {
                NumericMapping::None
            })
    }

    pub fn zone(&self) -> DbZone {
        DbZone::parse(&self.db_timezone).unwrap_or_else(|_| DbZone::utc())
    }

    pub fn connect_settings(&self) -> Result<ConnectSettings, crate::url::UrlError> {
        ConnectSettings::new(
            &self.connection_url,
            self.connection_user.clone(),
            self.connection_password.as_ref().map(|p| p.0.clone()),
            u32::try_from(self.connection_attempts).unwrap_or(1),
            self.connection_backoff,
            self.zone(),
        )
    }

    pub fn query_mode(&self) -> bool {
        !self.query.trim().is_empty()
    }

    pub fn topic_prefix(&self) -> &str {
        self.topic_prefix.trim()
    }

    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or(Mode::Bulk)
    }
}

pub fn mode_name(mode: Mode) -> &'static str {
    Mode::variants()
        .iter()
        .find(|(_, m)| *m == mode)
        .map_or("", |(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn confluent_quickstart_config_parses_with_defaults() {
        let c = JdbcSourceConfig::parse(&props(&[
            (
                "connection.url",
                "jdbc:postgresql://localhost:5432/test?user=postgres",
            ),
            ("mode", "incrementing"),
            ("incrementing.column.name", "id"),
            ("topic.prefix", "test-postgres-"),
        ]))
        .unwrap();
        assert_eq!(c.mode(), Mode::Incrementing);
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert_eq!(c.batch_max_rows, 100);
        assert_eq!(c.table_types, vec!["TABLE".to_string()]);
        assert_eq!(c.connection_attempts, 3);
        assert_eq!(c.numeric(), NumericMapping::None);
        assert_eq!(c.quoting, Quoting::Always);
        assert_eq!(c.topic_prefix(), "test-postgres-");
    }

    #[test]
    fn bad_combinations_are_named() {
        let base = [
            ("connection.url", "jdbc:mysql://h/db"),
            ("topic.prefix", "p-"),
        ];
        let keys = |extra: &[(&str, &str)]| {
            let mut p = props(&base);
            p.extend(props(extra));
            JdbcSourceConfig::parse(&p)
                .err()
                .map(|e| e.keys().iter().map(|k| k.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(keys(&[]), Some(vec!["mode".to_string()]));
        assert_eq!(
            keys(&[("mode", "timestamp")]),
            Some(vec!["timestamp.column.name".to_string()])
        );
        assert_eq!(
            keys(&[
                ("mode", "bulk"),
                ("table.whitelist", "a"),
                ("table.blacklist", "b")
            ]),
            Some(vec!["table.blacklist".to_string()])
        );
        assert_eq!(
            keys(&[
                ("mode", "bulk"),
                ("table.whitelist", "a"),
                ("table.include.list", "b.*")
            ]),
            Some(vec!["table.include.list".to_string()])
        );
        assert_eq!(
            keys(&[
                ("mode", "bulk"),
                ("query", "SELECT 1"),
                ("table.whitelist", "a")
            ]),
            Some(vec!["query".to_string()])
        );
        assert_eq!(
            keys(&[("mode", "incrementing"), ("query", "SELECT * FROM t")]),
            Some(vec!["incrementing.column.name".to_string()])
        );
        assert_eq!(
            keys(&[("mode", "bulk"), ("table.include.list", "(")]),
            Some(vec!["table.include.list".to_string()])
        );
        assert_eq!(
            keys(&[("mode", "bulk"), ("db.timezone", "Nowhere/City")]),
            Some(vec!["db.timezone".to_string()])
        );
        assert_eq!(
            keys(&[("mode", "bulk"), ("topic.prefix", "bad prefix")]),
            Some(vec!["topic.prefix".to_string()])
        );
        assert_eq!(
            keys(&[("mode", "sometimes")]),
            Some(vec!["mode".to_string()])
        );
        let mut p = props(&base);
        p.insert("connection.url".into(), "jdbc:oracle:thin:@h".into());
        p.insert("mode".into(), "bulk".into());
        let e = JdbcSourceConfig::parse(&p).unwrap_err();
        assert_eq!(e.keys(), vec!["connection.url"]);
        assert_eq!(
            keys(&[
                ("mode", "TIMESTAMP+INCREMENTING"),
                ("timestamp.column.name", "u")
            ]),
            None
        );
    }
}
