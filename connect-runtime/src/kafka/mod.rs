//! Kafka clients: librdkafka settings, logging, topic creation.

mod admin;
pub mod group_offsets;
pub mod group_security;
pub mod java_keys;
pub mod oidc;

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;

pub use admin::TopicAdmin;

/// Routes librdkafka's logs and errors into `tracing`.
#[derive(Debug, Clone, Default)]
pub struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", fac, "{log_message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{log_message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", fac, "{log_message}");
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", %error, "{reason}");
    }

    fn stats(&self, _statistics: rdkafka::Statistics) {}
}

/// Producer defaults: Kafka Connect's guarantees (acks=all, order kept
/// under retries, retry until delivered) plus explicit queue bounds so
/// memory stays bounded. Order under retries comes from the idempotent
/// producer (a producer id and sequence numbers, KIP-98), which also drops
/// the duplicates a retry would write, with up to 5 requests in flight,
/// rather than from Kafka Connect's one request in flight. `producer.*`
/// worker keys and `producer.override.*` connector keys win (a broker older
/// than Kafka 0.11 needs `producer.enable.idempotence=false` and
/// `producer.max.in.flight.requests.per.connection=1`).
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("max.in.flight.requests.per.connection", "5"),
    ("message.timeout.ms", "0"),
    ("linger.ms", "5"),
    ("batch.num.messages", "10000"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "65536"),
    ("compression.type", "none"),
    ("statistics.interval.ms", "5000"),
    // Connect to the brokers at once: with lazy ("sparse") connections the
    // idempotent producer finds no broker up when it first asks for its
    // producer id and retries on a 500 ms timer, so a task's first record
    // waited 0.5-1 s (make bench case 7); with this, 40-60 ms. The cost is
    // a connection per broker per task producer.
    ("enable.sparse.connections", "false"),
];

/// Consumer defaults for sink tasks: Kafka Connect's (earliest, no auto
/// commit) plus bounded fetch queues.
pub const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("auto.offset.reset", "earliest"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("queued.max.messages.kbytes", "32768"),
    ("queued.min.messages", "10000"),
    ("topic.metadata.refresh.interval.ms", "10000"),
    ("enable.partition.eof", "false"),
    ("statistics.interval.ms", "5000"),
];

/// Builds a client config from layers; later layers win.
pub fn client_config(
    bootstrap: &str,
    layers: &[&BTreeMap<String, String>],
    defaults: &[(&str, &str)],
) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap);
    cfg.set("log_level", "4");
    for (k, v) in defaults {
        cfg.set(*k, *v);
    }
    for (k, v) in librdkafka_settings(layers) {
        cfg.set(k, v);
    }
    cfg
}

/// Layers of Java-named client settings as librdkafka's, in order (a key
/// set again later wins when applied in order).
pub fn librdkafka_settings(layers: &[&BTreeMap<String, String>]) -> Vec<(String, String)> {
    // A Java store type or password set in any layer applies to the
    // locations of all.
    let setting =
        |k: &str| -> Option<String> { layers.iter().rev().find_map(|l| l.get(k).cloned()) };
    layers
        .iter()
        .flat_map(|layer| layer.iter())
        .flat_map(|(k, v)| java_keys::translate(k, v, &setting))
        .collect()
}

impl rdkafka::consumer::ConsumerContext for LogContext {}
