//! Log levels that can be changed at runtime (`/admin/loggers`): a root
//! level plus per-target levels, applied to the tracing filter by reloading
//! it.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use tracing_subscriber::EnvFilter;

type Apply = Box<dyn Fn(EnvFilter) -> Result<(), String> + Send + Sync>;

pub const ROOT: &str = "root";
const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"];

/// The current levels and how to apply them.
pub struct LogLevels {
    levels: Mutex<BTreeMap<String, String>>,
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
            apply,
        }
    }

    pub fn all(&self) -> BTreeMap<String, String> {
        self.levels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn get(&self, logger: &str) -> Option<String> {
        self.levels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(logger)
            .cloned()
    }

    /// Sets a logger's level and applies it; returns the loggers affected.
    pub fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, String> {
        let level = level.trim().to_ascii_uppercase();
        if !LEVELS.contains(&level.as_str()) {
            return Err(format!(
                "Invalid log level '{level}'; expected one of {}",
                LEVELS.join(", ")
            ));
        }
        if logger.is_empty() || logger.contains([',', '=', ' ']) {
            return Err(format!("Invalid logger name '{logger}'"));
        }
        let mut levels = self.levels.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = levels.clone();
        next.insert(logger.to_string(), level);
        let spec = spec_of(&next);
        if let Some(apply) = &self.apply {
            let filter =
                EnvFilter::try_new(&spec).map_err(|e| format!("cannot apply '{spec}': {e}"))?;
            apply(filter)?;
        }
        *levels = next;
        Ok(vec![logger.to_string()])
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
        assert!(l.set("x", "LOUD").is_err());
        assert_eq!(l.get("x"), None);
    }
}
