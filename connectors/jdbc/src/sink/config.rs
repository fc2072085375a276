//! `JdbcSinkConnector`'s keys: Confluent's names, defaults and checks.

use std::time::Duration;

use sluice_connect_api::config::{
    ConfigEnum, ConfigKey, ConnectorConfig, Importance, Password, TypedDef, Validator,
};

use crate::db::ConnectSettings;
use crate::dialect::Quoting;
use crate::types::time::DbZone;
use crate::url::JdbcUrl;

/// `insert.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InsertMode {
    #[default]
    Insert,
    Upsert,
    Update,
}

impl ConfigEnum for InsertMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("insert", InsertMode::Insert),
            ("upsert", InsertMode::Upsert),
            ("update", InsertMode::Update),
        ]
    }
}

/// `pk.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PkMode {
    #[default]
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

impl ConfigEnum for PkMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("none", PkMode::None),
            ("kafka", PkMode::Kafka),
            ("record_key", PkMode::RecordKey),
            ("record_value", PkMode::RecordValue),
        ]
    }
}

impl PkMode {
    pub fn name(self) -> &'static str {
        Self::variants()
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| n)
    }
}

#[derive(Debug, Default)]
pub struct JdbcSinkConfig {
    pub connection_url: String,
    pub connection_user: Option<String>,
    pub connection_password: Option<Password>,
    pub connection_attempts: i32,
    pub connection_backoff: Duration,
    pub dialect_name: String,
    pub insert_mode: InsertMode,
    pub batch_size: i32,
    pub delete_enabled: bool,
    pub table_types: Vec<String>,
    pub table_name_format: String,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub fields_whitelist: Vec<String>,
    pub db_timezone: String,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub quoting: Quoting,
    pub max_retries: i32,
    pub retry_backoff: Duration,
    pub replace_null_with_default: bool,
}

const CONN: &str = "Connection";
const WRITES: &str = "Writes";
const DATA: &str = "Data Mapping";
const DDL: &str = "DDL Support";
const RETRIES: &str = "Retries";

/// Confluent's message, on both keys.
pub const DELETE_NEEDS_RECORD_KEY: &str = "Deletes are only supported for pk.mode record_key";

impl ConnectorConfig for JdbcSinkConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named("connection.url").importance(Importance::High).group(CONN, 1).display_name("JDBC URL")
                    .validator(Validator::custom(|v| JdbcUrl::parse(&v.to_string()).map(|_| ()).map_err(|e| e.to_string())))
                    .doc("JDBC connection URL: jdbc:postgresql://host:port/db, jdbc:mysql://host:port/db or jdbc:mariadb://host:port/db."),
                |c, v| c.connection_url = v,
            )
            .field(ConfigKey::named("connection.user").importance(Importance::High).group(CONN, 2).doc("JDBC connection user."), |c, v| c.connection_user = v)
            .field(ConfigKey::named("connection.password").importance(Importance::High).group(CONN, 3).doc("JDBC connection password."), |c, v| c.connection_password = v)
            .field(
                ConfigKey::named("connection.attempts").default_value("3").validator(Validator::at_least(1.0)).importance(Importance::Low).group(CONN, 4)
                    .doc("Maximum number of attempts to open a connection."),
                |c, v| c.connection_attempts = v,
            )
            .field(
                ConfigKey::named("connection.backoff.ms").default_value("10000").importance(Importance::Low).group(CONN, 5)
                    .doc("Backoff time in milliseconds between connection attempts."),
                |c, v| c.connection_backoff = v,
            )
            .field(
                ConfigKey::named("dialect.name").default_value("").importance(Importance::Low).group(CONN, 6)
                    .validator(Validator::one_of(&["", "PostgreSqlDatabaseDialect", "MySqlDatabaseDialect", "GenericDatabaseDialect"]))
                    .doc("The dialect; empty: from connection.url."),
                |c, v| c.dialect_name = v,
            )
            .field(
                ConfigKey::named("insert.mode").default_value("insert").importance(Importance::High).group(WRITES, 1)
                    .doc("insert: INSERT only; upsert: INSERT ... ON CONFLICT DO UPDATE (PostgreSQL) or ON DUPLICATE KEY UPDATE (MySQL); update: UPDATE by key."),
                |c, v| c.insert_mode = v,
            )
            .field(
                ConfigKey::named("batch.size").default_value("3000").validator(Validator::at_least(0.0)).importance(Importance::Medium).group(WRITES, 2)
                    .doc("Records written in one statement batch at most."),
                |c, v| c.batch_size = v,
            )
            .field(
                ConfigKey::named("delete.enabled").default_value("false").importance(Importance::Medium).group(WRITES, 3)
                    .doc("A null value (tombstone) deletes the row with the record's key; needs pk.mode=record_key."),
                |c, v| c.delete_enabled = v,
            )
            .field(
                ConfigKey::named("table.types").default_value("TABLE").importance(Importance::Low).group(WRITES, 4)
                    .doc("Table types written to: TABLE, PARTITIONED TABLE, VIEW."),
                |c, v| c.table_types = v,
            )
            .field(
                ConfigKey::named("table.name.format").default_value("${topic}").validator(Validator::NonEmptyString).importance(Importance::Medium).group(DATA, 1)
                    .doc("The destination table's name; ${topic} is the record's topic. schema.table names a schema."),
                |c, v| c.table_name_format = v,
            )
            .field(
                ConfigKey::named("pk.mode").default_value("none").importance(Importance::High).group(DATA, 2)
                    .doc("Where the primary key comes from: none, kafka (topic, partition, offset), record_key, record_value."),
                |c, v| c.pk_mode = v,
            )
            .field(
                ConfigKey::named("pk.fields").default_value("").importance(Importance::Medium).group(DATA, 3)
                    .doc("Primary key field names; their meaning depends on pk.mode."),
                |c, v| c.pk_fields = v,
            )
            .field(
                ConfigKey::named("fields.whitelist").default_value("").importance(Importance::Medium).group(DATA, 4)
                    .doc("Value fields written; empty: all."),
                |c, v| c.fields_whitelist = v,
            )
            .field(
                ConfigKey::named("db.timezone").default_value("UTC").importance(Importance::Medium).group(DATA, 5)
                    .validator(Validator::custom(|v| DbZone::parse(&v.to_string()).map(|_| ())))
                    .doc("Time zone of columns without one (PostgreSQL timestamp, MySQL DATETIME)."),
                |c, v| c.db_timezone = v,
            )
            .field(
                ConfigKey::named("replace.null.with.default").default_value("true").importance(Importance::Low).group(DATA, 6)
                    .doc("Write a null field as its schema's default value."),
                |c, v| c.replace_null_with_default = v,
            )
            .field(
                ConfigKey::named("auto.create").default_value("false").importance(Importance::Medium).group(DDL, 1)
                    .doc("CREATE TABLE when the destination table is missing."),
                |c, v| c.auto_create = v,
            )
            .field(
                ConfigKey::named("auto.evolve").default_value("false").importance(Importance::Medium).group(DDL, 2)
                    .doc("ALTER TABLE ADD columns for new record fields (never drops or changes columns)."),
                |c, v| c.auto_evolve = v,
            )
            .field(
                ConfigKey::named("quote.sql.identifiers").default_value("always").importance(Importance::Medium).group(DDL, 3)
                    .doc("Quote table and column names: always or never."),
                |c, v| c.quoting = v,
            )
            .field(
                ConfigKey::named("max.retries").default_value("10").validator(Validator::at_least(0.0)).importance(Importance::Medium).group(RETRIES, 1)
                    .doc("Retries of a failed write before the batch is written record by record (errant records reported) or the task fails."),
                |c, v| c.max_retries = v,
            )
            .field(
                ConfigKey::named("retry.backoff.ms").default_value("3000").validator(Validator::at_least(0.0)).importance(Importance::Medium).group(RETRIES, 2)
                    .doc("Wait between retries."),
                |c, v| c.retry_backoff = v,
            )
            .check_with(|c| {
                let mut out = Vec::new();
                if let Err(e) = crate::url::dialect_matches(&c.dialect_name, &c.connection_url) {
                    out.push(("dialect.name", e));
                }
                if c.delete_enabled && c.pk_mode != PkMode::RecordKey {
                    out.push(("pk.mode", DELETE_NEEDS_RECORD_KEY.to_string()));
                    out.push(("delete.enabled", DELETE_NEEDS_RECORD_KEY.to_string()));
                }
                if c.pk_mode == PkMode::Kafka && !c.pk_fields.is_empty() && c.pk_fields.len() != 3 {
                    out.push(("pk.fields", "with pk.mode=kafka, name no fields (the defaults __connect_topic,__connect_partition,__connect_offset) or exactly 3".to_string()));
                }
                if c.insert_mode != InsertMode::Insert && c.pk_mode == PkMode::None {
                    out.push(("pk.mode", "insert.mode upsert and update need a primary key: set pk.mode".to_string()));
                }
                out
            })
    }
}

impl JdbcSinkConfig {
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
    fn confluent_defaults_and_checks() {
        let c = JdbcSinkConfig::parse(&props(&[
            ("connection.url", "jdbc:postgresql://h/db"),
            ("topics", "orders"),
        ]))
        .unwrap();
        assert_eq!(
            (c.insert_mode, c.pk_mode, c.batch_size, c.max_retries),
            (InsertMode::Insert, PkMode::None, 3000, 10)
        );
        assert_eq!(c.table_name_format, "${topic}");
        assert_eq!(c.retry_backoff, Duration::from_secs(3));
        let e = JdbcSinkConfig::parse(&props(&[
            ("connection.url", "jdbc:postgresql://h/db"),
            ("delete.enabled", "true"),
            ("pk.mode", "record_value"),
        ]))
        .unwrap_err();
        assert_eq!(e.keys(), vec!["pk.mode", "delete.enabled"]);
        assert!(e.to_string().contains(DELETE_NEEDS_RECORD_KEY), "{e}");
        let e = JdbcSinkConfig::parse(&props(&[
            ("connection.url", "jdbc:postgresql://h/db"),
            ("insert.mode", "upsert"),
        ]))
        .unwrap_err();
        assert_eq!(e.keys(), vec!["pk.mode"]);
        let e = JdbcSinkConfig::parse(&props(&[
            ("connection.url", "jdbc:postgresql://h/db"),
            ("pk.mode", "kafka"),
            ("pk.fields", "a,b"),
        ]))
        .unwrap_err();
        assert_eq!(e.keys(), vec!["pk.fields"]);
    }
}
