//! `TopicNameMatches`: true when the whole topic name matches `pattern`.

use regex::Regex;
use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConfigKey, ConfigType, Importance};
use sluice_connect_api::{Config, ConnectRecord, Predicate};

use crate::util::config::{regex_validator, whole_match_regex};

const PATTERN: &str = "pattern";

/// Matches records by topic name (the whole name, as Java's `matches()`).
#[derive(Debug, Default, Clone)]
pub struct TopicNameMatches {
    pattern: Option<Regex>,
}

impl Predicate for TopicNameMatches {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().key(
            ConfigKey::new(PATTERN, ConfigType::String)
                .validator(regex_validator(true))
                .importance(Importance::Medium)
                .doc(
                    "A Java regular expression for matching against the name of a record's topic.",
                ),
        )
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let parsed = self.config_def().parse(config)?;
        self.pattern = Some(whole_match_regex(PATTERN, &parsed.string(PATTERN)?)?);
        Ok(())
    }

    fn test(&self, record: &dyn ConnectRecord) -> bool {
        self.pattern
            .as_ref()
            .is_some_and(|p| p.is_match(record.topic()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Value;

    fn topic(name: &str) -> sluice_connect_api::SourceRecord {
        let mut r = source_value(None, Value::Null);
        r.topic = name.to_string();
        r
    }

    #[test]
    fn whole_name_must_match() {
        let p = configured_predicate(TopicNameMatches::default(), &[("pattern", "my-prefix-.*")]);
        assert!(p.test(&topic("my-prefix-")));
        assert!(p.test(&topic("my-prefix-foo")));
        assert!(!p.test(&topic("x-my-prefix-")));
        assert!(!p.test(&topic("x-my-prefix-foo")));
        assert!(!p.test(&topic("your-prefix-foo")));
    }

    #[test]
    fn config_errors() {
        let mut p = TopicNameMatches::default();
        let e = p.configure(&config(&[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("Missing required configuration \"pattern\"")
        );
        let e = p.configure(&config(&[("pattern", "")])).unwrap_err();
        assert!(e.to_string().contains("String must be non-empty"), "{e}");
        let e = p.configure(&config(&[("pattern", "[")])).unwrap_err();
        assert!(e.to_string().contains("Invalid regex"), "{e}");
        assert_eq!(e.keys(), ["pattern"]);
        let reports = p.config_def().validate(&config(&[("pattern", "*")]));
        assert!(reports[0].errors[0].contains("Invalid regex"));
    }
}
