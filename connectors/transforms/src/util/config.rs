//! Config keys and validators shared by transforms, with Kafka Connect's
//! names, defaults and messages.

use regex::Regex;
use sluice_connect_api::Config;
use sluice_connect_api::config::{
    ConfigErrors, ConfigIssue, ConfigKey, ConfigType, ConfigValue, Importance, Validator,
};

pub(crate) const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// `replace.null.with.default` (BOOLEAN, default true).
pub(crate) fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::new(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean)
        .default_value("true")
        .importance(Importance::Medium)
        .doc(
            "Whether to replace fields that have a default value and that are null to the \
             default value. When set to true, the default value is used, otherwise null is used.",
        )
}

/// A key's value as given (trimmed like Kafka Connect's STRING parsing),
/// `None` when absent or empty: the keys Kafka Connect defines with a
/// `null` default.
pub(crate) fn optional(config: &Config, key: &str) -> Option<String> {
    config
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Kafka Connect's `ConfigException(name, value, message)` text.
pub(crate) fn issue(key: &str, value: &str, message: impl std::fmt::Display) -> ConfigIssue {
    ConfigIssue {
        key: key.to_string(),
        message: format!("Invalid value {value} for configuration {key}: {message}"),
    }
}

/// One issue as [`ConfigErrors`].
pub(crate) fn error(key: &str, value: &str, message: impl std::fmt::Display) -> ConfigErrors {
    ConfigErrors {
        issues: vec![issue(key, value, message)],
    }
}

/// An issue whose text is only Kafka Connect's message (its
/// `ConfigException(message)` without a key), filed under `key`.
pub(crate) fn plain_error(key: &str, message: impl Into<String>) -> ConfigErrors {
    ConfigErrors::single(key, message)
}

/// Kafka Connect's `NonEmptyListValidator`.
pub(crate) fn non_empty_list() -> Validator {
    Validator::custom(|v| match v {
        ConfigValue::List(items) if items.is_empty() => Err("Empty list".to_string()),
        _ => Ok(()),
    })
}

/// Kafka Connect's `ValidString.in(..)`: case-sensitive.
pub(crate) fn valid_string(allowed: &'static [&'static str]) -> Validator {
    Validator::custom(move |v| {
        let s = v.to_string();
        if allowed.contains(&s.as_str()) {
            Ok(())
        } else {
            Err(format!("String must be one of: {}", allowed.join(", ")))
        }
    })
}

/// Kafka Connect's `CaseInsensitiveValidString.in(..)`.
pub(crate) fn case_insensitive_valid_string(allowed: &'static [&'static str]) -> Validator {
    Validator::custom(move |v| {
        let s = v.to_string();
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(&s)) {
            Ok(())
        } else {
            Err(format!(
                "String must be one of (case insensitive): {}",
                allowed.join(", ")
            ))
        }
    })
}

/// A regex error on one line (the regex crate's is several, with a caret).
pub(crate) fn regex_message(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '^'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Kafka Connect's `RegexValidator`: `Invalid regex: <why>`. The syntax is
/// the `regex` crate's (Java's minus look-around and back-references).
pub(crate) fn regex_validator(non_empty: bool) -> Validator {
    Validator::custom(move |v| {
        let s = v.to_string();
        if non_empty && s.is_empty() {
            return Err("String must be non-empty".to_string());
        }
        Regex::new(&s)
            .map(|_| ())
            .map_err(|e| format!("Invalid regex: {}", regex_message(&e)))
    })
}

/// A regex that must match a whole string (Java's `Matcher.matches()`).
pub(crate) fn whole_match_regex(key: &str, pattern: &str) -> Result<Regex, ConfigErrors> {
    Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| {
        error(
            key,
            pattern,
            format!("Invalid regex: {}", regex_message(&e)),
        )
    })
}
