//! `TopicNameMatches`: true when the whole topic name matches `pattern`.

use regex::Regex;
use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::{Config, ConnectRecord, Predicate};

use crate::util::config::{errors, issues_of, regex_validator, whole_match_regex};
use crate::util::fields::def_of;

const PATTERN: &str = "pattern";

/// Matches records by topic name (the whole name, as Java's `matches()`).
#[derive(Debug, Default, Clone)]
pub struct TopicNameMatches {
    pattern: Option<Regex>,
}

#[derive(Debug, Default)]
struct TopicNameMatchesConfig {
    pattern: String,
}

impl TopicNameMatchesConfig {
    /// `pattern` (validated with its key), matching whole names.
    fn regex(&self) -> Result<Regex, ConfigIssue> {
        whole_match_regex(PATTERN, &self.pattern)
    }
}

impl ConnectorConfig for TopicNameMatchesConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(PATTERN)
                    .validator(regex_validator(true))
                    .importance(Importance::Medium)
                    .doc(
                        "A Java regular expression for matching against the name of a record's \
                         topic.",
                    ),
                |c, v| c.pattern = v,
            )
            .check_issues(|c| issues_of(c.regex()))
    }
}

impl Predicate for TopicNameMatches {
    fn config_def(&self) -> ConfigDef {
        def_of::<TopicNameMatchesConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = TopicNameMatchesConfig::parse(config)?;
        self.pattern = Some(c.regex().map_err(errors)?);
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
        r.topic = name.into();
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
