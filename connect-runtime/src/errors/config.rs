//! The `errors.*` connector keys (Kafka Connect's `ConnectorConfig` and
//! `SinkConnectorConfig` error-handling group), plus Sluice's failure-rate
//! guard.

use std::time::Duration;

use sluice_connect_api::Config;
use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConfigType, Importance, Validator,
};

pub const RETRY_TIMEOUT: &str = "errors.retry.timeout";
pub const RETRY_DELAY_MAX_MS: &str = "errors.retry.delay.max.ms";
pub const TOLERANCE: &str = "errors.tolerance";
pub const LOG_ENABLE: &str = "errors.log.enable";
pub const LOG_INCLUDE_MESSAGES: &str = "errors.log.include.messages";
pub const DLQ_TOPIC: &str = "errors.deadletterqueue.topic.name";
pub const DLQ_REPLICATION: &str = "errors.deadletterqueue.topic.replication.factor";
pub const DLQ_CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";
pub const MAX_RATE: &str = "errors.deadletterqueue.max.rate";
pub const MAX_RATE_WINDOW_MS: &str = "errors.deadletterqueue.max.rate.window.ms";

const GROUP: &str = "Error Handling";

/// The error-handling keys, for validation and `/config/validate`.
pub fn def() -> ConfigDef {
    ConfigDef::new()
        .key(
            ConfigKey::new(RETRY_TIMEOUT, ConfigType::Long)
                .default_value("0")
                .validator(Validator::at_least(-1.0))
                .importance(Importance::Medium)
                .doc("The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
                .group(GROUP, 1),
        )
        .key(
            ConfigKey::new(RETRY_DELAY_MAX_MS, ConfigType::Long)
                .default_value("60000")
                .validator(Validator::at_least(1.0))
                .importance(Importance::Medium)
                .doc("The maximum duration in milliseconds between consecutive retry attempts. Jitter will be added to the delay once this limit is reached to prevent thundering herd issues.")
                .group(GROUP, 2),
        )
        .key(
            ConfigKey::new(TOLERANCE, ConfigType::String)
                .default_value("none")
                .validator(Validator::one_of(&["none", "all"]))
                .recommended(&["none", "all"])
                .importance(Importance::Medium)
                .doc("Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
                .group(GROUP, 3),
        )
        .key(
            ConfigKey::new(LOG_ENABLE, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .doc("If true, write each error and the details of the failed operation and problematic record to the Connect application log.")
                .group(GROUP, 4),
        )
        .key(
            ConfigKey::new(LOG_INCLUDE_MESSAGES, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .doc("Whether to include in the log the Connect record that resulted in a failure. For sink records, the topic, partition, offset, and timestamp will be logged. For source records, the key and value (and their schemas), all headers, and the timestamp, Kafka topic, Kafka partition, source partition, and source offset will be logged.")
                .group(GROUP, 5),
        )
        .key(
            ConfigKey::new(DLQ_TOPIC, ConfigType::String)
                .default_value("")
                .importance(Importance::Medium)
                .doc("The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this connector, its transformations or converters. The topic name is blank by default, which means that no messages are to be recorded in the DLQ. Sluice also accepts it on source connectors.")
                .group(GROUP, 6),
        )
        .key(
            ConfigKey::new(DLQ_REPLICATION, ConfigType::Short)
                .default_value("-1")
                .validator(Validator::custom(|v| match v.as_f64() {
                    Some(n) if n == -1.0 || n >= 1.0 => Ok(()),
                    _ => Err("Value must be -1 (the broker's default) or at least 1".into()),
                }))
                .importance(Importance::Medium)
                .doc("Replication factor used to create the dead letter queue topic when it doesn't already exist. Sluice's default -1 uses the broker's default replication factor (Kafka Connect's default is 3).")
                .group(GROUP, 7),
        )
        .key(
            ConfigKey::new(DLQ_CONTEXT_HEADERS, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .doc("If true, add headers containing error context to the messages written to the dead letter queue. To avoid clashing with headers from the original record, all error context header keys, all error context header keys will start with __connect.errors.")
                .group(GROUP, 8),
        )
        .key(
            ConfigKey::new(MAX_RATE, ConfigType::Int)
                .default_value("-1")
                .validator(Validator::at_least(-1.0))
                .importance(Importance::Medium)
                .doc("Sluice only: the most errant records a task may tolerate (dead-letter or log and skip) within errors.deadletterqueue.max.rate.window.ms; one more fails the task instead of quietly skipping everything. -1 (the default) sets no limit.")
                .group(GROUP, 9),
        )
        .key(
            ConfigKey::new(MAX_RATE_WINDOW_MS, ConfigType::Long)
                .default_value("60000")
                .validator(Validator::at_least(1.0))
                .importance(Importance::Medium)
                .doc("Sluice only: the sliding window of errors.deadletterqueue.max.rate, in milliseconds.")
                .group(GROUP, 10),
        )
}

/// How a task handles records that fail conversion, a transform or `put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorConfig {
    /// `errors.tolerance=all`: skip errant records instead of failing.
    pub tolerate_all: bool,
    /// `None`: retry forever (`-1`).
    pub retry_timeout: Option<Duration>,
    pub retry_delay_max: Duration,
    pub log_enable: bool,
    pub log_include_messages: bool,
    pub dlq_topic: Option<String>,
    pub dlq_replication: i32,
    pub dlq_context_headers: bool,
    /// Errant records allowed per window; `None` is no limit.
    pub max_rate: Option<u32>,
    pub max_rate_window: Duration,
}

impl Default for ErrorConfig {
    fn default() -> Self {
        Self {
            tolerate_all: false,
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_secs(60),
            log_enable: false,
            log_include_messages: false,
            dlq_topic: None,
            dlq_replication: -1,
            dlq_context_headers: false,
            max_rate: None,
            max_rate_window: Duration::from_secs(60),
        }
    }
}

fn millis(v: i64) -> Duration {
    Duration::from_millis(u64::try_from(v).unwrap_or(0))
}

impl ErrorConfig {
    pub fn from_config(config: &Config) -> Result<Self, ConfigErrors> {
        let p = def().parse(config)?;
        let retry = p.long(RETRY_TIMEOUT)?;
        Ok(Self {
            tolerate_all: p.string(TOLERANCE)?.eq_ignore_ascii_case("all"),
            retry_timeout: (retry >= 0).then(|| millis(retry)),
            retry_delay_max: millis(p.long(RETRY_DELAY_MAX_MS)?),
            log_enable: p.boolean(LOG_ENABLE)?,
            log_include_messages: p.boolean(LOG_INCLUDE_MESSAGES)?,
            dlq_topic: p.optional_string(DLQ_TOPIC),
            dlq_replication: i32::from(p.short(DLQ_REPLICATION)?),
            dlq_context_headers: p.boolean(DLQ_CONTEXT_HEADERS)?,
            max_rate: u32::try_from(p.int(MAX_RATE)?).ok(),
            max_rate_window: millis(p.long(MAX_RATE_WINDOW_MS)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props as cfg;

    #[test]
    fn defaults_are_kafka_connects() {
        let c = ErrorConfig::from_config(&Config::new()).unwrap();
        assert_eq!(c, ErrorConfig::default());
        assert!(!c.tolerate_all);
        assert_eq!(c.retry_timeout, Some(Duration::ZERO));
    }

    #[test]
    fn keys_parse() {
        let c = ErrorConfig::from_config(&cfg(&[
            (TOLERANCE, "all"),
            (RETRY_TIMEOUT, "-1"),
            (RETRY_DELAY_MAX_MS, "500"),
            (LOG_ENABLE, "true"),
            (DLQ_TOPIC, "dlq"),
            (DLQ_REPLICATION, "1"),
            (DLQ_CONTEXT_HEADERS, "true"),
            (MAX_RATE, "10"),
        ]))
        .unwrap();
        assert!(c.tolerate_all && c.log_enable && c.dlq_context_headers);
        assert_eq!(c.retry_timeout, None);
        assert_eq!(c.retry_delay_max, Duration::from_millis(500));
        assert_eq!(c.dlq_topic.as_deref(), Some("dlq"));
        assert_eq!(c.dlq_replication, 1);
        assert_eq!(c.max_rate, Some(10));
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = ErrorConfig::from_config(&cfg(&[(TOLERANCE, "some"), (RETRY_TIMEOUT, "-5")]))
            .unwrap_err();
        assert_eq!(e.keys(), vec![RETRY_TIMEOUT, TOLERANCE]);
        assert!(
            e.to_string()
                .contains("Invalid value some for configuration errors.tolerance")
        );
        let e = ErrorConfig::from_config(&cfg(&[(DLQ_REPLICATION, "0")])).unwrap_err();
        assert_eq!(e.keys(), vec![DLQ_REPLICATION]);
    }
}
