//! Config keys and validators shared by transforms, with Kafka Connect's
//! names, defaults and messages.

use regex::Regex;
use sluice_connect_api::config::{
    ConfigErrors, ConfigIssue, ConfigKey, ConfigType, ConfigValue, Importance, Validator,
};

/// `replace.null.with.default` (BOOLEAN, default true), for a `bool` field.
pub(crate) fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::new("replace.null.with.default", ConfigType::Boolean)
        .default_value("true")
        .importance(Importance::Medium)
        .doc(
            "Whether to replace fields that have a default value and that are null to the \
             default value. When set to true, the default value is used, otherwise null is used.",
        )
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

/// Kafka Connect's `NonEmptyListValidator`.
pub(crate) fn non_empty_list() -> Validator {
    Validator::custom(|v| match v {
        ConfigValue::List(items) if items.is_empty() => Err("Empty list".to_string()),
        _ => Ok(()),
    })
}

/// Kafka Connect's `ValidString.in(..)`: case-sensitive.
pub(crate) fn valid_string(allowed: Vec<&'static str>) -> Validator {
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
pub(crate) fn case_insensitive_valid_string(allowed: Vec<&'static str>) -> Validator {
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
pub(crate) fn whole_match_regex(key: &str, pattern: &str) -> Result<Regex, ConfigIssue> {
    Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| {
        issue(
            key,
            pattern,
            format!("Invalid regex: {}", regex_message(&e)),
        )
    })
}

/// An issue whose text is only Kafka Connect's message (its
/// `ConfigException(message)` without a key), filed under `key`.
pub(crate) fn plain_issue(key: &str, message: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        key: key.to_string(),
        message: message.into(),
    }
}

/// The issue of a failed derivation, for a typed config's cross-key check
/// (`TypedDef::check_issues`).
pub(crate) fn issues_of<T>(result: Result<T, ConfigIssue>) -> Vec<ConfigIssue> {
    result.err().into_iter().collect()
}

/// One issue as [`ConfigErrors`].
pub(crate) fn errors(issue: ConfigIssue) -> ConfigErrors {
    ConfigErrors {
        issues: vec![issue],
    }
}
