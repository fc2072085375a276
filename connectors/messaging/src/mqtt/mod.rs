//! MQTT 3.1.1 source and sink, drop-in for Confluent's MQTT connectors
//! (`io.confluent.connect.mqtt.MqttSourceConnector`,
//! `io.confluent.connect.mqtt.MqttSinkConnector`).

pub mod config;
mod connection;
mod connector;
pub mod sink;
pub mod source;
pub mod topic;
pub mod uri;

pub use config::{MqttSinkConfig, MqttSourceConfig};
pub use connector::MqttSourceConnector;
pub use sink::MqttSinkTask;
pub use source::MqttSourceTask;
