//! Kafka's FileStream connectors for Sluice: same class names, same keys,
//! same record and offset shapes.
//!
//! - `FileStreamSource` (`org.apache.kafka.connect.file.FileStreamSourceConnector`):
//!   keys `file`, `topic`, `batch.size`. One record per line, value schema
//!   `string`, source partition `{"filename": file}`, source offset
//!   `{"position": N}` where N is the byte position of the next unread line.
//!   Follows the file as it grows; waits for a file that does not exist yet;
//!   fails the task (rather than re-reading) when the file is shorter than
//!   the committed position.
//! - `FileStreamSink` (`org.apache.kafka.connect.file.FileStreamSinkConnector`):
//!   key `file` (plus the runtime's `topics`/`topics.regex`). Appends one line
//!   per record and fsyncs on flush, so offsets are committed only for lines
//!   that are on disk.

mod sink;
mod source;

use sluice_connect_api::{ConnectorPlugin, Registry, TaskFactory, TaskSplit};

pub use sink::{FileSinkConfig, FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileSourceConfig, FileStreamSourceConnector, FileStreamSourceTask};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The source plugin.
pub const SOURCE_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "org.apache.kafka.connect.file.FileStreamSourceConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || Box::new(FileStreamSourceConnector::new(VERSION, TaskSplit::One)),
    new_task: TaskFactory::Source(|| Box::new(FileStreamSourceTask::default())),
};

/// The sink plugin.
pub const SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "org.apache.kafka.connect.file.FileStreamSinkConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || Box::new(FileStreamSinkConnector::new(VERSION, TaskSplit::Copies)),
    new_task: TaskFactory::Sink(|| Box::new(FileStreamSinkTask::default())),
};

/// Adds both plugins to a registry.
pub fn register(registry: &mut Registry) {
    registry.register_connector(SOURCE_PLUGIN);
    registry.register_connector(SINK_PLUGIN);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_by_kafka_names() {
        let mut r = Registry::new();
        register(&mut r);
        for name in [
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "FileStreamSourceConnector",
            "FileStreamSource",
        ] {
            assert_eq!(
                r.connector(name).map(|p| p.class_name),
                Some(SOURCE_PLUGIN.class_name)
            );
        }
        assert_eq!(
            r.connector("FileStreamSink").map(|p| p.class_name),
            Some(SINK_PLUGIN.class_name)
        );
    }
}
