//! The worker configuration (`connect-standalone.properties`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};

use super::{ConfigFileError, env, properties, read};

pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const OFFSET_FILE: &str = "offset.storage.file.filename";
pub const OFFSET_DIR: &str = "offset.storage.dir";
pub const OFFSET_FLUSH_INTERVAL: &str = "offset.flush.interval.ms";
pub const OFFSET_FLUSH_TIMEOUT: &str = "offset.flush.timeout.ms";
pub const LISTENERS: &str = "listeners";
/// KIP-495: where `/admin/*` is served; empty turns it off.
pub const ADMIN_LISTENERS: &str = "admin.listeners";
pub const ADVERTISED_HOST: &str = "rest.advertised.host.name";
pub const ADVERTISED_PORT: &str = "rest.advertised.port";
pub const ADVERTISED_LISTENER: &str = "rest.advertised.listener";
pub const SHUTDOWN_TIMEOUT: &str = "task.shutdown.graceful.timeout.ms";
/// Sluice: how long a connector's `start` (and its first `task_configs`)
/// may take before the connector is marked FAILED.
pub const CONNECTOR_START_TIMEOUT: &str = "connector.start.timeout.ms";
pub const RESTART_ENABLE: &str = "task.restart.enable";
pub const RESTART_MAX_ATTEMPTS: &str = "task.restart.max.attempts";
pub const RESTART_INITIAL_BACKOFF: &str = "task.restart.initial.backoff.ms";
pub const RESTART_MAX_BACKOFF: &str = "task.restart.max.backoff.ms";
pub const METRICS_WINDOW: &str = "metrics.sample.window.ms";
pub const LOG_FORMAT: &str = "log.format";

const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";

/// Kafka Connect worker keys Sluice accepts but does not act on (yet).
const KNOWN_UNUSED: &[&str] = &[
    "plugin.path",
    "plugin.discovery",
    "rest.host.name",
    "rest.port",
    "client.id",
    "metrics.num.samples",
    "metrics.recording.level",
    "metric.reporters",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "response.http.headers.config",
    "topic.creation.enable",
    "worker.sync.timeout.ms",
    "worker.unsync.backoff.ms",
    "connect.protocol",
];

/// Kafka Connect's worker switch for exactly-once sources (KIP-618).
pub const EXACTLY_ONCE_SOURCE_SUPPORT: &str = "exactly.once.source.support";

/// `exactly.once.source.support`: `disabled` (the default) is accepted;
/// `preparing` and `enabled` need transactional producers, which Sluice does
/// not have yet, so they are refused rather than silently giving
/// at-least-once delivery.
fn check_exactly_once(props: &BTreeMap<String, String>) -> Result<(), String> {
    let Some(v) = props.get(EXACTLY_ONCE_SOURCE_SUPPORT) else {
        return Ok(());
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "disabled" => Ok(()),
        "preparing" | "enabled" => Err(format!(
            "Invalid value {v} for configuration {EXACTLY_ONCE_SOURCE_SUPPORT}: exactly-once source support needs transactions, which Sluice does not implement yet; use disabled (sources deliver at least once)"
        )),
        _ => Err(format!(
            "Invalid value {v} for configuration {EXACTLY_ONCE_SOURCE_SUPPORT}: String must be one of: disabled, preparing, enabled"
        )),
    }
}

/// Keys only distributed mode reads (besides the `group.`,
/// `config.storage.`, `offset.storage.` and `status.storage.` families).
const DISTRIBUTED_ONLY: &[&str] = &[
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "rebalance.timeout.ms",
    "scheduled.rebalance.max.delay.ms",
    "inter.worker.key.ttl.ms",
    "inter.worker.signature.algorithm",
    "inter.worker.key.generation.algorithm",
    "inter.worker.verification.algorithms",
];

/// Prefixes whose keys are handed on (to librdkafka or a converter).
const PASS_THROUGH: &[&str] = &[
    "producer.",
    "consumer.",
    "admin.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "listeners.https.",
    "ssl.",
    "sasl.",
    "security.",
    "config.providers",
    "rest.auth.",
    "audit.log.",
    "secrets.",
    "rest.extension.classes",
    "java.security.auth.login.config",
    "schema.registry.",
];

/// `schema.registry.embedded=true` runs a schema registry inside the worker;
/// every other `schema.registry.X` key is the registry's key `X`.
pub const REGISTRY_EMBEDDED: &str = "schema.registry.embedded";
const REGISTRY_PREFIX: &str = "schema.registry.";

fn def() -> ConfigDef {
    ConfigDef::new()
        .define(BOOTSTRAP_SERVERS, ConfigType::List, Some("localhost:9092"), Importance::High,
            "Kafka brokers to connect to, host:port[,host:port...]")
        .define(KEY_CONVERTER, ConfigType::Class, Some(JSON_CONVERTER), Importance::High,
            "Converter for record keys (class name or alias)")
        .define(VALUE_CONVERTER, ConfigType::Class, Some(JSON_CONVERTER), Importance::High,
            "Converter for record values (class name or alias)")
        .define(HEADER_CONVERTER, ConfigType::Class,
            Some("org.apache.kafka.connect.storage.SimpleHeaderConverter"), Importance::Low,
            "Converter for header values")
        .define(OFFSET_FILE, ConfigType::String, Some(""), Importance::High,
            "Kafka Connect's standalone offsets file; Sluice keeps a RocksDB store at this path (or at PATH.rocksdb when PATH is an existing file)")
        .define(OFFSET_DIR, ConfigType::String, Some(""), Importance::High,
            "Directory of the RocksDB store for offsets and worker state; wins over offset.storage.file.filename")
        .key(ConfigKey::new(OFFSET_FLUSH_INTERVAL, ConfigType::Long).default_value("60000")
            .importance(Importance::Low).validator(Validator::at_least(1.0))
            .doc("How often acknowledged source offsets and flushed sink offsets are committed"))
        .key(ConfigKey::new(OFFSET_FLUSH_TIMEOUT, ConfigType::Long).default_value("5000")
            .importance(Importance::Low).validator(Validator::at_least(0.0))
            .doc("How long a commit waits for outstanding records before it is retried at the next interval"))
        .define(super::overrides::POLICY, ConfigType::String, Some("None"), Importance::Medium,
            "Which Kafka client keys connector configs may override (producer.override.*, consumer.override.*, admin.override.*): None, Principal, All or Allowlist. Keys that load a library or run a command are refused under every policy")
        .define(super::overrides::ALLOWLIST, ConfigType::List, Some(""), Importance::Medium,
            "Client keys connectors may override under the Allowlist policy")
        .define(LISTENERS, ConfigType::List, Some("http://0.0.0.0:8083"), Importance::Low,
            "REST listeners, e.g. http://0.0.0.0:8083")
        .define(ADVERTISED_HOST, ConfigType::String, Some(""), Importance::Low,
            "Host name this worker reports as its worker_id")
        .define(ADVERTISED_PORT, ConfigType::Int, Some("0"), Importance::Low,
            "Port this worker reports as part of its worker_id")
        .define(ADVERTISED_LISTENER, ConfigType::String, Some(""), Importance::Low,
            "The listener (http or https) other workers reach this one on; default: http when a listener is http, else https")
        .key(ConfigKey::new(SHUTDOWN_TIMEOUT, ConfigType::Long).default_value("5000")
            .importance(Importance::Low).validator(Validator::at_least(0.0))
            .doc("How long tasks get to stop, flush and commit on shutdown"))
        .key(ConfigKey::new(CONNECTOR_START_TIMEOUT, ConfigType::Long).default_value("60000")
            .importance(Importance::Low).validator(Validator::at_least(1.0))
            .doc("Sluice: how long a connector's start and task_configs may take before the connector is marked FAILED"))
        .define(RESTART_ENABLE, ConfigType::Boolean, Some("true"), Importance::Medium,
            "Restart failed tasks automatically, with exponential backoff")
        .key(ConfigKey::new(RESTART_MAX_ATTEMPTS, ConfigType::Int).default_value("10")
            .importance(Importance::Low).validator(Validator::at_least(0.0))
            .doc("Automatic restarts of a task before it stays FAILED"))
        .key(ConfigKey::new(RESTART_INITIAL_BACKOFF, ConfigType::Long).default_value("1000")
            .importance(Importance::Low).validator(Validator::at_least(0.0))
            .doc("Wait before the first automatic restart; doubles each time"))
        .key(ConfigKey::new(RESTART_MAX_BACKOFF, ConfigType::Long).default_value("60000")
            .importance(Importance::Low).validator(Validator::at_least(0.0))
            .doc("Longest wait between automatic restarts"))
        .key(ConfigKey::new(METRICS_WINDOW, ConfigType::Long).default_value("30000")
            .importance(Importance::Low).validator(Validator::at_least(1.0))
            .doc("The window over which metric averages, maxima and rates are computed, ms"))
        .key(ConfigKey::new(LOG_FORMAT, ConfigType::String).default_value("text")
            .importance(Importance::Low).validator(Validator::one_of(&["text", "json"]))
            .doc("Log line format on stderr: text, or json (one object per line with connector/task fields)"))
}

/// A REST listener address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub host: String,
    pub port: u16,
    /// `https://`: served with the worker's `listeners.https.ssl.*` /
    /// `ssl.*` settings.
    pub tls: bool,
}

impl Listener {
    /// Parses Kafka Connect's `PROTOCOL://host:port` (`HTTP://:8083` means
    /// every interface).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (proto, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("listener '{s}' is not PROTOCOL://host:port"))?;
        let tls = match proto.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => {
                return Err(format!(
                    "listener '{s}': the protocol must be http or https"
                ));
            }
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("listener '{s}' has no port"))?;
        let port = port
            .parse()
            .map_err(|_| format!("listener '{s}' has a bad port '{port}'"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        Ok(Self {
            host: host.to_string(),
            port,
            tls,
        })
    }

    /// `http` or `https`, as Kafka Connect names listeners.
    pub fn protocol(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// A converter class and its settings (prefix stripped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConverterSpec {
    pub class: String,
    pub props: BTreeMap<String, String>,
}

/// The parsed worker configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub bootstrap_servers: String,
    pub key_converter: ConverterSpec,
    pub value_converter: ConverterSpec,
    pub header_converter: String,
    pub state_dir: PathBuf,
    pub offset_flush_interval: Duration,
    pub offset_flush_timeout: Duration,
    pub listeners: Vec<Listener>,
    pub advertised_host: Option<String>,
    pub advertised_port: Option<u16>,
    /// The listener the worker id and URL come from
    /// (`rest.advertised.listener`, else the first).
    pub advertised_listener: Option<Listener>,
    /// The TLS settings of the https listeners.
    pub rest_tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// `admin.listeners` (KIP-495): `None` when unset (the admin routes
    /// are on `listeners`), empty to serve them nowhere, else the only
    /// listeners that serve them (and nothing else).
    pub admin_listeners: Option<Vec<Listener>>,
    /// The TLS settings of https admin listeners
    /// (`admin.listeners.https.ssl.*`, else the REST listeners').
    pub admin_tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// REST basic authentication, when turned on.
    pub rest_auth: Option<std::sync::Arc<crate::rest::auth::BasicAuth>>,
    /// Roles of the authenticated principals (`rest.auth.roles.file`).
    pub rest_authz: Option<std::sync::Arc<crate::rest::authz::Rbac>>,
    pub shutdown_timeout: Duration,
    pub connector_start_timeout: Duration,
    pub restart: crate::worker::RestartPolicy,
    pub providers: super::providers::ConfigProviders,
    /// `connector.client.config.override.policy`.
    pub override_policy: super::overrides::OverridePolicy,
    /// `producer.*`, `consumer.*`, `admin.*` with the prefix removed.
    pub producer: BTreeMap<String, String>,
    pub consumer: BTreeMap<String, String>,
    pub admin: BTreeMap<String, String>,
    pub originals: BTreeMap<String, String>,
    /// The embedded schema registry, when `schema.registry.embedded=true`.
    pub schema_registry: Option<sluice_schema_registry::RegistryConfig>,
    /// `metrics.sample.window.ms`.
    pub metrics_window: Duration,
    /// `log.format=json`.
    pub log_json: bool,
    /// The keys secrets are sealed with where configs are stored.
    pub secrets: std::sync::Arc<crate::secrets::Secrets>,
}

impl WorkerConfig {
    /// Reads a worker properties file, applies `CONNECT_*` overrides from
    /// the process environment, and parses it.
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let text = read(path)?;
        let mut props = properties::parse(&text).map_err(|source| ConfigFileError::Properties {
            path: path.to_path_buf(),
            source,
        })?;
        for key in env::apply(&mut props, std::env::vars()) {
            tracing::info!(key, "worker config key overridden from the environment");
        }
        // Kafka Connect finds the JAAS file of its basic-auth extension
        // through a JVM flag, which Confluent's images pass in KAFKA_OPTS.
        if !props.contains_key(crate::rest::auth::JAAS_CONFIG)
            && let Some(p) = std::env::var("KAFKA_OPTS")
                .ok()
                .and_then(|o| crate::rest::passwords::jaas_path_from_opts(&o))
        {
            props.insert(crate::rest::auth::JAAS_CONFIG.to_string(), p);
        }
        Self::from_props(props).map_err(|m| ConfigFileError::invalid(path, m))
    }

    /// Parses worker properties; the error lists every bad key.
    ///
    /// Keys that promise what Sluice does not do are refused, not ignored:
    /// see [`check_exactly_once`].
    pub fn from_props(props: BTreeMap<String, String>) -> Result<Self, String> {
        let def = def();
        let parsed = def.parse(&props).map_err(|e| {
            e.issues
                .iter()
                .map(|i| i.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        for key in props.keys() {
            if def.get(key).is_some() || PASS_THROUGH.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            if DISTRIBUTED_ONLY.contains(&key.as_str())
                || key.starts_with("group.")
                || key.starts_with("config.storage.")
                || key.starts_with("offset.storage.")
                || key.starts_with("status.storage.")
            {
                // Read by `sluice distributed` (crate::distributed::config).
                continue;
            }
            if KNOWN_UNUSED.contains(&key.as_str())
                || key.starts_with("internal.")
                || key.starts_with("offset.storage.")
                || key.starts_with("config.storage.")
                || key.starts_with("status.storage.")
                || key.starts_with("group.")
            {
                tracing::info!(
                    key,
                    "worker config key is accepted for Kafka Connect compatibility and not used by Sluice's standalone mode"
                );
            } else {
                tracing::warn!(
                    key,
                    "worker config key was supplied but isn't a known config"
                );
            }
        }
        check_exactly_once(&props)?;

        crate::rest::audit::check_config(&props)?;
        let err = |e: sluice_connect_api::config::ConfigErrors| e.to_string();
        let listeners = parsed
            .list(LISTENERS)
            .map_err(err)?
            .iter()
            .map(|l| {
                Listener::parse(l)
                    .map_err(|m| format!("Invalid value {l} for configuration {LISTENERS}: {m}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ms = |key: &str| -> Result<Duration, String> {
            let v = parsed.long(key).map_err(err)?;
            Ok(Duration::from_millis(u64::try_from(v).unwrap_or(0)))
        };
        let converter = |key: &str| -> Result<ConverterSpec, String> {
            Ok(ConverterSpec {
                class: parsed.class(key).map_err(err)?,
                props: parsed.originals_with_prefix(&format!("{key}.")),
            })
        };
        let port = parsed.int(ADVERTISED_PORT).map_err(err)?;
        let advertised_listener = match parsed.optional_string(ADVERTISED_LISTENER) {
            // Kafka Connect's choice: http when any listener is http.
            None => listeners
                .iter()
                .find(|l| !l.tls)
                .or(listeners.first())
                .cloned(),
            Some(proto) => Some(
                listeners
                    .iter()
                    .find(|l| l.protocol().eq_ignore_ascii_case(proto.trim()))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "Invalid value {proto} for configuration {ADVERTISED_LISTENER}: no {LISTENERS} entry uses it"
                        )
                    })?,
            ),
        };
        let mtls = props
            .get(crate::rest::auth::MTLS)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let asks_certs = ["listeners.https.ssl.client.auth", "ssl.client.auth"]
            .iter()
            .find_map(|k| props.get(*k).filter(|v| !v.trim().is_empty()))
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("none"));
        if mtls && !(listeners.iter().any(|l| l.tls) && asks_certs) {
            return Err(format!(
                "{}=true needs an https listener that asks for client certificates (ssl.client.auth=required or requested)",
                crate::rest::auth::MTLS
            ));
        }
        // Top-level client security (`security.protocol`, `ssl.*`,
        // `sasl.*`), which Kafka Connect gives its internal clients, is
        // the base of every Kafka client here (prefixed keys win), once
        // `security.protocol` asks for more than PLAINTEXT.
        let security: BTreeMap<String, String> = if props
            .get("security.protocol")
            .is_some_and(|p| !p.trim().eq_ignore_ascii_case("PLAINTEXT"))
        {
            props
                .iter()
                .filter(|(k, _)| {
                    *k == "security.protocol"
                        || (k.starts_with("ssl.") && *k != "ssl.client.auth")
                        || k.starts_with("sasl.")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            BTreeMap::new()
        };
        let client = |prefix: &str| {
            let mut m = security.clone();
            m.extend(parsed.originals_with_prefix(prefix));
            m
        };
        let secrets = std::sync::Arc::new(crate::secrets::Secrets::from_worker(&props)?);
        let rest_auth = crate::rest::auth::BasicAuth::from_worker(&props)?.map(std::sync::Arc::new);
        let rest_authz = crate::rest::authz::Rbac::from_worker(&props)?.map(std::sync::Arc::new);
        if rest_authz.is_some() && rest_auth.is_none() {
            return Err(format!(
                "{} needs authentication on ({}, {}, {} or {})",
                crate::rest::authz::ROLES_FILE,
                crate::rest::auth::CREDENTIALS_FILE,
                crate::rest::auth::EXTENSIONS,
                crate::rest::auth::API_KEYS_FILE,
                crate::rest::auth::MTLS
            ));
        }
        let rest_tls = if listeners.iter().any(|l| l.tls) {
            Some(crate::tls::server_config(&props, "https")?)
        } else {
            None
        };
        let admin_listeners = match props.get(ADMIN_LISTENERS).map(|v| v.trim()) {
            None => None,
            Some(list) => Some(
                list.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        Listener::parse(l).map_err(|m| {
                            format!("Invalid value {l} for configuration {ADMIN_LISTENERS}: {m}")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let admin_tls = if admin_listeners.iter().flatten().any(|l| l.tls) {
            // As Kafka Connect reads them: the `admin.listeners.https.`
            // keys when any is set, else the top-level `ssl.*` ones.
            let prefix = if props
                .keys()
                .any(|k| k.starts_with("admin.listeners.https."))
            {
                "admin.listeners.https."
            } else {
                ""
            };
            let keys = crate::tls::SslProps::new(&props, crate::tls::Scope::Prefix(prefix));
            Some(
                crate::tls::server_config_of(&keys)
                    .map_err(|e| format!("{ADMIN_LISTENERS}: {e}"))?,
            )
        } else {
            None
        };
        Ok(Self {
            bootstrap_servers: parsed.list(BOOTSTRAP_SERVERS).map_err(err)?.join(","),
            key_converter: converter(KEY_CONVERTER)?,
            value_converter: converter(VALUE_CONVERTER)?,
            header_converter: parsed.class(HEADER_CONVERTER).map_err(err)?,
            state_dir: state_dir(
                parsed.optional_string(OFFSET_DIR),
                parsed.optional_string(OFFSET_FILE),
            ),
            offset_flush_interval: ms(OFFSET_FLUSH_INTERVAL)?,
            offset_flush_timeout: ms(OFFSET_FLUSH_TIMEOUT)?,
            listeners,
            advertised_host: parsed.optional_string(ADVERTISED_HOST),
            advertised_port: u16::try_from(port).ok().filter(|p| *p != 0),
            advertised_listener,
            rest_tls,
            admin_listeners,
            admin_tls,
            rest_auth,
            rest_authz,
            shutdown_timeout: ms(SHUTDOWN_TIMEOUT)?,
            connector_start_timeout: ms(CONNECTOR_START_TIMEOUT)?,
            providers: super::providers::ConfigProviders::from_worker(&props)?,
            override_policy: super::overrides::OverridePolicy::from_worker(&props)?,
            restart: crate::worker::RestartPolicy {
                enabled: parsed.boolean(RESTART_ENABLE).map_err(err)?,
                max_attempts: u32::try_from(parsed.int(RESTART_MAX_ATTEMPTS).map_err(err)?)
                    .unwrap_or(0),
                initial_backoff: ms(RESTART_INITIAL_BACKOFF)?,
                max_backoff: ms(RESTART_MAX_BACKOFF)?,
            },
            producer: client("producer."),
            consumer: client("consumer."),
            admin: {
                // `admin.listeners` (and its `admin.listeners.https.*`) is
                // the REST admin listener, not an admin client setting.
                let mut admin = client("admin.");
                admin.retain(|k, _| k != "listeners" && !k.starts_with("listeners."));
                admin
            },
            metrics_window: ms(METRICS_WINDOW)?,
            log_json: parsed
                .string(LOG_FORMAT)
                .map_err(err)?
                .eq_ignore_ascii_case("json"),
            schema_registry: embedded_registry(
                &props,
                &parsed.list(BOOTSTRAP_SERVERS).map_err(err)?.join(","),
                &security,
            )?,
            secrets,
            originals: props,
        })
    }
}

/// The embedded registry's configuration: `schema.registry.*` keys with the
/// prefix removed, the worker's brokers unless `schema.registry.kafkastore.bootstrap.servers`
/// names others, and `schema.registry.listeners` defaulting to `http://0.0.0.0:8081`.
/// Its store's Kafka client starts from the worker's client security
/// (`security`); its basic authentication reads the JAAS file of
/// `schema.registry.java.security.auth.login.config`, else the worker's.
fn embedded_registry(
    props: &BTreeMap<String, String>,
    bootstrap: &str,
    security: &BTreeMap<String, String>,
) -> Result<Option<sluice_schema_registry::RegistryConfig>, String> {
    match props
        .get(REGISTRY_EMBEDDED)
        .map(|v| v.trim().to_ascii_lowercase())
    {
        None => return Ok(None),
        Some(v) if v == "false" => return Ok(None),
        Some(v) if v == "true" => {}
        Some(v) => {
            return Err(format!(
                "Invalid value {v} for configuration {REGISTRY_EMBEDDED}: Expected value to be either true or false"
            ));
        }
    }
    let mut registry: BTreeMap<String, String> = props
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(REGISTRY_PREFIX)?.to_owned(), v.clone())))
        .filter(|(k, _)| k != "embedded")
        .collect();
    registry
        .entry("kafkastore.bootstrap.servers".into())
        .or_insert_with(|| bootstrap.to_owned());
    registry
        .entry("kafkastore.topic.replication.factor".into())
        .or_insert_with(|| "1".into());
    let mut config =
        sluice_schema_registry::RegistryConfig::from_props(&registry).map_err(|e| {
            format!(
                "Invalid value {} for configuration {REGISTRY_PREFIX}{}: {} (the registry's keys take the prefix {REGISTRY_PREFIX})",
                e.value, e.key, e.reason
            )
        })?;
    let jaas = props
        .get(crate::rest::auth::JAAS_CONFIG)
        .map(String::as_str);
    crate::registry::prepare(&mut config, &registry, jaas, security)
        .map_err(|e| format!("the embedded schema registry ({REGISTRY_PREFIX}*): {e}"))?;
    Ok(Some(config))
}

/// Where the RocksDB store lives: `offset.storage.dir`, else
/// `offset.storage.file.filename` (as a directory, or beside it when a
/// regular file of that name exists, e.g. a Kafka Connect offsets file),
/// else `./sluice-state`.
fn state_dir(dir: Option<String>, file: Option<String>) -> PathBuf {
    if let Some(d) = dir {
        return PathBuf::from(d);
    }
    if let Some(f) = file {
        let p = PathBuf::from(&f);
        if p.is_file() {
            let alt = PathBuf::from(format!("{f}.rocksdb"));
            tracing::info!(file = %p.display(), store = %alt.display(),
                "offset.storage.file.filename names an existing file; keeping the RocksDB store beside it");
            return alt;
        }
        return p;
    }
    PathBuf::from("sluice-state")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    #[test]
    fn exactly_once_sources_are_refused_not_ignored() {
        for v in ["enabled", "PREPARING"] {
            let e = WorkerConfig::from_props(props(&[(EXACTLY_ONCE_SOURCE_SUPPORT, v)]))
                .err()
                .unwrap_or_default();
            assert!(
                e.contains(EXACTLY_ONCE_SOURCE_SUPPORT) && e.contains("transactions"),
                "{e}"
            );
        }
        let e = WorkerConfig::from_props(props(&[(EXACTLY_ONCE_SOURCE_SUPPORT, "enabeld")]))
            .err()
            .unwrap_or_default();
        assert!(e.contains("must be one of"), "{e}");
        assert!(
            WorkerConfig::from_props(props(&[(EXACTLY_ONCE_SOURCE_SUPPORT, "disabled")])).is_ok()
        );
    }

    #[test]
    fn kafka_quickstart_worker_file() {
        let text = "bootstrap.servers=localhost:9092\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=true\nvalue.converter.schemas.enable=true\noffset.storage.file.filename=/tmp/connect.offsets\noffset.flush.interval.ms=10000\nplugin.path=libs/connect-file-4.1.0.jar\n";
        let c = WorkerConfig::from_props(properties::parse(text).unwrap()).unwrap();
        assert_eq!(c.bootstrap_servers, "localhost:9092");
        assert_eq!(c.value_converter.props["schemas.enable"], "true");
        assert_eq!(c.offset_flush_interval, Duration::from_secs(10));
        assert_eq!(
            c.listeners,
            vec![Listener {
                host: "0.0.0.0".into(),
                port: 8083,
                tls: false,
            }]
        );
    }

    #[test]
    fn pass_through_and_listeners() {
        let c = WorkerConfig::from_props(props(&[
            ("producer.linger.ms", "5"),
            ("consumer.fetch.min.bytes", "1"),
            ("listeners", "HTTP://:18083"),
        ]))
        .unwrap();
        assert_eq!(c.producer["linger.ms"], "5");
        assert_eq!(c.consumer["fetch.min.bytes"], "1");
        assert_eq!(c.listeners[0].port, 18083);
        assert_eq!(c.listeners[0].host, "0.0.0.0");
    }

    #[test]
    fn bad_values_name_keys() {
        let e = WorkerConfig::from_props(props(&[
            ("offset.flush.interval.ms", "soon"),
            ("listeners", "http://x"),
        ]))
        .unwrap_err();
        assert!(e.contains("offset.flush.interval.ms"), "{e}");
        // An https listener needs a keystore; the error names its keys.
        let e = WorkerConfig::from_props(props(&[("listeners", "https://:8443")])).unwrap_err();
        assert!(e.contains("listeners.https.ssl.keystore.location"), "{e}");
        let e = WorkerConfig::from_props(props(&[("listeners", "ftp://:21")])).unwrap_err();
        assert!(
            e.contains("listeners") && e.contains("http or https"),
            "{e}"
        );
        // rest.advertised.listener picks the listener the worker id uses.
        let c = WorkerConfig::from_props(props(&[
            ("listeners", "http://:8083,HTTP://127.0.0.1:9083"),
            ("rest.advertised.listener", "http"),
        ]))
        .unwrap();
        assert_eq!(c.advertised_listener.map(|l| l.port), Some(8083));
        let e =
            WorkerConfig::from_props(props(&[("rest.advertised.listener", "https")])).unwrap_err();
        assert!(e.contains("rest.advertised.listener"), "{e}");
    }

    #[test]
    fn embedded_schema_registry() {
        let c = WorkerConfig::from_props(props(&[("bootstrap.servers", "k:9092")])).unwrap();
        assert!(c.schema_registry.is_none());
        let c = WorkerConfig::from_props(props(&[
            ("bootstrap.servers", "k:9092"),
            ("schema.registry.embedded", "true"),
            ("schema.registry.kafkastore.topic", "_s"),
        ]))
        .unwrap();
        let r = c.schema_registry.unwrap();
        assert_eq!(r.store.bootstrap_servers, "k:9092");
        assert_eq!(r.store.topic, "_s");
        assert_eq!(r.listeners[0].address.port(), 8081);
        let e = WorkerConfig::from_props(props(&[
            ("schema.registry.embedded", "true"),
            ("schema.registry.listeners", "https://:1"),
        ]))
        .unwrap_err();
        assert!(
            e.contains("schema.registry.listeners") && e.contains("ssl.keystore.location"),
            "{e}"
        );
        // The hardened example sets no key twice (the last would win
        // silently, as in Java).
        for text in [
            include_str!("../../../examples/hardened/worker.properties"),
            include_str!("../../../examples/hardened/schema-registry.properties"),
        ] {
            let mut seen = std::collections::BTreeSet::new();
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let key = line.split('=').next().unwrap_or("").trim();
                assert!(seen.insert(key.to_string()), "{key} is set twice");
            }
            assert!(crate::config::properties::parse(text).is_ok());
        }
        // admin.listeners: parsed, kept out of the admin client, TLS
        // from its own keys first.
        let c = WorkerConfig::from_props(props(&[
            ("admin.listeners", "http://127.0.0.1:9999"),
            ("admin.request.timeout.ms", "5000"),
        ]))
        .unwrap();
        assert_eq!(c.admin_listeners.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            c.admin.get("request.timeout.ms").map(String::as_str),
            Some("5000")
        );
        assert!(!c.admin.contains_key("listeners"));
        let e = WorkerConfig::from_props(props(&[
            ("admin.listeners", "https://127.0.0.1:9999"),
            (
                "admin.listeners.https.ssl.keystore.location",
                "/nonexistent/ks.pem",
            ),
        ]))
        .unwrap_err();
        assert!(
            e.contains("admin.listeners") && e.contains("/nonexistent/ks.pem"),
            "{e}"
        );
        let e =
            WorkerConfig::from_props(props(&[("schema.registry.embedded", "yes")])).unwrap_err();
        assert!(e.contains("schema.registry.embedded"), "{e}");
    }
}
