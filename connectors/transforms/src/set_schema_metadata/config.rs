//! `SetSchemaMetadata`'s keys as a typed config.

use sluice_connect_api::config::{
    ConfigField, ConfigKey, ConfigType, ConfigValue, ConnectorConfig, Importance, TypedDef,
    Validator,
};

use crate::util::config::{plain_issue, replace_null_with_default_key};
use crate::util::fields::OrEmpty;

const SCHEMA_NAME: &str = "schema.name";
const SCHEMA_VERSION: &str = "schema.version";
const NOT_AN_INT: &str = "Not a number of type INT";

/// `schema.version`: a STRING key holding an int (empty: unset), as Kafka
/// Connect defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Version(pub(super) i32);

impl ConfigField for Version {
    const TYPE: ConfigType = ConfigType::String;

    fn from_value(value: ConfigValue) -> Result<Self, String> {
        value
            .to_string()
            .parse()
            .map(Self)
            .map_err(|_| NOT_AN_INT.to_string())
    }

    fn shape(key: ConfigKey) -> ConfigKey {
        key.validator(Validator::custom(|v| {
            let s = v.to_string();
            if s.is_empty() || s.parse::<i32>().is_ok() {
                Ok(())
            } else {
                Err(NOT_AN_INT.to_string())
            }
        }))
    }
}

#[derive(Debug, Default)]
pub(super) struct SetSchemaMetadataConfig {
    pub(super) name: OrEmpty<String>,
    pub(super) version: OrEmpty<Version>,
    pub(super) replace_null_with_default: bool,
}

impl ConnectorConfig for SetSchemaMetadataConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(SCHEMA_NAME)
                    .default_value("")
                    .importance(Importance::High)
                    .doc("Schema name to set."),
                |c, v| c.name = v,
            )
            .field(
                ConfigKey::named(SCHEMA_VERSION)
                    .default_value("")
                    .importance(Importance::High)
                    .doc("Schema version to set."),
                |c, v| c.version = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
            .check_issues(|c| {
                if c.name.0.is_some() || c.version.0.is_some() {
                    return vec![];
                }
                vec![plain_issue(
                    SCHEMA_NAME,
                    "Neither schema name nor version configured",
                )]
            })
    }
}
