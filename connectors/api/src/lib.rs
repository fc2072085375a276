//! The Sluice connector SDK.
//!
//! A connector author implements [`Connector`] plus either [`SourceTask`] or
//! [`SinkTask`], describes the configuration with a [`ConfigDef`], and
//! registers a [`ConnectorPlugin`] in a [`Registry`]. The runtime does the
//! rest: config validation, offsets, delivery to Kafka, retries, REST.
//!
//! The model is Kafka Connect's: a *connector* splits the job into task
//! configs; each *task* moves records. Source tasks return [`SourceRecord`]s
//! whose `source_partition`/`source_offset` the runtime stores once Kafka has
//! acknowledged them; sink tasks receive [`SinkRecord`]s and make them durable
//! on [`SinkTask::flush`], after which the runtime commits the consumer
//! offsets.
//!
//! ```
//! use sluice_connect_api::config::{ConfigDef, ConfigType, Importance};
//! let def = ConfigDef::new()
//!     .define("topic", ConfigType::String, None, Importance::High, "Topic to write to");
//! let mut props = std::collections::BTreeMap::new();
//! props.insert("topic".to_string(), "lines".to_string());
//! let parsed = def.parse(&props).unwrap();
//! assert_eq!(parsed.string("topic").unwrap(), "lines");
//! ```

mod ack;
pub mod config;
mod connector;
mod context;
mod error;
mod plugin;
mod record;
mod simple;
pub mod transform;

pub use ack::SourceAcknowledger;
pub use connector::{Connector, SinkTask, SourceTask};
pub use context::{
    ConnectorContext, ConnectorRequest, ErrantRecordReporter, ErrantReport, OffsetReader,
    SinkTaskContext, SinkTaskRequests, SourceTaskContext, TaskGauge, TaskGauges,
};
pub use error::{ConnectError, ConnectResult};
pub use plugin::{
    ConnectorPlugin, ConnectorType, ConverterFactory, ConverterPlugin, Registry, TaskFactory,
};
pub use record::{
    Header, OffsetMap, RecordMetadata, SinkRecord, SourceOffset, SourcePartition, SourceRecord,
    TimestampType, Topic, TopicPartition,
};
pub use simple::{ConfigConnector, TaskSplit};
pub use transform::{
    ConnectRecord, Predicate, PredicatePlugin, TransformContext, TransformPlugin, TransformStore,
    Transformation,
};

/// Connector and task configuration: Kafka Connect's `Map<String, String>`.
/// Sorted, so a config prints and compares the same way every time.
pub type Config = std::collections::BTreeMap<String, String>;

/// Re-export of the data model so connector crates need one dependency.
pub use sluice_schema as schema;
