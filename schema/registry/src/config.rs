//! The registry's configuration, read from Confluent's `schema-registry.properties` keys.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::compat::CompatibilityLevel;
use crate::kafka::KafkaStoreConfig;

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid value {value} for configuration {key}: {reason}")]
pub struct ConfigError {
    /// The key.
    pub key: String,
    /// The value given.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

/// Settings for one registry instance.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `listeners`: where the REST API listens.
    pub listeners: Vec<SocketAddr>,
    /// The schemas topic and how to reach it.
    pub store: KafkaStoreConfig,
    /// `schema.compatibility.level` (or the older `avro.compatibility.level`).
    pub compatibility: CompatibilityLevel,
}

/// The listener used when none is configured.
pub const DEFAULT_LISTENER: &str = "http://0.0.0.0:8081";

impl RegistryConfig {
    /// Reads the keys Confluent's registry reads; unknown keys are ignored, as
    /// Confluent does. `kafkastore.bootstrap.servers` is required.
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let listeners = parse_listeners(get("listeners").unwrap_or(DEFAULT_LISTENER))?;
        let bootstrap = get("kafkastore.bootstrap.servers").ok_or_else(|| ConfigError {
            key: "kafkastore.bootstrap.servers".into(),
            value: "null".into(),
            reason: "Missing required configuration \"kafkastore.bootstrap.servers\" which has no default value.".into(),
        })?;
        let bootstrap_servers = bootstrap
            .split(',')
            .map(|s| {
                let s = s.trim();
                s.split_once("://").map_or(s, |(_, rest)| rest)
            })
            .collect::<Vec<_>>()
            .join(",");
        let level_key = if get("schema.compatibility.level").is_some() {
            "schema.compatibility.level"
        } else {
            "avro.compatibility.level"
        };
        let compatibility = match get(level_key) {
            None => CompatibilityLevel::Backward,
            Some(v) => CompatibilityLevel::parse(v).ok_or_else(|| ConfigError {
                key: level_key.into(),
                value: v.into(),
                reason: "must be one of none, backward, backward_transitive, forward, forward_transitive, full, full_transitive".into(),
            })?,
        };
        let int = |key: &str, default: i64| -> Result<i64, ConfigError> {
            get(key).map_or(Ok(default), |v| {
                v.parse().map_err(|_| ConfigError {
                    key: key.into(),
                    value: v.into(),
                    reason: "Not a number".into(),
                })
            })
        };
        let replication_factor = i32::try_from(int("kafkastore.topic.replication.factor", 3)?)
            .ok()
            .filter(|rf| *rf >= 1)
            .ok_or_else(|| ConfigError {
                key: "kafkastore.topic.replication.factor".into(),
                value: get("kafkastore.topic.replication.factor")
                    .unwrap_or("")
                    .into(),
                reason: "must be at least 1".into(),
            })?;
        // Confluent's default is 500 ms; a write here waits for the broker's
        // acknowledgement and the read-back, so the default is longer.
        let timeout_ms = int("kafkastore.timeout.ms", 10_000)?.max(1);
        let client = props
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("kafkastore.")?;
                matches!(
                    key,
                    "security.protocol"
                        | "sasl.mechanism"
                        | "sasl.username"
                        | "sasl.password"
                        | "client.id"
                )
                .then(|| (key.to_owned(), v.clone()))
            })
            .collect();
        Ok(Self {
            listeners,
            store: KafkaStoreConfig {
                bootstrap_servers,
                topic: get("kafkastore.topic").unwrap_or("_schemas").to_owned(),
                replication_factor,
                timeout: Duration::from_millis(timeout_ms.unsigned_abs()),
                client,
            },
            compatibility,
        })
    }
}

fn parse_listeners(value: &str) -> Result<Vec<SocketAddr>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|listener| {
            let error = |reason: &str| ConfigError {
                key: "listeners".into(),
                value: value.into(),
                reason: reason.into(),
            };
            let rest = listener
                .strip_prefix("http://")
                .ok_or_else(|| error("only http:// listeners are supported"))?;
            let rest = rest.trim_end_matches('/');
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| error("a listener needs a port"))?;
            let host = match host {
                "" | "0.0.0.0" => "0.0.0.0",
                "localhost" => "127.0.0.1",
                h => h.trim_start_matches('[').trim_end_matches(']'),
            };
            let port: u16 = port
                .parse()
                .map_err(|_| error("the port is not a number"))?;
            let ip = host
                .parse()
                .map_err(|_| error("the host must be an IP address, localhost or empty"))?;
            Ok(SocketAddr::new(ip, port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn confluent_file_keys_are_read() {
        let config = RegistryConfig::from_props(&props(&[
            ("listeners", "http://0.0.0.0:8081"),
            ("kafkastore.bootstrap.servers", "PLAINTEXT://localhost:9092"),
            ("kafkastore.topic", "_schemas"),
            ("debug", "false"),
            ("schema.compatibility.level", "full_transitive"),
        ]))
        .unwrap();
        assert_eq!(config.listeners, vec!["0.0.0.0:8081".parse().unwrap()]);
        assert_eq!(config.store.bootstrap_servers, "localhost:9092");
        assert_eq!(config.store.topic, "_schemas");
        assert_eq!(config.compatibility, CompatibilityLevel::FullTransitive);
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = RegistryConfig::from_props(&props(&[])).unwrap_err();
        assert_eq!(err.key, "kafkastore.bootstrap.servers");
        let err = RegistryConfig::from_props(&props(&[
            ("kafkastore.bootstrap.servers", "x:1"),
            ("listeners", "https://0.0.0.0:8081"),
        ]))
        .unwrap_err();
        assert_eq!(err.key, "listeners");
        let err = RegistryConfig::from_props(&props(&[
            ("kafkastore.bootstrap.servers", "x:1"),
            ("avro.compatibility.level", "sideways"),
        ]))
        .unwrap_err();
        assert_eq!(err.key, "avro.compatibility.level");
    }
}
