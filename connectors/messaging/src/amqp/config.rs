//! The RabbitMQ connectors' keys: Confluent's names and defaults, but for
//! `rabbitmq.prefetch.count`, which is bounded by default (Confluent's 0
//! lets the broker push a whole queue into the task's memory).

use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::config::{
    ConfigEnum, ConfigKey, ConfigValue, ConnectorConfig, Importance, Password, TypedDef, Validator,
};

/// Keys both connectors share.
#[derive(Debug, Default, Clone)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Option<Password>,
    pub vhost: String,
    pub heartbeat_secs: u16,
    pub connection_timeout: Duration,
    pub automatic_recovery: bool,
    pub recovery_interval: Duration,
    pub security_protocol: String,
    /// The `rabbitmq.https.ssl.*` keys that are set, by name.
    pub ssl: crate::tls::SslKeys,
}

/// Confluent's TLS keys for RabbitMQ: Kafka's `ssl.*` keys under
/// `rabbitmq.https.`.
pub const SSL_PREFIX: &str = "rabbitmq.https.";
const SSL_KEYS: crate::ssl_keys::Names = [
    "rabbitmq.https.ssl.truststore.location",
    "rabbitmq.https.ssl.truststore.password",
    "rabbitmq.https.ssl.truststore.type",
    "rabbitmq.https.ssl.truststore.certificates",
    "rabbitmq.https.ssl.keystore.location",
    "rabbitmq.https.ssl.keystore.password",
    "rabbitmq.https.ssl.keystore.type",
    "rabbitmq.https.ssl.keystore.certificate.chain",
    "rabbitmq.https.ssl.keystore.key",
    "rabbitmq.https.ssl.key.password",
];

impl Connection {
    /// `rabbitmq.security.protocol=SSL`.
    pub fn tls(&self) -> bool {
        self.security_protocol.eq_ignore_ascii_case("SSL")
    }

    /// The TLS client settings with `SSL`: the stores of the
    /// `rabbitmq.https.ssl.*` keys, read again at every connection.
    pub fn tls_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
        if !self.tls() {
            return Ok(None);
        }
        crate::ssl_keys::client_config(&self.ssl.0, SSL_PREFIX).map(Some)
    }
}

/// `rabbitmq.delivery.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryMode {
    #[default]
    Persistent,
    Transient,
}

impl ConfigEnum for DeliveryMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("PERSISTENT", DeliveryMode::Persistent),
            ("TRANSIENT", DeliveryMode::Transient),
        ]
    }
}

#[derive(Debug, Default)]
pub struct RabbitSourceConfig {
    pub conn: Connection,
    pub kafka_topic: String,
    pub queues: Vec<String>,
    pub prefetch: Option<u16>,
    pub prefetch_global: bool,
    pub batch_size: usize,
    pub poll_wait: Duration,
}

#[derive(Debug, Default)]
pub struct RabbitSinkConfig {
    pub conn: Connection,
    pub exchange: String,
    pub routing_key: String,
    pub delivery_mode: DeliveryMode,
    pub forward_key: bool,
    pub forward_metadata: bool,
    pub forward_headers: bool,
    pub max_batch: usize,
    pub ack_timeout: Duration,
    pub max_retries: u32,
}

const CONN: &str = "Connection";
const SECURITY: &str = "Security";
const RABBIT: &str = "RabbitMQ";

fn security_protocol_ok(v: &ConfigValue) -> Result<(), String> {
    match v.to_string().to_ascii_uppercase().as_str() {
        "PLAINTEXT" | "SSL" => Ok(()),
        other => Err(format!("'{other}' is not PLAINTEXT or SSL")),
    }
}

fn connection_keys<C: Default + 'static>(
    def: TypedDef<C>,
    conn: fn(&mut C) -> &mut Connection,
) -> TypedDef<C> {
    let def = def.field(
        ConfigKey::named("rabbitmq.host").default_value("localhost").importance(Importance::High).group(CONN, 1)
            .doc("RabbitMQ host."),
        move |c, v| conn(c).host = v,
    )
    .field(
        ConfigKey::named("rabbitmq.port").default_value("5672").validator(Validator::between(1.0, 65535.0)).importance(Importance::Medium).group(CONN, 2)
            .doc("RabbitMQ port."),
        move |c, v| conn(c).port = v,
    )
    .field(
        ConfigKey::named("rabbitmq.username").default_value("guest").importance(Importance::High).group(CONN, 3)
            .doc("User to connect as."),
        move |c, v| conn(c).username = v,
    )
    .field(
        ConfigKey::named("rabbitmq.password").default_value("guest").importance(Importance::High).group(CONN, 4)
            .doc("Password of rabbitmq.username."),
        move |c, v| conn(c).password = v,
    )
    .field(
        ConfigKey::named("rabbitmq.virtual.host").default_value("/").importance(Importance::High).group(CONN, 5)
            .doc("Virtual host to connect to."),
        move |c, v| conn(c).vhost = v,
    )
    .field(
        ConfigKey::named("rabbitmq.requested.heartbeat.seconds").default_value("60").validator(Validator::between(0.0, 65535.0)).importance(Importance::Low).group(CONN, 6)
            .doc("Heartbeat interval asked of the broker; 0 turns heartbeats off."),
        move |c, v| conn(c).heartbeat_secs = v,
    )
    .field(
        ConfigKey::named("rabbitmq.connection.timeout.ms").default_value("60000").validator(Validator::between(1.0, 3_600_000.0)).importance(Importance::Low).group(CONN, 7)
            .doc("How long one connection attempt may take."),
        move |c, v| conn(c).connection_timeout = v,
    )
    .field(
        ConfigKey::named("rabbitmq.automatic.recovery.enabled").default_value("true").importance(Importance::Low).group(CONN, 8)
            .doc("Reconnect after a lost connection (and wait for a broker that is down at start). false fails the task instead."),
        move |c, v| conn(c).automatic_recovery = v,
    )
    .field(
        ConfigKey::named("rabbitmq.network.recovery.interval.ms").default_value("10000").validator(Validator::between(100.0, 3_600_000.0)).importance(Importance::Low).group(CONN, 9)
            .doc("Longest wait between two connection attempts: the wait doubles from 100 ms up to this."),
        move |c, v| conn(c).recovery_interval = v,
    )
    .field(
        ConfigKey::named("rabbitmq.security.protocol").default_value("PLAINTEXT").validator(Validator::custom(security_protocol_ok)).importance(Importance::Medium).group(CONN, 10)
            .doc("PLAINTEXT, or SSL: TLS with the rabbitmq.https.ssl.* keys (usually on port 5671)."),
        move |c, v| conn(c).security_protocol = v,
    );
    crate::ssl_keys::declare(def, &SSL_KEYS, SECURITY, move |c| &mut conn(c).ssl.0)
}

/// A validation issue when the TLS stores cannot be read.
fn tls_issue(conn: &Connection) -> Vec<(&'static str, String)> {
    crate::ssl_keys::issue(conn.tls_config(), &SSL_KEYS)
}

impl ConnectorConfig for RabbitSourceConfig {
    fn definition() -> TypedDef<Self> {
        connection_keys(TypedDef::<Self>::new(), |c: &mut Self| &mut c.conn)
            .check_with(|c| tls_issue(&c.conn))
            .field(
                ConfigKey::named("kafka.topic").validator(crate::sync::not_blank("the Kafka topic to write to")).importance(Importance::High).group(RABBIT, 1)
                    .doc("Kafka topic the messages are written to."),
                |c, v| c.kafka_topic = v,
            )
            .field(
                ConfigKey::named("rabbitmq.queue").validator(Validator::custom(|v| match v {
                    ConfigValue::List(l) if !l.is_empty() && l.iter().all(|q| !q.trim().is_empty()) => Ok(()),
                    _ => Err("is required: one or more queue names (the queues must exist)".into()),
                })).importance(Importance::High).group(RABBIT, 2)
                    .doc("Queues to consume from; they must exist."),
                |c, v| c.queues = v,
            )
            .field(
                ConfigKey::named("rabbitmq.prefetch.count").validator(Validator::between(0.0, 65535.0)).importance(Importance::Medium).group(RABBIT, 3)
                    .doc("Messages the broker may deliver before they are acknowledged. Default: twice batch.size (Confluent's 0 is unlimited: a long queue would all be pushed into memory, unacknowledged). 0 means unlimited."),
                |c, v| c.prefetch = v,
            )
            .field(
                ConfigKey::named("rabbitmq.prefetch.global").default_value("false").importance(Importance::Low).group(RABBIT, 4)
                    .doc("Apply the prefetch count to the whole channel rather than to each consumer."),
                |c, v| c.prefetch_global = v,
            )
            .field(
                ConfigKey::named("batch.size").default_value("1024").validator(Validator::between(1.0, 100_000.0)).importance(Importance::Low).group(RABBIT, 5)
                    .doc("Most records one poll returns."),
                |c, v| c.batch_size = v,
            )
            .field(
                ConfigKey::named("poll.interval.ms").default_value("100").validator(Validator::between(1.0, 60_000.0)).importance(Importance::Low).group(RABBIT, 6)
                    .doc("How long a poll waits for a first message."),
                |c, v| c.poll_wait = v,
            )
    }
}

impl ConnectorConfig for RabbitSinkConfig {
    fn definition() -> TypedDef<Self> {
        connection_keys(TypedDef::<Self>::new(), |c: &mut Self| &mut c.conn)
            .check_with(|c| tls_issue(&c.conn))
            .field(
                ConfigKey::named("rabbitmq.exchange").validator(crate::sync::not_blank("the exchange to publish to")).importance(Importance::High).group(RABBIT, 1)
                    .doc("Exchange to publish to; it must exist."),
                |c, v| c.exchange = v,
            )
            .field(
                ConfigKey::named("rabbitmq.routing.key").default_value("").validator(Validator::custom(|v| {
                    let text = v.to_string();
                    if text.is_empty() {
                        return Ok(());
                    }
                    crate::template::Template::parse(&text).map(|_| ())
                })).importance(Importance::High).group(RABBIT, 2)
                    .doc("Routing key of each message: text with ${topic}, ${partition}, ${key}, ${value.<field>} and ${header.<name>}."),
                |c, v| c.routing_key = v,
            )
            .field(
                ConfigKey::named("rabbitmq.delivery.mode").default_value("PERSISTENT").importance(Importance::Medium).group(RABBIT, 3)
                    .doc("PERSISTENT (written to disk by durable queues) or TRANSIENT."),
                |c, v| c.delivery_mode = v,
            )
            .field(
                ConfigKey::named("rabbitmq.forward.kafka.key").default_value("false").importance(Importance::Low).group(RABBIT, 4)
                    .doc("Send the record's key as the message's correlation id."),
                |c, v| c.forward_key = v,
            )
            .field(
                ConfigKey::named("rabbitmq.forward.kafka.metadata").default_value("false").importance(Importance::Low).group(RABBIT, 5)
                    .doc("Send the record's topic, partition and offset as headers KAFKA_TOPIC, KAFKA_PARTITION, KAFKA_OFFSET."),
                |c, v| c.forward_metadata = v,
            )
            .field(
                ConfigKey::named("rabbitmq.forward.kafka.headers").default_value("false").importance(Importance::Low).group(RABBIT, 6)
                    .doc("Send the record's headers as message headers."),
                |c, v| c.forward_headers = v,
            )
            .field(
                ConfigKey::named("rabbitmq.publish.max.batch.size").default_value("100").validator(Validator::between(1.0, 65535.0)).importance(Importance::Low).group(RABBIT, 7)
                    .doc("Publishes awaiting the broker's confirmation, at most."),
                |c, v| c.max_batch = v,
            )
            .field(
                ConfigKey::named("rabbitmq.publish.ack.timeout").default_value("10000").validator(Validator::between(1.0, 3_600_000.0)).importance(Importance::Low).group(RABBIT, 8)
                    .doc("Milliseconds to wait for the broker's confirmations at a commit."),
                |c, v| c.ack_timeout = v,
            )
            .field(
                ConfigKey::named("rabbitmq.publish.max.retries").default_value("5").validator(Validator::between(0.0, 1000.0)).importance(Importance::Low).group(RABBIT, 9)
                    .doc("Times a commit may end with publishes still unconfirmed before the task fails; confirmed records are committed each time."),
                |c, v| c.max_retries = v,
            )
    }
}
