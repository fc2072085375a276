//! Message broker connectors. Each acknowledges to its broker only after
//! Kafka acknowledged the data (sources), and commits Kafka offsets only
//! after the broker acknowledged the publish (sinks).
//!
//! - MQTT 3.1.1 (feature `mqtt`): `io.confluent.connect.mqtt.MqttSourceConnector`
//!   and `io.confluent.connect.mqtt.MqttSinkConnector`.
//! - AMQP 0-9-1 / RabbitMQ (feature `amqp`):
//!   `io.confluent.connect.rabbitmq.RabbitMQSourceConnector` and
//!   `io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector`.
//! - NATS JetStream (feature `nats`): `NatsJetStreamSource`,
//!   `NatsJetStreamSink`.

#[cfg(feature = "amqp")]
pub mod amqp;
mod backoff;
#[cfg(feature = "mqtt")]
pub mod mqtt;
#[cfg(feature = "nats")]
pub mod nats;
mod sink_util;
#[cfg(any(feature = "amqp", feature = "nats"))]
mod ssl_keys;
mod sync;
pub mod template;
mod tls;

use sluice_connect_api::Registry;
#[cfg(any(feature = "mqtt", feature = "amqp", feature = "nats"))]
use sluice_connect_api::{ConfigConnector, ConnectorPlugin, TaskFactory, TaskSplit};

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The MQTT source plugin.
#[cfg(feature = "mqtt")]
pub const MQTT_SOURCE_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.confluent.connect.mqtt.MqttSourceConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || Box::new(mqtt::MqttSourceConnector::default()),
    new_task: TaskFactory::Source(|| Box::new(mqtt::MqttSourceTask::default())),
};

/// The MQTT sink plugin.
#[cfg(feature = "mqtt")]
pub const MQTT_SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.confluent.connect.mqtt.MqttSinkConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || {
        Box::new(ConfigConnector::<mqtt::MqttSinkConfig>::new(
            VERSION,
            TaskSplit::Numbered(mqtt::config::TASK_INDEX),
        ))
    },
    new_task: TaskFactory::Sink(|| Box::new(mqtt::MqttSinkTask::default())),
};

/// The RabbitMQ source plugin.
#[cfg(feature = "amqp")]
pub const RABBITMQ_SOURCE_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.confluent.connect.rabbitmq.RabbitMQSourceConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || {
        Box::new(ConfigConnector::<amqp::RabbitSourceConfig>::new(
            VERSION,
            TaskSplit::Copies,
        ))
    },
    new_task: TaskFactory::Source(|| Box::new(amqp::RabbitSourceTask::default())),
};

/// The RabbitMQ sink plugin.
#[cfg(feature = "amqp")]
pub const RABBITMQ_SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector",
    aliases: &[],
    version: VERSION,
    new_connector: || {
        Box::new(ConfigConnector::<amqp::RabbitSinkConfig>::new(
            VERSION,
            TaskSplit::Copies,
        ))
    },
    new_task: TaskFactory::Sink(|| Box::new(amqp::RabbitSinkTask::default())),
};

/// The NATS JetStream source plugin (Sluice's own class name).
#[cfg(feature = "nats")]
pub const NATS_SOURCE_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.sluice.connect.nats.NatsJetStreamSourceConnector",
    aliases: &["NatsJetStreamSource"],
    version: VERSION,
    new_connector: || {
        Box::new(ConfigConnector::<nats::NatsSourceConfig>::new(
            VERSION,
            TaskSplit::Copies,
        ))
    },
    new_task: TaskFactory::Source(|| Box::new(nats::NatsSourceTask::default())),
};

/// The NATS JetStream sink plugin.
#[cfg(feature = "nats")]
pub const NATS_SINK_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.sluice.connect.nats.NatsJetStreamSinkConnector",
    aliases: &["NatsJetStreamSink"],
    version: VERSION,
    new_connector: || {
        Box::new(ConfigConnector::<nats::NatsSinkConfig>::new(
            VERSION,
            TaskSplit::Copies,
        ))
    },
    new_task: TaskFactory::Sink(|| Box::new(nats::NatsSinkTask::default())),
};

/// Adds the plugins this crate was built with to a registry.
pub fn register(registry: &mut Registry) {
    #[cfg(feature = "mqtt")]
    {
        registry.register_connector(MQTT_SOURCE_PLUGIN);
        registry.register_connector(MQTT_SINK_PLUGIN);
    }
    #[cfg(feature = "amqp")]
    {
        registry.register_connector(RABBITMQ_SOURCE_PLUGIN);
        registry.register_connector(RABBITMQ_SINK_PLUGIN);
    }
    #[cfg(feature = "nats")]
    {
        registry.register_connector(NATS_SOURCE_PLUGIN);
        registry.register_connector(NATS_SINK_PLUGIN);
    }
    let _ = registry;
}

#[cfg(all(test, feature = "mqtt", feature = "amqp", feature = "nats"))]
mod tests {
    use super::*;

    #[test]
    fn found_by_confluents_names_and_aliases() {
        let mut r = Registry::new();
        register(&mut r);
        for (name, class) in [
            (
                "io.confluent.connect.mqtt.MqttSourceConnector",
                MQTT_SOURCE_PLUGIN.class_name,
            ),
            ("MqttSourceConnector", MQTT_SOURCE_PLUGIN.class_name),
            ("MqttSource", MQTT_SOURCE_PLUGIN.class_name),
            ("MqttSink", MQTT_SINK_PLUGIN.class_name),
            (
                "io.confluent.connect.mqtt.MqttSinkConnector",
                MQTT_SINK_PLUGIN.class_name,
            ),
        ] {
            assert_eq!(
                r.connector(name).map(|p| p.class_name),
                Some(class),
                "{name}"
            );
        }
    }
}
