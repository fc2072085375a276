use std::fmt;

/// Kafka Connect's `ConfigDef.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// The upper-case name Kafka Connect reports (`STRING`, `INT`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Boolean => "BOOLEAN",
            Self::String => "STRING",
            Self::Int => "INT",
            Self::Short => "SHORT",
            Self::Long => "LONG",
            Self::Double => "DOUBLE",
            Self::List => "LIST",
            Self::Class => "CLASS",
            Self::Password => "PASSWORD",
        }
    }

    /// Parses a raw string as this type, with Kafka Connect's error texts.
    pub fn parse(self, raw: &str) -> Result<ConfigValue, String> {
        let trimmed = raw.trim();
        let number_err = || format!("Not a number of type {}", self.name());
        Ok(match self {
            Self::Boolean => {
                if trimmed.eq_ignore_ascii_case("true") {
                    ConfigValue::Boolean(true)
                } else if trimmed.eq_ignore_ascii_case("false") {
                    ConfigValue::Boolean(false)
                } else {
                    return Err("Expected value to be either true or false".to_string());
                }
            }
            Self::String => ConfigValue::String(trimmed.to_string()),
            Self::Int => ConfigValue::Int(trimmed.parse().map_err(|_| number_err())?),
            Self::Short => ConfigValue::Short(trimmed.parse().map_err(|_| number_err())?),
            Self::Long => ConfigValue::Long(trimmed.parse().map_err(|_| number_err())?),
            Self::Double => ConfigValue::Double(trimmed.parse().map_err(|_| number_err())?),
            Self::List => ConfigValue::List(if trimmed.is_empty() {
                Vec::new()
            } else {
                trimmed.split(',').map(|s| s.trim().to_string()).collect()
            }),
            Self::Class => ConfigValue::Class(trimmed.to_string()),
            Self::Password => ConfigValue::Password(Password(raw.to_string())),
        })
    }
}

impl fmt::Display for ConfigType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Kafka Connect's `ConfigDef.Importance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    pub fn name(self) -> &'static str {
        match self {
            Self::High => "HIGH",
            Self::Medium => "MEDIUM",
            Self::Low => "LOW",
        }
    }
}

/// A secret. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl Password {
    /// The secret itself; only call this where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

/// A parsed configuration value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// Not set: an optional key's empty value ([`crate::config::ConfigKey::nullable`]).
    Null,
    Boolean(bool),
    String(String),
    Int(i32),
    Short(i16),
    Long(i64),
    Double(f64),
    List(Vec<String>),
    Class(String),
    Password(Password),
}

impl ConfigValue {
    /// The value as a number, for range validators.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(v) => Some(f64::from(*v)),
            Self::Short(v) => Some(f64::from(*v)),
            // Precision loss above 2^53 only matters for ranges that large.
            #[allow(clippy::cast_precision_loss)]
            Self::Long(v) => Some(*v as f64),
            Self::Double(v) => Some(*v),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => Ok(()),
            Self::Boolean(v) => write!(f, "{v}"),
            Self::String(v) | Self::Class(v) => f.write_str(v),
            Self::Int(v) => write!(f, "{v}"),
            Self::Short(v) => write!(f, "{v}"),
            Self::Long(v) => write!(f, "{v}"),
            Self::Double(v) => write!(f, "{v}"),
            Self::List(v) => f.write_str(&v.join(",")),
            Self::Password(p) => write!(f, "{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_kafka() {
        assert_eq!(
            ConfigType::Boolean.parse(" TRUE "),
            Ok(ConfigValue::Boolean(true))
        );
        assert_eq!(
            ConfigType::Boolean.parse("maybe"),
            Err("Expected value to be either true or false".to_string())
        );
        assert_eq!(ConfigType::Int.parse("12"), Ok(ConfigValue::Int(12)));
        assert_eq!(
            ConfigType::Int.parse("twelve"),
            Err("Not a number of type INT".to_string())
        );
        assert_eq!(
            ConfigType::List.parse("a, b ,c"),
            Ok(ConfigValue::List(vec!["a".into(), "b".into(), "c".into()]))
        );
        assert_eq!(ConfigType::List.parse(""), Ok(ConfigValue::List(vec![])));
        assert_eq!(format!("{:?}", Password("s3cret".into())), "[hidden]");
    }
}
