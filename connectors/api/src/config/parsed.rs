use std::collections::BTreeMap;

use super::errors::ConfigErrors;
use super::types::{ConfigValue, Password};

/// A configuration parsed by a [`super::ConfigDef`]: typed values for every
/// defined key, plus the original strings (including undefined keys).
#[derive(Debug, Clone)]
pub struct ParsedConfig {
    values: BTreeMap<String, ConfigValue>,
    originals: BTreeMap<String, String>,
}

macro_rules! getter {
    ($fn:ident, $variant:ident, $ty:ty) => {
        /// Typed value of a defined key; an error names the key when it is
        /// not defined with this type.
        pub fn $fn(&self, key: &str) -> Result<$ty, ConfigErrors> {
            match self.values.get(key) {
                Some(ConfigValue::$variant(v)) => Ok(v.clone()),
                _ => Err(ConfigErrors::single(
                    key,
                    format!(
                        "configuration {key} is not defined as {}",
                        stringify!($variant)
                    ),
                )),
            }
        }
    };
}

impl ParsedConfig {
    pub(crate) fn new(
        values: BTreeMap<String, ConfigValue>,
        originals: BTreeMap<String, String>,
    ) -> Self {
        Self { values, originals }
    }

    getter!(boolean, Boolean, bool);
    getter!(int, Int, i32);
    getter!(short, Short, i16);
    getter!(long, Long, i64);
    getter!(double, Double, f64);
    getter!(list, List, Vec<String>);
    getter!(class, Class, String);
    getter!(password, Password, Password);

    /// A string key's value.
    pub fn string(&self, key: &str) -> Result<String, ConfigErrors> {
        match self.values.get(key) {
            Some(ConfigValue::String(v)) => Ok(v.clone()),
            _ => Err(ConfigErrors::single(
                key,
                format!("configuration {key} is not defined as String"),
            )),
        }
    }

    /// A string key's value, `None` when it is empty (the usual default of
    /// optional string keys).
    pub fn optional_string(&self, key: &str) -> Option<String> {
        match self.values.get(key) {
            Some(ConfigValue::String(v)) if !v.is_empty() => Some(v.clone()),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.values.get(key)
    }

    /// Every key as given, defined or not.
    pub fn originals(&self) -> &BTreeMap<String, String> {
        &self.originals
    }

    /// Original keys starting with `prefix`, with the prefix removed (e.g.
    /// `value.converter.` settings for the converter).
    pub fn originals_with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        self.originals
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
            .collect()
    }
}
