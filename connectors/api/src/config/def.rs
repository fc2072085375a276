use std::collections::BTreeMap;

use super::errors::{ConfigErrors, ConfigIssue};
use super::parsed::ParsedConfig;
use super::types::{ConfigType, ConfigValue, Importance};
use super::validator::Validator;

/// One configuration key: its type, default, docs and validator.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    pub name: String,
    pub config_type: ConfigType,
    /// Raw default, parsed like user input. `None`: the key is required.
    pub default: Option<String>,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub order_in_group: i32,
    pub display_name: String,
    pub validator: Option<Validator>,
    pub dependents: Vec<String>,
    /// Values a UI can offer (`recommended_values` in `/config/validate`).
    pub recommended_values: Vec<String>,
    /// An empty value (or an empty default) means "not set" and parses to
    /// [`ConfigValue::Null`] (Kafka Connect's `null` default).
    pub nullable: bool,
    /// Set by the connector for its tasks, not by users: parsed, but not
    /// listed by the REST API, validation reports or docs.
    pub internal: bool,
}

impl ConfigKey {
    pub fn new(name: impl Into<String>, config_type: ConfigType) -> Self {
        let name = name.into();
        Self {
            display_name: name.clone(),
            name,
            config_type,
            default: None,
            importance: Importance::Medium,
            documentation: String::new(),
            group: None,
            order_in_group: -1,
            validator: None,
            dependents: Vec::new(),
            recommended_values: Vec::new(),
            nullable: false,
            internal: false,
        }
    }

    /// Marks a key the connector sets in task configs (see `internal`).
    pub fn internal(mut self) -> Self {
        self.internal = true;
        self
    }

    /// A key whose type comes from the field it is bound to
    /// ([`crate::config::TypedDef::field`]).
    pub fn named(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::String)
    }

    /// Keys whose visibility or recommended values depend on this one
    /// (Kafka Connect's `dependents`, for consoles).
    pub fn dependents(mut self, keys: &[&str]) -> Self {
        self.dependents = keys.iter().map(|s| (*s).to_string()).collect();
        self
    }

    pub fn default_value(mut self, default: impl Into<String>) -> Self {
        self.default = Some(default.into());
        self
    }

    pub fn importance(mut self, importance: Importance) -> Self {
        self.importance = importance;
        self
    }

    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.documentation = doc.into();
        self
    }

    pub fn group(mut self, group: impl Into<String>, order: i32) -> Self {
        self.group = Some(group.into());
        self.order_in_group = order;
        self
    }

    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    pub fn recommended(mut self, values: &[&str]) -> Self {
        self.recommended_values = values.iter().map(|s| (*s).to_string()).collect();
        self
    }

    /// Parses and validates one raw value, or the default when `raw` is
    /// `None`; a key with neither is missing.
    pub(crate) fn resolve(&self, raw: Option<&str>) -> Result<ConfigValue, String> {
        let raw = match raw.or(self.default.as_deref()) {
            Some(r) => r,
            None => {
                return Err(format!(
                    "Missing required configuration \"{}\" which has no default value.",
                    self.name
                ));
            }
        };
        if self.nullable && raw.trim().is_empty() {
            return Ok(ConfigValue::Null);
        }
        let value = self
            .config_type
            .parse(raw)
            .map_err(|why| format!("Invalid value {raw} for configuration {}: {why}", self.name))?;
        if let Some(v) = &self.validator {
            v.check(&value).map_err(|why| {
                let shown = if self.config_type == ConfigType::Password {
                    "[hidden]".to_string()
                } else {
                    raw.to_string()
                };
                format!(
                    "Invalid value {shown} for configuration {}: {why}",
                    self.name
                )
            })?;
        }
        Ok(value)
    }
}

/// The result for one key of [`ConfigDef::validate`], the shape behind
/// Kafka Connect's `/config/validate` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigValueReport {
    pub name: String,
    /// The raw value as given, or the default.
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// A set of [`ConfigKey`]s, in definition order.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    pub fn new() -> Self {
        Self::default()
    }

    /// Short form: a key with a type, an optional default, importance and doc.
    pub fn define(
        self,
        name: &str,
        config_type: ConfigType,
        default: Option<&str>,
        importance: Importance,
        doc: &str,
    ) -> Self {
        let mut key = ConfigKey::new(name, config_type)
            .importance(importance)
            .doc(doc);
        key.default = default.map(str::to_string);
        self.key(key)
    }

    /// Adds a key; a later definition of the same name replaces the earlier.
    pub fn key(mut self, key: ConfigKey) -> Self {
        if let Some(slot) = self.keys.iter_mut().find(|k| k.name == key.name) {
            *slot = key;
        } else {
            self.keys.push(key);
        }
        self
    }

    /// Adds every key of `other` (used to put the runtime's common connector
    /// keys in front of a connector's own).
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for k in &other.keys {
            self = self.key(k.clone());
        }
        self
    }

    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// Reference docs: one Markdown table row per key (name, type,
    /// default, importance, documentation), grouped as defined.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from(
            "| key | type | default | importance | description |\n| --- | --- | --- | --- | --- |\n",
        );
        for k in self.keys.iter().filter(|k| !k.internal) {
            let default = match &k.default {
                None => "required".to_string(),
                Some(d) if d.is_empty() => "–".to_string(),
                Some(d) => format!("`{d}`"),
            };
            let mut doc = k.documentation.replace('|', "\\|").replace('\n', " ");
            if !k.recommended_values.is_empty() {
                doc.push_str(&format!(" One of: {}.", k.recommended_values.join(", ")));
            }
            out.push_str(&format!(
                "| `{}` | {} | {default} | {} | {doc} |\n",
                k.name,
                k.config_type.name(),
                k.importance.name(),
            ));
        }
        out
    }

    pub fn get(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Parses every defined key, collecting every problem before failing.
    /// Keys not defined here stay available through [`ParsedConfig::originals`].
    pub fn parse(&self, props: &BTreeMap<String, String>) -> Result<ParsedConfig, ConfigErrors> {
        let mut values = BTreeMap::new();
        let mut issues = Vec::new();
        for key in &self.keys {
            match key.resolve(props.get(&key.name).map(String::as_str)) {
                Ok(v) => {
                    values.insert(key.name.clone(), v);
                }
                Err(message) => issues.push(ConfigIssue {
                    key: key.name.clone(),
                    message,
                }),
            }
        }
        if issues.is_empty() {
            Ok(ParsedConfig::new(values, props.clone()))
        } else {
            Err(ConfigErrors { issues })
        }
    }

    /// One report per defined key, errors included, never failing.
    pub fn validate(&self, props: &BTreeMap<String, String>) -> Vec<ConfigValueReport> {
        self.keys
            .iter()
            .filter(|k| !k.internal)
            .map(|key| {
                let raw = props
                    .get(&key.name)
                    .cloned()
                    .or_else(|| key.default.clone());
                let errors = match key.resolve(props.get(&key.name).map(String::as_str)) {
                    Ok(_) => Vec::new(),
                    Err(e) => vec![e],
                };
                let value = if key.config_type == ConfigType::Password {
                    raw.map(|_| "[hidden]".to_string())
                } else {
                    raw
                };
                ConfigValueReport {
                    name: key.name.clone(),
                    value,
                    recommended_values: key.recommended_values.clone(),
                    errors,
                    visible: true,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define("topic", ConfigType::String, None, Importance::High, "t")
            .key(
                ConfigKey::new("batch.size", ConfigType::Int)
                    .default_value("2000")
                    .validator(Validator::at_least(1.0)),
            )
            .define(
                "flag",
                ConfigType::Boolean,
                Some("false"),
                Importance::Low,
                "f",
            )
    }

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply() {
        let p = def().parse(&props(&[("topic", "t1")])).unwrap();
        assert_eq!(p.int("batch.size").unwrap(), 2000);
        assert!(!p.boolean("flag").unwrap());
    }

    #[test]
    fn every_bad_key_reported_at_once() {
        let err = def()
            .parse(&props(&[("batch.size", "0"), ("flag", "maybe")]))
            .unwrap_err();
        assert_eq!(err.keys(), vec!["topic", "batch.size", "flag"]);
        let text = err.to_string();
        assert!(text.contains("contains the following 3 error(s)"), "{text}");
        assert!(
            text.contains("Missing required configuration \"topic\" which has no default value.")
        );
        assert!(
            text.contains("Invalid value 0 for configuration batch.size: Value must be at least 1")
        );
        assert!(text.contains(
            "Invalid value maybe for configuration flag: Expected value to be either true or false"
        ));
    }

    #[test]
    fn passwords_are_hidden_in_reports() {
        let def =
            ConfigDef::new().define("secret", ConfigType::Password, None, Importance::High, "s");
        let reports = def.validate(&props(&[("secret", "hunter2")]));
        assert_eq!(reports[0].value.as_deref(), Some("[hidden]"));
        assert!(!format!("{reports:?}").contains("hunter2"));
    }

    #[test]
    fn validate_reports_per_key() {
        let reports = def().validate(&props(&[("batch.size", "x")]));
        assert_eq!(reports.len(), 3);
        assert_eq!(reports[0].errors.len(), 1);
        assert_eq!(reports[1].value.as_deref(), Some("x"));
        assert_eq!(
            reports[1].errors,
            vec![
                "Invalid value x for configuration batch.size: Not a number of type INT"
                    .to_string()
            ]
        );
        assert!(reports[2].errors.is_empty());
    }
}
