//! The registry's configuration, read from Confluent's `schema-registry.properties` keys.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice_tls::{Scope, SslProps};

use crate::auth::{BasicSettings, Guard};
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

/// One `listeners` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    /// Where it listens.
    pub address: SocketAddr,
    /// `https://`: TLS with the `ssl.*` keys.
    pub tls: bool,
}

/// Settings for one registry instance.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `listeners`: where the REST API listens.
    pub listeners: Vec<Listener>,
    /// The TLS side of the https listeners: `ssl.keystore.*`,
    /// `ssl.truststore.*`, `ssl.client.authentication` (`NONE`,
    /// `REQUESTED`, `REQUIRED`; or the older boolean `ssl.client.auth`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `authentication.method=BASIC` and its settings.
    pub basic_auth: Option<Arc<BasicSettings>>,
    /// What checks passwords when `basic_auth` is set; the embedding
    /// program provides it (see [`crate::auth`]).
    pub guard: Option<Arc<dyn Guard>>,
    /// The schemas topic and how to reach it.
    pub store: KafkaStoreConfig,
    /// `schema.compatibility.level` (or the older `avro.compatibility.level`).
    pub compatibility: CompatibilityLevel,
}

/// Whether `kafkastore.<key>` is a security setting of the store's Kafka
/// clients (in Java's names). Other client keys are ignored, as before.
fn store_client_key(key: &str) -> bool {
    key == "security.protocol"
        || key == "client.id"
        || key.starts_with("ssl.")
        || key.starts_with("sasl.")
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
        let java_client = props
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("kafkastore.")?;
                store_client_key(key).then(|| (key.to_owned(), v.clone()))
            })
            .collect();
        let tls = if listeners.iter().any(|l| l.tls) {
            Some(server_tls(props)?)
        } else {
            None
        };
        Ok(Self {
            listeners,
            tls,
            basic_auth: basic_auth(props)?,
            guard: None,
            store: KafkaStoreConfig {
                bootstrap_servers,
                topic: get("kafkastore.topic").unwrap_or("_schemas").to_owned(),
                replication_factor,
                timeout: Duration::from_millis(timeout_ms.unsigned_abs()),
                java_client,
                client: Vec::new(),
            },
            compatibility,
        })
    }
}

/// The https listeners' TLS settings, Confluent's keys read as Kafka's.
fn server_tls(props: &BTreeMap<String, String>) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let bad = |key: &str, value: &str, reason: String| ConfigError {
        key: key.into(),
        value: value.into(),
        reason,
    };
    let client_auth = match (get("ssl.client.authentication"), get("ssl.client.auth")) {
        (Some(v), _) => match v.to_ascii_uppercase().as_str() {
            "NONE" => "none",
            "REQUESTED" => "requested",
            "REQUIRED" => "required",
            _ => {
                return Err(bad(
                    "ssl.client.authentication",
                    v,
                    "must be NONE, REQUESTED or REQUIRED".into(),
                ));
            }
        },
        (None, Some(v)) => match v.to_ascii_lowercase().as_str() {
            "true" => "required",
            "false" => "none",
            _ => {
                return Err(bad(
                    "ssl.client.auth",
                    v,
                    "must be true or false (or set ssl.client.authentication)".into(),
                ));
            }
        },
        (None, None) => "none",
    };
    let mut keys = props.clone();
    keys.insert("ssl.client.auth".into(), client_auth.into());
    sluice_tls::server_config_of(&SslProps::new(&keys, Scope::Prefix(""))).map_err(|reason| {
        // The registry's own key for client certificates, if set.
        let reason = match get("ssl.client.authentication") {
            Some(v) => reason.replace(
                &format!("ssl.client.auth={client_auth}"),
                &format!("ssl.client.authentication={v}"),
            ),
            None => reason,
        };
        bad("listeners", get("listeners").unwrap_or(""), reason)
    })
}

/// `authentication.method` and, for BASIC, its settings.
fn basic_auth(props: &BTreeMap<String, String>) -> Result<Option<Arc<BasicSettings>>, ConfigError> {
    let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let list = |key: &str, default: &str| -> Vec<String> {
        props
            .get(key)
            .map_or(default, String::as_str)
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match get("authentication.method").map(str::to_ascii_uppercase).as_deref() {
        None | Some("NONE") => Ok(None),
        Some("BASIC") => {
            let realm = get("authentication.realm").ok_or_else(|| ConfigError {
                key: "authentication.realm".into(),
                value: String::new(),
                reason: "authentication.method=BASIC needs the JAAS section that names the users (SchemaRegistry-Props in Confluent's examples)".into(),
            })?;
            let roles = list("authentication.roles", "*");
            if roles.is_empty() {
                return Err(ConfigError {
                    key: "authentication.roles".into(),
                    value: props.get("authentication.roles").cloned().unwrap_or_default(),
                    reason: "names no role, so nobody could get in; leave it out (or set *) to let in every known user".into(),
                });
            }
            Ok(Some(Arc::new(BasicSettings {
                realm: realm.to_owned(),
                roles,
                skip_paths: list("authentication.skip.paths", ""),
            })))
        }
        Some(other) => Err(ConfigError {
            key: "authentication.method".into(),
            value: other.into(),
            reason: "must be NONE or BASIC (BEARER needs Confluent's RBAC, which this registry does not have)".into(),
        }),
    }
}

fn parse_listeners(value: &str) -> Result<Vec<Listener>, ConfigError> {
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
            let (tls, rest) = if let Some(rest) = listener.strip_prefix("http://") {
                (false, rest)
            } else if let Some(rest) = listener.strip_prefix("https://") {
                (true, rest)
            } else {
                return Err(error("a listener starts with http:// or https://"));
            };
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
            Ok(Listener {
                address: SocketAddr::new(ip, port),
                tls,
            })
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
        assert_eq!(
            config.listeners,
            vec![Listener {
                address: "0.0.0.0:8081".parse().unwrap(),
                tls: false
            }]
        );
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
            ("listeners", "ftp://0.0.0.0:8081"),
        ]))
        .unwrap_err();
        assert_eq!(err.key, "listeners");
        // https without a keystore names the keys it needs.
        let err = RegistryConfig::from_props(&props(&[
            ("kafkastore.bootstrap.servers", "x:1"),
            ("listeners", "https://0.0.0.0:8081"),
        ]))
        .unwrap_err();
        assert!(err.reason.contains("ssl.keystore.location"), "{err}");
        let err = RegistryConfig::from_props(&props(&[
            ("kafkastore.bootstrap.servers", "x:1"),
            ("authentication.method", "BASIC"),
        ]))
        .unwrap_err();
        assert_eq!(err.key, "authentication.realm");
        let err = RegistryConfig::from_props(&props(&[
            ("kafkastore.bootstrap.servers", "x:1"),
            ("authentication.method", "BEARER"),
        ]))
        .unwrap_err();
        assert_eq!(err.key, "authentication.method");
        let err = RegistryConfig::from_props(&props(&[
            ("kafkastore.bootstrap.servers", "x:1"),
            ("avro.compatibility.level", "sideways"),
        ]))
        .unwrap_err();
        assert_eq!(err.key, "avro.compatibility.level");
    }
}
