//! `PostgresConnector`'s keys: Debezium's names, defaults and checks.

use std::time::Duration;

use sluice_connect_api::config::{
    ConfigEnum, ConfigKey, ConfigValue, ConnectorConfig, Importance, Password, TypedDef, Validator,
};

use crate::filters::{Filters, regex_list_ok};
use crate::pg::wire::ConnInfo;
use crate::types::{BinaryMode, DecimalMode, TimeMode};

/// `snapshot.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotMode {
    /// Snapshot when no offset exists, then stream.
    #[default]
    Initial,
    /// Snapshot at every start, then stream.
    Always,
    /// Never snapshot data: stream from the slot's position.
    NoData,
    /// Snapshot when no offset exists, then stop streaming.
    InitialOnly,
    /// Snapshot when no offset exists or the offset's position is gone.
    WhenNeeded,
}

impl ConfigEnum for SnapshotMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("initial", SnapshotMode::Initial),
            ("always", SnapshotMode::Always),
            ("no_data", SnapshotMode::NoData),
            ("never", SnapshotMode::NoData),
            ("initial_only", SnapshotMode::InitialOnly),
            ("when_needed", SnapshotMode::WhenNeeded),
        ]
    }
}

/// `publication.autocreate.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutocreateMode {
    #[default]
    AllTables,
    Filtered,
    Disabled,
}

impl ConfigEnum for AutocreateMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("all_tables", AutocreateMode::AllTables),
            ("filtered", AutocreateMode::Filtered),
            ("disabled", AutocreateMode::Disabled),
        ]
    }
}

#[derive(Debug, Default)]
pub struct PgCdcConfig {
    pub hostname: String,
    pub port: i32,
    pub user: String,
    pub password: Option<Password>,
    pub dbname: String,
    pub sslmode: String,
    pub topic_prefix: String,
    pub plugin_name: String,
    pub slot_name: String,
    pub slot_drop_on_stop: bool,
    pub publication_name: String,
    pub autocreate: AutocreateMode,
    pub table_include: Vec<String>,
    pub table_exclude: Vec<String>,
    pub schema_include: Vec<String>,
    pub schema_exclude: Vec<String>,
    pub column_include: Vec<String>,
    pub column_exclude: Vec<String>,
    pub message_key_columns: String,
    pub tombstones_on_delete: bool,
    pub max_batch_size: i32,
    pub max_queue_size: i32,
    pub poll_interval: Duration,
    pub snapshot_mode: SnapshotMode,
    pub heartbeat_interval: Duration,
    pub heartbeat_action_query: String,
    pub heartbeat_topics_prefix: String,
    pub decimal_mode: DecimalMode,
    pub time_mode: TimeMode,
    pub binary_mode: BinaryMode,
    pub provide_transaction_metadata: bool,
    pub unavailable_placeholder: String,
    pub status_update_interval: Duration,
    pub toast_fill: bool,
    pub snapshot_fetch_size: i32,
    pub skipped_operations: Vec<String>,
    pub schema_name_adjustment: String,
    pub signal_data_collection: String,
    pub signal_channels: Vec<String>,
    pub chunk_size: i32,
}

const CONN: &str = "Connection";
const FILTERS: &str = "Filters";
const EVENTS: &str = "Events";
const REPL: &str = "Replication";

fn valid_name(v: &ConfigValue) -> Result<(), String> {
    let s = v.to_string();
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("may contain only ASCII letters, digits and '_', and may not be empty".into());
    }
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("must be lower case (PostgreSQL folds unquoted names)".into());
    }
    Ok(())
}

fn topic_prefix_ok(v: &ConfigValue) -> Result<(), String> {
    let s = v.to_string();
    if s.trim().is_empty() {
        return Err("is required: it names the topics (<topic.prefix>.<schema>.<table>)".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("may contain only ASCII letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

impl ConnectorConfig for PgCdcConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named("database.hostname").importance(Importance::High).group(CONN, 1)
                    .doc("Host name or address of the PostgreSQL server."),
                |c, v| c.hostname = v,
            )
            .field(
                ConfigKey::named("database.port").default_value("5432").validator(Validator::between(1.0, 65535.0)).importance(Importance::High).group(CONN, 2)
                    .doc("Port of the PostgreSQL server."),
                |c, v| c.port = v,
            )
            .field(
                ConfigKey::named("database.user").importance(Importance::High).group(CONN, 3)
                    .doc("User with the REPLICATION attribute (and, for publication.autocreate.mode=all_tables, superuser; for filtered, owner of the tables)."),
                |c, v| c.user = v,
            )
            .field(
                ConfigKey::named("database.password").importance(Importance::High).group(CONN, 4)
                    .doc("Password of database.user."),
                |c, v| c.password = v,
            )
            .field(
                ConfigKey::named("database.dbname").importance(Importance::High).group(CONN, 5)
                    .doc("The database to capture."),
                |c, v| c.dbname = v,
            )
            .field(
                ConfigKey::named("database.sslmode").default_value("disable").validator(Validator::one_of(&["disable", "prefer", "allow", "require", "verify-ca", "verify-full"])).importance(Importance::Low).group(CONN, 6)
                    .doc("Encryption to the server: only disable is supported so far; other values are refused (prefer and allow connect without TLS, as libpq does when the server has none)."),
                |c, v| c.sslmode = v,
            )
            .field(
                ConfigKey::named("topic.prefix").validator(Validator::custom(topic_prefix_ok)).importance(Importance::High).group(CONN, 7)
                    .doc("Logical name of the server: topics are <topic.prefix>.<schema>.<table>, and offsets are kept under it."),
                |c, v| c.topic_prefix = v,
            )
            .field(
                ConfigKey::named("plugin.name").default_value("pgoutput").validator(Validator::custom(|v| {
                    match v.to_string().as_str() {
                        "pgoutput" => Ok(()),
                        other => Err(format!("'{other}' is not supported: use pgoutput, which PostgreSQL 10 and later ship (decoderbufs and wal2json need server plugins)")),
                    }
                })).importance(Importance::Medium).group(REPL, 1)
                    .doc("Logical decoding plugin: pgoutput."),
                |c, v| c.plugin_name = v,
            )
            .field(
                ConfigKey::named("slot.name").default_value("debezium").validator(Validator::custom(valid_name)).importance(Importance::Medium).group(REPL, 2)
                    .doc("The replication slot; created when missing."),
                |c, v| c.slot_name = v,
            )
            .field(
                ConfigKey::named("slot.drop.on.stop").default_value("false").importance(Importance::Low).group(REPL, 3)
                    .doc("Drop the slot when the task stops cleanly (tests and development: the next start snapshots again)."),
                |c, v| c.slot_drop_on_stop = v,
            )
            .field(
                ConfigKey::named("publication.name").default_value("dbz_publication").validator(Validator::custom(valid_name)).importance(Importance::Low).group(REPL, 4)
                    .doc("The publication pgoutput streams."),
                |c, v| c.publication_name = v,
            )
            .field(
                ConfigKey::named("publication.autocreate.mode").default_value("all_tables").importance(Importance::Low).group(REPL, 5)
                    .doc("When the publication is missing: all_tables creates it FOR ALL TABLES (superuser), filtered for the captured tables (kept in step at each start), disabled fails."),
                |c, v| c.autocreate = v,
            )
            .field(
                ConfigKey::named("status.update.interval.ms").default_value("10000").importance(Importance::Low).group(REPL, 6)
                    .doc("Most time between two status messages to the server; positions Kafka acknowledged are confirmed sooner."),
                |c, v| c.status_update_interval = v,
            )
            .field(
                ConfigKey::named("table.include.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::High).group(FILTERS, 1)
                    .doc("Regular expressions matched against whole <schema>.<table> names: only matching tables are captured. Not with table.exclude.list."),
                |c, v| c.table_include = v,
            )
            .field(
                ConfigKey::named("table.exclude.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::High).group(FILTERS, 2)
                    .doc("Regular expressions of <schema>.<table> names not to capture."),
                |c, v| c.table_exclude = v,
            )
            .field(
                ConfigKey::named("schema.include.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::High).group(FILTERS, 3)
                    .doc("Regular expressions of schema names to capture. Not with schema.exclude.list."),
                |c, v| c.schema_include = v,
            )
            .field(
                ConfigKey::named("schema.exclude.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::High).group(FILTERS, 4)
                    .doc("Regular expressions of schema names not to capture."),
                |c, v| c.schema_exclude = v,
            )
            .field(
                ConfigKey::named("column.include.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::Medium).group(FILTERS, 5)
                    .doc("Regular expressions of <schema>.<table>.<column> names to keep in events. Not with column.exclude.list."),
                |c, v| c.column_include = v,
            )
            .field(
                ConfigKey::named("column.exclude.list").default_value("").validator(Validator::custom(regex_list_ok)).importance(Importance::Medium).group(FILTERS, 6)
                    .doc("Regular expressions of <schema>.<table>.<column> names to leave out of events."),
                |c, v| c.column_exclude = v,
            )
            .field(
                ConfigKey::named("message.key.columns").default_value("").importance(Importance::Medium).group(FILTERS, 7)
                    .doc("Keys for tables without (or instead of) a primary key: <schema>.<table>:<col>,<col>;<schema>.<table>:<col> (table part a regular expression)."),
                |c, v| c.message_key_columns = v,
            )
            .field(
                ConfigKey::named("tombstones.on.delete").default_value("true").importance(Importance::Medium).group(EVENTS, 1)
                    .doc("Follow each delete event with a tombstone (null value) so log compaction can drop the key."),
                |c, v| c.tombstones_on_delete = v,
            )
            .field(
                ConfigKey::named("decimal.handling.mode").default_value("precise").importance(Importance::Medium).group(EVENTS, 2)
                    .doc("NUMERIC/DECIMAL as precise (Connect Decimal, or io.debezium.data.VariableScaleDecimal for numeric without a scale), string or double."),
                |c, v| c.decimal_mode = v,
            )
            .field(
                ConfigKey::named("time.precision.mode").default_value("adaptive").importance(Importance::Medium).group(EVENTS, 3)
                    .doc("Temporal types as adaptive (io.debezium.time.* by column precision), adaptive_time_microseconds (TIME always MicroTime) or connect (Connect Date/Time/Timestamp, milliseconds)."),
                |c, v| c.time_mode = v,
            )
            .field(
                ConfigKey::named("binary.handling.mode").default_value("bytes").importance(Importance::Low).group(EVENTS, 4)
                    .doc("BYTEA as bytes, base64, base64-url-safe or hex."),
                |c, v| c.binary_mode = v,
            )
            .field(
                ConfigKey::named("provide.transaction.metadata").default_value("false").importance(Importance::Low).group(EVENTS, 5)
                    .doc("Add the transaction block to events and BEGIN/END records to <topic.prefix>.transaction."),
                |c, v| c.provide_transaction_metadata = v,
            )
            .field(
                ConfigKey::named("unavailable.value.placeholder").default_value("__debezium_unavailable_value").importance(Importance::Low).group(EVENTS, 6)
                    .doc("Stands in for a TOASTed value an update did not change (REPLICA IDENTITY DEFAULT)."),
                |c, v| c.unavailable_placeholder = v,
            )
            .field(
                ConfigKey::named("sluice.toast.fill.from.previous").default_value("false").importance(Importance::Low).group(EVENTS, 7)
                    .doc("Sluice: fill an unchanged TOASTed value from the previous image of the row when the event carries one (REPLICA IDENTITY FULL) instead of the placeholder."),
                |c, v| c.toast_fill = v,
            )
            .field(
                ConfigKey::named("max.batch.size").default_value("2048").validator(Validator::at_least(1.0)).importance(Importance::Low).group(EVENTS, 8)
                    .doc("Most events handed to Kafka in one batch."),
                |c, v| c.max_batch_size = v,
            )
            .field(
                ConfigKey::named("max.queue.size").default_value("8192").validator(Validator::at_least(1.0)).importance(Importance::Low).group(EVENTS, 9)
                    .doc("Most events read ahead of Kafka; reading pauses when it is full."),
                |c, v| c.max_queue_size = v,
            )
            .field(
                ConfigKey::named("poll.interval.ms").default_value("500").importance(Importance::Low).group(EVENTS, 10)
                    .doc("How long a poll waits for events before returning an empty batch."),
                |c, v| c.poll_interval = v,
            )
            .field(
                ConfigKey::named("snapshot.mode").default_value("initial").importance(Importance::Medium).group(EVENTS, 11)
                    .doc("initial (snapshot when no offset exists, then stream), always, no_data (never snapshot; never is its old name), initial_only (snapshot, then stop), when_needed (also when the offset's position is gone)."),
                |c, v| c.snapshot_mode = v,
            )
            .field(
                ConfigKey::named("snapshot.fetch.size").default_value("10240").validator(Validator::at_least(1.0)).importance(Importance::Low).group(EVENTS, 12)
                    .doc("Accepted for Debezium configs; the snapshot streams each table with COPY, so its memory does not depend on this."),
                |c, v| c.snapshot_fetch_size = v,
            )
            .field(
                ConfigKey::named("heartbeat.interval.ms").default_value("0").importance(Importance::Medium).group(EVENTS, 13)
                    .doc("Send a heartbeat record to __debezium-heartbeat.<topic.prefix> this often (0: never); its offset confirms the server's position, so an idle or filtered database's WAL is freed."),
                |c, v| c.heartbeat_interval = v,
            )
            .field(
                ConfigKey::named("heartbeat.action.query").default_value("").importance(Importance::Low).group(EVENTS, 14)
                    .doc("A statement run on the database at each heartbeat (e.g. an update of a heartbeat table), so a captured change flows even when no captured table changes."),
                |c, v| c.heartbeat_action_query = v,
            )
            .field(
                ConfigKey::named("topic.heartbeat.prefix").default_value("__debezium-heartbeat").importance(Importance::Low).group(EVENTS, 15)
                    .doc("Prefix of the heartbeat topic: <prefix>.<topic.prefix>."),
                |c, v| c.heartbeat_topics_prefix = v,
            )
            .field(
                ConfigKey::named("skipped.operations").default_value("t").importance(Importance::Low).group(EVENTS, 16)
                    .validator(Validator::custom(|v| skipped_ops(&v.to_string().split(',').map(str::to_string).collect::<Vec<_>>()).map(|_| ())))
                    .doc("Operations not to emit: c (inserts), u (updates), d (deletes), t (truncates), or none. Debezium's default skips truncates."),
                |c, v| c.skipped_operations = v,
            )
            .field(
                ConfigKey::named("schema.name.adjustment.mode").default_value("none").importance(Importance::Low).group(EVENTS, 17)
                    .validator(Validator::one_of(&["none", "avro"]))
                    .doc("none: schema names are <topic.prefix>.<schema>.<table>.Key/.Value/.Envelope as they are; avro: characters Avro does not allow in names become _ (use it with the AvroConverter when names have such characters)."),
                |c, v| c.schema_name_adjustment = v,
            )
            .field(
                ConfigKey::named("signal.data.collection").default_value("").importance(Importance::Medium).group(EVENTS, 18)
                    .doc("The signal table, <schema>.<table> (a <database>. prefix is accepted): rows inserted into it drive incremental snapshots (type execute-snapshot, data {\"data-collections\": [\"public.t\"], \"type\": \"incremental\"}; stop-snapshot). Columns: id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048)."),
                |c, v| c.signal_data_collection = v,
            )
            .field(
                ConfigKey::named("signal.enabled.channels").default_value("source").importance(Importance::Low).group(EVENTS, 19)
                    .doc("Where signals come from: source (the signal table)."),
                |c, v| c.signal_channels = v,
            )
            .field(
                ConfigKey::named("incremental.snapshot.chunk.size").default_value("1024").validator(Validator::at_least(1.0)).importance(Importance::Medium).group(EVENTS, 20)
                    .doc("Rows per incremental snapshot chunk (one query, one watermark window)."),
                |c, v| c.chunk_size = v,
            )
            .check_with(|c| c.cross_checks())
    }
}

/// `skipped.operations` as a set of operation codes.
pub fn skipped_ops(list: &[String]) -> Result<std::collections::HashSet<char>, String> {
    let mut out = std::collections::HashSet::new();
    for item in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match item {
            "none" => {}
            "c" | "u" | "d" | "t" => {
                out.insert(item.chars().next().unwrap_or('t'));
            }
            other => {
                return Err(format!(
                    "'{other}' is not an operation: use c, u, d, t or none"
                ));
            }
        }
    }
    Ok(out)
}

impl PgCdcConfig {
    fn cross_checks(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (key, v) in [
            ("database.hostname", &self.hostname),
            ("database.user", &self.user),
            ("database.dbname", &self.dbname),
        ] {
            if v.trim().is_empty() {
                out.push((key, "is required".to_string()));
            }
        }
        if !matches!(self.sslmode.as_str(), "disable" | "prefer" | "allow") {
            out.push((
                "database.sslmode",
                format!(
                    "'{}' needs TLS, which this connector does not speak yet; use disable (or run it on a trusted network)",
                    self.sslmode
                ),
            ));
        }
        if !self.table_include.is_empty() && !self.table_exclude.is_empty() {
            out.push((
                "table.exclude.list",
                "table.include.list and table.exclude.list cannot both be set".to_string(),
            ));
        }
        if !self.schema_include.is_empty() && !self.schema_exclude.is_empty() {
            out.push((
                "schema.exclude.list",
                "schema.include.list and schema.exclude.list cannot both be set".to_string(),
            ));
        }
        if !self.column_include.is_empty() && !self.column_exclude.is_empty() {
            out.push((
                "column.exclude.list",
                "column.include.list and column.exclude.list cannot both be set".to_string(),
            ));
        }
        for ch in &self.signal_channels {
            if !matches!(ch.trim(), "source" | "") {
                out.push((
                    "signal.enabled.channels",
                    format!("channel '{ch}' is not supported; use source (the signal table)"),
                ));
            }
        }
        if !self.signal_data_collection.trim().is_empty() && self.signal_table().is_none() {
            out.push((
                "signal.data.collection",
                "must be <schema>.<table>".to_string(),
            ));
        }
        if let Err(e) = crate::filters::KeyColumns::parse(&self.message_key_columns) {
            out.push(("message.key.columns", e));
        }
        out
    }

    pub fn conn_info(&self) -> ConnInfo {
        ConnInfo {
            host: self.hostname.trim().to_string(),
            port: u16::try_from(self.port).unwrap_or(5432),
            user: self.user.clone(),
            password: self.password.as_ref().map(|p| p.expose().to_string()),
            dbname: self.dbname.clone(),
        }
    }

    pub fn filters(&self) -> Result<Filters, String> {
        Filters::new(
            &self.schema_include,
            &self.schema_exclude,
            &self.table_include,
            &self.table_exclude,
            &self.column_include,
            &self.column_exclude,
            &self.message_key_columns,
        )
    }

    /// `signal.data.collection` as (schema, table).
    pub fn signal_table(&self) -> Option<(String, String)> {
        let parts: Vec<&str> = self.signal_data_collection.trim().split('.').collect();
        match parts.as_slice() {
            [s, t] | [_, s, t] if !s.is_empty() && !t.is_empty() => {
                Some((s.to_string(), t.to_string()))
            }
            _ => None,
        }
    }

    pub fn prefix(&self) -> &str {
        self.topic_prefix.trim()
    }

    pub fn heartbeat_topic(&self) -> String {
        format!("{}.{}", self.heartbeat_topics_prefix.trim(), self.prefix())
    }
}
