//! The keys every connector has (Kafka Connect's `ConnectorConfig`,
//! `SinkConnectorConfig`) and the full check of a connector config against
//! the plugin registry, run before anything starts.

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, ConfigType, Importance, Validator,
};
use sluice_connect_api::{Config, ConnectorPlugin, ConnectorType, Registry};

pub const NAME: &str = "name";
pub const CONNECTOR_CLASS: &str = "connector.class";
pub const TASKS_MAX: &str = "tasks.max";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const TOPICS: &str = "topics";
pub const TOPICS_REGEX: &str = "topics.regex";

/// Keys common to all connectors.
pub fn common_def() -> ConfigDef {
    ConfigDef::new()
        .key(ConfigKey::new(NAME, ConfigType::String).importance(Importance::High)
            .validator(Validator::NonEmptyString)
            .doc("Globally unique name to use for this connector.").group("Common", 1))
        .key(ConfigKey::new(CONNECTOR_CLASS, ConfigType::String).importance(Importance::High)
            .doc("Name or alias of the connector class, e.g. FileStreamSource or org.apache.kafka.connect.file.FileStreamSourceConnector")
            .group("Common", 2))
        .key(ConfigKey::new(TASKS_MAX, ConfigType::Int).default_value("1").importance(Importance::High)
            .validator(Validator::at_least(1.0))
            .doc("Maximum number of tasks to use for this connector.").group("Common", 3))
        .key(ConfigKey::new(KEY_CONVERTER, ConfigType::Class).default_value("").importance(Importance::Low)
            .doc("Converter for keys; overrides the worker's").group("Common", 4))
        .key(ConfigKey::new(VALUE_CONVERTER, ConfigType::Class).default_value("").importance(Importance::Low)
            .doc("Converter for values; overrides the worker's").group("Common", 5))
        .key(ConfigKey::new(HEADER_CONVERTER, ConfigType::Class).default_value("").importance(Importance::Low)
            .doc("Converter for headers; overrides the worker's").group("Common", 6))
        .key(ConfigKey::new(crate::transforms::TRANSFORMS, ConfigType::List).default_value("").importance(Importance::Low)
            .doc("Aliases for the transformations to be applied to records.").group("Transforms", 1))
        .key(ConfigKey::new(crate::transforms::PREDICATES, ConfigType::List).default_value("").importance(Importance::Low)
            .doc("Aliases for the predicates used by transformations.").group("Predicates", 1))
        .key(ConfigKey::new(crate::correlation::HEADER_KEY, ConfigType::String).default_value(crate::correlation::DEFAULT_HEADER)
            .importance(Importance::Low).group("Common", 9)
            .doc("Sluice: the header carrying each record's correlation id (kept when a source record has one, created otherwise; shown in DLQ records and error logs). Empty turns it off."))
        .merge(&crate::errors::config::def())
        .merge(&crate::anomaly::config::def())
}

/// Extra keys of sink connectors.
pub fn sink_def() -> ConfigDef {
    ConfigDef::new()
        .key(
            ConfigKey::new(TOPICS, ConfigType::List)
                .default_value("")
                .importance(Importance::High)
                .doc("List of topics to consume, separated by commas")
                .group("Common", 7),
        )
        .key(
            ConfigKey::new(TOPICS_REGEX, ConfigType::String)
                .default_value("")
                .importance(Importance::High)
                .validator(Validator::custom(|v| {
                    let s = v.to_string();
                    if s.is_empty() {
                        return Ok(());
                    }
                    regex::Regex::new(&s)
                        .map(|_| ())
                        .map_err(|e| format!("not a valid regular expression: {e}"))
                }))
                .doc("Regular expression giving topics to consume")
                .group("Common", 8),
        )
}

pub const TOPIC_CREATION_GROUPS: &str = "topic.creation.groups";
pub const TOPIC_CREATION_PARTITIONS: &str = "topic.creation.default.partitions";
pub const TOPIC_CREATION_REPLICATION: &str = "topic.creation.default.replication.factor";
const TOPIC_CREATION_DEFAULT_PREFIX: &str = "topic.creation.default.";
pub const EXACTLY_ONCE_SUPPORT: &str = "exactly.once.support";
pub const TRANSACTION_BOUNDARY: &str = "transaction.boundary";
pub const TRANSACTION_BOUNDARY_INTERVAL: &str = "transaction.boundary.interval.ms";
pub const OFFSETS_STORAGE_TOPIC: &str = "offsets.storage.topic";

/// A topic-creation count: positive, or -1 for the broker's default.
fn positive_or_broker_default(v: &sluice_connect_api::config::ConfigValue) -> Result<(), String> {
    let n = v.to_string().parse::<i64>().unwrap_or(0);
    if n >= 1 || n == -1 {
        Ok(())
    } else {
        Err("must be positive, or -1 to use the broker's default".to_string())
    }
}

/// Extra keys of source connectors (Kafka Connect's `SourceConnectorConfig`).
/// Every one is validated; the ones that promise what Sluice does not do
/// (transactions, topic creation groups, a per-connector offsets topic) are
/// refused with a message saying so, never silently ignored. Other
/// `topic.creation.default.*` keys are topic configs (see
/// [`source_topic_creation`]).
pub fn source_def() -> ConfigDef {
    ConfigDef::new()
        .key(ConfigKey::new(TOPIC_CREATION_GROUPS, ConfigType::List).default_value("").importance(Importance::Low)
            .validator(Validator::custom(|v| if v.to_string().trim().is_empty() { Ok(()) } else {
                Err("topic creation groups are not supported by Sluice yet; every topic is created with the topic.creation.default.* settings".to_string())
            }))
            .doc("Groups of configurations for topics created by source connectors (not supported yet: must be empty).").group("Topic Creation", 1))
        .key(ConfigKey::new(TOPIC_CREATION_PARTITIONS, ConfigType::Int).default_value("1").importance(Importance::Low)
            .validator(Validator::custom(positive_or_broker_default))
            .doc("Partitions of topics the connector's records go to, when Sluice creates them (-1: the broker's default).").group("Topic Creation", 2))
        .key(ConfigKey::new(TOPIC_CREATION_REPLICATION, ConfigType::Short).default_value("-1").importance(Importance::Low)
            .validator(Validator::custom(positive_or_broker_default))
            .doc("Replication factor of topics Sluice creates for the connector (-1: the broker's default).").group("Topic Creation", 3))
        .key(ConfigKey::new(EXACTLY_ONCE_SUPPORT, ConfigType::String).default_value("requested").importance(Importance::Medium)
            .validator(Validator::custom(|v| match v.to_string().trim().to_ascii_lowercase().as_str() {
                "requested" => Ok(()),
                "required" => Err("exactly-once delivery needs transactions, which Sluice does not implement yet; use requested (records are delivered at least once)".to_string()),
                _ => Err("String must be one of: requested, required".to_string()),
            }))
            .doc("Whether the connector must run with exactly-once semantics (required is refused: Sluice delivers at least once).").group("Exactly Once Support", 1))
        .key(ConfigKey::new(TRANSACTION_BOUNDARY, ConfigType::String).default_value("poll").importance(Importance::Medium)
            .validator(Validator::custom(|v| match v.to_string().trim().to_ascii_lowercase().as_str() {
                "poll" => Ok(()),
                "interval" | "connector" => Err("transaction boundaries need transactions, which Sluice does not implement yet; use poll".to_string()),
                _ => Err("String must be one of: poll, interval, connector".to_string()),
            }))
            .doc("Where producer transactions begin and end (only poll: Sluice has no transactions yet).").group("Exactly Once Support", 2))
        .key(ConfigKey::new(TRANSACTION_BOUNDARY_INTERVAL, ConfigType::String).default_value("").importance(Importance::Low)
            .validator(Validator::custom(|v| {
                let s = v.to_string();
                if s.trim().is_empty() || s.trim().parse::<u64>().is_ok() { Ok(()) } else {
                    Err("must be a non-negative number of milliseconds".to_string())
                }
            }))
            .doc("Transaction length with transaction.boundary=interval (unused: no transactions).").group("Exactly Once Support", 3))
        .key(ConfigKey::new(OFFSETS_STORAGE_TOPIC, ConfigType::String).default_value("").importance(Importance::Low)
            .validator(Validator::custom(|v| if v.to_string().trim().is_empty() { Ok(()) } else {
                Err("a separate offsets topic per connector is not supported by Sluice yet; leave it unset to use the worker's".to_string())
            }))
            .doc("A separate offsets topic for this connector (not supported yet: must be unset).").group("Offsets Topic", 1))
}

/// How a source creates a missing topic it writes to: Kafka Connect's
/// `topic.creation.default.*` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCreation {
    pub partitions: i32,
    /// -1: the broker's default.
    pub replication: i16,
    /// Every other `topic.creation.default.<config>` key, given to the new
    /// topic as its config `<config>` (`cleanup.policy`, `retention.ms`).
    pub configs: Vec<(String, String)>,
}

/// The topic-creation settings of a source config (an error names the key).
pub fn source_topic_creation(config: &Config) -> Result<TopicCreation, ConfigErrors> {
    let parsed = source_def().parse(config)?;
    let configs = config
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(TOPIC_CREATION_DEFAULT_PREFIX)?;
            (k != TOPIC_CREATION_PARTITIONS && k != TOPIC_CREATION_REPLICATION)
                .then(|| (name.to_string(), v.trim().to_string()))
        })
        .collect();
    Ok(TopicCreation {
        partitions: parsed.int(TOPIC_CREATION_PARTITIONS)?,
        replication: parsed.short(TOPIC_CREATION_REPLICATION)?,
        configs,
    })
}

/// A config that passed every check, with its plugin.
#[derive(Debug, Clone)]
pub struct ValidConnector {
    pub plugin: ConnectorPlugin,
    pub tasks_max: usize,
}

/// Checks a connector config completely: common keys, the class, converter
/// classes, sink topic keys and the connector's own keys. Every problem is
/// reported at once.
/// Every key of a plugin: the common connector keys first, then the
/// connector's own.
pub fn full_def(plugin: &ConnectorPlugin) -> ConfigDef {
    let mut def = common_def();
    def = def.merge(&match plugin.connector_type() {
        ConnectorType::Sink => sink_def(),
        ConnectorType::Source => source_def(),
    });
    def.merge(&(plugin.new_connector)().config_def())
}

pub fn validate(registry: &Registry, config: &Config) -> Result<ValidConnector, ConfigErrors> {
    let mut issues: Vec<ConfigIssue> = Vec::new();
    let common = common_def();
    let parsed = common.parse(config);
    if let Err(e) = &parsed {
        issues.extend(e.issues.iter().cloned());
    }
    let plugin = match config.get(CONNECTOR_CLASS) {
        Some(class) => match registry.connector(class) {
            Some(p) => Some(*p),
            None => {
                let available: Vec<&str> =
                    registry.connectors().iter().map(|p| p.class_name).collect();
                issues.push(ConfigIssue {
                    key: CONNECTOR_CLASS.to_string(),
                    message: format!(
                        "Invalid value {class} for configuration {CONNECTOR_CLASS}: Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}",
                        available.join(", ")
                    ),
                });
                None
            }
        },
        None => None,
    };
    if let Err(e) = crate::transforms::TransformChain::build(registry, config) {
        issues.extend(e.issues);
    }
    for key in [KEY_CONVERTER, VALUE_CONVERTER] {
        if let Some(class) = config.get(key).map(|c| c.trim()).filter(|c| !c.is_empty())
            && registry.converter(class).is_none()
        {
            {
                issues.push(ConfigIssue {
                    key: key.to_string(),
                    message: format!("Invalid value {class} for configuration {key}: Class {class} could not be found."),
                });
            }
        }
    }
    if let Some(p) = &plugin {
        match p.connector_type() {
            ConnectorType::Sink => check_sink_topics(config, &mut issues),
            ConnectorType::Source => {
                if let Err(e) = source_def().parse(config) {
                    issues.extend(e.issues);
                }
            }
        }
        let connector = (p.new_connector)();
        for report in connector.validate(config) {
            for message in report.errors {
                issues.push(ConfigIssue {
                    key: report.name.clone(),
                    message,
                });
            }
        }
    }
    match (parsed, plugin) {
        (Ok(parsed), Some(plugin)) if issues.is_empty() => Ok(ValidConnector {
            plugin,
            tasks_max: usize::try_from(parsed.int(TASKS_MAX)?).unwrap_or(1).max(1),
        }),
        _ => Err(ConfigErrors { issues }),
    }
}

fn check_sink_topics(config: &Config, issues: &mut Vec<ConfigIssue>) {
    match sink_def().parse(config) {
        Err(e) => issues.extend(e.issues),
        Ok(p) => {
            let topics = p.list(TOPICS).unwrap_or_default();
            let regex = p.optional_string(TOPICS_REGEX);
            let message = match (topics.is_empty(), regex.is_some()) {
                (true, false) => Some("Must configure one of topics or topics.regex"),
                (false, true) => Some(
                    "topics and topics.regex are mutually exclusive options, but both are set.",
                ),
                _ => None,
            };
            if let Some(m) = message {
                issues.push(ConfigIssue {
                    key: TOPICS.to_string(),
                    message: m.to_string(),
                });
            }
        }
    }
}

/// A sink's `topics` list and `topics.regex` (trimmed; empty means unset).
pub fn sink_topics(config: &Config) -> (Vec<String>, Option<String>) {
    let topics = config
        .get(TOPICS)
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let regex = config
        .get(TOPICS_REGEX)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    (topics, regex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props as cfg;

    #[test]
    fn quickstart_configs_pass() {
        let r = crate::plugins::registry();
        let v = validate(
            &r,
            &cfg(&[
                ("name", "local-file-source"),
                ("connector.class", "FileStreamSource"),
                ("tasks.max", "1"),
                ("file", "test.txt"),
                ("topic", "connect-test"),
            ]),
        )
        .unwrap();
        assert_eq!(v.plugin.connector_type(), ConnectorType::Source);
        let v = validate(
            &r,
            &cfg(&[
                ("name", "local-file-sink"),
                ("connector.class", "FileStreamSink"),
                ("tasks.max", "1"),
                ("file", "test.sink.txt"),
                ("topics", "connect-test"),
            ]),
        )
        .unwrap();
        assert_eq!(v.plugin.connector_type(), ConnectorType::Sink);
    }

    #[test]
    fn source_keys_that_promise_what_is_not_built_are_refused() {
        let r = crate::plugins::registry();
        let base = [
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("file", "in.txt"),
            ("topic", "t"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut c = cfg(&base);
            c.extend(cfg(extra));
            validate(&r, &c)
        };
        let e = with(&[
            ("exactly.once.support", "required"),
            ("transaction.boundary", "connector"),
            ("topic.creation.default.partitions", "0"),
            ("topic.creation.default.replication.factor", "three"),
            ("topic.creation.groups", "inorder"),
            ("offsets.storage.topic", "my-offsets"),
        ])
        .unwrap_err();
        let mut keys = e.keys();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec![
                "exactly.once.support",
                "offsets.storage.topic",
                "topic.creation.default.partitions",
                "topic.creation.default.replication.factor",
                "topic.creation.groups",
                "transaction.boundary",
            ],
            "{e}"
        );
        assert!(e.to_string().contains("transactions"), "{e}");
        // Kafka Connect's defaults and broker defaults pass.
        let ok = with(&[
            ("exactly.once.support", "requested"),
            ("transaction.boundary", "poll"),
            ("topic.creation.default.partitions", "-1"),
            ("topic.creation.default.replication.factor", "1"),
        ]);
        assert!(ok.is_ok(), "{ok:?}");
        let c = cfg(&[
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.default.cleanup.policy", " compact "),
        ]);
        assert_eq!(
            source_topic_creation(&c).unwrap(),
            TopicCreation {
                partitions: 3,
                replication: -1,
                configs: vec![("cleanup.policy".into(), "compact".into())],
            }
        );
    }

    #[test]
    fn every_problem_named() {
        let r = crate::plugins::registry();
        let e = validate(
            &r,
            &cfg(&[
                ("name", "x"),
                ("connector.class", "FileStreamSource"),
                ("tasks.max", "many"),
                ("value.converter", "com.acme.Nope"),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.keys(), vec!["tasks.max", "value.converter", "topic"]);
        let e = validate(
            &r,
            &cfg(&[("name", "x"), ("connector.class", "com.acme.Missing")]),
        )
        .unwrap_err();
        assert_eq!(e.keys(), vec!["connector.class"]);
        assert!(e.to_string().contains("FileStreamSourceConnector"));
        let e = validate(
            &r,
            &cfg(&[("name", "x"), ("connector.class", "FileStreamSink")]),
        )
        .unwrap_err();
        assert_eq!(e.keys(), vec!["topics"]);
        let e = validate(
            &r,
            &cfg(&[
                ("name", "x"),
                ("connector.class", "FileStreamSink"),
                ("topics", "a"),
                ("topics.regex", "b.*"),
            ]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("mutually exclusive"));
    }
}
