//! Log levels that can be changed at runtime (`/admin/loggers`): a root
//! level plus per-target levels, applied to the tracing filter by reloading
//! it.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use tracing_subscriber::EnvFilter;

type Apply = Box<dyn Fn(EnvFilter) -> Result<(), String> + Send + Sync>;

pub const ROOT: &str = "root";
const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"];

/// Why a level change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelError {
    /// Not a log4j level name (Kafka Connect answers 404).
    UnknownLevel(String),
    /// A logger name the filter cannot hold, or a filter that failed.
    Invalid(String),
}

/// A log4j level name as Kafka Connect accepts it (any case), as the
/// tracing level it maps to: `FATAL` is `ERROR`, `ALL` is `TRACE`.
fn tracing_level(level: &str) -> Option<&'static str> {
    match level.trim().to_ascii_uppercase().as_str() {
        "ALL" | "TRACE" => Some("TRACE"),
        "DEBUG" => Some("DEBUG"),
        "INFO" => Some("INFO"),
        "WARN" => Some("WARN"),
        "ERROR" | "FATAL" => Some("ERROR"),
        "OFF" => Some("OFF"),
        _ => None,
    }
}

/// The current levels and how to apply them.
pub struct LogLevels {
    levels: Mutex<BTreeMap<String, String>>,
    /// When each logger's level was last set over REST (ms since the
    /// epoch), for Kafka Connect's `last_modified`.
    modified: Mutex<BTreeMap<String, u64>>,
    apply: Option<Apply>,
}

impl std::fmt::Debug for LogLevels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLevels").finish_non_exhaustive()
    }
}

impl LogLevels {
    /// Levels from an `EnvFilter`-style spec (`info,librdkafka=warn`);
    /// `apply` installs a new filter (none in tests).
    pub fn new(spec: &str, apply: Option<Apply>) -> Self {
        let mut levels = BTreeMap::new();
        levels.insert(ROOT.to_string(), "INFO".to_string());
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((target, level)) => {
                    levels.insert(target.to_string(), level.to_ascii_uppercase())
                }
                None => levels.insert(ROOT.to_string(), part.to_ascii_uppercase()),
            };
        }
        Self {
            levels: Mutex::new(levels),
            modified: Mutex::new(BTreeMap::new()),
            apply,
        }
    }

    pub fn all(&self) -> BTreeMap<String, String> {
        self.levels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A logger's level; `root` in any case is the root logger.
    pub fn get(&self, logger: &str) -> Option<String> {
        self.levels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(canonical(logger))
            .cloned()
    }

    /// When the logger's level was last set over REST (ms since the epoch).
    pub fn last_modified(&self, logger: &str) -> Option<u64> {
        self.modified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(canonical(logger))
            .copied()
    }

    /// Checks a level change without applying it: the logger's canonical
    /// name and the tracing level, or why it would be refused.
    pub fn check<'a>(logger: &'a str, level: &str) -> Result<(&'a str, &'static str), LevelError> {
        let Some(level) = tracing_level(level) else {
            return Err(LevelError::UnknownLevel(format!(
                "invalid log level '{level}'."
            )));
        };
        debug_assert!(LEVELS.contains(&level));
        let logger = canonical(logger);
        if logger.is_empty() || logger.contains([',', '=', ' ']) {
            return Err(LevelError::Invalid(format!(
                "Invalid logger name '{logger}'"
            )));
        }
        Ok((logger, level))
    }

    /// Sets a logger's level and applies it; returns the loggers affected.
    pub fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, LevelError> {
        let (logger, level) = Self::check(logger, level)?;
        let level = level.to_string();
        let mut levels = self.levels.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = levels.clone();
        next.insert(logger.to_string(), level);
        let spec = spec_of(&next);
        if let Some(apply) = &self.apply {
            let filter = EnvFilter::try_new(&spec)
                .map_err(|e| LevelError::Invalid(format!("cannot apply '{spec}': {e}")))?;
            apply(filter).map_err(LevelError::Invalid)?;
        }
        *levels = next;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.modified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(logger.to_string(), now);
        Ok(vec![logger.to_string()])
    }
}

/// `ROOT`, `Root`: the root logger, as Kafka Connect matches it.
fn canonical(logger: &str) -> &str {
    if logger.eq_ignore_ascii_case(ROOT) {
        ROOT
    } else {
        logger
    }
}

fn spec_of(levels: &BTreeMap<String, String>) -> String {
    let mut parts = vec![
        levels
            .get(ROOT)
            .cloned()
            .unwrap_or_else(|| "INFO".into())
            .to_ascii_lowercase(),
    ];
    for (k, v) in levels {
        if k != ROOT {
            parts.push(format!("{k}={}", v.to_ascii_lowercase()));
        }
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn set_builds_the_filter_spec() {
        let seen = Arc::new(Mutex::new(String::new()));
        let s2 = seen.clone();
        let l = LogLevels::new(
            "info,librdkafka=warn",
            Some(Box::new(move |f: EnvFilter| {
                *s2.lock().unwrap() = f.to_string();
                Ok(())
            })),
        );
        assert_eq!(l.get("librdkafka").as_deref(), Some("WARN"));
        assert_eq!(
            l.set("sluice_runtime::source", "debug").unwrap(),
            vec!["sluice_runtime::source"]
        );
        let spec = seen.lock().unwrap().clone();
        assert!(
            spec.contains("sluice_runtime::source=debug") && spec.contains("librdkafka=warn"),
            "{spec}"
        );
        assert_eq!(
            l.set("x", "loud"),
            Err(LevelError::UnknownLevel("invalid log level 'loud'.".into()))
        );
        assert_eq!(l.get("x"), None);
        // log4j's names: FATAL is ERROR, ALL is TRACE; root in any case.
        assert_eq!(l.last_modified("ROOT"), None);
        assert_eq!(l.set("ROOT", "fatal").unwrap(), vec!["root"]);
        assert_eq!(l.get("Root").as_deref(), Some("ERROR"));
        assert!(l.last_modified("root").is_some());
        l.set("y", "All").unwrap();
        assert_eq!(l.get("y").as_deref(), Some("TRACE"));
    }
}
