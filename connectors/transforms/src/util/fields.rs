//! Field types for the transforms' typed configs ([`ConfigField`]s) that
//! keep Kafka Connect's key definitions: string keys with a fixed set of
//! values and Kafka Connect's validator, and keys whose empty value means
//! "not set" without making the key nullable.

use sluice_connect_api::config::{
    ConfigDef, ConfigField, ConfigKey, ConfigType, ConfigValue, ConnectorConfig, TypedDef,
    Validator,
};

use super::config::{case_insensitive_valid_string, valid_string};

/// The keys of a typed config, for `config_def()`.
pub(crate) fn def_of<C: ConnectorConfig>() -> ConfigDef {
    C::definition().config_def().clone()
}

/// A string key's value when it is not empty: Kafka Connect's keys with a
/// `null` default, which Sluice defines with an empty default. Unlike
/// `Option<T>`, the key stays non-nullable, so the REST API shows the same
/// default as before. Only for a `T` of type STRING: an empty value of
/// another type fails to parse before it gets here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrEmpty<T>(pub(crate) Option<T>);

impl<T> Default for OrEmpty<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T: ConfigField> ConfigField for OrEmpty<T> {
    const TYPE: ConfigType = T::TYPE;

    fn from_value(value: ConfigValue) -> Result<Self, String> {
        if value.to_string().trim().is_empty() {
            return Ok(Self(None));
        }
        T::from_value(value).map(|v| Self(Some(v)))
    }

    fn shape(key: ConfigKey) -> ConfigKey {
        T::shape(key)
    }
}

/// A string key with a fixed set of values, as Kafka Connect's
/// `ValidString` (case-sensitive) or `CaseInsensitiveValidString`. Unlike
/// [`sluice_connect_api::config::ConfigEnum`], the key gets Kafka Connect's
/// validator and message and no recommended values. Implement
/// [`ConfigField`] with [`choice_field!`].
pub(crate) trait Choice: Copy + 'static {
    /// The values as written in configs, in Kafka Connect's order.
    const VALUES: &'static [(&'static str, Self)];
    /// Whether values match regardless of case.
    const CASE_INSENSITIVE: bool = false;

    fn names() -> Vec<&'static str> {
        Self::VALUES.iter().map(|(n, _)| *n).collect()
    }

    /// The validator Kafka Connect defines the key with.
    fn validator() -> Validator {
        if Self::CASE_INSENSITIVE {
            case_insensitive_valid_string(Self::names())
        } else {
            valid_string(Self::names())
        }
    }

    /// The value a (validated) string names.
    fn from_config(value: &ConfigValue) -> Result<Self, String> {
        let text = value.to_string();
        Self::VALUES
            .iter()
            .find(|(n, _)| {
                if Self::CASE_INSENSITIVE {
                    n.eq_ignore_ascii_case(&text)
                } else {
                    *n == text
                }
            })
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("String must be one of: {}", Self::names().join(", ")))
    }
}

/// `impl ConfigField` for a [`Choice`]: a STRING key with the choice's
/// validator.
macro_rules! choice_field {
    ($ty:ty) => {
        impl sluice_connect_api::config::ConfigField for $ty {
            const TYPE: sluice_connect_api::config::ConfigType =
                sluice_connect_api::config::ConfigType::String;

            fn from_value(value: sluice_connect_api::config::ConfigValue) -> Result<Self, String> {
                <$ty as $crate::util::fields::Choice>::from_config(&value)
            }

            fn shape(
                key: sluice_connect_api::config::ConfigKey,
            ) -> sluice_connect_api::config::ConfigKey {
                key.validator(<$ty as $crate::util::fields::Choice>::validator())
            }
        }
    };
}

pub(crate) use choice_field;

/// The config of a plugin without keys (`Filter`, `RecordIsTombstone`):
/// any map parses.
#[derive(Debug, Default)]
pub(crate) struct NoConfig;

impl ConnectorConfig for NoConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::new()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sluice_connect_api::config::Importance;

    use super::*;

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    enum Mode {
        #[default]
        Fast,
        Safe,
    }

    impl Choice for Mode {
        const VALUES: &'static [(&'static str, Self)] =
            &[("fast", Self::Fast), ("Safe", Self::Safe)];
    }

    choice_field!(Mode);

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    enum Level {
        #[default]
        One,
        Two,
    }

    impl Choice for Level {
        const VALUES: &'static [(&'static str, Self)] = &[("V1", Self::One), ("V2", Self::Two)];
        const CASE_INSENSITIVE: bool = true;
    }

    choice_field!(Level);

    #[derive(Debug, Default)]
    struct Sample {
        mode: Mode,
        level: Level,
        name: OrEmpty<String>,
        path: OrEmpty<std::path::PathBuf>,
    }

    impl ConnectorConfig for Sample {
        fn definition() -> TypedDef<Self> {
            TypedDef::<Self>::new()
                .field(ConfigKey::named("mode").default_value("fast"), |c, v| {
                    c.mode = v;
                })
                .field(ConfigKey::named("level").default_value("V1"), |c, v| {
                    c.level = v;
                })
                .field(
                    ConfigKey::named("name")
                        .default_value("")
                        .importance(Importance::Low),
                    |c, v| c.name = v,
                )
                .field(ConfigKey::named("path").default_value(""), |c, v| {
                    c.path = v;
                })
        }
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Sample, String> {
        let props: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        Sample::parse(&props).map_err(|e| e.issues[0].message.clone())
    }

    #[test]
    fn choices_match_as_kafka_connect_validates() {
        let s = parse(&[("mode", " Safe "), ("level", "v2")]).expect("valid");
        assert_eq!((s.mode, s.level), (Mode::Safe, Level::Two));
        assert_eq!(
            parse(&[("mode", "safe")]).expect_err("case matters"),
            "Invalid value safe for configuration mode: String must be one of: fast, Safe"
        );
        assert_eq!(
            parse(&[("level", "v3")]).expect_err("unknown"),
            "Invalid value v3 for configuration level: String must be one of (case \
             insensitive): V1, V2"
        );
        let def = def_of::<Sample>();
        let mode = def.get("mode").expect("defined");
        assert_eq!(mode.config_type, ConfigType::String);
        assert!(mode.recommended_values.is_empty());
        assert!(mode.validator.is_some());
    }

    #[test]
    fn or_empty_is_unset_when_empty_and_the_key_stays_non_nullable() {
        let s = parse(&[("name", "  ")]).expect("valid");
        assert_eq!((s.name, s.path), (OrEmpty(None), OrEmpty(None)));
        let s = parse(&[("name", " n "), ("path", "/tmp")]).expect("valid");
        assert_eq!(s.name, OrEmpty(Some("n".into())));
        assert_eq!(s.path, OrEmpty(Some("/tmp".into())));
        let def = def_of::<Sample>();
        let name = def.get("name").expect("defined");
        assert_eq!(name.config_type, ConfigType::String);
        assert!(!name.nullable);
        assert_eq!(name.default.as_deref(), Some(""));
    }

    #[test]
    fn no_config_has_no_keys_and_takes_anything() {
        assert!(def_of::<NoConfig>().keys().is_empty());
        let props = BTreeMap::from([("type".to_string(), "x".to_string())]);
        assert!(NoConfig::parse(&props).is_ok());
    }
}
