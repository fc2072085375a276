//! `ReplaceField`'s keys as a typed config.

use std::collections::HashMap;

use sluice_connect_api::config::{
    ConfigField, ConfigKey, ConfigType, ConfigValue, ConnectorConfig, Importance, TypedDef,
    Validator,
};

use super::parse_renames;
use crate::util::config::replace_null_with_default_key;

const EXCLUDE: &str = "exclude";
const INCLUDE: &str = "include";
const RENAMES: &str = "renames";
/// Kafka Connect 3.x's deprecated names of `exclude` and `include`.
pub(super) const DEPRECATED: [(&str, &str); 2] = [("blacklist", EXCLUDE), ("whitelist", INCLUDE)];

/// `renames` (`old:new,..`; a later mapping of a name wins): a LIST key,
/// validated as Kafka Connect does when defining it.
#[derive(Debug, Default)]
pub(super) struct Renames(pub(super) HashMap<String, String>);

impl ConfigField for Renames {
    const TYPE: ConfigType = ConfigType::List;

    fn from_value(value: ConfigValue) -> Result<Self, String> {
        let renames = parse_renames(&Vec::<String>::from_value(value)?)?;
        Ok(Self(renames.into_iter().collect()))
    }

    fn shape(key: ConfigKey) -> ConfigKey {
        key.validator(Validator::custom(|v| match v {
            ConfigValue::List(items) => parse_renames(items).map(|_| ()),
            _ => Ok(()),
        }))
    }
}

#[derive(Debug, Default)]
pub(super) struct ReplaceFieldConfig {
    pub(super) exclude: Vec<String>,
    pub(super) include: Vec<String>,
    pub(super) renames: Renames,
    pub(super) replace_null_with_default: bool,
}

impl ConnectorConfig for ReplaceFieldConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(EXCLUDE)
                    .default_value("")
                    .importance(Importance::Medium)
                    .doc("Fields to exclude. This takes precedence over the fields to include."),
                |c, v| c.exclude = v,
            )
            .field(
                ConfigKey::named(INCLUDE)
                    .default_value("")
                    .importance(Importance::Medium)
                    .doc("Fields to include. If specified, only these fields will be used."),
                |c, v| c.include = v,
            )
            .field(
                ConfigKey::named(RENAMES)
                    .default_value("")
                    .importance(Importance::Medium)
                    .doc("Field rename mappings."),
                |c, v| c.renames = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
    }
}
