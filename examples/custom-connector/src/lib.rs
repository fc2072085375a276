//! A connector crate written against the Sluice SDK only
//! (`sluice-connect-api`), the way a connector author outside this
//! repository would write one:
//!
//! - `CsvSource` (class `example.CsvSourceConnector`): reads a CSV file
//!   with a header line, one record per row, as a struct whose fields are
//!   the header's columns (optional strings). The source offset is the
//!   number of rows read, so a restart resumes after the last row Kafka
//!   acknowledged.
//! - `JsonLinesSink` (class `example.JsonLinesSinkConnector`): writes each
//!   record's value as one JSON line to a file and makes it durable
//!   (fsync) in `flush`, after which the runtime commits the consumer
//!   offsets.
//!
//! [`register`] adds both to a registry; `src/main.rs` builds a worker
//! binary with them. `connectors/api/README.md` walks through it.

mod csv_source;
mod json_lines_sink;

use sluice_connect_api::{ConnectorPlugin, Registry, TaskFactory, TaskSplit};

pub use csv_source::{CsvSourceConfig, CsvSourceConnector, CsvSourceTask};
pub use json_lines_sink::{JsonLinesSinkConfig, JsonLinesSinkConnector, JsonLinesSinkTask};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Adds this crate's connectors to `registry`.
pub fn register(registry: &mut Registry) {
    registry.register_connector(ConnectorPlugin {
        class_name: "example.CsvSourceConnector",
        aliases: &[],
        version: VERSION,
        new_connector: || Box::new(CsvSourceConnector::new(VERSION, TaskSplit::One)),
        new_task: TaskFactory::Source(|| Box::new(CsvSourceTask::default())),
    });
    registry.register_connector(ConnectorPlugin {
        class_name: "example.JsonLinesSinkConnector",
        aliases: &[],
        version: VERSION,
        new_connector: || Box::new(JsonLinesSinkConnector::new(VERSION, TaskSplit::Copies)),
        new_task: TaskFactory::Sink(|| Box::new(JsonLinesSinkTask::default())),
    });
}
