//! Change data capture compatible with Debezium.
//!
//! - `io.debezium.connector.postgresql.PostgresConnector` (`PostgresCdc`):
//!   a snapshot on the replication slot's exported snapshot, then the
//!   slot's pgoutput stream, as Debezium's change events (`before`,
//!   `after`, `source`, `op`), keys and offsets. The slot's confirmed
//!   position moves only to what Kafka acknowledged.
//! - `io.debezium.transforms.ExtractNewRecordState`: events to rows.

pub mod envelope;
pub mod error;
pub mod extract_new_record_state;
pub mod filters;
pub mod pg;
pub mod types;

use sluice_connect_api::{
    ConfigConnector, ConnectorPlugin, Registry, TaskFactory, TaskSplit, TransformPlugin,
};

pub use error::CdcError;
pub use pg::{PgCdcConfig, PgCdcTask};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The PostgreSQL plugin.
pub const POSTGRES_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.debezium.connector.postgresql.PostgresConnector",
    aliases: &["PostgresCdc"],
    version: VERSION,
    new_connector: || Box::new(ConfigConnector::<PgCdcConfig>::new(VERSION, TaskSplit::One)),
    new_task: TaskFactory::Source(|| Box::new(PgCdcTask::default())),
};

/// Debezium's `ExtractNewRecordState`.
pub const EXTRACT_NEW_RECORD_STATE: TransformPlugin = TransformPlugin {
    class_name: "io.debezium.transforms.ExtractNewRecordState",
    aliases: &["ExtractNewRecordState"],
    version: VERSION,
    new: || Box::new(extract_new_record_state::ExtractNewRecordState::default()),
};

/// Adds the plugins to a registry.
pub fn register(registry: &mut Registry) {
    registry.register_connector(POSTGRES_PLUGIN);
    registry.register_transform(EXTRACT_NEW_RECORD_STATE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_by_debezium_names() {
        let mut r = Registry::new();
        register(&mut r);
        for name in [
            "io.debezium.connector.postgresql.PostgresConnector",
            "PostgresConnector",
            "PostgresCdc",
        ] {
            assert_eq!(
                r.connector(name).map(|p| p.class_name),
                Some(POSTGRES_PLUGIN.class_name),
                "{name}"
            );
        }
    }
}
