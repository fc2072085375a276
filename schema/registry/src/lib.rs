//! A schema registry that speaks Confluent Schema Registry's REST API for Avro
//! schemas, so any Confluent-compatible serializer, deserializer or tool works
//! against it. Its state lives in a Kafka topic (`_schemas`) in Confluent's
//! record layout, read back from the beginning at start.
//!
//! - [`service::Registry`]: the operations (register, look up, delete,
//!   compatibility, config, mode), independent of HTTP.
//! - [`api::router`]: the REST endpoints over a registry.
//! - [`state::State`]: what the topic's records add up to; every instance
//!   resolves conflicting writes the same way (first in the log wins).
//! - [`kafka::KafkaLog`] / [`store::MemoryLog`]: where writes go.
//! - [`compat`]: the Avro schema resolution rules behind compatibility levels.
//! - [`server::start`]: the whole registry on its listeners (http or
//!   https), behind [`auth`] when `authentication.method=BASIC`.

pub mod api;
pub mod auth;
pub mod compat;
pub mod config;
mod error;
pub mod kafka;
pub mod log;
pub mod schema_text;
pub mod server;
pub mod service;
pub mod state;
pub mod store;

pub use config::{ConfigError, RegistryConfig};
pub use error::RegistryError;
