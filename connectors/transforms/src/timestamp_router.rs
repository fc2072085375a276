//! `org.apache.kafka.connect.transforms.TimestampRouter`: the topic becomes
//! `topic.format` with `${topic}` replaced by the topic and `${timestamp}`
//! by the record timestamp in `timestamp.format` (SimpleDateFormat, UTC).

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::schema::DataError;
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::simple_date_format::SimpleDateFormat;
use crate::util::config::{errors, issue, issues_of};
use crate::util::fields::def_of;

const TOPIC_FORMAT: &str = "topic.format";
const TIMESTAMP_FORMAT: &str = "timestamp.format";

/// Routes records to a topic per time period.
#[derive(Debug, Clone)]
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: Option<SimpleDateFormat>,
}

impl Default for TimestampRouter {
    fn default() -> Self {
        Self {
            topic_format: "${topic}-${timestamp}".to_string(),
            timestamp_format: None,
        }
    }
}

#[derive(Debug, Default)]
struct TimestampRouterConfig {
    topic_format: String,
    timestamp_format: String,
}

impl TimestampRouterConfig {
    fn timestamp_format(&self) -> Result<SimpleDateFormat, ConfigIssue> {
        let pattern = &self.timestamp_format;
        SimpleDateFormat::new(pattern).map_err(|why| issue(TIMESTAMP_FORMAT, pattern, why))
    }
}

impl ConnectorConfig for TimestampRouterConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(TOPIC_FORMAT)
                    .default_value("${topic}-${timestamp}")
                    .importance(Importance::High)
                    .doc(
                        "Format string which can contain <code>${topic}</code> and \
                         <code>${timestamp}</code> as placeholders for the topic and timestamp, \
                         respectively.",
                    ),
                |c, v| c.topic_format = v,
            )
            .field(
                ConfigKey::named(TIMESTAMP_FORMAT)
                    .default_value("yyyyMMdd")
                    .importance(Importance::High)
                    .doc(
                        "Format string for the timestamp that is compatible with \
                         <code>java.text.SimpleDateFormat</code>.",
                    ),
                |c, v| c.timestamp_format = v,
            )
            .check_issues(|c| issues_of(c.timestamp_format()))
    }
}

impl Transformation for TimestampRouter {
    fn config_def(&self) -> ConfigDef {
        def_of::<TimestampRouterConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = TimestampRouterConfig::parse(config)?;
        self.timestamp_format = Some(c.timestamp_format().map_err(errors)?);
        self.topic_format = c.topic_format;
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let Some(timestamp) = record.timestamp() else {
            return Err(DataError::new(format!(
                "Timestamp missing on record: topic={}, kafkaPartition={}, kafkaOffset={}",
                record.topic(),
                record
                    .kafka_partition()
                    .map_or("null".to_string(), |p| p.to_string()),
                record
                    .kafka_offset()
                    .map_or("null".to_string(), |o| o.to_string()),
            )));
        };
        let formatted = match &self.timestamp_format {
            Some(f) => f.format(timestamp),
            None => timestamp.to_string(),
        };
        let topic = self
            .topic_format
            .replace("${topic}", record.topic())
            .replace("${timestamp}", &formatted);
        record.set_topic(topic);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Value;

    #[test]
    fn default_configuration() {
        let mut t = configured(TimestampRouter::default(), &[]);
        let mut r = source_value(None, Value::Null);
        r.timestamp = Some(1_483_425_001_864);
        assert_eq!(&*apply(&mut t, r).topic, "test-20170103");
    }

    #[test]
    fn custom_format() {
        let mut t = configured(
            TimestampRouter::default(),
            &[
                ("topic.format", "${timestamp}_${topic}_x"),
                ("timestamp.format", "yyyy-MM"),
            ],
        );
        let mut r = sink(None, Value::Null, None, Value::Null);
        r.timestamp = Some(1_483_425_001_864);
        assert_eq!(&*apply(&mut t, r).topic, "2017-01_test_x");
    }

    #[test]
    fn missing_timestamp_fails() {
        let mut t = configured(TimestampRouter::default(), &[]);
        let mut r = source_value(None, Value::Null);
        r.timestamp = None;
        assert_eq!(
            apply_error(&mut t, r),
            "Timestamp missing on record: topic=test, kafkaPartition=0, kafkaOffset=null"
        );
    }

    #[test]
    fn bad_pattern_names_the_key() {
        let (keys, msg) = config_error(
            TimestampRouter::default(),
            &[("timestamp.format", "yyyyqq")],
        );
        assert_eq!(keys, ["timestamp.format"]);
        assert_eq!(
            msg,
            "Invalid value yyyyqq for configuration timestamp.format: Illegal pattern character 'q'"
        );
    }
}

/// Text fields of `SimpleDateFormat` patterns (`MMM`, `EEE`).
#[cfg(test)]
mod timestamp_format_tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Value;

    #[test]
    fn text_fields() {
        let mut t = configured(
            TimestampRouter::default(),
            &[("timestamp.format", "yyyy-MMM-dd EEE")],
        );
        let mut r = source_value(None, Value::Null);
        r.timestamp = Some(1_483_425_001_864);
        assert_eq!(&*apply(&mut t, r).topic, "test-2017-Jan-03 Tue");
    }
}
