//! Confluent's JDBC connector for Sluice, for PostgreSQL and MySQL/MariaDB:
//! same class names, keys, defaults, source partitions and offsets, and
//! record shapes.
//!
//! - `io.confluent.connect.jdbc.JdbcSourceConnector` (`JdbcSource`): copies
//!   tables (or one query) into topics `topic.prefix + table`, in `bulk`,
//!   `incrementing`, `timestamp` or `timestamp+incrementing` mode, with
//!   Confluent's offsets (`{"protocol":"1","table":"public.users"}` →
//!   `{"incrementing":N}`, `{"timestamp":ms,"timestamp_nanos":ns}`). Rows
//!   stream from the database; nothing loads a whole table.
//! - `io.confluent.connect.jdbc.JdbcSinkConnector` (`JdbcSink`): writes
//!   records into tables (`insert`, `upsert`, `update`, deletes for
//!   tombstones), one transaction per batch, COPY on PostgreSQL and
//!   multi-row statements on MySQL; `auto.create`/`auto.evolve`.

pub mod db;
pub mod dialect;
pub mod sink;
pub mod source;
pub mod table_id;
pub mod types;
pub mod url;

use sluice_connect_api::{ConfigConnector, ConnectorPlugin, Registry, TaskFactory, TaskSplit};

pub use sink::{JdbcSinkConfig, JdbcSinkTask};
pub use source::{JdbcSourceConnector, JdbcSourceTask};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The source plugin.
pub const SOURCE_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.confluent.connect.jdbc.JdbcSourceConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || Box::new(JdbcSourceConnector::new(VERSION)),
    new_task: TaskFactory::Source(|| Box::new(JdbcSourceTask::default())),
};

/// The sink plugin.
pub const SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.confluent.connect.jdbc.JdbcSinkConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || {
        Box::new(ConfigConnector::<JdbcSinkConfig>::new(
            VERSION,
            TaskSplit::Copies,
        ))
    },
    new_task: TaskFactory::Sink(|| Box::new(JdbcSinkTask::default())),
};

/// Adds the plugins to a registry.
pub fn register(registry: &mut Registry) {
    registry.register_connector(SOURCE_PLUGIN);
    registry.register_connector(SINK_PLUGIN);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_by_confluent_names() {
        let mut r = Registry::new();
        register(&mut r);
        for name in [
            "io.confluent.connect.jdbc.JdbcSourceConnector",
            "JdbcSourceConnector",
            "JdbcSource",
        ] {
            assert_eq!(
                r.connector(name).map(|p| p.class_name),
                Some(SOURCE_PLUGIN.class_name)
            );
        }
        for name in [
            "io.confluent.connect.jdbc.JdbcSinkConnector",
            "JdbcSinkConnector",
            "JdbcSink",
        ] {
            assert_eq!(
                r.connector(name).map(|p| p.class_name),
                Some(SINK_PLUGIN.class_name)
            );
        }
    }
}
