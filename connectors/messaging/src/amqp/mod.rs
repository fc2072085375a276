//! AMQP 0-9-1 (RabbitMQ) source and sink, drop-in for Confluent's
//! (`io.confluent.connect.rabbitmq.RabbitMQSourceConnector`,
//! `io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector`).

pub mod config;
mod connection;
pub mod sink;
pub mod source;

pub use config::{RabbitSinkConfig, RabbitSourceConfig};
pub use sink::RabbitSinkTask;
pub use source::RabbitSourceTask;
