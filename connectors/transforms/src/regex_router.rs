//! `org.apache.kafka.connect.transforms.RegexRouter`: when the whole topic
//! matches `regex`, the topic becomes the first match replaced by
//! `replacement` (Java's `$1`/`${name}` group syntax).
//!
//! The regex syntax is the `regex` crate's: Java's, less look-around and
//! back-references. A replacement that names a group the regex lacks is a
//! configuration error here (Kafka Connect fails on the first matching
//! record instead).

use regex::Regex;
use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::schema::DataError;
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::config::{errors, issue, issues_of, regex_validator, whole_match_regex};
use crate::util::fields::def_of;
use crate::util::replacement::Replacement;

const REGEX: &str = "regex";
const REPLACEMENT: &str = "replacement";

#[derive(Debug, Clone)]
struct Route {
    /// Finds the first match.
    regex: Regex,
    /// Decides whether the whole topic matches.
    whole: Regex,
    replacement: Replacement,
}

/// Renames topics that match a regular expression.
#[derive(Debug, Default, Clone)]
pub struct RegexRouter {
    route: Option<Route>,
}

#[derive(Debug, Default)]
struct RegexRouterConfig {
    regex: String,
    replacement: String,
}

impl RegexRouterConfig {
    /// The regex (validated with its key) and a replacement whose groups
    /// it has.
    fn route(&self) -> Result<Route, ConfigIssue> {
        let pattern = &self.regex;
        let regex = Regex::new(pattern)
            .map_err(|e| issue(REGEX, pattern, format!("Invalid regex: {e}")))?;
        let whole = whole_match_regex(REGEX, pattern)?;
        let text = &self.replacement;
        let replacement =
            Replacement::parse(text, &regex).map_err(|why| issue(REPLACEMENT, text, why))?;
        Ok(Route {
            regex,
            whole,
            replacement,
        })
    }
}

impl ConnectorConfig for RegexRouterConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(REGEX)
                    .validator(regex_validator(false))
                    .importance(Importance::High)
                    .doc("Regular expression to use for matching."),
                |c, v| c.regex = v,
            )
            .field(
                ConfigKey::named(REPLACEMENT)
                    .importance(Importance::High)
                    .doc("Replacement string."),
                |c, v| c.replacement = v,
            )
            .check_issues(|c| issues_of(c.route()))
    }
}

impl Transformation for RegexRouter {
    fn config_def(&self) -> ConfigDef {
        def_of::<RegexRouterConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = RegexRouterConfig::parse(config)?;
        self.route = Some(c.route().map_err(errors)?);
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        if let Some(route) = &self.route
            && route.whole.is_match(record.topic())
        {
            let topic = route
                .replacement
                .replace_first(&route.regex, record.topic());
            record.set_topic(topic);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Value;

    fn route(regex: &str, replacement: &str, topic: &str) -> String {
        let mut t = configured(
            RegexRouter::default(),
            &[("regex", regex), ("replacement", replacement)],
        );
        let mut r = sink(None, Value::Null, None, Value::Null);
        r.topic = topic.into();
        apply(&mut t, r).topic.to_string()
    }

    #[test]
    fn kafka_connect_cases() {
        assert_eq!(route("foo", "bar", "foo"), "bar");
        assert_eq!(route("foo", "bar", "orig"), "orig");
        assert_eq!(route("(.*)", "$1", "orig"), "orig");
        assert_eq!(route("(.*)", "prefix-$1", "orig"), "prefix-orig");
        assert_eq!(route("(.*)", "$1-suffix", "orig"), "orig-suffix");
        assert_eq!(
            route("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1", "index-20160117"),
            "index"
        );
    }

    #[test]
    fn whole_topic_must_match() {
        assert_eq!(route("foo", "bar", "foobar"), "foobar");
        assert_eq!(route("foo.*", "bar", "foobar"), "bar");
        // The first match is replaced, which may be shorter than the topic.
        assert_eq!(route("a|ab", "X", "ab"), "Xb");
    }

    #[test]
    fn bad_configs_name_the_key() {
        let (keys, msg) = config_error(
            RegexRouter::default(),
            &[("regex", "(unclosed"), ("replacement", "x")],
        );
        assert_eq!(keys, ["regex"]);
        assert!(
            msg.starts_with("Invalid value (unclosed for configuration regex: Invalid regex:"),
            "{msg}"
        );
        let (keys, msg) = config_error(
            RegexRouter::default(),
            &[("regex", "(.*)"), ("replacement", "$2")],
        );
        assert_eq!(keys, ["replacement"]);
        assert_eq!(
            msg,
            "Invalid value $2 for configuration replacement: No group 2"
        );
        let (keys, _) = config_error(RegexRouter::default(), &[]);
        assert_eq!(keys, ["regex", "replacement"]);
    }
}
