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

/// A config that passed every check, with its plugin.
#[derive(Debug, Clone)]
pub struct ValidConnector {
    pub plugin: ConnectorPlugin,
    pub tasks_max: usize,
}

/// Checks a connector config completely: common keys, the class, converter
/// classes, sink topic keys and the connector's own keys. Every problem is
/// reported at once.
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
        if p.connector_type() == ConnectorType::Sink {
            check_sink_topics(config, &mut issues);
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

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

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
