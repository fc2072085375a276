//! The NATS JetStream connectors' keys (Sluice's own; no Kafka Connect
//! connector for JetStream is in wide use).

use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::config::{
    ConfigKey, ConfigValue, ConnectorConfig, Importance, Password, TypedDef, Validator,
};

/// Keys both connectors share.
#[derive(Debug, Default, Clone)]
pub struct Connection {
    pub urls: Vec<String>,
    pub user: String,
    pub password: Option<Password>,
    pub token: Option<Password>,
    pub nkey: Option<Password>,
    pub connect_timeout: Duration,
    pub max_retry: Duration,
    /// The `nats.ssl.*` keys that are set, by name.
    pub ssl: crate::tls::SslKeys,
}

/// The TLS keys: Kafka's `ssl.*` keys under `nats.` (stores are PEM or
/// PKCS12 files, or inline PEM).
pub const SSL_PREFIX: &str = "nats.";
const SSL_KEYS: crate::ssl_keys::Names = [
    "nats.ssl.truststore.location",
    "nats.ssl.truststore.password",
    "nats.ssl.truststore.type",
    "nats.ssl.truststore.certificates",
    "nats.ssl.keystore.location",
    "nats.ssl.keystore.password",
    "nats.ssl.keystore.type",
    "nats.ssl.keystore.certificate.chain",
    "nats.ssl.keystore.key",
    "nats.ssl.key.password",
];

#[derive(Debug, Default)]
pub struct NatsSourceConfig {
    pub conn: Connection,
    pub stream: String,
    pub subject: String,
    pub durable: Option<String>,
    pub max_ack_pending: i64,
    pub ack_wait: Duration,
    pub kafka_topic: String,
    pub batch_size: usize,
    pub poll_wait: Duration,
}

#[derive(Debug, Default)]
pub struct NatsSinkConfig {
    pub conn: Connection,
    pub subject: String,
    pub max_pending: usize,
    pub ack_timeout: Duration,
}

const CONN: &str = "Connection";
const SECURITY: &str = "Security";
const NATS: &str = "NATS";

fn urls_ok(v: &ConfigValue) -> Result<(), String> {
    let ConfigValue::List(items) = v else {
        return Err("expected a list of URLs".into());
    };
    if items.is_empty() {
        return Err("is required: one or more server URLs such as nats://127.0.0.1:4222".into());
    }
    for u in items {
        let lower = u.to_ascii_lowercase();
        if !lower.starts_with("nats://") && !lower.starts_with("tls://") && lower.contains("://") {
            return Err(format!("'{u}': use nats://host:port or tls://host:port"));
        }
    }
    Ok(())
}

fn connection_keys<C: Default + 'static>(
    def: TypedDef<C>,
    conn: fn(&mut C) -> &mut Connection,
) -> TypedDef<C> {
    let def = def.field(
        ConfigKey::named("nats.url").default_value("nats://127.0.0.1:4222").validator(Validator::custom(urls_ok)).importance(Importance::High).group(CONN, 1)
            .doc("Servers of the NATS cluster: nats://host:port, or tls://host:port to require TLS (with the nats.ssl.* keys)."),
        move |c, v| conn(c).urls = v,
    )
    .field(
        ConfigKey::named("nats.user").default_value("").importance(Importance::High).group(CONN, 2)
            .doc("User name, with nats.password."),
        move |c, v| conn(c).user = v,
    )
    .field(
        ConfigKey::named("nats.password").importance(Importance::High).group(CONN, 3)
            .doc("Password of nats.user."),
        move |c, v| conn(c).password = v,
    )
    .field(
        ConfigKey::named("nats.token").importance(Importance::High).group(CONN, 4)
            .doc("Authentication token (instead of a user)."),
        move |c, v| conn(c).token = v,
    )
    .field(
        ConfigKey::named("nats.nkey.seed").importance(Importance::High).group(CONN, 5)
            .doc("NKey seed (SU...) to sign the server's challenge with (instead of a user)."),
        move |c, v| conn(c).nkey = v,
    )
    .field(
        ConfigKey::named("nats.connect.timeout.ms").default_value("10000").validator(Validator::between(1.0, 600_000.0)).importance(Importance::Low).group(CONN, 6)
            .doc("How long one connection attempt may take."),
        move |c, v| conn(c).connect_timeout = v,
    )
    .field(
        ConfigKey::named("max.retry.time.ms").default_value("30000").validator(Validator::between(100.0, 3_600_000.0)).importance(Importance::Low).group(CONN, 7)
            .doc("Longest wait between two attempts to connect or to consume: the wait doubles from 100 ms up to this; attempts never stop."),
        move |c, v| conn(c).max_retry = v,
    );
    crate::ssl_keys::declare(def, &SSL_KEYS, SECURITY, move |c| &mut conn(c).ssl.0)
}

impl Connection {
    /// Whether a `tls://` URL asks for TLS.
    pub fn tls_required(&self) -> bool {
        self.urls
            .iter()
            .any(|u| u.trim().to_ascii_lowercase().starts_with("tls://"))
    }

    /// The TLS client settings, when TLS is asked for (`tls://`) or a
    /// `nats.ssl.*` key is set; either way TLS is then required.
    pub fn tls_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
        if !self.tls_required() && self.ssl.0.is_empty() {
            return Ok(None);
        }
        crate::ssl_keys::client_config(&self.ssl.0, SSL_PREFIX).map(Some)
    }

    /// A validation issue when the TLS stores cannot be read.
    pub fn tls_issue(&self) -> Vec<(&'static str, String)> {
        crate::ssl_keys::issue(self.tls_config(), &SSL_KEYS)
    }
}

impl ConnectorConfig for NatsSourceConfig {
    fn definition() -> TypedDef<Self> {
        connection_keys(TypedDef::<Self>::new(), |c: &mut Self| &mut c.conn)
            .check_with(|c| c.conn.tls_issue())
            .field(
                ConfigKey::named("nats.stream").validator(crate::sync::not_blank("the JetStream stream to consume")).importance(Importance::High).group(NATS, 1)
                    .doc("JetStream stream to consume; it must exist."),
                |c, v| c.stream = v,
            )
            .field(
                ConfigKey::named("nats.subject").default_value("").importance(Importance::High).group(NATS, 2)
                    .doc("Subject filter within the stream (wildcards * and >); empty takes the whole stream."),
                |c, v| c.subject = v,
            )
            .field(
                ConfigKey::named("nats.durable").importance(Importance::High).group(NATS, 3)
                    .doc("Name of the durable pull consumer, made if missing; default the connector's name. Its position survives restarts on the server."),
                |c, v| c.durable = v,
            )
            .field(
                ConfigKey::named("nats.max.ack.pending").default_value("2048").validator(Validator::between(1.0, 1_000_000.0)).importance(Importance::Medium).group(NATS, 4)
                    .doc("Messages the server may deliver before they are acknowledged (acknowledged only once Kafka has them)."),
                |c, v| c.max_ack_pending = v,
            )
            .field(
                ConfigKey::named("nats.ack.wait.ms").default_value("30000").validator(Validator::between(1000.0, 3_600_000.0)).importance(Importance::Low).group(NATS, 5)
                    .doc("How long the server waits for an acknowledgement before it delivers a message again."),
                |c, v| c.ack_wait = v,
            )
            .field(
                ConfigKey::named("kafka.topic").validator(crate::sync::not_blank("the Kafka topic to write to")).importance(Importance::High).group(NATS, 6)
                    .doc("Kafka topic the messages are written to."),
                |c, v| c.kafka_topic = v,
            )
            .field(
                ConfigKey::named("batch.size").default_value("1024").validator(Validator::between(1.0, 100_000.0)).importance(Importance::Low).group(NATS, 7)
                    .doc("Most records one poll returns."),
                |c, v| c.batch_size = v,
            )
            .field(
                ConfigKey::named("poll.interval.ms").default_value("100").validator(Validator::between(1.0, 60_000.0)).importance(Importance::Low).group(NATS, 8)
                    .doc("How long a poll waits for a first message."),
                |c, v| c.poll_wait = v,
            )
    }
}

impl ConnectorConfig for NatsSinkConfig {
    fn definition() -> TypedDef<Self> {
        connection_keys(TypedDef::<Self>::new(), |c: &mut Self| &mut c.conn)
            .check_with(|c| c.conn.tls_issue())
            .field(
                ConfigKey::named("nats.subject").default_value("${topic}").validator(Validator::custom(|v| {
                    crate::template::Template::parse(&v.to_string()).map(|_| ())
                })).importance(Importance::High).group(NATS, 1)
                    .doc("Subject of each message: text with ${topic}, ${partition}, ${key}, ${value.<field>} and ${header.<name>}; a stream must take it."),
                |c, v| c.subject = v,
            )
            .field(
                ConfigKey::named("nats.max.pending").default_value("1024").validator(Validator::between(1.0, 1_000_000.0)).importance(Importance::Low).group(NATS, 2)
                    .doc("Publishes awaiting the stream's acknowledgement, at most."),
                |c, v| c.max_pending = v,
            )
            .field(
                ConfigKey::named("nats.publish.ack.timeout.ms").default_value("10000").validator(Validator::between(1.0, 3_600_000.0)).importance(Importance::Low).group(NATS, 3)
                    .doc("How long a commit waits for the stream's acknowledgements; what was not acknowledged is published again (the Nats-Msg-Id header lets the stream drop the repeat)."),
                |c, v| c.ack_timeout = v,
            )
    }
}
