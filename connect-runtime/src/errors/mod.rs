//! Error handling for records: `errors.*` settings, retries, tolerance,
//! logging and the dead letter queue (Kafka Connect's
//! `org.apache.kafka.connect.runtime.errors`).

pub mod config;
pub mod context;
pub mod dlq;
pub mod handler;

pub use config::ErrorConfig;
pub use context::{DlqRecord, OriginalRecord, Stage, StageFailure};
pub use dlq::DlqWriter;
pub use handler::ErrorHandler;
