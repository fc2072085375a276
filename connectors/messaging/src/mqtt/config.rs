//! The MQTT connectors' keys: Confluent's names where Confluent has the
//! key, with safer defaults where the issue asks for them (the source
//! defaults to QoS 1 and a persistent session).

use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::config::{
    ConfigKey, ConfigValue, ConnectorConfig, Importance, Password, TypedDef, Validator,
};

use super::uri::ServerUri;

/// Keys both connectors share: where the broker is and how to log in.
#[derive(Debug, Default, Clone)]
pub struct Connection {
    pub servers: Vec<ServerUri>,
    pub client_id: Option<String>,
    pub username: String,
    pub password: Option<Password>,
    pub keepalive_secs: u16,
    pub connect_timeout_secs: u16,
    pub clean_session: bool,
    pub qos: u8,
    pub max_packet_size: usize,
    pub max_retry: Duration,
    /// The `mqtt.ssl.*` keys that are set, by name.
    pub ssl: crate::tls::SslKeys,
}

/// Confluent's MQTT TLS keys, with the Kafka `ssl.*` keys they stand for:
/// the stores are PEM or PKCS12 files (JKS is refused with the command
/// that converts it).
pub const SSL_KEYS: &[(&str, &str)] = &[
    ("ssl.truststore.location", "mqtt.ssl.trust.store.path"),
    ("ssl.truststore.password", "mqtt.ssl.trust.store.password"),
    ("ssl.keystore.location", "mqtt.ssl.key.store.path"),
    ("ssl.keystore.password", "mqtt.ssl.key.store.password"),
    ("ssl.key.password", "mqtt.ssl.key.password"),
];

/// The MQTT source's keys.
#[derive(Debug, Default)]
pub struct MqttSourceConfig {
    pub conn: Connection,
    pub topics: Vec<String>,
    pub kafka_topic: String,
    pub queue_size: usize,
    pub max_batch: usize,
    pub empty_timeout: Duration,
    pub task_index: usize,
}

/// The MQTT sink's keys.
#[derive(Debug, Default)]
pub struct MqttSinkConfig {
    pub conn: Connection,
    pub retained: bool,
    pub topic_template: String,
    pub publish_timeout: Duration,
    pub max_inflight: u16,
    pub task_index: usize,
}

const CONN: &str = "Connection";
const SECURITY: &str = "Security";
const MQTT: &str = "MQTT";
const KAFKA: &str = "Kafka";

/// Internal key: the task's index, set by the source connector when it
/// runs several tasks on shared subscriptions.
pub const TASK_INDEX: &str = "sluice.task.index";

fn uris_ok(v: &ConfigValue) -> Result<(), String> {
    let ConfigValue::List(items) = v else {
        return Err("expected a list of URIs".into());
    };
    if items.is_empty() {
        return Err("is required: one or more broker URIs such as tcp://localhost:1883".into());
    }
    for item in items {
        ServerUri::parse(item)?;
    }
    Ok(())
}

fn topics_ok(v: &ConfigValue) -> Result<(), String> {
    let ConfigValue::List(items) = v else {
        return Err("expected a list of topic filters".into());
    };
    if items.is_empty() {
        return Err("is required: one or more MQTT topic filters".into());
    }
    for t in items {
        super::topic::check_filter(t)?;
    }
    Ok(())
}

fn client_id_ok(v: &ConfigValue) -> Result<(), String> {
    let s = v.to_string();
    if s.starts_with(' ') {
        return Err("may not start with a space".into());
    }
    if s.len() > 65535 {
        return Err("is longer than MQTT allows (65535 bytes)".into());
    }
    Ok(())
}

/// Adds the connection keys; `source` picks the source's defaults.
fn connection_keys<C: Default + 'static>(
    def: TypedDef<C>,
    source: bool,
    conn: fn(&mut C) -> &mut Connection,
    conn_ref: fn(&C) -> &Connection,
) -> TypedDef<C> {
    def.field(
        ConfigKey::named("mqtt.server.uri").validator(Validator::custom(uris_ok)).importance(Importance::High).group(CONN, 1)
            .doc("Brokers to connect to: tcp://host:port (mqtt:// is the same; port 1883 by default) or ssl://host:port over TLS (mqtts://; port 8883 by default) with the mqtt.ssl.* keys. Several are tried in turn."),
        move |c, v: Vec<String>| {
            conn(c).servers = v.iter().filter_map(|s| ServerUri::parse(s).ok()).collect();
        },
    )
    .field(
        ConfigKey::named("mqtt.client.id").validator(Validator::custom(client_id_ok)).importance(Importance::Medium).group(CONN, 2)
            .doc("MQTT client id. Default <connector name>-<task index>: stable across restarts, so a persistent session resumes, and unique per task."),
        move |c, v| conn(c).client_id = v,
    )
    .field(
        ConfigKey::named("mqtt.username").default_value("").importance(Importance::High).group(CONN, 3)
            .doc("User name to connect with; blank connects without one."),
        move |c, v| conn(c).username = v,
    )
    .field(
        ConfigKey::named("mqtt.password").importance(Importance::High).group(CONN, 4)
            .doc("Password of mqtt.username."),
        move |c, v| conn(c).password = v,
    )
    .field(
        ConfigKey::named("mqtt.keepalive.interval.seconds").default_value("60").validator(Validator::between(0.0, 65535.0)).importance(Importance::Low).group(CONN, 5)
            .doc("Keep-alive interval; 0 turns keep-alive off."),
        move |c, v| conn(c).keepalive_secs = v,
    )
    .field(
        ConfigKey::named("mqtt.connect.timeout.seconds").default_value("30").validator(Validator::between(1.0, 65535.0)).importance(Importance::Low).group(CONN, 6)
            .doc("How long one connection attempt may take."),
        move |c, v| conn(c).connect_timeout_secs = v,
    )
    .field(
        ConfigKey::named("mqtt.clean.session.enabled").default_value(if source { "false" } else { "true" }).importance(Importance::Medium).group(MQTT, 1)
            .doc(if source {
                "Start a clean session at each connection. The default false keeps a persistent session, so messages the broker queued while the task was away, or that it sent but was not acknowledged, arrive after a restart."
            } else {
                "Start a clean session at each connection. The sink republishes what the broker did not acknowledge itself, so a persistent session is not needed."
            }),
        move |c, v| conn(c).clean_session = v,
    )
    .field(
        ConfigKey::named("mqtt.qos").default_value("1").validator(Validator::between(0.0, 2.0)).importance(Importance::High).group(MQTT, 2)
            .doc(if source {
                "Quality of service of the subscriptions. The default 1 (not Confluent's 0) means a message is acknowledged to the broker only after Kafka has it; 0 loses what is in flight at a crash."
            } else {
                "Quality of service of the publishes: 1 and 2 wait for the broker's acknowledgement before the Kafka offsets commit; 0 does not."
            }),
        move |c, v: i32| conn(c).qos = u8::try_from(v).unwrap_or(1),
    )
    .field(
        ConfigKey::named("mqtt.max.packet.size").default_value("268435455").validator(Validator::between(16.0, 268_435_455.0)).importance(Importance::Low).group(MQTT, 3)
            .doc("Largest MQTT packet read or written, in bytes (MQTT's maximum by default, so a large message is never a connection error that repeats forever)."),
        move |c, v| conn(c).max_packet_size = v,
    )
    .field(
        ConfigKey::named("max.retry.time.ms").default_value("30000").validator(Validator::between(100.0, 3_600_000.0)).importance(Importance::Low).group(CONN, 7)
            .doc("Longest wait between two connection attempts: the wait doubles from 100 ms up to this. Attempts never stop: a broker that is down at start or goes away is waited for, and the status metrics show it."),
        move |c, v| conn(c).max_retry = v,
    )
    .field(
        ConfigKey::named("mqtt.ssl.trust.store.path").default_value("").importance(Importance::High).group(SECURITY, 1)
            .doc("CA certificates that ssl:// brokers' certificates are checked against: a PEM or PKCS12 file (a JKS store gets the keytool command that converts it). Blank: the system's CAs."),
        move |c, v: String| set_ssl(conn(c), "mqtt.ssl.trust.store.path", v),
    )
    .field(
        ConfigKey::named("mqtt.ssl.trust.store.password").importance(Importance::High).group(SECURITY, 2)
            .doc("Password of a PKCS12 mqtt.ssl.trust.store.path."),
        move |c, v: Option<Password>| set_ssl(conn(c), "mqtt.ssl.trust.store.password", v.map(|p| p.expose().to_string()).unwrap_or_default()),
    )
    .field(
        ConfigKey::named("mqtt.ssl.key.store.path").default_value("").importance(Importance::High).group(SECURITY, 3)
            .doc("The client certificate and its key, for brokers that ask for one: a PEM file (key and chain) or a PKCS12 store with one key."),
        move |c, v: String| set_ssl(conn(c), "mqtt.ssl.key.store.path", v),
    )
    .field(
        ConfigKey::named("mqtt.ssl.key.store.password").importance(Importance::High).group(SECURITY, 4)
            .doc("Password of a PKCS12 mqtt.ssl.key.store.path."),
        move |c, v: Option<Password>| set_ssl(conn(c), "mqtt.ssl.key.store.password", v.map(|p| p.expose().to_string()).unwrap_or_default()),
    )
    .field(
        ConfigKey::named("mqtt.ssl.key.password").importance(Importance::High).group(SECURITY, 5)
            .doc("Password of an encrypted PEM key (-----BEGIN ENCRYPTED PRIVATE KEY-----) in mqtt.ssl.key.store.path."),
        move |c, v: Option<Password>| set_ssl(conn(c), "mqtt.ssl.key.password", v.map(|p| p.expose().to_string()).unwrap_or_default()),
    )
    .check_with(move |c: &C| {
        // Reads the stores now, so that a wrong path or password is a
        // validation error naming the key rather than a failed task.
        let conn = conn_ref(c);
        match conn.tls_config() {
            Ok(_) => vec![],
            Err(e) => {
                let key = SSL_KEYS
                    .iter()
                    .map(|(_, own)| *own)
                    .find(|own| e.starts_with(own))
                    .unwrap_or("mqtt.ssl.trust.store.path");
                vec![(key, e)]
            }
        }
    })
}

fn set_ssl(conn: &mut Connection, key: &str, value: String) {
    if !value.trim().is_empty() {
        conn.ssl.0.insert(key.to_string(), value);
    }
}

impl ConnectorConfig for MqttSourceConfig {
    fn definition() -> TypedDef<Self> {
        connection_keys(
            TypedDef::<Self>::new(),
            true,
            |c: &mut Self| &mut c.conn,
            |c: &Self| &c.conn,
        )
            .field(
                ConfigKey::named("mqtt.topics").validator(Validator::custom(topics_ok)).importance(Importance::High).group(MQTT, 4)
                    .doc("Topic filters to subscribe to; + and # wildcards and $share/<group>/<filter> shared subscriptions."),
                |c, v| c.topics = v,
            )
            .field(
                ConfigKey::named("kafka.topic").validator(crate::sync::not_blank("the Kafka topic to write to")).importance(Importance::High).group(KAFKA, 1)
                    .doc("Kafka topic the messages are written to."),
                |c, v| c.kafka_topic = v,
            )
            .field(
                ConfigKey::named("records.buffer.queue.size").default_value("1024").validator(Validator::between(1.0, 1_000_000.0)).importance(Importance::Low).group(KAFKA, 2)
                    .doc("Messages received but not yet polled; when full, reading from the broker waits."),
                |c, v| c.queue_size = v,
            )
            .field(
                ConfigKey::named("records.buffer.queue.max.batch.size").default_value("4096").validator(Validator::between(1.0, 1_000_000.0)).importance(Importance::Low).group(KAFKA, 3)
                    .doc("Most records one poll returns."),
                |c, v| c.max_batch = v,
            )
            .field(
                ConfigKey::named("records.buffer.queue.empty.timeout").default_value("100").validator(Validator::between(1.0, 60_000.0)).importance(Importance::Low).group(KAFKA, 4)
                    .doc("Milliseconds a poll waits for a first message."),
                |c, v| c.empty_timeout = v,
            )
            .field(
                ConfigKey::named(TASK_INDEX).default_value("0").importance(Importance::Low).internal(),
                |c, v| c.task_index = v,
            )
            .check(|c| {
                if c.conn.qos == 2 {
                    // A new connection would not know the QoS 2 handshakes
                    // of the old one, and the broker would resend their
                    // PUBRELs forever.
                    vec![("mqtt.qos", "2 is not supported by the source yet: use 1 (at least once, acknowledged after Kafka)")]
                } else {
                    vec![]
                }
            })
    }
}

fn template_ok(v: &ConfigValue) -> Result<(), String> {
    crate::template::Template::parse(&v.to_string()).map(|_| ())
}

impl ConnectorConfig for MqttSinkConfig {
    fn definition() -> TypedDef<Self> {
        connection_keys(
            TypedDef::<Self>::new(),
            false,
            |c: &mut Self| &mut c.conn,
            |c: &Self| &c.conn,
        )
            .field(
                ConfigKey::named("mqtt.retained.enabled").default_value("false").importance(Importance::Medium).group(MQTT, 4)
                    .doc("Publish with the retain flag."),
                |c, v| c.retained = v,
            )
            .field(
                ConfigKey::named("mqtt.topic.template").default_value("${topic}").validator(Validator::custom(template_ok)).importance(Importance::Medium).group(MQTT, 5)
                    .doc("MQTT topic of each record: text with ${topic} (the Kafka topic), ${partition}, ${key}, ${value.<field>} (a field of a struct or map value, dotted for nested fields) and ${header.<name>}."),
                |c, v| c.topic_template = v,
            )
            .field(
                ConfigKey::named("mqtt.publish.timeout.ms").default_value("30000").validator(Validator::between(1.0, 3_600_000.0)).importance(Importance::Low).group(MQTT, 6)
                    .doc("How long a commit waits for the broker's acknowledgements before it commits only what was acknowledged; the rest is committed at a later commit."),
                |c, v| c.publish_timeout = v,
            )
            .field(
                ConfigKey::named("mqtt.max.inflight").default_value("100").validator(Validator::between(1.0, 65535.0)).importance(Importance::Low).group(MQTT, 7)
                    .doc("Publishes sent but not yet acknowledged by the broker, at most."),
                |c, v| c.max_inflight = v,
            )
            .field(
                ConfigKey::named(TASK_INDEX).default_value("0").importance(Importance::Low).internal(),
                |c, v| c.task_index = v,
            )
            .check(|c| {
                if c.conn.qos == 2 && !c.conn.clean_session {
                    // Packet ids restart with each connection; a broker
                    // holding the old session's QoS 2 ids would take a new
                    // publish for a repeat and drop it.
                    vec![("mqtt.clean.session.enabled", "must be true with mqtt.qos=2")]
                } else {
                    vec![]
                }
            })
    }
}

impl Connection {
    /// The TLS client settings when a broker is `ssl://`: the stores of
    /// the `mqtt.ssl.*` keys, read again at every connection (a renewed
    /// certificate is picked up on reconnect).
    pub fn tls_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
        if !self.servers.iter().any(|s| s.tls) {
            return Ok(None);
        }
        let p = sluice_tls::SslProps::new(&self.ssl.0, sluice_tls::Scope::Renamed(SSL_KEYS));
        sluice_tls::client_config_of(&p).map(Some)
    }

    /// The client id: the configured one, or `<name>-<index>`.
    pub fn client_id(&self, name: &str, index: usize) -> String {
        match &self.client_id {
            Some(id) if !id.is_empty() => id.clone(),
            _ if name.is_empty() => format!("sluice-{index}"),
            _ => format!("{name}-{index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::Config;

    fn props(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn source_defaults_are_the_safe_ones() {
        let c = MqttSourceConfig::parse(&props(&[
            ("name", "m"),
            ("mqtt.server.uri", "tcp://127.0.0.1:1883"),
            ("mqtt.topics", "a/+,b/#"),
            ("kafka.topic", "k"),
        ]))
        .unwrap();
        assert_eq!(c.conn.qos, 1);
        assert!(!c.conn.clean_session);
        assert_eq!(c.conn.client_id("m", 0), "m-0");
        assert_eq!(c.topics, vec!["a/+", "b/#"]);
        assert_eq!(c.conn.servers[0].port, 1883);
    }

    #[test]
    fn bad_keys_are_named() {
        let err = MqttSourceConfig::parse(&props(&[
            ("mqtt.server.uri", "ws://h:8883"),
            ("mqtt.topics", "a/#/b"),
            ("mqtt.qos", "3"),
        ]))
        .unwrap_err();
        let mut keys = err.keys();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec!["kafka.topic", "mqtt.qos", "mqtt.server.uri", "mqtt.topics"]
        );
        let text = err.to_string();
        assert!(text.contains("ssl://"), "{text}");
        // An ssl:// broker's stores are read at validation: a missing file
        // is named by its key.
        let err = MqttSourceConfig::parse(&props(&[
            ("mqtt.server.uri", "ssl://h"),
            ("mqtt.topics", "a/#"),
            ("kafka.topic", "k"),
            ("mqtt.ssl.key.store.path", "/nonexistent.p12"),
        ]))
        .unwrap_err();
        assert_eq!(err.keys(), vec!["mqtt.ssl.key.store.path"]);
        assert!(err.to_string().contains("/nonexistent.p12"), "{err}");
    }

    #[test]
    fn sink_template_is_checked() {
        let err = MqttSinkConfig::parse(&props(&[
            ("mqtt.server.uri", "tcp://127.0.0.1:1883"),
            ("mqtt.topic.template", "x/${nope}"),
        ]))
        .unwrap_err();
        assert_eq!(err.keys(), vec!["mqtt.topic.template"]);
    }
}
