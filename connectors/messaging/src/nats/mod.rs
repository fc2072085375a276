//! NATS JetStream source and sink (`NatsJetStreamSource`,
//! `NatsJetStreamSink`): a durable pull consumer acknowledged after Kafka;
//! publishes with JetStream acknowledgements and `Nats-Msg-Id` for the
//! stream's duplicate window.

pub mod config;
mod connection;
pub mod sink;
pub mod source;

pub use config::{NatsSinkConfig, NatsSourceConfig};
pub use sink::NatsSinkTask;
pub use source::NatsSourceTask;
