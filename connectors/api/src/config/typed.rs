//! Typed connector configs: a connector declares its configuration once, as
//! a struct plus a [`TypedDef`] that binds each key to a field. That one
//! definition gives parsing into the struct (every bad key reported at
//! once, then cross-key checks), the [`ConfigDef`] behind
//! `/connector-plugins/{p}/config` and `/config/validate`, and Markdown
//! reference docs.
//!
//! ```
//! use std::time::Duration;
//! use sluice_connect_api::config::{ConfigEnum, ConfigKey, ConnectorConfig, Importance, TypedDef};
//!
//! #[derive(Debug, Clone, Copy, Default, PartialEq)]
//! enum Mode { #[default] Bulk, Incrementing }
//! impl ConfigEnum for Mode {
//!     fn variants() -> &'static [(&'static str, Self)] {
//!         &[("bulk", Mode::Bulk), ("incrementing", Mode::Incrementing)]
//!     }
//! }
//!
//! #[derive(Debug, Default)]
//! struct MyConfig { topic: String, mode: Mode, poll: Duration, column: Option<String> }
//!
//! impl ConnectorConfig for MyConfig {
//!     fn definition() -> TypedDef<Self> {
//!         TypedDef::<Self>::new()
//!             .field(ConfigKey::named("topic").importance(Importance::High).doc("Topic to write to"),
//!                    |c, v| c.topic = v)
//!             .field(ConfigKey::named("mode").default_value("bulk").doc("How rows are found"),
//!                    |c, v| c.mode = v)
//!             .field(ConfigKey::named("poll.interval.ms").default_value("5000").doc("Between polls"),
//!                    |c, v| c.poll = v)
//!             .field(ConfigKey::named("incrementing.column.name").doc("Column to follow"),
//!                    |c, v| c.column = v)
//!             .check(|c| match (c.mode, &c.column) {
//!                 (Mode::Incrementing, None) => vec![("incrementing.column.name", "required in incrementing mode")],
//!                 _ => vec![],
//!             })
//!     }
//! }
//!
//! let mut props = std::collections::BTreeMap::new();
//! props.insert("topic".to_string(), "t".to_string());
//! props.insert("mode".to_string(), "INCREMENTING".to_string());
//! let err = MyConfig::parse(&props).unwrap_err();
//! assert_eq!(err.keys(), vec!["incrementing.column.name"]);
//! props.insert("incrementing.column.name".to_string(), "id".to_string());
//! let c = MyConfig::parse(&props).unwrap();
//! assert_eq!((c.mode, c.poll), (Mode::Incrementing, Duration::from_secs(5)));
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::def::{ConfigDef, ConfigKey, ConfigValueReport};
use super::errors::{ConfigErrors, ConfigIssue};
use super::types::{ConfigType, ConfigValue, Password};
use super::validator::Validator;

/// A Rust type a config key can be parsed into.
pub trait ConfigField: Sized {
    /// Kafka Connect's type of the key.
    const TYPE: ConfigType;

    /// The field from a parsed, non-null value.
    fn from_value(value: ConfigValue) -> Result<Self, String>;

    /// The field when the key is unset and has no default (`None` for every
    /// type but `Option`, whose keys are optional).
    fn from_null() -> Option<Self> {
        None
    }

    /// Adjusts the key for this type: validators, recommended values,
    /// optionality.
    fn shape(key: ConfigKey) -> ConfigKey {
        key
    }
}

/// A config enum: its values as users write them (matched without regard
/// to case), shown as the key's recommended values.
pub trait ConfigEnum: Sized + Copy + 'static {
    fn variants() -> &'static [(&'static str, Self)];
}

fn mismatch(v: &ConfigValue, want: ConfigType) -> String {
    format!("expected a value of type {}, got {v:?}", want.name())
}

macro_rules! field {
    ($ty:ty, $variant:ident, $ctype:ident) => {
        impl ConfigField for $ty {
            const TYPE: ConfigType = ConfigType::$ctype;
            fn from_value(value: ConfigValue) -> Result<Self, String> {
                match value {
                    ConfigValue::$variant(v) => Ok(v),
                    other => Err(mismatch(&other, Self::TYPE)),
                }
            }
        }
    };
}

field!(bool, Boolean, Boolean);
field!(i16, Short, Short);
field!(i32, Int, Int);
field!(i64, Long, Long);
field!(f64, Double, Double);
field!(Vec<String>, List, List);
field!(Password, Password, Password);

impl ConfigField for String {
    const TYPE: ConfigType = ConfigType::String;
    fn from_value(value: ConfigValue) -> Result<Self, String> {
        match value {
            ConfigValue::String(v) | ConfigValue::Class(v) => Ok(v),
            other => Ok(other.to_string()),
        }
    }
}

impl ConfigField for PathBuf {
    const TYPE: ConfigType = ConfigType::String;
    fn from_value(value: ConfigValue) -> Result<Self, String> {
        String::from_value(value).map(PathBuf::from)
    }
}

macro_rules! unsigned {
    ($ty:ty, $ctype:ident) => {
        impl ConfigField for $ty {
            const TYPE: ConfigType = ConfigType::$ctype;
            fn from_value(value: ConfigValue) -> Result<Self, String> {
                let n: i64 = match value {
                    ConfigValue::Int(v) => i64::from(v),
                    ConfigValue::Long(v) => v,
                    ConfigValue::Short(v) => i64::from(v),
                    other => return Err(mismatch(&other, Self::TYPE)),
                };
                <$ty>::try_from(n)
                    .map_err(|_| format!("Value must be between 0 and {}", <$ty>::MAX))
            }
            fn shape(key: ConfigKey) -> ConfigKey {
                if key.validator.is_some() {
                    return key;
                }
                // Shown by /config/validate too, not only when parsing.
                #[allow(clippy::cast_precision_loss)]
                let max = <$ty>::MAX as f64;
                key.validator(Validator::between(0.0, max))
            }
        }
    };
}

unsigned!(u16, Int);
unsigned!(u32, Int);
unsigned!(u64, Long);
unsigned!(usize, Long);

/// Milliseconds (keys named `*.ms`, Kafka's convention).
impl ConfigField for Duration {
    const TYPE: ConfigType = ConfigType::Long;
    fn from_value(value: ConfigValue) -> Result<Self, String> {
        u64::from_value(value).map(Duration::from_millis)
    }
}

/// An optional key: unset (or empty) is `None`.
impl<V: ConfigField> ConfigField for Option<V> {
    const TYPE: ConfigType = V::TYPE;
    fn from_value(value: ConfigValue) -> Result<Self, String> {
        V::from_value(value).map(Some)
    }
    fn from_null() -> Option<Self> {
        Some(None)
    }
    fn shape(key: ConfigKey) -> ConfigKey {
        let mut key = V::shape(key);
        key.nullable = true;
        if key.default.is_none() {
            key.default = Some(String::new());
        }
        key
    }
}

impl<E: ConfigEnum> ConfigField for E {
    const TYPE: ConfigType = ConfigType::String;
    fn from_value(value: ConfigValue) -> Result<Self, String> {
        let text = value.to_string();
        E::variants()
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("String must be one of: {}", names::<E>().join(", ")))
    }
    fn shape(key: ConfigKey) -> ConfigKey {
        let names = names::<E>();
        let allowed = names.clone();
        key.recommended(&names)
            .validator(Validator::custom(move |v| {
                let text = v.to_string();
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(text.trim())) {
                    Ok(())
                } else {
                    Err(format!("String must be one of: {}", allowed.join(", ")))
                }
            }))
    }
}

fn names<E: ConfigEnum>() -> Vec<&'static str> {
    E::variants().iter().map(|(n, _)| *n).collect()
}

type Setter<T> = Arc<dyn Fn(&mut T, ConfigValue) -> Result<(), String> + Send + Sync>;
type Check<T> = Arc<dyn Fn(&T) -> Vec<ConfigIssue> + Send + Sync>;

/// Keys bound to the fields of `T`; see the module docs.
pub struct TypedDef<T> {
    def: ConfigDef,
    setters: Vec<(String, Setter<T>)>,
    checks: Vec<Check<T>>,
}

impl<T> std::fmt::Debug for TypedDef<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedDef")
            .field("def", &self.def)
            .finish_non_exhaustive()
    }
}

impl<T: Default + 'static> Default for TypedDef<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default + 'static> TypedDef<T> {
    pub fn new() -> Self {
        Self {
            def: ConfigDef::new(),
            setters: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Binds `key` to a field: `set` stores the parsed value. The key's
    /// type, and for enums and options its validator and default, come
    /// from the field's type.
    pub fn field<V: ConfigField + 'static>(
        mut self,
        key: ConfigKey,
        set: impl Fn(&mut T, V) + Send + Sync + 'static,
    ) -> Self {
        let mut key = V::shape(key);
        key.config_type = V::TYPE;
        let name = key.name.clone();
        self.def = self.def.key(key);
        let setter: Setter<T> = Arc::new(move |target: &mut T, value: ConfigValue| {
            let v = match value {
                ConfigValue::Null => {
                    V::from_null().ok_or_else(|| "a value is required".to_string())?
                }
                other => V::from_value(other)?,
            };
            set(target, v);
            Ok(())
        });
        self.setters.retain(|(n, _)| *n != name);
        self.setters.push((name, setter));
        self
    }

    /// A check across keys, run after every key parsed: the keys it names
    /// and why each is wrong.
    pub fn check(
        self,
        f: impl Fn(&T) -> Vec<(&'static str, &'static str)> + Send + Sync + 'static,
    ) -> Self {
        self.check_with(move |t: &T| f(t).into_iter().map(|(k, m)| (k, m.to_string())).collect())
    }

    /// Like [`TypedDef::check`], with messages built at run time.
    pub fn check_with(
        self,
        f: impl Fn(&T) -> Vec<(&'static str, String)> + Send + Sync + 'static,
    ) -> Self {
        self.check_issues(move |t: &T| {
            f(t).into_iter()
                .map(|(key, why)| ConfigIssue {
                    key: key.to_string(),
                    message: format!("Invalid configuration {key}: {why}"),
                })
                .collect()
        })
    }

    /// Like [`TypedDef::check_with`], with each message used as given, not
    /// prefixed: for plugins that keep another system's exact wording
    /// (Kafka Connect's transforms).
    pub fn check_issues(
        mut self,
        f: impl Fn(&T) -> Vec<ConfigIssue> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Arc::new(f));
        self
    }

    /// The keys, for the REST API and docs.
    pub fn config_def(&self) -> &ConfigDef {
        &self.def
    }

    /// The struct, or every problem: bad keys first, then failed checks.
    pub fn parse(&self, props: &BTreeMap<String, String>) -> Result<T, ConfigErrors> {
        let mut out = T::default();
        let mut issues = Vec::new();
        for key in self.def.keys() {
            let name = &key.name;
            let value = match key.resolve(props.get(name).map(String::as_str)) {
                Ok(v) => v,
                Err(message) => {
                    issues.push(ConfigIssue {
                        key: name.clone(),
                        message,
                    });
                    continue;
                }
            };
            let Some((_, set)) = self.setters.iter().find(|(n, _)| n == name) else {
                continue;
            };
            let shown = if key.config_type == ConfigType::Password {
                "[hidden]".to_string()
            } else {
                value.to_string()
            };
            if let Err(why) = set(&mut out, value) {
                issues.push(ConfigIssue {
                    key: name.clone(),
                    message: format!("Invalid value {shown} for configuration {name}: {why}"),
                });
            }
        }
        if issues.is_empty() {
            for check in &self.checks {
                issues.extend(check(&out));
            }
        }
        if issues.is_empty() {
            Ok(out)
        } else {
            Err(ConfigErrors { issues })
        }
    }

    /// One report per key (Kafka Connect's `/config/validate`), with the
    /// cross-key checks' errors on the keys they name.
    pub fn validate(&self, props: &BTreeMap<String, String>) -> Vec<ConfigValueReport> {
        let mut reports = self.def.validate(props);
        if let Err(e) = self.parse(props) {
            for issue in e.issues {
                if let Some(r) = reports.iter_mut().find(|r| r.name == issue.key)
                    && !r.errors.contains(&issue.message)
                    && r.errors.is_empty()
                {
                    r.errors.push(issue.message);
                }
            }
        }
        reports
    }
}

/// A connector's (or task's) configuration as a typed struct.
pub trait ConnectorConfig: Default + Sized + 'static {
    /// The keys, each bound to a field.
    fn definition() -> TypedDef<Self>;

    /// Parses a config map (every bad key at once).
    fn parse(props: &BTreeMap<String, String>) -> Result<Self, ConfigErrors> {
        Self::definition().parse(props)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Importance;

    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    enum Policy {
        #[default]
        Ignore,
        Fail,
    }

    impl ConfigEnum for Policy {
        fn variants() -> &'static [(&'static str, Self)] {
            &[("ignore", Policy::Ignore), ("fail", Policy::Fail)]
        }
    }

    #[derive(Debug, Default)]
    struct Settings {
        url: String,
        retries: u32,
        timeout: Duration,
        policy: Policy,
        password: Option<Password>,
        topics: Vec<String>,
        limit: Option<i64>,
        file: Option<PathBuf>,
    }

    impl ConnectorConfig for Settings {
        fn definition() -> TypedDef<Self> {
            TypedDef::<Self>::new()
                .field(
                    ConfigKey::named("url")
                        .importance(Importance::High)
                        .doc("Where to connect")
                        .group("Connection", 1),
                    |s, v| s.url = v,
                )
                .field(
                    ConfigKey::named("max.retries").default_value("3"),
                    |s, v| s.retries = v,
                )
                .field(
                    ConfigKey::named("request.timeout.ms").default_value("30000"),
                    |s, v| s.timeout = v,
                )
                .field(
                    ConfigKey::named("behavior.on.error").default_value("fail"),
                    |s, v| s.policy = v,
                )
                .field(ConfigKey::named("connection.password"), |s, v| {
                    s.password = v
                })
                .field(ConfigKey::named("topics").default_value(""), |s, v| {
                    s.topics = v
                })
                .field(ConfigKey::named("limit"), |s, v| s.limit = v)
                .field(ConfigKey::named("file"), |s, v| s.file = v)
                .check(|s| {
                    if s.policy == Policy::Ignore && s.retries > 0 {
                        vec![("max.retries", "must be 0 when errors are ignored")]
                    } else {
                        vec![]
                    }
                })
        }
    }

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn parses_into_the_struct_with_defaults() {
        let s = Settings::parse(&props(&[
            ("url", "http://x"),
            ("behavior.on.error", "FAIL"),
            ("connection.password", "hunter2"),
            ("topics", "a, b"),
            ("limit", "7"),
        ]))
        .unwrap();
        assert_eq!(s.url, "http://x");
        assert_eq!(s.retries, 3);
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.policy, Policy::Fail);
        assert_eq!(s.password.map(|p| p.0), Some("hunter2".to_string()));
        assert_eq!(s.topics, vec!["a", "b"]);
        assert_eq!(s.limit, Some(7));
        assert_eq!(s.file, None);
    }

    #[test]
    fn every_bad_key_at_once_then_cross_key_checks() {
        let e = Settings::parse(&props(&[
            ("max.retries", "-1"),
            ("request.timeout.ms", "soon"),
            ("behavior.on.error", "explode"),
            ("limit", "many"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.keys(),
            vec![
                "url",
                "max.retries",
                "request.timeout.ms",
                "behavior.on.error",
                "limit"
            ],
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("String must be one of: ignore, fail"),
            "{e}"
        );
        assert!(e.to_string().contains("max.retries: Value must be"), "{e}");
        let e =
            Settings::parse(&props(&[("url", "u"), ("behavior.on.error", "ignore")])).unwrap_err();
        assert_eq!(e.keys(), vec!["max.retries"]);
        assert!(e.to_string().contains("must be 0 when errors are ignored"));
    }

    #[derive(Debug, Default)]
    struct Pair {
        from: String,
        to: String,
    }

    impl ConnectorConfig for Pair {
        fn definition() -> TypedDef<Self> {
            TypedDef::<Self>::new()
                .field(ConfigKey::named("from").default_value(""), |p, v| {
                    p.from = v
                })
                .field(ConfigKey::named("to").default_value(""), |p, v| p.to = v)
                .check_issues(|p| {
                    if p.from.is_empty() && p.to.is_empty() {
                        vec![ConfigIssue {
                            key: "from".to_string(),
                            message: "Neither from nor to configured".to_string(),
                        }]
                    } else {
                        vec![]
                    }
                })
                .check(|p| {
                    if p.from == p.to {
                        vec![("to", "must differ from from")]
                    } else {
                        vec![]
                    }
                })
        }
    }

    #[test]
    fn checks_with_messages_as_given_run_in_order_with_the_others() {
        let e = Pair::parse(&props(&[])).unwrap_err();
        assert_eq!(e.keys(), vec!["from", "to"]);
        assert_eq!(e.issues[0].message, "Neither from nor to configured");
        assert_eq!(
            e.issues[1].message,
            "Invalid configuration to: must differ from from"
        );
        let p = Pair::parse(&props(&[("from", "a")])).unwrap();
        assert_eq!((p.from.as_str(), p.to.as_str()), ("a", ""));
    }

    #[test]
    fn the_definition_serves_the_rest_api() {
        let d = Settings::definition();
        let def = d.config_def();
        let key = |n: &str| def.get(n).cloned().unwrap();
        assert_eq!(key("max.retries").config_type, ConfigType::Int);
        assert_eq!(key("request.timeout.ms").config_type, ConfigType::Long);
        assert_eq!(key("connection.password").config_type, ConfigType::Password);
        assert_eq!(
            key("behavior.on.error").recommended_values,
            vec!["ignore", "fail"]
        );
        assert_eq!(key("url").group.as_deref(), Some("Connection"));
        assert_eq!(key("url").default, None, "required");
        assert_eq!(key("limit").default.as_deref(), Some(""), "optional");
        let reports = d.validate(&props(&[("url", "u"), ("behavior.on.error", "ignore")]));
        let retries = reports.iter().find(|r| r.name == "max.retries").unwrap();
        assert_eq!(retries.errors.len(), 1, "{reports:?}");
        let pw = reports
            .iter()
            .find(|r| r.name == "connection.password")
            .unwrap();
        assert!(pw.errors.is_empty(), "{reports:?}");
        let md = def.to_markdown();
        assert!(
            md.contains("| `behavior.on.error` | STRING | `fail` |"),
            "{md}"
        );
    }
}
