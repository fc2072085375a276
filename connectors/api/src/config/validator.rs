use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::types::ConfigValue;

type CustomCheck = dyn Fn(&ConfigValue) -> Result<(), String> + Send + Sync;

/// Checks a parsed value, as Kafka Connect's `ConfigDef.Validator`s. The
/// error text is the part after "Invalid value X for configuration K: ".
#[derive(Clone)]
pub enum Validator {
    /// Inclusive numeric bounds (`Range.atLeast`, `Range.between`).
    Range { min: Option<f64>, max: Option<f64> },
    /// One of these strings, compared case-insensitively (`ValidString`,
    /// `CaseInsensitiveValidString`).
    OneOf(Vec<String>),
    /// A string that is not empty after trimming.
    NonEmptyString,
    /// A string that compiles as a regular expression.
    Regex,
    /// Anything else.
    Custom(Arc<CustomCheck>),
}

impl Validator {
    pub fn at_least(min: f64) -> Self {
        Self::Range {
            min: Some(min),
            max: None,
        }
    }

    pub fn between(min: f64, max: f64) -> Self {
        Self::Range {
            min: Some(min),
            max: Some(max),
        }
    }

    pub fn one_of(values: &[&str]) -> Self {
        Self::OneOf(values.iter().map(|s| (*s).to_string()).collect())
    }

    pub fn custom(f: impl Fn(&ConfigValue) -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(f))
    }

    pub fn check(&self, value: &ConfigValue) -> Result<(), String> {
        match self {
            Self::Range { min, max } => {
                let Some(v) = value.as_f64() else {
                    return Ok(());
                };
                match (min, max) {
                    (Some(lo), Some(hi)) if v < *lo || v > *hi => Err(format!(
                        "Value must be no less than {} and no more than {}",
                        fmt_num(*lo),
                        fmt_num(*hi)
                    )),
                    (Some(lo), None) if v < *lo => {
                        Err(format!("Value must be at least {}", fmt_num(*lo)))
                    }
                    (None, Some(hi)) if v > *hi => {
                        Err(format!("Value must be no more than {}", fmt_num(*hi)))
                    }
                    _ => Ok(()),
                }
            }
            Self::OneOf(allowed) => {
                let s = value.to_string();
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(&s)) {
                    Ok(())
                } else {
                    Err(format!("String must be one of: {}", allowed.join(", ")))
                }
            }
            Self::NonEmptyString => {
                if value.to_string().trim().is_empty() {
                    Err("String must be non-empty".to_string())
                } else {
                    Ok(())
                }
            }
            Self::Regex => match value {
                ConfigValue::String(s) => Regex::new(s)
                    .map(|_| ())
                    .map_err(|e| format!("not a valid regular expression: {e}")),
                _ => Ok(()),
            },
            Self::Custom(f) => f(value),
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Range { min, max } => write!(f, "Range({min:?}, {max:?})"),
            Self::OneOf(v) => write!(f, "OneOf({v:?})"),
            Self::NonEmptyString => f.write_str("NonEmptyString"),
            Self::Regex => f.write_str("Regex"),
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}
